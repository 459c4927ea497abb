//! Triggers and bindings (A3). A trigger's URL secret is shown once, at creation; only its hash is
//! kept. Binding configs are validated merged over their trigger's config.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tinyforge_plugin::merge_config;
use tinyforge_store::{BindingRow, TriggerRow, new_secret};

use super::{ApiError, ApiJson, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerIn {
    pub(crate) name: String,
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) config: Value,
    #[serde(default)]
    pub(crate) signing_secret: Option<String>,
}

#[derive(Debug, Serialize)]
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

fn or_empty(v: Value) -> Value {
    if v.is_null() { Value::Object(Default::default()) } else { v }
}

pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<TriggerRow>>, ApiError> {
    Ok(Json(st.control.store().triggers()?))
}

pub async fn create(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<TriggerIn>,
) -> Result<(StatusCode, Json<CreatedTrigger>), ApiError> {
    if body.name.trim().is_empty() {
        return Err(ApiError::bad("name", "a trigger needs a name"));
    }
    let config = or_empty(body.config);
    validate(&st, &body.kind, &config, "config")?;
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
        Json(CreatedTrigger { trigger, webhook_url: format!("/api/webhook/triggers/{secret}"), secret }),
    ))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TriggerRow>, ApiError> {
    Ok(Json(st.control.store().trigger(&id)?))
}

pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TriggerIn>,
) -> Result<Json<TriggerRow>, ApiError> {
    let old = st.control.store().trigger(&id)?;
    if body.kind != old.kind {
        return Err(ApiError::bad("kind", "a trigger's kind cannot change"));
    }
    let config = or_empty(body.config);
    validate(&st, &old.kind, &config, "config")?;
    Ok(Json(st.control.store().update_trigger(&id, &body.name, &config)?))
}

pub async fn delete(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().delete_trigger(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct BindingFilter {
    workload_id: Option<String>,
    trigger_id: Option<String>,
}

pub async fn bindings(
    State(st): State<AppState>,
    Query(f): Query<BindingFilter>,
) -> Result<Json<Vec<BindingRow>>, ApiError> {
    Ok(Json(st.control.store().bindings(f.workload_id.as_deref(), f.trigger_id.as_deref())?))
}

#[derive(Debug, Deserialize)]
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

fn check_binding(st: &AppState, trigger_id: &str, binding_config: &Value) -> Result<Value, ApiError> {
    let t =
        st.control.store().trigger(trigger_id).map_err(|_| ApiError::bad("trigger_id", "no such trigger"))?;
    let config = or_empty(binding_config.clone());
    let merged =
        merge_config(&t.config, &config).map_err(|e| ApiError::bad("binding_config", e.to_string()))?;
    validate(st, &t.kind, &merged, "binding_config")?;
    Ok(config)
}

pub async fn bind(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<BindingIn>,
) -> Result<(StatusCode, Json<BindingRow>), ApiError> {
    st.control
        .store()
        .workload(&body.workload_id)
        .map_err(|_| ApiError::bad("workload_id", "no such workload"))?;
    let config = check_binding(&st, &body.trigger_id, &body.binding_config)?;
    let row =
        st.control.store().insert_binding(&body.workload_id, &body.trigger_id, body.enabled, &config)?;
    Ok((StatusCode::CREATED, Json(row)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingUpdate {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    binding_config: Value,
}

pub async fn update_binding(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BindingUpdate>,
) -> Result<Json<BindingRow>, ApiError> {
    let old = st.control.store().binding(&id)?;
    let config = check_binding(&st, &old.trigger_id, &body.binding_config)?;
    Ok(Json(st.control.store().update_binding(&id, body.enabled, &config)?))
}

pub async fn unbind(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().delete_binding(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
