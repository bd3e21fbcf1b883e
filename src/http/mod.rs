//! HTTP concerns: the router, limits, health, the GraphQL endpoint, report files and
//! exports.
mod error;
mod export;
mod graphiql;
mod graphql_get;
mod graphql_post;
mod media;
mod observe;
mod persisted;
mod reports;
mod spreadsheet;
mod websocket;

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{
        HeaderMap, HeaderValue, Method, StatusCode,
        header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE},
    },
    response::IntoResponse,
    routing::{get, post},
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
};

use crate::{
    config::ServerConfig,
    graphql::{Gate, build_schema, session::Session},
    service::{ServiceError, events::EventBus, health},
};

/// Everything a request handler needs.
pub struct App {
    pub db: DatabaseConnection,
    pub schema: Gate,
    pub config: ServerConfig,
    exports: export::Exports,
    persisted: persisted::PersistedQueries,
    /// Set once the server is asked to stop: open subscriptions are closed (1001).
    stopping: tokio::sync::watch::Sender<bool>,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(db: DatabaseConnection, events: EventBus, config: ServerConfig) -> AppState {
        // The recorder first: what is counted before it exists is lost.
        crate::telemetry::metrics();
        let schema = build_schema(Some((db.clone(), events)), &config.limits);
        let exports = export::Exports::new(&schema);
        let persisted = persisted::PersistedQueries::new(config.limits.max_document_bytes);
        Arc::new(Self {
            db,
            schema,
            config,
            exports,
            persisted,
            stopping: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Asks the long-lived connections (subscriptions) to close: the server is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes once `stop` has been called.
    pub(crate) async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // An error means the sender is gone with the app: nothing will stop it then.
        if stopping.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub fn router(app: AppState) -> Router {
    let limits = &app.config.limits;
    let timeout = |secs| {
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(secs))
    };
    // An export pages through a whole connection: it has a timeout of its own.
    let export = Router::new()
        .route("/export", post(export::export))
        .layer(timeout(limits.export_timeout_secs));
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql_get::graphql_get).post(graphql_post::graphql_post),
        )
        .route("/graphql/ws", get(websocket::graphql_ws))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(observe::metrics))
        .route("/reports/{plan}/{file}", get(reports::consolidated))
        .layer(timeout(limits.request_timeout_secs))
        .merge(export)
        // Read by the body extractors; POST /graphql answers 413 in GraphQL shape.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes));
    if !app.config.cors_origins.is_empty() {
        router = router.layer(cors(&app.config.cors_origins));
    }
    router
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(app)
}

/// Cross-origin calls from the configured web origins only: their pages may send GraphQL
/// with a bearer token, and read the answer. No credentials (cookies) are involved: the
/// token is a header the page sets. (Without origins there is no CORS layer at all.)
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, ACCEPT])
        .max_age(Duration::from_secs(600))
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
