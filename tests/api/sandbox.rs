//! Tests that may take their process down run in a child process of this test binary,
//! watched from outside. A stack overflow aborts the whole process, work that never
//! yields defeats any in-process timeout, and a runaway answer can exhaust the machine's
//! memory: run in the test's own process, any of these would kill or hang every other
//! test. In a child, it fails that one test, saying what the child was doing.
use std::{
    fs,
    future::Future,
    io::Write,
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{TestApp, postgres};

/// Set in the child: the name of the test it is to run.
const CHILD: &str = "PLANTRACK_TEST_CHILD";
/// Set in the child: the file where it says what it is doing (see `doing`).
const DOING: &str = "PLANTRACK_TEST_DOING";

/// When the parent gives up on its child.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    /// Wall-clock time for the whole test, setup included.
    pub seconds: u64,
    /// Resident memory of the child.
    pub megabytes: u64,
}

impl Watch {
    /// For one attack: generous, so that only a stall or a runaway trips it.
    pub const ATTACK: Watch = Watch {
        seconds: 120,
        megabytes: 2_048,
    };
}

/// Runs `body` in a child process of this test binary, or, in that child, right here.
/// `name` is the test's path as `module_path!()` gives it, ending in the test's name.
pub fn run(name: &str, watch: Watch, body: impl FnOnce()) {
    run_with(name, watch, &[], body)
}

/// Runs `test` on a fresh database of `backend` ("sqlite" or "postgres") in a child process.
/// Without a PostgreSQL, a postgres test says so and passes, like `on_both_databases!`.
pub fn run_on<F, Fut>(backend: &str, name: &str, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let in_child = is_child(name);
    let mut env = Vec::new();
    if backend == "postgres" && !in_child {
        // The child uses this process's cluster and template rather than making its own.
        let cluster = runtime().block_on(postgres::ready_cluster());
        let Some(cluster) = cluster else { return };
        env.push((postgres::SHARED_CLUSTER, cluster));
    }
    run_with(name, Watch::ATTACK, &env, || {
        runtime().block_on(async {
            let app = match backend {
                "sqlite" => TestApp::sqlite().await,
                "postgres" => TestApp::postgres()
                    .await
                    .expect("the parent's PostgreSQL cluster"),
                other => panic!("unknown backend {other}"),
            };
            test(app).await
        })
    })
}

/// In the child: says what it is doing now, for the parent to show if the child dies.
pub fn doing(what: &str) {
    if let Ok(path) = std::env::var(DOING) {
        let _ = fs::write(path, what);
    }
}

/// A runtime like the server's: multi-threaded, two workers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The test's name as the test harness knows it: without the crate's name.
fn test_name(name: &str) -> &str {
    name.split_once("::").map_or(name, |(_, rest)| rest)
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(test_name(name))
}

fn run_with(name: &str, watch: Watch, env: &[(&str, String)], body: impl FnOnce()) {
    if is_child(name) {
        body();
        return;
    }
    let name = test_name(name);
    let dir = tempfile::tempdir().expect("temp dir");
    let doing_file = dir.path().join("doing");
    let output_file = dir.path().join("output");
    let output = fs::File::create(&output_file).expect("output file");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .env(DOING, &doing_file)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("output file"))
        .stderr(output)
        .spawn()
        .expect("start the child test process");
    let started = Instant::now();
    let mut peak_mb = 0;
    let failure = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            let output = read_lossy(&output_file);
            if status.success() && output.contains("1 passed") {
                // What the child said for the record (it ran with --nocapture).
                for note in output.lines().filter(|l| l.starts_with("NOTE:")) {
                    let _ = writeln!(std::io::stderr(), "{note}");
                }
                return;
            }
            break match status.signal() {
                Some(signal) => format!(
                    "the process died of signal {signal}{}",
                    if signal == 6 {
                        " (SIGABRT: a stack overflow aborts so)"
                    } else {
                        ""
                    }
                ),
                None => format!("the test failed ({status})"),
            };
        }
        peak_mb = peak_mb.max(resident_mb(child.id()));
        let over = if started.elapsed() > Duration::from_secs(watch.seconds) {
            Some(format!(
                "stalled: still running after {} s (peak {peak_mb} MB resident)",
                watch.seconds
            ))
        } else if peak_mb > watch.megabytes {
            Some(format!(
                "memory ran away: {peak_mb} MB resident after {:.1} s (limit {} MB)",
                started.elapsed().as_secs_f64(),
                watch.megabytes
            ))
        } else {
            None
        };
        if let Some(why) = over {
            let _ = child.kill();
            let _ = child.wait();
            break why;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = read_lossy(&output_file);
    let doing = read_lossy(&doing_file);
    // What it was doing may be long (a fuzz case): keep it whole, show its start.
    let kept = dir.keep().join("doing");
    panic!(
        "{name}: {failure}\n--- it was doing ({} bytes, kept in {}):\n{}\n--- its output (the end):\n{}",
        doing.len(),
        kept.display(),
        head(&doing, 2_000),
        tail(&output, 6_000)
    );
}

/// VmRSS of a process, in MB (0 once it has gone).
pub fn resident_mb(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// At most the first `max` bytes of `text` (at a character boundary).
pub fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// At most the last `max` bytes of `text` (at a character boundary).
pub fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Declares each `async fn NAME(app: TestApp)` as tests `NAME::sqlite` (and
/// `NAME::postgres`), each run in a child process (see `sandbox`).
#[macro_export]
macro_rules! in_child_processes {
    ($($name:ident on [$($backend:ident),+]),+ $(,)?) => {
        $(
            mod $name {
                $(
                    #[test]
                    fn $backend() {
                        $crate::sandbox::run_on(
                            stringify!($backend),
                            concat!(module_path!(), "::", stringify!($backend)),
                            super::$name,
                        )
                    }
                )+
            }
        )+
    };
}
