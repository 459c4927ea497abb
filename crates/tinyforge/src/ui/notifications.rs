//! Outgoing notifications (X1) in the UI: endpoints (global or per workload, JSON or chat format,
//! kind filters, own or global signing secret) with their recent deliveries, and the global
//! signing secret. Endpoint URLs are shown as their origin only; secrets are never shown.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use tinyforge_store::{EndpointRow, NotificationDeliveryRow, WorkloadRow};

use super::{Chrome, Posted, Session, UiError, When, field, html, html_status, see};
use crate::api::notifications::{EndpointIn, SecretIn};
use crate::api::{ApiError, ApiJson, AppState};

pub struct EndpointView {
    pub e: EndpointRow,
    /// The workload's name, or none for every workload.
    pub scope: Option<String>,
    pub deliveries: Vec<NotificationDeliveryRow>,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct Page {
    chrome: Chrome,
    endpoints: Vec<EndpointView>,
    workloads: Vec<WorkloadRow>,
    has_global_secret: bool,
    /// A refused form: (field, message).
    error: Option<(String, String)>,
}

fn page(st: &AppState, s: &Session, error: Option<(String, String)>) -> Result<Page, UiError> {
    let store = st.control.store();
    let workloads = store.workloads()?;
    let endpoints = store
        .endpoints()?
        .into_iter()
        .map(|e| {
            let scope = e
                .workload_id
                .as_ref()
                .map(|w| workloads.iter().find(|x| &x.id == w).map_or_else(|| w.clone(), |x| x.name.clone()));
            let deliveries = store.notification_deliveries(&e.id, 10)?;
            Ok(EndpointView { e, scope, deliveries })
        })
        .collect::<Result<_, UiError>>()?;
    let has_global_secret = store.notify_secret()?.is_some();
    Ok(Page {
        chrome: Chrome::new(s, "Notifications", "notifications"),
        endpoints,
        workloads,
        has_global_secret,
        error,
    })
}

/// The page again with a refusal beside its field.
fn refused(st: &AppState, s: &Session, e: ApiError) -> Result<Response, UiError> {
    if !e.status.is_client_error() {
        return Err(e.into());
    }
    let status = e.status;
    html_status(status, &page(st, s, Some((e.field.unwrap_or_default(), e.detail)))?)
}

pub async fn list(State(st): State<AppState>, s: Session) -> Result<Response, UiError> {
    html(&page(&st, &s, None)?)
}

pub async fn create(State(st): State<AppState>, Posted { s, pairs }: Posted) -> Result<Response, UiError> {
    let opt = |name: &str| Some(field(&pairs, name).to_owned()).filter(|v| !v.is_empty());
    let kinds = field(&pairs, "kinds")
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    let body = EndpointIn {
        url: field(&pairs, "url").to_owned(),
        workload_id: opt("workload_id"),
        secret: opt("secret"),
        format: opt("format").unwrap_or_else(|| "json".into()),
        kinds,
    };
    match crate::api::notifications::create(State(st.clone()), ApiJson(body)).await {
        Ok(_) => see("/notifications"),
        Err(e) => refused(&st, &s, e),
    }
}

pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    _: Posted,
) -> Result<Response, UiError> {
    st.control.store().delete_endpoint(&id)?;
    see("/notifications")
}

pub async fn set_secret(
    State(st): State<AppState>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let secret =
        if field(&pairs, "_action") == "remove" { None } else { Some(field(&pairs, "secret").to_owned()) };
    match crate::api::notifications::set_secret(State(st.clone()), ApiJson(SecretIn { secret })).await {
        Ok(_) => see("/notifications"),
        Err(e) => refused(&st, &s, e),
    }
}
