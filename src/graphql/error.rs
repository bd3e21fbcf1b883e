//! The one mapping from domain errors to GraphQL errors with `extensions.code`.
use std::sync::Arc;

use async_graphql::{Error, ErrorExtensions};

use crate::service::ServiceError;

impl ErrorExtensions for ServiceError {
    fn extend(&self) -> Error {
        self.log_if_internal();
        // Internal errors display generically; their cause went to the log above.
        let mut error = Error::new(self.to_string()).extend_with(|_, e| e.set("code", self.code()));
        match self {
            ServiceError::Conflict { current, .. } => {
                error = error.extend_with(|_, e| e.set("currentVersion", *current));
            }
            ServiceError::TooManyRequests { retry_after_secs } => {
                error = error.extend_with(|_, e| e.set("retryAfterSeconds", *retry_after_secs));
            }
            _ => {}
        }
        error
    }
}

/// A domain error of the request as a whole (no place in the document): without
/// `locations`, which GraphQL counts from line 1 and a request-level error has none of.
pub fn request_error(error: &ServiceError) -> async_graphql::ServerError {
    let mut error = error
        .extend()
        .into_server_error(async_graphql::Pos::default());
    error.locations.clear();
    error
}

/// Converts domain results (and DataLoader results, whose errors are shared) to GraphQL results.
pub trait IntoGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGql<T> for Result<T, ServiceError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

impl<T> IntoGql<T> for Result<T, Arc<ServiceError>> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}
