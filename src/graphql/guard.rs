//! Refuses documents before they cost anything.
//!
//! The GraphQL parser and validator recurse over a document, and fragments can spread
//! each other many times over: a few kilobytes can overflow the stack or burn minutes of
//! CPU. So, before parsing, a flat scan of the raw text bounds its length, its token
//! count and how deeply its brackets nest; after parsing and before validation, the size
//! of every operation with its fragments expanded is measured, each fragment once
//! (memoized), so a fragment graph cannot multiply the work.
use std::{
    any::TypeId,
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::{
    Name, PathSegment, Positioned, Request, Response, ServerError, ServerResult, ValidationResult,
    Value, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    indexmap::IndexMap,
    parser::types::{
        Directive, DocumentOperations, ExecutableDocument, OperationDefinition, Selection,
        SelectionSet, VariableDefinition,
    },
};
use lru::LruCache;

use super::cost::BatchBudget;
use crate::service::ServiceError;

/// What a document may be before it is parsed and validated.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_tokens: usize,
    pub max_nesting: usize,
    pub max_expanded_fields: usize,
}

/// Charges each operation of a batch to the batch's shared budget
/// ([`BatchBudget`], in the request's data) once validation has costed it: the only hook
/// there is on an operation's cost. Installed on the schema that runs batches only (see
/// `gate`): an extension costs every field of every answer.
pub struct BatchCost;

impl ExtensionFactory for BatchCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(BatchCost)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for BatchCost {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if let (Ok(valid), Some(budget)) = (&result, ctx.data_opt::<Arc<BatchBudget>>())
            && !budget.spend(valid.complexity)
        {
            let error = ServerError::new(
                "Query is too complex: the operations of this batch cost more together than \
                 one operation may",
                None,
            );
            return Err(vec![with_code(error, "QUERY_TOO_COMPLEX")]);
        }
        result
    }
}

/// Marks a request whose document its sender parsed (with [`check`]) and then edited, as
/// `POST /export` does to page through a connection: the guard keeps that document
/// instead of parsing the text again. The text is still scanned and the document still
/// measured.
#[derive(Clone, Copy, Debug)]
pub struct EditedDocument;

/// Checks a request's text and variables, parses the text (unless the request is marked
/// [`EditedDocument`]) and measures the document: everything the guard does before
/// async-graphql looks at a request. The parsed document is left in the request.
pub async fn check(request: &mut Request, limits: &DocumentLimits) -> ServerResult<()> {
    scan(&request.query, limits).map_err(refusal)?;
    if request.variables.values().any(has_nul) {
        return Err(refusal(NUL_TEXT.to_owned()));
    }
    let objects = request.variables.values().map(objects_in).sum::<usize>();
    if objects > MAX_VARIABLE_OBJECTS {
        return Err(refusal(format!(
            "the variables hold {objects} objects; at most {MAX_VARIABLE_OBJECTS} are accepted"
        )));
    }
    if !request.data.contains_key(&TypeId::of::<EditedDocument>()) {
        let document = parse(&request.query).await?;
        request.set_parsed_query(document);
    }
    let document = request.parsed_query()?;
    expanded_size(document, limits.max_expanded_fields).map_err(refusal)?;
    if introspection_lists(document) > MAX_INTROSPECTION_LISTS {
        let error = ServerError::new(
            format!(
                "Query is too complex: introspection lists (types, fields, args, interfaces, \
                 possibleTypes…) nest at most {MAX_INTROSPECTION_LISTS} deep"
            ),
            None,
        );
        return Err(with_code(error, "QUERY_TOO_COMPLEX"));
    }
    Ok(())
}

/// The operation of a document that a request runs, with its name: the one it names, else
/// its only one (as async-graphql chooses). None where the name is not the document's, or
/// none is given and there are several.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a Positioned<OperationDefinition>)> {
    let named = match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => return Some((None, operation)),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get_key_value(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.iter().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    named.map(|(name, operation)| (Some(name), operation))
}

/// The response keys of an operation's root fields, in the order its document selects
/// them: fragments in place, and what `@skip` or `@include` leaves out (given `variables`)
/// left out, as the spec collects them (§6.3.2). async-graphql resolves a query's root
/// fields side by side and keys its answer in the order they finish; the spec keys it in
/// the order they are selected (§7.1.1), which [`order_root`] restores with these.
pub fn root_keys(
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> Vec<Name> {
    let operation = self::operation(document, operation).map(|(_, operation)| operation);
    let mut keys = Vec::new();
    if let Some(operation) = operation {
        let collect = KeyCollector {
            document,
            variables,
            defaults: &operation.node.variable_definitions,
        };
        collect.keys(
            &operation.node.selection_set.node,
            &mut Vec::new(),
            &mut keys,
        );
    }
    keys
}

/// What decides which fields of a selection set are collected.
struct KeyCollector<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    defaults: &'a [Positioned<VariableDefinition>],
}

impl<'a> KeyCollector<'a> {
    /// The response keys `set` selects, into `keys`; a fragment spread twice (or in a
    /// cycle, which validation refuses) is read once, where it is first spread.
    fn keys(&self, set: &'a SelectionSet, spread: &mut Vec<&'a Name>, keys: &mut Vec<Name>) {
        for selection in &set.items {
            if !self.included(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => keys.push(field.node.response_key().node.clone()),
                Selection::FragmentSpread(fragment) => {
                    let name = &fragment.node.fragment_name.node;
                    if spread.contains(&name) {
                        continue;
                    }
                    spread.push(name);
                    if let Some(fragment) = self.document.fragments.get(name) {
                        self.keys(&fragment.node.selection_set.node, spread, keys);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.keys(&fragment.node.selection_set.node, spread, keys);
                }
            }
        }
    }

    /// Whether `@skip` and `@include` keep a selection. One whose condition cannot be read
    /// (validation refuses it) is kept.
    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|directive| {
            // A literal, or a variable's value (its default if not given).
            let condition = directive.node.get_argument("if").and_then(|value| {
                value
                    .node
                    .clone()
                    .into_const_with(|name| self.variable(&name).ok_or(()))
                    .ok()
            });
            !matches!(
                (directive.node.name.node.as_str(), condition),
                ("skip", Some(Value::Boolean(true))) | ("include", Some(Value::Boolean(false)))
            )
        })
    }

    /// The value of the variable `name`: given, or its default.
    fn variable(&self, name: &Name) -> Option<Value> {
        self.variables.get(name).cloned().or_else(|| {
            self.defaults
                .iter()
                .find(|definition| definition.node.name.node == *name)
                .and_then(|definition| definition.node.default_value.as_ref())
                .map(|default| default.node.clone())
        })
    }
}

/// Keys the answer's root object in the order of `keys` ([`root_keys`]); a key that is
/// not among them keeps its place after them. A key missing for an error at its field is
/// a non-null field that failed (async-graphql answers a nullable one's with null), whose
/// null reaches the root: `data` is null then, as the spec has it (§6.4.4), not an answer
/// without the field.
pub fn order_root(response: &mut Response, keys: &[Name]) {
    let Value::Object(fields) = &mut response.data else {
        return;
    };
    let failed = |key: &Name| {
        response.errors.iter().any(|error| {
            matches!(error.path.first(), Some(PathSegment::Field(name)) if name == key.as_str())
        })
    };
    if keys
        .iter()
        .any(|key| !fields.contains_key(key) && failed(key))
    {
        response.data = Value::Null;
        return;
    }
    if fields.len() < 2 {
        return;
    }
    let mut ordered = IndexMap::with_capacity(fields.len());
    for key in keys {
        if let Some(value) = fields.swap_remove(key) {
            ordered.insert(key.clone(), value);
        }
    }
    ordered.extend(fields.drain(..));
    *fields = ordered;
}

/// How deeply the list fields of introspection may nest along one path. The cost limit
/// does not count introspection, and each of these lists multiplies what is under it
/// (`possibleTypes { interfaces { possibleTypes … } }` grows tenfold a level): GraphiQL's
/// own introspection nests three (`types { fields { args } }`).
const MAX_INTROSPECTION_LISTS: usize = 3;

/// The introspection fields that return lists.
const INTROSPECTION_LISTS: &[&str] = &[
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

/// The deepest nesting of introspection list fields along any path of the document,
/// counted inside `__schema` and `__type` only.
fn introspection_lists(document: &ExecutableDocument) -> usize {
    let mut fragments = Fragments::new(document);
    document
        .operations
        .iter()
        .map(|(_, operation)| {
            lists_below(&mut fragments, &operation.node.selection_set.node, false)
        })
        .max()
        .unwrap_or(0)
}

/// A fragment's depth is remembered per fragment and whether it is inside introspection.
fn lists_below<'a>(
    fragments: &mut Fragments<'a, (&'a str, bool), usize>,
    set: &'a SelectionSet,
    inside: bool,
) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let entered = inside || name == "__schema" || name == "__type";
                let here = usize::from(inside && INTROSPECTION_LISTS.contains(&name));
                here + lists_below(fragments, &field.node.selection_set.node, entered)
            }
            Selection::InlineFragment(inline) => {
                lists_below(fragments, &inline.node.selection_set.node, inside)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                fragments.value(name, (name, inside), 0, 0, |fragments, set| {
                    lists_below(fragments, set, inside)
                })
            }
        })
        .max()
        .unwrap_or(0)
}

/// The fragments of a document for a walk that expands them: each one's value is
/// computed once per key (its name, and whatever else the walk depends on) and
/// remembered, so that a fragment graph costs no more than its size. A fragment met again
/// while its value is being computed (a cycle, which validation refuses) answers `cycle`;
/// one the document lacks (for validation to report) `unknown`.
pub struct Fragments<'a, K, V> {
    document: &'a ExecutableDocument,
    /// `None` while a value is being computed.
    memo: HashMap<K, Option<V>>,
}

impl<'a, K: Eq + std::hash::Hash + Clone, V: Clone> Fragments<'a, K, V> {
    pub fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            memo: HashMap::new(),
        }
    }

    /// The value of fragment `name` under `key`, computed by `walk` over its selections.
    pub fn value(
        &mut self,
        name: &str,
        key: K,
        cycle: V,
        unknown: V,
        walk: impl FnOnce(&mut Self, &'a SelectionSet) -> V,
    ) -> V {
        match self.memo.get(&key) {
            Some(Some(known)) => return known.clone(),
            Some(None) => return cycle,
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return unknown;
        };
        self.memo.insert(key.clone(), None);
        let value = walk(self, &fragment.node.selection_set.node);
        self.memo.insert(key, Some(value.clone()));
        value
    }
}

/// Documents longer than this are parsed on the blocking pool, off the async workers.
const PARSE_OFF_WORKERS_BYTES: usize = 8 * 1024;

/// Documents at most this long are remembered once parsed (a client sends the same few
/// documents over and over), [`REMEMBERED_DOCUMENTS`] of them at most.
const REMEMBERED_DOCUMENT_BYTES: usize = 4 * 1024;
const REMEMBERED_DOCUMENTS: usize = 128;

/// The documents parsed last, by their text. Parsing is a pure function of the text, so
/// one memory serves every caller; copying a parsed document costs a fraction of parsing
/// it again (the parser's work was 7% of the nested plan's instructions, run 11).
fn remembered_documents() -> &'static Mutex<LruCache<Box<str>, Arc<ExecutableDocument>>> {
    static REMEMBERED: OnceLock<Mutex<LruCache<Box<str>, Arc<ExecutableDocument>>>> =
        OnceLock::new();
    REMEMBERED.get_or_init(|| {
        Mutex::new(LruCache::new(
            NonZeroUsize::new(REMEMBERED_DOCUMENTS).expect("not zero"),
        ))
    })
}

/// Parses a document (already bounded by [`scan`]), or copies it from the documents
/// parsed last; a large one on the blocking pool so that a stream of them cannot hold up
/// the workers that serve everyone else.
async fn parse(query: &str) -> ServerResult<ExecutableDocument> {
    if query.len() > REMEMBERED_DOCUMENT_BYTES {
        return parse_anew(query).await;
    }
    let remembered = remembered_documents()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(query)
        .cloned();
    if let Some(document) = remembered {
        return Ok(ExecutableDocument::clone(&document));
    }
    let document = parse_anew(query).await?;
    remembered_documents()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .put(query.into(), Arc::new(document.clone()));
    Ok(document)
}

async fn parse_anew(query: &str) -> ServerResult<ExecutableDocument> {
    let parsed = if query.len() > PARSE_OFF_WORKERS_BYTES {
        let query = query.to_owned();
        tokio::task::spawn_blocking(move || async_graphql::parser::parse_query(query))
            .await
            .map_err(|e| without_location(ServiceError::Internal(format!("parsing task: {e}"))))?
    } else {
        async_graphql::parser::parse_query(query)
    };
    parsed.map_err(|e| with_code(ServerError::from(e), "GRAPHQL_PARSE_FAILED"))
}

/// Sets `extensions.code` where an error has none.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// An answer as JSON, if it is at most `limit` bytes long: serialization stops at the
/// limit, so an answer too large to send is never written out whole.
pub fn json_within(response: &impl serde::Serialize, limit: usize) -> Option<Vec<u8>> {
    let out = LimitedBuffer {
        bytes: Vec::with_capacity(limit.min(FIRST_BUFFER_BYTES)),
        limit,
    };
    // The serializer owns the buffer (not a `&mut` of it), so that its writes inline.
    let mut serializer = serde_json::Serializer::new(out);
    response.serialize(&mut serializer).ok()?;
    Some(serializer.into_inner().bytes)
}

/// An `io::Write` into memory that fails once past its limit.
struct LimitedBuffer {
    bytes: Vec<u8>,
    limit: usize,
}

/// What an answer's buffer starts with: most answers fit, and the larger ones grow from
/// there in a few doublings rather than a dozen.
const FIRST_BUFFER_BYTES: usize = 16 * 1024;

// serde_json writes an answer in thousands of small pieces (each string is three or more):
// these are inlined into it.
impl std::io::Write for LimitedBuffer {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.bytes.len().saturating_add(buf.len()) > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn refusal(message: String) -> ServerError {
    without_location(ServiceError::bad_input(message))
}

/// An error about the whole document, not a place in it: no `locations` (which count
/// from line 1, column 1; there is no line 0).
fn without_location(error: ServiceError) -> ServerError {
    super::error::request_error(&error)
}

/// Bounds the raw text: its length, its tokens and the nesting of `(`, `[` and `{`.
/// Strings, block strings and comments are skipped as the GraphQL lexer would.
pub fn scan(query: &str, limits: &DocumentLimits) -> Result<(), String> {
    if query.len() > limits.max_bytes {
        return Err(format!(
            "the document is {} bytes long; at most {} are accepted",
            query.len(),
            limits.max_bytes
        ));
    }
    let bytes = query.as_bytes();
    // Raw, not only escaped: a NUL reaches a string whichever way it is written.
    if bytes.contains(&0) {
        return Err(NUL_TEXT.to_owned());
    }
    let (mut i, mut tokens, mut depth) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                loop {
                    if i >= bytes.len() {
                        break;
                    }
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        if escapes_nul(&bytes[i..]) {
                            return Err(NUL_TEXT.to_owned());
                        }
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                i += 1;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(format!(
                        "the document nests brackets more than {} deep",
                        limits.max_nesting
                    ));
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                // A name or a number (sign, fraction and exponent included).
                i += 1;
                while i < bytes.len() {
                    let d = bytes[i];
                    let exponent_sign =
                        matches!(d, b'-' | b'+') && matches!(bytes[i - 1], b'e' | b'E');
                    if d.is_ascii_alphanumeric() || d == b'_' || d == b'.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(format!(
                "the document has more than {} tokens",
                limits.max_tokens
            ));
        }
    }
    Ok(())
}

const NUL_TEXT: &str = "text may not contain the NUL character (U+0000)";

/// Whether an escape sequence at the start of `bytes` stands for U+0000: `\u0000` or
/// `\u{0}` (any number of zeros).
fn escapes_nul(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\\u0000") {
        return true;
    }
    let Some(rest) = bytes.strip_prefix(b"\\u{") else {
        return false;
    };
    let zeros = rest.iter().take_while(|b| **b == b'0').count();
    zeros > 0 && rest.get(zeros) == Some(&b'}')
}

/// Most objects one request's variables may hold. async-graphql turns each object of a
/// filter into a typed input of kilobytes before the filter's own limits (100 conditions)
/// or the cost limit can look at it: a megabyte of `{"and": [{}, {}, …]}` took 650 MB and
/// 1.6 s to refuse. A filter at its limits is a few hundred objects.
pub const MAX_VARIABLE_OBJECTS: usize = 2_000;

/// The objects in a variable's value, itself included.
fn objects_in(value: &async_graphql::Value) -> usize {
    use async_graphql::Value;
    match value {
        Value::List(items) => items.iter().map(objects_in).sum(),
        Value::Object(fields) => 1 + fields.values().map(objects_in).sum::<usize>(),
        _ => 0,
    }
}

/// Most JSON values (objects, lists, strings, numbers…) a request body may hold: a
/// megabyte of `[{}, {}, …]` is 250,000 values, 60 MB once parsed. Legitimate bodies,
/// batches of filtered queries included, hold a few thousand.
pub const MAX_BODY_JSON_VALUES: usize = 20_000;

/// Checks that a JSON text holds at most `max` values, counting without building them
/// (a text that is not JSON passes: its parse then says what is wrong with it).
pub fn json_values_within(text: &[u8], max: usize) -> Result<(), String> {
    use serde::de::DeserializeSeed;
    let left = std::cell::Cell::new(max);
    let mut reader = serde_json::Deserializer::from_slice(text);
    match (CountValues { left: &left }).deserialize(&mut reader) {
        Err(error) if error.is_data() => Err(format!(
            "the request holds more than {max} JSON values (objects, lists, strings, numbers)"
        )),
        _ => Ok(()),
    }
}

/// Counts JSON values down from `left`, failing at zero.
struct CountValues<'a> {
    left: &'a std::cell::Cell<usize>,
}

impl CountValues<'_> {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get() {
            0 => Err(E::custom("too many values")),
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }

    fn next(&self) -> Self {
        CountValues { left: self.left }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for CountValues<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for CountValues<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.take()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.take()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.take()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.take()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.take()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.take()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.take()?;
        while items.next_element_seed(self.next())?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        self.take()?;
        while fields.next_key::<serde::de::IgnoredAny>()?.is_some() {
            fields.next_value_seed(self.next())?;
        }
        Ok(())
    }
}

/// Whether a variable's value holds a NUL character anywhere, keys included. NUL cannot
/// be stored by PostgreSQL, so both backends refuse it up front.
fn has_nul(value: &async_graphql::Value) -> bool {
    use async_graphql::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        _ => false,
    }
}

/// The number of selections (fields, spreads, inline fragments) of each operation once
/// its fragments are expanded, refused past `max`. Each fragment is measured once; a
/// fragment that spreads itself, directly or not, is refused.
pub fn expanded_size(document: &ExecutableDocument, max: usize) -> Result<usize, String> {
    let mut fragments = Fragments::new(document);
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(size_of_set(
            &mut fragments,
            &operation.node.selection_set.node,
            max,
        )?);
        if total > max {
            return Err(too_big(max));
        }
    }
    Ok(total)
}

fn too_big(max: usize) -> String {
    format!(
        "the document selects more than {max} fields and fragments once its fragments are expanded"
    )
}

fn size_of_set<'a>(
    fragments: &mut Fragments<'a, &'a str, Result<usize, String>>,
    set: &'a SelectionSet,
    max: usize,
) -> Result<usize, String> {
    let mut size = 0usize;
    for item in &set.items {
        let part = match &item.node {
            Selection::Field(field) => {
                1 + size_of_set(fragments, &field.node.selection_set.node, max)?
            }
            Selection::InlineFragment(inline) => {
                1 + size_of_set(fragments, &inline.node.selection_set.node, max)?
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                let cycle = Err(format!("the fragment `{name}` spreads itself"));
                1 + fragments.value(name, name, cycle, Ok(0), |fragments, set| {
                    size_of_set(fragments, set, max)
                })?
            }
        };
        size = size.saturating_add(part);
        if size > max {
            return Err(too_big(max));
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_bytes: 10_000,
        max_tokens: 500,
        max_nesting: 16,
        max_expanded_fields: 1_000,
    };

    #[test]
    fn deep_brackets_are_refused_before_parsing() {
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(20), "]".repeat(20));
        assert!(scan(&deep, &LIMITS).unwrap_err().contains("nests"));
        let fine = format!("{{ a(x: {}1{}) }}", "[".repeat(5), "]".repeat(5));
        assert!(scan(&fine, &LIMITS).is_ok());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!(
            "{{ a(x: \"{}\", y: \"\"\"{}\"\"\") # {}\n }}",
            "[".repeat(50),
            "{".repeat(50),
            "(".repeat(50)
        );
        assert!(scan(&text, &LIMITS).is_ok());
        assert!(scan("{ a(x: \"\\\"[[[[\") }", &LIMITS).is_ok());
    }

    #[test]
    fn nul_escapes_are_refused() {
        assert_eq!(
            scan(r#"{ a(x: "a\u0000b") }"#, &LIMITS).unwrap_err(),
            NUL_TEXT
        );
        assert_eq!(
            scan(r#"{ a(x: "\u{000}") }"#, &LIMITS).unwrap_err(),
            NUL_TEXT
        );
        assert!(scan(r#"{ a(x: "\u0041 \\u0000") }"#, &LIMITS).is_ok());
        let vars =
            async_graphql::Value::from_json(serde_json::json!({"a": ["x", "y\u{0}"]})).unwrap();
        assert!(has_nul(&vars));
    }

    #[test]
    fn raw_nul_is_refused() {
        assert_eq!(
            scan("{ a(x: \"a\u{0}b\") }", &LIMITS).unwrap_err(),
            NUL_TEXT
        );
    }

    #[test]
    fn introspection_lists_nest_only_so_deep() {
        let depth =
            |query: &str| introspection_lists(&async_graphql::parser::parse_query(query).unwrap());
        assert_eq!(
            depth("{ __schema { types { fields { args { type { ofType { name } } } } } } }"),
            3
        );
        assert_eq!(
            depth(
                "{ __type(name: \"Node\") { possibleTypes { interfaces { possibleTypes { interfaces { name } } } } } }"
            ),
            4
        );
        // Only inside introspection: a field of the API named like one does not count.
        assert_eq!(depth("{ plans { types { fields { args { x } } } } }"), 0);
        // Through fragments, each walked once.
        assert_eq!(
            depth(
                "{ __schema { types { ...T } } } fragment T on __Type { fields { ...F } } fragment F on __Field { args { name } }"
            ),
            3
        );
    }

    #[test]
    fn tokens_and_length_are_bounded() {
        let many = format!("{{ {} }}", "a ".repeat(600));
        assert!(scan(&many, &LIMITS).unwrap_err().contains("tokens"));
        let long = format!("{{ a }} #{}", "x".repeat(20_000));
        assert!(scan(&long, &LIMITS).unwrap_err().contains("bytes"));
        assert!(scan("{ a(x: -1.5e10, y: $v) { ...F } }", &LIMITS).is_ok());
    }

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("parses")
    }

    #[test]
    fn fragment_fan_out_is_measured_once_per_fragment() {
        // Each fragment spreads the next three times: 3^15 fields once expanded.
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..15 {
            let n = i + 1;
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} ...F{n} }}\n"
            ));
        }
        query.push_str("fragment F15 on Query { __typename }\n");
        let err = expanded_size(&parse(&query), 1_000).unwrap_err();
        assert!(err.contains("more than 1000 fields"), "{err}");
    }

    #[test]
    fn fragment_cycles_are_refused() {
        let doc = parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
        assert!(
            expanded_size(&doc, 1_000)
                .unwrap_err()
                .contains("spreads itself")
        );
    }

    #[test]
    fn ordinary_documents_count_their_fields() {
        let doc = parse("{ a { b c ...F } } fragment F on X { d e { f } }");
        assert_eq!(
            expanded_size(&doc, 1_000),
            Ok(7),
            "six fields and one spread"
        );
    }
}
