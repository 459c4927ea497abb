//! The tinyforge plugin contract (requirements C1–C8).
//!
//! Everything a Source or Trigger kind needs to know lives here, and nothing else: the data model
//! ([`Workload`], [`PublicFace`], [`DeploymentIntent`], [`InboundEvent`]), the typed plugin traits
//! ([`TypedSource`], [`TypedTrigger`]) and the object-safe traits they are erased to ([`Source`],
//! [`Trigger`]), the frozen [`Registry`], config merging for webhook fan-out, the ports bundle
//! ([`Deps`]) plugins act through, and the [`conformance`] kit every kind passes.

pub mod conformance;
mod error;
mod merge;
mod model;
pub mod ports;
pub mod probe;
mod registry;
pub mod schema;
mod source;
mod trigger;

pub use error::{ConfigError, PluginError};
pub use merge::{MergeError, merge_config, with_effective_trigger};
pub use model::*;
pub use ports::Deps;
pub use registry::{KindInfo, Registry, RegistryBuilder, RegistryError};
pub use source::{DeployOutcome, ReconcileReport, Source, SourceAdapter, TypedSource};
pub use trigger::{MatchOutcome, Trigger, TriggerAdapter, TypedTrigger};

/// Re-exported so plugin crates derive schemas with the same schemars the contract uses.
pub use schemars;
