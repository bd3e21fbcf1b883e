//! `POST /graphql` as HTTP: content types, malformed and oversized bodies, batches. Every
//! refusal is GraphQL-shaped JSON with a telling status. None of this touches the
//! database, so SQLite shows it.
use axum::{
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, test_config};

/// POSTs `body` to `/graphql` with the given content type (none where None).
async fn post(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let mut request = Request::post("/graphql");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let (status, bytes) = app.request(request.body(body.into()).unwrap()).await;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "a JSON body, not {:?} (status {status})",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

/// The refusal's message, after checking its shape, status and code.
fn refused(reply: &(StatusCode, Value), status: StatusCode, code: &str) -> String {
    let (actual, body) = reply;
    assert_eq!(*actual, status, "{body}");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], code, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let message = errors[0]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

fn login_body() -> String {
    json!({
        "query": "mutation($p: String!) { login(username: \"tayson\", password: $p) { token } }",
        "variables": { "p": PASSWORD },
    })
    .to_string()
}

#[tokio::test]
async fn only_json_bodies_are_accepted() {
    let app = TestApp::sqlite().await;
    // What an HTML form or a "simple" cross-site request can send: refused, no sign-in.
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=latin1"),
        Some("application/jsonx"),
        Some("not a media type"),
        None,
    ] {
        let reply = post(&app, content_type, login_body()).await;
        let message = refused(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        );
        assert!(message.contains("application/json"), "{message}");
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=\"UTF-8\"",
        "application/graphql-response+json",
        "application/graphql-response+json; charset=utf-8",
    ] {
        let (status, body) = post(&app, Some(content_type), login_body()).await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {body}");
        assert!(
            body["data"]["login"]["token"].is_string(),
            "{content_type}: {body}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests() {
    let app = TestApp::sqlite().await;
    let deep = "[".repeat(10_000);
    for (body, telling) in [
        ("{\"query\": ", "not valid JSON"),
        ("not json at all", "not valid JSON"),
        (deep.as_str(), "recursion limit"),
        ("", "empty"),
        (" \n", "empty"),
        ("42", "JSON object"),
        ("\"{ plans { totalCount } }\"", "JSON object"),
        ("[{\"query\": \"{ __typename }\"}, 7]", "JSON object"),
        ("{\"variables\": {}}", "`query` string"),
        ("{\"query\": 5}", "`query` string"),
        (
            "{\"query\": \"{ __typename }\", \"variables\": 5}",
            "not a GraphQL request",
        ),
    ] {
        let reply = post(&app, Some("application/json"), body.to_owned()).await;
        let message = refused(&reply, StatusCode::BAD_REQUEST, "BAD_REQUEST");
        assert!(message.contains(telling), "{body}: {message}");
        // Said for people, not Rust's debug text.
        for internal in ["Error(", "Syntax", "Eof", "untagged", "BatchRequest"] {
            assert!(!message.contains(internal), "{body}: {message}");
        }
    }
}

#[tokio::test]
async fn an_empty_batch_is_a_bad_request() {
    let app = TestApp::sqlite().await;
    let reply = post(&app, Some("application/json"), " [ ] ").await;
    let message = refused(&reply, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    assert!(message.contains("empty"), "{message}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_graphql_shape() {
    let mut config = test_config();
    config.limits.max_body_bytes = 2_000;
    let app = TestApp::sqlite_with(config).await;
    let padding = " ".repeat(3_000);
    let oversized = format!("{{\"query\": \"{{ __typename }}\"{padding}}}");
    // With a Content-Length, and streamed without one.
    let reply = post(&app, Some("application/json"), oversized.clone()).await;
    let message = refused(&reply, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    assert!(message.contains("2000 bytes"), "{message}");
    let chunks = oversized
        .into_bytes()
        .chunks(500)
        .map(|chunk| Ok::<_, std::io::Error>(Bytes::copy_from_slice(chunk)))
        .collect::<Vec<_>>();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = post(&app, Some("application/json"), streamed).await;
    refused(&reply, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    // Just under the limit is served.
    let fits = format!("{{\"query\": \"{{ __typename }}\"{}}}", " ".repeat(1_900));
    let (status, body) = post(&app, Some("application/json"), fits).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn batches_and_signed_in_requests_still_work() {
    let app = TestApp::sqlite().await;
    let token = app.login("tayson").await;
    let batch = json!([
        { "query": "{ me { user { username } } }" },
        { "query": "query($c: String!) { plan(code: $c) { code } }", "variables": { "c": "768/QĐ-UBND" } },
    ]);
    let reply = app.send("/graphql", &batch, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!([
            { "data": { "me": { "user": { "username": "tayson" } } } },
            { "data": { "plan": { "code": "768/QĐ-UBND" } } },
        ])
    );
    // Too many operations in one batch: refused before any runs.
    let op = json!({ "query": "{ me { role } }" });
    let ops = vec![op; test_config().limits.max_batch + 1];
    let reply = app.send("/graphql", &Value::Array(ops), Some(&token)).await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    assert!(
        reply.body["errors"][0].get("locations").is_none(),
        "a refusal of the whole request has no place in it: {}",
        reply.body
    );
    // The token travels in the Authorization header; without it, nothing but login.
    let reply = app
        .send("/graphql", &json!({ "query": "{ me { role } }" }), None)
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
}

/// The operations of a batch after a `logout` run signed out: reads and writes alike.
#[tokio::test]
async fn a_batch_signed_out_halfway_runs_the_rest_signed_out() {
    let app = TestApp::sqlite().await;
    let token = app.login("tayson").await;
    let batch = json!([
        { "query": "{ me { user { username } } }" },
        { "query": "mutation { logout }" },
        { "query": "{ me { user { username } } }" },
        { "query": "mutation { changePassword(oldPassword: \"x\", newPassword: \"y-long-enough-1\") }" },
    ]);
    let reply = app.send("/graphql", &batch, Some(&token)).await;
    let answers = reply.body.as_array().expect("a batch answer");
    assert_eq!(answers[0]["data"]["me"]["user"]["username"], "tayson");
    assert_eq!(answers[1]["data"]["logout"], true);
    for answer in &answers[2..] {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{answer}"
        );
    }
}

/// The answers of a batch share the size limit of one answer.
#[tokio::test]
async fn a_batchs_answers_share_one_size_limit() {
    let mut config = test_config();
    config.limits.max_response_bytes = 3_000;
    let app = TestApp::sqlite_with(config).await;
    let token = app.login("tayson").await;
    // About 1.3 kB each: two fit, the third does not.
    let op = json!({ "query": "{ tasks(first: 5) { edges { node { id content } } } }" });
    let alone = app.send("/graphql", &op, Some(&token)).await;
    let size = alone.body.to_string().len();
    assert!((1_100..1_500).contains(&size), "{size} bytes");
    let reply = app
        .send("/graphql", &json!([op, op, op]), Some(&token))
        .await;
    let answers = reply.body.as_array().expect("a batch answer");
    assert!(answers[0]["data"]["tasks"].is_object());
    assert!(answers[1]["data"]["tasks"].is_object());
    assert_eq!(
        answers[2]["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{}",
        answers[2]
    );
    assert!(reply.body.to_string().len() <= 3_000 + 300);
}

/// Introspection's lists multiply what is under them and the cost limit does not count
/// them: nested past GraphiQL's own three, they are refused before anything runs. A raw
/// NUL in the document is refused as its escapes are.
#[tokio::test]
async fn documents_that_cost_without_counting_are_refused() {
    let app = TestApp::sqlite().await;
    let nested = "{ __type(name: \"Node\") { possibleTypes { interfaces { possibleTypes { interfaces { possibleTypes { name } } } } } } }";
    let reply = app
        .send("/graphql", &json!({ "query": nested }), None)
        .await;
    assert_eq!(
        reply.error_code(),
        Some("QUERY_TOO_COMPLEX"),
        "{}",
        reply.body
    );
    let graphiql = "{ __schema { types { name fields { name args { name type { name ofType { name } } } } interfaces { name } possibleTypes { name } } } }";
    let reply = app
        .send("/graphql", &json!({ "query": graphiql }), None)
        .await;
    assert!(
        reply.body["data"]["__schema"]["types"].is_array(),
        "{}",
        reply.body
    );

    let token = app.login("tayson").await;
    let raw_nul = "mutation { saveSubmission(input: { taskId: \"VGFzazox\", periodCode: \"2024\", summary: \"a\u{0}b\" }) { id } }";
    let reply = app
        .send("/graphql", &json!({ "query": raw_nul }), Some(&token))
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
}

/// A GET request to /graphql with these URL parameters and headers.
async fn get(
    app: &TestApp,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let query: String = params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::get(format!("/graphql?{query}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.response(request.body(Body::empty()).unwrap()).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn get_runs_queries_and_only_queries() {
    let app = TestApp::sqlite().await;
    let token = app.login("analyst").await;
    let bearer = format!("Bearer {token}");
    let json_accept = (
        "accept",
        "application/graphql-response+json, application/json",
    );

    let (status, _, body) = get(
        &app,
        &[
            (
                "query",
                "query($c: String!) { plan(code: $c) { code } plans { totalCount } }",
            ),
            ("variables", r#"{"c": "768/QĐ-UBND"}"#),
        ],
        &[("authorization", &bearer), json_accept],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["data"]["plan"]["code"], "768/QĐ-UBND", "{body}");
    assert_eq!(body["data"]["plans"]["totalCount"], 1);

    // A mutation never runs over GET, signed in or not.
    let (status, headers, body) = get(
        &app,
        &[("query", "mutation { logout }")],
        &[("authorization", &bearer), json_accept],
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers["allow"].to_str().unwrap().contains("POST"));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );
    let still = app
        .send(
            "/graphql",
            &json!({ "query": "{ me { role } }" }),
            Some(&token),
        )
        .await;
    assert_eq!(
        still.data()["me"]["role"],
        "ANALYST",
        "the token was not logged out"
    );
    let (status, _, _) = get(
        &app,
        &[
            (
                "query",
                "query A { plans { totalCount } } mutation B { logout }",
            ),
            ("operationName", "B"),
        ],
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "the named operation counts"
    );

    // A browser gets GraphiQL; a client without a query gets a clear refusal.
    let (status, headers, body) =
        get(&app, &[], &[("accept", "text/html,application/xhtml+xml")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8_lossy(&body);
    assert!(page.to_lowercase().contains("graphiql"));
    // Everything the page loads is served by plantrack itself: nothing from a CDN, and a
    // policy that lets the browser load nothing else.
    for outside in ["src=\"http", "href=\"http", "url(http", "import(\"http"] {
        assert!(
            !page.contains(outside),
            "the page loads from outside: {outside}"
        );
    }
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"));
    let (status, _, body) = get(&app, &[], &[json_accept]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    // Bad variables and bad documents are refused in GraphQL's shape.
    let (status, _, _) = get(
        &app,
        &[("query", "{ plans { totalCount } }"), ("variables", "{")],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, headers, body) = get(
        &app,
        &[("query", "{ plans { ")],
        &[("authorization", &bearer), json_accept],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/graphql-response+json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED",
        "{body}"
    );

    // Anonymous GET queries are refused like anonymous POSTs.
    let (_, _, body) = get(
        &app,
        &[("query", "{ plans { totalCount } }")],
        &[json_accept],
    )
    .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
}

/// The answer's type follows `Accept` (GraphQL over HTTP): the specified
/// `application/graphql-response+json`, where a request that never ran is 400, or
/// `application/json` for older clients (and clients that send no `Accept`), where every
/// GraphQL answer is 200; a client that accepts neither gets 406.
#[tokio::test]
async fn answers_are_negotiated() {
    let app = TestApp::sqlite().await;
    let token = app.login("analyst").await;
    let ask = |accept: Option<&'static str>, query: &'static str| {
        let mut request = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let body = json!({ "query": query }).to_string();
        app.response(request.body(Body::from(body)).unwrap())
    };
    let spec = "application/graphql-response+json, application/json;q=0.9";
    for (accept, query, status, media) in [
        (
            Some(spec),
            "{ plans { totalCount } }",
            200,
            "application/graphql-response+json",
        ),
        (
            Some(spec),
            "{ plans { nope } }",
            400,
            "application/graphql-response+json",
        ),
        (
            Some(spec),
            "{ plans {",
            400,
            "application/graphql-response+json",
        ),
        (
            Some("application/json"),
            "{ plans { nope } }",
            200,
            "application/json",
        ),
        (None, "{ plans { nope } }", 200, "application/json"),
        (None, "{ plans { totalCount } }", 200, "application/json"),
        (
            Some("*/*"),
            "{ plans { totalCount } }",
            200,
            "application/graphql-response+json",
        ),
    ] {
        let (actual, headers, body) = ask(accept, query).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(actual.as_u16(), status, "{accept:?} {query}: {body}");
        assert_eq!(headers["content-type"], media, "{accept:?} {query}");
        if status == 200 && !query.contains("nope") {
            assert_eq!(body["data"]["plans"]["totalCount"], 1);
        } else {
            assert!(
                body.get("data").is_none() || body["data"].is_null(),
                "{body}"
            );
            assert!(
                body["errors"][0]["extensions"]["code"].is_string(),
                "{body}"
            );
        }
    }
    let (status, _, body) = ask(Some("text/plain"), "{ plans { totalCount } }").await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
}

/// Browsers may call the API cross-origin only from the configured origins: preflight and
/// answer carry `Access-Control-Allow-Origin` for them, for nobody else, and for nobody
/// at all by default.
#[tokio::test]
async fn cross_origin_calls_only_from_configured_origins() {
    let dashboard = "https://dashboard.example.gov.vn";
    let mut config = test_config();
    config.cors_origins = vec![dashboard.parse().unwrap()];
    let app = TestApp::sqlite_with(config).await;
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/graphql")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let query = |origin: &str| {
        Request::post("/graphql")
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
            .unwrap()
    };

    let (status, headers, _) = app.response(preflight(dashboard)).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(headers["access-control-allow-origin"], dashboard);
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let (status, headers, _) = app.response(query(dashboard)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], dashboard);

    let elsewhere = "https://evil.example.com";
    let (_, headers, _) = app.response(preflight(elsewhere)).await;
    assert!(headers.get("access-control-allow-origin").is_none());
    let (_, headers, _) = app.response(query(elsewhere)).await;
    assert!(headers.get("access-control-allow-origin").is_none());

    let default = TestApp::sqlite().await;
    let (_, headers, _) = default.response(query(dashboard)).await;
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "no origin is allowed by default"
    );
}

/// Automatic persisted queries, as Apollo's clients use them: the hash alone first; on
/// `PersistedQueryNotFound` the document with its hash; then the hash alone, by POST or
/// GET. A document sent this way meets the same limits as any other.
#[tokio::test]
async fn persisted_queries_by_hash() {
    use sha2::{Digest, Sha256};

    let app = TestApp::sqlite().await;
    let token = app.login("analyst").await;
    let bearer = format!("Bearer {token}");
    // One GraphQL request over POST as the analyst.
    let post = |body: Value| {
        let (app, token) = (&app, token.clone());
        async move { app.send("/graphql", &body, Some(&token)).await }
    };
    let query = "{ plans { totalCount } }";
    let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
    let extension = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let reply = post(json!({ "extensions": extension })).await;
    assert_eq!(
        reply.error_code(),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["errors"][0]["message"], "PersistedQueryNotFound");

    let reply = post(json!({ "query": query, "extensions": extension })).await;
    assert_eq!(reply.data()["plans"]["totalCount"], 1);
    let reply = post(json!({ "extensions": extension })).await;
    assert_eq!(reply.data()["plans"]["totalCount"], 1, "by hash alone");

    let (status, _, body) = get(
        &app,
        &[("extensions", &extension.to_string())],
        &[("authorization", &bearer)],
    )
    .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["plans"]["totalCount"], 1, "by hash over GET");

    // A hash that is not the document's is refused, and remembers nothing.
    let other = "{ plans { edges { node { code } } } }";
    let reply = post(json!({ "query": other, "extensions": extension })).await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);

    // A document over the size limit is refused, and not remembered under its hash.
    let long = format!("{query}{}", " ".repeat(70_000));
    let long_hash = json!({ "persistedQuery": { "version": 1, "sha256Hash": format!("{:x}", Sha256::digest(long.as_bytes())) } });
    let reply = post(json!({ "query": long, "extensions": long_hash })).await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    let reply = post(json!({ "extensions": long_hash })).await;
    assert_eq!(
        reply.error_code(),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{}",
        reply.body
    );

    // The document limits hold for persisted documents too.
    let deep = format!("{}{}", "{ plans ".repeat(200), "}".repeat(200));
    let deep_hash = format!("{:x}", Sha256::digest(deep.as_bytes()));
    let reply = post(json!({ "query": deep, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": deep_hash } } })).await;
    assert!(reply.body.get("data").is_none() || reply.body["data"].is_null());
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    let message = reply.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nests brackets"), "{message}");
    assert!(
        reply.body["errors"][0].get("locations").is_none(),
        "no place in the document: {}",
        reply.body
    );
}

/// The files GraphiQL loads come from the binary, with their types and entity tags; only
/// the vendored files are served.
#[tokio::test]
async fn graphiql_files_are_served_from_the_binary() {
    let app = TestApp::sqlite().await;
    let fetch = |path: &str, etag: Option<&str>| {
        let mut request = Request::get(path).header("accept", "text/html");
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        app.response(request.body(Body::empty()).unwrap())
    };
    let page = String::from_utf8(fetch("/graphql", None).await.2).unwrap_or_default();
    let (status, headers, body) = fetch("/graphiql/graphiql.min.js", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert!(
        body.len() > 100_000,
        "GraphiQL's bundle: {} bytes",
        body.len()
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, body) = fetch("/graphiql/graphiql.min.js", Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    for (file, content_type) in [
        ("graphiql.min.css", "text/css; charset=utf-8"),
        ("react.production.min.js", "text/javascript; charset=utf-8"),
        (
            "react-dom.production.min.js",
            "text/javascript; charset=utf-8",
        ),
        ("graphql-ws.min.js", "text/javascript; charset=utf-8"),
        ("LICENSE.graphiql", "text/plain; charset=utf-8"),
    ] {
        let (status, headers, _) = fetch(&format!("/graphiql/{file}"), None).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(headers["content-type"], content_type, "{file}");
    }
    for missing in ["fetch.sh", "SHA256SUMS", "..%2FCargo.toml", "README.md"] {
        let (status, _, _) = fetch(&format!("/graphiql/{missing}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
    assert!(
        page.contains("/graphiql/graphiql.min.js"),
        "the page loads the served files"
    );
}

/// An answer keys its root fields in the order the document selects them (the spec's
/// §7.1.1), fragments in place, though they finish in another: `__typename` is ready at
/// once, the lists wait on the database. What `@skip` and `@include` leave out takes no
/// place, and a failed non-null root field makes `data` null (§6.4.4).
#[tokio::test]
async fn root_fields_answer_in_the_order_they_are_asked() {
    let app = TestApp::sqlite().await;
    let token = app.login("analyst").await;
    let ask = |body: Value| {
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = &app;
        async move {
            let (status, bytes) = app.request(request).await;
            assert_eq!(status, StatusCode::OK);
            String::from_utf8(bytes).unwrap()
        }
    };
    let home = "query Home { tasks(first: 2) { edges { node { id } } } second: __typename
        ...Plans third: __typename } fragment Plans on Query { plans { nodes { code } } fourth: __typename }";
    let cases = [
        (
            json!({ "query": home }),
            &["tasks", "second", "plans", "fourth", "third"][..],
        ),
        (
            json!({ "query": home, "operationName": "Home" }),
            &["tasks", "second", "plans", "fourth", "third"],
        ),
        (
            // async-graphql's validation sees no variable in a directive of `__typename`.
            json!({ "query": "query($t: Boolean!) { later: me @skip(if: $t) { role }
                 first: __typename later: me { role } }", "variables": { "t": true } }),
            &["first", "later"],
        ),
        (
            // Nor one used only in a fragment's directive.
            json!({ "query": "query($t: Boolean = false) { ... @include(if: $t) { later: __typename }
                 first: __typename ...F last: me @skip(if: $t) { role } }
                 fragment F on Query { later: __typename }" }),
            &["first", "later", "last"],
        ),
        (
            json!({ "query": "{ ... @skip(if: true) { later: __typename }
                 first: __typename later: __typename }" }),
            &["first", "later"],
        ),
    ];
    for (body, keys) in cases {
        let text = ask(body.clone()).await;
        let places: Vec<usize> = keys
            .iter()
            .map(|key| {
                text.find(&format!("\"{key}\":"))
                    .unwrap_or_else(|| panic!("{body}: {key} in {text}"))
            })
            .collect();
        assert!(
            places.windows(2).all(|pair| pair[0] < pair[1]),
            "{body}: keys out of order: {text}"
        );
    }
    let failed = ask(
        json!({ "query": "{ first: __typename reports: submissions(first: 101) { totalCount } }" }),
    )
    .await;
    let failed: Value = serde_json::from_str(&failed).unwrap();
    assert_eq!(failed["data"], Value::Null, "{failed}");
    assert_eq!(failed["errors"][0]["path"], json!(["reports"]), "{failed}");
}
