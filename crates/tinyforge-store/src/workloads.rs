//! Workloads and their env table. Env values marked secret are sealed on the way in and opened
//! only for the deployer ([`Store::env_opened`]); the API sees them masked.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use tinyforge_plugin::EnvVar;

use crate::{Store, StoreError, conflict, json_col, new_id, now};

/// A stored workload. `source_config` has its secret fields sealed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Source kind.
    pub source_kind: String,
    /// Source config (secret fields sealed).
    pub source_config: Value,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

const COLS: &str = "id, name, source_kind, source_config, created_at, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WorkloadRow> {
    Ok(WorkloadRow {
        id: r.get(0)?,
        name: r.get(1)?,
        source_kind: r.get(2)?,
        source_config: json_col(r.get(3)?),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

impl Store {
    /// Inserts a workload (config already sealed by the caller) with its env.
    pub fn insert_workload(
        &self,
        name: &str,
        source_kind: &str,
        sealed_config: &Value,
        env: &[EnvVar],
    ) -> Result<WorkloadRow, StoreError> {
        let id = new_id();
        let at = now();
        {
            let mut db = self.db();
            let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                &format!("INSERT INTO workloads ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
                params![id, name, source_kind, sealed_config.to_string(), at],
            )
            .map_err(|e| conflict(e, || format!("a workload named `{name}` already exists")))?;
            self.write_env(&tx, &id, env)?;
            tx.commit()?;
        }
        self.workload(&id)
    }

    /// Replaces a workload's config (and env, when given).
    pub fn update_workload(
        &self,
        id: &str,
        name: &str,
        sealed_config: &Value,
        env: Option<&[EnvVar]>,
    ) -> Result<WorkloadRow, StoreError> {
        {
            let mut db = self.db();
            let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n = tx
                .execute(
                    "UPDATE workloads SET name = ?2, source_config = ?3, updated_at = ?4 WHERE id = ?1",
                    params![id, name, sealed_config.to_string(), now()],
                )
                .map_err(|e| conflict(e, || format!("a workload named `{name}` already exists")))?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "workload", id: id.to_owned() });
            }
            if let Some(env) = env {
                tx.execute("DELETE FROM workload_env WHERE workload_id = ?1", [id])?;
                self.write_env(&tx, id, env)?;
            }
            tx.commit()?;
        }
        self.workload(id)
    }

    fn write_env(&self, tx: &rusqlite::Transaction<'_>, id: &str, env: &[EnvVar]) -> Result<(), StoreError> {
        let mut st =
            tx.prepare("INSERT INTO workload_env (workload_id, key, value, secret) VALUES (?1, ?2, ?3, ?4)")?;
        for e in env {
            let value = if e.secret { self.sealer.seal(&e.value) } else { e.value.clone() };
            st.execute(params![id, e.key, value, e.secret])
                .map_err(|err| conflict(err, || format!("env key `{}` appears twice", e.key)))?;
        }
        Ok(())
    }

    /// One workload by id.
    pub fn workload(&self, id: &str) -> Result<WorkloadRow, StoreError> {
        self.read()
            .prepare_cached(&format!("SELECT {COLS} FROM workloads WHERE id = ?1"))?
            .query_row([id], row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "workload", id: id.to_owned() })
    }

    /// Every workload, by name.
    pub fn workloads(&self) -> Result<Vec<WorkloadRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare(&format!("SELECT {COLS} FROM workloads ORDER BY name"))?;
        let rows = st.query_map([], row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Deletes a workload (its env, bindings and history go with it).
    pub fn delete_workload(&self, id: &str) -> Result<(), StoreError> {
        match self.db().execute("DELETE FROM workloads WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound { what: "workload", id: id.to_owned() }),
            _ => Ok(()),
        }
    }

    /// The env with secret values masked (`value` empty), for answers.
    pub fn env_masked(&self, id: &str) -> Result<Vec<EnvVar>, StoreError> {
        Ok(self
            .env_raw(id)?
            .into_iter()
            .map(|mut e| {
                if e.secret {
                    e.value.clear();
                }
                e
            })
            .collect())
    }

    /// The env with secret values opened, for the deployer only.
    pub fn env_opened(&self, id: &str) -> Result<Vec<EnvVar>, StoreError> {
        self.env_raw(id)?
            .into_iter()
            .map(|mut e| {
                if e.secret {
                    e.value = self.sealer.open(&e.value)?;
                }
                Ok(e)
            })
            .collect()
    }

    fn env_raw(&self, id: &str) -> Result<Vec<EnvVar>, StoreError> {
        let db = self.read();
        let mut st =
            db.prepare("SELECT key, value, secret FROM workload_env WHERE workload_id = ?1 ORDER BY key")?;
        let rows = st
            .query_map([id], |r| Ok(EnvVar { key: r.get(0)?, value: r.get(1)?, secret: r.get(2)? }))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
