//! The same read asked by many callers at once runs once: a room of analysts opening the
//! same dashboard asks the same count and the same progress dozens of times a second,
//! and each is a scan of the reports. A caller joins a run of the same read (same
//! database, same scope, same question) only if that run has not started yet — so the
//! answer it gets was read after it asked, and a caller always sees its own writes. While
//! one run is in the database, the callers that arrive wait for the next one, which
//! starts when the first ends: at most one run of a read at a time, whatever the load.
use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared, WeakShared},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, sea_query::SelectStatement};

use super::{
    ServiceError, ServiceResult,
    aggregate::Group,
    pagination::count_of,
    tenancy::{Intent, SubmissionScope},
};

/// The number of rows `select` reads under `scope`, counted once for every caller who
/// asks the same before the count starts.
pub async fn count(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    select: &SelectStatement,
) -> ServiceResult<u64> {
    static COUNTS: std::sync::LazyLock<Coalescer<u64>> = std::sync::LazyLock::new(Default::default);
    let statement = db.get_database_backend().build(&count_of(select));
    let key = format!(
        "{}|{scope:?}|{}|{:?}",
        database_key(db),
        statement.sql,
        statement.values
    );
    let (db, scope) = (db.clone(), scope.clone());
    COUNTS
        .run(key, move || async move {
            let txn = scope.begin(&db, Intent::Read).await?;
            let row = txn.query_one_raw(statement).await?;
            txn.commit().await?;
            let n: i64 = row.map_or(Ok(0), |r| r.try_get::<i64>("", "n"))?;
            Ok(u64::try_from(n).unwrap_or_default())
        })
        .await
}

/// The groups of an aggregate (`read`, given its own database handle and scope), run
/// once for every caller who asks the same of the same database under the same scope
/// before it starts. `question` must say everything else the answer depends on.
pub async fn groups<F, Fut>(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    question: String,
    read: F,
) -> ServiceResult<Vec<Group>>
where
    F: FnOnce(DatabaseConnection, SubmissionScope) -> Fut,
    Fut: Future<Output = ServiceResult<Vec<Group>>> + Send + 'static,
{
    static GROUPS: std::sync::LazyLock<Coalescer<Vec<Group>>> =
        std::sync::LazyLock::new(Default::default);
    let key = format!("{}|{scope:?}|{question}", database_key(db));
    let (db, scope) = (db.clone(), scope.clone());
    GROUPS.run(key, move || read(db, scope)).await
}

/// Which database a connection pool serves, for keys: reads of two databases (two
/// servers in one process, as in the tests) never share a run. The pool lives as long as
/// any run that uses it, so the address is not reused meanwhile.
pub fn database_key(db: &DatabaseConnection) -> usize {
    match db.get_database_backend() {
        DbBackend::Postgres => std::ptr::from_ref(db.get_postgres_connection_pool()) as usize,
        _ => std::ptr::from_ref(db.get_sqlite_connection_pool()) as usize,
    }
}

/// Past this many distinct reads waiting or running, a read runs on its own: the table
/// of runs stays small, whatever a client asks.
const MAX_SLOTS: usize = 10_000;

type Reading<V> = BoxFuture<'static, Result<V, Arc<ServiceError>>>;
type Run<V> = Shared<Reading<V>>;

/// Runs of one kind of read (counts, groups), keyed by what they read.
pub struct Coalescer<V> {
    slots: Arc<Mutex<HashMap<String, Slot<V>>>>,
    next_id: AtomicU64,
}

struct Slot<V> {
    /// The run that has not started yet, which arriving callers join.
    waiting: Option<(u64, WeakShared<Reading<V>>)>,
    /// Held by the run in the database; the waiting run takes it next.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Runs of this read that exist (waiting, in the database, or not yet dropped): the
    /// slot goes when the last one does, finished or cancelled.
    runs: usize,
}

/// Owned by a run from its making, so that dropping the run — finished, or abandoned by
/// every caller before or while it reads — always lets go of its slot.
struct RunGuard<V> {
    table: Arc<Mutex<HashMap<String, Slot<V>>>>,
    key: String,
}

impl<V> Drop for RunGuard<V> {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.table.lock()
            && let Some(slot) = slots.get_mut(&self.key)
        {
            slot.runs -= 1;
            if slot.runs == 0 {
                slots.remove(&self.key);
            }
        }
    }
}

impl<V> Default for Coalescer<V> {
    fn default() -> Self {
        Self {
            slots: Arc::default(),
            next_id: AtomicU64::new(0),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Coalescer<V> {
    /// The answer of `read`, which reads what `key` names (the key must say everything
    /// the answer depends on: database, scope, question). Cancelling a caller cancels
    /// the run only when nobody else waits for it.
    pub async fn run<F, Fut>(&self, key: String, read: F) -> ServiceResult<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<V>> + Send + 'static,
    {
        let run = match self.join_or_start(key, read) {
            Some(run) => run,
            None => return Err(ServiceError::Internal("the read table is poisoned".into())),
        };
        run.await.map_err(|shared| shared.duplicate())
    }

    fn join_or_start<F, Fut>(&self, key: String, read: F) -> Option<Run<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<V>> + Send + 'static,
    {
        let mut slots = self.slots.lock().ok()?;
        if slots.len() >= MAX_SLOTS && !slots.contains_key(&key) {
            return Some(read().map(|r| r.map_err(Arc::new)).boxed().shared());
        }
        let slot = slots.entry(key.clone()).or_insert_with(|| Slot {
            waiting: None,
            turn: Arc::default(),
            runs: 0,
        });
        if let Some(run) = slot.waiting.as_ref().and_then(|(_, run)| run.upgrade()) {
            return Some(run);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let turn = slot.turn.clone();
        slot.runs += 1;
        let guard = RunGuard {
            table: self.slots.clone(),
            key,
        };
        let reading = read();
        let run = async move {
            let _turn = turn.lock_owned().await;
            // Started: callers from now on wait for the next run.
            if let Ok(mut slots) = guard.table.lock()
                && let Some(slot) = slots.get_mut(&guard.key)
                && slot
                    .waiting
                    .as_ref()
                    .is_some_and(|(waiting, _)| *waiting == id)
            {
                slot.waiting = None;
            }
            reading.await.map_err(Arc::new)
        }
        .boxed()
        .shared();
        slot.waiting = run.downgrade().map(|weak| (id, weak));
        Some(run)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    /// Callers who ask while a run is in the database share the next run; nobody gets an
    /// answer read before they asked.
    #[tokio::test]
    async fn callers_share_the_next_run_not_the_one_started() {
        let coalescer: Arc<Coalescer<usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ask = |coalescer: Arc<Coalescer<usize>>, runs: Arc<AtomicUsize>| async move {
            coalescer
                .run("count".into(), move || async move {
                    // The value read is the number of the run.
                    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(n)
                })
                .await
                .unwrap()
        };
        let first = tokio::spawn(ask(coalescer.clone(), runs.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The first run is in the database: these ten wait for one more, together.
        let later: Vec<_> = (0..10)
            .map(|_| tokio::spawn(ask(coalescer.clone(), runs.clone())))
            .collect();
        assert_eq!(first.await.unwrap(), 1);
        for caller in later {
            assert_eq!(caller.await.unwrap(), 2);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(
            coalescer.slots.lock().unwrap().is_empty(),
            "nothing is left behind"
        );
    }

    /// A caller that gives up does not cancel the run for the others, and a run nobody
    /// waits for any more is dropped.
    #[tokio::test]
    async fn cancelled_callers_leave_the_others_their_answer() {
        let coalescer: Arc<Coalescer<usize>> = Arc::default();
        let read = || async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(7)
        };
        let gives_up = coalescer.run("k".into(), read);
        let waits = coalescer.run("k".into(), read);
        let (_, answer) = tokio::join!(
            tokio::time::timeout(Duration::from_millis(5), gives_up),
            waits
        );
        assert_eq!(answer.unwrap(), 7);
        let alone = coalescer.run("k".into(), read);
        assert!(
            tokio::time::timeout(Duration::from_millis(5), alone)
                .await
                .is_err()
        );
        // The abandoned run is gone, and with it its slot: the next caller starts afresh.
        assert!(
            coalescer.slots.lock().unwrap().is_empty(),
            "nothing is left behind"
        );
        assert_eq!(coalescer.run("k".into(), read).await.unwrap(), 7);
        assert!(coalescer.slots.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn errors_reach_every_caller() {
        let coalescer: Coalescer<usize> = Coalescer::default();
        let error = coalescer
            .run("k".into(), || async { Err(ServiceError::bad_input("no")) })
            .await;
        assert_eq!(error.unwrap_err().code(), "BAD_USER_INPUT");
    }
}
