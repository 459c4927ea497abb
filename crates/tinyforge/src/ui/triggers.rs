//! Trigger pages: list, new (form from the kind's schema; the webhook URL and its secret shown
//! once), detail with the bound workloads and recent deliveries (verdicts, replay).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tinyforge_plugin::KindInfo;
use tinyforge_store::{BindingRow, DeliveryRow, TriggerRow, WorkloadRow};

use super::form::{self, Errors};
use super::{Chrome, ConfigForm, KindQuery, Posted, Session, UiError, When, field, html, html_status, see};
use crate::api::triggers::{CreatedTrigger, TriggerIn};
use crate::api::{ApiJson, AppState};

#[derive(Template)]
#[template(path = "triggers.html")]
struct ListPage {
    chrome: Chrome,
    triggers: Vec<(TriggerRow, usize)>,
    kinds: Vec<&'static str>,
}

pub async fn list(State(st): State<AppState>, s: Session) -> Result<Response, UiError> {
    let bindings = st.control.store().bindings(None, None)?;
    let triggers = st
        .control
        .store()
        .triggers()?
        .into_iter()
        .map(|t| {
            let n = bindings.iter().filter(|b| b.trigger_id == t.id).count();
            (t, n)
        })
        .collect();
    let kinds = st.control.registry().trigger_kinds().iter().map(|k| k.kind).collect();
    html(&ListPage { chrome: Chrome::new(&s, "Triggers", "triggers"), triggers, kinds })
}

#[derive(Template)]
#[template(path = "trigger_form.html")]
struct TriggerForm {
    chrome: Chrome,
    f: ConfigForm,
}

fn kind_info(st: &AppState, kind: &str) -> Result<KindInfo, UiError> {
    super::find_kind(st.control.registry().trigger_kinds(), kind, "kind", "trigger")
}

impl TriggerForm {
    fn new(
        s: &Session,
        info: &KindInfo,
        id: Option<&str>,
        name: &str,
        config: Option<&Value>,
        errors: &Errors,
    ) -> Self {
        let (chrome, f) = ConfigForm::new(s, ("triggers", "trigger"), info, id, name, config, errors);
        TriggerForm { chrome, f }
    }
}

pub async fn new_page(
    State(st): State<AppState>,
    s: Session,
    Query(q): Query<KindQuery>,
) -> Result<Response, UiError> {
    let info = kind_info(&st, q.kind.as_deref().unwrap_or("manual"))?;
    html(&TriggerForm::new(&s, &info, None, "", None, &Errors::new()))
}

#[derive(Template)]
#[template(path = "trigger_created.html")]
struct CreatedPage {
    chrome: Chrome,
    created: CreatedTrigger,
    url: String,
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, UiError> {
    save(st, headers, None, posted).await
}

pub async fn edit_page(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let t = crate::api::triggers::shown(&st, st.control.store().trigger(&id)?);
    let info = kind_info(&st, &t.kind)?;
    html(&TriggerForm::new(&s, &info, Some(&id), &t.name, Some(&t.config), &Errors::new()))
}

pub async fn update(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Response, UiError> {
    save(st, headers, Some(id), posted).await
}

/// Shared by create and edit: parse the generated form, hand it to the API handler, show errors at
/// their fields. A new trigger's page shows its webhook URL once.
async fn save(
    st: AppState,
    headers: HeaderMap,
    id: Option<String>,
    posted: Posted,
) -> Result<Response, UiError> {
    let Posted { s, pairs } = posted;
    let (kind, previous) = match &id {
        Some(id) => {
            let t = crate::api::triggers::shown(&st, st.control.store().trigger(id)?);
            (t.kind, Some(t.config))
        }
        None => (field(&pairs, "kind").to_owned(), None),
    };
    let info = kind_info(&st, &kind)?;
    let name = field(&pairs, "name").to_owned();
    let page = |config: Option<&Value>, errors: &Errors| {
        TriggerForm::new(&s, &info, id.as_deref(), &name, config, errors)
    };
    let config = match form::parse(&info.schema, "cfg", &form::fields(&pairs), previous.as_ref()) {
        Ok(c) => c,
        Err((partial, errors)) => {
            return html_status(StatusCode::BAD_REQUEST, &page(Some(&partial), &errors));
        }
    };
    if !field(&pairs, "_add").is_empty() {
        return html(&page(Some(&config), &Errors::new()));
    }
    let signing_secret = Some(field(&pairs, "signing_secret").to_owned()).filter(|s| !s.is_empty());
    let body =
        TriggerIn { name: name.clone(), kind: info.kind.to_owned(), config: config.clone(), signing_secret };
    let saved = match &id {
        Some(id) => crate::api::triggers::update(State(st.clone()), Path(id.clone()), ApiJson(body))
            .await
            .map(|_| None),
        None => crate::api::triggers::create(State(st.clone()), ApiJson(body)).await.map(|(_, c)| Some(c.0)),
    };
    match saved {
        Ok(None) => see(format!("/triggers/{}", id.unwrap_or_default())),
        Ok(Some(created)) => {
            let tls = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let url = format!("{}://{host}{}", if tls { "https" } else { "http" }, created.webhook_url);
            let mut resp =
                html(&CreatedPage { chrome: Chrome::new(&s, "Trigger created", "triggers"), created, url })?;
            resp.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
            Ok(resp)
        }
        Err(e) if e.status.is_client_error() => {
            let key = e
                .field
                .as_deref()
                .map_or_else(|| "form".to_owned(), |f| form::field_name(f, "config", "cfg"));
            let errors = Errors::from([(key, e.detail)]);
            html_status(StatusCode::BAD_REQUEST, &page(Some(&config), &errors))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "trigger.html")]
struct DetailPage {
    chrome: Chrome,
    t: TriggerRow,
    config: String,
    bound: Vec<(BindingRow, WorkloadRow)>,
    deliveries: Vec<DeliveryRow>,
}

pub async fn detail(
    State(st): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let store = st.control.store();
    let t = crate::api::triggers::shown(&st, store.trigger(&id)?);
    let bound = store
        .bindings(None, Some(&id))?
        .into_iter()
        .filter_map(|b| store.workload(&b.workload_id).ok().map(|w| (b, w)))
        .collect();
    let deliveries = store.deliveries(&id, 50)?;
    let config = serde_json::to_string_pretty(&t.config).unwrap_or_default();
    html(&DetailPage { chrome: Chrome::new(&s, t.name.clone(), "triggers"), t, config, bound, deliveries })
}

pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    _: Posted,
) -> Result<Response, UiError> {
    st.control.store().delete_trigger(&id)?;
    see("/triggers")
}

pub async fn replay(
    State(st): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    _: Posted,
) -> Result<Response, UiError> {
    let q = Query(crate::api::deploys::WaitQuery { wait: false });
    crate::api::webhook::replay(State(st.clone()), Path((id.clone(), delivery)), q).await?;
    see(format!("/triggers/{id}#deliveries"))
}
