//! The Source contract (C3, C4): what a plugin author implements ([`TypedSource`], with a typed
//! `Config`) and the object-safe [`Source`] the rest of tinyforge calls, with deadlines.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::schema::{parse_config, schema_of};
use crate::{ConfigError, DeploymentIntent, Deps, PluginError, Workload};

/// What a successful deploy leaves behind, recorded with the deployment and handed back to
/// `reconcile` so the source can compare it with reality.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployOutcome {
    /// The exact version now serving (image digest, git commit).
    pub version: String,
    /// Source-specific facts (container ids, release dir, …).
    #[serde(default)]
    pub detail: Value,
}

/// What a reconcile pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// One line per repaired drift (`restarted crashed container abc`, `re-synced 2 routes`).
    pub repaired: Vec<String>,
    /// When the source had to replace what serves (e.g. a vanished container redeployed), the
    /// new outcome to record for the current deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<DeployOutcome>,
}

/// A Source kind as its author writes it: typed config in, typed config everywhere.
#[async_trait]
pub trait TypedSource: Send + Sync + 'static {
    /// The kind's config. Its `///` docs become the schema descriptions the UI shows.
    type Config: DeserializeOwned + Serialize + JsonSchema + Send + Sync;

    /// The kind's unique name (`image`).
    fn kind(&self) -> &'static str;
    /// A complete, valid example config.
    fn sample(&self) -> Self::Config;
    /// Checks beyond what the types say (ranges, exclusive options). Name the field in the error.
    fn check(&self, _config: &Self::Config) -> Result<(), ConfigError> {
        Ok(())
    }
    /// Brings the workload to the intent's version; on failure the old version keeps serving.
    async fn deploy(
        &self,
        deps: &Deps,
        workload: &Workload,
        config: &Self::Config,
        intent: &DeploymentIntent,
    ) -> Result<DeployOutcome, PluginError>;
    /// Removes everything the workload runs and routes.
    async fn teardown(
        &self,
        deps: &Deps,
        workload: &Workload,
        config: &Self::Config,
    ) -> Result<(), PluginError>;
    /// Makes reality equal to `current` (the recorded deployment): restart, re-route, collect orphans.
    async fn reconcile(
        &self,
        deps: &Deps,
        workload: &Workload,
        config: &Self::Config,
        current: Option<&DeployOutcome>,
    ) -> Result<ReconcileReport, PluginError>;
}

/// The erased Source every caller uses; obtained from a [`TypedSource`] through [`SourceAdapter`].
#[async_trait]
pub trait Source: Send + Sync {
    /// The kind's unique name.
    fn kind(&self) -> &'static str;
    /// JSON Schema of the config.
    fn schema(&self) -> Value;
    /// A valid example config.
    fn sample(&self) -> Value;
    /// Validates a raw config; the error names the JSON path of the bad field.
    fn validate(&self, config: &Value) -> Result<(), ConfigError>;
    /// Deploys within `deadline`.
    async fn deploy(
        &self,
        deps: &Deps,
        workload: &Workload,
        intent: &DeploymentIntent,
        deadline: Duration,
    ) -> Result<DeployOutcome, PluginError>;
    /// Tears down within `deadline`.
    async fn teardown(&self, deps: &Deps, workload: &Workload, deadline: Duration)
    -> Result<(), PluginError>;
    /// Reconciles within `deadline`.
    async fn reconcile(
        &self,
        deps: &Deps,
        workload: &Workload,
        current: Option<&DeployOutcome>,
        deadline: Duration,
    ) -> Result<ReconcileReport, PluginError>;
}

/// Erases a [`TypedSource`] to a [`Source`]: parsing, schema and deadlines are done here, once.
pub struct SourceAdapter<S>(pub S);

impl<S: TypedSource> SourceAdapter<S> {
    fn config(&self, raw: &Value) -> Result<S::Config, ConfigError> {
        let cfg: S::Config = parse_config(raw)?;
        self.0.check(&cfg)?;
        Ok(cfg)
    }
}

pub(crate) async fn within<T>(
    step: &str,
    deadline: Duration,
    fut: impl std::future::Future<Output = Result<T, PluginError>>,
) -> Result<T, PluginError> {
    tokio::time::timeout(deadline, fut)
        .await
        .unwrap_or_else(|_| Err(PluginError::Deadline { step: step.to_owned(), after: deadline }))
}

#[async_trait]
impl<S: TypedSource> Source for SourceAdapter<S> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn schema(&self) -> Value {
        schema_of::<S::Config>()
    }
    fn sample(&self) -> Value {
        serde_json::to_value(self.0.sample()).expect("a config serialises to JSON")
    }
    fn validate(&self, config: &Value) -> Result<(), ConfigError> {
        self.config(config).map(|_| ())
    }
    async fn deploy(
        &self,
        deps: &Deps,
        workload: &Workload,
        intent: &DeploymentIntent,
        deadline: Duration,
    ) -> Result<DeployOutcome, PluginError> {
        let cfg = self.config(&workload.source_config)?;
        within("deploy", deadline, self.0.deploy(deps, workload, &cfg, intent)).await
    }
    async fn teardown(
        &self,
        deps: &Deps,
        workload: &Workload,
        deadline: Duration,
    ) -> Result<(), PluginError> {
        let cfg = self.config(&workload.source_config)?;
        within("teardown", deadline, self.0.teardown(deps, workload, &cfg)).await
    }
    async fn reconcile(
        &self,
        deps: &Deps,
        workload: &Workload,
        current: Option<&DeployOutcome>,
        deadline: Duration,
    ) -> Result<ReconcileReport, PluginError> {
        let cfg = self.config(&workload.source_config)?;
        within("reconcile", deadline, self.0.reconcile(deps, workload, &cfg, current)).await
    }
}
