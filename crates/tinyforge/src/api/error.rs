//! API errors as `{error, detail, field}` and a JSON extractor whose errors name the bad field.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tinyforge_control::ControlError;
use tinyforge_plugin::{ConfigError, PluginError, RegistryError};
use tinyforge_store::StoreError;

/// What every error answers (4xx and 5xx).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid_request`, `invalid_config`, `not_found`, `unauthorized`, …
    pub error: &'static str,
    /// What went wrong, in plain words.
    pub detail: String,
    /// The request field at fault (`source_config.faces[0].port`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self { status, error, detail: detail.into(), field: None }
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn bad(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail).field(field)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API token is required: Authorization: Bearer <token>",
        )
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }
    /// A config error under `prefix` (e.g. `source_config`).
    pub fn config(prefix: &str, e: ConfigError) -> Self {
        let field = if e.field.is_empty() {
            prefix.to_owned()
        } else if e.field.starts_with('[') {
            format!("{prefix}{}", e.field)
        } else {
            format!("{prefix}.{}", e.field)
        };
        Self::new(StatusCode::BAD_REQUEST, "invalid_config", e.message).field(field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.error, detail: self.detail, field: self.field };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m).field("name"),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the database failed; see the server log",
                )
            }
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Store(s) => s.into(),
            ControlError::Registry(r @ RegistryError::Unknown { .. }) => {
                Self::bad("source_kind", r.to_string())
            }
            ControlError::Registry(r) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", r.to_string())
            }
            ControlError::Plugin(PluginError::Config(c)) => Self::config("source_config", c),
            ControlError::Plugin(p) => Self::new(StatusCode::BAD_GATEWAY, "plugin_failed", p.to_string()),
            ControlError::Invalid(m) => Self::new(StatusCode::CONFLICT, "invalid_state", m),
        }
    }
}

/// `Json<T>` whose rejections are API errors naming the bad field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text()))?;
        let text = if bytes.is_empty() { &b"{}"[..] } else { &bytes[..] };
        let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not JSON: {e}"))
        })?;
        tinyforge_plugin::schema::parse_config(&value).map(ApiJson).map_err(|e| {
            let mut err = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.message);
            if !e.field.is_empty() {
                err = err.field(e.field);
            }
            err
        })
    }
}
