//! The command line, as an operator uses it.
use std::process::Command;

use crate::support::sqlite_copy_in;

fn plantrack(db: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_plantrack"))
        .args(args)
        .env("DATABASE_URL", crate::support::sqlite_url(db))
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

/// `plantrack serve` stops cleanly on SIGTERM, as systemd and container runtimes ask.
#[tokio::test]
async fn serve_stops_on_sigterm() {
    use std::{
        io::{BufRead, BufReader},
        process::Stdio,
        time::{Duration, Instant},
    };

    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_copy_in(dir.path()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_plantrack"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", crate::support::sqlite_url(&db))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start plantrack");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("is serving"));
    assert!(serving.is_some(), "the server did not start");
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(terminated.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("plantrack stopped")),
        "{rest:?}"
    );
}
