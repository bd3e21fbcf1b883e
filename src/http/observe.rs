//! Every HTTP request gets an id (answered in `x-request-id`), a span that carries it
//! through the service calls it makes, and its count and latency in the metrics; and
//! `GET /metrics` renders them.
use std::{
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, header::CONTENT_TYPE},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use tracing::Instrument;

use super::AppState;
use crate::telemetry;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Ids are unique within a process (a counter) and across restarts (a random prefix),
/// short enough to quote in a support request. A client's own `x-request-id` is not
/// trusted: it would be free text in every log line.
fn next_request_id() -> String {
    static PREFIX: LazyLock<u32> = LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:08x}-{}",
        *PREFIX,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The middleware: id, span, metrics.
pub(super) async fn observe(request: Request, next: Next) -> Response {
    let id = next_request_id();
    // Route patterns, not paths: `/reports/{plan}/{file}` is one series, whatever is asked.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let method = method_label(request.method());
    let span = tracing::info_span!("request", id = %id, method, route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    metrics::counter!(
        "plantrack_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!(
        "plantrack_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_millis() as u64,
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Methods outside HTTP's own are one label: a client cannot invent series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// `GET /metrics`: Prometheus' text format.
pub(super) async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    record_pool(&app.db);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        telemetry::metrics().render(),
    )
}

/// The pool as it is now: connections lent to requests and connections waiting idle.
fn record_pool(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    metrics::gauge!("plantrack_db_connections", "state" => "in_use").set(f64::from(size - idle));
    metrics::gauge!("plantrack_db_connections", "state" => "idle").set(f64::from(idle));
}
