//! The HTTP API (A1–A3, W6): JSON in and out, errors as `{error, detail, field}` with the right
//! 4xx, every route behind a Bearer token except `/healthz` and the webhook ingress.

pub(crate) mod deploys;
mod error;
mod events;
mod notifications;
pub(crate) mod triggers;
pub(crate) mod webhook;
pub(crate) mod workloads;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use std::sync::Arc;
use tinyforge_control::Control;
use tinyforge_edge::Edge;
use tinyforge_engine::DockerEngine;

pub use error::{ApiError, ApiJson};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub control: Arc<Control>,
    pub engine: DockerEngine,
    pub edge: Edge,
    /// Largest webhook body accepted, in bytes.
    pub webhook_max_body: usize,
    /// Prometheus metrics (edge, events).
    pub metrics: Arc<prometheus_client::registry::Registry>,
    /// Recently deployed tags (a tag's push + create pair deploys once).
    pub recent_tags: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    /// The one-time token that sets the admin password, until it is used.
    pub setup_token: Arc<std::sync::Mutex<Option<String>>>,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// The edge's public HTTP and HTTPS ports (for links to faces).
    pub edge_ports: (u16, u16),
}

/// Who is calling (the API token's name).
#[derive(Debug, Clone)]
pub struct Actor(pub String);

async fn require_token(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let name = match token {
        Some(t) if !t.is_empty() => st.control.store().token_name(t)?,
        // The web UI's scripts read the API with the session cookie; anything but a read must
        // also carry the session's CSRF token.
        _ => match crate::ui::session_of(&st, req.headers())? {
            Some(s) if req.method().is_safe() || csrf_header_matches(req.headers(), &s.csrf) => {
                Some("admin (web)".to_owned())
            }
            _ => None,
        },
    };
    let Some(name) = name else {
        return Err(ApiError::unauthorized());
    };
    req.extensions_mut().insert(Actor(name));
    Ok(next.run(req).await)
}

fn csrf_header_matches(headers: &axum::http::HeaderMap, csrf: &str) -> bool {
    use subtle::ConstantTimeEq;
    headers.get("x-csrf-token").is_some_and(|v| bool::from(v.as_bytes().ct_eq(csrf.as_bytes())))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Every route.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/workloads", get(workloads::list).post(workloads::create))
        .route("/workloads/source-kinds", get(events::source_kinds))
        .route("/workloads/trigger-kinds", get(events::trigger_kinds))
        .route("/workloads/{id}", get(workloads::get_one).put(workloads::update).delete(workloads::delete))
        .route("/workloads/{id}/deploy", post(deploys::deploy))
        .route("/workloads/{id}/deployments", get(deploys::history))
        .route("/workloads/{id}/rollback", post(deploys::rollback))
        .route("/workloads/{id}/logs", get(deploys::logs))
        .route("/triggers", get(triggers::list).post(triggers::create))
        .route("/triggers/{id}", get(triggers::get_one).put(triggers::update).delete(triggers::delete))
        .route("/triggers/{id}/deliveries", get(webhook::deliveries))
        .route("/triggers/{id}/deliveries/{delivery}/replay", post(webhook::replay))
        .route("/bindings", get(triggers::bindings).post(triggers::bind))
        .route("/bindings/{id}", axum::routing::put(triggers::update_binding).delete(triggers::unbind))
        .route("/events", get(events::stream))
        .route("/events/recent", get(events::recent))
        .route("/routes", get(events::routes))
        .route("/reconcile", post(events::reconcile_now))
        .route("/metrics", get(events::metrics))
        .route("/notifications", get(notifications::list).post(notifications::create))
        .route("/notifications/secret", axum::routing::put(notifications::set_secret))
        .route("/notifications/{id}", axum::routing::delete(notifications::delete))
        .route("/notifications/{id}/deliveries", get(notifications::deliveries))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let ingress = Router::new()
        .route("/api/webhook/triggers/{secret}", post(webhook::receive))
        .layer(axum::extract::DefaultBodyLimit::max(state.webhook_max_body));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(ingress)
        .nest("/api", api)
        .merge(crate::ui::router())
        .fallback(|| async { ApiError::not_found("route") })
        .with_state(state)
}
