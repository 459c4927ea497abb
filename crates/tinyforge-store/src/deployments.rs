//! The durable deploy queue and the deployment history (D2, D3). A newer intent supersedes a
//! queued older one of the same workload; `claim_next` never hands out a second deployment of a
//! workload that has one running.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::{Store, StoreError, json_col, new_id, now};

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    /// Waiting in the queue.
    Queued,
    /// Being deployed.
    Running,
    /// Serving (or served) successfully.
    Succeeded,
    /// Failed; the previous version kept serving.
    Failed,
    /// A newer intent replaced it before it started.
    Superseded,
    /// tinyforge stopped while it ran; resolved by reconciling.
    Interrupted,
}

impl DeploymentStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "superseded" => Self::Superseded,
            "interrupted" => Self::Interrupted,
            _ => Self::Failed,
        }
    }
    /// Whether the deployment has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// A deployment to queue.
pub struct NewDeployment<'a> {
    /// The workload.
    pub workload_id: &'a str,
    /// The intent (JSON DeploymentIntent).
    pub intent: &'a Value,
    /// Who or what fired it.
    pub triggered_by: &'a str,
    /// The config to deploy (secrets sealed).
    pub sealed_config: &'a Value,
    /// A scheduled binding's tick `(binding id, at)` to mark handled in the same transaction.
    pub fired: Option<(&'a str, &'a str)>,
}

/// One deployment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeploymentRow {
    /// Id.
    pub id: String,
    /// The workload.
    pub workload_id: String,
    /// Status.
    pub status: DeploymentStatus,
    /// The intent (JSON DeploymentIntent).
    pub intent: Value,
    /// Who or what fired it.
    pub triggered_by: String,
    /// The source config it deploys (secrets sealed) — what a rollback reuses.
    #[serde(skip)]
    pub source_config: Value,
    /// The exact version deployed (digest, commit).
    pub version: Option<String>,
    /// The source's outcome record.
    pub outcome: Value,
    /// Why it failed.
    pub error: Option<String>,
    /// Queued at.
    pub queued_at: String,
    /// Started at.
    pub started_at: Option<String>,
    /// Finished at.
    pub finished_at: Option<String>,
}

const COLS: &str = "id, workload_id, status, intent, triggered_by, source_config, version, outcome, error, \
                    queued_at, started_at, finished_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeploymentRow> {
    Ok(DeploymentRow {
        id: r.get(0)?,
        workload_id: r.get(1)?,
        status: DeploymentStatus::parse(&r.get::<_, String>(2)?),
        intent: json_col(r.get(3)?),
        triggered_by: r.get(4)?,
        source_config: json_col(r.get(5)?),
        version: r.get(6)?,
        outcome: r.get::<_, Option<String>>(7)?.map(json_col).unwrap_or(Value::Null),
        error: r.get(8)?,
        queued_at: r.get(9)?,
        started_at: r.get(10)?,
        finished_at: r.get(11)?,
    })
}

impl Store {
    /// Queues a deployment, superseding any queued (not yet running) one of the same workload.
    /// With `fired`, in the same transaction marks that binding's tick as handled, so a crash can
    /// neither lose nor double a scheduled deploy. Returns the new row and the ids it superseded.
    pub fn enqueue_deployment(
        &self,
        workload_id: &str,
        intent: &Value,
        triggered_by: &str,
        sealed_config: &Value,
        fired: Option<(&str, &str)>,
    ) -> Result<(DeploymentRow, Vec<String>), StoreError> {
        let item = NewDeployment { workload_id, intent, triggered_by, sealed_config, fired };
        let (id, superseded) = self.enqueue_deployments(&[item])?.remove(0);
        Ok((self.deployment(&id)?, superseded))
    }

    /// Queues many deployments in one transaction (a webhook fanned out to many bindings);
    /// returns each new id with the ids it superseded.
    pub fn enqueue_deployments(
        &self,
        items: &[NewDeployment<'_>],
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let at = now();
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(items.len());
        {
            let mut queued =
                tx.prepare_cached("SELECT id FROM deployments WHERE workload_id = ?1 AND status = 'queued'")?;
            let mut supersede = tx.prepare_cached(
                "UPDATE deployments SET status = 'superseded', finished_at = ?2, error = ?3
                 WHERE workload_id = ?1 AND status = 'queued'",
            )?;
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO deployments ({COLS}) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, NULL, NULL, NULL, ?6, NULL, NULL)"
            ))?;
            let mut mark =
                tx.prepare_cached("UPDATE workload_trigger_bindings SET last_fired_at = ?2 WHERE id = ?1")?;
            for it in items {
                let id = new_id();
                let old: Vec<String> =
                    queued.query_map([it.workload_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
                if !old.is_empty() {
                    supersede.execute(params![it.workload_id, at, format!("superseded by {id}")])?;
                }
                insert.execute(params![
                    id,
                    it.workload_id,
                    it.intent.to_string(),
                    it.triggered_by,
                    it.sealed_config.to_string(),
                    at
                ])?;
                if let Some((binding, tick)) = it.fired {
                    mark.execute(params![binding, tick])?;
                }
                out.push((id, old));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Marks a binding's tick as handled without deploying (the trigger skipped it).
    pub fn mark_fired(&self, binding_id: &str, tick: &str) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE workload_trigger_bindings SET last_fired_at = ?2 WHERE id = ?1",
            params![binding_id, tick],
        )?;
        Ok(())
    }

    /// Takes the oldest queued deployment whose workload has none running, marking it running.
    pub fn claim_next_deployment(&self) -> Result<Option<DeploymentRow>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let id: Option<String> = tx
            .query_row(
                "SELECT d.id FROM deployments d WHERE d.status = 'queued' AND NOT EXISTS
                   (SELECT 1 FROM deployments r WHERE r.workload_id = d.workload_id AND r.status = 'running')
                 ORDER BY d.queued_at LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        tx.execute(
            "UPDATE deployments SET status = 'running', started_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        let r = tx.query_row(&format!("SELECT {COLS} FROM deployments WHERE id = ?1"), [&id], row)?;
        tx.commit()?;
        Ok(Some(r))
    }

    /// Ends a deployment.
    pub fn finish_deployment(
        &self,
        id: &str,
        status: DeploymentStatus,
        version: Option<&str>,
        outcome: &Value,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE deployments SET status = ?2, version = COALESCE(?3, version), outcome = ?4, error = ?5,
             finished_at = ?6 WHERE id = ?1",
            params![id, status.as_str(), version, outcome.to_string(), error, now()],
        )?;
        Ok(())
    }

    /// One deployment.
    pub fn deployment(&self, id: &str) -> Result<DeploymentRow, StoreError> {
        self.read()
            .query_row(&format!("SELECT {COLS} FROM deployments WHERE id = ?1"), [id], row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "deployment", id: id.to_owned() })
    }

    /// A workload's deployments, newest first.
    pub fn deployments(&self, workload_id: &str, limit: u32) -> Result<Vec<DeploymentRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare(&format!(
            "SELECT {COLS} FROM deployments WHERE workload_id = ?1 ORDER BY queued_at DESC, id DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![workload_id, limit], row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The deployment now serving: the latest succeeded one.
    pub fn current_deployment(&self, workload_id: &str) -> Result<Option<DeploymentRow>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!(
                    "SELECT {COLS} FROM deployments WHERE workload_id = ?1 AND status = 'succeeded'
                     ORDER BY finished_at DESC, id DESC LIMIT 1"
                ),
                [workload_id],
                row,
            )
            .optional()?)
    }

    /// Marks deployments left `running` by a previous process as interrupted; returns them.
    pub fn interrupt_running_deployments(&self) -> Result<Vec<DeploymentRow>, StoreError> {
        let rows: Vec<DeploymentRow> = {
            let db = self.db();
            let mut st = db.prepare(&format!("SELECT {COLS} FROM deployments WHERE status = 'running'"))?;
            st.query_map([], row)?.collect::<Result<_, _>>()?
        };
        self.db().execute(
            "UPDATE deployments SET status = 'interrupted', finished_at = ?1,
             error = 'tinyforge stopped during this deploy; resolved by reconciling' WHERE status = 'running'",
            [now()],
        )?;
        Ok(rows)
    }
}
