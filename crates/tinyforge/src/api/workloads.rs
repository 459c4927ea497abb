//! Workloads CRUD (A1): every config is validated by its source kind; secret fields are sealed
//! before storing and redacted in answers; delete tears down first and loses nothing on failure.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tinyforge_control::{keep_redacted, redact_config, seal_config};
use tinyforge_plugin::EnvVar;
use tinyforge_store::{DeploymentRow, DeploymentStatus, WorkloadRow};

use super::error::ErrorBody;
use super::{ApiError, ApiJson, AppState};

/// Body of create and update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadIn {
    pub(crate) name: String,
    pub(crate) source_kind: String,
    pub(crate) source_config: Value,
    /// The whole env (replaces the stored one); a secret sent with an empty value keeps its
    /// stored value.
    #[serde(default)]
    pub(crate) env: Option<Vec<EnvVar>>,
}

/// A workload as answers show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkloadView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) source_kind: String,
    pub(crate) source_config: Value,
    pub(crate) env: Vec<EnvVar>,
    pub(crate) status: &'static str,
    pub(crate) current_deployment: Option<DeploymentRow>,
    /// The last probe of each face.
    pub(crate) health: Vec<tinyforge_control::FaceHealth>,
    /// Containers as the last reconcile pass saw them.
    pub(crate) containers: Vec<tinyforge_store::ContainerRow>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=48).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad("name", "use 1–48 lower-case letters, digits and inner dashes"))
    }
}

fn check_env(env: &[EnvVar]) -> Result<(), ApiError> {
    for (i, e) in env.iter().enumerate() {
        let ok = !e.key.is_empty()
            && !e.key.starts_with(|c: char| c.is_ascii_digit())
            && e.key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(ApiError::bad(
                &format!("env[{i}].key"),
                "letters, digits and `_`, not starting with a digit",
            ));
        }
    }
    Ok(())
}

pub fn view(st: &AppState, row: WorkloadRow) -> Result<WorkloadView, ApiError> {
    let store = st.control.store();
    let history = store.deployments(&row.id, 20)?;
    let current = store.current_deployment(&row.id)?;
    let status = if history.iter().any(|d| !d.status.is_final()) {
        "deploying"
    } else if current.is_some() {
        if history.first().is_some_and(|d| d.status == DeploymentStatus::Failed) {
            "degraded"
        } else {
            "serving"
        }
    } else if history.is_empty() {
        "new"
    } else {
        "failed"
    };
    let schema = st.control.registry().source(&row.source_kind).map(|s| s.schema()).unwrap_or(Value::Null);
    let health = st.control.face_health(&row.id);
    let containers = store.containers_of(&row.id)?;
    Ok(WorkloadView {
        env: store.env_masked(&row.id)?,
        source_config: redact_config(&schema, &row.source_config),
        id: row.id,
        name: row.name,
        source_kind: row.source_kind,
        status,
        current_deployment: current,
        health,
        containers,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Validates and seals a config for `kind`.
fn sealed_config(st: &AppState, kind: &str, config: &Value) -> Result<Value, ApiError> {
    let source =
        st.control.registry().source(kind).map_err(|e| ApiError::bad("source_kind", e.to_string()))?;
    source.validate(config).map_err(|e| ApiError::config("source_config", e))?;
    Ok(seal_config(&source.schema(), config, st.control.store().sealer()))
}

#[utoipa::path(get, path = "/workloads", tag = "workloads", responses((status = 200, description = "Every workload, by name", body = [WorkloadView])))]
pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<WorkloadView>>, ApiError> {
    let rows = st.control.store().workloads()?;
    Ok(Json(rows.into_iter().map(|r| view(&st, r)).collect::<Result<_, _>>()?))
}

#[utoipa::path(post, path = "/workloads", tag = "workloads", request_body = WorkloadIn, responses((status = 201, description = "Created", body = WorkloadView), (status = 400, description = "Invalid; `field` names it", body = ErrorBody), (status = 409, description = "The name is taken", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<WorkloadIn>,
) -> Result<(StatusCode, Json<WorkloadView>), ApiError> {
    check_name(&body.name)?;
    let env = body.env.unwrap_or_default();
    check_env(&env)?;
    let config = sealed_config(&st, &body.source_kind, &body.source_config)?;
    let row = st.control.store().insert_workload(&body.name, &body.source_kind, &config, &env)?;
    Ok((StatusCode::CREATED, Json(view(&st, row)?)))
}

#[utoipa::path(get, path = "/workloads/{id}", tag = "workloads", params(("id" = String, Path, description = "Workload id")), responses((status = 200, description = "The workload, secrets redacted", body = WorkloadView), (status = 404, description = "No such workload", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WorkloadView>, ApiError> {
    let row = st.control.store().workload(&id)?;
    Ok(Json(view(&st, row)?))
}

#[utoipa::path(put, path = "/workloads/{id}", tag = "workloads", params(("id" = String, Path, description = "Workload id")), request_body = WorkloadIn, responses((status = 200, description = "Updated", body = WorkloadView), (status = 400, description = "Invalid; `field` names it", body = ErrorBody), (status = 404, description = "No such workload", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WorkloadIn>,
) -> Result<Json<WorkloadView>, ApiError> {
    let old = st.control.store().workload(&id)?;
    check_name(&body.name)?;
    if body.source_kind != old.source_kind {
        return Err(ApiError::bad("source_kind", "a workload's kind cannot change; create a new workload"));
    }
    let mut env = body.env;
    if let Some(env) = &mut env {
        check_env(env)?;
        let stored = st.control.store().env_opened(&id)?;
        for e in env.iter_mut().filter(|e| e.secret && e.value.is_empty()) {
            if let Some(old) = stored.iter().find(|o| o.key == e.key && o.secret) {
                e.value.clone_from(&old.value);
            }
        }
    }
    let schema = st
        .control
        .registry()
        .source(&old.source_kind)
        .map_err(|e| ApiError::bad("source_kind", e.to_string()))?
        .schema();
    // Secrets sent back redacted keep their stored value.
    let merged = keep_redacted(&schema, &body.source_config, &old.source_config);
    let opened = tinyforge_control::open_config(&schema, &merged, st.control.store().sealer())?;
    let config = sealed_config(&st, &old.source_kind, &opened)?;
    let row = st.control.store().update_workload(&id, &body.name, &config, env.as_deref())?;
    Ok(Json(view(&st, row)?))
}

#[utoipa::path(delete, path = "/workloads/{id}", tag = "workloads", params(("id" = String, Path, description = "Workload id")), responses((status = 204, description = "Torn down and deleted"), (status = 404, description = "No such workload", body = ErrorBody)))]
pub async fn delete(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    st.control.store().workload(&id)?;
    st.control.teardown(&id).await?;
    st.control.store().delete_workload(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
