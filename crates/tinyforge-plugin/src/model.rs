//! The data model every plugin shares (C1, C2): workloads, faces, inbound events and intents.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A deployable thing: one source kind with its config, plus the effective trigger config when it
/// is handed to a trigger during fan-out (C1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Stable id (UUID v7 text).
    pub id: String,
    /// Unique, human-chosen name (`[a-z0-9-]`), used in container and project names.
    pub name: String,
    /// The Source kind that deploys it (`image`, `compose`, `static`).
    pub source_kind: String,
    /// The source's config, opaque to everyone but that source. Secret fields are plain here:
    /// plugins receive opened values; the store keeps them sealed.
    pub source_config: Value,
    /// After fan-out: the trigger kind this workload is being matched by.
    #[serde(default)]
    pub trigger_kind: Option<String>,
    /// After fan-out: trigger config merged with the binding's override (C7).
    #[serde(default)]
    pub trigger_config: Value,
    /// Environment for the workload's processes (secret values opened).
    #[serde(default)]
    pub env: Vec<EnvVar>,
}

/// One environment variable of a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct EnvVar {
    /// Variable name.
    pub key: String,
    /// Its value (sealed at rest when `secret`).
    pub value: String,
    /// Secret values are sealed at rest and never shown again.
    #[serde(default)]
    pub secret: bool,
}

/// Where a workload answers the public: a host (and optional path prefix) routed by the edge to a
/// port of the workload (C2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct PublicFace {
    /// Public host name, e.g. `app.example.com`.
    pub host: String,
    /// Only requests under this path prefix (e.g. `/api`) go to this face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// The port the workload listens on inside its container.
    pub port: u16,
    /// Serve this face over HTTPS with an automatic certificate (and redirect HTTP to it).
    #[serde(default)]
    pub tls: bool,
}

/// A normalised event from outside: a vendor webhook, a schedule, or a person (C2, W2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundEvent {
    /// An image was pushed to a registry.
    ImagePush(ImagePush),
    /// Commits were pushed to a branch.
    GitPush(GitPush),
    /// A tag was created.
    GitTag(GitTag),
    /// Someone asked for a deploy (UI, API, CLI).
    Manual(Manual),
    /// A cron schedule fired.
    CronTick(CronTick),
}

impl InboundEvent {
    /// The event's kind as it appears in summaries and the API (`image_push`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ImagePush(_) => "image_push",
            Self::GitPush(_) => "git_push",
            Self::GitTag(_) => "git_tag",
            Self::Manual(_) => "manual",
            Self::CronTick(_) => "cron_tick",
        }
    }
}

/// An image push, as registries report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePush {
    /// Registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/nginx`, `acme/api`).
    pub repository: String,
    /// The pushed tag, when the registry names one.
    pub tag: Option<String>,
    /// The manifest digest (`sha256:…`), when known.
    pub digest: Option<String>,
}

/// A push of commits to a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitPush {
    /// Repository full name (`owner/repo`).
    pub repository: String,
    /// Clone URL, when the vendor sends one.
    pub clone_url: Option<String>,
    /// Branch name without `refs/heads/`.
    pub branch: String,
    /// Head commit after the push.
    pub commit: String,
    /// Head commit message.
    pub message: Option<String>,
    /// Files added/modified/removed, where the vendor lists them.
    pub changed_paths: Vec<String>,
}

/// A tag creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitTag {
    /// Repository full name (`owner/repo`).
    pub repository: String,
    /// Clone URL, when the vendor sends one.
    pub clone_url: Option<String>,
    /// Tag name without `refs/tags/`.
    pub tag: String,
    /// Commit the tag points at, when known.
    pub commit: Option<String>,
}

/// A deploy asked for by a person or a script (W6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manual {
    /// Who asked (user name, token name, `cli`).
    pub actor: String,
    /// Optional reference to deploy (tag, digest or git ref); `None` = the configured one.
    pub reference: Option<String>,
}

/// A schedule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronTick {
    /// The cron expression that fired.
    pub schedule: String,
    /// The scheduled instant.
    pub at: DateTime<Utc>,
}

/// What to deploy and why (C2). Produced by `Trigger::match`, consumed by `Source::deploy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentIntent {
    /// The exact thing to deploy; `None` fields mean "what the source config says".
    #[serde(default)]
    pub target: Target,
    /// The event that caused it.
    pub event: InboundEvent,
    /// Who or what fired it: `trigger:<kind>:<id>`, `manual:<actor>`, `rollback:<deployment>`.
    pub triggered_by: String,
    /// The deployment record this intent became (set by the deployer; labels what it starts).
    #[serde(default)]
    pub deployment_id: String,
}

/// The exact version an intent asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Image tag to deploy instead of the configured one.
    pub tag: Option<String>,
    /// Image digest to pin (`sha256:…`); wins over `tag`.
    pub digest: Option<String>,
    /// Git ref (branch or tag) to deploy.
    pub git_ref: Option<String>,
    /// Git commit to deploy; wins over `git_ref`.
    pub commit: Option<String>,
    /// An exact version a previous deployment recorded (`repo@sha256:…`, an image id, a commit):
    /// deployed as is. Rollback and reconcile use it.
    pub version: Option<String>,
}
