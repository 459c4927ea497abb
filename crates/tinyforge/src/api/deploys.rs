//! Deploy now (W6: a Manual event through the same match path as webhooks), history, rollback,
//! and container logs (SSE when following).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use tinyforge_store::DeploymentRow;

use super::error::ErrorBody;
use super::{Actor, ApiError, ApiJson, AppState};

/// How long `?wait=true` may hold the answer.
const WAIT_LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployIn {
    /// Tag, digest or git ref to deploy instead of the configured one.
    #[serde(default)]
    reference: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Hold the answer until the deploys end (bounded).
    #[serde(default)]
    pub wait: bool,
}

async fn answer(
    st: &AppState,
    dep: DeploymentRow,
    wait: bool,
) -> Result<(StatusCode, Json<DeploymentRow>), ApiError> {
    if !wait {
        return Ok((StatusCode::ACCEPTED, Json(dep)));
    }
    let done = st.control.wait_for(&dep.id, WAIT_LIMIT).await?;
    Ok((StatusCode::OK, Json(done)))
}

#[utoipa::path(post, path = "/workloads/{id}/deploy", tag = "deploys", params(("id" = String, Path, description = "Workload id"), WaitQuery), request_body(content = Option<DeployIn>), responses((status = 202, description = "Queued", body = DeploymentRow), (status = 200, description = "With `wait=true`: finished", body = DeploymentRow), (status = 404, description = "No such workload", body = ErrorBody)))]
pub async fn deploy(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<DeployIn>,
) -> Result<(StatusCode, Json<DeploymentRow>), ApiError> {
    let dep = st.control.deploy_manually(&id, &actor.0, body.reference).await?;
    answer(&st, dep, q.wait).await
}

#[utoipa::path(get, path = "/workloads/{id}/deployments", tag = "deploys", params(("id" = String, Path, description = "Workload id")), responses((status = 200, description = "Newest first", body = [DeploymentRow]), (status = 404, description = "No such workload", body = ErrorBody)))]
pub async fn history(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeploymentRow>>, ApiError> {
    st.control.store().workload(&id)?;
    Ok(Json(st.control.store().deployments(&id, 100)?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackIn {
    /// The succeeded deployment to return to; default: the one before the current.
    #[serde(default)]
    deployment_id: Option<String>,
}

#[utoipa::path(post, path = "/workloads/{id}/rollback", tag = "deploys", params(("id" = String, Path, description = "Workload id"), WaitQuery), request_body(content = Option<RollbackIn>), responses((status = 202, description = "Queued: the old version’s exact digest and config", body = DeploymentRow), (status = 200, description = "With `wait=true`: finished", body = DeploymentRow), (status = 409, description = "Nothing to roll back to", body = ErrorBody)))]
pub async fn rollback(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<RollbackIn>,
) -> Result<(StatusCode, Json<DeploymentRow>), ApiError> {
    st.control.store().workload(&id)?;
    let dep = st.control.rollback(&id, body.deployment_id.as_deref(), &actor.0)?;
    answer(&st, dep, q.wait).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    #[serde(default)]
    follow: bool,
    #[serde(default = "default_tail")]
    tail: u32,
}

fn default_tail() -> u32 {
    200
}

#[utoipa::path(get, path = "/workloads/{id}/logs", tag = "deploys", params(("id" = String, Path, description = "Workload id"), LogsQuery), responses((status = 200, description = "`{container_id, lines}`, or with `follow=true` a `text/event-stream` of `log` events", body = Object), (status = 404, description = "No running deployment", body = ErrorBody)))]
pub async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<Response, ApiError> {
    st.control.store().workload(&id)?;
    let current = st.control.store().current_deployment(&id)?;
    let container = current
        .as_ref()
        .and_then(|d| d.outcome.get("container_id"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "this workload has no running deployment")
        })?
        .to_owned();
    let lines = st.engine.logs(&container, q.follow, q.tail.min(10_000));
    if q.follow {
        let events = lines.map(|l| {
            Ok::<_, Infallible>(match l {
                Ok(line) => Event::default().event("log").data(line.trim_end()),
                Err(e) => Event::default().event("error").data(e.to_string()),
            })
        });
        return Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response());
    }
    let all: Vec<String> = lines
        .try_collect()
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "engine", e.to_string()))?;
    Ok(Json(serde_json::json!({"container_id": container, "lines": all.iter().flat_map(|c| c.lines()).collect::<Vec<_>>()})).into_response())
}
