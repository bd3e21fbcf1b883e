//! A property-based fuzzer: GraphQL documents and variables made by proptest and thrown at
//! the real router, in-process, on SQLite, signed in and anonymous, for a bounded time.
//!
//! What it makes: documents walked from the served schema (`schema.graphql`: real fields,
//! arguments of the right and of the wrong type, variables, aliases, inline fragments,
//! directives, made-up fields), deep nesting (selections, lists, input objects, variable
//! types and defaults, variables' JSON: up to 6,000 deep), fragment graphs (chains that fan
//! out, cycles), thousands of aliases, huge strings and many words, odd unicode (NUL,
//! lone surrogates escaped in JSON and in GraphQL strings, direction marks, combining
//! marks, emoji), token soup, `first`/`after` values of every kind, batches.
//!
//! Per case: the router answers (no panic; an abort kills the child process, see
//! `sandbox`), the answer is JSON with `data` or `errors` (each of a batch), within
//! `CASE_LIMIT`, and the resident memory of the process grows by less than `MEMORY_LIMIT_MB`.
//!
//! It runs for `PLANTRACK_FUZZ_SECS` seconds (default 10; CI sets 60): a loop of proptest
//! cases that stops making new ones once the time is up. A failure is shrunk (for at most
//! `SHRINK_MS`) and printed with the seed and the case's number; the same seed makes the
//! same cases, so `PLANTRACK_FUZZ_SEED=<seed> PLANTRACK_FUZZ_FROM=<number>` runs it again
//! (the cases before it are made but not sent).
use std::{
    collections::HashMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use axum::{body::Body, http::Request};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::{
    prelude::*,
    test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner},
};
use serde_json::Value;

use crate::{
    sandbox::{self, Watch},
    support::TestApp,
};

/// One answer may take this long; more is a stall.
const CASE_LIMIT: Duration = Duration::from_secs(5);
/// Growth of resident memory over the whole run.
const MEMORY_LIMIT_MB: u64 = 512;
/// Time spent shrinking a failure, in milliseconds.
const SHRINK_MS: u32 = 30_000;

#[test]
fn fuzz_documents_and_variables() {
    let budget = Duration::from_secs(
        std::env::var("PLANTRACK_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let watch = Watch {
        // Setup, shrinking (SHRINK_MS) and a few slow cases: past this, a stall.
        seconds: budget.as_secs() + 120,
        megabytes: 3_072,
    };
    sandbox::run(
        concat!(module_path!(), "::fuzz_documents_and_variables"),
        watch,
        || fuzz(budget),
    );
}

fn fuzz(budget: Duration) {
    let seed = std::env::var("PLANTRACK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let from: u64 = std::env::var("PLANTRACK_FUZZ_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let runtime = sandbox::runtime();
    let app = runtime.block_on(TestApp::sqlite());
    let callers = runtime.block_on(async {
        let mut callers = vec![None];
        for user in ["analyst", "tayson", "coordinator", "admin", "tayson-viewer"] {
            callers.push(Some(format!("Bearer {}", app.login(user).await)));
        }
        callers.push(Some("Bearer forged".into()));
        callers.push(Some("Basic dGF5c29uOng=".into()));
        callers
    });
    let schema = Model::load();
    let baseline = sandbox::resident_mb(std::process::id());
    say(&format!(
        "NOTE: fuzz: seed {seed}, {} s (PLANTRACK_FUZZ_SEED={seed} repeats these cases)",
        budget.as_secs()
    ));

    let config = Config {
        failure_persistence: None,
        max_shrink_time: SHRINK_MS,
        max_shrink_iters: 10_000,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = case();
    let check = |case: Case| -> Result<(), TestCaseError> {
        let (auth, body) = case.render(&schema, &callers);
        sandbox::doing(&format!("Authorization: {auth:?}\n{body}"));
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(auth) = &auth {
            request = request.header("authorization", auth.as_str());
        }
        let request = request.body(Body::from(body)).expect("request");
        let started = Instant::now();
        let (status, bytes) = runtime.block_on(app.request(request));
        let took = started.elapsed();
        if took > CASE_LIMIT {
            return Err(TestCaseError::fail(format!(
                "answered after {took:?} (status {status})"
            )));
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| {
            TestCaseError::fail(format!(
                "status {status}, an answer that is not JSON: {}",
                sandbox::head(&String::from_utf8_lossy(&bytes), 300)
            ))
        })?;
        let answers = match &answer {
            Value::Array(each) if case.is_batch() => each.clone(),
            _ => vec![answer.clone()],
        };
        for one in &answers {
            if one.get("data").is_none() && one.get("errors").is_none() {
                return Err(TestCaseError::fail(format!(
                    "status {status}, JSON without data or errors: {}",
                    sandbox::head(&answer.to_string(), 300)
                )));
            }
        }
        let grown = sandbox::resident_mb(std::process::id()).saturating_sub(baseline);
        if grown > MEMORY_LIMIT_MB {
            return Err(TestCaseError::fail(format!(
                "resident memory grew by {grown} MB (status {status}, {} bytes answered)",
                bytes.len()
            )));
        }
        Ok(())
    };

    let started = Instant::now();
    let mut number = 0u64;
    while started.elapsed() < budget {
        let tree = strategy.new_tree(&mut runner).expect("a case can be made");
        number += 1;
        if number < from {
            continue;
        }
        match runner.run_one(tree, check) {
            Ok(_) => {}
            Err(TestError::Fail(why, minimal)) => {
                let (auth, body) = minimal.render(&schema, &callers);
                let path =
                    std::env::temp_dir().join(format!("plantrack-fuzz-{seed}-{number}.json"));
                let _ = std::fs::write(&path, &body);
                panic!(
                    "fuzz case #{number} failed: {why}\n\
                     seed {seed}: PLANTRACK_FUZZ_SEED={seed} PLANTRACK_FUZZ_FROM={number} runs it again\n\
                     shrunk to: {minimal:?}\n\
                     Authorization: {auth:?}\n\
                     body ({} bytes, whole in {}):\n{}",
                    body.len(),
                    path.display(),
                    sandbox::head(&body, 4_000)
                );
            }
            Err(TestError::Abort(why)) => panic!("fuzz case #{number}: aborted: {why}"),
        }
    }
    // And the server still answers a normal query.
    let reply = runtime.block_on(app.graphql("{ tasks { totalCount } }", serde_json::json!({})));
    assert_eq!(reply.data()["tasks"]["totalCount"], crate::fixtures::TASKS);
    say(&format!(
        "NOTE: fuzz: {} cases in {:.1} s (seed {seed}), resident memory grew by {} MB",
        number.saturating_sub(from.saturating_sub(1)),
        started.elapsed().as_secs_f64(),
        sandbox::resident_mb(std::process::id()).saturating_sub(baseline)
    ));
}

fn say(message: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{message}\n").as_bytes());
}

// ---------------------------------------------------------------------------------------
// The schema, as the generator needs it.

/// A type reference: the named type, how many lists wrap it, and its SDL spelling.
#[derive(Clone, Debug)]
struct TypeRef {
    name: String,
    lists: usize,
    sdl: String,
}

impl TypeRef {
    fn of(ty: &Type) -> Self {
        let mut lists = 0;
        let mut base = &ty.base;
        while let BaseType::List(inner) = base {
            lists += 1;
            base = &inner.base;
        }
        let BaseType::Named(name) = base else {
            unreachable!()
        };
        Self {
            name: name.to_string(),
            lists,
            sdl: ty.to_string(),
        }
    }

    fn element(&self) -> Self {
        Self {
            lists: self.lists.saturating_sub(1),
            ..self.clone()
        }
    }
}

struct Field {
    name: String,
    args: Vec<(String, TypeRef)>,
    ty: TypeRef,
}

enum Kind {
    /// Objects, interfaces and unions: fields (none for a union) and the object types
    /// that can stand for it (none for an object).
    Composite {
        fields: Vec<Field>,
        possible: Vec<String>,
    },
    Input(Vec<(String, TypeRef)>),
    Enum(Vec<String>),
    Scalar,
}

/// The served schema, read from `schema.graphql` (which a test keeps equal to it).
struct Model {
    types: HashMap<String, Kind>,
}

/// Mutations left out of the walk: they would end the callers' sessions mid-run.
const SPARED_MUTATIONS: &[&str] = &["logout", "disableUser", "resetPassword"];

impl Model {
    fn load() -> Self {
        let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
            .expect("schema.graphql");
        let document = async_graphql::parser::parse_schema(sdl).expect("schema.graphql parses");
        let mut types = HashMap::new();
        let mut implementers: HashMap<String, Vec<String>> = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let name = ty.name.node.to_string();
            let fields_of = |fields: &[async_graphql::Positioned<
                async_graphql::parser::types::FieldDefinition,
            >]| {
                fields
                    .iter()
                    .map(|f| Field {
                        name: f.node.name.node.to_string(),
                        args: f
                            .node
                            .arguments
                            .iter()
                            .map(|a| (a.node.name.node.to_string(), TypeRef::of(&a.node.ty.node)))
                            .collect(),
                        ty: TypeRef::of(&f.node.ty.node),
                    })
                    .filter(|f| {
                        !(name == "Mutation" && SPARED_MUTATIONS.contains(&f.name.as_str()))
                    })
                    .collect::<Vec<_>>()
            };
            let kind = match ty.kind {
                TypeKind::Object(object) => {
                    for interface in &object.implements {
                        implementers
                            .entry(interface.node.to_string())
                            .or_default()
                            .push(name.clone());
                    }
                    Kind::Composite {
                        fields: fields_of(&object.fields),
                        possible: Vec::new(),
                    }
                }
                TypeKind::Interface(interface) => Kind::Composite {
                    fields: fields_of(&interface.fields),
                    possible: Vec::new(),
                },
                TypeKind::Union(union) => Kind::Composite {
                    fields: Vec::new(),
                    possible: union.members.iter().map(|m| m.node.to_string()).collect(),
                },
                TypeKind::InputObject(input) => Kind::Input(
                    input
                        .fields
                        .iter()
                        .map(|f| (f.node.name.node.to_string(), TypeRef::of(&f.node.ty.node)))
                        .collect(),
                ),
                TypeKind::Enum(e) => Kind::Enum(
                    e.values
                        .iter()
                        .map(|v| v.node.value.node.to_string())
                        .collect(),
                ),
                TypeKind::Scalar => Kind::Scalar,
            };
            types.insert(name, kind);
        }
        for (interface, objects) in implementers {
            if let Some(Kind::Composite { possible, .. }) = types.get_mut(&interface) {
                *possible = objects;
            }
        }
        assert!(
            types.contains_key("Query"),
            "schema.graphql has a Query type"
        );
        Self { types }
    }
}

// ---------------------------------------------------------------------------------------
// Cases.

/// One request: who sends it and what.
#[derive(Clone, Debug)]
struct Case {
    /// Index into the callers: anonymous, five users, a forged token, a wrong scheme.
    caller: usize,
    request: Payload,
}

#[derive(Clone, Debug)]
enum Payload {
    One(Operation),
    Batch(Vec<Operation>),
    /// A body that is not the JSON of a request (malformed JSON, wrong shapes).
    Raw(usize),
}

#[derive(Clone, Debug)]
struct Operation {
    shape: Shape,
    /// Index into OPERATION_NAMES: most often none.
    name: usize,
    /// Index into ODD_VARIABLES; past its end, the shape's own variables.
    variables: usize,
}

#[derive(Clone, Debug)]
enum Shape {
    /// A document walked from the schema, steered by the choices on `tape`.
    Walk { mutation: bool, tape: Vec<u32> },
    /// One kind of nesting, `depth` deep.
    Deep { nesting: Nesting, depth: usize },
    /// Fragment i spreads each of `graph[i]` (indices wrap, so cycles happen) `fan_out`
    /// times; the operation spreads fragment 0.
    Fragments { graph: Vec<Vec<u8>>, fan_out: usize },
    /// The bomb's family: `count` fragments, each spreading the next `fan_out` times.
    FragmentChain { count: usize, fan_out: usize },
    /// One field walked from the schema, repeated under `count` aliases.
    Aliases { count: usize, tape: Vec<u32> },
    /// `text` as the string argument of TEXT_TARGETS[target], as a variable or inline.
    Text {
        target: usize,
        text: Vec<Piece>,
        inline: bool,
    },
    /// Tokens of GraphQL, in any order.
    Soup(Vec<usize>),
}

#[derive(Clone, Copy, Debug)]
enum Nesting {
    Selections,
    ListArgument,
    ObjectArgument,
    MixedArgument,
    ListDefault,
    ObjectDefault,
    ListVariableType,
    JsonListVariable,
    JsonObjectVariable,
    InlineFragments,
}

/// A piece of generated text.
#[derive(Clone, Debug)]
enum Piece {
    Plain(String),
    Odd(usize),
    /// A lone UTF-16 surrogate, sent escaped (`\uD800`): no Rust string can hold one.
    Lone(u16),
    /// WORDS[word] repeated `times` times.
    Repeat(usize, usize),
    /// `count` different words.
    Words(usize),
}

fn case() -> impl Strategy<Value = Case> {
    let operation = || {
        (
            shape(),
            prop_oneof![8 => Just(0usize), 1 => 1..OPERATION_NAMES.len()],
            prop_oneof![12 => Just(usize::MAX), 1 => 0..ODD_VARIABLES.len()],
        )
            .prop_map(|(shape, name, variables)| Operation {
                shape,
                name,
                variables,
            })
    };
    let payload = prop_oneof![
        16 => operation().prop_map(Payload::One),
        2 => prop::collection::vec(operation(), 0..=12).prop_map(Payload::Batch),
        1 => (0..RAW_BODIES.len()).prop_map(Payload::Raw),
    ];
    // Anonymous, the five users, a forged token, a wrong scheme: mostly signed in.
    let caller =
        prop_oneof![2 => Just(0usize), 10 => 1usize..6, 1 => Just(6usize), 1 => Just(7usize)];
    (caller, payload).prop_map(|(caller, request)| Case { caller, request })
}

fn tape() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..96)
}

fn depth() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..64, 64usize..1_000, 3_000usize..6_000]
}

fn shape() -> impl Strategy<Value = Shape> {
    let nesting = prop_oneof![
        Just(Nesting::Selections),
        Just(Nesting::ListArgument),
        Just(Nesting::ObjectArgument),
        Just(Nesting::MixedArgument),
        Just(Nesting::ListDefault),
        Just(Nesting::ObjectDefault),
        Just(Nesting::ListVariableType),
        Just(Nesting::JsonListVariable),
        Just(Nesting::JsonObjectVariable),
        Just(Nesting::InlineFragments),
    ];
    prop_oneof![
        8 => (prop::bool::weighted(0.15), tape()).prop_map(|(mutation, tape)| Shape::Walk { mutation, tape }),
        3 => (nesting, depth()).prop_map(|(nesting, depth)| Shape::Deep { nesting, depth }),
        1 => (prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 1..=20), 1usize..=4)
            .prop_map(|(graph, fan_out)| Shape::Fragments { graph, fan_out }),
        1 => (1usize..=20, 1usize..=4).prop_map(|(count, fan_out)| Shape::FragmentChain { count, fan_out }),
        1 => (prop_oneof![1usize..50, 50usize..3_000], tape()).prop_map(|(count, tape)| Shape::Aliases { count, tape }),
        3 => (0..TEXT_TARGETS.len(), prop::collection::vec(piece(), 1..4), any::<bool>())
            .prop_map(|(target, text, inline)| Shape::Text { target, text, inline }),
        1 => prop::collection::vec(0..TOKENS.len(), 0..300).prop_map(Shape::Soup),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => "[a-zA-Z0-9 àảạăđêôơưĐ%_'\"\\\\-]{0,16}".prop_map(Piece::Plain),
        3 => (0..ODD.len()).prop_map(Piece::Odd),
        1 => (0xD800u16..=0xDFFF).prop_map(Piece::Lone),
        2 => (0..WORDS.len(), prop_oneof![1usize..100, 100usize..10_000, 10_000usize..60_000])
            .prop_map(|(word, times)| Piece::Repeat(word, times)),
        1 => prop_oneof![1usize..100, 100usize..2_000, 2_000usize..25_000].prop_map(Piece::Words),
    ]
}

// ---------------------------------------------------------------------------------------
// Palettes.

#[rustfmt::skip]
const ODD: &[char] = &[
    '\0', '\u{1}', '\u{7f}', '\t', '\n', '\r', '"', '\\', '\u{202e}', '\u{200f}',
    '\u{200b}', '\u{0301}', '\u{feff}', '\u{ffff}', '\u{10ffff}', '\u{1f468}', '\u{200d}',
    '\u{2028}', 'İ', 'ß', 'ﬁ', '\u{212b}', 'Đ', '%', '_',
];

const WORDS: &[&str] = &["a", "giảm ", "nghèo ", "%", "_", "\\", "x", "Ệ\u{301}", " "];

const OPERATION_NAMES: &[Option<&str>] = &[None, Some("Nope"), Some(""), Some("q")];

/// `variables` values that are not an object of variables.
#[rustfmt::skip]
const ODD_VARIABLES: &[&str] = &[
    "null", "[]", "\"x\"", "1", "[{}]", "{\"v\": [1, {\"a\": null}]}",
];

/// Bodies that are not a request.
const RAW_BODIES: &[&str] = &[
    "",
    "{",
    "[]",
    "[1]",
    "null",
    "\"{ __typename }\"",
    "{\"query\": 1}",
    "{\"query\": null}",
    "{\"query\": \"{ __typename }\", \"variables\": \"\\ud800\"}",
    "{\"query\": \"{ __typename }\", \"extensions\": {\"persistedQuery\": {\"version\": 1, \"sha256Hash\": \"x\"}}}",
    "{\"query\": \"{ __typename }\", \"query\": \"{ me { role } }\"}",
];

/// A string argument taking generated text: `$t` is the text.
const TEXT_TARGETS: &[(&str, &str)] = &[
    ("String", "tasks(filter: { search: $t }) { totalCount }"),
    ("String", "agencies(filter: { search: $t }) { totalCount }"),
    ("String", "tasks(after: $t) { totalCount }"),
    ("String!", "plan(code: $t) { id }"),
    (
        "String",
        "obligations(filter: { period: { code: { equalTo: $t } } }) { totalCount }",
    ),
    (
        "String",
        "submissions(filter: { search: $t }) { totalCount }",
    ),
    ("ID!", "node(id: $t) { id }"),
    (
        "String",
        "submissions(filter: { agency: { code: { equalTo: $t } } }) { totalCount }",
    ),
];

#[rustfmt::skip]
const INTS: &[&str] = &[
    "0", "1", "-1", "20", "100", "101", "2147483647", "-2147483648", "2147483648",
    "99999999999999999999", "1.5", "1e3",
];
#[rustfmt::skip]
const FIRSTS: &[&str] = &[
    "0", "1", "100", "101", "-1", "2147483647", "-2147483648", "1e999", "null",
];
const FLOATS: &[&str] = &["0.0", "-0.0", "1e308", "1e-308", "3.14", "1"];
#[rustfmt::skip]
const STRINGS: &[&str] = &[
    "768/QĐ-UBND", "2024", "2025", "2024S1", "2021-2025", "ubnd-tay-son", "so-ldtbxh",
    "ubnd-cac-huyen", "lien-quan-iv", "I", "III", "giam ngheo", "giảm nghèo", "", " ", "%",
    "_", "\\", "'; DROP TABLE task; --", "a\u{0}b", "\u{202e}ꞁuer",
    "e\u{301}\u{301}\u{301}\u{301}", "👨\u{200d}👩\u{200d}👧", "\u{feff}\u{ffff}", "\u{e000}",
    "x\u{e3ff}y",
];
#[rustfmt::skip]
const DATES: &[&str] = &[
    "2024-01-01", "2024-02-30", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00+07:00",
    "9999-12-31T23:59:59Z", "0000-00-00", "yesterday", "",
];
#[rustfmt::skip]
const WRONG_TYPES: &[&str] = &[
    "Int", "String!", "[Int]", "Boolean", "TaskFilter", "NoSuchType", "[[String!]!]",
    "Progress", "JSON",
];
#[rustfmt::skip]
const DIRECTIVES: &[&str] = &[
    "@skip(if: true)", "@include(if: false)", "@skip(if: $undeclared)", "@nope", "@include",
    "@deprecated", "@skip(if: true) @skip(if: false)",
];
#[rustfmt::skip]
const MADE_UP_FIELDS: &[&str] = &[
    "a", "noSuchField", "password", "passwordHash", "__schema { types { name } }",
    "__type(name: \"Task\") { fields { name } }", "id(x: 1)", "__typename(x: 1)",
];
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ":", "...", "$", "@", "!", "=", "|", "&", ",", "query",
    "mutation", "subscription", "fragment", "on", "tasks", "plans", "node", "a",
    "__typename", "\"", "\"\"\"", "\"x\"", "1", "-0", "1e999", "0x1", "#", "\n", "\u{0}",
    "\u{feff}", "true", "null", "F", "...F", "fragment F on Query { ...F }", "$v", "Int",
    "[Int!]!", " ", "\\u",
];

fn cursor(choice: u32) -> String {
    #[rustfmt::skip]
    const CURSORS: &[&str] = &[
        "[1]", "[\"x\"]", "[1,1,1]", "[]", "[[]]", "{}", "1e999", "[1.5]", "[null]",
        "[99999999999999999999]", "[\"\\u0000\"]",
    ];
    match choice % (CURSORS.len() as u32 + 3) {
        n if (n as usize) < CURSORS.len() => URL_SAFE_NO_PAD.encode(CURSORS[n as usize]),
        n if n == CURSORS.len() as u32 => "!!!".into(),
        n if n == CURSORS.len() as u32 + 1 => String::new(),
        _ => "A".repeat(1_000),
    }
}

fn global_id(choice: u32) -> String {
    #[rustfmt::skip]
    const IDS: &[&str] = &[
        "Task:1", "Task:20", "Task:999999999999", "Submission:1", "Agency:1", "Plan:-1",
        "Nope:1", "Task:1\u{0}", "Task:", ":",
    ];
    match choice as usize % (IDS.len() + 2) {
        n if n < IDS.len() => URL_SAFE_NO_PAD.encode(IDS[n]),
        n if n == IDS.len() => "garbage".into(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Rendering a case into a request body.

/// Private-use characters U+E000..U+E7FF stand for the lone surrogates D800..DFFF, which
/// no Rust string can hold; they are written as escapes in GraphQL and in JSON.
fn lone_surrogate(c: char) -> Option<u32> {
    let c = c as u32;
    (0xE000..0xE800).contains(&c).then(|| c - 0xE000 + 0xD800)
}

/// A GraphQL string literal. Control characters stay raw, as a client may send them.
fn gql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => match lone_surrogate(c) {
                Some(u) => {
                    let _ = write!(out, "\\u{u:04X}");
                }
                None => out.push(c),
            },
        }
    }
    out.push('"');
    out
}

/// A JSON string.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut plain = String::new();
    let flush = |plain: &mut String, out: &mut String| {
        let quoted = serde_json::to_string(plain.as_str()).expect("a string");
        out.push_str(&quoted[1..quoted.len() - 1]);
        plain.clear();
    };
    for c in text.chars() {
        match lone_surrogate(c) {
            Some(u) => {
                flush(&mut plain, &mut out);
                let _ = write!(out, "\\u{u:04x}");
            }
            None => plain.push(c),
        }
    }
    flush(&mut plain, &mut out);
    out.push('"');
    out
}

fn text_of(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Plain(s) => out.push_str(s),
            Piece::Odd(i) => out.push(ODD[*i]),
            Piece::Lone(u) => {
                out.push(char::from_u32(0xE000 + (*u as u32 - 0xD800)).expect("private use"))
            }
            Piece::Repeat(word, times) => out.push_str(&WORDS[*word].repeat(*times)),
            Piece::Words(count) => {
                for i in 0..*count {
                    let _ = write!(out, "w{i:05} ");
                }
            }
        }
    }
    out
}

/// A value, to be written as a GraphQL literal or as JSON.
enum V {
    /// A number, boolean or null: the same text in both.
    Raw(String),
    Str(String),
    Enum(String),
    List(Vec<V>),
    Object(Vec<(String, V)>),
}

impl V {
    fn gql(&self, out: &mut String) {
        match self {
            V::Raw(s) | V::Enum(s) => out.push_str(s),
            V::Str(s) => out.push_str(&gql_string(s)),
            V::List(items) => {
                out.push('[');
                for item in items {
                    item.gql(out);
                    out.push(' ');
                }
                out.push(']');
            }
            V::Object(fields) => {
                out.push('{');
                for (name, value) in fields {
                    let _ = write!(out, "{name}: ");
                    value.gql(out);
                    out.push(' ');
                }
                out.push('}');
            }
        }
    }

    fn json(&self, out: &mut String) {
        match self {
            V::Raw(s) => out.push_str(s),
            V::Str(s) | V::Enum(s) => out.push_str(&json_string(s)),
            V::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.json(out);
                }
                out.push(']');
            }
            V::Object(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_string(name));
                    out.push(':');
                    value.json(out);
                }
                out.push('}');
            }
        }
    }
}

/// Choices off a tape; zeros once it runs out, and zero always means "the simplest".
struct Tape<'a> {
    choices: &'a [u32],
    at: usize,
}

impl Tape<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let choice = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        choice as usize % n.max(1)
    }

    fn raw(&mut self) -> u32 {
        let choice = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        choice
    }
}

/// Walks the schema into a document, collecting the variables it declares.
struct Walk<'a> {
    model: &'a Model,
    tape: Tape<'a>,
    /// (name, declared type, JSON value or None for "not sent")
    variables: Vec<(String, String, Option<String>)>,
}

impl<'a> Walk<'a> {
    fn new(model: &'a Model, choices: &'a [u32]) -> Self {
        Self {
            model,
            tape: Tape { choices, at: 0 },
            variables: Vec::new(),
        }
    }

    fn selection(&mut self, type_name: &str, depth: usize, out: &mut String) {
        let Some(Kind::Composite { fields, possible }) = self.model.types.get(type_name) else {
            return;
        };
        out.push('{');
        let count = 1 + self.tape.pick(3);
        for _ in 0..count {
            match self.tape.pick(14) {
                0 => out.push_str("__typename"),
                1 => out.push_str(MADE_UP_FIELDS[self.tape.pick(MADE_UP_FIELDS.len())]),
                2 if !possible.is_empty() => {
                    let on = &possible[self.tape.pick(possible.len())];
                    let _ = write!(out, "... on {on} ");
                    self.selection(on, depth + 1, out);
                }
                _ if fields.is_empty() => out.push_str("__typename"),
                _ => {
                    let field = &fields[self.tape.pick(fields.len())];
                    self.field(field, depth, out);
                }
            }
            out.push(' ');
        }
        out.push('}');
    }

    fn field(&mut self, field: &Field, depth: usize, out: &mut String) {
        self.field_as(field, depth, true, out)
    }

    fn field_as(&mut self, field: &Field, depth: usize, alias: bool, out: &mut String) {
        if alias && self.tape.pick(5) == 1 {
            let _ = write!(out, "x{}: ", self.tape.pick(4));
        }
        out.push_str(&field.name);
        let mut args = String::new();
        for (name, ty) in &field.args {
            // Required arguments mostly given, optional ones half the time.
            let given = if ty.sdl.ends_with('!') {
                self.tape.pick(12) != 1
            } else {
                self.tape.pick(2) == 1
            };
            if given {
                let _ = write!(args, "{name}: ");
                self.argument(name, ty, &mut args);
                args.push(' ');
            }
        }
        if self.tape.pick(12) == 1 {
            args.push_str("noSuchArgument: 1 ");
        }
        if !args.is_empty() {
            let _ = write!(out, "({args})");
        }
        if self.tape.pick(10) == 1 {
            let _ = write!(out, " {}", DIRECTIVES[self.tape.pick(DIRECTIVES.len())]);
        }
        let composite = matches!(
            self.model.types.get(&field.ty.name),
            Some(Kind::Composite { .. })
        );
        if composite {
            // Deeper now and then than the depth limit (15) allows.
            let limit = if self.tape.pick(8) == 1 { 18 } else { 6 };
            if depth < limit && self.tape.pick(8) != 1 {
                out.push(' ');
                self.selection(&field.ty.name, depth + 1, out);
            } else if self.tape.pick(4) != 1 {
                out.push_str(" { __typename }");
            }
        } else if self.tape.pick(16) == 1 {
            out.push_str(" { a }");
        }
    }

    /// An argument: a literal, or a variable (of the right or a wrong type).
    fn argument(&mut self, name: &str, ty: &TypeRef, out: &mut String) {
        let value = self.value(name, ty, 0);
        if self.tape.pick(4) == 1 {
            let variable = format!("v{}", self.variables.len());
            let declared = if self.tape.pick(6) == 1 {
                WRONG_TYPES[self.tape.pick(WRONG_TYPES.len())].to_owned()
            } else {
                ty.sdl.clone()
            };
            let json = (self.tape.pick(8) != 1).then(|| {
                let mut json = String::new();
                value.json(&mut json);
                json
            });
            let _ = write!(out, "${variable}");
            self.variables.push((variable, declared, json));
        } else {
            value.gql(out);
        }
    }

    fn value(&mut self, name: &str, ty: &TypeRef, nest: usize) -> V {
        if self.tape.pick(10) == 1 {
            return self.wrong_value();
        }
        if ty.lists > 0 {
            return if self.tape.pick(4) == 1 {
                // A single value where a list is expected: coerced.
                self.value(name, &ty.element(), nest + 1)
            } else {
                let count = self.tape.pick(4);
                V::List(
                    (0..count)
                        .map(|_| self.value(name, &ty.element(), nest + 1))
                        .collect(),
                )
            };
        }
        match ty.name.as_str() {
            "Int" if name == "first" => V::Raw(FIRSTS[self.tape.pick(FIRSTS.len())].into()),
            "Int" => V::Raw(INTS[self.tape.pick(INTS.len())].into()),
            "Float" => V::Raw(FLOATS[self.tape.pick(FLOATS.len())].into()),
            "Boolean" => V::Raw(["true", "false"][self.tape.pick(2)].into()),
            "String" if name == "after" => V::Str(cursor(self.tape.raw())),
            "String" => V::Str(STRINGS[self.tape.pick(STRINGS.len())].into()),
            "ID" => V::Str(global_id(self.tape.raw())),
            "Date" | "DateTime" => V::Str(DATES[self.tape.pick(DATES.len())].into()),
            "JSON" => V::Object(vec![("a".into(), V::List(vec![V::Raw("1".into())]))]),
            other => match self.model.types.get(other) {
                Some(Kind::Enum(values)) => {
                    let pick = self.tape.pick(values.len() + 1);
                    V::Enum(values.get(pick).cloned().unwrap_or_else(|| "NOPE".into()))
                }
                Some(Kind::Input(fields)) if nest < 6 => {
                    let mut object = Vec::new();
                    for (field, ty) in fields {
                        if ty.sdl.ends_with('!') || self.tape.pick(3) == 1 {
                            object.push((field.clone(), self.value(field, ty, nest + 1)));
                        }
                    }
                    if self.tape.pick(10) == 1 {
                        object.push(("noSuchField".into(), V::Raw("1".into())));
                    }
                    V::Object(object)
                }
                _ => V::Raw("null".into()),
            },
        }
    }

    fn wrong_value(&mut self) -> V {
        match self.tape.pick(7) {
            0 => V::Raw("null".into()),
            1 => V::Raw("1".into()),
            2 => V::Str("x".into()),
            3 => V::List(vec![V::List(vec![])]),
            4 => V::Object(vec![("a".into(), V::Raw("1".into()))]),
            5 => V::Enum("NOPE".into()),
            _ => V::Raw("true".into()),
        }
    }

    /// `query($v0: T = …) ` and the variables' JSON.
    fn finish(self, keyword: &str, selection: &str) -> (String, String) {
        let mut document = String::from(keyword);
        let mut json = String::from("{");
        if !self.variables.is_empty() {
            document.push('(');
            for (name, ty, value) in &self.variables {
                let _ = write!(document, "${name}: {ty} ");
                if let Some(value) = value {
                    if json.len() > 1 {
                        json.push(',');
                    }
                    let _ = write!(json, "\"{name}\":{value}");
                }
            }
            document.push(')');
        }
        json.push('}');
        let _ = write!(document, " {selection}");
        (document, json)
    }
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

impl Shape {
    /// The document and the variables' JSON.
    fn render(&self, model: &Model) -> (String, String) {
        let no_variables = || "{}".to_owned();
        match self {
            Shape::Walk { mutation, tape } => {
                let mut walk = Walk::new(model, tape);
                let mut selection = String::new();
                let root = if *mutation { "Mutation" } else { "Query" };
                walk.selection(root, 1, &mut selection);
                walk.finish(if *mutation { "mutation" } else { "query" }, &selection)
            }
            Shape::Deep { nesting, depth } => {
                let depth = *depth;
                match nesting {
                    Nesting::Selections => (nested("{a", "", "}", depth), no_variables()),
                    Nesting::ListArgument => (
                        format!(
                            "{{ tasks(first: {}) {{ totalCount }} }}",
                            nested("[", "1", "]", depth)
                        ),
                        no_variables(),
                    ),
                    Nesting::ObjectArgument => (
                        format!(
                            "{{ tasks(filter: {}) {{ totalCount }} }}",
                            nested("{search:", "\"x\"", "}", depth)
                        ),
                        no_variables(),
                    ),
                    Nesting::MixedArgument => (
                        format!("{{ a(x: {}) }}", nested("[{a:", "1", "}]", depth / 2 + 1)),
                        no_variables(),
                    ),
                    Nesting::ListDefault => (
                        format!(
                            "query($v: {} = {}) {{ __typename }}",
                            nested("[", "Int", "]", depth),
                            nested("[", "1", "]", depth)
                        ),
                        no_variables(),
                    ),
                    Nesting::ObjectDefault => (
                        format!(
                            "query($v: JSON = {}) {{ __typename }}",
                            nested("{a:", "1", "}", depth)
                        ),
                        no_variables(),
                    ),
                    Nesting::ListVariableType => (
                        format!(
                            "query($v: {}) {{ __typename }}",
                            nested("[", "Int", "]", depth)
                        ),
                        format!("{{\"v\": {}}}", nested("[", "1", "]", depth)),
                    ),
                    Nesting::JsonListVariable => (
                        "query($v: JSON) { __typename }".into(),
                        format!("{{\"v\": {}}}", nested("[", "1", "]", depth)),
                    ),
                    Nesting::JsonObjectVariable => (
                        "query($v: JSON) { __typename }".into(),
                        format!("{{\"v\": {}}}", nested("{\"a\":", "1", "}", depth)),
                    ),
                    Nesting::InlineFragments => (
                        nested("{... on Query ", "{__typename}", "}", depth),
                        no_variables(),
                    ),
                }
            }
            Shape::Fragments { graph, fan_out } => {
                let count = graph.len();
                let mut document = String::from("{ ...F0 }\n");
                for (i, targets) in graph.iter().enumerate() {
                    let _ = write!(document, "fragment F{i} on Query {{ __typename ");
                    for target in targets {
                        let spread = format!("...F{} ", *target as usize % count);
                        document.push_str(&spread.repeat(*fan_out));
                    }
                    document.push_str("}\n");
                }
                (document, no_variables())
            }
            Shape::FragmentChain { count, fan_out } => {
                let mut document = String::from("{ ...F0 }\n");
                for i in 0..count - 1 {
                    let spread = format!("...F{} ", i + 1);
                    let _ = writeln!(
                        document,
                        "fragment F{i} on Query {{ {} }}",
                        spread.repeat(*fan_out)
                    );
                }
                let _ = writeln!(
                    document,
                    "fragment F{} on Query {{ __typename }}",
                    count - 1
                );
                (document, no_variables())
            }
            Shape::Aliases { count, tape } => {
                let mut walk = Walk::new(model, tape);
                let Some(Kind::Composite { fields, .. }) = model.types.get("Query") else {
                    unreachable!()
                };
                let field = &fields[walk.tape.pick(fields.len())];
                let mut one = String::new();
                walk.field_as(field, 1, false, &mut one);
                let mut selection = String::from("{");
                for i in 0..*count {
                    let _ = write!(selection, "a{i}: {one} ");
                }
                selection.push('}');
                walk.finish("query", &selection)
            }
            Shape::Text {
                target,
                text,
                inline,
            } => {
                let (ty, field) = TEXT_TARGETS[*target];
                let text = text_of(text);
                if *inline {
                    (
                        format!("{{ {} }}", field.replace("$t", &gql_string(&text))),
                        no_variables(),
                    )
                } else {
                    (
                        format!("query($t: {ty}) {{ {field} }}"),
                        format!("{{\"t\":{}}}", json_string(&text)),
                    )
                }
            }
            Shape::Soup(tokens) => (
                tokens
                    .iter()
                    .map(|t| TOKENS[*t])
                    .collect::<Vec<_>>()
                    .join(" "),
                no_variables(),
            ),
        }
    }
}

impl Operation {
    fn render(&self, model: &Model) -> String {
        let (document, variables) = self.shape.render(model);
        let variables = ODD_VARIABLES
            .get(self.variables)
            .map_or(variables, |v| (*v).to_owned());
        let mut body = format!(
            "{{\"query\":{},\"variables\":{variables}",
            json_string(&document)
        );
        if let Some(name) = OPERATION_NAMES[self.name] {
            let _ = write!(body, ",\"operationName\":{}", json_string(name));
        }
        body.push('}');
        body
    }
}

impl Case {
    fn is_batch(&self) -> bool {
        matches!(self.request, Payload::Batch(_))
    }

    /// The Authorization header and the body.
    fn render(&self, model: &Model, callers: &[Option<String>]) -> (Option<String>, String) {
        let body = match &self.request {
            Payload::One(operation) => operation.render(model),
            Payload::Batch(operations) => format!(
                "[{}]",
                operations
                    .iter()
                    .map(|o| o.render(model))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Payload::Raw(i) => RAW_BODIES[*i].to_owned(),
        };
        (callers[self.caller % callers.len()].clone(), body)
    }
}
