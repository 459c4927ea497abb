//! A workload's page and its actions: deploy now, history with rollback, live logs, trigger
//! bindings (with a binding-config form), env with secret values masked, delete.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use tinyforge_plugin::EnvVar;
use tinyforge_store::{BindingRow, DeploymentRow, TriggerRow};

use super::dashboard::{FaceLink, Shown, face_links};
use super::form::{self, Errors};
use super::{Chrome, Posted, Session, UiError, WEB_ACTOR, When, field, html, html_status, see};
use crate::api::workloads::{WorkloadIn, WorkloadView};
use crate::api::{ApiError, ApiJson, AppState};

/// A trigger not yet bound, with its binding form.
pub struct Bindable {
    pub trigger: TriggerRow,
    pub form_html: String,
}

pub struct BoundRow {
    pub binding: BindingRow,
    /// The binding's config, when it overrides anything.
    pub overrides: Option<String>,
    pub trigger_name: String,
    pub trigger_kind: String,
}

#[derive(Template)]
#[template(path = "workload.html")]
struct WorkloadPage {
    chrome: Chrome,
    w: WorkloadView,
    faces: Vec<FaceLink>,
    history: Vec<DeploymentRow>,
    bound: Vec<BoundRow>,
    bindable: Vec<Bindable>,
    logs: Vec<String>,
    error: Option<String>,
}

/// The last lines of the workload's logs, when it runs (a page never waits on them long).
async fn recent_logs(st: &AppState, id: &str) -> Vec<String> {
    use crate::api::deploys::{log_sources, recent_lines};
    let Ok(sources) = log_sources(st, id).await else { return Vec::new() };
    let lines = tokio::time::timeout(std::time::Duration::from_secs(2), recent_lines(st, &sources, 100));
    lines.await.ok().and_then(Result::ok).unwrap_or_default()
}

async fn workload_page(
    st: &AppState,
    s: &Session,
    id: &str,
    error: Option<String>,
    bind_errors: &Errors,
) -> Result<WorkloadPage, UiError> {
    let store = st.control.store();
    let w = crate::api::workloads::view(st, store.workload(id)?)?;
    let history = store.deployments(id, 50)?;
    let triggers = store.triggers()?;
    let bindings = store
        .bindings(Some(id), None)?
        .into_iter()
        .map(|b| crate::api::triggers::shown_binding(st, b))
        .collect::<Result<Vec<_>, _>>()?;
    let bound = bindings
        .into_iter()
        .map(|b| {
            let t = triggers.iter().find(|t| t.id == b.trigger_id);
            BoundRow {
                trigger_name: t.map_or_else(|| b.trigger_id.clone(), |t| t.name.clone()),
                trigger_kind: t.map(|t| t.kind.clone()).unwrap_or_default(),
                overrides: b
                    .binding_config
                    .as_object()
                    .filter(|o| !o.is_empty())
                    .map(|_| b.binding_config.to_string()),
                binding: b,
            }
        })
        .collect::<Vec<_>>();
    let kinds = st.control.registry().trigger_kinds();
    let bindable = triggers
        .into_iter()
        .filter(|t| !bound.iter().any(|b| b.binding.trigger_id == t.id))
        .map(|t| {
            let schema =
                kinds.iter().find(|k| k.kind == t.kind).map(|k| k.schema.clone()).unwrap_or_default();
            let ns = format!("bc-{}", t.id);
            Bindable { form_html: form::render_overrides(&schema, &ns, bind_errors), trigger: t }
        })
        .collect();
    let logs = recent_logs(st, id).await;
    Ok(WorkloadPage {
        chrome: Chrome::new(s, w.name.clone(), "workloads"),
        faces: face_links(st, &w.source_config),
        w,
        history,
        bound,
        bindable,
        logs,
        error,
    })
}

pub async fn workload(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    html(&workload_page(&st, &s, &id, None, &Errors::new()).await?)
}

/// Shows the workload page again with an error (the action's refusal).
async fn refused(
    st: &AppState,
    s: &Session,
    id: &str,
    e: ApiError,
    errors: &Errors,
) -> Result<Response, UiError> {
    if !e.status.is_client_error() {
        return Err(e.into());
    }
    let status = e.status;
    html_status(status, &workload_page(st, s, id, Some(e.detail), errors).await?)
}

pub async fn deploy(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let reference = Some(field(&pairs, "reference").to_owned()).filter(|r| !r.is_empty());
    match st.control.deploy_manually(&id, WEB_ACTOR, reference).await {
        Ok(_) => see(format!("/workloads/{id}#history")),
        Err(e) => refused(&st, &s, &id, e.into(), &Errors::new()).await,
    }
}

pub async fn rollback(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    st.control.store().workload(&id)?;
    let to = Some(field(&pairs, "deployment_id")).filter(|d| !d.is_empty());
    match st.control.rollback(&id, to, WEB_ACTOR) {
        Ok(_) => see(format!("/workloads/{id}#history")),
        Err(e) => refused(&st, &s, &id, e.into(), &Errors::new()).await,
    }
}

pub async fn delete_workload(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Result<Response, UiError> {
    match crate::api::workloads::delete(State(st.clone()), Path(id.clone())).await {
        Ok(_) => see("/"),
        Err(e) => refused(&st, &s, &id, e, &Errors::new()).await,
    }
}

pub async fn update_env(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let view = crate::api::workloads::view(&st, st.control.store().workload(&id)?)?;
    let mut env = Vec::new();
    for i in 0.. {
        let key = format!("env.{i}.key");
        if !pairs.iter().any(|(k, _)| *k == key) {
            break;
        }
        let key = field(&pairs, &key);
        if key.is_empty() {
            continue;
        }
        let value =
            pairs.iter().find(|(k, _)| *k == format!("env.{i}.value")).map_or("", |(_, v)| v.as_str());
        env.push(EnvVar {
            key: key.to_owned(),
            value: value.to_owned(),
            secret: field(&pairs, &format!("env.{i}.secret")) == "on",
        });
    }
    let body = WorkloadIn {
        name: view.name.clone(),
        source_kind: view.source_kind.clone(),
        source_config: view.source_config.clone(),
        env: Some(env),
    };
    match crate::api::workloads::update(State(st.clone()), Path(id.clone()), ApiJson(body)).await {
        Ok(_) => see(format!("/workloads/{id}#env")),
        Err(e) => refused(&st, &s, &id, e, &Errors::new()).await,
    }
}

pub async fn bind(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let trigger_id = field(&pairs, "trigger_id").to_owned();
    let trigger = st.control.store().trigger(&trigger_id)?;
    let schema = st
        .control
        .registry()
        .trigger(&trigger.kind)
        .map_err(|e| ApiError::bad("trigger_id", e.to_string()))?
        .schema();
    let ns = format!("bc-{trigger_id}");
    let config = match form::parse(&schema, &ns, &form::fields(&pairs), None) {
        Ok(c) => c,
        Err((_, errors)) => {
            return refused(
                &st,
                &s,
                &id,
                ApiError::bad("binding_config", "some fields could not be read"),
                &errors,
            )
            .await;
        }
    };
    let body = crate::api::triggers::BindingIn {
        workload_id: id.clone(),
        trigger_id,
        enabled: true,
        binding_config: config,
    };
    match crate::api::triggers::bind(State(st.clone()), ApiJson(body)).await {
        Ok(_) => see(format!("/workloads/{id}#bindings")),
        Err(e) => {
            let errors = e
                .field
                .as_ref()
                .map(|f| Errors::from([(form::field_name(f, "binding_config", &ns), e.detail.clone())]))
                .unwrap_or_default();
            refused(&st, &s, &id, e, &errors).await
        }
    }
}

/// Turns a binding off (fan-out skips it) or on again; its override is kept.
pub async fn toggle_binding(
    State(st): State<AppState>,
    Path(id): Path<String>,
    _: Posted,
) -> Result<Response, UiError> {
    let b = crate::api::triggers::shown_binding(&st, st.control.store().binding(&id)?)?;
    let body = crate::api::triggers::BindingUpdate { enabled: !b.enabled, binding_config: b.binding_config };
    let _ = crate::api::triggers::update_binding(State(st.clone()), Path(id), ApiJson(body)).await?;
    see(format!("/workloads/{}#bindings", b.workload_id))
}

pub async fn unbind(
    State(st): State<AppState>,
    Path(id): Path<String>,
    _: Posted,
) -> Result<Response, UiError> {
    let b = st.control.store().binding(&id)?;
    st.control.store().delete_binding(&id)?;
    see(format!("/workloads/{}#bindings", b.workload_id))
}
