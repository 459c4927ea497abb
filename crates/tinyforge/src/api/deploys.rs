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

#[utoipa::path(get, path = "/workloads/{id}/logs", tag = "deploys", params(("id" = String, Path, description = "Workload id"), LogsQuery), responses((status = 200, description = "`{containers, lines}` (lines of several containers, a compose stack, are prefixed with the container name), or with `follow=true` a `text/event-stream` of `log` events", body = Object), (status = 404, description = "No running container", body = ErrorBody)))]
pub async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<Response, ApiError> {
    let sources = log_sources(&st, &id).await?;
    let tail = q.tail.min(10_000);
    if q.follow {
        let streams = sources.into_iter().map(|(prefix, container)| {
            st.engine.logs(&container, true, tail).map(move |l| {
                Ok::<_, Infallible>(match l {
                    Ok(line) => Event::default().event("log").data(format!("{prefix}{}", line.trim_end())),
                    Err(e) => Event::default().event("error").data(e.to_string()),
                })
            })
        });
        let events = futures_util::stream::select_all(streams.map(Box::pin));
        return Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response());
    }
    let lines = recent_lines(&st, &sources, tail).await?;
    let containers: Vec<&str> = sources.iter().map(|(_, c)| c.as_str()).collect();
    Ok(Json(serde_json::json!({"containers": containers, "lines": lines})).into_response())
}

/// The last `tail` lines of each log source, prefixed.
pub(crate) async fn recent_lines(
    st: &AppState,
    sources: &[(String, String)],
    tail: u32,
) -> Result<Vec<String>, ApiError> {
    let mut lines = Vec::new();
    for (prefix, container) in sources {
        let chunks: Vec<String> = st
            .engine
            .logs(container, false, tail)
            .try_collect()
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "engine", e.to_string()))?;
        lines.extend(chunks.iter().flat_map(|c| c.lines()).map(|l| format!("{prefix}{l}")));
    }
    Ok(lines)
}

/// Where a workload's logs come from: the serving deployment's container, or else (a compose
/// stack) every running container of the workload, each line prefixed with its container's name.
pub(crate) async fn log_sources(st: &AppState, id: &str) -> Result<Vec<(String, String)>, ApiError> {
    use tinyforge_plugin::ports::Engine;
    st.control.store().workload(id)?;
    let current = st.control.store().current_deployment(id)?;
    if let Some(c) = current.as_ref().and_then(|d| d.outcome.get("container_id")).and_then(|v| v.as_str()) {
        return Ok(vec![(String::new(), c.to_owned())]);
    }
    let running = st
        .engine
        .list("tinyforge.workload", Some(id))
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "engine", e.to_string()))?;
    let sources: Vec<(String, String)> =
        running.into_iter().filter(|c| c.running).map(|c| (format!("{} | ", c.name), c.id)).collect();
    if sources.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this workload has no running container",
        ));
    }
    Ok(sources)
}
