//! Fan-out (W4, W6): an inbound event is matched against every enabled binding of its trigger,
//! at most 4 at once, with the trigger config merged with the binding's override; matches are
//! queued, skips counted by reason, errors logged at warn and reported.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tinyforge_plugin::DeploymentIntent;
use tinyforge_plugin::{
    InboundEvent, Manual, MatchOutcome, Trigger, Workload, merge_config, with_effective_trigger,
};
use tinyforge_store::{BindingRow, DeploymentRow, TriggerRow, WorkloadRow};

use crate::deployer::Queued;

use crate::{Control, ControlError};

/// What a fan-out did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FanoutSummary {
    /// Deployments queued.
    pub queued: Vec<String>,
    /// Skips by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Bindings that failed to match.
    pub errors: Vec<MatchError>,
}

/// One binding's failure.
#[derive(Debug, Clone, Serialize)]
pub struct MatchError {
    /// The binding.
    pub binding_id: String,
    /// Its workload.
    pub workload_id: String,
    /// What went wrong.
    pub error: String,
}

enum One {
    Matched(WorkloadRow, Box<DeploymentIntent>),
    Skipped(&'static str),
    Failed(MatchError),
}

impl Control {
    /// Matches `event` against the trigger's enabled bindings (4 at a time) and queues every
    /// intent with one transaction.
    pub async fn fan_out(
        &self,
        trigger: &TriggerRow,
        event: &InboundEvent,
    ) -> Result<FanoutSummary, ControlError> {
        let plugin = self.registry.trigger(&trigger.kind)?;
        let bindings: Vec<BindingRow> =
            self.store.bindings(None, Some(&trigger.id))?.into_iter().filter(|b| b.enabled).collect();
        let results: Vec<One> = futures_util::stream::iter(bindings)
            .map(|b| self.match_one(plugin.as_ref(), trigger, b, event))
            .buffer_unordered(4)
            .collect()
            .await;
        let mut summary = FanoutSummary::default();
        let mut matched = Vec::new();
        for r in results {
            match r {
                One::Matched(w, intent) => matched.push((w, intent)),
                One::Skipped(reason) => *summary.skipped.entry(reason.to_owned()).or_default() += 1,
                One::Failed(e) => summary.errors.push(e),
            }
        }
        let items: Vec<Queued<'_>> = matched
            .iter()
            .map(|(w, intent)| Queued { workload: w, intent, config: &w.source_config, fired: None })
            .collect();
        summary.queued = self.queue(&items)?;
        Ok(summary)
    }

    async fn match_one(
        &self,
        plugin: &dyn Trigger,
        trigger: &TriggerRow,
        b: BindingRow,
        event: &InboundEvent,
    ) -> One {
        let fail = |error: String| {
            tracing::warn!(binding = %b.id, workload = %b.workload_id, %error, "binding did not match cleanly");
            One::Failed(MatchError { binding_id: b.id.clone(), workload_id: b.workload_id.clone(), error })
        };
        let merged =
            match merge_config(&trigger.config, &b.binding_config).map_err(|e| e.to_string()).and_then(|m| {
                crate::open_config(&plugin.schema(), &m, self.store.sealer()).map_err(|e| e.to_string())
            }) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
        let row = match self.store.workload(&b.workload_id) {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        let w = with_effective_trigger(&trigger_view(&row), &trigger.kind, merged);
        match plugin.matches(&w, event, self.config.match_timeout).await {
            Ok(MatchOutcome::Skip(reason)) => One::Skipped(reason),
            Ok(MatchOutcome::Deploy(mut intent)) => {
                intent.triggered_by = format!("trigger:{}:{}", trigger.kind, trigger.id);
                One::Matched(row, intent)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    /// A deploy asked for by a person (W6): a Manual event matched by the `manual` trigger kind,
    /// with the config of the workload's manual binding when it has one.
    pub async fn deploy_manually(
        &self,
        workload_id: &str,
        actor: &str,
        reference: Option<String>,
    ) -> Result<DeploymentRow, ControlError> {
        let plugin = self.registry.trigger("manual")?;
        let row = self.store.workload(workload_id)?;
        let mut config = json!({});
        for b in self.store.bindings(Some(workload_id), None)? {
            let t = self.store.trigger(&b.trigger_id)?;
            if t.kind == "manual" && b.enabled {
                let merged = merge_config(&t.config, &b.binding_config)
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                config = crate::open_config(&plugin.schema(), &merged, self.store.sealer())?;
                break;
            }
        }
        let w = with_effective_trigger(&trigger_view(&row), "manual", config);
        let event = InboundEvent::Manual(Manual { actor: actor.to_owned(), reference });
        match plugin.matches(&w, &event, self.config.match_timeout).await? {
            MatchOutcome::Deploy(intent) => self.enqueue(&w.id, &intent, None),
            MatchOutcome::Skip(reason) => {
                Err(ControlError::Invalid(format!("the manual trigger refused this deploy ({reason})")))
            }
        }
    }
}

/// The workload as triggers see it: the stored (sealed) source config, no env. Triggers never need
/// secrets.
pub(crate) fn trigger_view(row: &WorkloadRow) -> Workload {
    Workload {
        id: row.id.clone(),
        name: row.name.clone(),
        source_kind: row.source_kind.clone(),
        source_config: row.source_config.clone(),
        trigger_kind: None,
        trigger_config: Value::Null,
        env: Vec::new(),
    }
}
