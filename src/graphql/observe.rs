//! What each GraphQL operation did, for operators: a span named after the operation, and
//! its count, latency and errors in the metrics (`GET /metrics`).
use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Instant,
};

use async_graphql::{
    ServerError, Value,
    parser::types::{ExecutableDocument, OperationType},
};

/// Operation names are the client's to choose: past this many distinct ones, the rest are
/// counted as `other`, so that no client can grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 256;
/// Longer names are counted as `other` and cut in spans.
const MAX_NAME_CHARS: usize = 64;

/// The operation as far as it is known: a document that fails to parse has no kind.
#[derive(Clone, Debug, Default)]
pub struct Operation {
    name: Option<String>,
    kind: Option<OperationType>,
}

impl Operation {
    /// The operation of a parsed document that a request runs: the one it names, else
    /// its only one. A name the document lacks is the client's word only: neither a kind
    /// nor a label (`bounded_name` keeps the first names it meets).
    pub fn of(document: &ExecutableDocument, name: Option<&str>) -> Self {
        let (name, kind) = match super::guard::operation(document, name) {
            Some((name, operation)) => (name.map(ToString::to_string), Some(operation.node.ty)),
            None => (None, None),
        };
        Self { name, kind }
    }

    pub fn is_mutation(&self) -> bool {
        self.kind == Some(OperationType::Mutation)
    }

    /// Names the span of the operation after it.
    pub fn record_in(&self, span: &tracing::Span) {
        span.record("kind", self.kind_label());
        if let Some(name) = &self.name {
            let cut: String = name.chars().take(MAX_NAME_CHARS).collect();
            span.record("operation", cut.as_str());
        }
    }

    fn kind_label(&self) -> &'static str {
        match self.kind {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        }
    }

    fn name_label(&self) -> String {
        match &self.name {
            None => "anonymous".into(),
            Some(name) => bounded_name(name),
        }
    }
}

/// The name itself while fewer than `MAX_OPERATION_NAMES` are known, else `other`.
fn bounded_name(name: &str) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return "other".into();
    };
    if name.len() > MAX_NAME_CHARS {
        return "other".into();
    }
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES && seen.insert(name.to_owned()) {
        name.to_owned()
    } else {
        "other".into()
    }
}

/// Counts a finished query or mutation: its count, latency and errors.
pub fn operation_done(operation: &Operation, started: Instant, errors: &[ServerError]) {
    let labels = [
        ("operation", operation.name_label()),
        ("kind", operation.kind_label().to_owned()),
    ];
    metrics::counter!("plantrack_graphql_operations_total", &labels).increment(1);
    metrics::histogram!("plantrack_graphql_operation_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    count_errors(errors);
}

/// Counts each error under its `extensions.code` (every error of this API has one).
pub fn count_errors(errors: &[ServerError]) {
    for error in errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "NONE".into());
        metrics::counter!("plantrack_graphql_errors_total", "code" => code).increment(1);
    }
}

/// One subscription being served, counted in `plantrack_subscriptions_active`.
pub struct ActiveSubscription;

impl ActiveSubscription {
    pub fn start() -> Self {
        metrics::gauge!("plantrack_subscriptions_active").increment(1.0);
        Self
    }
}

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        metrics::gauge!("plantrack_subscriptions_active").decrement(1.0);
    }
}
