//! Errors as HTTP answers, in GraphQL's error shape on every endpoint.
use async_graphql::ServerError;
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
        error_response(status_of(error.code()), error.code(), &error.to_string())
    }
}

/// The HTTP status that goes with an `extensions.code`.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "TOO_MANY_REQUESTS" => StatusCode::TOO_MANY_REQUESTS,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "BAD_USER_INPUT"
        | "BAD_REQUEST"
        | "GRAPHQL_PARSE_FAILED"
        | "GRAPHQL_VALIDATION_FAILED"
        | "QUERY_TOO_COMPLEX" => StatusCode::BAD_REQUEST,
        "RESPONSE_TOO_LARGE" | "PAYLOAD_TOO_LARGE" | "EXPORT_TOO_LARGE" => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        "UNSUPPORTED_MEDIA_TYPE" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "CONFLICT" | "WINDOW_CLOSED" | "INVALID_TRANSITION" => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The one shape of every error the HTTP layer answers, GraphQL's:
/// `{"errors":[{"message":…,"extensions":{"code":…}}]}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    metrics::counter!("plantrack_graphql_errors_total", "code" => code.to_owned()).increment(1);
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

/// Errors of GraphQL itself (with their locations and paths) as an HTTP answer whose
/// status goes with the first error's code.
pub fn graphql_errors_response(errors: Vec<ServerError>) -> Response {
    let status = errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|extensions| extensions.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(status_of(code)),
            _ => None,
        })
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "errors": errors }))).into_response()
}
