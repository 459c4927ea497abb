//! First run, sign-in and API tokens (A3). No open sign-up: the setup token printed at first start
//! sets the admin password (Argon2id); sign-in and setup forms carry a double-submit CSRF token
//! (cookie + field) since no session exists yet.

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
    let password = field(&pairs, "password");
    if password.chars().count() < MIN_PASSWORD {
        return again(&format!("Use at least {MIN_PASSWORD} characters."));
    }
    if password != field(&pairs, "confirm") {
        return again("The two passwords differ.");
    }
    let phc = tokio::task::spawn_blocking({
        let pw = password.to_owned();
        move || Argon2::default().hash_password(pw.as_bytes()).map(|h| h.to_string())
    })
    .await
    .map_err(|e| UiError::Forbidden(e.to_string()))?
    .map_err(|e| UiError::Forbidden(format!("hashing failed: {e}")))?;
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
    let password = field(&pairs, "password").to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false);
    if !ok {
        tracing::warn!("web sign-in refused: wrong password");
        tokio::time::sleep(Duration::from_millis(300)).await;
        return pre_form(&headers, StatusCode::UNAUTHORIZED, page(false, "", Some("Wrong password.".into())));
    }
    signed_in(&st, &headers, "/")
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
}

pub async fn tokens(State(st): State<AppState>, s: Session) -> Result<Response, UiError> {
    let tokens = st.control.store().tokens()?;
    html(&TokensPage { chrome: Chrome::new(&s, "API tokens", "tokens"), tokens, created: None, error: None })
}

pub async fn create_token(
    State(st): State<AppState>,
    Posted { s, pairs }: Posted,
) -> Result<Response, UiError> {
    let name = field(&pairs, "name");
    let chrome = Chrome::new(&s, "API tokens", "tokens");
    if name.is_empty() || name.len() > 64 {
        let tokens = st.control.store().tokens()?;
        let error = Some("Give the token a name (up to 64 characters), e.g. `ci`.".into());
        return html_status(StatusCode::BAD_REQUEST, &TokensPage { chrome, tokens, created: None, error });
    }
    let value = st.control.store().create_token(name)?;
    let tokens = st.control.store().tokens()?;
    let mut resp =
        html(&TokensPage { chrome, tokens, created: Some((name.to_owned(), value)), error: None })?;
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
