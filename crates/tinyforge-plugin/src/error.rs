//! Errors of the contract: a config error names the JSON path of the bad field; a plugin error says
//! which step failed and why.

use std::time::Duration;

/// A configuration was refused. `field` is the JSON path of the offending value (`faces[0].port`),
/// empty when the problem is the document as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct ConfigError {
    /// JSON path of the bad field, e.g. `faces[0].port`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ConfigError {
    /// An error about the field at `field` (a JSON path).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A plugin call failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The workload's config is invalid.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The call did not finish before its deadline.
    #[error("{step} did not finish within {after:?}")]
    Deadline {
        /// The step that ran out of time (`deploy`, `health gate`, …).
        step: String,
        /// The budget it had.
        after: Duration,
    },
    /// The new version never became healthy; the old one keeps serving.
    #[error("health check failed: {0}")]
    Unhealthy(String),
    /// A port (engine, routes, …) failed.
    #[error("{0}")]
    Port(String),
}
