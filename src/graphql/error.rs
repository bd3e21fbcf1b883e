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
