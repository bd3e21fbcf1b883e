//! Regression tests for the attacks of issue 7 ("Hardening"), one each, asserting what a
//! client sees: a prompt answer, an error with a code, and a server that still answers a
//! normal query right after. Each runs in a child process (see `sandbox`), so that one
//! that still crashes, stalls or exhausts memory fails alone.
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::{
    fixtures::{open_window, task_id},
    in_child_processes, sandbox,
    support::{Reply, TestApp},
};

/// The codes that may refuse a document: BAD_USER_INPUT, or a dedicated code of the guard
/// that refuses documents before work. Said here only.
const REFUSED_DOCUMENT: &[&str] = &[
    "BAD_USER_INPUT",
    "QUERY_TOO_LARGE",
    "QUERY_TOO_DEEP",
    "QUERY_TOO_COMPLEX",
];
/// The code that refuses an input value (search words, NUL bytes, cursors).
const REFUSED_INPUT: &[&str] = &["BAD_USER_INPUT"];

/// Generous: it tells a stall from a slow machine, not a fast answer from a slow one.
const PROMPT: Duration = Duration::from_secs(10);

/// An answer as the client saw it, and how long it took.
struct Answer {
    reply: Reply,
    took: Duration,
}

/// Sends a GraphQL request as `token` (anonymous when None), noting what it is for the
/// sandbox's parent.
async fn send(app: &TestApp, what: &str, token: Option<&str>, body: Value) -> Answer {
    sandbox::doing(what);
    let started = Instant::now();
    let reply = app.send("/graphql", &body, token).await;
    Answer {
        reply,
        took: started.elapsed(),
    }
}

fn query(query: &str, variables: Value) -> Value {
    json!({ "query": query, "variables": variables })
}

/// The answer came promptly, as a JSON error whose code is one of `codes`, with no data.
fn assert_refused(what: &str, answer: &Answer, codes: &[&str]) {
    let body = &answer.reply.body;
    let shown = describe(&answer.reply);
    assert!(
        answer.took < PROMPT,
        "{what}: answered after {:?}",
        answer.took
    );
    assert!(!answer.reply.status.is_server_error(), "{what}: {shown}");
    assert!(
        body.get("raw").is_none(),
        "{what}: the answer is not JSON: {shown}"
    );
    let code = answer.reply.error_code();
    assert!(
        code.is_some_and(|c| codes.contains(&c)),
        "{what}: expected an error with a code in {codes:?}, got {code:?}: {shown}"
    );
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{what}: refused, yet with data: {shown}"
    );
}

/// An answer, short: the status and the start of its first error (or of its body).
fn describe(reply: &Reply) -> String {
    let text = match reply.body["errors"][0]["message"].as_str() {
        Some(message) => format!("error {:?}: {message}", reply.error_code()),
        None => reply.body.to_string(),
    };
    format!("status {}, {}", reply.status, sandbox::head(&text, 400))
}

/// The server still answers a normal query, promptly.
async fn assert_still_serving(app: &TestApp) {
    let started = Instant::now();
    sandbox::doing("a normal query after the attack");
    let reply = app.graphql("{ tasks { totalCount } }", json!({})).await;
    assert_eq!(reply.data()["tasks"]["totalCount"], crate::fixtures::TASKS);
    assert!(
        started.elapsed() < PROMPT,
        "a normal query took {:?} after the attack",
        started.elapsed()
    );
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

// Documents that recursed the parser.

async fn list_brackets_2000_deep(app: TestApp) {
    let document = format!("{{ a(x: {}) }}", nested("[", "1", "]", 2_000));
    let answer = send(
        &app,
        "2,000 nested list brackets",
        None,
        query(&document, json!({})),
    )
    .await;
    assert_refused("2,000 nested list brackets", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

async fn input_objects_3000_deep(app: TestApp) {
    let document = format!("{{ a(x: {}) }}", nested("{a:", "1", "}", 3_000));
    let answer = send(
        &app,
        "3,000 nested input objects",
        None,
        query(&document, json!({})),
    )
    .await;
    assert_refused("3,000 nested input objects", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

async fn nesting_in_a_variable_default_value(app: TestApp) {
    let lists = format!(
        "query($v: {} = {}) {{ __typename }}",
        nested("[", "Int", "]", 2_000),
        nested("[", "1", "]", 2_000)
    );
    let objects = format!(
        "query($v: JSON = {}) {{ __typename }}",
        nested("{a:", "1", "}", 3_000)
    );
    for (what, document) in [
        ("2,000 nested lists in a variable's type and default", lists),
        ("3,000 nested objects in a variable's default", objects),
    ] {
        let answer = send(&app, what, None, query(&document, json!({}))).await;
        assert_refused(what, &answer, REFUSED_DOCUMENT);
    }
    assert_still_serving(&app).await;
}

async fn selection_sets_5000_deep(app: TestApp) {
    let document = nested("{a", "", "}", 5_000);
    let answer = send(
        &app,
        "5,000 nested selection sets",
        None,
        query(&document, json!({})),
    )
    .await;
    assert_refused("5,000 nested selection sets", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

// Search terms that overflowed the stack or SQLite's expression limits.

async fn search(app: &TestApp, what: &str, words: String) {
    let token = app.login("tayson").await;
    // As a variable: ~140 KB at most, well under the 1 MiB body limit, so that the body
    // limit is not what refuses it.
    let answer = send(
        app,
        what,
        Some(&token),
        query(
            "query($s: String) { tasks(filter: { search: $s }) { totalCount } }",
            json!({ "s": words }),
        ),
    )
    .await;
    assert_refused(what, &answer, REFUSED_INPUT);
    assert_still_serving(app).await;
}

fn words(count: usize) -> String {
    (0..count)
        .map(|i| format!("w{i:05}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn search_with_20000_words(app: TestApp) {
    search(&app, "a search of 20,000 words", words(20_000)).await;
}

async fn search_with_1000_words(app: TestApp) {
    search(&app, "a search of 1,000 words", words(1_000)).await;
}

async fn search_with_one_100000_character_word(app: TestApp) {
    search(
        &app,
        "a search of one 100,000-character word",
        "giam".repeat(25_000),
    )
    .await;
}

// The fragment bomb: 16 fragments, each spreading the next three times (~900 bytes).

fn fragment_bomb() -> String {
    let mut document = String::from("{ ...F0 }\n");
    for i in 0..15 {
        let next = format!("...F{} ", i + 1);
        document.push_str(&format!(
            "fragment F{i} on Query {{ {} }}\n",
            next.repeat(3)
        ));
    }
    document.push_str("fragment F15 on Query { __typename }\n");
    document
}

async fn fragment_bomb_anonymous(app: TestApp) {
    let answer = send(
        &app,
        "the fragment bomb, anonymous",
        None,
        query(&fragment_bomb(), json!({})),
    )
    .await;
    assert_refused("the fragment bomb, anonymous", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

async fn fragment_bomb_signed_in(app: TestApp) {
    let token = app.login("tayson").await;
    let answer = send(
        &app,
        "the fragment bomb, signed in",
        Some(&token),
        query(&fragment_bomb(), json!({})),
    )
    .await;
    assert_refused("the fragment bomb, signed in", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

// Cost: lists multiply.

async fn nested_lists_are_too_costly(app: TestApp) {
    let document = "{agencies(first:100){edges{node{ledTasks{leadAgencies{ledTasks{leadAgencies{ledTasks{leadAgencies{code}}}}}}}}}}";
    let token = app.login("tayson").await;
    let answer = send(
        &app,
        "agencies × ledTasks × leadAgencies, three times",
        Some(&token),
        query(document, json!({})),
    )
    .await;
    assert_refused("nested lists", &answer, REFUSED_DOCUMENT);
    assert_still_serving(&app).await;
}

/// Where an answer may be cut short instead: it must stay below this.
const ANSWER_BOUND: usize = 4 * 1024 * 1024;

async fn batch_of_aliased_obligations_is_bounded(app: TestApp) {
    let aliases: String = (0..160)
        .map(|i| format!("o{i}: obligations(filter: {{ period: {{ code: {{ equalTo: \"2025\" }} }} }}, first: 100) {{ edges {{ node {{ state agency {{ name }} task {{ content }} }} }} }} "))
        .collect();
    let operation = json!({ "query": format!("{{ {aliases} }}") });
    let batch = Value::Array(vec![operation; 10]);
    let body = batch.to_string();
    let token = app.login("coordinator").await;
    sandbox::doing("a batch of 10 × 160 aliased obligations");
    let started = Instant::now();
    let (status, bytes) = app
        .request(
            axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    let took = started.elapsed();
    assert!(
        bytes.len() < ANSWER_BOUND,
        "the answer holds {} bytes (status {status}, after {took:?})",
        bytes.len()
    );
    assert!(took < PROMPT, "answered after {took:?}");
    assert!(!status.is_server_error(), "status {status}");
    let answer: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
    let shown = sandbox::tail(&answer.to_string(), 1_000).to_owned();
    // Refused whole, or answered per operation, each refused or answered.
    let each = answer.as_array().cloned().unwrap_or_else(|| vec![answer]);
    for response in &each {
        let code = response["errors"][0]["extensions"]["code"].as_str();
        assert!(
            response.get("data").is_some_and(|d| !d.is_null()) || code.is_some(),
            "neither data nor a coded error: {shown}"
        );
    }
    assert_still_serving(&app).await;
}

// Smaller: NUL bytes, wrong-type cursors, an unknown plan. The backends must agree.

async fn nul_bytes_in_text_are_bad_input(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.login("tayson").await;
    let task = task_id(&app, "I", Some(2)).await;
    let deliverable = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Task { deliverables { id } } } }",
            json!({ "id": task }),
        )
        .await
        .data()["node"]["deliverables"][0]["id"]
        .clone();
    let save = "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) { id } }";
    let base = json!({ "taskId": task, "periodCode": "2024" });
    let mut inputs = Vec::new();
    for field in ["summary", "results", "difficulties", "proposals"] {
        let mut input = base.clone();
        input[field] = json!("Đã tổ chức\u{0} hội nghị");
        inputs.push((format!("NUL in {field}"), input));
    }
    for field in ["documentRef", "url"] {
        let mut input = base.clone();
        input["deliverables"] = json!([{ "deliverableId": deliverable, "status": "COMPLETED", field: "Kế hoạch\u{0}" }]);
        inputs.push((format!("NUL in deliverables.{field}"), input));
    }
    let mut input = base.clone();
    input["periodCode"] = json!("20\u{0}24");
    inputs.push(("NUL in periodCode".into(), input));
    for (what, input) in inputs {
        let answer = send(
            &app,
            &what,
            Some(&tayson),
            query(save, json!({ "i": input })),
        )
        .await;
        assert_refused(&what, &answer, REFUSED_INPUT);
    }
    let stored = app
        .send(
            "/graphql",
            &query("{ submissions { totalCount } }", json!({})),
            Some(&tayson),
        )
        .await;
    assert_eq!(
        stored.data()["submissions"]["totalCount"],
        0,
        "nothing stored"
    );
    assert_still_serving(&app).await;
}

async fn nul_bytes_in_filters_are_bad_input(app: TestApp) {
    let analyst = app.login("analyst").await;
    let nul = "giảm\u{0}nghèo";
    let queries = [
        "query($s: String) { tasks(filter: { search: $s }) { totalCount } }",
        "query($s: String) { tasks(filter: { section: { numeral: { equalTo: $s } } }) { totalCount } }",
        "query($s: String) { tasks(filter: { plan: { code: { equalTo: $s } } }) { totalCount } }",
        "query($s: String) { tasks(filter: { leadAgencies: { some: { code: { equalTo: $s } } } }) { totalCount } }",
        "query($s: String) { agencies(filter: { search: $s }) { totalCount } }",
        "query($s: String) { agencies(filter: { groups: { some: { code: { equalTo: $s } } } }) { totalCount } }",
        "query($s: String) { submissions(filter: { agency: { code: { equalTo: $s } } }) { totalCount } }",
        "query($s: String) { submissions(filter: { period: { code: { equalTo: $s } } }) { totalCount } }",
        "query($s: String) { submissions(filter: { search: $s }) { totalCount } }",
        "query($s: String) { submissionsAggregate(filter: { search: $s }) { count } }",
        "query($s: String!) { plan(code: $s) { id } }",
        "query($s: String!) { agency(code: $s) { id } }",
        "query($s: String) { obligations(filter: { period: { code: { equalTo: $s } } }) { totalCount } }",
        "query($s: String!) { progress(planCode: $s, groupBy: AGENCY) { expected } }",
    ];
    for document in queries {
        let answer = send(
            &app,
            document,
            Some(&analyst),
            query(document, json!({ "s": nul })),
        )
        .await;
        assert_refused(document, &answer, REFUSED_INPUT);
    }
    assert_still_serving(&app).await;
}

fn cursor_of(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

async fn wrong_type_cursors_are_bad_input(app: TestApp) {
    let analyst = app.login("analyst").await;
    let cases = [
        // An int expected, text given, and the other way round.
        ("plans", cursor_of(r#"["x"]"#)),
        ("submissions", cursor_of(r#"["x"]"#)),
        ("tasks", cursor_of(r#"["x","y","z"]"#)),
        ("agencies", cursor_of("[1]")),
        // Not a cursor at all.
        ("plans", "!!!garbage!!!".to_owned()),
        ("plans", cursor_of("not json")),
        ("plans", cursor_of(r#"{"a":1}"#)),
        ("plans", cursor_of("[[1]]")),
        ("plans", cursor_of("[1.5]")),
        ("plans", cursor_of("[null]")),
    ];
    for (list, cursor) in cases {
        let document =
            format!("query($c: String) {{ {list}(first: 5, after: $c) {{ totalCount }} }}");
        let what = format!("{list}(after: {cursor})");
        let answer = send(
            &app,
            &what,
            Some(&analyst),
            query(&document, json!({ "c": cursor })),
        )
        .await;
        assert_refused(&what, &answer, REFUSED_INPUT);
    }
    assert_still_serving(&app).await;
}

async fn obligations_of_an_unknown_plan_are_not_found(app: TestApp) {
    let coordinator = app.login("coordinator").await;
    for document in
        [r#"{ progress(planCode: "nope", periodCode: "2025", groupBy: AGENCY) { expected } }"#]
    {
        let answer = send(
            &app,
            document,
            Some(&coordinator),
            query(document, json!({})),
        )
        .await;
        assert_refused(document, &answer, &["NOT_FOUND"]);
    }
    assert_still_serving(&app).await;
}

// Not in issue 7: `orderBy` is a list without a bound, and each entry adds sort keys
// (and, with a cursor, a condition per key per key: quadratic).

async fn long_order_by_is_bad_input(app: TestApp) {
    let analyst = app.login("analyst").await;
    let order = vec![json!({ "field": "POSITION" }); 5_000];
    // One int per sort key: two per entry, and the id.
    let cursor = cursor_of(&serde_json::to_string(&vec![1; 10_001]).unwrap());
    let document =
        "query($o: [TaskOrderBy!], $c: String) { tasks(orderBy: $o, after: $c) { totalCount } }";
    for (what, variables) in [
        (
            "orderBy with 5,000 entries and a cursor of 10,001 keys",
            json!({ "o": order, "c": cursor }),
        ),
        ("orderBy with 5,000 entries", json!({ "o": order })),
    ] {
        let answer = send(&app, what, Some(&analyst), query(document, variables)).await;
        assert_refused(what, &answer, REFUSED_INPUT);
    }
    assert_still_serving(&app).await;
}

in_child_processes!(
    list_brackets_2000_deep on [sqlite],
    input_objects_3000_deep on [sqlite],
    nesting_in_a_variable_default_value on [sqlite],
    selection_sets_5000_deep on [sqlite],
    search_with_20000_words on [sqlite, postgres],
    search_with_1000_words on [sqlite, postgres],
    search_with_one_100000_character_word on [sqlite, postgres],
    fragment_bomb_anonymous on [sqlite],
    fragment_bomb_signed_in on [sqlite],
    nested_lists_are_too_costly on [sqlite, postgres],
    batch_of_aliased_obligations_is_bounded on [sqlite, postgres],
    nul_bytes_in_text_are_bad_input on [sqlite, postgres],
    nul_bytes_in_filters_are_bad_input on [sqlite, postgres],
    wrong_type_cursors_are_bad_input on [sqlite, postgres],
    obligations_of_an_unknown_plan_are_not_found on [sqlite, postgres],
    long_order_by_is_bad_input on [sqlite, postgres],
);
