//! The `git` trigger (T2): a push to a matching branch, or a matching tag, of the configured
//! repository deploys that commit; `[skip deploy]` in the head commit message and a changed-path
//! filter can hold it back.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::{
    ConfigError, InboundEvent, MatchOutcome, PluginError, Target, TypedTrigger, Workload,
};

use crate::pattern::glob;

/// Deploy on git pushes and tags.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// Repository full name as the forge names it, e.g. `acme/site` (case-insensitive).
    pub repository: String,
    /// Branches whose pushes deploy (exact names or globs like `release/*`).
    #[serde(default = "default_branches")]
    pub branches: Vec<String>,
    /// Tags whose creation deploys (globs like `v*`); empty = tags never deploy.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Deploy only when a changed file matches one of these globs (when the forge lists files).
    #[serde(default)]
    pub paths: Vec<String>,
}

fn default_branches() -> Vec<String> {
    vec!["main".into()]
}

/// The marker that keeps a push from deploying.
pub const SKIP_MARKER: &str = "[skip deploy]";

/// The `git` kind.
pub struct GitTrigger;

#[async_trait]
impl TypedTrigger for GitTrigger {
    type Config = GitConfig;

    fn kind(&self) -> &'static str {
        "git"
    }

    fn sample(&self) -> GitConfig {
        GitConfig {
            repository: "acme/site".into(),
            branches: vec!["main".into()],
            tags: vec!["v*".into()],
            paths: vec!["site/**".into()],
        }
    }

    fn check(&self, c: &GitConfig) -> Result<(), ConfigError> {
        if !c.repository.contains('/') {
            return Err(ConfigError::new("repository", "use the full name, e.g. `acme/site`"));
        }
        Ok(())
    }

    async fn matches(
        &self,
        c: &GitConfig,
        _w: &Workload,
        e: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        let (repo, target) = match e {
            InboundEvent::GitPush(p) => {
                if !c.branches.iter().any(|b| glob(b, &p.branch)) {
                    return Ok(MatchOutcome::Skip("branch"));
                }
                if p.message.as_deref().is_some_and(|m| m.contains(SKIP_MARKER)) {
                    return Ok(MatchOutcome::Skip("skip_marker"));
                }
                if !c.paths.is_empty()
                    && !p.changed_paths.is_empty()
                    && !p.changed_paths.iter().any(|f| c.paths.iter().any(|g| glob(g, f)))
                {
                    return Ok(MatchOutcome::Skip("paths"));
                }
                (
                    &p.repository,
                    Target {
                        git_ref: Some(p.branch.clone()),
                        commit: Some(p.commit.clone()),
                        ..Target::default()
                    },
                )
            }
            InboundEvent::GitTag(t) => {
                if !c.tags.iter().any(|g| glob(g, &t.tag)) {
                    return Ok(MatchOutcome::Skip("tag"));
                }
                (
                    &t.repository,
                    Target {
                        tag: Some(t.tag.clone()),
                        git_ref: Some(t.tag.clone()),
                        commit: t.commit.clone(),
                        ..Target::default()
                    },
                )
            }
            _ => return Ok(MatchOutcome::Skip("event_kind")),
        };
        if !repo.eq_ignore_ascii_case(&c.repository) {
            return Ok(MatchOutcome::Skip("repository"));
        }
        Ok(MatchOutcome::deploy(target, e, "trigger:git"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tinyforge_plugin::{GitPush, GitTag, Trigger, TriggerAdapter};

    use super::*;

    use crate::test_workload as w;

    fn push(branch: &str, msg: &str, paths: &[&str]) -> InboundEvent {
        InboundEvent::GitPush(GitPush {
            repository: "Acme/Site".into(),
            clone_url: None,
            branch: branch.into(),
            commit: "c0ffee".into(),
            message: Some(msg.into()),
            changed_paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    #[tokio::test]
    async fn filters() {
        let t = TriggerAdapter(GitTrigger);
        let d = std::time::Duration::from_secs(1);
        let cfg = w(
            json!({"repository": "acme/site", "branches": ["main", "release/*"], "tags": ["v*"], "paths": ["site/**"]}),
        );
        let MatchOutcome::Deploy(i) =
            t.matches(&cfg, &push("main", "fix", &["site/index.html"]), d).await.unwrap()
        else {
            panic!()
        };
        assert_eq!((i.target.git_ref.as_deref(), i.target.commit.as_deref()), (Some("main"), Some("c0ffee")));
        assert!(matches!(
            t.matches(&cfg, &push("release/2", "x", &[]), d).await.unwrap(),
            MatchOutcome::Deploy(_)
        ));
        assert_eq!(t.matches(&cfg, &push("dev", "x", &[]), d).await.unwrap(), MatchOutcome::Skip("branch"));
        assert_eq!(
            t.matches(&cfg, &push("main", "wip [skip deploy]", &[]), d).await.unwrap(),
            MatchOutcome::Skip("skip_marker")
        );
        assert_eq!(
            t.matches(&cfg, &push("main", "docs", &["README.md"]), d).await.unwrap(),
            MatchOutcome::Skip("paths")
        );
        let tag = |name: &str| {
            InboundEvent::GitTag(GitTag {
                repository: "acme/site".into(),
                clone_url: None,
                tag: name.into(),
                commit: None,
            })
        };
        assert!(matches!(t.matches(&cfg, &tag("v1.0"), d).await.unwrap(), MatchOutcome::Deploy(_)));
        assert_eq!(t.matches(&cfg, &tag("nightly"), d).await.unwrap(), MatchOutcome::Skip("tag"));
        let other = w(json!({"repository": "acme/other"}));
        assert_eq!(
            t.matches(&other, &push("main", "x", &[]), d).await.unwrap(),
            MatchOutcome::Skip("repository")
        );
    }
}
