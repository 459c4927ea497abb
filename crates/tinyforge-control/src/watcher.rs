//! Polling triggers (the registry watcher): each trigger whose kind polls under its config is
//! polled on its interval, one poll per trigger at a time; what a poll saw is persisted, and the
//! events it finds go through the same fan-out as webhooks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Control;

impl Control {
    /// Polls trigger `id` once now; returns the deployments queued.
    pub async fn poll_trigger(&self, id: &str) -> Result<Vec<String>, crate::ControlError> {
        let t = self.store.trigger(id)?;
        let plugin = self.registry.trigger(&t.kind)?;
        let state = self.store.poll_state(id)?;
        // Secret fields (registry credentials) are sealed at rest: opened for the plugin only.
        let config = crate::open_config(&plugin.schema(), &t.config, self.store.sealer())?;
        let (events, next) = plugin.poll(&config, &state, self.config.match_timeout * 6).await?;
        self.store.set_poll_state(id, &next)?;
        let mut queued = Vec::new();
        for ev in events {
            let summary = self.fan_out(&t, &ev).await?;
            self.events.emit(
                "watcher.fired",
                None,
                format!(
                    "trigger {}: the registry changed; {} deploy(s) queued",
                    t.name,
                    summary.queued.len()
                ),
                json!({"trigger_id": t.id, "event": ev, "queued": summary.queued.len()}),
            );
            queued.extend(summary.queued);
        }
        Ok(queued)
    }

    /// Runs the watchers forever.
    pub async fn run_watchers(self: Arc<Self>) {
        let last: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Ok(triggers) = self.store.triggers() else { continue };
            for t in triggers {
                let Some(every) =
                    self.registry.trigger(&t.kind).ok().and_then(|p| p.poll_interval(&t.config))
                else {
                    continue;
                };
                {
                    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                    if last.get(&t.id).is_some_and(|at| at.elapsed() < every) {
                        continue;
                    }
                    // Far in the future while the poll runs: one poll per trigger at a time.
                    last.insert(t.id.clone(), Instant::now() + Duration::from_secs(86_400));
                }
                let (me, last) = (self.clone(), last.clone());
                tokio::spawn(async move {
                    if let Err(e) = me.poll_trigger(&t.id).await {
                        tracing::warn!(trigger = %t.name, error = %e, "registry watcher poll failed");
                    }
                    last.lock().unwrap_or_else(|p| p.into_inner()).insert(t.id, Instant::now());
                });
            }
        }
    }
}
