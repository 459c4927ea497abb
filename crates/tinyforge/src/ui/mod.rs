//! The web UI (U1, A3): server-rendered pages (askama) on the API listener, usable with
//! JavaScript off; a little hand-written JS adds live updates over the API's SSE streams.
//! Sign-in is the admin password set once with the setup token printed at first start; a session
//! is an HttpOnly, SameSite=Strict cookie (Secure behind TLS) and every form carries its CSRF token.
//! Pages call the same handlers as the JSON API, so validation and errors are the API's.

mod auth;
mod dashboard;
pub mod form;
mod notifications;
mod triggers;
mod workload;
mod workload_form;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use tinyforge_store::StoreError;

use crate::api::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "tf_session";
/// Who acts from the web UI, as history and the API see it.
pub const WEB_ACTOR: &str = "admin (web)";
/// Sessions last this long.
const SESSION_HOURS: i64 = 12;

/// Every page and form.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/setup", get(auth::setup_page).post(auth::setup))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/tokens", get(auth::tokens).post(auth::create_token))
        .route("/tokens/{id}/revoke", post(auth::revoke_token))
        .route("/password", post(auth::change_password))
        .route("/workloads/new", get(workload_form::new_workload).post(workload_form::create_workload))
        .route("/workloads/{id}", get(workload::workload))
        .route("/workloads/{id}/edit", get(workload_form::edit_workload).post(workload_form::update_workload))
        .route("/workloads/{id}/env", post(workload::update_env))
        .route("/workloads/{id}/deploy", post(workload::deploy))
        .route("/workloads/{id}/rollback", post(workload::rollback))
        .route("/workloads/{id}/delete", post(workload::delete_workload))
        .route("/workloads/{id}/bind", post(workload::bind))
        .route("/bindings/{id}/unbind", post(workload::unbind))
        .route("/bindings/{id}/toggle", post(workload::toggle_binding))
        .route("/triggers", get(triggers::list))
        .route("/triggers/new", get(triggers::new_page).post(triggers::create))
        .route("/triggers/{id}", get(triggers::detail))
        .route("/triggers/{id}/edit", get(triggers::edit_page).post(triggers::update))
        .route("/triggers/{id}/delete", post(triggers::delete))
        .route("/triggers/{id}/deliveries/{delivery}/replay", post(triggers::replay))
        .route("/events", get(dashboard::events))
        .route("/notifications", get(notifications::list).post(notifications::create))
        .route("/notifications/secret", post(notifications::set_secret))
        .route("/notifications/{id}/delete", post(notifications::delete))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .layer(axum::middleware::map_response(hardened))
}

/// Pages load only our own script and style, cannot be framed, and send no referrer off-site.
async fn hardened(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

async fn css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", include_str!("../../assets/app.css"))
}

async fn js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/app.js"))
}

fn asset(ct: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}

/// Stored times (RFC 3339, UTC, milliseconds) as pages show them: `2026-12-04 19:09:27 UTC`.
pub trait When {
    fn when(&self) -> String;
}

impl<T: AsRef<str>> When for T {
    fn when(&self) -> String {
        let s = self.as_ref();
        match (s.get(..10), s.get(11..19)) {
            (Some(day), Some(time)) if s.ends_with('Z') => format!("{day} {time} UTC"),
            _ => s.to_owned(),
        }
    }
}

/// What every page's frame shows.
pub struct Chrome {
    pub title: String,
    /// The session's CSRF token, for the forms in the frame (logout) and on the page.
    pub csrf: String,
    /// Which nav entry is current.
    pub nav: &'static str,
}

impl Chrome {
    pub fn new(s: &Session, title: impl Into<String>, nav: &'static str) -> Self {
        Self { title: title.into(), csrf: s.csrf.clone(), nav }
    }
}

/// A signed-in admin.
pub struct Session {
    pub token: String,
    pub csrf: String,
}

impl Session {
    /// Refuses a form whose `_csrf` is not this session's.
    pub fn check(&self, pairs: &[(String, String)]) -> Result<(), UiError> {
        let sent = pairs.iter().rev().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(UiError::Forbidden(
                "the form's security token is missing or stale; reload the page and try again".into(),
            ))
        }
    }
}

/// A form posted by the signed-in admin, its CSRF token checked: every state-changing page
/// handler takes one, so none can forget the check.
pub struct Posted {
    pub s: Session,
    pub pairs: Vec<(String, String)>,
}

impl FromRequest<AppState> for Posted {
    type Rejection = UiError;
    async fn from_request(req: Request, st: &AppState) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        let s = Session::from_request_parts(&mut parts, st).await?;
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), st)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_form", e.body_text()))?;
        s.check(&pairs)?;
        Ok(Posted { s, pairs })
    }
}

/// The session a request's cookie names, if it is live.
pub fn session_of(st: &AppState, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    Ok(st.control.store().session(&token)?.map(|s| Session { token, csrf: s.csrf }))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = UiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, UiError> {
        if let Some(s) = session_of(st, &parts.headers)? {
            return Ok(s);
        }
        let to = if st.control.store().admin_password()?.is_none() { "/setup" } else { "/login" };
        Err(UiError::Redirect(to.into()))
    }
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when the request came over TLS.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let tls = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are hex")
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum UiError {
    Redirect(String),
    Forbidden(String),
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::Api(e)
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        UiError::Api(e.into())
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::Api(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("page rendering failed: {e}"),
        ))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    detail: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            UiError::Redirect(to) => return Redirect::to(&to).into_response(),
            UiError::Forbidden(d) => (StatusCode::FORBIDDEN, d),
            UiError::Api(e) => (e.status, e.detail),
        };
        let page = ErrorPage { status: status.as_u16(), detail };
        (status, Html(page.render().unwrap_or_else(|e| e.to_string()))).into_response()
    }
}

/// What the workload and trigger form pages share: a config form generated from a kind's schema.
pub struct ConfigForm {
    /// Where the form posts.
    pub action: String,
    pub editing: bool,
    pub kind: String,
    /// The kind's description, escaped.
    pub kind_help: String,
    pub name: String,
    pub form_html: String,
    /// (field id, field name, message), for the summary at the top.
    pub errors: Vec<(String, String, String)>,
    pub name_error: Option<String>,
}

impl ConfigForm {
    /// The form for a `what` (`workload`, `trigger`) under `/{base}`: new, or editing `id`.
    pub fn new(
        s: &Session,
        (base, what): (&'static str, &str),
        info: &tinyforge_plugin::KindInfo,
        id: Option<&str>,
        name: &str,
        config: Option<&serde_json::Value>,
        errors: &form::Errors,
    ) -> (Chrome, Self) {
        let title = if id.is_some() { format!("Edit {name}") } else { format!("New {} {what}", info.kind) };
        let help = info.schema.get("description").and_then(serde_json::Value::as_str).unwrap_or_default();
        let f = ConfigForm {
            action: id.map_or_else(|| format!("/{base}/new"), |id| format!("/{base}/{id}/edit")),
            editing: id.is_some(),
            kind: info.kind.to_owned(),
            kind_help: form::esc(help),
            name: name.to_owned(),
            form_html: form::render(&info.schema, "cfg", config, errors),
            errors: form::summary(errors),
            name_error: errors.get("name").cloned(),
        };
        (Chrome::new(s, title, base), f)
    }
}

/// `?kind=` of a new-form page.
#[derive(serde::Deserialize)]
pub struct KindQuery {
    pub kind: Option<String>,
}

/// The kind named `kind` among `kinds`, or a 400 naming `field`.
pub fn find_kind(
    kinds: Vec<tinyforge_plugin::KindInfo>,
    kind: &str,
    field: &str,
    what: &str,
) -> Result<tinyforge_plugin::KindInfo, UiError> {
    kinds
        .into_iter()
        .find(|k| k.kind == kind)
        .ok_or_else(|| ApiError::bad(field, format!("no {what} kind `{kind}`")).into())
}

/// Renders a page.
pub fn html(t: &impl Template) -> Result<Response, UiError> {
    Ok(Html(t.render()?).into_response())
}

/// Renders a page with a status (forms shown again with their errors answer 400).
pub fn html_status(status: StatusCode, t: &impl Template) -> Result<Response, UiError> {
    Ok((status, Html(t.render()?)).into_response())
}

/// After a form: back to a page (303, so a reload does not post again).
pub fn see(to: impl AsRef<str>) -> Result<Response, UiError> {
    Ok(Redirect::to(to.as_ref()).into_response())
}

/// A submitted form's field, trimmed.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

/// Session lifetime in seconds, for cookies.
pub const SESSION_SECS: i64 = SESSION_HOURS * 3600;

/// Opens a session and answers with its cookie and a redirect to `to`.
pub fn signed_in(st: &AppState, headers: &HeaderMap, to: &str) -> Result<Response, UiError> {
    let (token, _) = st.control.store().create_session(SESSION_HOURS)?;
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(headers, SESSION_COOKIE, &token, SESSION_SECS));
    Ok(resp)
}
