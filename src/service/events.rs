//! Live submission events. On PostgreSQL they travel through LISTEN/NOTIFY, sent once the
//! writing transaction has committed and received by every server instance on the
//! database; on SQLite an in-process channel serves.
//!
//! The notification is not part of the transaction: PostgreSQL holds one database-wide
//! lock from a notifying transaction's commit until its commit record is on disk, so
//! notifying writers commit one at a time (13 saves/s at 8 writers in the benchmark). A
//! notification of its own has nothing to flush. Live events are a courtesy, never the
//! record: a crash between the commit and the notification loses one, the report stays.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{ServiceResult, domain::SubmissionStatus};

const CHANNEL: &str = "plantrack_submission_events";

/// Events a slow subscriber may fall behind by before it misses some.
const BUFFER: usize = 1024;

/// What happened to a submission.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubmissionEventKind {
    /// The agency saved the report for the first time (a new draft).
    Created,
    /// The agency saved changes to its draft or returned report.
    Updated,
    /// The agency sent the report to the coordinator.
    Submitted,
    /// The coordinator returned the report for changes.
    Returned,
    /// The coordinator accepted the report.
    Accepted,
}

/// One change, with what the tenancy rule needs to decide who may hear of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmissionEvent {
    pub kind: SubmissionEventKind,
    pub submission_id: i64,
    pub agency_id: i64,
    pub plan_id: i64,
    /// The status right after the change.
    pub status: String,
    pub at: DateTime<Utc>,
}

impl SubmissionEvent {
    pub fn status(&self) -> Option<SubmissionStatus> {
        self.status.parse().ok()
    }
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<SubmissionEvent>,
    /// The database notifications go through (PostgreSQL only).
    notify: Option<DatabaseConnection>,
}

impl EventBus {
    /// The bus for a database: LISTEN/NOTIFY on PostgreSQL (with a listener task for this
    /// instance), an in-process channel otherwise.
    pub async fn for_database(
        db: &DatabaseConnection,
        url: &str,
    ) -> Result<Self, sea_orm::sqlx::Error> {
        let (sender, _) = broadcast::channel(BUFFER);
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self {
                sender,
                notify: None,
            });
        }
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let forward = sender.clone();
        tokio::spawn(async move {
            loop {
                // recv reconnects by itself after a lost connection.
                match listener.recv().await {
                    Ok(notification) => {
                        match serde_json::from_str::<SubmissionEvent>(notification.payload()) {
                            Ok(event) => {
                                let _ = forward.send(event);
                            }
                            Err(err) => tracing::warn!(error = %err, "unreadable submission event"),
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Self {
            sender,
            notify: Some(db.clone()),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SubmissionEvent> {
        self.sender.subscribe()
    }

    /// Commits `txn`, then sends the event to every instance's subscribers (in process,
    /// or through PostgreSQL). A notification that fails is logged: the change is stored.
    pub async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        event: SubmissionEvent,
    ) -> ServiceResult<()> {
        txn.commit().await?;
        match &self.notify {
            Some(db) => {
                let payload = serde_json::to_string(&event)
                    .map_err(|e| super::ServiceError::Internal(e.to_string()))?;
                let sent = db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT pg_notify($1, $2)",
                        [CHANNEL.into(), payload.into()],
                    ))
                    .await;
                if let Err(err) = sent {
                    tracing::warn!(error = %err, "a submission event was not sent");
                }
            }
            // No subscriber is not an error.
            None => {
                let _ = self.sender.send(event);
            }
        }
        Ok(())
    }
}
