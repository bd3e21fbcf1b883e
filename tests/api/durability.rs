//! Nothing acknowledged is lost (issue 7 §2). A save the API answered with success is in
//! the database after a full disk, after the server was killed, and after the database
//! server went away and came back; while the database cannot take writes, requests
//! answer promptly with an error code, never hang, and never claim a write that did not
//! happen.
//!
//! Each test writes through the public surface (GraphQL over real TCP), keeps a ledger of
//! every acknowledged (submission, version), and at the end reads the database directly
//! as the tables' owner: every acknowledged version is there, and every submission has
//! exactly one audit row per version, the latest matching the row (nothing half-written).
use std::{
    collections::BTreeMap,
    io::{self, Write as _},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use entity::{audit_log, submission};
use futures_util::future::join_all;
use plantrack::db;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    fixtures::{PLAN, open_window},
    support::{self, TestApp, say},
};

/// Longer than any answer may take: past it, the test calls it a hang.
const HANG: Duration = Duration::from_secs(20);

/// The period every test reports on.
const PERIOD: &str = "2024";

// ---------------------------------------------------------------------------------------
// 1. A full disk on SQLite.

/// Save cycles: each saves on every task, fills the disk, tries again, frees the disk.
const DISK_FULL_CYCLES: usize = 5;
/// How long saves may keep failing once the disk has room again.
const RECOVERY: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_nothing_acknowledged() {
    let Some(disk) = Tmpfs::mount("16m") else {
        say("NOTE: could not mount a tmpfs (not root?): the full-disk test is SKIPPED");
        return;
    };
    let app = TestApp::sqlite_in(disk.path()).await;
    let file = disk.path().join("test.db");
    open_window(&app, PERIOD, 48).await.data();
    let http = Http {
        addr: app.serve().await,
    };
    let mut writers = writers(&http, &[("tayson", 3), ("anlao", 3)], Failures::NotWritten).await;

    let mut refused = BTreeMap::<String, usize>::new();
    let mut saved_while_full = 0;
    let mut readies_while_full = 0;
    for cycle in 1..=DISK_FULL_CYCLES {
        for (writer, outcome) in save_all(&mut writers).await {
            assert!(
                outcome.is_acked(),
                "cycle {cycle}: {} could not save on a disk with room: {outcome}",
                writer
            );
        }

        let filler = fill(disk.path());
        // The readiness probe commits a small write. On a full disk it fails, once the
        // room the write-ahead log's file already has (frames of a failed write, a log
        // restarted after a checkpoint) is used up.
        let mut ready_while_full = 0;
        loop {
            let ready = get(&http, "/readyz").await;
            match ready.status {
                503 => break,
                200 => ready_while_full += 1,
                _ => panic!("cycle {cycle}: /readyz on a full disk: {}", ready.body),
            }
            assert!(
                ready_while_full < 200,
                "cycle {cycle}: /readyz still answers 200 on a full disk"
            );
        }
        readies_while_full += ready_while_full;
        // Saves until one fails, for the same reason.
        let mut failed = 0;
        for _ in 0..20 {
            for (writer, outcome) in save_all(&mut writers).await {
                match outcome {
                    Outcome::Acked => saved_while_full += 1,
                    Outcome::Refused { code, message } => {
                        // A full disk is the database being unavailable, for a while.
                        assert_eq!(
                            code, "SERVICE_UNAVAILABLE",
                            "cycle {cycle}: {writer} on a full disk: {message}"
                        );
                        failed += 1;
                        *refused.entry(code).or_default() += 1;
                    }
                    other => {
                        panic!("cycle {cycle}: {writer} on a full disk: no error code: {other}")
                    }
                }
            }
            if failed > 0 {
                break;
            }
        }
        assert!(
            failed > 0,
            "cycle {cycle}: no save failed on a full disk: the test tested nothing"
        );
        // (Not /readyz again: its small write may fit in the frames the failed save
        // wrote, and then it is committed, rightly.)

        std::fs::remove_file(&filler).expect("remove the filler");
        let freed = Instant::now();
        let recovered = join_all(writers.iter_mut().map(|w| w.save_until_acked(RECOVERY))).await;
        for (writer, outcome) in writers.iter().zip(recovered) {
            if let Err(last) = outcome {
                panic!(
                    "cycle {cycle}: {writer} still cannot save {RECOVERY:?} after the disk had \
                     room again (a connection left inside a transaction?): {last}"
                );
            }
        }
        wait_for_status(
            &http,
            "/readyz",
            200,
            RECOVERY.saturating_sub(freed.elapsed()),
        )
        .await
        .unwrap_or_else(|last| {
            panic!("cycle {cycle}: /readyz after the disk had room again: {last}")
        });
    }
    // What a restarted server would find: the file, through a fresh connection.
    app.db.clone().close().await.expect("close the app's pool");
    drop(app);
    let fresh = db::connect(&support::sqlite_url(&file), 1)
        .await
        .expect("open the database file again");
    let ledger = check_ledger(&fresh, &writers).await;
    fresh.close().await.expect("close");
    drop(disk);
    say(&format!(
        "NOTE: full disk: {} saves acknowledged over {DISK_FULL_CYCLES} cycles \
         ({saved_while_full} while the disk was full), all stored; refused on a full disk: \
         {refused:?}; /readyz answered 200 {readies_while_full} times on a full disk before 503",
        ledger.acknowledged
    ));
}

/// A small tmpfs on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: Option<tempfile::TempDir>,
}

impl Tmpfs {
    /// None (after saying why) where mounting is not allowed.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Self { dir: Some(dir) }),
            Ok(output) => {
                say(&format!(
                    "mount -t tmpfs failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
                None
            }
            Err(err) => {
                say(&format!("mount -t tmpfs failed: {err}"));
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().expect("mounted").path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        let unmounted = Command::new("umount")
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds a file there: detach it now, free it when released.
            let _ = Command::new("umount").arg("-l").arg(dir.path()).status();
        }
        drop(dir);
    }
}

/// Writes a file in `dir` until its filesystem is full; returns the file's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0xA5_u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if err.raw_os_error() == Some(28) => break, // ENOSPC
            Err(err) => panic!("filling the disk: {err}"),
        }
    }
    path
}

// ---------------------------------------------------------------------------------------
// 2. The server killed (SIGKILL) during a burst of writes.

mod acknowledged_writes_survive_a_kill {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = support::sqlite_copy_in(dir.path()).await;
        let url = support::sqlite_url(&file);
        super::acknowledged_writes_survive_a_kill(&url, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some((url, owner_url)) = support::postgres_database().await {
            super::acknowledged_writes_survive_a_kill(&url, Some(&owner_url)).await;
        }
    }
}

/// How long the writers write before the server is killed.
const BURST: Duration = Duration::from_millis(1500);

/// `plantrack serve` on `url` (migrating as `owner_url` where given) with eight writers
/// saving drafts; SIGKILL after `BURST`.
async fn acknowledged_writes_survive_a_kill(url: &str, owner_url: Option<&str>) {
    let mut server = Server::start(url, owner_url);
    let http = Http { addr: server.addr };
    let coordinator = http.login("coordinator").await;
    open_window_over(&http, &coordinator).await;
    let writers = writers(&http, &[("tayson", 4), ("anlao", 4)], Failures::Uncertain).await;

    let killed = Arc::new(AtomicBool::new(false));
    // Per writer: whether a save of it was acknowledged yet.
    let acked: Vec<Arc<AtomicBool>> = writers
        .iter()
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    let running: Vec<_> = writers
        .into_iter()
        .zip(&acked)
        .map(|(mut writer, acked)| {
            let killed = killed.clone();
            let acked = acked.clone();
            tokio::spawn(async move {
                loop {
                    match writer.save().await {
                        Outcome::Acked => {
                            acked.store(true, Ordering::SeqCst);
                            // A breath between saves: SQLite's lock goes to whoever polls
                            // first, and a writer that never breathes starves the others.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Outcome::Unanswered(_) if killed.load(Ordering::SeqCst) => break,
                        // A living server answered with an error, or dropped a request.
                        other => panic!("{writer} before the kill: {other}"),
                    }
                }
                writer
            })
        })
        .collect();
    // Once every writer is under way (SQLite lets one writer in at a time, and not in
    // turn), a burst more.
    let since = Instant::now();
    while !acked.iter().all(|a| a.load(Ordering::SeqCst)) {
        assert!(
            since.elapsed() < HANG,
            "not every writer got a save acknowledged within {HANG:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(BURST).await;
    // Set first: a request cut by the kill may fail before `kill` returns.
    let burst = since.elapsed();
    killed.store(true, Ordering::SeqCst);
    server.kill();
    let mut writers = Vec::new();
    for writer in running {
        writers.push(
            tokio::time::timeout(HANG, writer)
                .await
                .expect("a writer hung after the kill")
                .expect("writer"),
        );
    }
    let owner = db::connect(owner_url.unwrap_or(url), 1)
        .await
        .expect("connect as the owner");
    let ledger = check_ledger(&owner, &writers).await;
    owner.close().await.expect("close");
    say(&format!(
        "NOTE: kill ({}): {} saves acknowledged by eight writers in the {burst:?} before \
         the kill, all stored; {} more stored whose answers the kill cut",
        if owner_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        ledger.acknowledged,
        ledger.unacknowledged
    ));
}

/// The real server binary, as a child process.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `plantrack serve` and waits until it says where it serves.
    fn start(url: &str, owner_url: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr");
        let mut command = Command::new(env!("CARGO_BIN_EXE_plantrack"));
        command.args(["serve", "--bind", "127.0.0.1:0", "--database-url", url]);
        if let Some(owner_url) = owner_url {
            command.args(["--migration-database-url", owner_url]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start plantrack serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            // Read to the end, so that the server never blocks on a full pipe.
            for line in io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split_once("GraphiQL: http://").map(|(_, r)| r) {
                    let addr = rest.trim_end_matches("/graphql").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "plantrack serve did not say where it serves; its stderr:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Self {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    /// SIGKILL, and reaps the process.
    fn kill(&mut self) {
        self.child.kill().expect("kill the server");
        let status = self.child.wait().expect("reap the server");
        assert!(
            status.code().is_none(),
            "the server had exited by itself ({status}); its stderr:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `fixtures::open_window` over HTTP: the period open since an hour, due in two days.
async fn open_window_over(http: &Http, coordinator: &str) {
    let now = Utc::now();
    let answer = http
        .graphql(
            Some(coordinator),
            "mutation($i: OpenReportingWindowInput!) { openReportingWindow(input: $i) { isOpen } }",
            json!({ "i": {
                "planCode": PLAN,
                "periodCode": PERIOD,
                "opensAt": (now - chrono::Duration::hours(1)).to_rfc3339(),
                "dueAt": (now + chrono::Duration::hours(48)).to_rfc3339(),
                "closesAt": (now + chrono::Duration::hours(72)).to_rfc3339(),
            } }),
        )
        .await
        .expect("open the window");
    assert_eq!(
        answer.body["data"]["openReportingWindow"]["isOpen"], true,
        "{}",
        answer.body
    );
}

// ---------------------------------------------------------------------------------------
// 3. PostgreSQL stopped and started again under load.

/// Longest a request may take while PostgreSQL is down (the pool's acquire timeout is 3 s).
const PROMPT: Duration = Duration::from_secs(6);
/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(4);
/// How long saves may keep failing once PostgreSQL is back.
const BACK_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_promptly_and_loses_nothing() {
    // Its own cluster: stopping the shared one would fail every other test.
    let Some(cluster) = support::postgres::Cluster::start() else {
        if std::env::var("PLANTRACK_REQUIRE_PG").as_deref() == Ok("1") {
            panic!("PostgreSQL is required (PLANTRACK_REQUIRE_PG=1) but none could be started");
        }
        say("NOTE: no PostgreSQL cluster can be started here: the outage test is SKIPPED");
        return;
    };
    let (url, owner_url) =
        support::postgres::prepared_database(&cluster.admin_url(), "plantrack_outage").await;
    let mut app = TestApp::at(&url).await;
    app.owner_url = Some(owner_url.clone());
    open_window(&app, PERIOD, 48).await.data();
    let http = Http {
        addr: app.serve().await,
    };
    let writers = writers(&http, &[("tayson", 3), ("anlao", 3)], Failures::Uncertain).await;

    // Writers save until told to stop, keeping every answer with its times.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // Per writer: when (ms since the start) a save was last acknowledged.
    let last_acked: Vec<Arc<AtomicU64>> = writers
        .iter()
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let running: Vec<_> = writers
        .into_iter()
        .zip(&last_acked)
        .map(|(mut writer, last_acked)| {
            let stop = stop.clone();
            let last_acked = last_acked.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let sent = started.elapsed();
                    let outcome = writer.save().await;
                    let answered = started.elapsed();
                    let failed = !outcome.is_acked();
                    if !failed {
                        last_acked.store(sent.as_millis() as u64, Ordering::SeqCst);
                    }
                    answers.push(Timed {
                        sent,
                        answered,
                        outcome,
                    });
                    if failed {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                (writer, answers)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let cluster = Arc::new(cluster);
    let stopping = started.elapsed();
    let pg = cluster.clone();
    assert!(
        tokio::task::spawn_blocking(move || pg.stop())
            .await
            .unwrap(),
        "pg_ctl stop"
    );
    let stopped = started.elapsed();
    // While it is down: health answers promptly and says so.
    let asked = Instant::now();
    let (ready, health) = tokio::join!(get(&http, "/readyz"), get(&http, "/healthz"));
    for (path, answer) in [("/readyz", ready), ("/healthz", health)] {
        assert_eq!(
            answer.status, 503,
            "{path} while PostgreSQL was down: {}",
            answer.body
        );
    }
    assert!(
        asked.elapsed() < PROMPT,
        "/readyz and /healthz took {:?} while PostgreSQL was down",
        asked.elapsed()
    );
    let down_for = started.elapsed() - stopped;
    tokio::time::sleep(OUTAGE.saturating_sub(down_for)).await;
    let restarting = started.elapsed();
    let pg = cluster.clone();
    assert!(
        tokio::task::spawn_blocking(move || pg.start_again())
            .await
            .unwrap(),
        "pg_ctl start"
    );
    let restarted = started.elapsed();
    wait_for_status(&http, "/readyz", 200, BACK_WITHIN)
        .await
        .unwrap_or_else(|last| panic!("/readyz once PostgreSQL was back: {last}"));
    // Every writer gets a save through again (checked below, once they have stopped).
    let restarted_ms = restarted.as_millis() as u64;
    while started.elapsed() < restarted + BACK_WITHIN
        && last_acked
            .iter()
            .any(|at| at.load(Ordering::SeqCst) < restarted_ms)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut finished = Vec::new();
    for writer in running {
        finished.push(
            tokio::time::timeout(HANG, writer)
                .await
                .expect("a writer hung")
                .expect("writer"),
        );
    }

    let mut codes = BTreeMap::<String, usize>::new();
    let mut slowest_down = Duration::ZERO;
    let mut cut_by_the_stop = BTreeMap::<String, usize>::new();
    for (writer, answers) in &finished {
        for answer in answers {
            let took = answer.answered - answer.sent;
            let phase = if answer.answered < stopping {
                "before the stop"
            } else if answer.sent >= restarted {
                "after the restart"
            } else {
                "around the outage"
            };
            match &answer.outcome {
                Outcome::Acked => {}
                Outcome::Refused { code, .. } => {
                    *codes.entry(format!("{code} {phase}")).or_default() += 1
                }
                other => panic!("{writer} at {:?}: {other}", answer.sent),
            }
            // Sent while PostgreSQL was down: answered promptly all the same.
            if answer.sent >= stopped && answer.sent < restarting {
                slowest_down = slowest_down.max(took);
                assert!(
                    took < PROMPT,
                    "{writer}: a save sent while PostgreSQL was down took {took:?}"
                );
            }
            // Sent and answered while PostgreSQL was down for sure (stopped, and not yet
            // starting again): refused, as unavailable.
            if answer.sent >= stopped && answer.answered < restarting {
                match &answer.outcome {
                    Outcome::Refused { code, message } => assert_eq!(
                        code, "SERVICE_UNAVAILABLE",
                        "{writer}: a save while PostgreSQL was down: {message}"
                    ),
                    other => panic!("{writer}: a save while PostgreSQL was down: {other}"),
                }
            }
            // Cut by the stop (their connection ended under them): unavailable too.
            if answer.sent < stopped && answer.answered >= stopping && !answer.outcome.is_acked() {
                *cut_by_the_stop
                    .entry(answer.outcome.to_string())
                    .or_default() += 1;
            }
            // Whenever refused: unavailable (or CONFLICT, once a save whose answer was
            // lost had been written after all).
            if let Outcome::Refused { code, message } = &answer.outcome {
                assert!(
                    code == "SERVICE_UNAVAILABLE" || code == "CONFLICT",
                    "{writer} at {:?} ({phase}): {code}: {message}",
                    answer.sent
                );
            }
        }
        let back = answers
            .iter()
            .any(|a| a.sent >= restarted && a.outcome.is_acked());
        assert!(
            back,
            "{writer}: no save succeeded within {BACK_WITHIN:?} of PostgreSQL's return: {:?}",
            answers.last()
        );
    }
    let writers: Vec<Writer> = finished.into_iter().map(|(w, _)| w).collect();
    let owner = db::connect(&owner_url, 1)
        .await
        .expect("connect as the owner");
    let ledger = check_ledger(&owner, &writers).await;
    owner.close().await.expect("close");
    app.db.clone().close().await.expect("close the app's pool");
    say(&format!(
        "NOTE: PostgreSQL outage of {:?}: {} saves acknowledged, all stored ({} more stored \
         whose answers were errors); refused: {codes:?}; slowest answer while down \
         {slowest_down:?}; saves cut by the stop: {cut_by_the_stop:?}",
        restarted - stopped,
        ledger.acknowledged,
        ledger.unacknowledged
    ));
}

/// An answer and when its request was sent and answered (since the test's start).
#[derive(Debug)]
struct Timed {
    sent: Duration,
    answered: Duration,
    outcome: Outcome,
}

// ---------------------------------------------------------------------------------------
// 4. The pool's check on a returned connection (db.rs, `after_release`).

/// A pooled connection that comes back outside any transaction is reused; one that comes
/// back inside a transaction the driver never counted (SQLite rolling back by itself) is
/// closed, not handed on; and a cancelled BEGIN never leaves one open.
mod a_connection_left_in_a_transaction_is_not_reused {
    use sea_orm::sqlx::{self, Connection as _, Row as _};

    use super::*;

    /// Whether this connection is the one marked: a temporary table lives as long as its
    /// connection.
    async fn marked(c: &mut sqlx::SqliteConnection) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_temp_master WHERE name = 'mark'")
            .fetch_one(c)
            .await
            .expect("read the mark")
            == 1
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = support::sqlite_copy_in(dir.path()).await;
        let conn = db::connect(&support::sqlite_url(&file), 1)
            .await
            .expect("connect");
        let pool = conn.get_sqlite_connection_pool();
        let mut c = pool.acquire().await.expect("acquire");
        sqlx::raw_sql("CREATE TEMP TABLE mark (x)")
            .execute(&mut *c)
            .await
            .expect("mark the connection");
        drop(c);
        let mut c = pool.acquire().await.expect("acquire");
        assert!(marked(&mut c).await, "a clean connection was not reused");
        // BEGIN behind the driver's back: it counts no transaction.
        sqlx::raw_sql("BEGIN")
            .execute(&mut *c)
            .await
            .expect("begin");
        assert!(!c.is_in_transaction());
        drop(c);
        let mut c = pool.acquire().await.expect("acquire");
        assert!(
            !marked(&mut c).await,
            "a connection returned inside a transaction was reused"
        );
        drop(c);
        conn.close().await.expect("close");
    }

    /// On PostgreSQL the driver knows of every transaction, because `db::begin` runs
    /// BEGIN to its answer whatever becomes of the caller: callers cancelled at every
    /// moment of it leave the pool's one connection outside any transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some((url, _)) = support::postgres_database().await else {
            return;
        };
        let conn = db::connect(&url, 1).await.expect("connect");
        let pool = conn.get_postgres_connection_pool();
        for round in 0..200u64 {
            let wait = Duration::from_micros(round * 37 % 2_000);
            let _ = tokio::time::timeout(wait, db::begin_read(&conn)).await;
            let mut c = pool.acquire().await.expect("acquire");
            let outside: bool =
                sqlx::raw_sql("SELECT transaction_timestamp() = statement_timestamp()")
                    .fetch_one(&mut *c)
                    .await
                    .expect("ask the server")
                    .get(0);
            assert!(
                outside,
                "cancelled after {wait:?}, the pooled connection is inside a transaction"
            );
            assert!(!c.is_in_transaction());
        }
        conn.close().await.expect("close");
    }
}

/// A pooled connection is not checked each time it is taken (that would be a round trip
/// per statement), only once it has been idle for a second (db.rs). So connections that
/// PostgreSQL ended while they sat idle in the pool (an administrator's
/// `pg_terminate_backend`, a proxy's idle timeout) are replaced, not used: every request
/// after such a pause is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_while_idle_are_replaced() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let tayson = app.client("tayson").await;
    let read = || tayson.graphql("{ me { role } plans { totalCount } }", json!({}));
    // Several requests at once, so that the pool holds several connections.
    for reply in join_all((0..8).map(|_| read())).await {
        reply.data();
    }
    let owner = app.owner_db().await;
    let ended = owner
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND usename <> current_user AND query NOT ILIKE 'LISTEN%'",
        ))
        .await
        .expect("end the server's connections");
    assert!(!ended.is_empty(), "the server held no connection to end");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    for reply in join_all((0..8).map(|_| read())).await {
        reply.data();
    }
    owner.close().await.expect("close");
}

// ---------------------------------------------------------------------------------------
// Writers and their ledger.

/// What a failed save says about whether it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failures {
    /// An error answer means nothing was written (the server answered; its database did
    /// not fail halfway through a commit). A later CONFLICT would prove otherwise.
    NotWritten,
    /// The outcome of a failed save is unknown: the connection to the server, or the
    /// server's to its database, broke while the commit may have been under way.
    Uncertain,
}

/// One client saving its agency's draft on one task, again and again, keeping what the
/// server acknowledged.
struct Writer {
    http: Http,
    token: String,
    username: String,
    task: String,
    failures: Failures,
    /// The submission's global id, once known.
    id: Option<String>,
    /// The version last acknowledged (or read back), 0 before the draft exists.
    version: i64,
    /// Every acknowledged (submission row id, version), in order.
    acks: Vec<(i64, i64)>,
    /// Failed saves since the last acknowledged one whose outcome is unknown.
    uncertain: i64,
    attempts: usize,
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on task {} (v{})",
            self.username,
            task_label(&self.task),
            self.version
        )
    }
}

#[derive(Debug)]
enum Outcome {
    Acked,
    /// An answer with an error code.
    Refused {
        code: String,
        message: String,
    },
    /// An answer without an error code.
    NoCode {
        status: u16,
        body: String,
    },
    /// No answer: the connection failed.
    Unanswered(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Acked => write!(f, "acknowledged"),
            Self::Refused { code, message } => write!(f, "{code}: {message}"),
            Self::NoCode { status, body } => {
                write!(f, "HTTP {status} without an error code: {body}")
            }
            Self::Unanswered(err) => write!(f, "no answer: {err}"),
        }
    }
}

impl Outcome {
    fn is_acked(&self) -> bool {
        matches!(self, Self::Acked)
    }
}

const SAVE: &str =
    "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) { id version } }";

impl Writer {
    /// Saves the draft once (creating it the first time).
    async fn save(&mut self) -> Outcome {
        self.attempts += 1;
        let mut input = json!({
            "taskId": self.task,
            "periodCode": PERIOD,
            "progress": "IN_PROGRESS",
            "summary": format!("{} save {}", self.username, self.attempts),
        });
        if self.id.is_some() {
            input["expectedVersion"] = json!(self.version);
        }
        let answer = bounded(
            &format!("{self}: saveSubmission"),
            self.http
                .graphql(Some(&self.token), SAVE, json!({ "i": input })),
        )
        .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                self.failed();
                return Outcome::Unanswered(err.to_string());
            }
        };
        let saved = &answer.body["data"]["saveSubmission"];
        if let (200, None, Some(id), Some(version)) = (
            answer.status,
            answer.body.get("errors"),
            saved["id"].as_str(),
            saved["version"].as_i64(),
        ) {
            assert!(
                version > self.version,
                "{self}: saved at version {version}, not above the one it was saved from"
            );
            self.acks.push((row_id(id), version));
            self.id = Some(id.to_owned());
            self.version = version;
            self.uncertain = 0;
            return Outcome::Acked;
        }
        let Some(code) = answer.code() else {
            self.failed();
            return Outcome::NoCode {
                status: answer.status,
                body: answer.body.to_string(),
            };
        };
        let outcome = Outcome::Refused {
            code: code.to_owned(),
            message: answer.body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        if code == "CONFLICT" {
            // Nothing was written; the version this writer knows is stale.
            assert_eq!(
                self.failures,
                Failures::Uncertain,
                "{self}: CONFLICT although every save of this draft was answered, and \
                 v{} was the last acknowledged: an acknowledged save is not visible (lost, \
                 or left in a transaction nobody commits), or a save answered with an error \
                 was written after all ({outcome})",
                self.version
            );
            self.reread().await;
        } else {
            self.failed();
        }
        outcome
    }

    fn failed(&mut self) {
        if self.failures == Failures::Uncertain {
            self.uncertain += 1;
        }
    }

    /// Saves until one is acknowledged, for at most `within`; Err(the last outcome).
    async fn save_until_acked(&mut self, within: Duration) -> Result<(), Outcome> {
        let since = Instant::now();
        loop {
            let outcome = self.save().await;
            if outcome.is_acked() {
                return Ok(());
            }
            if since.elapsed() > within {
                return Err(outcome);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Reads the draft's id and version back, after a CONFLICT.
    async fn reread(&mut self) {
        let answer = bounded(
            &format!("{self}: reading the draft back"),
            self.http.graphql(
                Some(&self.token),
                "query($t: ID!, $p: String!) { submissions(filter: { task: { id: { equalTo: $t } }, period: { code: { equalTo: $p } } }) { edges { node { id version } } } }",
                json!({ "t": self.task, "p": PERIOD }),
            ),
        )
        .await;
        if let Ok(answer) = answer
            && let Some(node) = answer.body["data"]["submissions"]["edges"][0]["node"].as_object()
        {
            self.id = node["id"].as_str().map(str::to_owned);
            self.version = node["version"].as_i64().unwrap_or(self.version);
        }
    }
}

/// Writers for `(username, how many tasks)`: each on its own task that the user's agency
/// leads, so that no two writers contend for one draft.
async fn writers(http: &Http, who: &[(&str, usize)], failures: Failures) -> Vec<Writer> {
    let mut writers = Vec::new();
    for (username, count) in who {
        let token = http.login(username).await;
        let agency = http
            .graphql(Some(&token), "{ me { agency { code } } }", json!({}))
            .await
            .expect("me");
        let agency = agency.body["data"]["me"]["agency"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("agency of {username}: {}", agency.body))
            .to_owned();
        let tasks = http
            .graphql(
                Some(&token),
                "query($a: String) { tasks(first: 100, filter: { leadAgencies: { some: { code: { equalTo: $a } } } }) { edges { node { id } } } }",
                json!({ "a": agency }),
            )
            .await
            .expect("tasks");
        let tasks: Vec<String> = tasks.body["data"]["tasks"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("tasks: {}", tasks.body))
            .iter()
            .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
            .collect();
        assert!(
            tasks.len() >= *count,
            "{agency} leads {} tasks, {count} wanted",
            tasks.len()
        );
        for task in tasks.into_iter().take(*count) {
            writers.push(Writer {
                http: *http,
                token: token.clone(),
                username: (*username).to_owned(),
                task,
                failures,
                id: None,
                version: 0,
                acks: Vec::new(),
                uncertain: 0,
                attempts: 0,
            });
        }
    }
    writers
}

/// Every writer saves once, all at the same time.
async fn save_all(writers: &mut [Writer]) -> Vec<(String, Outcome)> {
    let outcomes = join_all(writers.iter_mut().map(|w| w.save())).await;
    writers
        .iter()
        .map(ToString::to_string)
        .zip(outcomes)
        .collect()
}

/// What the database holds, read directly: every acknowledged version of every
/// submission is there (exactly the last acknowledged one, unless saves failed after it
/// without knowing whether they were written), and every submission has one audit row
/// per version, the latest saying the row's version.
async fn check_ledger(db: &DatabaseConnection, writers: &[Writer]) -> Ledger {
    let stored: BTreeMap<i64, i64> = submission::Entity::find()
        .all(db)
        .await
        .expect("read submissions")
        .into_iter()
        .map(|s| (s.id, i64::from(s.version)))
        .collect();
    let mut lost = Vec::new();
    let mut ledger = Ledger::default();
    for writer in writers {
        for (id, version) in &writer.acks {
            match stored.get(id) {
                None => lost.push(format!(
                    "{writer}: submission {id} (acknowledged at v{version}) is not stored"
                )),
                Some(stored) if stored < version => lost.push(format!(
                    "{writer}: submission {id} acknowledged at v{version}, stored at v{stored}"
                )),
                Some(_) => {}
            }
        }
        if let Some((id, last)) = writer.acks.last()
            && let Some(stored) = stored.get(id)
        {
            if *stored > last + writer.uncertain {
                lost.push(format!(
                    "{writer}: submission {id} stored at v{stored}, but the last acknowledged \
                     save was v{last} and {} failed saves followed it",
                    writer.uncertain
                ));
            }
            ledger.unacknowledged += stored - last;
        }
        ledger.acknowledged += writer.acks.len();
    }
    assert!(
        lost.is_empty(),
        "acknowledged saves are not in the database as acknowledged:\n{}",
        lost.join("\n")
    );
    assert!(!stored.is_empty(), "no submission stored at all");

    for (id, version) in &stored {
        let audit = audit_log::Entity::find()
            .filter(audit_log::Column::Entity.eq("submission"))
            .filter(audit_log::Column::EntityId.eq(*id))
            .order_by_asc(audit_log::Column::Id)
            .all(db)
            .await
            .expect("read audit rows");
        assert_eq!(
            audit.len() as i64,
            *version,
            "submission {id} at v{version} has {} audit rows",
            audit.len()
        );
        let latest = audit
            .last()
            .and_then(|row| row.after.as_ref())
            .and_then(|after| after["version"].as_i64());
        assert_eq!(
            latest,
            Some(*version),
            "submission {id} at v{version}: its latest audit row says otherwise"
        );
    }
    ledger
}

/// What `check_ledger` counted.
#[derive(Debug, Default)]
struct Ledger {
    /// Saves acknowledged.
    acknowledged: usize,
    /// Saves stored beyond the last acknowledged one (failed without knowing).
    unacknowledged: i64,
}

/// The row id of a submission's global id.
pub fn row_id(global_id: &str) -> i64 {
    let text = URL_SAFE_NO_PAD
        .decode(global_id)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| panic!("not a global id: {global_id}"));
    let (kind, id) = text.split_once(':').expect("TYPE:ID");
    assert_eq!(kind, "Submission", "{text}");
    id.parse().expect("a row id")
}

/// A task's global id as `Task:N`, for messages.
fn task_label(global_id: &str) -> String {
    URL_SAFE_NO_PAD
        .decode(global_id)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| global_id.to_owned())
}

// ---------------------------------------------------------------------------------------
// A small HTTP/1.1 client: one request per connection, over real TCP.

#[derive(Clone, Copy)]
pub struct Http {
    pub addr: SocketAddr,
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
}

impl Http {
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> io::Result<Answer> {
        let body = json!({ "query": query, "variables": variables });
        self.request("POST", "/graphql", Some(&body), token).await
    }

    pub async fn login(&self, username: &str) -> String {
        let answer = self
            .graphql(
                None,
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": support::PASSWORD }),
            )
            .await
            .expect("sign in");
        answer.body["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign in as {username}: {}", answer.body))
            .to_owned()
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> io::Result<Answer> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        parse_response(&raw)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Status and JSON body of a whole HTTP/1.1 response (plain or chunked).
fn parse_response(raw: &[u8]) -> io::Result<Answer> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no complete response head"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no status"))?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let mut payload = raw[end + 4..].to_vec();
    if chunked {
        payload = dechunk(&payload)?;
    }
    let body = serde_json::from_slice(&payload)
        .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&payload) }));
    Ok(Answer { status, body })
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("truncated chunk size"))?;
        let size = std::str::from_utf8(&data[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or_else(|| invalid("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(invalid("truncated chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `fut`, or a failure of the test when it takes longer than `HANG`.
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {HANG:?}: a hang"))
}

async fn get(http: &Http, path: &str) -> Answer {
    bounded(
        &format!("GET {path}"),
        http.request("GET", path, None, None),
    )
    .await
    .unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

/// Asks `path` until it answers `status`, for at most `within`; Err(the last answer).
async fn wait_for_status(
    http: &Http,
    path: &str,
    status: u16,
    within: Duration,
) -> Result<(), String> {
    let since = Instant::now();
    loop {
        let answer = get(http, path).await;
        if answer.status == status {
            return Ok(());
        }
        if since.elapsed() > within {
            return Err(format!("{} {}", answer.status, answer.body));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
