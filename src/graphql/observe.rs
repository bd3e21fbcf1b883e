//! What each GraphQL operation did, for operators: a span named after the operation, and
//! its count, latency and errors in the metrics (`GET /metrics`).
use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use async_graphql::{
    Response, ServerError, ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
        NextSubscribe,
    },
    futures_util::stream::BoxStream,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use futures_util::StreamExt;
use tracing::{Instrument, field::Empty};

/// Operation names are the client's to choose: past this many distinct ones, the rest are
/// counted as `other`, so that no client can grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 256;
/// Longer names are counted as `other` and cut in spans.
const MAX_NAME_CHARS: usize = 64;

/// Installs the observer on every operation.
pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observer {
            span: tracing::info_span!("graphql", operation = Empty, kind = Empty),
            operation: Mutex::new(Operation::default()),
        })
    }
}

struct Observer {
    span: tracing::Span,
    operation: Mutex<Operation>,
}

/// The operation as far as it is known: a document that fails to parse has no kind.
#[derive(Clone, Default)]
struct Operation {
    name: Option<String>,
    kind: Option<OperationType>,
    /// The named operations of the document, for `execute` to pick the kind from.
    named: Vec<(String, OperationType)>,
}

impl Operation {
    /// What the parsed document says: the kind of its one operation (and the name, if it
    /// has one), or the kinds of its named operations until `execute` says which runs.
    fn parsed(document: &ExecutableDocument) -> Self {
        match &document.operations {
            DocumentOperations::Single(operation) => Self {
                kind: Some(operation.node.ty),
                ..Self::default()
            },
            DocumentOperations::Multiple(operations) => {
                let named: Vec<_> = operations
                    .iter()
                    .map(|(name, operation)| (name.to_string(), operation.node.ty))
                    .collect();
                match named.as_slice() {
                    [(name, kind)] => Self {
                        name: Some(name.clone()),
                        kind: Some(*kind),
                        named: Vec::new(),
                    },
                    _ => Self {
                        named,
                        ..Self::default()
                    },
                }
            }
        }
    }

    /// The operation `execute` was asked to run.
    fn chosen(&mut self, name: &str) {
        if let Some((_, kind)) = self.named.iter().find(|(named, _)| named == name) {
            self.kind = Some(*kind);
        }
        self.name = Some(name.to_owned());
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

impl Observer {
    fn operation(&self) -> Operation {
        self.operation.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn record_in_span(&self, operation: &Operation) {
        self.span.record("kind", operation.kind_label());
        if let Some(name) = &operation.name {
            let cut: String = name.chars().take(MAX_NAME_CHARS).collect();
            self.span.record("operation", cut.as_str());
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).instrument(self.span.clone()).await;
        let operation = self.operation();
        let labels = [
            ("operation", operation.name_label()),
            ("kind", operation.kind_label().to_owned()),
        ];
        metrics::counter!("plantrack_graphql_operations_total", &labels).increment(1);
        metrics::histogram!("plantrack_graphql_operation_duration_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        count_errors(&response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let active = ActiveSubscription::start();
        next.run(ctx, stream)
            .map(move |response| {
                // Moved in: the gauge goes down when the stream is dropped.
                let _ = &active;
                count_errors(&response.errors);
                response
            })
            .boxed()
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut operation) = self.operation.lock() {
            *operation = Operation::parsed(&document);
            self.record_in_span(&operation);
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(name) = operation_name
            && let Ok(mut operation) = self.operation.lock()
        {
            operation.chosen(name);
            self.record_in_span(&operation);
        }
        next.run(ctx, operation_name).await
    }
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
struct ActiveSubscription;

impl ActiveSubscription {
    fn start() -> Self {
        metrics::gauge!("plantrack_subscriptions_active").increment(1.0);
        Self
    }
}

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        metrics::gauge!("plantrack_subscriptions_active").decrement(1.0);
    }
}
