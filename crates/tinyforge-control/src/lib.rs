//! tinyforge's control plane: the durable deploy queue and its workers (D1–D3), fan-out of an
//! inbound event over a trigger's bindings (W4), the reconciler (R1), and the events bus (X2).
//! It owns the per-workload lock that keeps a deploy and a reconcile of one workload apart.

mod configs;
mod deployer;
pub mod dns;
mod events;
mod fanout;
mod health;
mod locks;
mod notifier;
mod reconciler;
mod scheduler;
mod snapshot;
mod watcher;

use std::sync::Arc;
use std::time::Duration;

use tinyforge_plugin::{Deps, PluginError, Registry, RegistryError, Workload};
use tinyforge_store::{Store, StoreError, WorkloadRow};

pub use configs::{REDACTED, keep_redacted, open_config, redact_config, seal_config};
pub use events::EventBus;
pub use fanout::{FanoutSummary, MatchError};
pub use health::FaceHealth;
pub use notifier::{Notifier, NotifierConfig, payload, signature};
pub use reconciler::PassReport;

/// Control-plane errors.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The store failed or a row is missing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An unknown kind.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A plugin failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The request cannot be done in the workload's state.
    #[error("{0}")]
    Invalid(String),
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Deploys of different workloads that may run at once.
    pub max_parallel_deploys: usize,
    /// Deadline of one deploy.
    pub deploy_timeout: Duration,
    /// Deadline of one reconcile of one workload.
    pub reconcile_timeout: Duration,
    /// Time between periodic reconcile passes.
    pub reconcile_interval: Duration,
    /// Deadline of one `Trigger::match`.
    pub match_timeout: Duration,
    /// The address DNS records of public faces point at (with a DNS provider).
    pub public_ip: Option<std::net::Ipv4Addr>,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            max_parallel_deploys: 4,
            deploy_timeout: Duration::from_secs(600),
            reconcile_timeout: Duration::from_secs(120),
            reconcile_interval: Duration::from_secs(300),
            match_timeout: Duration::from_secs(5),
            public_ip: None,
        }
    }
}

/// The control plane. Share it as `Arc<Control>`.
pub struct Control {
    store: Arc<Store>,
    registry: Arc<Registry>,
    deps: Deps,
    events: Arc<EventBus>,
    config: ControlConfig,
    locks: locks::Locks,
    wake: tokio::sync::Notify,
    finished: tokio::sync::broadcast::Sender<String>,
    /// Failed reconciles in a row, per workload.
    failures: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// Where failed reconciles are re-queued (set by `run_reconciler`).
    retry: std::sync::Mutex<Option<tokio::sync::mpsc::Sender<String>>>,
    /// The last face probes.
    health: std::sync::Mutex<health::HealthState>,
    /// When each workload's containers were last changed by a deploy, teardown or repair.
    touched: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Workloads with a container event waiting to settle before their reconcile.
    settling: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Control {
    /// Assembles the control plane.
    pub fn new(
        store: Arc<Store>,
        registry: Arc<Registry>,
        deps: Deps,
        events: Arc<EventBus>,
        config: ControlConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            registry,
            deps,
            events,
            config,
            locks: locks::Locks::default(),
            wake: tokio::sync::Notify::new(),
            finished: tokio::sync::broadcast::channel(1024).0,
            settling: Default::default(),
            touched: Default::default(),
            health: Default::default(),
            failures: Default::default(),
            retry: Default::default(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The events bus.
    pub fn events(&self) -> &Arc<EventBus> {
        &self.events
    }

    /// Records that `workload_id`'s containers just changed.
    pub(crate) fn touch(&self, workload_id: &str) {
        self.touched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(workload_id.to_owned(), std::time::Instant::now());
    }

    /// Whether `workload_id`'s containers changed after `at`.
    pub(crate) fn touched_since(&self, workload_id: &str, at: std::time::Instant) -> bool {
        self.touched.lock().unwrap_or_else(|p| p.into_inner()).get(workload_id).is_some_and(|t| *t >= at)
    }

    /// The plugin's view of a stored workload: config secrets and env opened.
    pub fn plugin_workload(
        &self,
        row: &WorkloadRow,
        sealed_config: &serde_json::Value,
    ) -> Result<Workload, ControlError> {
        let source = self.registry.source(&row.source_kind)?;
        let config = open_config(&source.schema(), sealed_config, self.store.sealer())?;
        Ok(Workload {
            id: row.id.clone(),
            name: row.name.clone(),
            source_kind: row.source_kind.clone(),
            source_config: config,
            trigger_kind: None,
            trigger_config: serde_json::Value::Null,
            env: self.store.env_opened(&row.id)?,
        })
    }
}
