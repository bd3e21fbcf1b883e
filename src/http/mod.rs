//! HTTP concerns: the router, limits, health, the GraphQL endpoint and report files.
mod error;
mod graphql_post;
mod reports;

use std::{sync::Arc, time::Duration};

use async_graphql::{
    Data, ErrorExtensions,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use crate::{
    config::ServerConfig,
    graphql::{
        AppSchema, build_schema,
        loaders::{PollGate, new_loaders, new_tenant_loaders},
        session::Session,
    },
    service::{ServiceError, auth, events::EventBus, tenancy::SubmissionScope},
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
        .route("/graphql", get(graphiql).post(graphql_post::graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/reports/{plan}/{file}", get(reports::consolidated))
        // Read by the body extractors; POST /graphql answers 413 in GraphQL shape.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
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
