//! Triggers (the URL secret kept only as a SHA-256 hash, the signing secret sealed) and the
//! workload × trigger bindings with their enabled flag and config override (A3).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::{Store, StoreError, conflict, hash_secret, json_col, new_id, now};

/// A stored trigger. Neither secret is ever part of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TriggerRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Trigger kind.
    pub kind: String,
    /// Trigger config.
    pub config: Value,
    /// Whether deliveries must be signed.
    pub has_signing_secret: bool,
    /// Polling kinds: what the last poll saw (tag and digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_state: Option<Value>,
    /// Created.
    pub created_at: String,
}

/// A stored binding.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BindingRow {
    /// Id.
    pub id: String,
    /// The workload.
    pub workload_id: String,
    /// The trigger.
    pub trigger_id: String,
    /// Disabled bindings are skipped by fan-out.
    pub enabled: bool,
    /// Merged over the trigger's config (C7).
    pub binding_config: Value,
    /// Created.
    pub created_at: String,
    /// Scheduled kinds: the last tick handled.
    pub last_fired_at: Option<String>,
}

const TCOLS: &str = "id, name, kind, config, signing_secret IS NOT NULL, created_at, poll_state";
const BCOLS: &str = "id, workload_id, trigger_id, enabled, binding_config, created_at, last_fired_at";

fn trow(r: &rusqlite::Row<'_>) -> rusqlite::Result<TriggerRow> {
    Ok(TriggerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        config: json_col(r.get(3)?),
        has_signing_secret: r.get(4)?,
        created_at: r.get(5)?,
        poll_state: r.get::<_, Option<String>>(6)?.map(json_col),
    })
}

fn brow(r: &rusqlite::Row<'_>) -> rusqlite::Result<BindingRow> {
    Ok(BindingRow {
        id: r.get(0)?,
        workload_id: r.get(1)?,
        trigger_id: r.get(2)?,
        enabled: r.get(3)?,
        binding_config: json_col(r.get(4)?),
        created_at: r.get(5)?,
        last_fired_at: r.get(6)?,
    })
}

impl Store {
    /// Inserts a trigger; `url_secret` is stored hashed, `signing_secret` sealed.
    pub fn insert_trigger(
        &self,
        name: &str,
        kind: &str,
        config: &Value,
        url_secret: &str,
        signing_secret: Option<&str>,
    ) -> Result<TriggerRow, StoreError> {
        let id = new_id();
        let sealed = signing_secret.map(|s| self.sealer.seal(s));
        self.db()
            .execute(
                "INSERT INTO triggers (id, name, kind, config, secret_hash, signing_secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, name, kind, config.to_string(), hash_secret(url_secret), sealed, now()],
            )
            .map_err(|e| conflict(e, || format!("a trigger named `{name}` already exists")))?;
        self.trigger(&id)
    }

    /// Updates a trigger's name and config.
    pub fn update_trigger(&self, id: &str, name: &str, config: &Value) -> Result<TriggerRow, StoreError> {
        let n = self
            .db()
            .execute(
                "UPDATE triggers SET name = ?2, config = ?3 WHERE id = ?1",
                params![id, name, config.to_string()],
            )
            .map_err(|e| conflict(e, || format!("a trigger named `{name}` already exists")))?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "trigger", id: id.to_owned() });
        }
        self.trigger(id)
    }

    /// One trigger by id.
    pub fn trigger(&self, id: &str) -> Result<TriggerRow, StoreError> {
        self.read()
            .query_row(&format!("SELECT {TCOLS} FROM triggers WHERE id = ?1"), [id], trow)
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "trigger", id: id.to_owned() })
    }

    /// The trigger whose URL secret is `secret` (looked up by hash: the cost does not depend on
    /// how much of the secret is right), with its opened signing secret.
    pub fn trigger_by_url_secret(
        &self,
        secret: &str,
    ) -> Result<Option<(TriggerRow, Option<String>)>, StoreError> {
        let found = self
            .read()
            .prepare_cached(&format!("SELECT {TCOLS}, signing_secret FROM triggers WHERE secret_hash = ?1"))?
            .query_row([hash_secret(secret)], |r| Ok((trow(r)?, r.get::<_, Option<String>>(7)?)))
            .optional()?;
        match found {
            None => Ok(None),
            Some((t, sealed)) => {
                let signing = sealed.map(|s| self.sealer.open(&s)).transpose()?;
                Ok(Some((t, signing)))
            }
        }
    }

    /// Every trigger, by name.
    pub fn triggers(&self) -> Result<Vec<TriggerRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare(&format!("SELECT {TCOLS} FROM triggers ORDER BY name"))?;
        let rows = st.query_map([], trow)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// What the last poll of a polling trigger saw (`null` before the first).
    pub fn poll_state(&self, id: &str) -> Result<Value, StoreError> {
        let s: Option<String> =
            self.read().query_row("SELECT poll_state FROM triggers WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(s.map(json_col).unwrap_or(Value::Null))
    }

    /// Keeps what a poll saw.
    pub fn set_poll_state(&self, id: &str, state: &Value) -> Result<(), StoreError> {
        self.db()
            .execute("UPDATE triggers SET poll_state = ?2 WHERE id = ?1", params![id, state.to_string()])?;
        Ok(())
    }

    /// Deletes a trigger and its bindings.
    pub fn delete_trigger(&self, id: &str) -> Result<(), StoreError> {
        match self.db().execute("DELETE FROM triggers WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound { what: "trigger", id: id.to_owned() }),
            _ => Ok(()),
        }
    }

    /// Binds a workload to a trigger.
    pub fn insert_binding(
        &self,
        workload_id: &str,
        trigger_id: &str,
        enabled: bool,
        binding_config: &Value,
    ) -> Result<BindingRow, StoreError> {
        self.workload(workload_id)?;
        self.trigger(trigger_id)?;
        let id = new_id();
        self.db()
            .execute(
                &format!(
                    "INSERT INTO workload_trigger_bindings ({BCOLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"
                ),
                params![id, workload_id, trigger_id, enabled, binding_config.to_string(), now()],
            )
            .map_err(|e| conflict(e, || "this workload is already bound to this trigger".to_owned()))?;
        self.binding(&id)
    }

    /// Changes a binding's enabled flag and config.
    pub fn update_binding(
        &self,
        id: &str,
        enabled: bool,
        binding_config: &Value,
    ) -> Result<BindingRow, StoreError> {
        let n = self.db().execute(
            "UPDATE workload_trigger_bindings SET enabled = ?2, binding_config = ?3 WHERE id = ?1",
            params![id, enabled, binding_config.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "binding", id: id.to_owned() });
        }
        self.binding(id)
    }

    /// One binding by id.
    pub fn binding(&self, id: &str) -> Result<BindingRow, StoreError> {
        self.read()
            .query_row(&format!("SELECT {BCOLS} FROM workload_trigger_bindings WHERE id = ?1"), [id], brow)
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "binding", id: id.to_owned() })
    }

    /// Bindings, filtered by workload and/or trigger.
    pub fn bindings(
        &self,
        workload_id: Option<&str>,
        trigger_id: Option<&str>,
    ) -> Result<Vec<BindingRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare_cached(&format!(
            "SELECT {BCOLS} FROM workload_trigger_bindings
             WHERE (?1 IS NULL OR workload_id = ?1) AND (?2 IS NULL OR trigger_id = ?2) ORDER BY created_at"
        ))?;
        let rows = st.query_map(params![workload_id, trigger_id], brow)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Deletes a binding.
    pub fn delete_binding(&self, id: &str) -> Result<(), StoreError> {
        match self.db().execute("DELETE FROM workload_trigger_bindings WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound { what: "binding", id: id.to_owned() }),
            _ => Ok(()),
        }
    }
}
