//! Outgoing notification endpoints (global or per workload, secrets sealed), their delivery log,
//! and the global notification secret.

use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

use crate::{Store, StoreError, json_col, new_id, now};

/// An endpoint as answers show it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EndpointRow {
    /// Id.
    pub id: String,
    /// `None`: events of every workload.
    pub workload_id: Option<String>,
    /// Where deliveries are POSTed, shown as scheme + host only: webhook URLs (Slack, Discord)
    /// carry their credential in the path, so the full URL is sealed and never answered.
    pub url: String,
    /// Whether the endpoint has its own secret.
    pub has_secret: bool,
    /// `json` (tinyforge's payload) or `chat` (Slack/Discord-compatible).
    pub format: String,
    /// Kind prefixes delivered (`deploy.`); empty = every kind.
    pub kinds: Vec<String>,
    /// Created.
    pub created_at: String,
}

/// One delivery attempt series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationDeliveryRow {
    /// Id.
    pub id: String,
    /// Endpoint.
    pub endpoint_id: String,
    /// The event's sequence number.
    pub event_seq: i64,
    /// `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Last status code or error.
    pub response: Option<String>,
    /// When it ended.
    pub at: String,
}

const GLOBAL_SECRET: &str = "notify_secret";

/// `https://host:port/…` for display.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}/…")
}

fn erow(r: &rusqlite::Row<'_>) -> rusqlite::Result<(EndpointRow, String, Option<String>)> {
    let kinds: Value = json_col(r.get(5)?);
    Ok((
        EndpointRow {
            id: r.get(0)?,
            workload_id: r.get(1)?,
            url: String::new(),
            has_secret: r.get::<_, Option<String>>(3)?.is_some(),
            format: r.get(4)?,
            kinds: kinds
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
            created_at: r.get(6)?,
        },
        r.get(2)?,
        r.get(3)?,
    ))
}

impl Store {
    /// Adds an endpoint; `secret` is sealed.
    pub fn insert_endpoint(
        &self,
        workload_id: Option<&str>,
        url: &str,
        secret: Option<&str>,
        format: &str,
        kinds: &[String],
    ) -> Result<EndpointRow, StoreError> {
        let id = new_id();
        let sealed = secret.map(|s| self.sealer.seal(s));
        let sealed_url = self.sealer.seal(url);
        self.db().execute(
            "INSERT INTO notification_endpoints (id, workload_id, url, secret, format, kinds, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                workload_id,
                sealed_url,
                sealed,
                format,
                serde_json::to_string(kinds).unwrap_or_default(),
                now()
            ],
        )?;
        Ok(self.endpoints()?.into_iter().find(|e| e.id == id).expect("just inserted"))
    }

    /// Every endpoint.
    pub fn endpoints(&self) -> Result<Vec<EndpointRow>, StoreError> {
        Ok(self.endpoints_with_secrets()?.into_iter().map(|(e, _, _)| e).collect())
    }

    /// Every endpoint with its full URL and opened secret (for the notifier only).
    pub fn endpoints_with_secrets(&self) -> Result<Vec<(EndpointRow, String, Option<String>)>, StoreError> {
        let rows: Vec<(EndpointRow, String, Option<String>)> = {
            let db = self.read();
            let mut st = db.prepare_cached(
                "SELECT id, workload_id, url, secret, format, kinds, created_at FROM notification_endpoints ORDER BY created_at",
            )?;
            st.query_map([], erow)?.collect::<Result<_, _>>()?
        };
        rows.into_iter()
            .map(|(mut e, sealed_url, s)| {
                let url = self.sealer.open(&sealed_url)?;
                e.url = origin(&url);
                Ok((e, url, s.map(|s| self.sealer.open(&s)).transpose()?))
            })
            .collect()
    }

    /// Deletes an endpoint.
    pub fn delete_endpoint(&self, id: &str) -> Result<(), StoreError> {
        match self.db().execute("DELETE FROM notification_endpoints WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound { what: "notification endpoint", id: id.to_owned() }),
            _ => Ok(()),
        }
    }

    /// Sets (sealed) or clears the global notification secret.
    pub fn set_notify_secret(&self, secret: Option<&str>) -> Result<(), StoreError> {
        match secret {
            Some(s) => self.db().execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![GLOBAL_SECRET, self.sealer.seal(s)],
            )?,
            None => self.db().execute("DELETE FROM settings WHERE key = ?1", [GLOBAL_SECRET])?,
        };
        Ok(())
    }

    /// The global notification secret, opened.
    pub fn notify_secret(&self) -> Result<Option<String>, StoreError> {
        let v: Option<String> = self
            .read()
            .query_row("SELECT value FROM settings WHERE key = ?1", [GLOBAL_SECRET], |r| r.get(0))
            .ok();
        v.map(|s| self.sealer.open(&s)).transpose()
    }

    /// Records how a delivery ended.
    pub fn record_notification(
        &self,
        endpoint_id: &str,
        event_seq: i64,
        status: &str,
        attempts: u32,
        response: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO notification_deliveries (id, endpoint_id, event_seq, status, attempts, response, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![new_id(), endpoint_id, event_seq, status, attempts, response, now()],
        )?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub fn notification_deliveries(
        &self,
        endpoint_id: &str,
        limit: u32,
    ) -> Result<Vec<NotificationDeliveryRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare(
            "SELECT id, endpoint_id, event_seq, status, attempts, response, at FROM notification_deliveries
             WHERE endpoint_id = ?1 ORDER BY at DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![endpoint_id, limit], |r| {
                Ok(NotificationDeliveryRow {
                    id: r.get(0)?,
                    endpoint_id: r.get(1)?,
                    event_seq: r.get(2)?,
                    status: r.get(3)?,
                    attempts: r.get(4)?,
                    response: r.get(5)?,
                    at: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
