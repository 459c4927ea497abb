//! Persisted lifecycle events (X2) with retention by count.

use rusqlite::params;
use serde::Serialize;
use serde_json::Value;
use tinyforge_plugin::ports::Event;

use crate::{Store, StoreError, json_col, now};

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventRow {
    /// Sequence number (ascending).
    pub seq: i64,
    /// When.
    pub at: String,
    /// Kind (`deploy.succeeded`, …).
    pub kind: String,
    /// The workload concerned.
    pub workload_id: Option<String>,
    /// One line for people.
    pub message: String,
    /// Details.
    pub data: Value,
}

impl Store {
    /// Stores an event, keeping at most `keep` events; returns the stored row.
    pub fn insert_event(&self, e: &Event, keep: i64) -> Result<EventRow, StoreError> {
        Ok(self.insert_events(std::slice::from_ref(e), keep)?.remove(0))
    }

    /// Stores events in one transaction, keeping at most `keep`; returns the stored rows.
    pub fn insert_events(&self, events: &[Event], keep: i64) -> Result<Vec<EventRow>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = write_events(&tx, events, keep)?;
        tx.commit()?;
        Ok(rows)
    }

    /// Events after `after_seq`, oldest first, optionally for one workload.
    pub fn events(
        &self,
        after_seq: i64,
        workload_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        self.query_events(
            "SELECT seq, at, kind, workload_id, message, data FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR workload_id = ?2) ORDER BY seq LIMIT ?3",
            params![after_seq, workload_id, limit],
        )
    }

    /// The latest `limit` events, oldest first, optionally for one workload.
    pub fn latest_events(&self, workload_id: Option<&str>, limit: u32) -> Result<Vec<EventRow>, StoreError> {
        let mut rows = self.query_events(
            "SELECT seq, at, kind, workload_id, message, data FROM events
             WHERE (?1 IS NULL OR workload_id = ?1) ORDER BY seq DESC LIMIT ?2",
            params![workload_id, limit],
        )?;
        rows.reverse();
        Ok(rows)
    }

    fn query_events(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<EventRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare_cached(sql)?;
        let rows = st
            .query_map(args, |r| {
                Ok(EventRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    workload_id: r.get(3)?,
                    message: r.get(4)?,
                    data: json_col(r.get(5)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// Inserts `events` in `tx` (keeping the newest `keep`); returns them as stored.
pub(crate) fn write_events(
    tx: &rusqlite::Transaction<'_>,
    events: &[Event],
    keep: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let at = now();
    let mut rows = Vec::with_capacity(events.len());
    let mut st = tx.prepare_cached(
        "INSERT INTO events (at, kind, workload_id, message, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in events {
        st.execute(params![at, e.kind, e.workload_id, e.message, e.data.to_string()])?;
        let seq = tx.last_insert_rowid();
        if seq % 1000 == 0 {
            tx.execute("DELETE FROM events WHERE seq <= ?1", [seq - keep])?;
        }
        rows.push(EventRow {
            seq,
            at: at.clone(),
            kind: e.kind.clone(),
            workload_id: e.workload_id.clone(),
            message: e.message.clone(),
            data: e.data.clone(),
        });
    }
    Ok(rows)
}
