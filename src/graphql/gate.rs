//! The one way into the schema, for every transport (POST, GET, export, WebSocket): the
//! document is checked, parsed and measured, the caller's right to ask it is settled,
//! and the answer is bounded, coded and counted — here, around the schema, not in
//! async-graphql extensions. An extension, whatever hooks it implements, puts every
//! field of every answer through the extension chain (a registry look-up and a boxed
//! future per field and extension): a quarter of the server's CPU on a page of reports.
//! The schema of single operations has none. A batch's operations share one cost
//! budget, which only validation can charge: they run on a second schema that has the
//! one extension that does (built on the first batch).
use std::{
    any::{Any, TypeId},
    sync::{Arc, OnceLock},
    time::Instant,
};

use async_graphql::{
    BatchRequest, Data, Executor, Request, Response, ServerError,
    futures_util::stream::{self, BoxStream},
};
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use tracing::{Instrument, field::Empty};

use super::{
    AppSchema,
    error::request_error,
    guard::{self, DocumentLimits},
    loaders::{Loaders, TenantLoaders, live_tenant_loaders},
    observe::{self, ActiveSubscription, Operation},
    session::{LiveToken, Session, asks_only_public},
};
use crate::service::{ServiceError, sign_ins};

/// The schema behind its checks. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Gate(Arc<Inner>);

struct Inner {
    schema: AppSchema,
    /// The schema with the batch budget's validation hook, built on the first batch.
    batch_schema: OnceLock<AppSchema>,
    build_batch_schema: Box<dyn Fn() -> AppSchema + Send + Sync>,
    db: Option<DatabaseConnection>,
    document: DocumentLimits,
    max_response_bytes: usize,
}

impl Gate {
    pub(super) fn new(
        schema: AppSchema,
        build_batch_schema: impl Fn() -> AppSchema + Send + Sync + 'static,
        db: Option<DatabaseConnection>,
        document: DocumentLimits,
        max_response_bytes: usize,
    ) -> Self {
        Self(Arc::new(Inner {
            schema,
            batch_schema: OnceLock::new(),
            build_batch_schema: Box::new(build_batch_schema),
            db,
            document,
            max_response_bytes,
        }))
    }

    /// The SDL of the schema.
    pub fn sdl(&self) -> String {
        self.0.schema.sdl()
    }

    /// The SDL with async-graphql's options (what `schema.graphql` holds).
    pub fn sdl_with_options(&self, options: async_graphql::SDLExportOptions) -> String {
        self.0.schema.sdl_with_options(options)
    }

    /// Runs one operation (a query or a mutation) to its answer, and serializes the answer
    /// once: to its JSON, at most `max_bytes` long (an error in its place when longer).
    async fn run(&self, schema: &AppSchema, request: Request, max_bytes: usize) -> Answer {
        let started = Instant::now();
        let span = tracing::info_span!("graphql", operation = Empty, kind = Empty);
        let (operation, admitted) = self.admit(request, None).await;
        operation.record_in(&span);
        let response = match admitted {
            Ok(mut request) => {
                let keys = root_keys(&mut request);
                let mut response = schema.execute(request).instrument(span).await;
                guard::order_root(&mut response, &keys);
                response
            }
            Err(error) => Response::from_errors(vec![error]),
        };
        let answer = Answer::bounded(coded(response), max_bytes);
        observe::operation_done(&operation, started, &answer.response.errors);
        answer
    }

    /// One operation's answer as it leaves over HTTP, serialized once (see [`Answer`]).
    pub async fn answer(&self, request: Request) -> Answer {
        self.run(&self.0.schema, request, self.0.max_response_bytes)
            .await
            .without_data()
    }

    /// The answers of a single request or of a batch, as they leave over HTTP. A batch's
    /// operations run one after the other on the schema that charges the batch's shared
    /// budget (`cost::BatchBudget`, in each request's data), and its answers share the
    /// size limit of one.
    pub async fn answer_batch(&self, batch: BatchRequest) -> Answers {
        match batch {
            BatchRequest::Single(request) => self.answer(request).await.into(),
            BatchRequest::Batch(requests) => {
                let schema = self.batch_schema();
                let mut left = self.0.max_response_bytes;
                let mut answers = Vec::with_capacity(requests.len());
                for request in requests {
                    let answer = self.run(schema, request, left).await.without_data();
                    left = left.saturating_sub(answer.json.len());
                    answers.push(answer);
                }
                Answers::Batch(answers)
            }
        }
    }

    /// Checks a request before the schema sees it, and gives it what it runs with: the
    /// document within the limits, parsed; for a long-lived connection (`LiveToken`),
    /// the session its token stands for now; and the sign-in rule (only public fields
    /// without one). The operation is known once the document has parsed.
    async fn admit(
        &self,
        mut request: Request,
        connection: Option<&Data>,
    ) -> (Operation, Result<Request, ServerError>) {
        if let Err(error) = guard::check(&mut request, &self.0.document).await {
            return (Operation::default(), Err(error));
        }
        let name = request.operation_name.clone();
        let operation = match request.parsed_query() {
            Ok(document) => Operation::of(document, name.as_deref()),
            Err(error) => return (Operation::default(), Err(error)),
        };
        let admitted = self.sign_in(request, connection).await;
        if let (true, Ok(request)) = (operation.is_mutation(), &admitted) {
            uncached(request);
        }
        (operation, admitted)
    }

    /// The request with the session of a long-lived connection's token as of now, or
    /// UNAUTHENTICATED when it asks for more than public fields without a signed-in
    /// caller. A request's own token is checked again too: the operations of a batch, or
    /// the pages of an export, that come after a `logout`, or after the user is disabled,
    /// run signed out.
    async fn sign_in(
        &self,
        mut request: Request,
        connection: Option<&Data>,
    ) -> Result<Request, ServerError> {
        if let (Some(Session::SignedIn { token, .. }), Some(db)) =
            (data::<Session>(&request.data), &self.0.db)
        {
            sign_ins::check(db, token)
                .await
                .map_err(|error| request_error(&error))?;
        }
        let live = connection.and_then(data::<LiveToken>);
        if let (Some(LiveToken(token)), Some(db)) = (live, &self.0.db) {
            let session = Session::from_token(db, token)
                .await
                .map_err(|error| request_error(&error))?;
            let Session::SignedIn { scope, .. } = &session else {
                return Err(request_error(&ServiceError::Unauthenticated));
            };
            // Loaders of a long-lived connection must not serve yesterday's rows.
            let tenant = live_tenant_loaders(db.clone(), scope.clone());
            request = request.data(tenant).data(session);
        }
        let signed_in = matches!(
            data::<Session>(&request.data).or_else(|| connection.and_then(data::<Session>)),
            Some(Session::SignedIn { .. })
        );
        if !signed_in && !asks_only_public(request.parsed_query()?) {
            return Err(request_error(&ServiceError::Unauthenticated));
        }
        Ok(request)
    }

    fn batch_schema(&self) -> &AppSchema {
        self.0
            .batch_schema
            .get_or_init(|| (self.0.build_batch_schema)())
    }
}

/// Error codes of a request that never ran: its answer has no `data` entry, as GraphQL
/// over HTTP specifies (async-graphql writes `"data": null` always).
const NEVER_RAN: [&str; 3] = [
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_COMPLEX",
];

/// An operation's answer serialized once, where it is bounded: `json` is the text the size
/// limit counted, and what is sent. `response` keeps what the transport reads besides (the
/// errors, cache control and headers); [`Answer::without_data`] drops its data, so that a
/// large answer is not held twice while it is sent.
pub struct Answer {
    pub response: Response,
    pub json: Vec<u8>,
    /// The operation never ran: its document did not parse or validate, or was over the
    /// limits (GraphQL over HTTP answers such a single request 400).
    pub never_ran: bool,
}

impl Answer {
    /// A (small) answer made outside the schema, such as a refusal, unbounded.
    pub fn of(response: Response) -> Self {
        Self::bounded(response, usize::MAX)
    }

    /// The answer, or a TOO_LARGE error in its place when its JSON is longer than
    /// `max_bytes`, so that one request cannot hand a client (or the server's memory on
    /// the way out) an unbounded document.
    fn bounded(response: Response, max_bytes: usize) -> Self {
        let never_ran = never_ran(&response);
        if let Some(json) = json_of(&response, never_ran, max_bytes) {
            return Self {
                response,
                json,
                never_ran,
            };
        }
        let error = ServiceError::TooLarge(format!(
            "the answer is larger than {max_bytes} bytes: ask for fewer fields or a smaller page"
        ));
        let refusal = Response::from_errors(vec![request_error(&error)]);
        let json = json_of(&refusal, false, usize::MAX).unwrap_or_default();
        Self {
            response: refusal,
            json,
            never_ran: false,
        }
    }

    fn without_data(mut self) -> Self {
        self.response.data = async_graphql::Value::Null;
        self
    }
}

/// The answers of a request: one, or a batch's in order.
pub enum Answers {
    Single(Box<Answer>),
    Batch(Vec<Answer>),
}

impl From<Answer> for Answers {
    fn from(answer: Answer) -> Self {
        Answers::Single(Box::new(answer))
    }
}

impl From<Response> for Answers {
    fn from(response: Response) -> Self {
        Answers::Single(Box::new(Answer::of(response)))
    }
}

fn never_ran(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && response.errors.iter().any(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| {
                    matches!(code, async_graphql::Value::String(code) if NEVER_RAN.contains(&code.as_str()))
                })
        })
}

/// The JSON of a response, if at most `max_bytes` long; without `data` where it never ran.
fn json_of(response: &Response, never_ran: bool, max_bytes: usize) -> Option<Vec<u8>> {
    if !never_ran {
        return guard::json_within(response, max_bytes);
    }
    let mut value = serde_json::to_value(response).ok()?;
    if let Some(object) = value.as_object_mut() {
        object.remove("data");
    }
    guard::json_within(&value, max_bytes)
}

/// What async-graphql's transports call: the WebSocket (below) and the export, which reads
/// an answer's data rather than sending it.
impl Executor for Gate {
    async fn execute(&self, request: Request) -> Response {
        self.run(&self.0.schema, request, self.0.max_response_bytes)
            .await
            .response
    }

    /// Every operation of a WebSocket, subscriptions and the rest: checked as any, with
    /// the session of the connection's token as of now.
    fn execute_stream(
        &self,
        request: Request,
        connection: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let gate = self.clone();
        stream::once(async move {
            let active = ActiveSubscription::start();
            let span = tracing::info_span!("graphql", operation = Empty, kind = Empty);
            let (operation, admitted) = gate.admit(request, connection.as_deref()).await;
            operation.record_in(&span);
            let (answers, keys) = match admitted {
                Ok(mut request) => {
                    let keys = root_keys(&mut request);
                    let answers = gate
                        .0
                        .schema
                        .execute_stream_with_session_data(request, connection.unwrap_or_default())
                        .boxed();
                    (answers, keys)
                }
                Err(error) => (
                    stream::iter([Response::from_errors(vec![error])]).boxed(),
                    Vec::new(),
                ),
            };
            answers.map(move |mut response| {
                // Moved in: the gauge goes down when the stream is dropped.
                let _ = &active;
                guard::order_root(&mut response, &keys);
                let answer = Answer::bounded(coded(response), gate.0.max_response_bytes);
                observe::count_errors(&answer.response.errors);
                answer.response
            })
        })
        .flatten()
        .boxed()
    }
}

/// The response keys of the request's root fields in the order it selects them
/// (`guard::root_keys`): async-graphql keys a query's answer in the order they finish.
fn root_keys(request: &mut Request) -> Vec<async_graphql::Name> {
    // Lent out while the document is borrowed, not copied: variables may hold thousands of
    // values.
    let name = request.operation_name.take();
    let variables = std::mem::take(&mut request.variables);
    let keys = request.parsed_query().map_or_else(
        |_| Vec::new(),
        |document| guard::root_keys(document, name.as_deref(), &variables),
    );
    request.operation_name = name;
    request.variables = variables;
    keys
}

/// Turns off the caches of a mutation's loaders. A mutation's fields run one after the
/// other, each writing: rows a loader read for one field's payload must not answer the
/// next field's, which would show them as they were before it wrote.
fn uncached(request: &Request) {
    if let Some(loaders) = data::<Loaders>(&request.data) {
        loaders.enable_all_cache(false);
    }
    if let Some(loaders) = data::<TenantLoaders>(&request.data) {
        loaders.enable_all_cache(false);
    }
}

/// A value of type `T` in request or connection data.
fn data<T: Any>(data: &Data) -> Option<&T> {
    data.get(&TypeId::of::<T>())
        .and_then(|value| value.downcast_ref())
}

/// Every error leaves with a code. Those of this service have theirs; those async-graphql
/// raises itself are told apart by where they arose: validation's carry the document's
/// locations and no path (the cost and depth limits: `QUERY_TOO_COMPLEX`; every other
/// rule: `GRAPHQL_VALIDATION_FAILED`); the rest are the caller's input
/// (`BAD_USER_INPUT`): an unknown operation name, an argument that does not coerce.
fn coded(mut response: Response) -> Response {
    if response.errors.iter().all(has_code) {
        return response;
    }
    response.errors = std::mem::take(&mut response.errors)
        .into_iter()
        .map(|error| {
            let code = if error.message.starts_with("Query is too complex")
                || error.message.starts_with("Query is nested too deep")
            {
                "QUERY_TOO_COMPLEX"
            } else if error.path.is_empty() && !error.locations.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            guard::with_code(error, code)
        })
        .collect();
    response
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some())
}
