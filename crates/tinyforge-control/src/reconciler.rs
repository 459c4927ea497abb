//! The reconciler (R1): periodically, on container events, and at boot, make each workload's
//! reality equal to its recorded deployment through its source's `reconcile`; collect containers
//! whose workload no longer exists; resolve deployments a crash left running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;
use tinyforge_plugin::{DeployOutcome, Deps, PluginError, ReconcileReport};
use tinyforge_store::{ContainerRow, DeploymentStatus};
use tokio::sync::mpsc;

use crate::snapshot::Snapshot;
use crate::{Control, ControlError};

/// One pass over every workload.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PassReport {
    /// Workloads reconciled.
    pub workloads: usize,
    /// Drift repaired.
    pub repaired: usize,
    /// Workloads that failed to reconcile.
    pub failed: usize,
    /// Containers of deleted workloads removed.
    pub orphans_removed: usize,
    /// Duration of the pass.
    pub ms: u64,
}

impl Control {
    /// Reconciles one workload (waits for its running deploy, if any).
    pub async fn reconcile_workload(&self, id: &str) -> Result<ReconcileReport, ControlError> {
        self.reconcile_with(id, None).await
    }

    /// Reconciles with `snapshot` when nothing touched the workload since it was taken.
    async fn reconcile_with(
        &self,
        id: &str,
        snapshot: Option<(&Deps, Instant)>,
    ) -> Result<ReconcileReport, ControlError> {
        let _lock = self.locks.lock(id).await;
        let result = self.reconcile_locked(id, snapshot).await;
        self.after_reconcile(id, &result);
        result
    }

    async fn reconcile_locked(
        &self,
        id: &str,
        snapshot: Option<(&Deps, Instant)>,
    ) -> Result<ReconcileReport, ControlError> {
        let deps = match snapshot {
            Some((deps, taken)) if !self.touched_since(id, taken) => deps,
            _ => &self.deps,
        };
        let row = self.store.workload(id)?;
        let current = self.store.current_deployment(id)?;
        let sealed = current.as_ref().map_or(&row.source_config, |d| &d.source_config);
        let w = self.plugin_workload(&row, sealed)?;
        let outcome = current.as_ref().map(|d| DeployOutcome {
            version: d.version.clone().unwrap_or_default(),
            detail: d.outcome.clone(),
        });
        let source = self.registry.source(&row.source_kind)?;
        let report = source.reconcile(deps, &w, outcome.as_ref(), self.config.reconcile_timeout).await?;
        if !report.repaired.is_empty() {
            self.touch(id);
        }
        if let (Some(new), Some(d)) = (&report.replaced, &current) {
            self.store.finish_deployment(
                &d.id,
                DeploymentStatus::Succeeded,
                Some(&new.version),
                &new.detail,
                None,
            )?;
        }
        for r in &report.repaired {
            self.events.emit(
                "reconcile.drift",
                Some(id),
                format!("{}: {r}", row.name),
                json!({"repaired": r}),
            );
        }
        Ok(report)
    }

    /// One pass over every workload, 4 at a time, then removal of this installation's containers
    /// whose workload is gone.
    pub async fn reconcile_all(&self) -> Result<PassReport, ControlError> {
        let started = Instant::now();
        let rows = self.store.workloads()?;
        let mut pass = PassReport { workloads: rows.len(), ..PassReport::default() };
        // The pass's one engine list call.
        let (snapshot, all) = Snapshot::take(self.deps.engine.clone())
            .await
            .map_err(|e| ControlError::Plugin(PluginError::Port(e.to_string())))?;
        let deps = Deps { engine: Arc::new(snapshot), ..self.deps.clone() };
        let ids: Vec<(String, String)> = rows.iter().map(|r| (r.id.clone(), r.name.clone())).collect();
        let results: Vec<_> = futures_util::stream::iter(ids)
            .map(|(id, name)| {
                let deps = &deps;
                async move { (name, self.reconcile_with(&id, Some((deps, started))).await) }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (name, res) in results {
            match res {
                Ok(rep) => pass.repaired += rep.repaired.len(),
                Err(e) => {
                    pass.failed += 1;
                    tracing::warn!(workload = %name, error = %e, "reconcile failed");
                }
            }
        }
        let known: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mine =
            all.into_iter().filter(|c| c.labels.get("tinyforge.instance") == Some(&self.deps.instance));
        for c in mine {
            let owner = c.labels.get("tinyforge.workload").map(String::as_str).unwrap_or("");
            if !known.contains(owner) && self.deps.engine.remove(&c.id, Duration::from_secs(5)).await.is_ok()
            {
                pass.orphans_removed += 1;
                self.events.emit(
                    "reconcile.drift",
                    None,
                    format!("removed container {} of unknown workload", c.name),
                    json!({"container": c.name}),
                );
            }
        }
        // The containers index, from a listing taken after the repairs.
        if let Ok(now) = self.deps.engine.list("tinyforge.instance", Some(&self.deps.instance)).await {
            let rows: Vec<ContainerRow> = now
                .into_iter()
                .filter_map(|c| {
                    Some(ContainerRow {
                        workload_id: c.labels.get("tinyforge.workload")?.clone(),
                        deployment_id: c.labels.get("tinyforge.deployment").cloned(),
                        id: c.id,
                        name: c.name,
                        running: c.running,
                        updated_at: String::new(),
                    })
                })
                .collect();
            self.store.replace_containers(&rows)?;
        }
        pass.ms = started.elapsed().as_millis() as u64;
        Ok(pass)
    }

    /// A container of `workload_id` died (`die`, `oom`): when it is the one serving, that is a
    /// crash — an event says so (the reconcile that follows restarts it).
    pub fn container_died(&self, workload_id: &str, container_id: &str, action: &str) {
        let Ok(Some(current)) = self.store.current_deployment(workload_id) else { return };
        if current.outcome.get("container_id").and_then(|v| v.as_str()) == Some(container_id) {
            self.events.emit(
                "container.crashed",
                Some(workload_id),
                format!("the serving container of deployment {} stopped ({action})", current.id),
                json!({"container_id": container_id, "action": action}),
            );
        }
    }

    /// At boot: deployments left running by a previous process become `interrupted`; then every
    /// workload is reconciled (routes restored, orphans of the interrupted deploy removed).
    pub async fn recover(&self) -> Result<PassReport, ControlError> {
        for d in self.store.interrupt_running_deployments()? {
            self.events.emit(
                "deploy.interrupted",
                Some(&d.workload_id),
                format!("deployment {} was interrupted by a restart; reconciling", d.id),
                json!({"deployment_id": d.id}),
            );
        }
        self.reconcile_all().await
    }

    /// Runs the reconciler forever: a pass every `reconcile_interval`, and the workload named by
    /// each message on `soon` (container died, was killed, OOM, destroyed) within moments.
    pub async fn run_reconciler(
        self: Arc<Self>,
        mut soon: mpsc::Receiver<String>,
        retry: mpsc::Sender<String>,
    ) {
        *self.retry.lock().unwrap_or_else(|p| p.into_inner()) = Some(retry);
        let mut tick = tokio::time::interval(self.config.reconcile_interval);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => match self.reconcile_all().await {
                    Ok(p) => tracing::info!(workloads = p.workloads, repaired = p.repaired, failed = p.failed, ms = p.ms, "reconcile pass"),
                    Err(e) => tracing::warn!(error = %e, "reconcile pass failed"),
                },
                Some(id) = soon.recv() => {
                    // Docker reports `kill`/`die` a moment before the container's state says so:
                    // wait for it to settle, and fold the burst of events into one reconcile.
                    if !self.settling.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone()) {
                        continue;
                    }
                    let me = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        me.settling.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        if let Err(e) = me.reconcile_workload(&id).await
                            && !matches!(e, ControlError::Store(tinyforge_store::StoreError::NotFound { .. }))
                        {
                            tracing::warn!(workload = %id, error = %e, "reconcile after container event failed");
                        }
                    });
                }
            }
        }
    }
}

/// How long to wait before reconciling a workload again after `e`, at the `attempt`-th failure
/// in a row: the error decides. `None`: retrying cannot help (the config must change).
pub fn backoff(e: &ControlError, attempt: u32) -> Option<Duration> {
    let base = match e {
        ControlError::Plugin(PluginError::Config(_))
        | ControlError::Registry(_)
        | ControlError::Invalid(_) => return None,
        ControlError::Store(tinyforge_store::StoreError::NotFound { .. }) => return None,
        ControlError::Plugin(PluginError::Unhealthy(_)) => 30,
        ControlError::Plugin(PluginError::Deadline { .. }) => 60,
        ControlError::Plugin(PluginError::Port(_)) | ControlError::Store(_) => 5,
    };
    Some(Duration::from_secs((base << attempt.saturating_sub(1).min(8)).min(300)))
}

impl Control {
    /// Failure bookkeeping: a failed reconcile schedules its own retry, with the backoff its
    /// error chooses; a success forgets past failures.
    fn after_reconcile(&self, id: &str, result: &Result<ReconcileReport, ControlError>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Err(e) = result else {
            failures.remove(id);
            return;
        };
        let attempt = failures.entry(id.to_owned()).or_default();
        *attempt += 1;
        let Some(wait) = backoff(e, *attempt) else { return };
        let Some(retry) = self.retry.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return };
        tracing::info!(workload = %id, attempt = *attempt, wait_secs = wait.as_secs(), "reconcile will be retried");
        let id = id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = retry.send(id).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_chooses_the_backoff() {
        let port = ControlError::Plugin(PluginError::Port("docker daemon unreachable".into()));
        assert_eq!(backoff(&port, 1), Some(Duration::from_secs(5)));
        assert_eq!(backoff(&port, 3), Some(Duration::from_secs(20)));
        assert_eq!(backoff(&port, 30), Some(Duration::from_secs(300)));
        let sick = ControlError::Plugin(PluginError::Unhealthy("503".into()));
        assert_eq!(backoff(&sick, 1), Some(Duration::from_secs(30)));
        let config =
            ControlError::Plugin(PluginError::Config(tinyforge_plugin::ConfigError::new("x", "bad")));
        assert_eq!(backoff(&config, 1), None);
    }
}
