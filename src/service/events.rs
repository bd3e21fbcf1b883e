//! Live submission events. On PostgreSQL they travel through LISTEN/NOTIFY, sent once the
//! writing transaction has committed and received by every server instance on the
//! database; on SQLite an in-process channel serves.
//!
//! The notification is not part of the transaction: PostgreSQL holds one database-wide
//! lock from a notifying transaction's commit until its commit record is on disk, so
//! notifying writers commit one at a time (13 saves/s at 8 writers in the benchmark). A
//! notification of its own has nothing to flush. Live events are a courtesy, never the
//! record: a crash between the commit and the notification loses one, the report stays.
//! A stopping server sends what it has queued before it exits ([`EventBus::flush`]).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

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
    /// The queue of the task that sends notifications (PostgreSQL only).
    notify: Option<mpsc::Sender<Outgoing>>,
}

/// What the notifying task is asked to do.
enum Outgoing {
    /// Send one event's payload, and say so once it has been sent (or given up).
    Event(String, oneshot::Sender<()>),
    /// Answer once everything queued before has been sent.
    Flush(oneshot::Sender<()>),
}

/// Events waiting to be sent before a commit's event is dropped instead (with a warning):
/// only while PostgreSQL refuses the notifications for that long.
const QUEUE: usize = 8192;

/// Most events sent in one statement.
const BATCH: usize = 256;

impl EventBus {
    /// The bus for a database: LISTEN/NOTIFY on PostgreSQL (with a listener task for this
    /// instance, and a task that sends this instance's notifications), an in-process
    /// channel otherwise.
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
        let (queue, outgoing) = mpsc::channel(QUEUE);
        tokio::spawn(send_notifications(db.clone(), outgoing));
        Ok(Self {
            sender,
            notify: Some(queue),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SubmissionEvent> {
        self.sender.subscribe()
    }

    /// Commits `txn`, then has the event sent to every instance's subscribers (in process,
    /// or through PostgreSQL) before answering: a client that acts on the answer (submits
    /// through another instance, say) cannot be heard of before this change. The event is
    /// queued for the task that sends notifications, whatever has queued up in one
    /// statement, so a busy server sends one statement for many saves.
    pub async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        event: SubmissionEvent,
    ) -> ServiceResult<()> {
        txn.commit().await?;
        match &self.notify {
            Some(queue) => {
                let payload = serde_json::to_string(&event)
                    .map_err(|e| super::ServiceError::Internal(e.to_string()))?;
                let (sent, heard) = oneshot::channel();
                match queue.try_send(Outgoing::Event(payload, sent)) {
                    // The sender answers after its statement, failed or not.
                    Ok(()) => {
                        let _ = heard.await;
                    }
                    Err(err) => tracing::warn!(error = %err, "a submission event was not sent"),
                }
            }
            // No subscriber is not an error.
            None => {
                let _ = self.sender.send(event);
            }
        }
        Ok(())
    }

    /// Waits (at most `limit`) until every event of a commit so far has been sent: for a
    /// server that is stopping, so that the last changes are heard of.
    pub async fn flush(&self, limit: std::time::Duration) {
        let Some(queue) = &self.notify else { return };
        let (done, sent) = oneshot::channel();
        let flushed = async {
            queue.send(Outgoing::Flush(done)).await.ok()?;
            sent.await.ok()
        };
        if tokio::time::timeout(limit, flushed).await.is_err() {
            tracing::warn!("stopping with submission events not yet sent");
        }
    }
}

/// Sends the queued events, in order: whatever has queued up while the last statement ran
/// goes in the next one, so a busy server sends one statement for many saves, where a
/// statement per save cost each save a connection and a round trip. A statement that fails
/// is tried once more before its events are given up (with a warning).
async fn send_notifications(db: DatabaseConnection, mut outgoing: mpsc::Receiver<Outgoing>) {
    let mut received = Vec::with_capacity(BATCH);
    while outgoing.recv_many(&mut received, BATCH).await > 0 {
        let mut payloads = Vec::with_capacity(received.len());
        let mut waiting = Vec::with_capacity(received.len());
        for item in received.drain(..) {
            match item {
                Outgoing::Event(payload, sent) => {
                    payloads.push(payload);
                    waiting.push(sent);
                }
                Outgoing::Flush(done) => waiting.push(done),
            }
        }
        if !payloads.is_empty() {
            // `pg_notify` runs once per element, in the array's order.
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, payload) \
                 FROM jsonb_array_elements_text(CAST($2 AS JSONB)) AS payload",
                [
                    CHANNEL.into(),
                    Value::from(payloads.as_slice()).to_string().into(),
                ],
            );
            let mut sent = db.execute_raw(statement.clone()).await;
            if sent.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                sent = db.execute_raw(statement).await;
            }
            if let Err(err) = sent {
                tracing::warn!(error = %err, events = payloads.len(), "submission events were not sent");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}
