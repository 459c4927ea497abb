//! tinyforge's Trigger kinds, one folder per kind. Adding a kind = a folder + one line in
//! [`builtin`].

pub mod cron;
pub mod git;
pub mod manual;
mod pattern;
pub mod registry;

use std::sync::Arc;

use tinyforge_plugin::{Trigger, TriggerAdapter};

/// Every built-in Trigger kind.
pub fn builtin() -> Vec<Arc<dyn Trigger>> {
    vec![
        Arc::new(TriggerAdapter(manual::ManualTrigger)),
        Arc::new(TriggerAdapter(registry::RegistryTrigger)),
        Arc::new(TriggerAdapter(git::GitTrigger)),
        Arc::new(TriggerAdapter(cron::CronTrigger)),
    ]
}

/// A workload carrying `trigger_config`, for the kinds' unit tests.
#[cfg(test)]
pub(crate) fn test_workload(trigger_config: serde_json::Value) -> tinyforge_plugin::Workload {
    tinyforge_plugin::Workload {
        id: "w".into(),
        name: "w".into(),
        source_kind: "image".into(),
        source_config: serde_json::json!({}),
        trigger_kind: None,
        trigger_config,
        env: vec![],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_trigger_conforms() {
        tinyforge_plugin::conformance::assert_trigger_conformance(super::builtin());
    }
}
