//! The command line, as an operator uses it.
use std::process::Command;

use crate::support::sqlite_copy_in;

fn plantrack(db: &std::path::Path, args: &[&str]) -> (bool, String) {
    plantrack_at(&crate::support::sqlite_url(db), args)
}

/// Runs the command line on the database at `url`: (success, what it said on stderr).
pub fn plantrack_at(url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_plantrack"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("PLANTRACK_PASSWORD", "a-long-enough-password")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run plantrack");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn user_add_speaks_in_codes_and_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_copy_in(dir.path()).await;
    let add = |role: &'static str, agency: &'static str| {
        let db = db.clone();
        move || {
            plantrack(
                &db,
                &[
                    "user",
                    "add",
                    "--username",
                    "phumy",
                    "--agency",
                    agency,
                    "--role",
                    role,
                ],
            )
        }
    };
    // A role is spelt as the API spells it.
    let (ok, stderr) = add("editor", "ubnd-phu-my")();
    assert!(!ok);
    assert!(stderr.contains("unknown role `editor`"), "{stderr}");
    // A domain error is one line, without a backtrace.
    let (ok, stderr) = add("EDITOR", "no-such-agency")();
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("no-such-agency"), "{stderr}");
    // Success names the agency by its code.
    let (ok, stderr) = add("EDITOR", "ubnd-phu-my")();
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("added phumy (EDITOR) of agency ubnd-phu-my"),
        "{stderr}"
    );
}

/// A reorganization from files: the shipped 2025 file and the example communes. A bad
/// file stops with one line naming the problem and writes nothing.
#[tokio::test]
async fn reorganizations_load_from_files_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_copy_in(dir.path()).await;
    let root = env!("CARGO_MANIFEST_DIR");
    let misspelt = dir.path().join("misspelt.toml");
    std::fs::write(
        &misspelt,
        std::fs::read_to_string(format!("{root}/seed/reorganization-2025.toml"))
            .unwrap()
            .replace("successor = \"so-nnmt\"", "successor = \"so-nn-mt\""),
    )
    .unwrap();
    let (ok, stderr) = plantrack(&db, &["record-succession", misspelt.to_str().unwrap()]);
    assert!(!ok);
    // One line of error (a loaded machine may add sqlx's slow-statement warnings).
    let said: Vec<&str> = stderr.lines().filter(|l| !l.contains("WARN")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].starts_with("error: ") && said[0].contains("so-nn-mt"),
        "{stderr}"
    );

    let file = format!("{root}/seed/reorganization-2025.toml");
    let (ok, stderr) = plantrack(&db, &["record-succession", &file]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("added 1 agencies; recorded 1 successions (0 already recorded)"),
        "nothing of the bad file was written: {stderr}"
    );
    let (ok, stderr) = plantrack(&db, &["record-succession", &file]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("recorded 0 successions (1 already recorded)"),
        "{stderr}"
    );

    let communes = format!("{root}/tests/data/communes-example.csv");
    let (ok, stderr) = plantrack(&db, &["import-communes", &communes]);
    assert!(!ok, "the first day is required: {stderr}");
    let (ok, stderr) = plantrack(&db, &["import-communes", &communes, "--from", "2025-07-01"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("added 2 agencies; recorded 2 successions"),
        "{stderr}"
    );
}

/// `plantrack serve` as systemd runs it: spans go to the configured OTLP collector, and
/// SIGTERM closes open subscriptions with 1001 (going away), answers what is in flight,
/// sends the last spans and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_traces_and_stops_on_sigterm() {
    use std::{
        io::{BufRead, BufReader},
        process::Stdio,
        sync::{Arc, Mutex},
        time::{Duration, Instant},
    };

    use axum::{Router, body::Bytes, extract::State, routing::post};
    use serde_json::json;

    use crate::{durability::Http, events};

    // A stand-in OpenTelemetry collector: it keeps every OTLP/HTTP export it is sent.
    let exports: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let collector = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(exports): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                    exports.lock().unwrap().push(body);
                },
            ),
        )
        .with_state(exports.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_copy_in(dir.path()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_plantrack"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--shutdown-grace-secs",
            "5",
        ])
        .env("DATABASE_URL", crate::support::sqlite_url(&db))
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_addr}"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start plantrack");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("is serving"))
        .expect("the server did not start");
    let addr = serving
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/graphql"))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {serving:?}"));

    let http = Http { addr };
    // The first scrape of a fresh process already shows the pool.
    let metrics = http.request("GET", "/metrics", None, None).await.unwrap();
    let text = metrics.body["raw"].as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains(r#"plantrack_db_connections{state="idle"}"#),
        "first scrape: {text}"
    );
    let token = http.login("analyst").await;
    let answer = http
        .graphql(
            Some(&token),
            "query TracedPlans { plans { totalCount } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        answer.body["data"]["plans"]["totalCount"], 1,
        "{:?}",
        answer
    );

    let mut socket =
        events::connect(addr, json!({ "Authorization": format!("Bearer {token}") })).await;
    let ack = events::next_message(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(
        ack.map(|m| m["type"].clone()),
        Some(json!("connection_ack"))
    );

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(terminated.success());
    let started = Instant::now();
    assert_eq!(
        events::close_code(&mut socket, Duration::from_secs(5)).await,
        Some(1001),
        "the subscription socket is closed as going away"
    );
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .any(|line| line.contains("plantrack stopped: requests in flight were answered")),
        "{rest:?}"
    );

    // The spans reached the collector before the process exited: the operation's name
    // and the service's are strings of the protobuf export.
    let exported: Vec<u8> = exports.lock().unwrap().concat();
    let contains = |needle: &[u8]| exported.windows(needle.len()).any(|w| w == needle);
    assert!(!exported.is_empty(), "no spans were exported");
    assert!(
        contains(b"TracedPlans"),
        "the operation's span was not exported"
    );
    assert!(contains(b"plantrack"), "the service name was not exported");
}
