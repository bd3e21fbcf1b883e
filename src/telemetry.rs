//! Logs, traces and metrics, set up in one place.
//!
//! Logs go to stderr (`RUST_LOG` filters); spans also go to an OpenTelemetry collector
//! over OTLP/HTTP when an endpoint is configured; metrics are kept in memory for
//! `GET /metrics` in Prometheus' text format.
use std::{sync::OnceLock, time::Duration};

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::Targets, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

/// What must outlive the process's work: the trace exporter, flushed on `shutdown`.
#[must_use = "keep it until the process ends, then call shutdown to send the last spans"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered; waits at most a few seconds for the collector.
    pub fn shutdown(self) {
        if let Some(traces) = self.traces
            && let Err(error) = traces.shutdown_with_timeout(Duration::from_secs(5))
        {
            eprintln!("warning: the last traces were not sent: {error}");
        }
    }
}

/// Installs the process's subscriber: logs to stderr (JSON lines if `json`), and spans to
/// `otlp_endpoint` (the collector's base URL, e.g. `http://127.0.0.1:4318`) if given.
pub fn init(json: bool, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let logs = if json {
        fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).boxed()
    };
    let traces = otlp_endpoint.map(tracer_provider).transpose()?;
    let export = traces
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("plantrack")));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(export)
        .try_init();
    Ok(Telemetry { traces })
}

/// What logs and spans are kept when `RUST_LOG` is unset or does not parse.
const DEFAULT_LOG_FILTER: &str = "warn,plantrack=info";

/// The filter `RUST_LOG` asks for. Targets and levels alone (`warn,plantrack=debug`) make
/// a static filter (`Targets`). `EnvFilter`, which span and field directives
/// (`[span{field=value}]`) need, takes a lock and a hash look-up each time a span is
/// entered or left, and sqlx enters the current span on every poll of a query's rows
/// (1% of the nested plan's instructions, bench/BENCHMARKS.md run 11).
fn log_filter(directives: Option<&str>) -> Box<dyn Layer<Registry> + Send + Sync> {
    let directives = directives.unwrap_or(DEFAULT_LOG_FILTER);
    if directives.contains('[') {
        EnvFilter::try_new(directives)
            .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER))
            .boxed()
    } else {
        directives
            .parse::<Targets>()
            .unwrap_or_else(|_| DEFAULT_LOG_FILTER.parse().expect("the default parses"))
            .boxed()
    }
}

/// Spans are batched and sent from a thread of the exporter's own, off the async workers.
fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(&url)
        .with_timeout(Duration::from_secs(5))
        .build()
        .with_context(|| format!("setting up trace export to {url}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "plantrack".into());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

/// Seconds, for the latency histograms: 1 ms to 30 s (the request timeout's default).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's metrics recorder, installed on first use, and what renders its values.
/// One per process: every app in it (the tests run many) records into the same one.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (none is, outside of tests of other crates)
        // would get the values; the handle would then render only descriptions.
        let _ = metrics::set_global_recorder(recorder);
        describe_metrics();
        // Observations wait in buffers until upkeep folds them into the histograms: without
        // a scraper they would grow for as long as the process serves.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .expect("a thread for the metrics' upkeep");
        handle
    })
}

/// The `# HELP` line of each metric.
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "plantrack_http_requests_total",
        "HTTP requests answered, by method, route pattern and status."
    );
    describe_histogram!(
        "plantrack_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (for /graphql/ws, to accept the upgrade)."
    );
    describe_counter!(
        "plantrack_graphql_operations_total",
        "GraphQL queries and mutations run, by operation name (`anonymous` without one, \
         `other` past 256 names) and kind."
    );
    describe_histogram!(
        "plantrack_graphql_operation_duration_seconds",
        Unit::Seconds,
        "Time to run a GraphQL operation, from parsing to the complete response."
    );
    describe_counter!(
        "plantrack_graphql_errors_total",
        "GraphQL errors returned, by extensions.code (refusals before GraphQL ran included)."
    );
    describe_gauge!(
        "plantrack_db_connections",
        "Pooled database connections: in_use by requests, or idle."
    );
    describe_gauge!(
        "plantrack_subscriptions_active",
        "GraphQL subscriptions being served over WebSocket."
    );
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt;

    use super::log_filter;

    /// Whether `(plantrack at debug, plantrack at info, sqlx at info, sqlx at warn)` are
    /// kept under `RUST_LOG=directives`.
    fn kept(directives: Option<&str>) -> [bool; 4] {
        let subscriber = tracing_subscriber::registry().with(log_filter(directives));
        tracing::subscriber::with_default(subscriber, || {
            [
                tracing::enabled!(target: "plantrack::service", Level::DEBUG),
                tracing::enabled!(target: "plantrack::service", Level::INFO),
                tracing::enabled!(target: "sqlx::query", Level::INFO),
                tracing::enabled!(target: "sqlx::query", Level::WARN),
            ]
        })
    }

    #[test]
    fn rust_log_keeps_what_it_names() {
        assert_eq!(kept(None), [false, true, false, true]);
        assert_eq!(
            kept(Some("warn,plantrack=debug")),
            [true, true, false, true]
        );
        assert_eq!(kept(Some("info")), [false, true, true, true]);
        assert_eq!(kept(Some("off")), [false, false, false, false]);
        // Directives that do not parse give the default, span directives or not.
        assert_eq!(kept(Some("plantrack=loud")), [false, true, false, true]);
        assert_eq!(kept(Some("[unclosed=debug")), [false, true, false, true]);
        // A span directive (EnvFilter) keeps the static part as before.
        assert_eq!(
            kept(Some("warn,plantrack=info,[graphql]=debug")),
            [false, true, false, true]
        );
    }
}
