//! Workload pages: dashboard, new/edit (form from the kind's schema, or raw JSON), detail
//! (history with rollback, live logs, bindings, deploy now, env with secrets masked), events.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tinyforge_plugin::{EnvVar, KindInfo};
use tinyforge_store::{BindingRow, DeploymentRow, EventRow, TriggerRow};

use super::form::{self, Errors, esc};
use super::{Chrome, Session, UiError, When, field, html, html_status, see};
use crate::api::workloads::{WorkloadIn, WorkloadView};
use crate::api::{ApiError, ApiJson, AppState};

/// Who deploys from the UI, as history shows it.
const WEB_ACTOR: &str = "admin (web)";

/// A public face as a link.
pub struct FaceLink {
    pub url: String,
    pub label: String,
}

/// The links of a config's faces, with the edge's ports when they are not the defaults.
pub fn face_links(st: &AppState, config: &Value) -> Vec<FaceLink> {
    let faces = config.get("faces").and_then(Value::as_array).into_iter().flatten();
    faces
        .filter_map(|f| {
            let host = f.get("host")?.as_str()?;
            let prefix = f.get("path_prefix").and_then(Value::as_str).unwrap_or("/");
            let tls = f.get("tls").and_then(Value::as_bool).unwrap_or(false);
            let (scheme, port, default) =
                if tls { ("https", st.edge_ports.1, 443) } else { ("http", st.edge_ports.0, 80) };
            let port = if port == default { String::new() } else { format!(":{port}") };
            Some(FaceLink {
                url: format!("{scheme}://{host}{port}{prefix}"),
                label: format!("{host}{prefix}"),
            })
        })
        .collect()
}

pub struct Row {
    pub view: WorkloadView,
    pub faces: Vec<FaceLink>,
    pub last: Option<DeploymentRow>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    rows: Vec<Row>,
    kinds: Vec<&'static str>,
}

pub async fn dashboard(State(st): State<AppState>, s: Session) -> Result<Response, UiError> {
    let mut rows = Vec::new();
    for w in st.control.store().workloads()? {
        let last = st.control.store().deployments(&w.id, 1)?.pop();
        let view = crate::api::workloads::view(&st, w)?;
        rows.push(Row { faces: face_links(&st, &view.source_config), view, last });
    }
    let kinds = st.control.registry().source_kinds().iter().map(|k| k.kind).collect();
    html(&Dashboard { chrome: Chrome::new(&s, "Workloads", "workloads"), rows, kinds })
}

#[derive(Template)]
#[template(path = "workload_form.html")]
struct WorkloadForm {
    chrome: Chrome,
    /// Where the form posts.
    action: String,
    kind: String,
    kind_help: String,
    name: String,
    form_html: String,
    raw_json: String,
    /// Whether the JSON editor starts open (it was the one used).
    raw_open: bool,
    /// (field id, field name, message), for the summary at the top.
    errors: Vec<(String, String, String)>,
    name_error: Option<String>,
    editing: bool,
}

fn kind_info(st: &AppState, kind: &str) -> Result<KindInfo, UiError> {
    st.control
        .registry()
        .source_kinds()
        .into_iter()
        .find(|k| k.kind == kind)
        .ok_or_else(|| ApiError::bad("source_kind", format!("no source kind `{kind}`")).into())
}

fn summary(errors: &Errors) -> Vec<(String, String, String)> {
    let mut v: Vec<_> =
        errors.iter().map(|(k, m)| (format!("f-{}", k.replace('.', "-")), k.clone(), m.clone())).collect();
    v.sort();
    v
}

impl WorkloadForm {
    fn new(
        s: &Session,
        info: &KindInfo,
        id: Option<&str>,
        name: &str,
        config: Option<&Value>,
        errors: &Errors,
    ) -> Self {
        let description = info.schema.get("description").and_then(Value::as_str).unwrap_or_default();
        WorkloadForm {
            chrome: Chrome::new(
                s,
                if id.is_some() { format!("Edit {name}") } else { format!("New {} workload", info.kind) },
                "workloads",
            ),
            action: id.map_or_else(|| "/workloads/new".to_owned(), |id| format!("/workloads/{id}/edit")),
            kind: info.kind.to_owned(),
            kind_help: esc(description),
            name: name.to_owned(),
            form_html: form::render(&info.schema, "cfg", config, errors),
            raw_json: serde_json::to_string_pretty(config.unwrap_or(&info.sample)).unwrap_or_default(),
            raw_open: false,
            errors: summary(errors),
            name_error: errors.get("name").cloned(),
            editing: id.is_some(),
        }
    }
}

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub async fn new_workload(
    State(st): State<AppState>,
    s: Session,
    Query(q): Query<KindQuery>,
) -> Result<Response, UiError> {
    let info = kind_info(&st, q.kind.as_deref().unwrap_or("image"))?;
    html(&WorkloadForm::new(&s, &info, None, "", None, &Errors::new()))
}

/// The config a workload form describes: the raw JSON when that button was pressed, else the
/// generated fields. `Err` holds field errors.
fn submitted_config(
    info: &KindInfo,
    pairs: &[(String, String)],
    previous: Option<&Value>,
) -> Result<Value, (Option<Value>, Errors)> {
    if json_mode(pairs) {
        return serde_json::from_str(field(pairs, "raw_json"))
            .map_err(|e| (None, Errors::from([("raw_json".to_owned(), format!("not valid JSON: {e}"))])));
    }
    let fields = form::fields(pairs);
    form::parse(&info.schema, "cfg", &fields, previous).map_err(|(v, e)| (Some(v), e))
}

fn json_mode(pairs: &[(String, String)]) -> bool {
    field(pairs, "_mode") == "json"
}

fn api_errors(e: ApiError) -> Result<Errors, UiError> {
    match (e.status.is_client_error(), e.field) {
        (true, Some(f)) => Ok(Errors::from([(form::field_name(&f, "source_config", "cfg"), e.detail)])),
        (true, None) => Ok(Errors::from([("form".to_owned(), e.detail)])),
        (false, _) => Err(UiError::Api(ApiError { field: None, ..e })),
    }
}

/// Shared by create and update: parse, hand to the API handler, show errors at their fields.
async fn save_workload(
    st: AppState,
    s: Session,
    id: Option<String>,
    pairs: Vec<(String, String)>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
    let (kind, previous) = match &id {
        Some(id) => {
            let row = st.control.store().workload(id)?;
            let view = crate::api::workloads::view(&st, row)?;
            (view.source_kind.clone(), Some(view.source_config))
        }
        None => (field(&pairs, "source_kind").to_owned(), None),
    };
    let info = kind_info(&st, &kind)?;
    let name = field(&pairs, "name").to_owned();
    let again = |config: Option<&Value>, errors: &Errors| {
        let mut page = WorkloadForm::new(&s, &info, id.as_deref(), &name, config, errors);
        if json_mode(&pairs) {
            page.raw_json = field(&pairs, "raw_json").to_owned();
            page.raw_open = true;
        }
        html_status(StatusCode::BAD_REQUEST, &page)
    };
    let config = match submitted_config(&info, &pairs, previous.as_ref()) {
        Ok(c) => c,
        Err((partial, errors)) => return again(partial.as_ref(), &errors),
    };
    if !field(&pairs, "_add").is_empty() {
        // "Add another": show the form again with one more blank row; nothing is saved.
        return html(&WorkloadForm::new(&s, &info, id.as_deref(), &name, Some(&config), &Errors::new()));
    }
    let body = WorkloadIn {
        name: name.clone(),
        source_kind: kind.clone(),
        source_config: config.clone(),
        env: None,
    };
    let saved = match &id {
        Some(id) => crate::api::workloads::update(State(st.clone()), Path(id.clone()), ApiJson(body))
            .await
            .map(|j| j.0),
        None => crate::api::workloads::create(State(st.clone()), ApiJson(body)).await.map(|(_, j)| j.0),
    };
    match saved {
        Ok(v) => see(format!("/workloads/{}", v.id)),
        Err(e) => again(Some(&config), &api_errors(e)?),
    }
}

pub async fn create_workload(
    State(st): State<AppState>,
    s: Session,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_workload(st, s, None, pairs).await
}

pub async fn edit_workload(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let view = crate::api::workloads::view(&st, st.control.store().workload(&id)?)?;
    let info = kind_info(&st, &view.source_kind)?;
    html(&WorkloadForm::new(&s, &info, Some(&id), &view.name, Some(&view.source_config), &Errors::new()))
}

pub async fn update_workload(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_workload(st, s, Some(id), pairs).await
}

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

async fn recent_logs(st: &AppState, current: Option<&DeploymentRow>) -> Vec<String> {
    let Some(container) = current.and_then(|d| d.outcome.get("container_id")).and_then(Value::as_str) else {
        return Vec::new();
    };
    let lines = st.engine.logs(container, false, 100).take(100).collect::<Vec<_>>();
    match tokio::time::timeout(std::time::Duration::from_secs(2), lines).await {
        Ok(chunks) => chunks
            .into_iter()
            .flatten()
            .flat_map(|c| c.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect(),
        Err(_) => Vec::new(),
    }
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
    let bindings = store.bindings(Some(id), None)?;
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
    let logs = recent_logs(st, w.current_deployment.as_ref()).await;
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
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
    let reference = Some(field(&pairs, "reference").to_owned()).filter(|r| !r.is_empty());
    match st.control.deploy_manually(&id, WEB_ACTOR, reference).await {
        Ok(_) => see(format!("/workloads/{id}#history")),
        Err(e) => refused(&st, &s, &id, e.into(), &Errors::new()).await,
    }
}

pub async fn rollback(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
    st.control.store().workload(&id)?;
    let to = Some(field(&pairs, "deployment_id")).filter(|d| !d.is_empty());
    match st.control.rollback(&id, to, WEB_ACTOR) {
        Ok(_) => see(format!("/workloads/{id}#history")),
        Err(e) => refused(&st, &s, &id, e.into(), &Errors::new()).await,
    }
}

pub async fn delete_workload(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
    match crate::api::workloads::delete(State(st.clone()), Path(id.clone())).await {
        Ok(_) => see("/"),
        Err(e) => refused(&st, &s, &id, e, &Errors::new()).await,
    }
}

pub async fn update_env(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
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
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
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

pub async fn unbind(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    s.check(&pairs)?;
    let b = st.control.store().binding(&id)?;
    st.control.store().delete_binding(&id)?;
    see(format!("/workloads/{}#bindings", b.workload_id))
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    chrome: Chrome,
    events: Vec<EventRow>,
    after: i64,
}

pub async fn events(State(st): State<AppState>, s: Session) -> Result<Response, UiError> {
    let mut events = st.control.store().latest_events(None, 200)?;
    let after = events.last().map_or(0, |e| e.seq);
    events.reverse();
    html(&EventsPage { chrome: Chrome::new(&s, "Events", "events"), events, after })
}

/// What templates show of a deployment.
pub trait Shown {
    /// The version, digests shortened.
    fn shown_version(&self) -> String;
    /// Where its time stands: finished, else started, else queued.
    fn shown_time(&self) -> String;
}

impl Shown for DeploymentRow {
    fn shown_version(&self) -> String {
        match self.version.as_deref() {
            Some(v) if v.starts_with("sha256:") && v.len() > 19 => v[..19].to_owned(),
            Some(v) => v.to_owned(),
            None => "—".to_owned(),
        }
    }
    fn shown_time(&self) -> String {
        self.finished_at.as_deref().or(self.started_at.as_deref()).unwrap_or(&self.queued_at).to_owned()
    }
}
