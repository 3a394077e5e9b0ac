//! The one error type of the server and its single mapping to GraphQL errors with `extensions.code`.
use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` error into a
/// GraphQL error without extensions, and every error here must carry its `extensions.code`.
#[derive(Debug, Clone)]
pub enum AppError {
    /// Input that breaks a rule; `field` names the input field (e.g. "nik", "endsOn").
    BadInput {
        field: &'static str,
        message: String,
    },
    NotFound(String),
    Conflict(String),
    InvalidState(String),
    NotCovered(String),
    Unauthenticated,
    Forbidden(String),
    /// The request or one of its statements ran past its time limit.
    TooSlow(String),
    /// Anything unexpected. Logged with an id; the client sees only the id.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        AppError::BadInput { field, message: message.into() }
    }

    /// The message a client sees (internal details are never part of it).
    pub fn message(&self) -> String {
        match self {
            AppError::BadInput { message, .. } => message.clone(),
            AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::InvalidState(m)
            | AppError::NotCovered(m)
            | AppError::Forbidden(m)
            | AppError::TooSlow(m) => m.clone(),
            AppError::Unauthenticated => "an API key is required: send `Authorization: Bearer <key>`".into(),
            AppError::Internal(_) => "internal error".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InvalidState(_) => "INVALID_STATE",
            AppError::NotCovered(_) => "NOT_COVERED",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            // The contract's codes have no timeout of their own; the message says what happened.
            AppError::TooSlow(_) | AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        // A unique index is the last line of defence against duplicates raced past a pre-check.
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return AppError::Conflict("this record already exists".into());
        }
        // PostgreSQL's statement_timeout (SQLSTATE 57014).
        if err.to_string().contains("statement timeout") {
            return AppError::TooSlow("the database took too long to answer and the query was cancelled".into());
        }
        AppError::Internal(err.to_string())
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
                format!("internal error (id {error_id})")
            }
            other => other.message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let AppError::BadInput { field, .. } = self {
                ext.set("field", *field);
            }
        })
    }
}
