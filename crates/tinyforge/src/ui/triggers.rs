//! Trigger pages: list, new (form from the kind's schema; the webhook URL and its secret shown
//! once), detail with the bound workloads and recent deliveries (verdicts, replay).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tinyforge_plugin::KindInfo;
use tinyforge_store::{BindingRow, DeliveryRow, TriggerRow, WorkloadRow};

use super::form::{self, Errors, esc};
use super::{Chrome, Posted, Session, UiError, When, field, html, html_status, see};
use crate::api::triggers::{CreatedTrigger, TriggerIn};
use crate::api::{ApiError, ApiJson, AppState};

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
struct NewPage {
    chrome: Chrome,
    kind: String,
    kind_help: String,
    name: String,
    form_html: String,
    errors: Vec<(String, String, String)>,
    name_error: Option<String>,
}

fn kind_info(st: &AppState, kind: &str) -> Result<KindInfo, UiError> {
    st.control
        .registry()
        .trigger_kinds()
        .into_iter()
        .find(|k| k.kind == kind)
        .ok_or_else(|| ApiError::bad("kind", format!("no trigger kind `{kind}`")).into())
}

impl NewPage {
    fn new(s: &Session, info: &KindInfo, name: &str, config: Option<&Value>, errors: &Errors) -> Self {
        NewPage {
            chrome: Chrome::new(s, format!("New {} trigger", info.kind), "triggers"),
            kind: info.kind.to_owned(),
            kind_help: esc(info.schema.get("description").and_then(Value::as_str).unwrap_or_default()),
            name: name.to_owned(),
            form_html: form::render(&info.schema, "cfg", config, errors),
            errors: form::summary(errors),
            name_error: errors.get("name").cloned(),
        }
    }
}

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub async fn new_page(
    State(st): State<AppState>,
    s: Session,
    Query(q): Query<KindQuery>,
) -> Result<Response, UiError> {
    let info = kind_info(&st, q.kind.as_deref().unwrap_or("manual"))?;
    html(&NewPage::new(&s, &info, "", None, &Errors::new()))
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
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let info = kind_info(&st, field(&pairs, "kind"))?;
    let name = field(&pairs, "name").to_owned();
    let fields = form::fields(&pairs);
    let config = match form::parse(&info.schema, "cfg", &fields, None) {
        Ok(c) => c,
        Err((partial, errors)) => {
            let page = NewPage::new(&s, &info, &name, Some(&partial), &errors);
            return html_status(StatusCode::BAD_REQUEST, &page);
        }
    };
    if !field(&pairs, "_add").is_empty() {
        return html(&NewPage::new(&s, &info, &name, Some(&config), &Errors::new()));
    }
    let signing_secret = Some(field(&pairs, "signing_secret").to_owned()).filter(|s| !s.is_empty());
    let body =
        TriggerIn { name: name.clone(), kind: info.kind.to_owned(), config: config.clone(), signing_secret };
    match crate::api::triggers::create(State(st.clone()), ApiJson(body)).await {
        Ok((_, created)) => {
            let created = created.0;
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
            html_status(StatusCode::BAD_REQUEST, &NewPage::new(&s, &info, &name, Some(&config), &errors))
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
