//! The webhook delivery log: what arrived, from which vendor, and what was decided (W5).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use tinyforge_plugin::ports::Event;

use crate::{EventRow, Store, StoreError, json_col, new_id, now};

/// A delivery to record.
pub struct NewDelivery<'a> {
    /// The trigger it arrived for.
    pub trigger_id: &'a str,
    /// Detected vendor.
    pub vendor: &'a str,
    /// The vendor's delivery id, for duplicate detection.
    pub vendor_delivery_id: Option<&'a str>,
    /// Event kind, when normalised.
    pub event: Option<&'a str>,
    /// Headers with secrets removed.
    pub headers: &'a Value,
    /// The body (already truncated to the stored limit).
    pub body: &'a [u8],
    /// accepted, rejected, duplicate, ignored, invalid.
    pub verdict: &'a str,
    /// The answer's summary.
    pub summary: &'a Value,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    /// Id.
    pub id: String,
    /// Trigger.
    pub trigger_id: String,
    /// Vendor.
    pub vendor: String,
    /// Vendor delivery id.
    pub vendor_delivery_id: Option<String>,
    /// Event kind.
    pub event: Option<String>,
    /// Headers (secrets removed).
    pub headers: Value,
    /// Verdict.
    pub verdict: String,
    /// Summary.
    pub summary: Value,
    /// Received at.
    pub received_at: String,
    /// Body (not serialised in lists).
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl Store {
    /// Records a delivery and the events it caused with one commit; returns its id and the events
    /// as stored (the newest `keep` events are kept).
    pub fn insert_delivery_with_events(
        &self,
        d: &NewDelivery<'_>,
        events: &[Event],
        keep: i64,
    ) -> Result<(String, Vec<EventRow>), StoreError> {
        let id = new_id();
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO webhook_deliveries (id, trigger_id, vendor, vendor_delivery_id, event, headers, body,
             verdict, summary, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?.execute(params![
                id,
                d.trigger_id,
                d.vendor,
                d.vendor_delivery_id,
                d.event,
                d.headers.to_string(),
                d.body,
                d.verdict,
                d.summary.to_string(),
                now()
            ],
        )?;
        let rows = crate::events::write_events(&tx, events, keep)?;
        tx.commit()?;
        Ok((id, rows))
    }

    /// Whether `vendor_delivery_id` was accepted for this trigger since `since` (RFC 3339).
    pub fn delivery_seen(
        &self,
        trigger_id: &str,
        vendor_delivery_id: &str,
        since: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.read().query_row(
            "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE trigger_id = ?1 AND vendor_delivery_id = ?2
             AND verdict = 'accepted' AND received_at >= ?3)",
            params![trigger_id, vendor_delivery_id, since],
            |r| r.get(0),
        )?)
    }

    /// A trigger's deliveries, newest first.
    pub fn deliveries(&self, trigger_id: &str, limit: u32) -> Result<Vec<DeliveryRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare(
            "SELECT id, trigger_id, vendor, vendor_delivery_id, event, headers, verdict, summary, received_at, body
             FROM webhook_deliveries WHERE trigger_id = ?1 ORDER BY received_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![trigger_id, limit], drow)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// One delivery.
    pub fn delivery(&self, id: &str) -> Result<DeliveryRow, StoreError> {
        self.read()
            .query_row(
                "SELECT id, trigger_id, vendor, vendor_delivery_id, event, headers, verdict, summary, received_at, body
                 FROM webhook_deliveries WHERE id = ?1",
                [id],
                drow,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "delivery", id: id.to_owned() })
    }
}

fn drow(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        trigger_id: r.get(1)?,
        vendor: r.get(2)?,
        vendor_delivery_id: r.get(3)?,
        event: r.get(4)?,
        headers: json_col(r.get(5)?),
        verdict: r.get(6)?,
        summary: json_col(r.get(7)?),
        received_at: r.get(8)?,
        body: r.get(9)?,
    })
}
