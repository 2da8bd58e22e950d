//! Store errors. Messages are for operators' logs; the HTTP edge maps the variants to
//! stable codes and never shows the text of `Internal` to a client.

use sqlx::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or foreign-key rule refused the write. `constraint` names the rule
    /// when the engine reports it.
    #[error("constraint violated: {constraint:?}")]
    Conflict { constraint: Option<String> },
    /// The database cannot be reached or is overloaded.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database rolled the transaction back to break a deadlock or a serialization
    /// conflict with a concurrent one (SQLSTATE class 40): running it again can succeed.
    #[error("the transaction lost a conflict with a concurrent one: {0}")]
    Contention(String),
    /// Stored data does not decode (changed behind the server's back, or a bug).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("bad store configuration: {0}")]
    Config(String),
    #[error("migration refused: {0}")]
    Migration(String),
    #[error("store error: {0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn from_connect(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Configuration(detail) => StoreError::Config(detail.to_string()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// Whether a PostgreSQL SQLSTATE says the database, not the request, is the problem: the
/// server is shutting down or restarting, the connection was terminated
/// (`pg_terminate_backend`, failover), no connection could be made (too many clients, the
/// database not accepting connections), or it is out of resources. A retry later can
/// succeed, so these are answered 503 rather than 500.
fn is_unavailable_sqlstate(code: &str, message: &str) -> bool {
    // Class 08: connection exception. Class 53: insufficient resources (too many
    // connections, out of memory, disk full). Class 57P: operator intervention —
    // 57P01 admin_shutdown (`pg_terminate_backend`), 57P02 crash_shutdown, 57P03
    // cannot_connect_now (starting up), 57P05 idle_session_timeout. Class 58: system
    // error (I/O) below PostgreSQL. 55000 is a generic "not in prerequisite state";
    // only the connect-time refusal of a database with connections disallowed counts.
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code.starts_with("58")
        || (code == "55000" && message.contains("not currently accepting connections"))
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database) => match database.kind() {
                ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => {
                    StoreError::Conflict {
                        constraint: database.constraint().map(str::to_owned),
                    }
                }
                // 40001 serialization_failure, 40P01 deadlock_detected.
                _ if database
                    .code()
                    .is_some_and(|code| code == "40001" || code == "40P01") =>
                {
                    StoreError::Contention(database.message().to_owned())
                }
                _ if database
                    .code()
                    .is_some_and(|code| is_unavailable_sqlstate(&code, database.message())) =>
                {
                    StoreError::Unavailable(database.message().to_owned())
                }
                _ => {
                    let message = database.message();
                    // SQLite reports busy/locked and I/O problems as plain database errors.
                    if message.contains("database is locked") || message.contains("disk I/O") {
                        StoreError::Unavailable(message.to_owned())
                    } else {
                        StoreError::Internal(message.to_owned())
                    }
                }
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                StoreError::Corrupt(error.to_string())
            }
            _ => StoreError::Internal(error.to_string()),
        }
    }
}
