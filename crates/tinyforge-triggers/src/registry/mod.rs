//! The `registry` trigger (T1): an image pushed to a registry deploys the workload at exactly the
//! pushed tag and digest, when the registry, repository and tag policy match.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::schema::SecretString;
use tinyforge_plugin::{
    ConfigError, InboundEvent, MatchOutcome, PluginError, Target, TypedTrigger, Workload,
};

use crate::pattern::glob;

mod watch;

/// Deploy when an image is pushed to a registry.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Registry host as events name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`); unset = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Repository path, e.g. `acme/api` (case-insensitive).
    pub repository: String,
    /// Which pushed tags deploy.
    #[serde(default)]
    pub tags: TagPolicy,
    /// Poll the registry too (for registries that cannot send webhooks, or as a safety net).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
}

/// Registry polling.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    /// Seconds between polls.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Registry user (unset: anonymous, with the registry's bearer-token flow when it asks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Registry password or token (sealed at rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// Speak plain HTTP to the registry (only for registries on a private network or loopback).
    #[serde(default)]
    pub insecure: bool,
}

fn default_interval() -> u64 {
    300
}

/// Which tags deploy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum TagPolicy {
    /// Every tag.
    #[default]
    Any,
    /// Exactly this tag.
    Exact {
        /// The tag, e.g. `latest`.
        tag: String,
    },
    /// Tags matching a glob (`*`, `?`), e.g. `v1.*`.
    Glob {
        /// The glob.
        pattern: String,
    },
    /// Tags that are semantic versions inside a range, e.g. `^1.2` or `>=2, <3` (a leading `v` is allowed).
    Semver {
        /// The range.
        range: String,
    },
    /// Tags matching a regular expression (anchored), e.g. `prod-[0-9]+`.
    Regex {
        /// The expression.
        pattern: String,
    },
}

impl TagPolicy {
    pub(crate) fn allows(&self, tag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact { tag: t } => t == tag,
            Self::Glob { pattern } => glob(pattern, tag),
            Self::Semver { range } => {
                match (semver::VersionReq::parse(range), semver::Version::parse(tag.trim_start_matches('v')))
                {
                    (Ok(req), Ok(v)) => req.matches(&v),
                    _ => false,
                }
            }
            Self::Regex { pattern } => {
                regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|r| r.is_match(tag))
            }
        }
    }
}

/// The `registry` kind.
pub struct RegistryTrigger;

#[async_trait]
impl TypedTrigger for RegistryTrigger {
    type Config = RegistryConfig;

    fn kind(&self) -> &'static str {
        "registry"
    }

    fn sample(&self) -> RegistryConfig {
        RegistryConfig {
            registry: Some("ghcr.io".into()),
            repository: "acme/web".into(),
            tags: TagPolicy::Semver { range: "^1.2".into() },
            watch: None,
        }
    }

    fn check(&self, c: &RegistryConfig) -> Result<(), ConfigError> {
        if let Some(w) = &c.watch {
            if c.registry.is_none() {
                return Err(ConfigError::new("registry", "watching needs the registry host, e.g. `ghcr.io`"));
            }
            if w.interval_secs < 5 && !w.insecure {
                return Err(ConfigError::new(
                    "watch.interval_secs",
                    "poll public registries at most every 5 seconds",
                ));
            }
        }
        if c.repository.trim().is_empty() {
            return Err(ConfigError::new("repository", "name the repository, e.g. `acme/api`"));
        }
        match &c.tags {
            TagPolicy::Semver { range } if semver::VersionReq::parse(range).is_err() => {
                Err(ConfigError::new("tags.range", format!("`{range}` is not a semver range (try `^1.2`)")))
            }
            TagPolicy::Regex { pattern } if regex::Regex::new(pattern).is_err() => Err(ConfigError::new(
                "tags.pattern",
                format!("`{pattern}` is not a valid regular expression"),
            )),
            _ => Ok(()),
        }
    }

    async fn matches(
        &self,
        c: &RegistryConfig,
        _w: &Workload,
        e: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        let InboundEvent::ImagePush(p) = e else { return Ok(MatchOutcome::Skip("event_kind")) };
        if c.registry.as_ref().is_some_and(|r| !r.eq_ignore_ascii_case(&p.registry)) {
            return Ok(MatchOutcome::Skip("registry"));
        }
        if !c.repository.eq_ignore_ascii_case(&p.repository) {
            return Ok(MatchOutcome::Skip("repository"));
        }
        let Some(tag) = &p.tag else { return Ok(MatchOutcome::Skip("untagged")) };
        if !c.tags.allows(tag) {
            return Ok(MatchOutcome::Skip("tag"));
        }
        let target = Target { tag: Some(tag.clone()), digest: p.digest.clone(), ..Target::default() };
        Ok(MatchOutcome::deploy(target, e, "trigger:registry"))
    }

    fn poll_interval(&self, c: &RegistryConfig) -> Option<std::time::Duration> {
        c.watch.as_ref().map(|w| std::time::Duration::from_secs(w.interval_secs.max(1)))
    }

    async fn poll(
        &self,
        c: &RegistryConfig,
        state: &serde_json::Value,
    ) -> Result<(Vec<InboundEvent>, serde_json::Value), PluginError> {
        watch::poll(c, state).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tinyforge_plugin::{ImagePush, Trigger, TriggerAdapter};

    use super::*;

    use crate::test_workload as w;

    fn push(tag: Option<&str>) -> InboundEvent {
        InboundEvent::ImagePush(ImagePush {
            registry: "127.0.0.1:5000".into(),
            repository: "Team/App".into(),
            tag: tag.map(Into::into),
            digest: Some("sha256:ab".into()),
        })
    }

    #[tokio::test]
    async fn policies() {
        let t = TriggerAdapter(RegistryTrigger);
        let d = std::time::Duration::from_secs(1);
        let m = |cfg: serde_json::Value, tag: Option<&'static str>| {
            let t = &t;
            async move { t.matches(&w(cfg), &push(tag), d).await.unwrap() }
        };
        let MatchOutcome::Deploy(i) = m(json!({"repository": "team/app"}), Some("v1")).await else {
            panic!()
        };
        assert_eq!((i.target.tag.as_deref(), i.target.digest.as_deref()), (Some("v1"), Some("sha256:ab")));
        assert_eq!(
            m(json!({"repository": "team/app", "registry": "ghcr.io"}), Some("v1")).await,
            MatchOutcome::Skip("registry")
        );
        assert_eq!(
            m(json!({"repository": "team/other"}), Some("v1")).await,
            MatchOutcome::Skip("repository")
        );
        assert_eq!(m(json!({"repository": "team/app"}), None).await, MatchOutcome::Skip("untagged"));
        let semver = json!({"repository": "team/app", "tags": {"policy": "semver", "range": "^1.2"}});
        assert!(matches!(m(semver.clone(), Some("v1.4.0")).await, MatchOutcome::Deploy(_)));
        assert_eq!(m(semver.clone(), Some("2.0.0")).await, MatchOutcome::Skip("tag"));
        assert_eq!(m(semver, Some("latest")).await, MatchOutcome::Skip("tag"));
        let glob = json!({"repository": "team/app", "tags": {"policy": "glob", "pattern": "release-*"}});
        assert!(matches!(m(glob.clone(), Some("release-7")).await, MatchOutcome::Deploy(_)));
        assert_eq!(m(glob, Some("dev-7")).await, MatchOutcome::Skip("tag"));
        let re = json!({"repository": "team/app", "tags": {"policy": "regex", "pattern": "prod-[0-9]+"}});
        assert!(matches!(m(re.clone(), Some("prod-12")).await, MatchOutcome::Deploy(_)));
        assert_eq!(m(re, Some("prod-12x")).await, MatchOutcome::Skip("tag"));
        let e = t
            .validate(&json!({"repository": "a/b", "tags": {"policy": "semver", "range": "not a range"}}))
            .unwrap_err();
        assert_eq!(e.field, "tags.range");
    }
}
