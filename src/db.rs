//! Connecting to the database and bringing its schema up to date.
//!
//! Every pooled connection is checked when it goes back to the pool: one that is still
//! inside a transaction — because a request was cancelled halfway, or because SQLite
//! rolled a transaction back by itself on a full disk and the driver's bookkeeping no
//! longer matches — is closed instead of reused. Reusing it would run the next caller's
//! statements inside a transaction nobody commits: acknowledged writes that vanish, and
//! a write lock that jams every other writer.
//!
//! Transactions are opened only through [`begin`] (clippy refuses the driver's own), so
//! that the driver always knows of them: see there.
use std::time::Duration;

use futures_util::future::BoxFuture;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionOptions,
    sqlx::{self, Connection, pool::PoolConnectionMetadata},
};

use crate::service::tenancy::APP_ROLE;

/// How the connection pool behaves.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before SERVICE_UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout`; on SQLite the lock wait (`busy_timeout`).
    pub statement_timeout: Duration,
}

impl PoolSettings {
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            ..Self::default()
        }
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(15),
        }
    }
}

pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, &PoolSettings::new(max_connections)).await
}

pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        // The driver checks a connection as it is handed back (a round trip that also
        // flushes the rollback of a cancelled request). Checking it again as it is taken
        // would be a second round trip on every statement outside a transaction (six on
        // the nested plan's page); only a connection left idle long enough for the
        // server or the network to have dropped it is checked then.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // SQLite allows one writer at a time; waiting for the lock beats failing. Each
        // pooled connection keeps a page cache of its own (2 MB by default, full once a
        // count has scanned the file): 512 KB each, as the operating system caches the
        // file's pages for all of them (benchmark run 13: peak RSS 123 -> 102 MB, reads
        // no slower).
        let busy = settings.statement_timeout;
        options.map_sqlx_sqlite_opts(move |o| {
            o.busy_timeout(busy)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .pragma("cache_size", "-512")
        });
        options.map_sqlx_sqlite_pool_opts(|o| o.after_release(sqlite_connection_is_clean));
    } else {
        options.statement_timeout(settings.statement_timeout);
        options.map_sqlx_postgres_pool_opts(|o| o.after_release(postgres_connection_is_clean));
    }
    Database::connect(options).await
}

/// The file of a SQLite URL (`sqlite://FILE?…` or `sqlite:FILE`); none for PostgreSQL or
/// an in-memory database.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Whether a SQLite connection is outside any transaction, both by the driver's count and
/// by SQLite's own autocommit flag.
fn sqlite_connection_is_clean(
    conn: &mut sqlx::SqliteConnection,
    _: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            // A transaction dropped unfinished (a refused write returning early) queued
            // its ROLLBACK on the connection's worker thread, which may not have run it
            // yet: a ping goes through the same queue, after it.
            conn.ping().await?;
        }
        if conn.is_in_transaction() {
            tracing::warn!("closing a SQLite connection returned inside a transaction");
            return Ok(false);
        }
        let mut handle = conn.lock_handle().await?;
        // SAFETY: the handle is live and locked for the duration of this call.
        let autocommit =
            unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) };
        if autocommit == 0 {
            tracing::warn!("closing a SQLite connection whose transaction was left open");
            return Ok(false);
        }
        Ok(true)
    })
}

/// Whether a PostgreSQL connection is outside any transaction, by the driver's count:
/// with every `BEGIN` run to its answer (see [`begin`]), a transaction the server has
/// open is one the driver counted.
fn postgres_connection_is_clean(
    conn: &mut sqlx::PgConnection,
    _: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            tracing::warn!("closing a PostgreSQL connection returned inside a transaction");
            return Ok(false);
        }
        Ok(true)
    })
}

/// Opens a transaction that only reads. On SQLite it takes the write lock only if it
/// writes after all; a transaction that reads and then writes must open with
/// [`begin_write`], or it fails (SQLITE_BUSY, at once, whatever the busy timeout) whenever
/// another writer commits between its first read and its first write.
pub async fn begin_read(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    begin(db, TransactionOptions::default()).await
}

/// Opens a transaction that cancelling the caller cannot leave open on the server.
///
/// The driver counts a transaction once `BEGIN` has answered; a request cancelled while
/// its `BEGIN` was in flight would hand the connection back inside a transaction that
/// nothing knows of, and the next caller's writes would vanish in it. So `BEGIN` runs to
/// its answer in a task of its own; a transaction that nobody awaits any more drops
/// there, and dropping rolls it back before the connection is reused.
#[allow(clippy::disallowed_methods)]
async fn begin(
    db: &DatabaseConnection,
    options: TransactionOptions,
) -> Result<DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    let db = db.clone();
    tokio::spawn(async move { db.begin_with_options(options).await })
        .await
        .map_err(|e| DbErr::Custom(format!("opening a transaction failed: {e}")))?
}

/// A transaction that will write: on SQLite it takes the write lock up front, so that
/// concurrent writers wait their turn (the busy timeout) instead of failing to upgrade a
/// read lock (SQLITE_BUSY).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    begin(
        db,
        TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        },
    )
    .await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Makes `role` (the serving login role) a member of the application role, so that it
/// can read the catalog and act as that role in scoped transactions. Run by the owner.
pub async fn grant_app_role(owner: &DatabaseConnection, role: &str) -> Result<(), DbErr> {
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT format('GRANT %I TO %I', $1::text, $2::text) AS sql",
        [APP_ROLE.into(), role.into()],
    );
    let row = owner
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::Custom("format() returned nothing".into()))?;
    let sql: String = row.try_get("", "sql")?;
    owner.execute_unprepared(&sql).await?;
    Ok(())
}

/// The role a connection logs in as.
pub async fn current_role(db: &DatabaseConnection) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS role",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no current_user".into()))?;
    row.try_get("", "role")
}

/// Whether the role a connection logs in as escapes row-level security on the tenant
/// tables: a superuser, a BYPASSRLS role, or the tables' owner.
pub async fn bypasses_row_security(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (r.rolsuper OR r.rolbypassrls OR EXISTS ( \
                 SELECT 1 FROM pg_tables t WHERE t.tablename = 'submission' \
                 AND t.schemaname = current_schema() AND t.tableowner = current_user)) AS bypasses \
             FROM pg_roles r WHERE r.rolname = current_user",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no pg_roles row for current_user".into()))?;
    row.try_get("", "bypasses")
}
