//! `POST /export?format=xlsx|csv`: every page of a query's one connection, as a
//! spreadsheet.
//!
//! The body is what `POST /graphql` takes for one operation, refused alike (content type,
//! size, JSON). The query runs as the caller, with the loaders, session and cost limit of
//! any request, once per page: its document is parsed once (through the guard), and each
//! page's copy sets the connection's `first` and `after` and selects its `pageInfo` under
//! a reserved alias. Rows are the connection's nodes; columns are named by the response
//! keys from the node (`agency.name`); lists are joined into one cell. Any error on any
//! page is the answer, in GraphQL's error shape: never a partial file.
mod document;
mod table;

use std::{net::SocketAddr, sync::Arc, time::Instant};

use async_graphql::{Executor, Request, ServerError, Value as ConstValue};
use axum::{
    Extension,
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, rejection::BytesRejection},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use self::{
    document::{Analysis, Connection, PAGE_INFO, SchemaTypes, TOTAL_COUNT},
    table::{Overflow, Table, TableLimits, XLSX_CELL_CHARS},
};
use super::{
    App, AppState,
    error::{HttpError, error_response, graphql_errors_response, status_of},
    graphql_post::{Caller, Refusal, read_body},
    spreadsheet::{FileFormat, attachment},
};
use crate::{
    graphql::{
        cost::BatchBudget,
        guard::{self, EditedDocument},
        loaders::Batches,
        session::Session,
    },
    service::{ServiceError, pagination::MAX_PAGE_SIZE},
};

/// The most rows one export holds; a larger connection is refused, never cut short.
pub const MAX_ROWS: usize = 100_000;
/// The most bytes of cell content one export holds (a file a little larger).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Exports one server runs at a time; more answer SERVICE_UNAVAILABLE.
pub const MAX_RUNNING: usize = 4;

/// What exports share: the schema's types, and the slots of the exports running.
pub struct Exports {
    types: SchemaTypes,
    slots: Semaphore,
}

impl Exports {
    pub fn new(schema: &crate::graphql::Gate) -> Self {
        Self {
            types: SchemaTypes::from_sdl(&schema.sdl()),
            slots: Semaphore::new(MAX_RUNNING),
        }
    }
}

pub(super) async fn export(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match run(&app, peer, query.as_deref(), &headers, body).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

/// Why an export gives no file.
enum Failure {
    /// The request is not one GraphQL operation as JSON.
    Refusal(Refusal),
    Service(ServiceError),
    /// GraphQL's own errors: the document, or a page that failed.
    GraphQL(Vec<ServerError>),
    TooLarge(String),
    /// As many exports as the server runs at a time are running.
    Busy,
}

impl Failure {
    /// A document refused before the schema ran it, counted in the metrics as the
    /// schema counts the errors of what it runs.
    fn not_run(error: ServerError) -> Self {
        crate::graphql::count_errors(std::slice::from_ref(&error));
        Failure::GraphQL(vec![error])
    }
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        Self::Service(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Self::Refusal(refusal) => refusal.into_response(),
            Self::Service(error) => HttpError(error).into_response(),
            Self::GraphQL(errors) => graphql_errors_response(errors),
            Self::TooLarge(message) => {
                error_response(status_of("EXPORT_TOO_LARGE"), "EXPORT_TOO_LARGE", &message)
            }
            Self::Busy => error_response(
                status_of("SERVICE_UNAVAILABLE"),
                "SERVICE_UNAVAILABLE",
                &format!("{MAX_RUNNING} exports are running already; try again shortly"),
            ),
        }
    }
}

async fn run(
    app: &App,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    // The format first: a wrong one costs nothing.
    let format = format(query)?;
    let request = match read_body(app, headers, body).map_err(Failure::Refusal)? {
        async_graphql::BatchRequest::Single(request) => request,
        async_graphql::BatchRequest::Batch(_) => {
            return Err(Failure::Refusal(Refusal::bad_request(
                "an export runs one operation, not a batch",
            )));
        }
    };
    let caller = Caller::of(app, peer, headers).await?;
    // Nothing but `login` and introspection answers without a sign-in, and neither is a
    // connection.
    if !matches!(caller.session, Session::SignedIn { .. }) {
        return Err(ServiceError::Unauthenticated.into());
    }
    let Ok(_slot) = app.exports.slots.try_acquire() else {
        return Err(Failure::Busy);
    };
    let started = Instant::now();
    let export = Export::prepare(app, &caller, request).await?;
    let table = export.rows(app, &caller, format).await?;
    let rows = table.row_count();
    // Writing 100,000 rows takes a while: off the async workers.
    let body = tokio::task::spawn_blocking(move || match format {
        FileFormat::Xlsx => table.xlsx().map_err(|e| format!("xlsx: {e}")),
        FileFormat::Csv => table.csv().map_err(|e| format!("csv: {e}")),
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("export task: {e}")))?
    .map_err(ServiceError::Internal)?;
    tracing::info!(
        rows,
        bytes = body.len(),
        format = format.extension(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "export made"
    );
    Ok(attachment(format, "export", body))
}

/// `format=xlsx` or `format=csv`, the one parameter.
fn format(query: Option<&str>) -> Result<FileFormat, ServiceError> {
    let mut formats = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("format="));
    match (formats.next(), formats.next()) {
        (Some(format), None) => FileFormat::from_extension(format),
        (None, _) => Err(ServiceError::bad_input(
            "say which file to make: /export?format=xlsx or /export?format=csv",
        )),
        (Some(_), Some(_)) => Err(ServiceError::bad_input("give `format` once")),
    }
}

/// An export's query, checked and analysed, ready to run page by page.
struct Export {
    request: Request,
    connection: Box<Connection>,
}

impl Export {
    /// Checks the document as the guard checks any (size, tokens, nesting, parse,
    /// fragments) and finds its connection.
    async fn prepare(app: &App, caller: &Caller, mut request: Request) -> Result<Self, Failure> {
        let limits = app.config.limits.document();
        guard::check(&mut request, &limits)
            .await
            .map_err(Failure::not_run)?;
        let operation_name = request.operation_name.clone();
        let document = request.parsed_query().map_err(Failure::not_run)?;
        let analysis = document::analyze(document, operation_name.as_deref(), &app.exports.types);
        let connection = match analysis {
            Analysis::Found(connection) => connection,
            Analysis::Refused(message) => return Err(ServiceError::bad_input(message).into()),
            Analysis::Invalid => {
                // The document does not fit the schema: GraphQL says how, before running
                // anything (a query at most: a mutation was refused above).
                let response = execute(app, caller, request).await;
                return Err(match response.errors.is_empty() {
                    false => Failure::GraphQL(response.errors),
                    true => {
                        ServiceError::bad_input("the query holds no connection to export").into()
                    }
                });
            }
        };
        Ok(Self {
            request,
            connection,
        })
    }

    /// Runs the query page after page until the connection has no next page.
    async fn rows(&self, app: &App, caller: &Caller, format: FileFormat) -> Result<Table, Failure> {
        let mut table = Table::new(TableLimits {
            rows: MAX_ROWS,
            bytes: MAX_BYTES,
            cell_chars: (format == FileFormat::Xlsx).then_some(XLSX_CELL_CHARS),
        });
        let node_key = self
            .connection
            .rows
            .last()
            .map_or("node", |key| key.as_str());
        let mut size = MAX_PAGE_SIZE;
        let mut after: Option<String> = None;
        loop {
            let first_page = after.is_none();
            let document = self.connection.page(size, after.as_deref(), first_page);
            let response = execute(app, caller, self.page_request(document)).await;
            if !response.errors.is_empty() {
                // A page too costly or too large to answer may go in smaller pages.
                if size > 1 && response.errors.iter().all(smaller_pages_help) {
                    size /= 2;
                    continue;
                }
                return Err(Failure::GraphQL(response.errors));
            }
            let Some(connection) = at_path(&response.data, &self.connection.path) else {
                // Skipped (`@skip`, `@include`) or null: no rows.
                break;
            };
            if first_page
                && let Some(ConstValue::Number(total)) = connection.get(TOTAL_COUNT)
                && total.as_u64().is_some_and(|total| total > MAX_ROWS as u64)
            {
                return Err(too_many_rows());
            }
            let nodes = nodes(connection, &self.connection.rows);
            let count = nodes.len();
            tracing::debug!(page_size = size, rows = count, "export page");
            for node in nodes {
                table
                    .push(node, node_key, &self.connection.node)
                    .map_err(overflow)?;
            }
            let page_info = connection.get(PAGE_INFO);
            let field = |name| match page_info {
                Some(ConstValue::Object(info)) => info.get(name),
                _ => None,
            };
            match (field("hasNextPage"), field("endCursor")) {
                (Some(ConstValue::Boolean(true)), Some(ConstValue::String(cursor)))
                    if count > 0 =>
                {
                    after = Some(cursor.clone());
                }
                (Some(ConstValue::Boolean(true)), _) => {
                    return Err(ServiceError::Internal(
                        "a page with a next page but no rows or no cursor".into(),
                    )
                    .into());
                }
                _ => break,
            }
        }
        table.head_from(&self.connection.node);
        Ok(table)
    }

    /// The request of one page: the caller's text and variables, the page's document.
    fn page_request(&self, document: async_graphql::parser::types::ExecutableDocument) -> Request {
        let original = &self.request;
        let mut request =
            Request::new(original.query.clone()).variables(original.variables.clone());
        if let Some(name) = &original.operation_name {
            request = request.operation_name(name.clone());
        }
        request.set_parsed_query(document);
        request.data(EditedDocument)
    }
}

/// Runs one request as the caller, as `POST /graphql` runs it.
async fn execute(app: &App, caller: &Caller, request: Request) -> async_graphql::Response {
    let batches = Batches::default();
    let budget = Arc::new(BatchBudget::new(app.config.limits.max_complexity));
    let request = caller.prepare(app, request, &batches, &budget);
    batches.run(app.schema.execute(request)).await
}

fn smaller_pages_help(error: &ServerError) -> bool {
    let code = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"));
    matches!(code, Some(ConstValue::String(code)) if code == "RESPONSE_TOO_LARGE")
        || (matches!(code, Some(ConstValue::String(code)) if code == "QUERY_TOO_COMPLEX")
            && error.message.starts_with("Query is too complex"))
}

/// The object at `path` in the data; None where a step is null or missing.
fn at_path<'v>(
    data: &'v ConstValue,
    path: &[async_graphql::Name],
) -> Option<&'v async_graphql::indexmap::IndexMap<async_graphql::Name, ConstValue>> {
    let mut value = data;
    for key in path {
        match value {
            ConstValue::Object(fields) => value = fields.get(key)?,
            _ => return None,
        }
    }
    match value {
        ConstValue::Object(fields) => Some(fields),
        _ => None,
    }
}

/// A page's nodes: `edges[].node`, or `nodes[]`.
fn nodes<'v>(
    connection: &'v async_graphql::indexmap::IndexMap<async_graphql::Name, ConstValue>,
    rows: &[async_graphql::Name],
) -> Vec<&'v ConstValue> {
    let list = |value: Option<&'v ConstValue>| match value {
        Some(ConstValue::List(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    match rows {
        [edges, node] => list(connection.get(edges))
            .into_iter()
            .map(|edge| match edge {
                ConstValue::Object(edge) => edge.get(node).unwrap_or(&ConstValue::Null),
                _ => &ConstValue::Null,
            })
            .collect(),
        [nodes] => list(connection.get(nodes)),
        _ => Vec::new(),
    }
}

fn too_many_rows() -> Failure {
    Failure::TooLarge(format!(
        "the connection holds more than {MAX_ROWS} rows, the most an export takes: narrow \
         the query with a filter"
    ))
}

fn overflow(overflow: Overflow) -> Failure {
    match overflow {
        Overflow::Rows => too_many_rows(),
        Overflow::Bytes => Failure::TooLarge(format!(
            "the export holds more than {} MiB of text, the most an export takes: select \
             fewer fields or narrow the query",
            MAX_BYTES / (1024 * 1024)
        )),
        Overflow::Cell { column } => Failure::TooLarge(format!(
            "a cell of `{column}` holds more than {XLSX_CELL_CHARS} characters, the most an \
             XLSX cell holds: export as csv"
        )),
    }
}
