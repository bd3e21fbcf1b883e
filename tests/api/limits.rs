//! Limits, health and the GraphiQL page.
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use plantrack::config::{Limits, ServerConfig};
use serde_json::json;

use crate::{on_both_databases, support::TestApp};

fn tight() -> ServerConfig {
    ServerConfig {
        limits: Limits {
            max_depth: 4,
            max_batch: 2,
            max_body_bytes: 2_000,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn depth_batch_and_body_limits_refuse_oversized_requests() {
    let app = TestApp::sqlite_with(tight()).await;
    let deep = app
        .graphql(
            "{ tasks { edges { node { section { plan { code } } } } } }",
            json!({}),
        )
        .await;
    assert!(
        deep.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{}",
        deep.body
    );
    let shallow = app.graphql("{ tasks { totalCount } }", json!({})).await;
    assert_eq!(shallow.data()["tasks"]["totalCount"], 20);

    let op = json!({ "query": "{ tasks { totalCount } }" });
    let batch = app.post_json("/graphql", &json!([op, op, op])).await;
    assert_eq!(
        batch.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{}",
        batch.body
    );
    let batch = app.post_json("/graphql", &json!([op, op])).await;
    assert_eq!(batch.body.as_array().unwrap().len(), 2);

    let padding = "x".repeat(3_000);
    let big = app
        .post_json(
            "/graphql",
            &json!({ "query": format!("{{ tasks {{ totalCount }} }} # {padding}") }),
        )
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn health_and_graphiql_answer(app: TestApp) {
    let (status, body) = app
        .request(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({ "status": "ok" })
    );
    let (status, body) = app
        .request(
            Request::get("/graphql")
                .header("accept", "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("graphiql"));
}

async fn errors_carry_codes_and_no_internals(app: TestApp) {
    let reply = app
        .graphql("{ tasks(first: -1) { totalCount } }", json!({}))
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"));
    let reply = app.graphql("{ noSuchField }", json!({})).await;
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("noSuchField")
    );
    assert!(!reply.body.to_string().to_lowercase().contains("select "));
}

/// Lists multiply what they select, analyses count the rows they build, and the
/// operations of a batch share one budget.
#[tokio::test]
async fn costs_multiply_and_a_batch_shares_one_budget() {
    let app = TestApp::sqlite().await;
    let nested = "{ agencies(first: 100) { edges { node { ledTasks { leadAgencies { ledTasks { leadAgencies { code } } } } } } } }";
    let reply = app.graphql(nested, json!({})).await;
    assert_eq!(
        reply.error_code(),
        Some("QUERY_TOO_COMPLEX"),
        "{}",
        reply.body
    );

    // 16 obligation analyses cost 176,000 of the 200,000 one operation may spend.
    let aliases: String = (0..16)
        .map(|i| format!("o{i}: progress(planCode: \"768/QĐ-UBND\", periodCode: \"2025\", groupBy: AGENCY) {{ expected }} "))
        .collect();
    let operation = json!({ "query": format!("{{ {aliases} }}") });
    let one = app.post_json("/graphql", &operation).await;
    assert!(one.body.get("errors").is_none(), "{}", one.body);
    let batch = app
        .post_json("/graphql", &json!([operation, operation]))
        .await;
    let answers = batch.body.as_array().expect("a batch answer");
    assert!(answers[0].get("errors").is_none(), "{}", batch.body);
    assert_eq!(
        answers[1]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{}",
        batch.body
    );
    let too_many = (0..19)
        .map(|i| format!("o{i}: progress(planCode: \"768/QĐ-UBND\", periodCode: \"2025\", groupBy: AGENCY) {{ expected }} "))
        .collect::<String>();
    let reply = app.graphql(&format!("{{ {too_many} }}"), json!({})).await;
    assert_eq!(
        reply.error_code(),
        Some("QUERY_TOO_COMPLEX"),
        "{}",
        reply.body
    );
}

on_both_databases!(
    health_and_graphiql_answer,
    errors_carry_codes_and_no_internals
);
