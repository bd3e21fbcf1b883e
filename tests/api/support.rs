//! Test support: a fresh database per test (SQLite file, or a PostgreSQL database made
//! from a migrated and seeded template), the real router, requests in-process.
use std::{
    io::Write,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use plantrack::{
    config::ServerConfig,
    db, http,
    service::{auth, domain::Role, events::EventBus, seed},
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub backend: &'static str,
    pub url: String,
    config: ServerConfig,
    statements: Arc<AtomicUsize>,
    /// Token of the default caller (the analyst), signed in on first use.
    default_token: OnceCell<String>,
    _dir: Option<tempfile::TempDir>,
}

/// A caller: anonymous, or signed in with a token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub token: Option<String>,
}

impl Client<'_> {
    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        self.app
            .send(
                "/graphql",
                &json!({ "query": query, "variables": variables }),
                self.token.as_deref(),
            )
            .await
    }
}

/// A response: its status and its JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `extensions.code` of the first error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// `data`, after checking there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }
}

static SQLITE_TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(ServerConfig::default()).await
    }

    pub async fn sqlite_with(config: ServerConfig) -> Self {
        let (_, template) = SQLITE_TEMPLATE
            .get_or_init(|| async {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("template.db");
                let conn = db::connect(&sqlite_url(&path), 1).await.expect("sqlite");
                prepare(&conn).await;
                conn.close().await.expect("close template");
                (dir, path)
            })
            .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        std::fs::copy(template, &path).expect("copy template");
        let url = sqlite_url(&path);
        Self::start(&url, config, "sqlite", Some(dir)).await
    }

    /// None (after saying so once) where no PostgreSQL can be had; a failure instead when
    /// PLANTRACK_REQUIRE_PG=1.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(ServerConfig::default()).await
    }

    pub async fn postgres_with(config: ServerConfig) -> Option<Self> {
        let url = postgres::fresh_database().await?;
        Some(Self::start(&url, config, "postgres", None).await)
    }

    async fn start(
        url: &str,
        config: ServerConfig,
        backend: &'static str,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let mut conn = db::connect(url, 5).await.expect("connect test database");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |info| {
            if std::env::var("PLANTRACK_TRACE_SQL").is_ok() {
                say(&info.statement.sql);
            }
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let events = EventBus::for_database(&conn, url).await.expect("event bus");
        let app = http::App::new(conn.clone(), events, config.clone());
        Self {
            router: http::router(app),
            db: conn,
            backend,
            url: url.to_owned(),
            config,
            statements,
            default_token: OnceCell::new(),
            _dir: dir,
        }
    }

    /// Serves this app on a loopback port, until the test ends.
    pub async fn serve(&self) -> SocketAddr {
        serve(self.router.clone()).await
    }

    /// Another server instance on the same database (its own pool and event listener).
    pub async fn second_instance(&self) -> SocketAddr {
        let conn = db::connect(&self.url, 5).await.expect("connect");
        let events = EventBus::for_database(&conn, &self.url)
            .await
            .expect("event bus");
        serve(http::router(http::App::new(
            conn,
            events,
            self.config.clone(),
        )))
        .await
    }

    /// SQL statements run so far through the app's connection.
    pub fn statement_count(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub async fn request(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body)
    }

    /// Signs in as a test user.
    pub async fn login(&self, username: &str) -> String {
        let reply = self
            .anonymous()
            .graphql(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": PASSWORD }),
            )
            .await;
        reply.data()["login"]["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    pub async fn client(&self, username: &str) -> Client<'_> {
        Client {
            app: self,
            token: Some(self.login(username).await),
        }
    }

    pub fn anonymous(&self) -> Client<'_> {
        Client {
            app: self,
            token: None,
        }
    }

    /// A GraphQL request as the default caller (the analyst).
    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        let token = self
            .default_token
            .get_or_init(|| self.login("analyst"))
            .await;
        self.send(
            "/graphql",
            &json!({ "query": query, "variables": variables }),
            Some(token),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let token = self
            .default_token
            .get_or_init(|| self.login("analyst"))
            .await;
        self.send(path, body, Some(token)).await
    }

    pub async fn send(&self, path: &str, body: &Value, token: Option<&str>) -> Reply {
        let body = body.to_string();
        let mut request = Request::post(path)
            .header("content-type", "application/json")
            .header("content-length", body.len());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body)).expect("request");
        let (status, bytes) = self.request(request).await;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }));
        Reply { status, body }
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The password of every test user.
pub const PASSWORD: &str = "test-password-1";

/// Test users: (username, agency, role).
pub const USERS: &[(&str, &str, Role)] = &[
    ("admin", "ubnd-tinh", Role::Admin),
    ("analyst", "ubnd-tinh", Role::Analyst),
    ("coordinator", "so-ldtbxh", Role::Coordinator),
    ("tayson", "ubnd-tay-son", Role::Editor),
    ("tayson-viewer", "ubnd-tay-son", Role::Viewer),
    ("anlao", "ubnd-an-lao", Role::Editor),
    ("tttt", "so-tttt", Role::Editor),
    ("nnptnt", "so-nnptnt", Role::Editor),
];

/// Migrates, loads the built-in plan and adds the test users.
async fn prepare(conn: &DatabaseConnection) {
    db::migrate(conn).await.expect("migrate");
    seed::load(conn, seed::PLAN_768).await.expect("seed");
    for (username, agency, role) in USERS {
        let new = auth::NewUser {
            username: (*username).into(),
            display_name: None,
            agency_code: (*agency).into(),
            role: *role,
            password: PASSWORD.into(),
        };
        auth::create_user(conn, None, new).await.expect("test user");
    }
}

/// Says something on the test binary's stderr even when output is captured.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

pub mod postgres {
    use super::*;

    static CLUSTER: OnceLock<Option<String>> = OnceLock::new();
    static TEMPLATE: OnceCell<()> = OnceCell::const_new();
    static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

    const TEMPLATE_DB: &str = "plantrack_template";

    /// Set for a child process of this test binary (see `sandbox`): the address of the
    /// parent's cluster, whose template database is ready.
    pub const SHARED_CLUSTER: &str = "PLANTRACK_TEST_SHARED_PG";

    /// A new database, copied from the seeded template.
    pub async fn fresh_database() -> Option<String> {
        let admin_url = match std::env::var(SHARED_CLUSTER) {
            Ok(url) => url,
            Err(_) => ready_cluster().await?,
        };
        let name = format!(
            "plantrack_test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let admin = db::connect(&admin_url, 1)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
            .await
            .expect("create test database");
        admin.close().await.expect("close");
        Some(with_database(&admin_url, &name))
    }

    /// The cluster's admin address, once its seeded template database is ready.
    pub async fn ready_cluster() -> Option<String> {
        let Some(admin_url) = CLUSTER.get_or_init(cluster).clone() else {
            if std::env::var("PLANTRACK_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("PostgreSQL is required (PLANTRACK_REQUIRE_PG=1) but none could be started");
            }
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                say("NOTE: PostgreSQL not found (no TEST_DATABASE_URL, no initdb): PostgreSQL tests are SKIPPED")
            });
            return None;
        };
        TEMPLATE
            .get_or_init(|| async {
                let admin = db::connect(&admin_url, 1)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
                    .await
                    .expect("drop template");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {TEMPLATE_DB}"))
                    .await
                    .expect("create template");
                admin.close().await.expect("close");
                let template = db::connect(&with_database(&admin_url, TEMPLATE_DB), 1)
                    .await
                    .expect("template");
                prepare(&template).await;
                template.close().await.expect("close template");
            })
            .await;
        Some(admin_url)
    }

    fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (url, String::new()),
        };
        let base = base
            .rsplit_once('/')
            .map(|(server, _)| server)
            .unwrap_or(base);
        format!("{base}/{name}{query}")
    }

    /// TEST_DATABASE_URL, or a throwaway cluster started here and removed when the test
    /// process exits.
    fn cluster() -> Option<String> {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return Some(url);
        }
        let bin = find_bin_dir()?;
        let dir = std::env::temp_dir().join(format!("plantrack-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        let as_root = is_root();
        if as_root {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir))?;
        }
        let data = dir.join("data");
        // initdb refuses to run as root: run the cluster as the `postgres` user then.
        let sh = |script: String| {
            let mut cmd = if as_root {
                Command::new("su")
            } else {
                Command::new("/bin/sh")
            };
            if as_root {
                cmd.args(["postgres", "-s", "/bin/sh"]);
            }
            cmd.args(["-c", &script]);
            cmd
        };
        let bin = bin.display();
        run(&mut sh(format!(
            "{bin}/initdb -D {} --auth=trust -U postgres -E UTF8 --locale=C --no-sync",
            data.display()
        )))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        run(&mut sh(format!(
            "{bin}/pg_ctl -D {data} -l {dir}/log -w -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400\" start",
            data = data.display(),
            dir = dir.display()
        )))?;
        // Stop the cluster and remove it once this test process has gone.
        let watchdog = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; {bin}/pg_ctl -D {data} -m immediate stop; rm -rf {dir}",
            pid = std::process::id(),
            data = data.display(),
            dir = dir.display()
        );
        sh(watchdog)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
    }

    fn run(cmd: &mut Command) -> Option<()> {
        let output = cmd.stdin(Stdio::null()).output().ok()?;
        if output.status.success() {
            Some(())
        } else {
            say(&format!(
                "PostgreSQL setup step failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
            None
        }
    }

    fn find_bin_dir() -> Option<PathBuf> {
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
        let debian = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"));
        on_path
            .chain(debian)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    }
}

/// Runs an `async fn(TestApp)` on SQLite and on PostgreSQL, as `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::TestApp::sqlite().await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::support::TestApp::postgres().await {
                        super::$name(app).await
                    }
                }
            }
        )+
    };
}
