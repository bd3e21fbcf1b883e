//! Errors as HTTP answers, in GraphQL's error shape on every endpoint.
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::service::ServiceError;

pub struct HttpError(pub ServiceError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let error = self.0;
        error.log_if_internal();
        let status = match &error {
            ServiceError::Unauthenticated
            | ServiceError::WrongCredentials
            | ServiceError::WrongPassword => StatusCode::UNAUTHORIZED,
            ServiceError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Conflict { .. } | ServiceError::InvalidTransition { .. } => {
                StatusCode::CONFLICT
            }
            ServiceError::WindowClosed(_) => StatusCode::CONFLICT,
            ServiceError::Database(_) | ServiceError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        error_response(status, error.code(), &error.to_string())
    }
}

/// The one shape of every error the HTTP layer answers, GraphQL's:
/// `{"errors":[{"message":…,"extensions":{"code":…}}]}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
