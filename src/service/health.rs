//! Whether the database can serve: liveness reads, readiness also writes.
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::{ServiceError, ServiceResult};

/// How long a readiness probe may take before it counts as a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads and commits one write (the heartbeat row), within a short time. A full disk, a
/// write lock held by a stuck transaction, or an unreachable server all fail it.
pub async fn ready(db: &DatabaseConnection) -> ServiceResult<()> {
    tokio::time::timeout(PROBE_TIMEOUT, probe(db))
        .await
        .map_err(|_| ServiceError::Unavailable("the readiness probe timed out".into()))?
}

async fn probe(db: &DatabaseConnection) -> ServiceResult<()> {
    db.ping().await?;
    let backend = db.get_database_backend();
    let txn = crate::db::begin_write(db).await?;
    let sql = match backend {
        DbBackend::Postgres => "UPDATE service_heartbeat SET at = $1 WHERE id = 1",
        _ => "UPDATE service_heartbeat SET at = ? WHERE id = 1",
    };
    let result = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Utc::now().into()],
        ))
        .await?;
    if result.rows_affected() != 1 {
        return Err(ServiceError::Internal(
            "the heartbeat row is missing".into(),
        ));
    }
    txn.commit().await?;
    Ok(())
}
