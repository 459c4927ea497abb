//! Outgoing notification endpoints (X1): list, add (global or for one workload), remove, their
//! delivery log, and the global signing secret. Secrets are accepted, sealed, never shown.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tinyforge_store::{EndpointRow, NotificationDeliveryRow};

use super::error::ErrorBody;
use super::{ApiError, ApiJson, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// `http(s)://…` receiving the POSTs.
    pub(crate) url: String,
    /// Only this workload's events (default: every workload).
    #[serde(default)]
    pub(crate) workload_id: Option<String>,
    /// The endpoint's own signing secret (default: the global one).
    #[serde(default)]
    pub(crate) secret: Option<String>,
    /// `json` (default) or `chat` (Slack/Discord-compatible `{text, content}`).
    #[serde(default = "json_format")]
    pub(crate) format: String,
    /// Kind prefixes to deliver, e.g. `["deploy."]` (default: every kind).
    #[serde(default)]
    pub(crate) kinds: Vec<String>,
}

fn json_format() -> String {
    "json".into()
}

#[utoipa::path(get, path = "/notifications", tag = "notifications", responses((status = 200, description = "Endpoints (URLs shown as their origin only)", body = [EndpointRow])))]
pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<EndpointRow>>, ApiError> {
    Ok(Json(st.control.store().endpoints()?))
}

#[utoipa::path(post, path = "/notifications", tag = "notifications", request_body = EndpointIn, responses((status = 201, description = "Added", body = EndpointRow), (status = 400, description = "Invalid; `field` names it", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(b): ApiJson<EndpointIn>,
) -> Result<(StatusCode, Json<EndpointRow>), ApiError> {
    if !(b.url.starts_with("http://") || b.url.starts_with("https://")) || b.url.contains(char::is_whitespace)
    {
        return Err(ApiError::bad("url", "an http:// or https:// URL"));
    }
    if b.format != "json" && b.format != "chat" {
        return Err(ApiError::bad("format", "`json` or `chat`"));
    }
    if b.secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(ApiError::bad("secret", "use at least 16 characters"));
    }
    if let Some(w) = &b.workload_id {
        st.control.store().workload(w).map_err(|_| ApiError::bad("workload_id", "no such workload"))?;
    }
    let row = st.control.store().insert_endpoint(
        b.workload_id.as_deref(),
        &b.url,
        b.secret.as_deref(),
        &b.format,
        &b.kinds,
    )?;
    Ok((StatusCode::CREATED, Json(row)))
}

#[utoipa::path(delete, path = "/notifications/{id}", tag = "notifications", params(("id" = String, Path, description = "Endpoint id")), responses((status = 204, description = "Removed"), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn delete(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().delete_endpoint(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/notifications/{id}/deliveries", tag = "notifications", params(("id" = String, Path, description = "Endpoint id")), responses((status = 200, description = "Its delivery log", body = [NotificationDeliveryRow])))]
pub async fn deliveries(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<NotificationDeliveryRow>>, ApiError> {
    Ok(Json(st.control.store().notification_deliveries(&id, 100)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretIn {
    /// The global signing secret; `null` removes it.
    pub(crate) secret: Option<String>,
}

#[utoipa::path(put, path = "/notifications/secret", tag = "notifications", request_body = SecretIn, responses((status = 204, description = "Set (or removed with `null`)"), (status = 400, description = "Too short", body = ErrorBody)))]
pub async fn set_secret(
    State(st): State<AppState>,
    ApiJson(b): ApiJson<SecretIn>,
) -> Result<StatusCode, ApiError> {
    if b.secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(ApiError::bad("secret", "use at least 16 characters"));
    }
    st.control.store().set_notify_secret(b.secret.as_deref())?;
    Ok(StatusCode::NO_CONTENT)
}
