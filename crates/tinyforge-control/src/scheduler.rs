//! The scheduler (T4): for every enabled binding of a scheduled trigger kind (cron), asks the kind
//! whether a tick is due since the binding's last handled tick, matches it, and queues the deploy
//! while marking the tick handled in the same transaction: a restart neither loses nor doubles one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tinyforge_plugin::{InboundEvent, MatchOutcome, merge_config, with_effective_trigger};

use crate::{Control, ControlError};

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

impl Control {
    /// One pass at `now`; returns how many deploys it queued.
    pub async fn scheduler_pass(&self, now: DateTime<Utc>) -> Result<usize, ControlError> {
        let mut queued = 0;
        for t in self.store.triggers()? {
            let Ok(plugin) = self.registry.trigger(&t.kind) else { continue };
            if !plugin.scheduled() {
                continue;
            }
            for b in self.store.bindings(None, Some(&t.id))?.into_iter().filter(|b| b.enabled) {
                let Some(after) = b.last_fired_at.as_deref().or(Some(&b.created_at)).and_then(parse_time)
                else {
                    continue;
                };
                let merged = match merge_config(&t.config, &b.binding_config) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(binding = %b.id, error = %e, "scheduler: bad binding config");
                        continue;
                    }
                };
                let event = match plugin.due(&merged, after, now) {
                    Ok(Some(e)) => e,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(binding = %b.id, error = %e, "scheduler: bad schedule");
                        continue;
                    }
                };
                let InboundEvent::CronTick(tick) = &event else { continue };
                let mark = tick.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let row = self.store.workload(&b.workload_id)?;
                let w = with_effective_trigger(&crate::fanout::trigger_view(&row), &t.kind, merged);
                match plugin.matches(&w, &event, self.config.match_timeout).await {
                    Ok(MatchOutcome::Deploy(mut intent)) => {
                        intent.triggered_by = format!("trigger:{}:{}", t.kind, t.id);
                        self.enqueue_marking(&w.id, &intent, None, Some((&b.id, &mark)))?;
                        queued += 1;
                    }
                    Ok(MatchOutcome::Skip(_)) => self.store.mark_fired(&b.id, &mark)?,
                    Err(e) => tracing::warn!(binding = %b.id, error = %e, "scheduler: match failed"),
                }
            }
        }
        Ok(queued)
    }

    /// Runs the scheduler forever, one pass a second.
    pub async fn run_scheduler(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Err(e) = self.scheduler_pass(Utc::now()).await {
                tracing::warn!(error = %e, "scheduler pass failed");
            }
        }
    }
}
