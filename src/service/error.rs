//! The domain layer's one error type. The GraphQL layer maps it to error codes once
//! (`graphql::error`); HTTP endpoints map it to status codes.
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication required")]
    Unauthenticated,
    /// A failed sign-in: unknown user, disabled user and wrong password answer alike.
    #[error("wrong username or password")]
    WrongCredentials,
    /// A signed-in user's current password, asked again before a change, was wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Too many sign-in attempts for a username or from an address.
    #[error("too many sign-in attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Forbidden(String),
    /// Also the answer for rows the principal may not see, so that existence never leaks.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    BadInput(String),
    /// An answer over the response size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The database could not be reached in time (pool exhausted, server down).
    #[error("the database is unavailable; try again shortly")]
    Unavailable(String),
    #[error("version {expected} is stale; the current version is {current}")]
    Conflict { expected: i32, current: i32 },
    #[error("{0}")]
    WindowClosed(String),
    #[error("cannot {action} a submission in status {from}")]
    InvalidTransition { from: String, action: String },
    /// Never shown to clients: the display is generic, the cause goes to the log.
    #[error("internal server error")]
    Database(DbErr),
    #[error("internal server error")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// The same error again, for each of the callers that share one (a database error
    /// is logged once, by whoever shows it, and each copy says only that it was internal).
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Unauthenticated => Self::Unauthenticated,
            Self::WrongCredentials => Self::WrongCredentials,
            Self::WrongPassword => Self::WrongPassword,
            Self::TooManyRequests { retry_after_secs } => Self::TooManyRequests {
                retry_after_secs: *retry_after_secs,
            },
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::NotFound(m) => Self::NotFound(m.clone()),
            Self::BadInput(m) => Self::BadInput(m.clone()),
            Self::TooLarge(m) => Self::TooLarge(m.clone()),
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Conflict { expected, current } => Self::Conflict {
                expected: *expected,
                current: *current,
            },
            Self::WindowClosed(m) => Self::WindowClosed(m.clone()),
            Self::InvalidTransition { from, action } => Self::InvalidTransition {
                from: from.clone(),
                action: action.clone(),
            },
            Self::Database(e) => Self::Internal(format!("database: {e}")),
            Self::Internal(m) => Self::Internal(m.clone()),
        }
    }
}

impl From<DbErr> for ServiceError {
    /// A database that cannot be reached (no pooled connection in time, a refused or
    /// broken connection, a server shutting down) is SERVICE_UNAVAILABLE, for the client
    /// to retry; anything else is internal.
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(err.to_string()),
            _ if is_unavailable(&err) => Self::Unavailable(err.to_string()),
            _ => Self::Database(err),
        }
    }
}

/// A statement failed because the database went away or gave up, not because of the
/// statement: the connection broke under it (an I/O error), PostgreSQL's
/// `statement_timeout` cancelled it (SQLSTATE 57014), the server is shutting down or
/// starting (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), the
/// connection failed (class 08), or it chose this transaction to end a deadlock (40P01)
/// or could not serialize it (40001), which trying again resolves; or SQLite found its
/// disk full or could not get the write lock in time.
fn is_unavailable(err: &DbErr) -> bool {
    let (DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    match &**e {
        sea_orm::sqlx::Error::Io(_)
        | sea_orm::sqlx::Error::PoolTimedOut
        | sea_orm::sqlx::Error::PoolClosed => true,
        other => other.as_database_error().is_some_and(|d| {
            if d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLite: the disk is full (SQLITE_FULL) or the write lock was not had in
                // time (SQLITE_BUSY, SQLITE_LOCKED); extended codes keep the primary one
                // in their low byte.
                return d
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 13));
            }
            d.code().is_some_and(|code| {
                matches!(
                    &*code,
                    "57014" | "57P01" | "57P02" | "57P03" | "40P01" | "40001"
                ) || code.starts_with("08")
            })
        }),
    }
}

impl ServiceError {
    /// `instead` where `err` broke a unique index: another transaction committed the same
    /// key after this one checked for it (PostgreSQL reads what was committed when each
    /// statement starts). Any other error maps as usual.
    pub fn unless_unique(err: DbErr, instead: ServiceError) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => instead,
            _ => err.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// The stable code clients see in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::WrongCredentials | Self::WrongPassword => {
                "UNAUTHENTICATED"
            }
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::TooLarge(_) => "RESPONSE_TOO_LARGE",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Conflict { .. } => "CONFLICT",
            Self::WindowClosed(_) => "WINDOW_CLOSED",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::Database(_) | Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Internal(_))
    }

    /// Where the cause is internal, log it once, with its details.
    pub fn log_if_internal(&self) {
        match self {
            Self::Database(err) => tracing::error!(error = %err, "database error"),
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::Unavailable(detail) => tracing::warn!(%detail, "database unavailable"),
            _ => {}
        }
    }
}
