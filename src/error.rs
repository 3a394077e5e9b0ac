//! The one error type of the server and its single mapping to GraphQL errors with `extensions.code`.
//!
//! Messages are `Msg` values, not text: whoever raises an error does not know the language of
//! the person who will read it. The GraphQL error carries the English text and, as its source,
//! the `Msg`; the HTTP layer renders it in the request's language (`http::localize`).
use std::sync::Arc;

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

use crate::i18n::{Lang, Msg};

/// Everything that can go wrong in a request, each variant with its `extensions.code`.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` error into a
/// GraphQL error without extensions, and every error here must carry its `extensions.code`.
#[derive(Debug, Clone)]
pub enum AppError {
    /// Input that breaks a rule; `field` names the input field (e.g. "nik", "endsOn").
    BadInput {
        field: &'static str,
        message: Msg,
    },
    NotFound(Msg),
    Conflict(Msg),
    InvalidState(Msg),
    NotCovered(Msg),
    /// No key where one is needed.
    Unauthenticated,
    /// A key that is not active: unknown, revoked, or not sent as `Bearer <key>`. Its code is
    /// UNAUTHENTICATED too; the message tells the caller that sending a key is not the problem.
    UnknownKey,
    /// A credential sent and refused for a reason the caller is told: an expired key, an access
    /// token that fails a check. UNAUTHENTICATED, like an unknown key.
    Refused(Msg),
    Forbidden(Msg),
    /// The request or one of its statements ran past its time limit.
    TooSlow(Msg),
    /// The database is unreachable or every connection is busy: nothing was done, retry later.
    Unavailable(Msg),
    /// A budget over time is spent (HTTP 429 with Retry-After).
    RateLimited {
        message: Msg,
        retry_after_secs: u64,
    },
    /// Anything unexpected. Logged with an id; the client sees only the id.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The code of `Unavailable`, which HTTP answers with 503 wherever it appears.
    pub const UNAVAILABLE_CODE: &'static str = "SERVICE_UNAVAILABLE";
    /// The code of `RateLimited`, answered with 429 and `Retry-After` (also in `extensions.retryAfter`).
    pub const RATE_LIMITED_CODE: &'static str = "RATE_LIMITED";

    pub fn bad_input(field: &'static str, message: impl Into<Msg>) -> Self {
        AppError::BadInput { field, message: message.into() }
    }

    pub fn rate_limited(message: Msg, wait: std::time::Duration) -> Self {
        AppError::RateLimited { message, retry_after_secs: whole_seconds(wait) }
    }

    /// The message a client sees, in no language yet (internal details are never part of it).
    pub fn message(&self) -> Msg {
        match self {
            AppError::BadInput { message, .. } | AppError::RateLimited { message, .. } => message.clone(),
            AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::InvalidState(m)
            | AppError::NotCovered(m)
            | AppError::Forbidden(m)
            | AppError::Refused(m)
            | AppError::TooSlow(m)
            | AppError::Unavailable(m) => m.clone(),
            AppError::Unauthenticated => Msg::KeyRequired,
            AppError::UnknownKey => Msg::UnknownKey,
            AppError::Internal(_) => Msg::Internal { error_id: None },
        }
    }

    /// The message in `lang` (the CLI's; the server renders at the HTTP edge).
    pub fn text(&self, lang: Lang) -> String {
        self.message().text(lang)
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InvalidState(_) => "INVALID_STATE",
            AppError::NotCovered(_) => "NOT_COVERED",
            AppError::Unauthenticated | AppError::UnknownKey | AppError::Refused(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Unavailable(_) => AppError::UNAVAILABLE_CODE,
            AppError::RateLimited { .. } => AppError::RATE_LIMITED_CODE,
            // The contract's codes have no timeout of their own; the message says what happened.
            AppError::TooSlow(_) | AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        // A unique index is the last line of defence against duplicates raced past a pre-check.
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return AppError::Conflict(Msg::RecordExists);
        }
        // PostgreSQL's statement_timeout (SQLSTATE 57014).
        if err.to_string().contains("statement timeout") {
            return AppError::TooSlow(Msg::StatementTimeout);
        }
        if let Some(message) = unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return AppError::Unavailable(message);
        }
        AppError::Internal(err.to_string())
    }
}

/// Failures that say nothing about the request and will pass: the pool had no connection in
/// time, the connection broke (PostgreSQL stopped or restarting, a network cut), or the database
/// refused new work while shutting down. The transaction, if any, did not commit.
fn unavailable(err: &DbErr) -> Option<Msg> {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{ConnAcquireErr, RuntimeErr};
    const UNREACHABLE: Msg = Msg::DatabaseUnreachable;
    const BUSY: Msg = Msg::DatabaseBusy;
    let sqlx = match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => return Some(BUSY),
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => return Some(UNREACHABLE),
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return Some(UNREACHABLE),
        _ => return None,
    };
    match sqlx.as_ref() {
        Sqlx::PoolTimedOut => Some(BUSY),
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Protocol(_) => Some(UNREACHABLE),
        Sqlx::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: class 08 connection exceptions, 57P01-57P03 shutting down or starting
            // up. SQLite: 5 and 6, a lock still held after the busy timeout.
            if code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03") {
                Some(UNREACHABLE)
            } else if matches!(code.as_ref(), "5" | "6") {
                Some(BUSY)
            } else {
                None
            }
        }
        _ => None,
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            AppError::Internal(detail) => {
                let error_id = uuid::Uuid::new_v4();
                tracing::error!(%error_id, detail, "internal error");
                Msg::Internal { error_id: Some(error_id.to_string()) }
            }
            other => other.message(),
        };
        // English until the HTTP layer knows better: the source is what it renders.
        let mut error = async_graphql::Error::new(message.text(Lang::En));
        error.source = Some(Arc::new(message));
        error.extend_with(|_, ext| {
            ext.set("code", self.code());
            if let AppError::BadInput { field, .. } = self {
                ext.set("field", *field);
            }
            if let AppError::RateLimited { retry_after_secs, .. } = self {
                ext.set("retryAfter", *retry_after_secs);
            }
        })
    }
}

/// Whole seconds to tell a client to wait, at least 1.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}
