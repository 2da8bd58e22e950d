//! Use-case errors. Each variant maps to one HTTP status at the edge; every `code` is an
//! [`ErrorCode`] of the catalogue (`rampart_domain::error_code`), stable API that
//! clients match on. Messages are safe to show: they never contain
//! secrets, SQL or internal paths. `Internal` and `Unavailable` details go to the log only.

use rampart_domain::ErrorCode;
use rampart_domain::ValidationError;
use rampart_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: a field failed validation (400, code `invalid_<field>`).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Input that is well formed but not acceptable (400 with a specific code).
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// No credentials, or credentials that do not work (401).
    #[error("{message}")]
    Unauthenticated { code: ErrorCode, message: String },
    /// Authenticated but not allowed (403).
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// Missing, or not visible to the caller (404).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A uniqueness or state rule refused the change (409).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Semantically invalid (422).
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// The data existed but can never be read again: its keys were destroyed (410,
    /// `data_shredded`).
    #[error("{message}")]
    Gone { code: ErrorCode, message: String },
    /// Over a named size limit (413).
    #[error("{message}")]
    TooLarge { code: ErrorCode, message: String },
    /// Too many requests (429 with `Retry-After`).
    #[error("{message}")]
    RateLimited {
        code: ErrorCode,
        message: String,
        retry_after_secs: u64,
    },
    /// Held by someone else (423).
    #[error("{message}")]
    Locked { code: ErrorCode, message: String },
    /// Stored data failed an integrity check that the caller must hear about by name
    /// (500 with this code, e.g. `state_integrity_violation`); the data is not served.
    #[error("{message}")]
    Corrupt { code: ErrorCode, message: String },
    /// This server is set up wrongly for the data it serves (503 with this code, e.g.
    /// `root_key_mismatch`): another replica can answer; an operator must fix this one.
    #[error("{message}")]
    Misconfigured { code: ErrorCode, message: String },
    /// A server this one had to ask (an identity provider) failed or answered something
    /// unusable (502 with this code).
    #[error("{message}")]
    Upstream { code: ErrorCode, message: String },
    /// The database rolled the transaction back in a conflict with a concurrent one
    /// (503 if it reaches a client; use cases that can, run the transaction again).
    #[error("the database was busy")]
    Contention(String),
    /// The store cannot be reached (503).
    #[error("the database is unavailable")]
    Unavailable(String),
    /// Stored data failed an integrity check.
    #[error("stored data failed an integrity check")]
    Integrity(String),
    /// A bug or an unexpected failure (500). The text is logged, never returned.
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn unauthenticated(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl From<rampart_domain::Refusal> for AppError {
    /// A domain rule's refusal, answered with the status its code is catalogued with.
    fn from(refusal: rampart_domain::Refusal) -> Self {
        let code = refusal.code;
        let message = refusal.message;
        match refusal.code.status() {
            401 => AppError::Unauthenticated { code, message },
            403 => AppError::Forbidden { code, message },
            409 => AppError::Conflict { code, message },
            410 => AppError::Gone { code, message },
            413 => AppError::TooLarge { code, message },
            422 => AppError::Unprocessable { code, message },
            423 => AppError::Locked { code, message },
            _ => AppError::BadRequest { code, message },
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => AppError::Unavailable(detail),
            StoreError::Contention(detail) => AppError::Contention(detail),
            StoreError::Corrupt(detail) => AppError::Integrity(detail),
            // A conflict that reaches here was not anticipated by the use case; the
            // use cases translate the expected ones into specific codes.
            StoreError::Conflict { constraint } => {
                tracing::info!(?constraint, "unanticipated store conflict");
                AppError::conflict(
                    ErrorCode::Conflict,
                    "the change conflicts with existing data",
                )
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<rampart_crypto::CryptoError> for AppError {
    fn from(error: rampart_crypto::CryptoError) -> Self {
        AppError::Internal(error.to_string())
    }
}
