//! Limits, health and the GraphiQL page.
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use plantrack::config::{Limits, ServerConfig};
use sea_orm::ConnectionTrait;
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
    assert_eq!(
        shallow.data()["tasks"]["totalCount"],
        crate::fixtures::TASKS
    );

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

/// Variables are measured before they are built: a body of more JSON values than the
/// limit is refused whole, and variables of more objects than the limit are refused
/// before GraphQL turns them into typed inputs (a megabyte of empty filter objects took
/// 650 MB to refuse).
#[tokio::test]
async fn oversized_variables_are_refused_before_they_are_built() {
    let app = TestApp::sqlite().await;
    let query = "query($f: SubmissionFilter) { submissions(filter: $f) { totalCount } }";
    let empties = |n: usize| json!({ "and": vec![json!({}); n] });
    let token = app.login("tayson").await;
    let send = |filter: serde_json::Value| {
        let (app, token) = (&app, &token);
        async move {
            app.send(
                "/graphql",
                &json!({ "query": query, "variables": { "f": filter } }),
                Some(token),
            )
            .await
        }
    };

    let body_too_big = send(empties(25_000)).await;
    assert_eq!(body_too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body_too_big.body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE",
        "{}",
        body_too_big.body
    );
    assert!(
        body_too_big.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("20000 JSON values"),
        "{}",
        body_too_big.body
    );

    // 2,001 objects: the filter and its 2,000 empty conditions.
    let too_many_objects = send(empties(2_000)).await;
    assert_eq!(too_many_objects.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        too_many_objects.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the variables hold 2001 objects; at most 2000"),
        "{}",
        too_many_objects.body
    );
    // At the limit, the filter's own rules answer (at most 100 conditions, the cost).
    let at_limit = send(empties(1_999)).await;
    assert!(at_limit.error_code().is_some(), "{}", at_limit.body);
    assert!(
        !at_limit.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the variables hold"),
        "{}",
        at_limit.body
    );
    // A filter of ordinary size runs.
    let ordinary = send(json!({ "status": { "in": ["SUBMITTED", "ACCEPTED"] } })).await;
    assert!(
        ordinary.data()["submissions"]["totalCount"].is_number(),
        "{}",
        ordinary.body
    );
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

/// A task's nested list of reports holds the newest 200, however many there are: a task
/// of a national plan has hundreds, and a nested list must not read them all.
async fn nested_report_lists_are_capped(app: TestApp) {
    // 230 submitted reports of one task: every agency, every period, until there are 230.
    let owner = app.owner_db().await;
    owner
        .execute_unprepared(
            "INSERT INTO submission (agency_id, plan_id, task_id, period_id, status, progress, \
             summary, results, difficulties, proposals, search_text, version, created_at, \
             updated_at) \
             SELECT a.id, t.plan_id, t.id, p.id, 'SUBMITTED', 'IN_PROGRESS', '', '', '', '', '', \
             1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP \
             FROM agency a, period p, task t WHERE t.position = 1 \
             ORDER BY a.id, p.id LIMIT 230",
        )
        .await
        .expect("insert reports");
    let answer = app
        .graphql(
            r#"{ plan(code: "768/QĐ-UBND") { sections { tasks { number submissions { id } } } }
                 submissions(filter: { task: { number: { equalTo: 1 } } }) { totalCount } }"#,
            json!({}),
        )
        .await;
    let first = &answer.data()["plan"]["sections"][0]["tasks"][0];
    assert_eq!(first["number"], 1);
    let nested = first["submissions"].as_array().unwrap();
    assert_eq!(nested.len(), 200, "the nested list is capped");
    assert_eq!(answer.data()["submissions"]["totalCount"], 230);
    // The newest 200 (the highest ids), oldest first.
    let ids: Vec<i64> = nested
        .iter()
        .map(|s| crate::durability::row_id(s["id"].as_str().unwrap()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let newest = app
        .graphql(
            r#"{ submissions(first: 1, filter: { task: { number: { equalTo: 1 } } }) { edges { node { id } } } }"#,
            json!({}),
        )
        .await;
    let newest = crate::durability::row_id(
        newest.data()["submissions"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        ids.last(),
        Some(&newest),
        "the newest report is in the list"
    );
}

on_both_databases!(
    health_and_graphiql_answer,
    errors_carry_codes_and_no_internals,
    nested_report_lists_are_capped
);
