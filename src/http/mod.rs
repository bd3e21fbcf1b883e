//! HTTP concerns: the router, limits, health, the GraphQL endpoint and report files.
mod error;
mod reports;
mod websocket;

use std::{sync::Arc, time::Duration};

use async_graphql::{BatchRequest, ErrorExtensions, http::GraphiQLSource};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{Html, IntoResponse},
    routing::get,
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

use crate::{
    config::ServerConfig,
    graphql::{
        AppSchema, build_schema,
        loaders::{PollGate, new_loaders, new_tenant_loaders},
        session::Session,
    },
    service::{ServiceError, events::EventBus, health},
};

/// Everything a request handler needs.
pub struct App {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub config: ServerConfig,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(db: DatabaseConnection, events: EventBus, config: ServerConfig) -> AppState {
        let schema = build_schema(Some((db.clone(), events)), &config.limits);
        Arc::new(Self { db, schema, config })
    }
}

pub fn router(app: AppState) -> Router {
    let limits = &app.config.limits;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(websocket::graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/reports/{plan}/{file}", get(reports::consolidated))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

async fn graphql(
    State(app): State<AppState>,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> GraphQLResponse {
    let batch = request.into_inner();
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > app.config.limits.max_batch
    {
        let error = ServiceError::bad_input(format!(
            "a batch may hold at most {} operations",
            app.config.limits.max_batch
        ));
        return error_response(error);
    }
    let session = match authenticate(&app, &headers).await {
        Ok(session) => session,
        Err(error) => return error_response(error),
    };
    // Loaders are per request: nothing cached crosses from one principal to another.
    let gate = PollGate::default();
    let prepare = |request: async_graphql::Request| {
        let mut request = request
            .data(new_loaders(app.db.clone(), &gate))
            .data(session.clone());
        if let Session::SignedIn { scope, .. } = &session {
            request = request.data(new_tenant_loaders(app.db.clone(), scope.clone(), &gate));
        }
        request
    };
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(prepare(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(prepare).collect())
        }
    };
    gate.run(app.schema.execute_batch(batch)).await.into()
}

fn error_response(error: ServiceError) -> GraphQLResponse {
    async_graphql::Response::from_errors(vec![error.extend().into_server_error(Default::default())])
        .into()
}

/// The caller named by `Authorization: Bearer <token>`.
pub async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Session, ServiceError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Session::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match token {
        Some(token) => Session::from_token(&app.db, token).await,
        None => Ok(Session::Refused),
    }
}

/// Liveness: the process answers and the database is reachable.
async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    match app.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}

/// Readiness: the database takes a read and a committed write, promptly.
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    match health::ready(&app.db).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
