//! The `image` source's config. Every field's `///` text is the UI's help for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::schema::SecretString;
use tinyforge_plugin::{ConfigError, PublicFace};

/// Deploy a Docker image blue-green behind the edge: start the new version, wait until it is
/// healthy, switch traffic, drain and stop the old one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Image repository without tag, e.g. `ghcr.io/acme/api` or `127.0.0.1:5000/team/app`.
    pub image: String,
    /// Tag deployed when the triggering event names none.
    #[serde(default = "default_tag")]
    pub tag: String,
    /// Pin an exact digest (`sha256:…`); wins over the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Credentials for a private registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_auth: Option<RegistryAuth>,
    /// Where the workload answers: host (and optional path prefix) → container port.
    pub faces: Vec<PublicFace>,
    /// How a new version proves it is ready before it gets traffic.
    #[serde(default)]
    pub health: HealthCheck,
    /// Resource limits of the container.
    #[serde(default)]
    pub resources: Resources,
    /// Command to run instead of the image's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `missing`: pull only when the image is not on the server; `always`: pull on every deploy.
    #[serde(default)]
    pub pull: PullPolicy,
    /// Seconds to let in-flight requests on the old version finish before it is stopped.
    #[serde(default = "default_drain")]
    pub drain_timeout_secs: u64,
}

/// Registry login.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryAuth {
    /// Registry user name.
    pub username: String,
    /// Registry password or access token (sealed at rest, never shown again).
    pub password: SecretString,
}

/// Health gate settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// HTTP path that answers 2xx or 3xx when the app is ready.
    #[serde(default = "default_health_path")]
    pub path: String,
    /// Container port to probe; defaults to the first face's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Milliseconds between probes once started.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Milliseconds one probe may take.
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    /// Seconds the new version has to become healthy before the deploy fails.
    #[serde(default = "default_start_period")]
    pub start_period_secs: u64,
    /// Consecutive successful probes required.
    #[serde(default = "default_successes")]
    pub successes: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            path: default_health_path(),
            port: None,
            interval_ms: default_interval(),
            timeout_ms: default_probe_timeout(),
            start_period_secs: default_start_period(),
            successes: default_successes(),
        }
    }
}

/// Resource limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// CPU limit in cores (e.g. 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
}

/// When to pull.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Pull only when the image is not present (events that name a tag or digest always pull).
    #[default]
    Missing,
    /// Pull on every deploy.
    Always,
}

fn default_tag() -> String {
    "latest".into()
}
fn default_drain() -> u64 {
    30
}
fn default_health_path() -> String {
    "/".into()
}
fn default_interval() -> u64 {
    1000
}
fn default_probe_timeout() -> u64 {
    2000
}
fn default_start_period() -> u64 {
    60
}
fn default_successes() -> u32 {
    1
}

impl ImageConfig {
    /// Semantic checks the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.image.trim().is_empty() || self.image.contains(char::is_whitespace) {
            return Err(ConfigError::new("image", "must be an image name like `ghcr.io/acme/api`"));
        }
        if self.image.contains('@') {
            return Err(ConfigError::new("image", "give the digest in `digest`, not in the image name"));
        }
        if let Some(d) = &self.digest
            && !(d.starts_with("sha256:") && d.len() == 71)
        {
            return Err(ConfigError::new("digest", "must look like `sha256:` followed by 64 hex characters"));
        }
        if self.faces.is_empty() {
            return Err(ConfigError::new(
                "faces",
                "at least one face is needed for traffic to reach the app",
            ));
        }
        for (i, f) in self.faces.iter().enumerate() {
            let valid_host = !f.host.is_empty()
                && f.host.len() <= 253
                && f.host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
                });
            if !valid_host {
                return Err(ConfigError::new(
                    format!("faces[{i}].host"),
                    "must be a DNS name like `app.example.com`",
                ));
            }
            if f.port == 0 {
                return Err(ConfigError::new(format!("faces[{i}].port"), "must be between 1 and 65535"));
            }
            if let Some(p) = &f.path_prefix
                && !p.starts_with('/')
            {
                return Err(ConfigError::new(format!("faces[{i}].path_prefix"), "must start with `/`"));
            }
        }
        if !self.health.path.starts_with('/') {
            return Err(ConfigError::new("health.path", "must start with `/`"));
        }
        if self.health.successes == 0 {
            return Err(ConfigError::new("health.successes", "must be at least 1"));
        }
        if self.resources.cpus.is_some_and(|c| c <= 0.0) {
            return Err(ConfigError::new("resources.cpus", "must be more than 0"));
        }
        Ok(())
    }
}
