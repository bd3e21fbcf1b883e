//! Command line and environment configuration.
use std::{
    net::SocketAddr,
    num::{NonZeroU32, NonZeroU64},
    path::PathBuf,
    time::Duration,
};

use axum::http::HeaderValue;
use clap::{Args, Parser, Subcommand};

use crate::{db::PoolSettings, graphql::guard::DocumentLimits, service::domain::Role};

#[derive(Debug, Parser)]
#[command(
    name = "plantrack",
    version,
    about = "GraphQL service that tracks how a provincial plan is carried out"
)]
pub struct Cli {
    /// Database to use: `sqlite://FILE?mode=rwc` (embedded default) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://plantrack.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Database to migrate and seed with: a role that owns the schema. Defaults to
    /// `--database-url`. On PostgreSQL, serve with a `--database-url` role that owns
    /// nothing, so that row-level security binds every statement it runs.
    #[arg(long, env = "PLANTRACK_MIGRATION_DATABASE_URL", global = true)]
    pub migration_database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "PLANTRACK_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,

    /// Seconds a request waits for a pooled connection before SERVICE_UNAVAILABLE.
    #[arg(
        long,
        env = "PLANTRACK_DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 3,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,

    /// Seconds one SQL statement may run (PostgreSQL `statement_timeout`; on SQLite, the
    /// longest wait for the write lock).
    #[arg(
        long,
        env = "PLANTRACK_DB_STATEMENT_TIMEOUT_SECS",
        default_value_t = 15,
        global = true
    )]
    pub db_statement_timeout_secs: u64,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "PLANTRACK_LOG_JSON", global = true)]
    pub log_json: bool,

    /// Base URL of an OpenTelemetry collector's OTLP/HTTP receiver, e.g.
    /// `http://127.0.0.1:4318`: spans are sent to `<URL>/v1/traces`. None by default.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    #[command(flatten)]
    pub server: ServerConfig,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The pool the server and the commands use.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs),
            statement_timeout: Duration::from_secs(self.db_statement_timeout_secs),
        }
    }

    /// The database migrations and the seed run against.
    pub fn migration_url(&self) -> &str {
        self.migration_database_url
            .as_deref()
            .unwrap_or(&self.database_url)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, load the built-in plan into an empty database, and serve (the default).
    Serve,
    /// Bring the database schema up to date.
    Migrate,
    /// Load the built-in plan (768/QĐ-UBND); loading twice changes nothing.
    Seed,
    /// Load a plan from a file: in the TOML format of the built-in one
    /// (`seed/plan-768.toml`), or a spreadsheet (`.xlsx`, `.csv`) with the appendix's
    /// columns (Mục, STT, Nội dung, Cơ quan chủ trì, Cơ quan phối hợp, Sản phẩm, Thời
    /// gian), whose agency names are matched to codes. One transaction; an unmatched or
    /// ambiguous name stops it before anything is written; a plan whose code is present
    /// is left whole as it is.
    ImportPlan {
        /// The plan file (`.toml`, `.xlsx` or `.csv`).
        file: PathBuf,
        /// For a spreadsheet without the sheet «Kế hoạch» (a CSV file): a TOML plan file
        /// without sections that gives the plan, its agencies, groups and phases.
        #[arg(long)]
        head: Option<PathBuf>,
        /// Work out and print what the load would do, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a plan as it stands today to an XLSX workbook that `import-plan` reads back:
    /// the appendix, the plan, its agencies, groups and phases.
    ExportPlan {
        /// The plan's code, e.g. `768/QĐ-UBND`.
        #[arg(long)]
        plan: String,
        /// The workbook to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Record a reorganization from a TOML file: new agencies, and agencies that end
    /// with their work passing to successors (e.g. `seed/reorganization-2025.toml`).
    /// One transaction; loading the same file twice changes nothing.
    RecordSuccession {
        /// The reorganization file.
        file: PathBuf,
    },
    /// Import communes from a CSV file (header: code,name,kind,former_district,source)
    /// and hand each former district's work to the communes formed from it.
    ImportCommunes {
        /// The communes file.
        file: PathBuf,
        /// The communes' first day; their former districts end the day before.
        #[arg(long)]
        from: chrono::NaiveDate,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Write the GraphQL SDL the server serves.
    ExportSchema {
        /// Where to write it; `-` for standard output.
        #[arg(long, default_value = "schema.graphql")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from PLANTRACK_PASSWORD or, failing that, from
    /// the first line of standard input: never from the command line.
    Add {
        #[arg(long)]
        username: String,
        /// Code of the user's agency, e.g. `ubnd-tay-son`.
        #[arg(long)]
        agency: String,
        /// VIEWER, EDITOR, COORDINATOR, ANALYST or ADMIN.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
    },
}

/// A role as the API spells it (upper case): `editor` is refused, not guessed at.
fn parse_role(text: &str) -> Result<Role, String> {
    text.parse().map_err(|_| {
        format!(
            "unknown role `{text}`; one of {}",
            Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(
        long,
        env = "PLANTRACK_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Web origins whose pages may call the API from a browser (CORS), comma-separated,
    /// each `scheme://host[:port]` (e.g. `https://dashboard.example.gov.vn`). None by
    /// default: only pages served by plantrack itself (GraphiQL) and non-browser clients.
    #[arg(
        long,
        env = "PLANTRACK_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin,
        global = true
    )]
    pub cors_origins: Vec<HeaderValue>,

    /// Seconds the server waits, once asked to stop (SIGTERM, Ctrl-C), for requests in
    /// flight to finish before it exits anyway. Subscriptions are closed at once (1001).
    #[arg(
        long,
        env = "PLANTRACK_SHUTDOWN_GRACE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_secs: u64,

    #[command(flatten)]
    pub limits: Limits,
}

/// A web origin as browsers send it: `scheme://host[:port]`, nothing after.
fn parse_origin(text: &str) -> Result<HeaderValue, String> {
    let text = text.trim();
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("`{text}` is not an origin such as https://example.gov.vn"))?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return Err(format!(
            "`{text}` is not an origin: http or https, a host, an optional port, no path"
        ));
    }
    HeaderValue::from_str(text).map_err(|_| format!("`{text}` is not a valid origin"))
}

/// Limits that protect the service from expensive or oversized requests.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest allowed query nesting.
    #[arg(long, env = "PLANTRACK_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    /// Highest allowed query cost: each field counts 1, and a list or connection
    /// multiplies what it selects by its page size (`first`, or the list's bound).
    #[arg(
        long,
        env = "PLANTRACK_MAX_COMPLEXITY",
        default_value_t = 200_000,
        global = true
    )]
    pub max_complexity: usize,
    /// Longest accepted GraphQL document, in bytes (variables not included).
    #[arg(
        long,
        env = "PLANTRACK_MAX_DOCUMENT_BYTES",
        default_value_t = 65_536,
        global = true
    )]
    pub max_document_bytes: usize,
    /// Most tokens (names, punctuation, values) in one document.
    #[arg(
        long,
        env = "PLANTRACK_MAX_DOCUMENT_TOKENS",
        default_value_t = 10_000,
        global = true
    )]
    pub max_document_tokens: usize,
    /// Deepest nesting of brackets and braces in one document, checked before parsing.
    #[arg(
        long,
        env = "PLANTRACK_MAX_DOCUMENT_NESTING",
        default_value_t = 64,
        global = true
    )]
    pub max_document_nesting: usize,
    /// Most fields one document may select once its fragments are expanded.
    #[arg(
        long,
        env = "PLANTRACK_MAX_EXPANDED_FIELDS",
        default_value_t = 5_000,
        global = true
    )]
    pub max_expanded_fields: usize,
    /// Largest response body, in bytes; a larger answer is replaced by an error.
    #[arg(
        long,
        env = "PLANTRACK_MAX_RESPONSE_BYTES",
        default_value_t = 4_194_304,
        global = true
    )]
    pub max_response_bytes: usize,
    /// Largest request body, in bytes.
    #[arg(
        long,
        env = "PLANTRACK_MAX_BODY_BYTES",
        default_value_t = 1_048_576,
        global = true
    )]
    pub max_body_bytes: usize,
    /// Most operations in one batched request.
    #[arg(long, env = "PLANTRACK_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,
    /// Seconds before a request is abandoned with 408.
    #[arg(
        long,
        env = "PLANTRACK_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,
    /// Seconds before an export (`POST /export`, every page of a connection) is abandoned
    /// with 408.
    #[arg(
        long,
        env = "PLANTRACK_EXPORT_TIMEOUT_SECS",
        default_value_t = 120,
        global = true
    )]
    pub export_timeout_secs: u64,
    /// Whether introspection queries are answered.
    #[arg(long, env = "PLANTRACK_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
    #[command(flatten)]
    pub login: LoginLimits,
}

/// How fast passwords may be tried: `login` (and `changePassword`) attempts, right or
/// wrong, are counted per username and per client address. Each quota allows a burst of
/// attempts, then one more per period; past it, attempts are refused with
/// TOO_MANY_REQUESTS before any password is checked.
#[derive(Debug, Clone, Args)]
pub struct LoginLimits {
    /// Sign-in attempts one username may make in a burst.
    #[arg(
        long = "login-user-burst",
        env = "PLANTRACK_LOGIN_USER_BURST",
        default_value_t = LoginLimits::DEFAULT.user_burst,
        global = true
    )]
    pub user_burst: NonZeroU32,
    /// Seconds after which one username may try once more.
    #[arg(
        long = "login-user-period-secs",
        env = "PLANTRACK_LOGIN_USER_PERIOD_SECS",
        default_value_t = LoginLimits::DEFAULT.user_period_secs,
        global = true
    )]
    pub user_period_secs: NonZeroU64,
    /// Sign-in attempts one client address may make in a burst.
    #[arg(
        long = "login-address-burst",
        env = "PLANTRACK_LOGIN_ADDRESS_BURST",
        default_value_t = LoginLimits::DEFAULT.address_burst,
        global = true
    )]
    pub address_burst: NonZeroU32,
    /// Seconds after which one client address may try once more.
    #[arg(
        long = "login-address-period-secs",
        env = "PLANTRACK_LOGIN_ADDRESS_PERIOD_SECS",
        default_value_t = LoginLimits::DEFAULT.address_period_secs,
        global = true
    )]
    pub address_period_secs: NonZeroU64,
}

impl LoginLimits {
    /// Per username 10 attempts, then one every 30 s; per address 30, then one every 2 s.
    pub const DEFAULT: Self = Self {
        user_burst: NonZeroU32::new(10).unwrap(),
        user_period_secs: NonZeroU64::new(30).unwrap(),
        address_burst: NonZeroU32::new(30).unwrap(),
        address_period_secs: NonZeroU64::new(2).unwrap(),
    };
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 200_000,
            max_document_bytes: 65_536,
            max_document_tokens: 10_000,
            max_document_nesting: 64,
            max_expanded_fields: 5_000,
            max_response_bytes: 4_194_304,
            max_body_bytes: 1_048_576,
            max_batch: 10,
            request_timeout_secs: 30,
            export_timeout_secs: 120,
            introspection: true,
            login: LoginLimits::default(),
        }
    }
}

impl Limits {
    /// The bounds on a raw document, applied before it is parsed and validated.
    pub fn document(&self) -> DocumentLimits {
        DocumentLimits {
            max_bytes: self.max_document_bytes,
            max_tokens: self.max_document_tokens,
            max_nesting: self.max_document_nesting,
            max_expanded_fields: self.max_expanded_fields,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("valid address"),
            cors_origins: Vec::new(),
            shutdown_grace_secs: 30,
            limits: Limits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert!(parse_origin("https://dashboard.example.gov.vn").is_ok());
        assert!(parse_origin(" http://127.0.0.1:5173 ").is_ok());
        for bad in [
            "dashboard.example.gov.vn",
            "https://x.gov.vn/app",
            "ftp://x",
            "https://",
            "*",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
