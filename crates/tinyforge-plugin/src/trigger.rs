//! The Trigger contract (C4): given an inbound event and the effective (merged) trigger config,
//! decide to deploy (an intent), to skip (with a reason counted in the webhook summary), or fail.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::schema::{parse_config, schema_of};
use crate::source::within;
use crate::{ConfigError, DeploymentIntent, InboundEvent, PluginError, Target, Workload};

/// The answer of `match`.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchOutcome {
    /// Deploy this.
    Deploy(Box<DeploymentIntent>),
    /// Not for this workload; the reason is a short snake_case key (`event_kind`, `branch`).
    Skip(&'static str),
}

impl MatchOutcome {
    /// Deploy `target` because of `event` (the fan-out fills in who fired it and the deployment).
    pub fn deploy(target: Target, event: &InboundEvent, triggered_by: impl Into<String>) -> Self {
        Self::Deploy(Box::new(DeploymentIntent {
            target,
            event: event.clone(),
            triggered_by: triggered_by.into(),
            deployment_id: String::new(),
        }))
    }
}

/// A Trigger kind as its author writes it.
#[async_trait]
pub trait TypedTrigger: Send + Sync + 'static {
    /// The kind's config. Its `///` docs become the schema descriptions the UI shows.
    type Config: DeserializeOwned + Serialize + JsonSchema + Send + Sync;

    /// Whether the kind fires on a schedule (then the scheduler calls [`due`](Self::due)).
    const SCHEDULED: bool = false;

    /// The kind's unique name (`manual`).
    fn kind(&self) -> &'static str;
    /// A complete, valid example config.
    fn sample(&self) -> Self::Config;
    /// Checks beyond what the types say. Name the field in the error.
    fn check(&self, _config: &Self::Config) -> Result<(), ConfigError> {
        Ok(())
    }
    /// Decides whether `event` deploys `workload`.
    async fn matches(
        &self,
        config: &Self::Config,
        workload: &Workload,
        event: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError>;
    /// Scheduled kinds (cron): the latest instant in `(after, now]` at which the schedule fires,
    /// as the [`CronTick`](crate::CronTick) to deliver; `None` when nothing is due. Others keep the default.
    fn due(
        &self,
        _config: &Self::Config,
        _after: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> Option<InboundEvent> {
        None
    }
    /// Polling kinds (a registry watcher): how often to [`poll`](Self::poll) under `config`.
    fn poll_interval(&self, _config: &Self::Config) -> Option<Duration> {
        None
    }
    /// Polls once. `state` is what the previous poll returned (`null` at first); returns the
    /// events to fan out and the state to keep (persisted across restarts).
    async fn poll(
        &self,
        _config: &Self::Config,
        state: &Value,
    ) -> Result<(Vec<InboundEvent>, Value), PluginError> {
        Ok((Vec::new(), state.clone()))
    }
}

/// The erased Trigger every caller uses.
#[async_trait]
pub trait Trigger: Send + Sync {
    /// The kind's unique name.
    fn kind(&self) -> &'static str;
    /// JSON Schema of the config.
    fn schema(&self) -> Value;
    /// A valid example config.
    fn sample(&self) -> Value;
    /// Validates a raw config; the error names the JSON path of the bad field.
    fn validate(&self, config: &Value) -> Result<(), ConfigError>;
    /// Matches `event` against the workload's effective trigger config, within `deadline`.
    async fn matches(
        &self,
        workload: &Workload,
        event: &InboundEvent,
        deadline: Duration,
    ) -> Result<MatchOutcome, PluginError>;
    /// Whether the kind fires on a schedule.
    fn scheduled(&self) -> bool;
    /// For polling kinds: the interval under `config` (`None`: this config does not poll).
    fn poll_interval(&self, config: &Value) -> Option<Duration>;
    /// For polling kinds: one poll within `deadline` (see [`TypedTrigger::poll`]).
    async fn poll(
        &self,
        config: &Value,
        state: &Value,
        deadline: Duration,
    ) -> Result<(Vec<InboundEvent>, Value), PluginError>;
    /// For scheduled kinds: the event due in `(after, now]` under the (merged) `config`, if any.
    fn due(
        &self,
        config: &Value,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<InboundEvent>, ConfigError>;
}

/// Erases a [`TypedTrigger`] to a [`Trigger`].
pub struct TriggerAdapter<T>(pub T);

impl<T: TypedTrigger> TriggerAdapter<T> {
    fn config(&self, raw: &Value) -> Result<T::Config, ConfigError> {
        let cfg: T::Config = parse_config(raw)?;
        self.0.check(&cfg)?;
        Ok(cfg)
    }
}

#[async_trait]
impl<T: TypedTrigger> Trigger for TriggerAdapter<T> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn schema(&self) -> Value {
        schema_of::<T::Config>()
    }
    fn sample(&self) -> Value {
        serde_json::to_value(self.0.sample()).expect("a config serialises to JSON")
    }
    fn validate(&self, config: &Value) -> Result<(), ConfigError> {
        self.config(config).map(|_| ())
    }
    async fn matches(
        &self,
        workload: &Workload,
        event: &InboundEvent,
        deadline: Duration,
    ) -> Result<MatchOutcome, PluginError> {
        let cfg = self.config(&workload.trigger_config)?;
        within("match", deadline, self.0.matches(&cfg, workload, event)).await
    }
    fn scheduled(&self) -> bool {
        T::SCHEDULED
    }
    fn poll_interval(&self, config: &Value) -> Option<Duration> {
        self.0.poll_interval(&self.config(config).ok()?)
    }
    async fn poll(
        &self,
        config: &Value,
        state: &Value,
        deadline: Duration,
    ) -> Result<(Vec<InboundEvent>, Value), PluginError> {
        let cfg = self.config(config)?;
        within("poll", deadline, self.0.poll(&cfg, state)).await
    }
    fn due(
        &self,
        config: &Value,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<InboundEvent>, ConfigError> {
        Ok(self.0.due(&self.config(config)?, after, now))
    }
}
