//! The dashboard (workloads with status, version, last deploy, faces as links) and the live
//! events page; how pages show faces and deployments.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use tinyforge_store::{DeploymentRow, EventRow};

use super::{Chrome, Session, UiError, When, html};
use crate::api::AppState;
use crate::api::workloads::WorkloadView;

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
