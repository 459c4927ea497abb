//! Kinds listing (A2), the live events stream (SSE, filterable), the route table, and an
//! on-demand reconcile pass.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tinyforge_control::PassReport;
use tinyforge_plugin::KindInfo;
use tinyforge_store::EventRow;

use super::{ApiError, AppState};

#[utoipa::path(get, path = "/workloads/source-kinds", tag = "workloads", responses((status = 200, description = "Source kinds with their config schema and a sample", body = [KindInfo])))]
pub async fn source_kinds(State(st): State<AppState>) -> Json<Vec<KindInfo>> {
    Json(st.control.registry().source_kinds())
}

#[utoipa::path(get, path = "/workloads/trigger-kinds", tag = "triggers", responses((status = 200, description = "Trigger kinds with their config schema and a sample", body = [KindInfo])))]
pub async fn trigger_kinds(State(st): State<AppState>) -> Json<Vec<KindInfo>> {
    Json(st.control.registry().trigger_kinds())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only this workload's events.
    workload_id: Option<String>,
    /// Only kinds starting with this (`deploy.`).
    kind: Option<String>,
    /// Replay stored events after this sequence number first.
    after: Option<i64>,
    /// Send events unnamed (`message`), for a browser's `EventSource.onmessage`.
    #[serde(default)]
    plain: bool,
}

fn wanted(f: &EventFilter, e: &EventRow) -> bool {
    f.workload_id.as_ref().is_none_or(|w| e.workload_id.as_ref() == Some(w))
        && f.kind.as_ref().is_none_or(|k| e.kind.starts_with(k.as_str()))
}

fn sse(e: &EventRow, plain: bool) -> Event {
    let ev = Event::default().id(e.seq.to_string()).data(serde_json::to_string(e).unwrap_or_default());
    if plain { ev } else { ev.event(e.kind.clone()) }
}

#[utoipa::path(get, path = "/events", tag = "events", params(EventFilter), responses((status = 200, description = "Server-sent events, one per event (id = seq, data = the event)", content_type = "text/event-stream", body = EventRow)))]
pub async fn stream(
    State(st): State<AppState>,
    Query(f): Query<EventFilter>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut live = st.control.events().subscribe();
    let replay = match f.after {
        Some(after) => st.control.store().events(after, f.workload_id.as_deref(), 1000)?,
        None => Vec::new(),
    };
    let mut last = replay.last().map_or(f.after.unwrap_or(0), |e| e.seq);
    let s = async_stream(move |tx| async move {
        for e in replay.iter().filter(|e| wanted(&f, e)) {
            if tx.send(sse(e, f.plain)).await.is_err() {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(e) if e.seq > last && wanted(&f, &e) => {
                    last = e.seq;
                    if tx.send(sse(&e, f.plain)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::default()))
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)))
}

#[utoipa::path(get, path = "/routes", tag = "system", responses((status = 200, description = "The edge’s route table", body = [Object])))]
pub async fn routes(State(st): State<AppState>) -> Json<Vec<Value>> {
    Json(
        st.edge
            .all_routes()
            .into_iter()
            .map(|(owner, r)| json!({"workload_id": owner, "route": r}))
            .collect(),
    )
}

#[utoipa::path(post, path = "/reconcile", tag = "system", responses((status = 200, description = "A full reconcile pass, run now", body = PassReport)))]
pub async fn reconcile_now(State(st): State<AppState>) -> Result<Json<PassReport>, ApiError> {
    Ok(Json(st.control.reconcile_all().await?))
}

/// Prometheus text format (OpenMetrics).
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(st): State<AppState>) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &st.metrics).map_err(|e| {
        ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentQuery {
    /// Only this workload's events.
    workload_id: Option<String>,
    /// Events after this sequence number.
    #[serde(default)]
    after: i64,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// Stored events as a JSON list, oldest first (the SSE stream's history).
#[utoipa::path(get, path = "/events/recent", tag = "events", params(RecentQuery), responses((status = 200, description = "Stored events, oldest first", body = [EventRow])))]
pub async fn recent(
    State(st): State<AppState>,
    Query(q): Query<RecentQuery>,
) -> Result<Json<Vec<EventRow>>, ApiError> {
    let limit = q.limit.unwrap_or(100).min(1000);
    Ok(Json(st.control.store().events(q.after, q.workload_id.as_deref(), limit)?))
}
