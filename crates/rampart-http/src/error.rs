//! Rendering errors: every failure becomes `{"error": {"code", "message"}}` with the
//! status of the contract. Internal details go to the log with the request id, never to
//! the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_api::{ErrorBody, ErrorDetail};
use rampart_app::AppError;
use rampart_domain::ErrorCode;
use rampart_domain::error_code::INVALID_FIELD_PREFIX;

/// An error on its way to the client. Its code is always an [`ErrorCode`] of the
/// catalogue or an `invalid_<field>` validation code: no other string can be built.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub permission: Option<String>,
    /// Seconds for `Retry-After` on a 429.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error answered with the status its code is catalogued with.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
        )
    }

    /// An error answered with `status` (a code such as `state_locked` is answered 423 to
    /// LOCK and 409 to a write; see the catalogue).
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.as_str().to_owned(),
            message: message.into(),
            field: None,
            permission: None,
            retry_after_secs: None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                field: self.field.clone(),
                permission: self.permission.clone(),
            },
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Invalid(validation) => Self {
                status: StatusCode::BAD_REQUEST,
                code: format!("{INVALID_FIELD_PREFIX}{}", validation.field),
                message: validation.to_string(),
                field: Some(validation.field.to_owned()),
                permission: None,
                retry_after_secs: None,
            },
            AppError::BadRequest { code, message } => {
                Self::with_status(StatusCode::BAD_REQUEST, code, message)
            }
            AppError::Unauthenticated { code, message } => {
                Self::with_status(StatusCode::UNAUTHORIZED, code, message)
            }
            AppError::Forbidden { code, message } => {
                let mut error = Self::with_status(StatusCode::FORBIDDEN, code, message.clone());
                error.permission = message
                    .strip_prefix("missing permission ")
                    .map(str::to_owned);
                error
            }
            AppError::NotFound { what } => {
                Self::new(ErrorCode::NotFound, format!("{what} not found"))
            }
            AppError::Conflict { code, message } => {
                Self::with_status(StatusCode::CONFLICT, code, message)
            }
            AppError::Unprocessable { code, message } => {
                Self::with_status(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AppError::Gone { code, message } => Self::with_status(StatusCode::GONE, code, message),
            AppError::RateLimited {
                code,
                message,
                retry_after_secs,
            } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::with_status(StatusCode::TOO_MANY_REQUESTS, code, message)
            },
            AppError::TooLarge { code, message } => {
                Self::with_status(StatusCode::PAYLOAD_TOO_LARGE, code, message)
            }
            AppError::Locked { code, message } => {
                Self::with_status(StatusCode::LOCKED, code, message)
            }
            AppError::Corrupt { code, message } => {
                tracing::error!(%code, %message, "stored data failed an integrity check");
                Self::with_status(StatusCode::INTERNAL_SERVER_ERROR, code, message)
            }
            AppError::Upstream { code, message } => {
                tracing::warn!(%code, %message, "an upstream server failed");
                Self::with_status(StatusCode::BAD_GATEWAY, code, message)
            }
            AppError::Misconfigured { code, message } => {
                tracing::error!(%code, %message, "this replica is misconfigured");
                Self::with_status(StatusCode::SERVICE_UNAVAILABLE, code, message)
            }
            AppError::Contention(detail) => {
                tracing::warn!(%detail, "a transaction lost a conflict with a concurrent one");
                Self::new(
                    ErrorCode::StoreUnavailable,
                    "the database was busy with a conflicting change; retry",
                )
            }
            AppError::Unavailable(detail) => {
                tracing::error!(%detail, "store unavailable");
                Self::new(
                    ErrorCode::StoreUnavailable,
                    "the database is unavailable; retry later",
                )
            }
            AppError::Integrity(detail) => {
                tracing::error!(%detail, "integrity check failed");
                Self::new(
                    ErrorCode::IntegrityViolation,
                    "stored data failed an integrity check; an operator has been alerted in the log",
                )
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::new(
                    ErrorCode::InternalError,
                    "internal error; the request id identifies it in the server log",
                )
            }
        }
    }
}

impl ApiError {
    /// This error's status and headers (`Retry-After`, `WWW-Authenticate`) with another
    /// body: for a route that answers errors in its clients' own shape (PagerDuty's)
    /// and still carries the catalogued code in it.
    pub fn into_response_with(self, body: impl serde::Serialize) -> Response {
        let status = self.status;
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rampart\""),
            );
        }
        if let Some(seconds) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        self.into_response_with(body)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
