//! Webhook ingress (W2, W3): which vendor sent a delivery (in the order of WEBHOOK-FORMATS.md §0),
//! whether its signature holds (each vendor's exact scheme, constant-time), and what it means as
//! [`InboundEvent`]s — or why it deploys nothing (ping, pull, delete, untagged child, …).
//! One module per vendor under `vendors/`. Nothing here panics on any input.

mod detect;
mod form;
mod vendors;
mod verify;

use http::HeaderMap;
use serde_json::Value;
use tinyforge_plugin::InboundEvent;

pub use detect::{Vendor, detect};
pub use verify::{SignatureError, sign_hex, verify};

/// What a delivery means.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Deploy-relevant events (a registry envelope may hold several).
    Events(Vec<InboundEvent>),
    /// The vendor's "hello" when a hook is created.
    Ping,
    /// Understood, deploys nothing; the reason goes into the answer.
    Ignore(String),
}

/// A delivery that cannot be understood (400 with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// A decoded delivery.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Who sent it.
    pub vendor: Vendor,
    /// The vendor's event name (`push`, `Tag Push Hook`, `PUSH_ARTIFACT`, …), when it says one.
    pub event: Option<String>,
    /// The vendor's delivery id, for duplicate detection.
    pub delivery_id: Option<String>,
    /// The JSON payload (form bodies decoded).
    pub payload: Value,
    /// The bytes the JSON payload was parsed from (Gitea signs these, not the form body).
    pub payload_bytes: Vec<u8>,
}

pub(crate) fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Decodes the body (JSON, or `payload=` form) and detects the vendor.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Decoded, ParseError> {
    let payload_bytes = form::payload_bytes(headers, body)?;
    let payload: Value = serde_json::from_slice(&payload_bytes).map_err(|e| {
        ParseError(format!("the body is not JSON (line {}, column {}): {e}", e.line(), e.column()))
    })?;
    let vendor = detect(headers, &payload);
    let event = vendor.event_header().and_then(|h| header(headers, h)).map(str::to_owned);
    let delivery_id = [
        "x-github-delivery",
        "x-gitea-delivery",
        "x-gogs-delivery",
        "x-request-uuid",
        "webhook-id",
        "idempotency-key",
        "x-gitlab-event-uuid",
    ]
    .iter()
    .find_map(|h| header(headers, h))
    .map(str::to_owned)
    .or_else(|| vendor.body_delivery_id(&payload));
    Ok(Decoded { vendor, event, delivery_id, payload, payload_bytes })
}

/// What the decoded delivery means.
pub fn normalise(d: &Decoded) -> Result<Parsed, ParseError> {
    vendors::normalise(d)
}
