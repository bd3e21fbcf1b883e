//! Requests dropped halfway — a client that goes away, a timeout — leave nothing behind:
//! no transaction open on a pooled connection, no half-written report.
use std::time::Duration;

use axum::{body::Body, http::Request};
use rand::Rng;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    fixtures::{open_window, save, tasks_reported_by},
    on_both_databases,
    support::TestApp,
};

fn save_request(token: &str, task: &str, version: Option<i64>, summary: &str) -> Request<Body> {
    let body = json!({
        "query": "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) { id version } }",
        "variables": { "i": { "taskId": task, "periodCode": "2024", "summary": summary, "expectedVersion": version } },
    })
    .to_string();
    Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap()
}

async fn cancelled_requests_leave_nothing_behind(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let token = tayson.token.clone().unwrap();
    // The tasks it reports on for 2024 (not its implementation plan, owed for 2022).
    let tasks = tasks_reported_by(&tayson, "ubnd-tay-son", "2024").await;
    assert!(tasks.len() >= 3, "{tasks:?}");
    for task in &tasks {
        save(
            &tayson,
            json!({ "taskId": task, "periodCode": "2024", "summary": "v1" }),
        )
        .await
        .data();
    }

    // 16 clients, each dropping 12 saves at a random moment between sending and answer.
    let mut clients = Vec::new();
    for worker in 0..32 {
        let (router, token, tasks) = (app.router.clone(), token.clone(), tasks.clone());
        clients.push(tokio::spawn(async move {
            for round in 0..40 {
                let (task, version, wait) = {
                    let mut rng = rand::rng();
                    (
                        tasks[rng.random_range(0..tasks.len())].clone(),
                        rng.random_range(1..6),
                        Duration::from_micros(rng.random_range(0..3_000)),
                    )
                };
                let request =
                    save_request(&token, &task, Some(version), &format!("{worker}/{round}"));
                let _ = tokio::time::timeout(wait, router.clone().oneshot(request)).await;
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }

    // Every later request is served, and every write commits.
    let ready = app
        .request(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(ready.0, 200, "{}", String::from_utf8_lossy(&ready.1));
    for task in &tasks {
        let current = tayson
            .graphql(
                "query($t: ID!) { node(id: $t) { ... on Task { submissions(filter: { period: { code: { equalTo: \"2024\" } } }) { version } } } }",
                json!({ "t": task }),
            )
            .await;
        let version = current.data()["node"]["submissions"][0]["version"]
            .as_i64()
            .unwrap();
        let saved = tokio::time::timeout(
            Duration::from_secs(10),
            save(
                &tayson,
                json!({ "taskId": task, "periodCode": "2024", "summary": "after", "expectedVersion": version }),
            ),
        )
        .await
        .expect("a save after the storm answers promptly");
        assert_eq!(
            saved.data()["saveSubmission"]["version"].as_i64(),
            Some(version + 1)
        );
    }

    // Nothing half-written: each report has one audit row per version, in the order they
    // were written (as history reads them).
    let owner = app.owner_db().await;
    for submission in entity::submission::Entity::find()
        .all(&owner)
        .await
        .unwrap()
    {
        let audits = entity::audit_log::Entity::find()
            .order_by_asc(entity::audit_log::Column::Id)
            .all(&owner)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.entity == "submission" && a.entity_id == submission.id)
            .collect::<Vec<_>>();
        let versions: Vec<Option<i64>> = audits
            .iter()
            .map(|a| {
                a.after
                    .as_ref()
                    .and_then(|after: &Value| after["version"].as_i64())
            })
            .collect();
        let written: Vec<Option<i64>> = (1..=i64::from(submission.version)).map(Some).collect();
        assert_eq!(versions, written, "{submission:?}");
    }

    // On PostgreSQL, no session is left idle inside a transaction.
    if app.backend == "postgres" {
        let mut stuck = -1;
        for _ in 0..20 {
            stuck = owner
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            if stuck == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(stuck, 0, "sessions idle in a transaction");
    }
}

on_both_databases!(cancelled_requests_leave_nothing_behind);
