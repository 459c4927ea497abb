//! The deploy queue's workers (D1–D3): claim a queued deployment (never a second one of a workload
//! that has one running), run the source under the workload lock and a deadline, record the
//! outcome, emit events. Also rollback and waiting for a deployment to end.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tinyforge_plugin::ports::Event;
use tinyforge_plugin::{DeploymentIntent, InboundEvent, Manual, Target};
use tinyforge_store::{DeploymentRow, DeploymentStatus, NewDeployment, WorkloadRow};
use tokio::sync::Semaphore;

use crate::{Control, ControlError};

/// One deployment to queue.
pub(crate) struct Queued<'a> {
    pub workload: &'a WorkloadRow,
    pub intent: &'a DeploymentIntent,
    /// The config to deploy (secrets sealed).
    pub config: &'a Value,
    /// A scheduled binding's tick `(binding, at)` to mark handled.
    pub fired: Option<(&'a str, &'a str)>,
}

impl Control {
    /// Queues `intent` for `workload_id`, deploying `sealed_config` (default: the workload's
    /// current config). A queued, not yet started deployment of the workload is superseded.
    pub fn enqueue(
        &self,
        workload_id: &str,
        intent: &DeploymentIntent,
        sealed_config: Option<&Value>,
    ) -> Result<DeploymentRow, ControlError> {
        self.enqueue_marking(workload_id, intent, sealed_config, None)
    }

    /// [`enqueue`](Self::enqueue), marking a scheduled binding's tick `(binding, at)` as handled in
    /// the same transaction.
    pub(crate) fn enqueue_marking(
        &self,
        workload_id: &str,
        intent: &DeploymentIntent,
        sealed_config: Option<&Value>,
        fired: Option<(&str, &str)>,
    ) -> Result<DeploymentRow, ControlError> {
        let row = self.store.workload(workload_id)?;
        let config = sealed_config.unwrap_or(&row.source_config).clone();
        let id = self.queue(&[Queued { workload: &row, intent, config: &config, fired }])?.remove(0);
        Ok(self.store.deployment(&id)?)
    }

    /// Queues several deployments with one transaction and one events write; returns their ids.
    pub(crate) fn queue(&self, items: &[Queued<'_>]) -> Result<Vec<String>, ControlError> {
        let intents: Vec<Value> =
            items.iter().map(|q| serde_json::to_value(q.intent).expect("an intent serialises")).collect();
        let new: Vec<NewDeployment<'_>> = items
            .iter()
            .zip(&intents)
            .map(|(q, intent)| NewDeployment {
                workload_id: &q.workload.id,
                intent,
                triggered_by: &q.intent.triggered_by,
                sealed_config: q.config,
                fired: q.fired,
            })
            .collect();
        let done = self.store.enqueue_deployments(&new)?;
        let mut events = Vec::with_capacity(done.len());
        for (q, (id, superseded)) in items.iter().zip(&done) {
            let wid = Some(q.workload.id.clone());
            for old in superseded {
                events.push(Event {
                    kind: "deploy.superseded".into(),
                    workload_id: wid.clone(),
                    message: format!("deployment {old} superseded by {id}"),
                    data: json!({"deployment_id": old, "by": id}),
                });
                let _ = self.finished.send(old.clone());
            }
            events.push(Event {
                kind: "deploy.queued".into(),
                workload_id: wid,
                message: format!("{} queued by {}", q.workload.name, q.intent.triggered_by),
                data: json!({"deployment_id": id, "event": q.intent.event.kind()}),
            });
        }
        self.events.publish_many(events);
        self.wake.notify_one();
        Ok(done.into_iter().map(|(id, _)| id).collect())
    }

    /// Runs the queue forever: up to `max_parallel_deploys` deployments at once.
    pub async fn run_queue(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.config.max_parallel_deploys.max(1)));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            match self.store.claim_next_deployment() {
                Ok(Some(dep)) => {
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.execute(dep).await;
                        drop(slot);
                        me.wake.notify_one();
                    });
                }
                Ok(None) => {
                    drop(slot);
                    let _ = tokio::time::timeout(Duration::from_secs(2), self.wake.notified()).await;
                }
                Err(e) => {
                    drop(slot);
                    tracing::error!(error = %e, "deploy queue: cannot read the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn execute(&self, dep: DeploymentRow) {
        let _lock = self.locks.lock(&dep.workload_id).await;
        let wid = dep.workload_id.as_str();
        self.events.emit(
            "deploy.started",
            Some(wid),
            format!("deployment {} started", dep.id),
            json!({"deployment_id": dep.id}),
        );
        let started = std::time::Instant::now();
        let result = async {
            let row = self.store.workload(wid)?;
            let w = self.plugin_workload(&row, &dep.source_config)?;
            let mut intent: DeploymentIntent = serde_json::from_value(dep.intent.clone())
                .map_err(|e| ControlError::Invalid(format!("stored intent unreadable: {e}")))?;
            intent.deployment_id = dep.id.clone();
            let source = self.registry.source(&row.source_kind)?;
            Ok::<_, ControlError>(source.deploy(&self.deps, &w, &intent, self.config.deploy_timeout).await?)
        }
        .await;
        self.touch(wid);
        if result.is_ok() {
            self.sync_dns(wid).await;
        }
        let ms = started.elapsed().as_millis() as u64;
        let recorded = match &result {
            Ok(o) => {
                self.events.emit(
                    "deploy.succeeded",
                    Some(wid),
                    format!("deployment {} is serving {} ({ms} ms)", dep.id, o.version),
                    json!({"deployment_id": dep.id, "version": o.version, "ms": ms}),
                );
                self.store.finish_deployment(
                    &dep.id,
                    DeploymentStatus::Succeeded,
                    Some(&o.version),
                    &o.detail,
                    None,
                )
            }
            Err(e) => {
                let why = e.to_string();
                self.events.emit(
                    "deploy.failed",
                    Some(wid),
                    format!("deployment {} failed: {why}", dep.id),
                    json!({"deployment_id": dep.id, "error": why, "ms": ms}),
                );
                self.store.finish_deployment(
                    &dep.id,
                    DeploymentStatus::Failed,
                    None,
                    &Value::Null,
                    Some(&why),
                )
            }
        };
        if let Err(e) = recorded {
            tracing::error!(deployment = %dep.id, error = %e, "could not record the deployment's outcome");
        }
        let _ = self.finished.send(dep.id);
    }

    /// Waits until deployment `id` has ended (or `timeout`), and returns it as stored.
    pub async fn wait_for(&self, id: &str, timeout: Duration) -> Result<DeploymentRow, ControlError> {
        let mut rx = self.finished.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let row = self.store.deployment(id)?;
            if row.status.is_final() {
                return Ok(row);
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Ok(row),
                Ok(Ok(done)) if done != id => continue,
                Ok(_) => {}
            }
        }
    }

    /// Queues a rollback to `to` (a succeeded deployment of the workload), or to the one before the
    /// current when `to` is `None`: its exact version and config.
    pub fn rollback(
        &self,
        workload_id: &str,
        to: Option<&str>,
        actor: &str,
    ) -> Result<DeploymentRow, ControlError> {
        let history = self.store.deployments(workload_id, 500)?;
        let succeeded: Vec<&DeploymentRow> =
            history.iter().filter(|d| d.status == DeploymentStatus::Succeeded).collect();
        let target = match to {
            Some(id) => succeeded.iter().find(|d| d.id == id).ok_or_else(|| {
                ControlError::Invalid(format!(
                    "deployment `{id}` is not a successful deployment of this workload"
                ))
            })?,
            None => succeeded.get(1).ok_or_else(|| {
                ControlError::Invalid("there is no earlier successful deployment to roll back to".into())
            })?,
        };
        let version = target
            .version
            .clone()
            .ok_or_else(|| ControlError::Invalid("that deployment recorded no version".into()))?;
        let intent = DeploymentIntent {
            target: Target { version: Some(version), ..Target::default() },
            event: InboundEvent::Manual(Manual { actor: actor.to_owned(), reference: None }),
            triggered_by: format!("rollback:{}", target.id),
            deployment_id: String::new(),
        };
        self.enqueue(workload_id, &intent, Some(&target.source_config))
    }
}

impl Control {
    /// Removes everything a workload runs and routes (its source's teardown), under its lock.
    pub async fn teardown(&self, workload_id: &str) -> Result<(), ControlError> {
        let _lock = self.locks.lock(workload_id).await;
        let row = self.store.workload(workload_id)?;
        let w = self.plugin_workload(&row, &row.source_config)?;
        let source = self.registry.source(&row.source_kind)?;
        let hosts: Vec<String> =
            self.deps.routes.routes_of(workload_id).into_iter().map(|r| r.host).collect();
        source.teardown(&self.deps, &w, self.config.deploy_timeout).await?;
        self.touch(workload_id);
        self.drop_dns(hosts).await;
        self.events.emit(
            "workload.torn_down",
            Some(workload_id),
            format!("{} torn down", row.name),
            json!({}),
        );
        Ok(())
    }
}

impl Control {
    /// Points every face host of the workload at this server (when a DNS provider is set).
    async fn sync_dns(&self, workload_id: &str) {
        let (Some(dns), Some(ip)) = (&self.deps.dns, self.config.public_ip) else { return };
        let mut hosts: Vec<String> =
            self.deps.routes.routes_of(workload_id).into_iter().map(|r| r.host).collect();
        hosts.dedup();
        for host in hosts {
            match dns.upsert(&host, ip).await {
                Ok(()) => self.events.emit(
                    "dns.updated",
                    Some(workload_id),
                    format!("{host} → {ip}"),
                    json!({"host": host}),
                ),
                Err(e) => {
                    self.events.emit("dns.failed", Some(workload_id), e.to_string(), json!({"host": host}))
                }
            }
        }
    }

    /// Removes the records of `hosts` that no route serves any more.
    async fn drop_dns(&self, mut hosts: Vec<String>) {
        let Some(dns) = &self.deps.dns else { return };
        hosts.dedup();
        for host in hosts {
            let still_used = self
                .store
                .workloads()
                .unwrap_or_default()
                .iter()
                .any(|w| self.deps.routes.routes_of(&w.id).iter().any(|r| r.host == host));
            if still_used {
                continue;
            }
            match dns.remove(&host).await {
                Ok(()) => {
                    self.events.emit("dns.removed", None, format!("{host} removed"), json!({"host": host}))
                }
                Err(e) => self.events.emit("dns.failed", None, e.to_string(), json!({"host": host})),
            }
        }
    }
}
