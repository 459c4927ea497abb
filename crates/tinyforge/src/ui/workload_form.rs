//! New and edit workload: the form generated from the kind's schema, or the raw JSON editor;
//! errors from the API shown at their field, and nothing typed is lost.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tinyforge_plugin::KindInfo;

use super::form::{self, Errors};
use super::{Chrome, ConfigForm, KindQuery, Posted, Session, UiError, field, html, html_status, see};
use crate::api::workloads::WorkloadIn;
use crate::api::{ApiError, ApiJson, AppState};

#[derive(Template)]
#[template(path = "workload_form.html")]
struct WorkloadForm {
    chrome: Chrome,
    f: ConfigForm,
    raw_json: String,
    /// Whether the JSON editor starts open (it was the one used).
    raw_open: bool,
}

fn kind_info(st: &AppState, kind: &str) -> Result<KindInfo, UiError> {
    super::find_kind(st.control.registry().source_kinds(), kind, "source_kind", "source")
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
        let (chrome, f) = ConfigForm::new(s, ("workloads", "workload"), info, id, name, config, errors);
        let raw_json = serde_json::to_string_pretty(config.unwrap_or(&info.sample)).unwrap_or_default();
        WorkloadForm { chrome, f, raw_json, raw_open: false }
    }
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
async fn save_workload(st: AppState, id: Option<String>, posted: Posted) -> Result<Response, UiError> {
    let Posted { s, pairs } = posted;
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

pub async fn create_workload(State(st): State<AppState>, posted: Posted) -> Result<Response, UiError> {
    save_workload(st, None, posted).await
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
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Response, UiError> {
    save_workload(st, Some(id), posted).await
}
