//! The `compose` source's config and its safety checks. Every field's `///` text is the UI's help.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_norway::Value as Yaml;
use tinyforge_plugin::ConfigError;

/// Run a docker-compose stack; its faces are routed by the edge to a service's port.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    /// The docker-compose file (YAML), inline. `${VAR}` is filled from the workload's env at run
    /// time. Give this or `from_git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-multiline" = true))]
    pub compose: Option<String>,
    /// Read the compose file from a git repository instead (at the deployed commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_git: Option<GitFile>,
    /// Where the stack answers: host (and optional path prefix) → a service's port.
    pub faces: Vec<ComposeFace>,
    /// `missing`: pull images only when absent; `always`: pull on every deploy.
    #[serde(default)]
    pub pull: crate::image::PullPolicy,
    /// Allow `privileged`, host network/pid/ipc, `devices` and `cap_add` (off by default).
    #[serde(default)]
    pub allow_privileged: bool,
    /// Host directories services may bind-mount (and below them); none by default.
    #[serde(default)]
    pub allowed_bind_paths: Vec<String>,
}

/// A file in a git repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitFile {
    /// Git repository URL (`https://`, `ssh://`, `git://` or `file://`).
    pub repository: String,
    /// Branch, tag or commit used when the triggering event names none.
    #[serde(default = "default_ref")]
    pub git_ref: String,
    /// Path of the compose file in the repository.
    #[serde(default = "default_path")]
    pub path: String,
    /// Access token for a private repository over HTTPS (sent as a header, never in the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<tinyforge_plugin::schema::SecretString>,
}

fn default_ref() -> String {
    "main".into()
}
fn default_path() -> String {
    "docker-compose.yml".into()
}

/// A face of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeFace {
    /// The compose service that answers.
    pub service: String,
    /// The port that service listens on.
    pub port: u16,
    /// Public host name, e.g. `app.example.com`.
    pub host: String,
    /// Only requests under this path prefix go to this face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Serve over HTTPS with an automatic certificate.
    #[serde(default)]
    pub tls: bool,
}

fn refuse(service: &str, key: &str, why: &str) -> ConfigError {
    ConfigError::new("compose", format!("service `{service}`: `{key}` {why}"))
}

/// The host side of a bind mount in short (`./data:/data`) or long (`type: bind`) syntax.
fn bind_source(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => {
            let host = s.split(':').next()?;
            (host.starts_with('/') || host.starts_with('.') || host.starts_with('~')).then(|| host.to_owned())
        }
        Yaml::Mapping(m) => (m.get("type").and_then(Yaml::as_str) == Some("bind"))
            .then(|| m.get("source")?.as_str().map(str::to_owned))?,
        _ => None,
    }
}

impl ComposeConfig {
    /// Checks the settings; with an inline file, the file too.
    pub fn check_settings(&self) -> Result<(), ConfigError> {
        match (&self.compose, &self.from_git) {
            (Some(text), None) => self.check(text).map(|_| ()),
            (None, Some(g)) => {
                let ok =
                    ["https://", "ssh://", "git://", "file://"].iter().any(|s| g.repository.starts_with(s));
                if !ok {
                    return Err(ConfigError::new(
                        "from_git.repository",
                        "a git URL starting with https://, ssh://, git:// or file://",
                    ));
                }
                if g.git_ref.starts_with('-')
                    || g.path.starts_with('-')
                    || g.path.split('/').any(|c| c == "..")
                {
                    return Err(ConfigError::new("from_git.path", "a file inside the repository"));
                }
                Ok(())
            }
            (Some(_), Some(_)) => {
                Err(ConfigError::new("from_git", "give either `compose` or `from_git`, not both"))
            }
            (None, None) => Err(ConfigError::new("compose", "give the compose file inline, or `from_git`")),
        }
    }

    /// Parses a compose file and refuses what the workload did not opt into.
    pub fn check(&self, text: &str) -> Result<Yaml, ConfigError> {
        let doc: Yaml = serde_norway::from_str(text)
            .map_err(|e| ConfigError::new("compose", format!("not valid YAML: {e}")))?;
        let services = doc
            .get("services")
            .and_then(Yaml::as_mapping)
            .ok_or_else(|| ConfigError::new("compose", "the file needs a `services` section"))?;
        for (name, svc) in services {
            let name = name.as_str().unwrap_or("?");
            if !self.allow_privileged {
                if svc.get("privileged").and_then(Yaml::as_bool) == Some(true) {
                    return Err(refuse(name, "privileged", "is refused (set allow_privileged to opt in)"));
                }
                for key in ["network_mode", "pid", "ipc"] {
                    if svc.get(key).and_then(Yaml::as_str) == Some("host") {
                        return Err(refuse(name, key, "= host is refused (set allow_privileged to opt in)"));
                    }
                }
                for key in ["devices", "cap_add"] {
                    if svc.get(key).is_some() {
                        return Err(refuse(name, key, "is refused (set allow_privileged to opt in)"));
                    }
                }
            }
            for v in svc.get("volumes").and_then(Yaml::as_sequence).into_iter().flatten() {
                if let Some(src) = bind_source(v) {
                    let allowed = src.starts_with('/')
                        && !src.split('/').any(|c| c == "..")
                        && self.allowed_bind_paths.iter().any(|a| {
                            let a = a.trim_end_matches('/');
                            src == a || src.starts_with(&format!("{a}/"))
                        });
                    if !allowed {
                        return Err(refuse(
                            name,
                            "volumes",
                            &format!("binds `{src}`, which is not under allowed_bind_paths"),
                        ));
                    }
                }
            }
        }
        for (i, f) in self.faces.iter().enumerate() {
            if !services.contains_key(f.service.as_str()) {
                return Err(ConfigError::new(
                    format!("faces[{i}].service"),
                    format!("no service `{}` in the compose file", f.service),
                ));
            }
            if f.port == 0 {
                return Err(ConfigError::new(format!("faces[{i}].port"), "must be between 1 and 65535"));
            }
            if f.host.is_empty() || !f.host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(ConfigError::new(
                    format!("faces[{i}].host"),
                    "must be a DNS name like `app.example.com`",
                ));
            }
        }
        Ok(doc)
    }
}
