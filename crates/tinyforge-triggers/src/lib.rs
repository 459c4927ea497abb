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

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_trigger_conforms() {
        tinyforge_plugin::conformance::assert_trigger_conformance(super::builtin());
    }
}
