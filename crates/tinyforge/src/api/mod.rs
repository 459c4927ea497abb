//! The HTTP API (A1–A3, W6): JSON in and out, errors as `{error, detail, field}` with the right
//! 4xx, every route behind a Bearer token except `/healthz` and the webhook ingress.

pub(crate) mod deploys;
mod error;
mod events;
pub(crate) mod notifications;
pub(crate) mod triggers;
pub(crate) mod webhook;
pub(crate) mod workloads;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
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
                Some(crate::ui::WEB_ACTOR.to_owned())
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

/// Liveness: answers while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, description = "`ok`", body = String)))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The OpenAPI document, built once from the same registrations as the router.
static OPENAPI: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "This document", body = Object)))]
pub async fn openapi() -> Response {
    use axum::response::IntoResponse;
    let doc = OPENAPI.get().cloned().unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "application/json")], doc).into_response()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "tinyforge", description = "Self-hosted deploy platform: workloads, triggers, webhooks, deploys, events. Every route but the webhook ingress and `/healthz` needs `Authorization: Bearer <token>`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API token (`tf_…`)"))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every API route, each registered with its OpenAPI description (so none can be missing from
/// the document), and the document.
pub fn api_routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    let api = OpenApiRouter::new()
        .routes(routes!(workloads::list, workloads::create))
        .routes(routes!(events::source_kinds))
        .routes(routes!(events::trigger_kinds))
        .routes(routes!(workloads::get_one, workloads::update, workloads::delete))
        .routes(routes!(deploys::deploy))
        .routes(routes!(deploys::history))
        .routes(routes!(deploys::rollback))
        .routes(routes!(deploys::logs))
        .routes(routes!(triggers::list, triggers::create))
        .routes(routes!(triggers::get_one, triggers::update, triggers::delete))
        .routes(routes!(webhook::deliveries))
        .routes(routes!(webhook::replay))
        .routes(routes!(triggers::bindings, triggers::bind))
        .routes(routes!(triggers::update_binding, triggers::unbind))
        .routes(routes!(events::stream))
        .routes(routes!(events::recent))
        .routes(routes!(events::routes))
        .routes(routes!(events::reconcile_now))
        .routes(routes!(events::metrics))
        .routes(routes!(notifications::list, notifications::create))
        .routes(routes!(notifications::set_secret))
        .routes(routes!(notifications::delete))
        .routes(routes!(notifications::deliveries))
        .routes(routes!(openapi))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let ingress = OpenApiRouter::new()
        .routes(routes!(webhook::receive))
        .layer(axum::extract::DefaultBodyLimit::max(state.webhook_max_body));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .merge(ingress)
        .nest("/api", api)
        .split_for_parts()
}

/// Every route: the API and the web UI.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes(&state);
    let _ = OPENAPI.set(doc.to_pretty_json().unwrap_or_default());
    api.merge(crate::ui::router()).fallback(|| async { ApiError::not_found("route") }).with_state(state)
}
