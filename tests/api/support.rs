//! Test support: a fresh database per test (SQLite file, or a PostgreSQL database made
//! from a migrated and seeded template), the real router, requests in-process.
use std::{
    io::Write,
    net::{SocketAddr, TcpListener},
    num::NonZeroU32,
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
    extract::ConnectInfo,
    http::{HeaderMap, Request, StatusCode},
};
use http_body_util::BodyExt;
use plantrack::{
    config::{LoginLimits, ServerConfig},
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
    /// PostgreSQL only: the URL of the role that owns the tables (migrations, seed).
    pub owner_url: Option<String>,
    config: ServerConfig,
    statements: Arc<AtomicUsize>,
    /// Scoped transactions opened on PostgreSQL (their settings statements).
    scoped_transactions: Arc<AtomicUsize>,
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

    /// `GET path` as this caller: the status and the whole body.
    pub async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let mut request = Request::get(path);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.app.request(request.body(Body::empty()).unwrap()).await
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

/// The configuration of ordinary tests: the default, but sign-in limits that no test
/// reaches by signing in often (in-process requests all share one client address).
pub fn test_config() -> ServerConfig {
    let plenty = NonZeroU32::new(100_000).unwrap();
    let mut config = ServerConfig::default();
    config.limits.login = LoginLimits {
        user_burst: plenty,
        address_burst: plenty,
        ..LoginLimits::default()
    };
    config
}

/// A copy of the migrated and seeded SQLite database (with the test users) in `dir`.
pub async fn sqlite_copy_in(dir: &Path) -> PathBuf {
    let (_, template) = SQLITE_TEMPLATE.get_or_init(sqlite_template).await;
    let path = dir.join("test.db");
    std::fs::copy(template, &path).expect("copy template");
    path
}

async fn sqlite_template() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("template.db");
    let conn = db::connect(&sqlite_url(&path), 1).await.expect("sqlite");
    prepare(&conn).await;
    conn.close().await.expect("close template");
    (dir, path)
}

/// A fresh PostgreSQL database: (the serving role's URL, the owner's URL).
pub async fn postgres_database() -> Option<(String, String)> {
    postgres::fresh_database().await
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(test_config()).await
    }

    /// An app on a copy of the seeded SQLite database placed in `dir`.
    pub async fn sqlite_in(dir: &Path) -> Self {
        let path = sqlite_copy_in(dir).await;
        Self::start(&sqlite_url(&path), test_config(), "sqlite", None).await
    }

    /// An app on the database at `url` (SQLite or PostgreSQL, by its scheme), which must
    /// be migrated and seeded already. On PostgreSQL set `owner_url` for `owner_db`.
    pub async fn at(url: &str) -> Self {
        let backend = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        Self::start(url, test_config(), backend, None).await
    }

    pub async fn sqlite_with(config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = sqlite_url(&sqlite_copy_in(dir.path()).await);
        Self::start(&url, config, "sqlite", Some(dir)).await
    }

    /// None (after saying so once) where no PostgreSQL can be had; a failure instead when
    /// PLANTRACK_REQUIRE_PG=1.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(test_config()).await
    }

    /// The app connects as `plantrack_server`, a login role that owns nothing (as in
    /// production); the database was migrated and seeded by its owner.
    pub async fn postgres_with(config: ServerConfig) -> Option<Self> {
        let (url, owner_url) = postgres::fresh_database().await?;
        let mut app = Self::start(&url, config, "postgres", None).await;
        app.owner_url = Some(owner_url);
        Some(app)
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
        let scoped_transactions = Arc::new(AtomicUsize::new(0));
        let scoped = scoped_transactions.clone();
        conn.set_metric_callback(move |info| {
            if std::env::var("PLANTRACK_TRACE_SQL").is_ok() {
                say(&info.statement.sql);
            }
            counter.fetch_add(1, Ordering::SeqCst);
            if info.statement.sql.contains("set_config('app.agency_id'") {
                scoped.fetch_add(1, Ordering::SeqCst);
            }
        });
        let events = EventBus::for_database(&conn, url).await.expect("event bus");
        let app = http::App::new(conn.clone(), events, config.clone());
        Self {
            router: http::router(app),
            db: conn,
            backend,
            url: url.to_owned(),
            owner_url: None,
            config,
            statements,
            scoped_transactions,
            default_token: OnceCell::new(),
            _dir: dir,
        }
    }

    /// A connection as the tables' owner, which row-level security does not bind (for
    /// checking what the database holds); on SQLite the app's own.
    pub async fn owner_db(&self) -> DatabaseConnection {
        match &self.owner_url {
            Some(url) => db::connect(url, 1).await.expect("connect as owner"),
            None => self.db.clone(),
        }
    }

    /// The URL of the tables' owner (see `owner_db`), for the command line.
    pub fn owner_url(&self) -> &str {
        self.owner_url.as_deref().unwrap_or(&self.url)
    }

    /// A second database of this app's kind, migrated and holding nothing else (no plan,
    /// no user): the serving role's URL and the owner's. A SQLite one is a file in `dir`.
    pub async fn empty_database(&self, dir: &Path) -> (String, String) {
        if self.backend == "sqlite" {
            let url = sqlite_url(&dir.join("empty.db"));
            let conn = db::connect(&url, 1).await.expect("sqlite");
            db::migrate(&conn).await.expect("migrate");
            conn.close().await.expect("close");
            return (url.clone(), url);
        }
        let admin_url = match std::env::var(postgres::SHARED_CLUSTER) {
            Ok(url) => url,
            Err(_) => postgres::ready_cluster().await.expect("the test cluster"),
        };
        postgres::empty_database(&admin_url).await
    }

    /// Serves this app on a loopback port, until the test ends, as `plantrack serve` does.
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

    /// Scoped transactions opened so far on PostgreSQL (none are counted on SQLite, which
    /// has no settings to make).
    pub fn scoped_transaction_count(&self) -> usize {
        self.scoped_transactions.load(Ordering::SeqCst)
    }

    pub async fn request(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let (status, _, body) = self.response(request).await;
        (status, body)
    }

    /// An in-process request's status, headers and whole body.
    pub async fn response(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, body)
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
        self.send_from(None, path, body, token).await
    }

    /// `send`, as if from the client address `from` (as a served router would see it).
    pub async fn send_from(
        &self,
        from: Option<SocketAddr>,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Reply {
        let body = body.to_string();
        let mut request = Request::post(path)
            .header("content-type", "application/json")
            .header("content-length", body.len());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(from) = from {
            request = request.extension(ConnectInfo(from));
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
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.expect("serve") });
    addr
}

pub fn sqlite_url(path: &Path) -> String {
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
    add_test_users(conn).await;
}

/// Adds the test users to a database that holds their agencies.
pub async fn add_test_users(conn: &DatabaseConnection) {
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
pub fn say(message: &str) {
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

    /// A new database, copied from the seeded template: the serving role's URL and the
    /// owner's.
    pub async fn fresh_database() -> Option<(String, String)> {
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
        let owner_url = with_database(&admin_url, &name);
        Some((with_user(&owner_url, SERVER_ROLE), owner_url))
    }

    /// The login role the app serves as in tests.
    const SERVER_ROLE: &str = "plantrack_server";

    /// `url` with its user replaced (and no password: the test cluster trusts loopback).
    fn with_user(url: &str, user: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let host = rest.split_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{user}@{host}")
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
                prepared_database(&admin_url, TEMPLATE_DB).await;
            })
            .await;
        Some(admin_url)
    }

    /// Makes database `name` on the cluster of `admin_url` anew: migrated and seeded by
    /// its owner, with the serving role allowed to act as the app role. Returns (the
    /// serving role's URL, the owner's URL).
    pub async fn prepared_database(admin_url: &str, name: &str) -> (String, String) {
        let admin = db::connect(admin_url, 1)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .expect("drop the database");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the database");
        admin.close().await.expect("close");
        let owner_url = with_database(admin_url, name);
        let owner = db::connect(&owner_url, 1).await.expect("connect as owner");
        prepare(&owner).await;
        serve_as_app_role(&owner).await;
        owner.close().await.expect("close");
        (with_user(&owner_url, SERVER_ROLE), owner_url)
    }

    /// A new database, migrated and holding nothing else: the serving role's URL and the
    /// owner's.
    pub async fn empty_database(admin_url: &str) -> (String, String) {
        let name = format!(
            "plantrack_empty_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let admin = db::connect(admin_url, 1)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the database");
        admin.close().await.expect("close");
        let owner_url = with_database(admin_url, &name);
        let owner = db::connect(&owner_url, 1).await.expect("connect as owner");
        db::migrate(&owner).await.expect("migrate");
        serve_as_app_role(&owner).await;
        owner.close().await.expect("close");
        (with_user(&owner_url, SERVER_ROLE), owner_url)
    }

    /// Lets the serving role (may log in, owns nothing) act as the app role.
    async fn serve_as_app_role(owner: &DatabaseConnection) {
        owner
            .execute_unprepared(&format!(
                "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SERVER_ROLE}') \
                   THEN CREATE ROLE {SERVER_ROLE} LOGIN; END IF; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .await
            .expect("create the serving role");
        plantrack::db::grant_app_role(owner, SERVER_ROLE)
            .await
            .expect("grant the app role");
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
        let cluster = Cluster::start()?;
        let url = cluster.admin_url();
        // Shared by every test of this process: its watchdog removes it once the process
        // has gone.
        std::mem::forget(cluster);
        Some(url)
    }

    /// A throwaway PostgreSQL cluster on a free loopback port, run as the `postgres` user
    /// when root (initdb refuses root). It can be stopped and started again on the same
    /// port; dropping it stops it and removes its files, and a watchdog does the same
    /// should the test process die first.
    pub struct Cluster {
        bin: PathBuf,
        dir: PathBuf,
        port: u16,
        as_root: bool,
    }

    impl Cluster {
        /// None (after saying why) where no cluster can be made here.
        pub fn start() -> Option<Self> {
            let bin = find_bin_dir()?;
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "plantrack-pg-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).ok()?;
            let as_root = is_root();
            if as_root {
                run(Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir))?;
            }
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let cluster = Self {
                bin,
                dir,
                port,
                as_root,
            };
            run(&mut cluster.sh(format!(
                "{bin}/initdb -D {data} --auth=trust -U postgres -E UTF8 --locale=C --no-sync",
                bin = cluster.bin.display(),
                data = cluster.data().display()
            )))?;
            // Stop the cluster and remove it once this test process has gone.
            let watchdog = format!(
                "while [ -d /proc/{pid} ]; do sleep 1; done; {bin}/pg_ctl -D {data} -m immediate stop; rm -rf {dir}",
                pid = std::process::id(),
                bin = cluster.bin.display(),
                data = cluster.data().display(),
                dir = cluster.dir.display()
            );
            cluster
                .sh(watchdog)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            cluster.start_again().then_some(cluster)
        }

        /// The superuser's URL (the cluster trusts loopback).
        pub fn admin_url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
        }

        /// `pg_ctl start` on the cluster's port, waiting until it accepts connections.
        pub fn start_again(&self) -> bool {
            run(&mut self.sh(format!(
                "{bin}/pg_ctl -D {data} -l {dir}/log -w -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400\" start",
                bin = self.bin.display(),
                data = self.data().display(),
                dir = self.dir.display(),
                port = self.port
            )))
            .is_some()
        }

        /// `pg_ctl stop -m fast`: open sessions are ended, and it waits until the server
        /// has gone.
        pub fn stop(&self) -> bool {
            run(&mut self.sh(format!(
                "{bin}/pg_ctl -D {data} -m fast -w stop",
                bin = self.bin.display(),
                data = self.data().display()
            )))
            .is_some()
        }

        fn data(&self) -> PathBuf {
            self.dir.join("data")
        }

        /// A shell command, as the `postgres` user when root.
        fn sh(&self, script: String) -> Command {
            let mut cmd = if self.as_root {
                let mut su = Command::new("su");
                su.args(["postgres", "-s", "/bin/sh"]);
                su
            } else {
                Command::new("/bin/sh")
            };
            cmd.args(["-c", &script]);
            cmd
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let status = self
                .sh(format!(
                    "{bin}/pg_ctl -D {data} -m immediate stop",
                    bin = self.bin.display(),
                    data = self.data().display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            drop(status);
            let _ = std::fs::remove_dir_all(&self.dir);
        }
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
