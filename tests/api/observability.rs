//! What an operator scrapes: `GET /metrics` in Prometheus' text format, and the request
//! id every answer carries.
use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header::CONTENT_TYPE},
};
use serde_json::json;

use crate::{events, on_both_databases, support::TestApp};

/// The metrics as an operator's scraper reads them.
async fn scrape(app: &TestApp) -> String {
    let (status, headers, body) = app
        .response(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let content_type = headers[CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    String::from_utf8(body).expect("UTF-8")
}

/// The value of the series `name` whose labels include every one of `labels`
/// (written `key="value"`); None when there is no such series.
fn value(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        (series_name == name && labels.iter().all(|label| rest.contains(label)))
            .then(|| value.parse().ok())
            .flatten()
    })
}

async fn metrics_count_operations_errors_and_the_pool(app: TestApp) {
    let analyst = app.client("analyst").await;
    let answer = analyst
        .graphql("query PlanCount { plans { totalCount } }", json!({}))
        .await;
    assert_eq!(answer.data()["plans"]["totalCount"], 1);
    let invalid = analyst
        .graphql("query Broken { noSuchField }", json!({}))
        .await;
    assert_eq!(invalid.error_code(), Some("GRAPHQL_VALIDATION_FAILED"));

    let metrics = scrape(&app).await;
    let operations = value(
        &metrics,
        "plantrack_graphql_operations_total",
        &[r#"operation="PlanCount""#, r#"kind="query""#],
    );
    assert!(operations >= Some(1.0), "{metrics}");
    let latency = value(
        &metrics,
        "plantrack_graphql_operation_duration_seconds_bucket",
        &[r#"operation="PlanCount""#, r#"le="+Inf""#],
    );
    assert!(latency >= Some(1.0), "{metrics}");
    let errors = value(
        &metrics,
        "plantrack_graphql_errors_total",
        &[r#"code="GRAPHQL_VALIDATION_FAILED""#],
    );
    assert!(errors >= Some(1.0), "{metrics}");
    let requests = value(
        &metrics,
        "plantrack_http_requests_total",
        &[r#"method="POST""#, r#"route="/graphql""#, r#"status="200""#],
    );
    assert!(requests >= Some(2.0), "{metrics}");
    // This app's pool, as it is at the scrape (the gauges are set then).
    let in_use = value(&metrics, "plantrack_db_connections", &[r#"state="in_use""#]);
    let idle = value(&metrics, "plantrack_db_connections", &[r#"state="idle""#]);
    assert!(in_use.is_some() && idle.is_some(), "{metrics}");
    assert!(
        metrics.contains("# HELP plantrack_graphql_errors_total"),
        "{metrics}"
    );
}

async fn every_answer_carries_a_request_id(app: TestApp) {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, headers, _) = app
            .response(
                Request::get("/healthz")
                    .header("x-request-id", "chosen-by-the-client")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        let id = headers["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "chosen-by-the-client", "a client's id is not trusted");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "each request has its own id");
}

on_both_databases!(
    metrics_count_operations_errors_and_the_pool,
    every_answer_carries_a_request_id
);

/// A client inventing operation names cannot grow the metrics without bound: past 256
/// names, the rest are counted as `other`.
#[tokio::test]
async fn operation_names_are_bounded() {
    let app = TestApp::sqlite().await;
    let analyst = app.client("analyst").await;
    for i in 0..300 {
        let answer = analyst
            .graphql(&format!("query Invented{i} {{ __typename }}"), json!({}))
            .await;
        assert_eq!(answer.data()["__typename"], "Query");
    }
    let metrics = scrape(&app).await;
    let invented = metrics
        .lines()
        .filter(|line| {
            line.starts_with("plantrack_graphql_operations_total{")
                && line.contains(r#"operation="Invented"#)
        })
        .count();
    assert!((1..=256).contains(&invented), "{invented} series");
    let other = value(
        &metrics,
        "plantrack_graphql_operations_total",
        &[r#"operation="other""#],
    );
    assert!(other >= Some(44.0), "{metrics}");
}

/// Subscriptions being served are counted while they are open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_subscriptions_are_counted() {
    let app = TestApp::sqlite().await;
    let addr = app.serve().await;
    let _socket = events::subscribe(&app, addr, "analyst").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = scrape(&app).await;
        if value(&metrics, "plantrack_subscriptions_active", &[]) >= Some(1.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the open subscription is not counted: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
