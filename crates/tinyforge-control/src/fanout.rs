//! Fan-out (W4, W6): an inbound event is matched against every enabled binding of its trigger,
//! at most 4 at once, with the trigger config merged with the binding's override; matches are
//! queued, skips counted by reason, errors logged at warn and reported.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tinyforge_plugin::{
    InboundEvent, Manual, MatchOutcome, Trigger, Workload, merge_config, with_effective_trigger,
};
use tinyforge_store::{BindingRow, DeploymentRow, TriggerRow};

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
    Queued(String),
    Skipped(&'static str),
    Failed(MatchError),
}

impl Control {
    /// Matches `event` against the trigger's enabled bindings and queues the intents.
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
        for r in results {
            match r {
                One::Queued(id) => summary.queued.push(id),
                One::Skipped(reason) => *summary.skipped.entry(reason.to_owned()).or_default() += 1,
                One::Failed(e) => summary.errors.push(e),
            }
        }
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
        let merged = match merge_config(&trigger.config, &b.binding_config) {
            Ok(m) => m,
            Err(e) => return fail(e.to_string()),
        };
        let row = match self.store.workload(&b.workload_id) {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        // Triggers never need secrets: they see the stored (sealed) source config.
        let w = Workload {
            id: row.id,
            name: row.name,
            source_kind: row.source_kind,
            source_config: row.source_config,
            trigger_kind: None,
            trigger_config: Value::Null,
            env: Vec::new(),
        };
        let w = with_effective_trigger(&w, &trigger.kind, merged);
        match plugin.matches(&w, event, self.config.match_timeout).await {
            Ok(MatchOutcome::Skip(reason)) => One::Skipped(reason),
            Ok(MatchOutcome::Deploy(mut intent)) => {
                intent.triggered_by = format!("trigger:{}:{}", trigger.kind, trigger.id);
                match self.enqueue(&w.id, &intent, None) {
                    Ok(d) => One::Queued(d.id),
                    Err(e) => fail(e.to_string()),
                }
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
                config = merge_config(&t.config, &b.binding_config)
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                break;
            }
        }
        let w = Workload {
            id: row.id,
            name: row.name,
            source_kind: row.source_kind,
            source_config: row.source_config,
            trigger_kind: None,
            trigger_config: Value::Null,
            env: Vec::new(),
        };
        let w = with_effective_trigger(&w, "manual", config);
        let event = InboundEvent::Manual(Manual { actor: actor.to_owned(), reference });
        match plugin.matches(&w, &event, self.config.match_timeout).await? {
            MatchOutcome::Deploy(intent) => self.enqueue(&w.id, &intent, None),
            MatchOutcome::Skip(reason) => {
                Err(ControlError::Invalid(format!("the manual trigger refused this deploy ({reason})")))
            }
        }
    }
}
