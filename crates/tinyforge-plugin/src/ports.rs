//! The ports plugins act through (C8): traits here, implementations in their own crates, wired
//! together by the binary. A plugin never reaches past these.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything a plugin may use.
#[derive(Clone)]
pub struct Deps {
    /// The container engine.
    pub engine: Arc<dyn Engine>,
    /// The edge's route table.
    pub routes: Arc<dyn Routes>,
    /// The events bus.
    pub events: Arc<dyn Events>,
    /// tinyforge's data directory (plugins keep files under `<data-dir>/<kind>/`).
    pub data_dir: PathBuf,
    /// The DNS provider; `None` = wildcard DNS (nothing to do).
    pub dns: Option<Arc<dyn Dns>>,
    /// This installation's id: every container gets it as label `tinyforge.instance`, so two
    /// installations sharing one Docker Engine never collect each other's containers.
    pub instance: String,
}

// ---------------------------------------------------------------- engine

/// Why the engine refused; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Cannot reach the daemon.
    #[error("docker daemon unreachable ({0}); is dockerd running and is its socket readable?")]
    Unreachable(String),
    /// The object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A name or state conflict.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The registry refused the credentials.
    #[error("registry denied access to {0}: check the workload's registry username and password")]
    PullDenied(String),
    /// No such image or tag in the registry.
    #[error("image not found: {0}: check the image name and tag")]
    ImageNotFound(String),
    /// Anything else the daemon said.
    #[error("docker: {0}")]
    Other(String),
}

/// Credentials for a private registry (plain: only ever held in memory).
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// Registry user.
    pub username: String,
    /// Registry password or token.
    pub password: String,
}

/// A container to create and start.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Image reference (ideally pinned by digest).
    pub image: String,
    /// Environment, `KEY=value` pairs.
    pub env: Vec<(String, String)>,
    /// Labels (`tinyforge.workload`, `tinyforge.deployment`, …).
    pub labels: BTreeMap<String, String>,
    /// Command override.
    pub cmd: Option<Vec<String>>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<i64>,
    /// CPU limit in units of 1e-9 CPUs.
    pub nano_cpus: Option<i64>,
    /// Network to attach to.
    pub network: String,
    /// Host directories mounted into the container.
    pub mounts: Vec<Mount>,
    /// Working directory inside the container.
    pub workdir: Option<String>,
    /// A task that runs once (a build): no restart policy.
    pub one_shot: bool,
}

/// A host directory mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// A container as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// Container id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Image id (`sha256:…`).
    pub image: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it is running.
    pub running: bool,
    /// Its address on the tinyforge network, when running.
    pub ip: Option<std::net::IpAddr>,
}

/// A resolved image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Local image id (`sha256:…`).
    pub id: String,
    /// Repo digest (`repo@sha256:…`) when the image came from a registry.
    pub repo_digest: Option<String>,
}

/// The container engine (Docker).
#[async_trait]
pub trait Engine: Send + Sync {
    /// Resolves `reference` locally; pulls it (with `creds`) when missing or when `pull` is set.
    async fn ensure_image(
        &self,
        reference: &str,
        creds: Option<&RegistryCredentials>,
        pull: bool,
    ) -> Result<ImageInfo, EngineError>;
    /// Creates and starts a container.
    async fn run(&self, spec: &ContainerSpec) -> Result<ContainerInfo, EngineError>;
    /// Starts an existing (stopped) container.
    async fn start(&self, id: &str) -> Result<(), EngineError>;
    /// Inspects a container.
    async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError>;
    /// Stops (with `grace`) and removes a container; a missing one is fine.
    async fn remove(&self, id: &str, grace: Duration) -> Result<(), EngineError>;
    /// Waits until a container exits; returns its exit code.
    async fn wait(&self, id: &str) -> Result<i64, EngineError>;
    /// The last `lines` lines of a container's output (stdout and stderr).
    async fn output(&self, id: &str, lines: u32) -> Result<String, EngineError>;
    /// Containers (running or not) carrying label `key` (with `value`, when given).
    async fn list(&self, key: &str, value: Option<&str>) -> Result<Vec<ContainerInfo>, EngineError>;
}

// ---------------------------------------------------------------- routes

/// One route: a host (and optional path prefix) to an upstream address or a directory of files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteTarget {
    /// Host name, lower case, no port.
    pub host: String,
    /// Path prefix, when the route is under one.
    pub path_prefix: Option<String>,
    /// Where requests go.
    pub backend: Backend,
    /// Served over HTTPS.
    pub tls: bool,
}

/// Whether two route lists hold the same routes, in any order.
pub fn same_routes(a: &[RouteTarget], b: &[RouteTarget]) -> bool {
    use std::collections::HashSet;
    a.iter().collect::<HashSet<_>>() == b.iter().collect::<HashSet<_>>()
}

/// What answers a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An HTTP server (a container) at this address.
    Upstream(SocketAddr),
    /// Files the edge serves itself from `root` (the path prefix is stripped); with `spa`, unknown
    /// paths answer `index.html`.
    Files {
        /// The directory.
        root: PathBuf,
        /// Single-page-app fallback to `index.html`.
        spa: bool,
    },
}

/// The edge's route table as plugins see it.
#[async_trait]
pub trait Routes: Send + Sync {
    /// Atomically replaces every route of `owner` with `targets`: new requests go only to them.
    /// Returns when the previous upstreams have no request in flight (`true`) or when
    /// `drain_timeout` has passed (`false`); only then may the old version be stopped.
    async fn switch(&self, owner: &str, targets: Vec<RouteTarget>, drain_timeout: Duration) -> bool;
    /// Removes every route of `owner`.
    fn remove(&self, owner: &str);
    /// The routes `owner` has now.
    fn routes_of(&self, owner: &str) -> Vec<RouteTarget>;
}

// ---------------------------------------------------------------- events

/// A lifecycle event (X2). Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Dotted kind: `deploy.succeeded`, `container.restarted`, `webhook.rejected`, …
    pub kind: String,
    /// The workload concerned, if any.
    pub workload_id: Option<String>,
    /// One line for people.
    pub message: String,
    /// Structured details.
    #[serde(default)]
    pub data: Value,
}

/// The events bus.
pub trait Events: Send + Sync {
    /// Publishes an event (persisted and streamed by the implementation).
    fn publish(&self, event: Event);
}

// ---------------------------------------------------------------- dns

/// A DNS provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DNS ({provider}) for {name}: {why}")]
pub struct DnsError {
    /// `rfc2136`, `cloudflare`.
    pub provider: &'static str,
    /// The record name.
    pub name: String,
    /// What happened.
    pub why: String,
}

/// Keeps the public faces' DNS records pointing at this server (X4). Absent = wildcard DNS.
#[async_trait]
pub trait Dns: Send + Sync {
    /// Creates or updates the A record `name` → `ip`.
    async fn upsert(&self, name: &str, ip: std::net::Ipv4Addr) -> Result<(), DnsError>;
    /// Removes the A record `name`.
    async fn remove(&self, name: &str) -> Result<(), DnsError>;
}
