//! Domain errors as plain HTTP answers (for the non-GraphQL endpoints).
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
        let body = json!({ "error": { "code": error.code(), "message": error.to_string() } });
        (status, Json(body)).into_response()
    }
}
