//! First run, sign-in, the admin password and API tokens (A3). No open sign-up: the setup token
//! printed at first start sets the admin password (Argon2id), which later changes only with the
//! current one; sign-in and setup forms carry a double-submit CSRF token (cookie + field) since
//! no session exists yet.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tinyforge_store::{TokenRow, new_secret};

use super::{
    Chrome, Posted, Session, UiError, When, cookie, field, html, html_status, see, set_cookie, signed_in,
};
use crate::api::AppState;

/// The pre-session CSRF cookie of the sign-in and setup forms.
const PRE_COOKIE: &str = "tf_pre";
/// Shortest admin password accepted.
const MIN_PASSWORD: usize = 10;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    setup: bool,
    csrf: String,
    setup_token: String,
    error: Option<String>,
}

/// A sign-in or setup form with a fresh pre-session CSRF token in cookie and field.
fn pre_form(headers: &HeaderMap, status: StatusCode, mut page: LoginPage) -> Result<Response, UiError> {
    page.csrf = new_secret();
    let mut resp = html_status(status, &page)?;
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(headers, PRE_COOKIE, &page.csrf, 3600));
    Ok(resp)
}

fn pre_csrf_ok(headers: &HeaderMap, pairs: &[(String, String)]) -> bool {
    let sent = field(pairs, "_csrf");
    cookie(headers, PRE_COOKIE)
        .is_some_and(|c| !sent.is_empty() && bool::from(c.as_bytes().ct_eq(sent.as_bytes())))
}

fn page(setup: bool, setup_token: &str, error: Option<String>) -> LoginPage {
    LoginPage { setup, csrf: String::new(), setup_token: setup_token.to_owned(), error }
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

pub async fn setup_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Result<Response, UiError> {
    if st.control.store().admin_password()?.is_some() {
        return see("/login");
    }
    pre_form(&headers, StatusCode::OK, page(true, &q.token, None))
}

pub async fn setup(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    if st.control.store().admin_password()?.is_some() {
        return see("/login");
    }
    let token = field(&pairs, "setup_token");
    let again = |msg: &str| pre_form(&headers, StatusCode::BAD_REQUEST, page(true, token, Some(msg.into())));
    if !pre_csrf_ok(&headers, &pairs) {
        return Err(UiError::Forbidden(
            "the form's security token is missing or stale; reload the page".into(),
        ));
    }
    let valid = st
        .setup_token
        .lock()
        .expect("setup token")
        .as_deref()
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())));
    if !valid {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return again("That setup token is not the one printed on the console at first start.");
    }
    let phc = match new_password(&pairs).await? {
        Ok(phc) => phc,
        Err(why) => return again(&why),
    };
    st.control.store().set_admin_password(&phc)?;
    st.setup_token.lock().expect("setup token").take();
    let _ = std::fs::remove_file(st.data_dir.join("setup.token"));
    tracing::info!("admin password set; the setup token is spent");
    signed_in(&st, &headers, "/")
}

pub async fn login_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, UiError> {
    if st.control.store().admin_password()?.is_none() {
        return see("/setup");
    }
    pre_form(&headers, StatusCode::OK, page(false, "", None))
}

pub async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let Some(phc) = st.control.store().admin_password()? else { return see("/setup") };
    if !pre_csrf_ok(&headers, &pairs) {
        return Err(UiError::Forbidden(
            "the form's security token is missing or stale; reload the page".into(),
        ));
    }
    if !verified(phc, field(&pairs, "password")).await {
        tracing::warn!("web sign-in refused: wrong password");
        return pre_form(&headers, StatusCode::UNAUTHORIZED, page(false, "", Some("Wrong password.".into())));
    }
    signed_in(&st, &headers, "/")
}

/// Whether `password` matches the PHC string (off the async threads; a mismatch waits 300 ms).
async fn verified(phc: String, password: &str) -> bool {
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false);
    if !ok {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ok
}

/// The PHC string of the form's new `password` (repeated in `confirm`), or why it is refused.
async fn new_password(pairs: &[(String, String)]) -> Result<Result<String, String>, UiError> {
    let password = field(pairs, "password").to_owned();
    if password.chars().count() < MIN_PASSWORD {
        return Ok(Err(format!("Use at least {MIN_PASSWORD} characters.")));
    }
    if password != field(pairs, "confirm") {
        return Ok(Err("The two passwords differ.".into()));
    }
    let phc = tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string())
    })
    .await
    .map_err(|e| UiError::Forbidden(e.to_string()))?
    .map_err(|e| UiError::Forbidden(format!("hashing failed: {e}")))?;
    Ok(Ok(phc))
}

/// Changes the admin password: the current one is asked for; every session ends but this one's
/// successor.
pub async fn change_password(
    State(st): State<AppState>,
    headers: HeaderMap,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let refuse = |why: String| -> Result<Response, UiError> {
        html_status(StatusCode::BAD_REQUEST, &TokensPage { error: Some(why), ..TokensPage::new(&st, &s)? })
    };
    let Some(phc) = st.control.store().admin_password()? else { return see("/setup") };
    if !verified(phc, field(&pairs, "current")).await {
        tracing::warn!("admin password change refused: wrong current password");
        return refuse("The current password is wrong.".into());
    }
    let phc = match new_password(&pairs).await? {
        Ok(phc) => phc,
        Err(why) => return refuse(why),
    };
    st.control.store().set_admin_password(&phc)?;
    tracing::info!("admin password changed; every other session ended");
    signed_in(&st, &headers, "/tokens?password=changed")
}

pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Posted { s, .. }: Posted,
) -> Result<Response, UiError> {
    st.control.store().delete_session(&s.token)?;
    let mut resp = see("/login")?;
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&headers, super::SESSION_COOKIE, "gone", 0));
    Ok(resp)
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    created: Option<(String, String)>,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct TokensQuery {
    #[serde(default)]
    password: String,
}

impl TokensPage {
    fn new(st: &AppState, s: &Session) -> Result<Self, UiError> {
        let tokens = st.control.store().tokens()?;
        Ok(Self {
            chrome: Chrome::new(s, "Account", "tokens"),
            tokens,
            created: None,
            error: None,
            notice: None,
        })
    }
}

pub async fn tokens(
    State(st): State<AppState>,
    s: Session,
    Query(q): Query<TokensQuery>,
) -> Result<Response, UiError> {
    let notice = (q.password == "changed").then_some("Password changed; every other session was signed out.");
    html(&TokensPage { notice, ..TokensPage::new(&st, &s)? })
}

pub async fn create_token(
    State(st): State<AppState>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let name = field(&pairs, "name");
    if name.is_empty() || name.len() > 64 {
        let error = Some("Give the token a name (up to 64 characters), e.g. `ci`.".into());
        return html_status(StatusCode::BAD_REQUEST, &TokensPage { error, ..TokensPage::new(&st, &s)? });
    }
    let value = st.control.store().create_token(name)?;
    let created = Some((name.to_owned(), value));
    let mut resp = html(&TokensPage { created, ..TokensPage::new(&st, &s)? })?;
    resp.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    Ok(resp.into_response())
}

pub async fn revoke_token(
    State(st): State<AppState>,
    Path(id): Path<String>,
    _: Posted,
) -> Result<Response, UiError> {
    st.control.store().delete_token(&id)?;
    see("/tokens")
}
