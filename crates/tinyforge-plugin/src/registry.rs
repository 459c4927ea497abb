//! The kinds registry (C6): built once at boot from explicit lists, frozen before the HTTP listener
//! opens, read without locks afterwards (it is immutable and shared behind an `Arc`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::{Source, SourceAdapter, Trigger, TriggerAdapter, TypedSource, TypedTrigger};

/// Registry errors: a duplicate stops boot; an unknown kind names itself and what exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two plugins claim the same kind: a bug, boot stops.
    #[error("duplicate {what} kind `{kind}`: two plugins claim it; remove one from the builtin list")]
    Duplicate {
        /// `source` or `trigger`.
        what: &'static str,
        /// The contested kind.
        kind: String,
    },
    /// No plugin has this kind.
    #[error("unknown {what} kind `{kind}`; known kinds: {}", known.join(", "))]
    Unknown {
        /// `source` or `trigger`.
        what: &'static str,
        /// The kind asked for.
        kind: String,
        /// Every kind that exists.
        known: Vec<String>,
    },
}

/// One kind as the kinds endpoints list it (A2).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindInfo {
    /// The kind's name.
    pub kind: &'static str,
    /// JSON Schema of its config.
    pub schema: Value,
    /// A valid example config.
    pub sample: Value,
}

/// Collects kinds; `build` checks for duplicates and freezes.
#[derive(Default)]
pub struct RegistryBuilder {
    sources: Vec<Arc<dyn Source>>,
    triggers: Vec<Arc<dyn Trigger>>,
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a typed source.
    pub fn source(self, s: impl TypedSource) -> Self {
        self.source_dyn(Arc::new(SourceAdapter(s)))
    }
    /// Adds an already erased source.
    pub fn source_dyn(mut self, s: Arc<dyn Source>) -> Self {
        self.sources.push(s);
        self
    }
    /// Adds a typed trigger.
    pub fn trigger(self, t: impl TypedTrigger) -> Self {
        self.trigger_dyn(Arc::new(TriggerAdapter(t)))
    }
    /// Adds an already erased trigger.
    pub fn trigger_dyn(mut self, t: Arc<dyn Trigger>) -> Self {
        self.triggers.push(t);
        self
    }
    /// Freezes the registry; a kind claimed twice is an error.
    pub fn build(self) -> Result<Registry, RegistryError> {
        Ok(Registry {
            sources: index("source", self.sources, |s| s.kind())?,
            triggers: index("trigger", self.triggers, |t| t.kind())?,
        })
    }
}

fn index<T: ?Sized>(
    what: &'static str,
    items: Vec<Arc<T>>,
    kind: impl Fn(&T) -> &'static str,
) -> Result<BTreeMap<&'static str, Arc<T>>, RegistryError> {
    let mut map = BTreeMap::new();
    for item in items {
        let k = kind(&item);
        if map.insert(k, item).is_some() {
            return Err(RegistryError::Duplicate { what, kind: k.to_owned() });
        }
    }
    Ok(map)
}

/// The frozen set of kinds. Cheap to share (`Arc<Registry>`), no lock on reads.
pub struct Registry {
    sources: BTreeMap<&'static str, Arc<dyn Source>>,
    triggers: BTreeMap<&'static str, Arc<dyn Trigger>>,
}

fn lookup<T: ?Sized>(
    what: &'static str,
    map: &BTreeMap<&'static str, Arc<T>>,
    kind: &str,
) -> Result<Arc<T>, RegistryError> {
    map.get(kind).cloned().ok_or_else(|| RegistryError::Unknown {
        what,
        kind: kind.to_owned(),
        known: map.keys().map(|k| (*k).to_owned()).collect(),
    })
}

impl Registry {
    /// The source of `kind`, or an error naming the kinds that exist.
    pub fn source(&self, kind: &str) -> Result<Arc<dyn Source>, RegistryError> {
        lookup("source", &self.sources, kind)
    }
    /// The trigger of `kind`, or an error naming the kinds that exist.
    pub fn trigger(&self, kind: &str) -> Result<Arc<dyn Trigger>, RegistryError> {
        lookup("trigger", &self.triggers, kind)
    }
    /// Every source kind with schema and sample, sorted by kind.
    pub fn source_kinds(&self) -> Vec<KindInfo> {
        self.sources
            .values()
            .map(|s| KindInfo { kind: s.kind(), schema: s.schema(), sample: s.sample() })
            .collect()
    }
    /// Every trigger kind with schema and sample, sorted by kind.
    pub fn trigger_kinds(&self) -> Vec<KindInfo> {
        self.triggers
            .values()
            .map(|t| KindInfo { kind: t.kind(), schema: t.schema(), sample: t.sample() })
            .collect()
    }
}
