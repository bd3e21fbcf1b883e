//! `POST /graphql`: a GraphQL request, or a batch of them, as JSON.
//!
//! Only `application/json` and `application/graphql-response+json` bodies are accepted
//! (with parameters such as `charset=utf-8`): a cross-site HTML form can send neither, so
//! another site cannot sign in or act through a visitor's browser. Every refusal is a
//! GraphQL-shaped body, `{"errors":[{"message":…,"extensions":{"code":…}}]}`, with an HTTP
//! status that says what went wrong: 400 BAD_REQUEST (malformed JSON, not a GraphQL
//! request, an empty batch), 413 PAYLOAD_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE.
use std::{net::SocketAddr, sync::Arc};

use async_graphql::{BatchRequest, Request};
use axum::{
    Extension,
    body::Bytes,
    extract::{ConnectInfo, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{App, AppState, authenticate, error, media::Media};
use crate::{
    graphql::{
        cost::BatchBudget,
        count_errors,
        error::request_error,
        guard,
        loaders::{Batches, new_loaders, new_tenant_loaders},
        session::{ClientAddress, Session},
    },
    service::ServiceError,
};

/// The body size limit is axum's `DefaultBodyLimit`, set on the router.
pub(super) async fn graphql_post(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let limits = &app.config.limits;
    let media = match Media::negotiate(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(),
    };
    let batch = match read_body(&app, &headers, body) {
        Ok(batch) => batch,
        Err(refusal) => return refusal.into_response(),
    };
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        let error = ServiceError::bad_input(format!(
            "a batch may hold at most {} operations",
            limits.max_batch
        ));
        return media.answer(refused(error));
    }
    let batch = match persisted_documents(&app, batch) {
        Ok(batch) => batch,
        Err(error) => {
            let refused = async_graphql::Response::from_errors(vec![error]);
            count_errors(&refused.errors);
            return media.answer(refused);
        }
    };
    let caller = match Caller::of(&app, peer, &headers).await {
        Ok(caller) => caller,
        Err(error) => return media.answer(refused(error)),
    };
    let batches = Batches::default();
    // One cost budget for the whole batch, shared by its operations.
    let budget = Arc::new(BatchBudget::new(limits.max_complexity));
    let prepare = |request| caller.prepare(&app, request, &batches, &budget);
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(prepare(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(prepare).collect())
        }
    };
    media.answer(batches.run(app.schema.answer_batch(batch)).await)
}

/// The requests with the documents their persisted-query hashes name (see `persisted`).
fn persisted_documents(
    app: &App,
    batch: BatchRequest,
) -> Result<BatchRequest, async_graphql::ServerError> {
    Ok(match batch {
        BatchRequest::Single(mut request) => {
            app.persisted.resolve(&mut request)?;
            BatchRequest::Single(request)
        }
        BatchRequest::Batch(mut requests) => {
            for request in &mut requests {
                app.persisted.resolve(request)?;
            }
            BatchRequest::Batch(requests)
        }
    })
}

/// The GraphQL request (or batch) a POST body holds, or why it is refused: a body that is
/// not declared as JSON, is over the size limit, or is not a GraphQL request.
pub(super) fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<BatchRequest, Refusal> {
    if !is_json(headers) {
        return Err(Refusal::unsupported_media_type());
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Refusal::too_large(app.config.limits.max_body_bytes));
        }
        Err(_) => return Err(Refusal::bad_request("the request body could not be read")),
    };
    parse(&body)
}

/// Who sends a GraphQL request over HTTP, and from where.
pub(super) struct Caller {
    pub session: Session,
    client: Option<ClientAddress>,
}

impl Caller {
    /// The caller named by the request's `Authorization` header (anonymous without one),
    /// from the peer's address.
    pub(super) async fn of(
        app: &App,
        peer: Option<Extension<ConnectInfo<SocketAddr>>>,
        headers: &HeaderMap,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            session: authenticate(app, headers).await?,
            client: peer.map(|Extension(ConnectInfo(address))| ClientAddress(address.ip())),
        })
    }

    /// Gives a request what it runs with: its own loaders (nothing cached crosses from
    /// one principal to another), the cost budget, the session and the client's address.
    /// The request's future must run inside `batches.run`.
    pub(super) fn prepare(
        &self,
        app: &App,
        request: Request,
        batches: &Batches,
        budget: &Arc<BatchBudget>,
    ) -> Request {
        let mut request = request
            .data(new_loaders(app.db.clone(), batches))
            .data(budget.clone())
            .data(self.session.clone());
        if let Session::SignedIn { scope, .. } = &self.session {
            request = request.data(new_tenant_loaders(app.db.clone(), scope.clone(), batches));
        }
        if let Some(client) = self.client {
            request = request.data(client);
        }
        request
    }
}

/// Whether the body is declared as JSON in UTF-8 (the only encoding JSON has).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(mime) = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    let json = matches!(
        mime.essence_str(),
        "application/json" | "application/graphql-response+json"
    );
    let utf8 = mime
        .get_param(mime::CHARSET)
        .is_none_or(|charset| charset == mime::UTF_8);
    json && utf8
}

/// One operation (a JSON object) or a non-empty list of them.
fn parse(body: &[u8]) -> Result<BatchRequest, Refusal> {
    if body.trim_ascii().is_empty() {
        return Err(Refusal::bad_request(
            "the request body is empty: send a GraphQL request as JSON",
        ));
    }
    // Counted before anything is built: the parsed tree is sixty times the text.
    guard::json_values_within(body, guard::MAX_BODY_JSON_VALUES).map_err(Refusal::too_many)?;
    // serde_json says what and where ("EOF while parsing an object at line 1 column 10",
    // "recursion limit exceeded at …"), in words.
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Array(items) if items.is_empty() => Err(Refusal::bad_request(
            "the batch is empty: send one operation, or a list of at least one",
        )),
        Value::Array(items) => items
            .into_iter()
            .map(operation)
            .collect::<Result<_, _>>()
            .map(BatchRequest::Batch),
        single => operation(single).map(BatchRequest::Single),
    }
}

fn operation(value: Value) -> Result<Request, Refusal> {
    let persisted = value.pointer("/extensions/persistedQuery").is_some();
    if !value.get("query").is_some_and(Value::is_string) && !persisted {
        return Err(Refusal::bad_request(
            "a GraphQL request is a JSON object with a `query` string, such as \
             {\"query\": \"{ plans { totalCount } }\"} (or a persisted query's hash)",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Refusal::bad_request(format!("not a GraphQL request: {e}")))
}

/// A domain error as a GraphQL response (HTTP 200, like errors of execution).
pub(super) fn refused(error: ServiceError) -> async_graphql::Response {
    // A refusal of the request as a whole: no place in the document (no line 0).
    let refused = async_graphql::Response::from_errors(vec![request_error(&error)]);
    count_errors(&refused.errors);
    refused
}

/// A request refused before any GraphQL ran.
pub(super) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
            message: format!("the request body is larger than {limit} bytes"),
        }
    }

    fn too_many(message: String) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
            message,
        }
    }

    fn unsupported_media_type() -> Self {
        Self {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "send the request as `Content-Type: application/json`".into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error::error_response(self.status, self.code, &self.message)
    }
}
