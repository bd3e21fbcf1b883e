//! `GET /graphql`: GraphiQL for a browser, and queries in the URL as GraphQL over HTTP
//! specifies them (`?query=…&variables=<JSON>&operationName=…`), for clients such as urql
//! that send queries by GET. Only queries run over GET: a link or a prefetch must never
//! change anything, so a mutation or subscription answers 405 with `Allow: POST`.
use std::{net::SocketAddr, sync::Arc};

use async_graphql::{
    Request, Variables,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    Extension,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    AppState, error, graphiql,
    graphql_post::{Caller, refused},
    media::Media,
};
use crate::graphql::{
    cost::BatchBudget,
    guard::{self, EditedDocument},
    loaders::Batches,
};

/// The parameters of a GET request.
#[derive(Deserialize)]
pub(super) struct GetParams {
    query: Option<String>,
    /// JSON text.
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    /// JSON text: a persisted query's hash (`{"persistedQuery": …}`).
    extensions: Option<String>,
}

pub(super) async fn graphql_get(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the URL's parameters could not be read",
        );
    };
    let media = match Media::negotiate(&headers) {
        Ok(media) => media,
        // A browser asking for HTML gets GraphiQL below.
        Err(_) if params.query.is_none() && wants_html(&headers) => Media::Json,
        Err(refusal) => return refusal.into_response(),
    };
    let extensions = match params.extensions.as_deref().map(serde_json::from_str) {
        None => None,
        Some(Ok(serde_json::Value::Object(map))) => Some(map),
        Some(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "`extensions` is not a JSON object",
            );
        }
    };
    let persisted = extensions
        .as_ref()
        .is_some_and(|map| map.contains_key("persistedQuery"));
    let query = match params.query {
        Some(query) => query,
        None if persisted => String::new(),
        None => {
            if wants_html(&headers) {
                return graphiql::page();
            }
            return refusal(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "a GET request carries its query in the URL: /graphql?query={plans{totalCount}}",
            );
        }
    };
    let variables = match params.variables.as_deref().map(serde_json::from_str) {
        None => Variables::default(),
        Some(Ok(json)) => Variables::from_json(json),
        Some(Err(_)) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "`variables` is not JSON",
            );
        }
    };
    let mut request = Request::new(query).variables(variables);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    for (name, value) in extensions.into_iter().flatten() {
        request.extensions.insert(
            name,
            async_graphql::Value::from_json(value).unwrap_or_default(),
        );
    }
    if let Err(e) = app.persisted.resolve(&mut request) {
        return media.answer(async_graphql::Response::from_errors(vec![e]));
    }
    if let Err(e) = guard::check(&mut request, &app.config.limits.document()).await {
        return media.answer(async_graphql::Response::from_errors(vec![e]));
    }
    if !is_query(&mut request) {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "only queries run over GET: send mutations and subscriptions by POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    }
    let caller = match Caller::of(&app, peer, &headers).await {
        Ok(caller) => caller,
        Err(e) => return media.answer(refused(e)),
    };
    let batches = Batches::default();
    let budget = Arc::new(BatchBudget::new(app.config.limits.max_complexity));
    // Already checked and parsed above: the guard keeps the parsed document.
    let request = caller
        .prepare(&app, request, &batches, &budget)
        .data(EditedDocument);
    media.answer(batches.run(app.schema.answer(request)).await)
}

/// Whether the operation the request names (or its only one) is a query; an unknown
/// name is left to GraphQL's own error.
fn is_query(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return true;
    };
    let kind = match (&document.operations, name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) => (ops.len() == 1)
            .then(|| ops.values().next().map(|op| op.node.ty))
            .flatten(),
    };
    kind.is_none_or(|kind| kind == OperationType::Query)
}

/// Whether the client would rather have a page than JSON (a browser's navigation).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    error::error_response(status, code, message)
}
