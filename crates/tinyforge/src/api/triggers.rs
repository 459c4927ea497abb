//! Triggers and bindings (A3). A trigger's URL secret is shown once, at creation; only its hash is
//! kept. Binding configs are validated merged over their trigger's config.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tinyforge_control::{keep_redacted, open_config, redact_config, seal_config};
use tinyforge_plugin::merge_config;
use tinyforge_store::{BindingRow, TriggerRow, new_secret};

use super::error::ErrorBody;
use super::{ApiError, ApiJson, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerIn {
    pub(crate) name: String,
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) config: Value,
    #[serde(default)]
    pub(crate) signing_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedTrigger {
    #[serde(flatten)]
    pub(crate) trigger: TriggerRow,
    pub(crate) webhook_url: String,
    pub(crate) secret: String,
}

fn validate(st: &AppState, kind: &str, config: &Value, prefix: &str) -> Result<(), ApiError> {
    let t = st.control.registry().trigger(kind).map_err(|e| ApiError::bad("kind", e.to_string()))?;
    t.validate(config).map_err(|e| ApiError::config(prefix, e))
}

/// A trigger kind's config schema (for sealing, opening and redacting its secret fields).
fn schema(st: &AppState, kind: &str) -> Value {
    st.control.registry().trigger(kind).map(|t| t.schema()).unwrap_or(Value::Null)
}

/// A trigger as answers show it: secret fields of its config redacted.
pub(crate) fn shown(st: &AppState, mut t: TriggerRow) -> TriggerRow {
    t.config = redact_config(&schema(st, &t.kind), &t.config);
    t
}

/// A binding as answers show it: secret fields of its override redacted.
pub(crate) fn shown_binding(st: &AppState, mut b: BindingRow) -> Result<BindingRow, ApiError> {
    let kind = st.control.store().trigger(&b.trigger_id)?.kind;
    b.binding_config = redact_config(&schema(st, &kind), &b.binding_config);
    Ok(b)
}

/// `config` validated for `kind` with its secret fields sealed; a field sent back redacted keeps
/// the value in `stored`.
fn sealed(
    st: &AppState,
    kind: &str,
    config: &Value,
    stored: Option<&Value>,
    prefix: &str,
) -> Result<Value, ApiError> {
    let schema = schema(st, kind);
    let sealer = st.control.store().sealer();
    let config = match stored {
        Some(old) => open_config(&schema, &keep_redacted(&schema, config, old), sealer)?,
        None => config.clone(),
    };
    validate(st, kind, &config, prefix)?;
    Ok(seal_config(&schema, &config, sealer))
}

fn or_empty(v: Value) -> Value {
    if v.is_null() { Value::Object(Default::default()) } else { v }
}

#[utoipa::path(get, path = "/triggers", tag = "triggers", responses((status = 200, description = "Every trigger", body = [TriggerRow])))]
pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<TriggerRow>>, ApiError> {
    Ok(Json(st.control.store().triggers()?.into_iter().map(|t| shown(&st, t)).collect()))
}

#[utoipa::path(post, path = "/triggers", tag = "triggers", request_body = TriggerIn, responses((status = 201, description = "Created; `webhook_url` and `secret` are shown only now", body = CreatedTrigger), (status = 400, description = "Invalid; `field` names it", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<TriggerIn>,
) -> Result<(StatusCode, Json<CreatedTrigger>), ApiError> {
    if body.name.trim().is_empty() {
        return Err(ApiError::bad("name", "a trigger needs a name"));
    }
    let config = sealed(&st, &body.kind, &or_empty(body.config), None, "config")?;
    if body.signing_secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(ApiError::bad("signing_secret", "use at least 16 characters"));
    }
    let secret = new_secret();
    let trigger = st.control.store().insert_trigger(
        &body.name,
        &body.kind,
        &config,
        &secret,
        body.signing_secret.as_deref(),
    )?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTrigger {
            trigger: shown(&st, trigger),
            webhook_url: format!("/api/webhook/triggers/{secret}"),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "Trigger id")), responses((status = 200, description = "The trigger", body = TriggerRow), (status = 404, description = "No such trigger", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TriggerRow>, ApiError> {
    Ok(Json(shown(&st, st.control.store().trigger(&id)?)))
}

#[utoipa::path(put, path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "Trigger id")), request_body = TriggerIn, responses((status = 200, description = "Updated", body = TriggerRow), (status = 400, description = "Invalid", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TriggerIn>,
) -> Result<Json<TriggerRow>, ApiError> {
    let old = st.control.store().trigger(&id)?;
    if body.kind != old.kind {
        return Err(ApiError::bad("kind", "a trigger's kind cannot change"));
    }
    let config = sealed(&st, &old.kind, &or_empty(body.config), Some(&old.config), "config")?;
    Ok(Json(shown(&st, st.control.store().update_trigger(&id, &body.name, &config)?)))
}

#[utoipa::path(delete, path = "/triggers/{id}", tag = "triggers", params(("id" = String, Path, description = "Trigger id")), responses((status = 204, description = "Deleted with its bindings"), (status = 404, description = "No such trigger", body = ErrorBody)))]
pub async fn delete(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().delete_trigger(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BindingFilter {
    workload_id: Option<String>,
    trigger_id: Option<String>,
}

#[utoipa::path(get, path = "/bindings", tag = "triggers", params(BindingFilter), responses((status = 200, description = "Bindings", body = [BindingRow])))]
pub async fn bindings(
    State(st): State<AppState>,
    Query(f): Query<BindingFilter>,
) -> Result<Json<Vec<BindingRow>>, ApiError> {
    let rows = st.control.store().bindings(f.workload_id.as_deref(), f.trigger_id.as_deref())?;
    Ok(Json(rows.into_iter().map(|b| shown_binding(&st, b)).collect::<Result<_, _>>()?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingIn {
    pub(crate) workload_id: String,
    pub(crate) trigger_id: String,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) binding_config: Value,
}

fn yes() -> bool {
    true
}

/// A binding's override, validated merged over its trigger's config, secret fields sealed (a
/// field sent back redacted keeps the value in `stored`).
fn check_binding(
    st: &AppState,
    trigger_id: &str,
    binding_config: &Value,
    stored: Option<&Value>,
) -> Result<Value, ApiError> {
    let t =
        st.control.store().trigger(trigger_id).map_err(|_| ApiError::bad("trigger_id", "no such trigger"))?;
    let (schema, sealer) = (schema(st, &t.kind), st.control.store().sealer());
    let mut config = or_empty(binding_config.clone());
    if let Some(old) = stored {
        config = open_config(&schema, &keep_redacted(&schema, &config, old), sealer)?;
    }
    let merged =
        merge_config(&t.config, &config).map_err(|e| ApiError::bad("binding_config", e.to_string()))?;
    validate(st, &t.kind, &merged, "binding_config")?;
    Ok(seal_config(&schema, &config, sealer))
}

#[utoipa::path(post, path = "/bindings", tag = "triggers", request_body = BindingIn, responses((status = 201, description = "Bound", body = BindingRow), (status = 400, description = "Invalid; `field` names it", body = ErrorBody), (status = 409, description = "Already bound", body = ErrorBody)))]
pub async fn bind(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<BindingIn>,
) -> Result<(StatusCode, Json<BindingRow>), ApiError> {
    st.control
        .store()
        .workload(&body.workload_id)
        .map_err(|_| ApiError::bad("workload_id", "no such workload"))?;
    let config = check_binding(&st, &body.trigger_id, &body.binding_config, None)?;
    let row =
        st.control.store().insert_binding(&body.workload_id, &body.trigger_id, body.enabled, &config)?;
    Ok((StatusCode::CREATED, Json(shown_binding(&st, row)?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingUpdate {
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) binding_config: Value,
}

#[utoipa::path(put, path = "/bindings/{id}", tag = "triggers", params(("id" = String, Path, description = "Binding id")), request_body = BindingUpdate, responses((status = 200, description = "Updated", body = BindingRow), (status = 400, description = "Invalid", body = ErrorBody)))]
pub async fn update_binding(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BindingUpdate>,
) -> Result<Json<BindingRow>, ApiError> {
    let old = st.control.store().binding(&id)?;
    let config = check_binding(&st, &old.trigger_id, &body.binding_config, Some(&old.binding_config))?;
    Ok(Json(shown_binding(&st, st.control.store().update_binding(&id, body.enabled, &config)?)?))
}

#[utoipa::path(delete, path = "/bindings/{id}", tag = "triggers", params(("id" = String, Path, description = "Binding id")), responses((status = 204, description = "Unbound"), (status = 404, description = "No such binding", body = ErrorBody)))]
pub async fn unbind(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().delete_binding(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
