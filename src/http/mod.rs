//! HTTP concerns: the router, limits, health, the GraphQL endpoint and report files.
mod error;
mod reports;

use std::{sync::Arc, time::Duration};

use async_graphql::{
    BatchRequest, Data, ErrorExtensions,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::{
    Json, Router,
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{Html, IntoResponse, Response},
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
    service::{ServiceError, auth, events::EventBus, health, tenancy::SubmissionScope},
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
        .route("/graphql/ws", get(graphql_ws))
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

/// Subscriptions over graphql-transport-ws (and the older graphql-ws). The token comes in
/// the connection_init payload, as `{"Authorization": "Bearer <token>"}` or `{"token": …}`.
async fn graphql_ws(
    State(app): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let schema = app.schema.clone();
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(
                    move |payload| async move { connection_data(&app, payload).await },
                )
                .serve()
        })
}

async fn connection_data(app: &App, payload: serde_json::Value) -> async_graphql::Result<Data> {
    let token = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| {
            payload
                .get("token")
                .and_then(|v| v.as_str())
                .map(|t| format!("Bearer {t}"))
        });
    let mut headers = HeaderMap::new();
    if let Some(value) = token.and_then(|t| t.parse().ok()) {
        headers.insert(AUTHORIZATION, value);
    }
    let session = authenticate(app, &headers).await.map_err(|e| e.extend())?;
    if matches!(session, Session::Refused) {
        return Err(ServiceError::Unauthenticated.extend());
    }
    // A connection lives long: its loaders must not serve yesterday's rows.
    let gate = PollGate::default();
    let mut data = Data::default();
    let loaders = new_loaders(app.db.clone(), &gate);
    loaders.enable_all_cache(false);
    data.insert(loaders);
    if let Session::SignedIn { scope, .. } = &session {
        let tenant = new_tenant_loaders(app.db.clone(), scope.clone(), &gate);
        tenant.enable_all_cache(false);
        data.insert(tenant);
    }
    data.insert(session);
    Ok(data)
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
    let Some(token) = token else {
        return Ok(Session::Refused);
    };
    match auth::authenticate(&app.db, token).await {
        Ok(principal) => {
            let scope = SubmissionScope::of(&app.db, &principal).await?;
            Ok(Session::SignedIn {
                principal,
                scope,
                token: token.to_owned(),
            })
        }
        Err(ServiceError::Unauthenticated) => Ok(Session::Refused),
        Err(other) => Err(other),
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
