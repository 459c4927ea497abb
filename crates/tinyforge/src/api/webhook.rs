//! The webhook ingress route (W1–W5): `POST /api/webhook/triggers/{secret}`. The URL secret finds
//! the trigger (by hash); the body is decoded and, when the trigger has a signing secret, verified
//! before anything else happens; duplicates of a vendor delivery id answer 200 "duplicate"; events
//! are fanned out over the trigger's bindings and queued. Every delivery is recorded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tinyforge_ingress::{Parsed, decode, normalise, verify};
use tinyforge_plugin::InboundEvent;
use tinyforge_plugin::ports::Event;
use tinyforge_store::{DeliveryRow, NewDelivery, TriggerRow};

use super::deploys::WaitQuery;
use super::error::ErrorBody;
use super::{ApiError, AppState};

/// Bytes of a delivery's body kept in the log.
const STORED_BODY: usize = 64 * 1024;
/// A vendor delivery id seen within this window is a duplicate.
const DUPLICATE_WINDOW_HOURS: i64 = 24;
/// A tag's push and create deliveries within this window deploy once.
const TAG_PAIR_WINDOW: Duration = Duration::from_secs(600);
/// How long `?wait=true` may hold the answer.
const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// Headers worth keeping, without credentials.
fn loggable(h: &HeaderMap) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in h {
        if matches!(k.as_str(), "authorization" | "x-gitlab-token" | "cookie" | "proxy-authorization") {
            continue;
        }
        m.insert(k.as_str().to_owned(), Value::from(v.to_str().unwrap_or("<binary>")));
    }
    Value::Object(m)
}

struct Outcome {
    status: StatusCode,
    verdict: &'static str,
    vendor: &'static str,
    vendor_delivery_id: Option<String>,
    event: Option<String>,
    summary: Value,
    /// What to announce, stored with the delivery row in one commit.
    events: Vec<Event>,
}

/// An event about a delivery (no workload).
fn note(kind: &str, message: String, data: Value) -> Event {
    Event { kind: kind.to_owned(), workload_id: None, message, data }
}

impl Outcome {
    fn early(status: StatusCode, verdict: &'static str, vendor: &'static str, summary: Value) -> Self {
        Self { status, verdict, vendor, vendor_delivery_id: None, event: None, summary, events: Vec::new() }
    }

    fn with(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }
}

#[utoipa::path(post, path = "/api/webhook/triggers/{secret}", tag = "webhooks", security(()), params(("secret" = String, Path, description = "The trigger’s URL secret"), WaitQuery), request_body(content = Object, description = "A vendor’s delivery, raw (JSON or form-encoded); signatures are verified over these bytes"), responses((status = 202, description = "Accepted: what it queued", body = Object), (status = 200, description = "Ignored, duplicate, or with `wait=true` finished", body = Object), (status = 401, description = "Signature or token did not verify", body = ErrorBody), (status = 404, description = "No trigger has this URL", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody)))]
pub async fn receive(
    State(st): State<AppState>,
    Path(secret): Path<String>,
    Query(q): Query<WaitQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return ApiError::new(e.status(), "body_rejected", e.body_text()).into_response(),
    };
    let found = match st.control.store().trigger_by_url_secret(&secret) {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some((trigger, signing)) = found else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no trigger has this URL").into_response();
    };
    let out = process(&st, &trigger, signing.as_deref(), &headers, &body, q.wait, None).await;
    respond(&st, &trigger, &headers, &body, out)
}

fn respond(
    st: &AppState,
    trigger: &TriggerRow,
    headers: &HeaderMap,
    body: &[u8],
    mut out: Outcome,
) -> Response {
    let stored = &body[..body.len().min(STORED_BODY)];
    let bus = st.control.events();
    let written = st.control.store().insert_delivery_with_events(
        &NewDelivery {
            trigger_id: &trigger.id,
            vendor: out.vendor,
            vendor_delivery_id: out.vendor_delivery_id.as_deref(),
            event: out.event.as_deref(),
            headers: &loggable(headers),
            body: stored,
            verdict: out.verdict,
            summary: &out.summary,
        },
        &out.events,
        bus.keep(),
    );
    match written {
        Ok((id, events)) => {
            out.summary["delivery_id"] = id.into();
            bus.announce(events);
        }
        Err(e) => tracing::error!(error = %e, "could not record a webhook delivery"),
    }
    (out.status, Json(out.summary)).into_response()
}

async fn process(
    st: &AppState,
    trigger: &TriggerRow,
    signing: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    wait: bool,
    replay_of: Option<&str>,
) -> Outcome {
    let decoded = match decode(headers, body) {
        Ok(d) => d,
        // A trigger that requires signatures answers nothing else to an unreadable delivery.
        Err(_) if signing.is_some() => {
            let summary = json!({"error": "bad_signature", "detail": "missing signature: this trigger requires signed deliveries"});
            return Outcome::early(StatusCode::UNAUTHORIZED, "rejected", "unknown", summary);
        }
        Err(e) => {
            return Outcome::early(
                StatusCode::BAD_REQUEST,
                "invalid",
                "unknown",
                json!({"error": "invalid_body", "detail": e.0}),
            );
        }
    };
    let vendor = decoded.vendor.name();
    if let Some(secret) = signing
        && let Err(e) = verify(&decoded, headers, body, secret, chrono::Utc::now().timestamp())
    {
        return Outcome::early(
            StatusCode::UNAUTHORIZED,
            "rejected",
            vendor,
            json!({"error": "bad_signature", "detail": e.to_string()}),
        )
        .with(note(
            "webhook.rejected",
            format!("trigger {}: {vendor} delivery rejected: {e}", trigger.name),
            json!({"trigger_id": trigger.id, "vendor": vendor}),
        ));
    }
    let base = |status, verdict, summary| Outcome {
        status,
        verdict,
        vendor,
        vendor_delivery_id: decoded.delivery_id.clone(),
        event: decoded.event.clone(),
        summary,
        events: Vec::new(),
    };
    if replay_of.is_none()
        && let Some(vid) = &decoded.delivery_id
    {
        let since = (chrono::Utc::now() - chrono::Duration::hours(DUPLICATE_WINDOW_HOURS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if st.control.store().delivery_seen(&trigger.id, vid, &since).unwrap_or(false) {
            return base(
                StatusCode::OK,
                "duplicate",
                json!({"duplicate": true, "queued": 0, "detail": "this delivery id was already handled"}),
            )
            .with(note(
                "webhook.duplicate",
                format!("trigger {}: duplicate {vendor} delivery {vid}", trigger.name),
                json!({"trigger_id": trigger.id}),
            ));
        }
    }
    let parsed = match normalise(&decoded) {
        Ok(p) => p,
        Err(e) => {
            return base(
                StatusCode::BAD_REQUEST,
                "invalid",
                json!({"error": "invalid_payload", "detail": e.0}),
            );
        }
    };
    let evs = match parsed {
        Parsed::Ping => {
            return base(StatusCode::OK, "ignored", json!({"event": {"kind": "ping"}, "queued": 0}));
        }
        Parsed::Ignore(reason) => {
            return base(StatusCode::OK, "ignored", json!({"ignored": reason, "queued": 0}));
        }
        Parsed::Events(evs) => evs,
    };
    let mut queued = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for ev in &evs {
        if is_repeated_tag(st, trigger, ev) {
            *skipped.entry("tag_already_handled".into()).or_default() += 1;
            continue;
        }
        match st.control.fan_out(trigger, ev).await {
            Ok(s) => {
                queued.extend(s.queued);
                for (k, n) in s.skipped {
                    *skipped.entry(k).or_default() += n;
                }
                errors.extend(s.errors.into_iter().map(|e| json!(e)));
            }
            Err(e) => errors.push(json!({"error": e.to_string()})),
        }
    }
    let received = note(
        "webhook.received",
        format!("trigger {}: {vendor} {} → {} queued", trigger.name, evs[0].kind(), queued.len()),
        json!({"trigger_id": trigger.id, "vendor": vendor, "queued": queued.len()}),
    );
    let mut summary = json!({
        "event": evs[0], "events": evs, "queued": queued.len(), "deployments": queued,
        "skipped": skipped, "errors": errors,
    });
    if let Some(r) = replay_of {
        summary["replay_of"] = r.into();
    }
    if wait {
        let mut outcomes = Vec::new();
        for id in summary["deployments"].as_array().cloned().unwrap_or_default() {
            let id = id.as_str().unwrap_or_default();
            if let Ok(d) = st.control.wait_for(id, WAIT_LIMIT).await {
                outcomes.push(json!({"deployment_id": d.id, "workload_id": d.workload_id, "status": d.status, "version": d.version, "error": d.error}));
            }
        }
        summary["outcomes"] = outcomes.into();
    }
    base(StatusCode::OK, "accepted", summary).with(received)
}

/// GitHub and Gitea send a tag both as `push` and as `create`: the second within the window is
/// not deployed again.
fn is_repeated_tag(st: &AppState, trigger: &TriggerRow, ev: &InboundEvent) -> bool {
    let InboundEvent::GitTag(t) = ev else { return false };
    let key = format!("{}:{}:{}", trigger.id, t.repository.to_ascii_lowercase(), t.tag);
    let mut seen = st.recent_tags.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    seen.retain(|_, at| now.duration_since(*at) < TAG_PAIR_WINDOW);
    seen.insert(key, now).is_some()
}

#[utoipa::path(get, path = "/triggers/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "Trigger id")), responses((status = 200, description = "Recent deliveries with verdicts", body = [DeliveryRow]), (status = 404, description = "No such trigger", body = ErrorBody)))]
pub async fn deliveries(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryRow>>, ApiError> {
    st.control.store().trigger(&id)?;
    Ok(Json(st.control.store().deliveries(&id, 100)?))
}

/// Runs a recorded delivery again (signature and duplicate checks are not repeated: it was
/// recorded as received).
#[utoipa::path(post, path = "/triggers/{id}/deliveries/{delivery}/replay", tag = "webhooks", params(("id" = String, Path, description = "Trigger id"), ("delivery" = String, Path, description = "Delivery id"), WaitQuery), responses((status = 202, description = "Processed again", body = Object), (status = 404, description = "No such delivery", body = ErrorBody)))]
pub async fn replay(
    State(st): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    Query(q): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    let trigger = st.control.store().trigger(&id)?;
    let d = st.control.store().delivery(&delivery)?;
    if d.trigger_id != trigger.id {
        return Err(ApiError::not_found("delivery"));
    }
    let mut headers = HeaderMap::new();
    for (k, v) in d.headers.as_object().into_iter().flatten() {
        if let (Ok(k), Some(Ok(v))) =
            (HeaderName::from_bytes(k.as_bytes()), v.as_str().map(HeaderValue::from_str))
        {
            headers.insert(k, v);
        }
    }
    let out = process(&st, &trigger, None, &headers, &d.body, q.wait, Some(&d.id)).await;
    Ok(respond(&st, &trigger, &headers, &d.body, out))
}
