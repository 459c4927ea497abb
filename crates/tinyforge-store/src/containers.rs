//! The containers index: what the engine runs for each workload, as the last reconcile pass saw
//! it (the API shows it without asking Docker).

use rusqlite::params;
use serde::Serialize;

use crate::{Store, StoreError, now};

/// One container as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ContainerRow {
    /// Container id.
    pub id: String,
    /// Its workload.
    pub workload_id: String,
    /// The deployment that started it.
    pub deployment_id: Option<String>,
    /// Name.
    pub name: String,
    /// Running when last seen.
    pub running: bool,
    /// When last seen.
    pub updated_at: String,
}

impl Store {
    /// Replaces the whole index with `rows` (one transaction).
    pub fn replace_containers(&self, rows: &[ContainerRow]) -> Result<(), StoreError> {
        let at = now();
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM containers", [])?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO containers (id, workload_id, deployment_id, name, running, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rows {
                st.execute(params![r.id, r.workload_id, r.deployment_id, r.name, r.running, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A workload's containers as last seen.
    pub fn containers_of(&self, workload_id: &str) -> Result<Vec<ContainerRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare_cached(
            "SELECT id, workload_id, deployment_id, name, running, updated_at FROM containers WHERE workload_id = ?1 ORDER BY name",
        )?;
        let rows = st
            .query_map([workload_id], |r| {
                Ok(ContainerRow {
                    id: r.get(0)?,
                    workload_id: r.get(1)?,
                    deployment_id: r.get(2)?,
                    name: r.get(3)?,
                    running: r.get(4)?,
                    updated_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
