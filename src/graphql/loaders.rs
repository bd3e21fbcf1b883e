//! DataLoaders, created per request (no cache shared between principals). Every relation
//! of the schema goes through one, so a request's statement count depends on its depth,
//! never on the number of rows in a page. A list that reads related rows with its own (a
//! page of reports, their tasks and agencies) leaves them in the cache ([`keep`]).
use std::{
    collections::HashMap,
    hash::Hash,
    marker::PhantomData,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Poll, Wake, Waker},
    time::Duration,
};

use async_graphql::{
    Context,
    dataloader::{DataLoader, HashMapCache, Loader},
};
use entity::{
    agency, agency_group, assignment, audit_log, by_position::ByPosition, deliverable, period,
    reporting_window, section, submission, submission_deliverable, task, user,
};
use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};
use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult};

use crate::service::{
    ServiceError,
    catalog::{self, SuccessionSide},
    catalog_filter::{AuditEntryPredicate, TaskPredicate, TaskSort},
    domain::AssignmentRole,
    filter::Filter,
    pagination::{Page, PageRequest, Sorting},
    submission_filter::SubmissionPredicate,
    submissions::{self, Parent},
    tenancy::SubmissionScope,
};

pub struct CatalogLoader {
    db: DatabaseConnection,
}

pub type Loaders = DataLoader<CatalogLoader, Cache>;

/// A loader's cache of one request: keyed by row ids and the like, which a quick hash
/// serves as well as SipHash (a request's keys are its own; each load looks up and
/// inserts).
type Cache = HashMapCache<foldhash::fast::RandomState>;

/// A request's loader batches, run inside the request's own task once the request can go
/// no further without them.
///
/// async-graphql resolves the fields of one level concurrently, and each resolver
/// registers its keys with a loader before it waits. Batches spawned on a timer split a
/// level when the timer fires before the request has been polled again — the usual case
/// on a busy machine. Here a batch is queued instead, and started only once the request
/// future is blocked: it returned `Pending` without waking itself (a long list yields
/// part-way and wakes itself at once; that is not yet blocked). By then every key of the
/// level is in, so a request's statement count depends on its depth alone, at any load.
#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

/// How many times in a row one poll of [`Batches::run`] resumes a request that woke itself,
/// before it lets the worker run other tasks.
const RESUMES_PER_POLL: usize = 64;

impl Batches {
    /// Runs `request`, and the batches its loaders queue, to completion. Dropping the
    /// returned future drops the batches with it.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        let mut request = std::pin::pin!(request);
        let mut running = FuturesUnordered::new();
        std::future::poll_fn(|cx| {
            let woken = Arc::new(WokenFlag {
                woken: AtomicBool::new(false),
                outer: cx.waker().clone(),
            });
            let waker = Waker::from(woken.clone());
            let mut resumes = 0;
            loop {
                woken.woken.store(false, Ordering::SeqCst);
                if let Poll::Ready(output) = request
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&waker))
                {
                    return Poll::Ready(output);
                }
                let yielded = woken.woken.swap(false, Ordering::SeqCst);
                if yielded {
                    resumes += 1;
                    // The outer task is woken already; out of budget, let others run.
                    if resumes > RESUMES_PER_POLL || !tokio::task::coop::has_budget_remaining() {
                        return Poll::Pending;
                    }
                    continue;
                }
                running.extend(self.take());
                // A finished batch answers resolvers, and their wakes flag the request.
                while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
                if !woken.woken.load(Ordering::SeqCst) {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    fn queue(&self, batch: BoxFuture<'static, ()>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(batch);
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A waker that notes it was called, then wakes the task.
struct WokenFlag {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

/// Loaders for one request; its future must run inside `batches.run`.
pub fn new_loaders(db: DatabaseConnection, batches: &Batches) -> Loaders {
    batched(CatalogLoader { db }, batches)
}

/// A loader whose batches run in the request's task (see [`Batches`]).
fn batched<T: Send + Sync + 'static>(loader: T, batches: &Batches) -> DataLoader<T, Cache> {
    let batches = batches.clone();
    DataLoader::with_cache(loader, move |batch| batches.queue(batch), Cache::new())
        .delay(Duration::ZERO)
}

/// A loader for one operation of a long-lived connection, whose futures do not run inside
/// [`Batches::run`]: batches are spawned and gather keys for async-graphql's default
/// delay, and nothing is cached (a subscription's rows change between events).
fn spawned<T: Send + Sync + 'static>(loader: T) -> DataLoader<T, Cache> {
    let loaders = DataLoader::with_cache(loader, tokio::spawn, Cache::new());
    loaders.enable_all_cache(false);
    loaders
}

pub fn loaders<'a>(ctx: &'a Context<'_>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// A row of table `E` by its id.
pub struct ById<E>(pub i64, PhantomData<fn() -> E>);

impl<E> ById<E> {
    pub fn new(id: i64) -> Self {
        Self(id, PhantomData)
    }
}
impl<E> Clone for ById<E> {
    fn clone(&self) -> Self {
        Self::new(self.0)
    }
}
impl<E> PartialEq for ById<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<E> Eq for ById<E> {}
impl<E> Hash for ById<E> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<E> Loader<ById<E>> for CatalogLoader
where
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync + RowId,
    ByPosition<E::Model>: FromQueryResult,
{
    type Value = Arc<E::Model>;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[ById<E>]) -> Result<HashMap<ById<E>, Arc<E::Model>>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        Ok(catalog::find_by_ids::<E, _>(&self.db, &ids)
            .await?
            .into_iter()
            .map(|row| (ById::new(row.row_id()), Arc::new(row)))
            .collect())
    }
}

/// Keeps rows that a list read along with its own (a page's tasks and agencies) in the
/// request's loader cache, so that the fields that point at them load nothing more.
pub async fn keep<E>(ctx: &Context<'_>, rows: Vec<E::Model>)
where
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync + RowId,
    ByPosition<E::Model>: FromQueryResult,
{
    if rows.is_empty() {
        return;
    }
    loaders(ctx)
        .feed_many(
            rows.into_iter()
                .map(|row| (ById::<E>::new(row.row_id()), Arc::new(row))),
        )
        .await;
}

/// The id of a row, for tables keyed by `id`.
pub trait RowId {
    fn row_id(&self) -> i64;
}

macro_rules! row_id {
    ($($module:ident),+) => {
        $(impl RowId for $module::Model {
            fn row_id(&self) -> i64 {
                self.id
            }
        })+
    };
}
row_id!(
    agency,
    agency_group,
    assignment,
    deliverable,
    period,
    section,
    task,
    reporting_window,
    user
);
impl RowId for entity::plan::Model {
    fn row_id(&self) -> i64 {
        self.id
    }
}

/// Groups (parent, child) pairs by parent, with an empty list for parents without children.
/// Children are shared: the loader's cache and every object that asks hold the same row.
fn group_by_parent<K: Hash + Eq + Clone, V: Into<Arc<T>>, T>(
    keys: &[K],
    pairs: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<Arc<T>>> {
    let mut map: HashMap<K, Vec<Arc<T>>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value.into());
    }
    map
}

/// Declares a one-to-many key type and its loader from a batch function of `catalog`.
macro_rules! children_loader {
    ($(#[$meta:meta])* $key:ident => $value:ty, |$db:ident, $ids:ident| $batch:expr, |$row:ident| $parent:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for CatalogLoader {
            type Value = Vec<Arc<$value>>;
            type Error = Arc<ServiceError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<Arc<$value>>>, Self::Error> {
                let $db = &self.db;
                let $ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $batch.await?;
                Ok(group_by_parent(keys, rows.into_iter().map(|$row| ($key($parent), $row))))
            }
        }
    };
}

children_loader!(
    /// Sections of a plan.
    SectionsOfPlan => section::Model, |db, ids| catalog::sections_of_plans(db, &ids), |row| row.plan_id
);
children_loader!(
    /// Tasks of a section.
    TasksOfSection => task::Model, |db, ids| catalog::tasks_of_sections(db, &ids), |row| row.section_id
);
children_loader!(
    /// Assignments of a task, as the plan words them.
    AssignmentsOfTask => assignment::Model, |db, ids| catalog::assignments_of_tasks(db, &ids), |row| row.task_id
);
children_loader!(
    /// Deliverables of a task.
    DeliverablesOfTask => deliverable::Model, |db, ids| catalog::deliverables_of_tasks(db, &ids), |row| row.task_id
);

/// The deliverables a task asks for in a period, by the period's code as asked: `None`
/// when the code names no period. One batch per code, however many tasks ask.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliverablesOfTaskInPeriod(pub i64, pub Arc<str>);

impl Loader<DeliverablesOfTaskInPeriod> for CatalogLoader {
    type Value = Option<Vec<Arc<deliverable::Model>>>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[DeliverablesOfTaskInPeriod],
    ) -> Result<HashMap<DeliverablesOfTaskInPeriod, Self::Value>, Self::Error> {
        let mut tasks_by_code: HashMap<&Arc<str>, Vec<DeliverablesOfTaskInPeriod>> = HashMap::new();
        for key in keys {
            tasks_by_code.entry(&key.1).or_default().push(key.clone());
        }
        let mut out = HashMap::new();
        for (code, code_keys) in tasks_by_code {
            let task_ids: Vec<i64> = code_keys.iter().map(|k| k.0).collect();
            match catalog::deliverables_for_period(&self.db, &task_ids, code).await? {
                None => out.extend(code_keys.into_iter().map(|k| (k, None))),
                Some(rows) => out.extend(
                    group_by_parent(
                        &code_keys,
                        rows.into_iter().map(|row| {
                            (
                                DeliverablesOfTaskInPeriod(row.task_id, Arc::clone(code)),
                                row,
                            )
                        }),
                    )
                    .into_iter()
                    .map(|(key, rows)| (key, Some(rows))),
                ),
            }
        }
        Ok(out)
    }
}

/// Pairs-returning batch functions: (parent id, child).
macro_rules! pairs_loader {
    ($(#[$meta:meta])* $key:ident => $value:ty, |$db:ident, $ids:ident| $batch:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for CatalogLoader {
            type Value = Vec<Arc<$value>>;
            type Error = Arc<ServiceError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<Arc<$value>>>, Self::Error> {
                let $db = &self.db;
                let $ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $batch.await?;
                Ok(group_by_parent(keys, rows.into_iter().map(|(parent, row)| ($key(parent), row))))
            }
        }
    };
}

pairs_loader!(
    /// The phase periods of a task's timeframe.
    TimeframeOfTask => period::Model, |db, ids| catalog::timeframes_of_tasks(db, &ids)
);
pairs_loader!(
    /// Members of an agency group.
    MembersOfGroup => agency::Model, |db, ids| catalog::members_of_groups(db, &ids)
);
pairs_loader!(
    /// Groups an agency belongs to.
    GroupsOfAgency => agency_group::Model, |db, ids| catalog::groups_of_agencies(db, &ids)
);
pairs_loader!(
    /// The agencies a plan's consolidated reports go to.
    RecipientsOfPlan => agency::Model, |db, ids| catalog::recipients_of_plans(db, &ids)
);
pairs_loader!(
    /// The agency coordinating a plan today (one).
    CoordinatorOfPlan => agency::Model, |db, ids| catalog::coordinators_of_plans(db, &ids)
);

/// An agency's predecessors or successors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SuccessionsOfAgency(pub i64, pub SuccessionSide);

impl Loader<SuccessionsOfAgency> for CatalogLoader {
    type Value = Vec<Arc<agency::Model>>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[SuccessionsOfAgency],
    ) -> Result<HashMap<SuccessionsOfAgency, Vec<Arc<agency::Model>>>, Self::Error> {
        let mut out = HashMap::new();
        for side in [SuccessionSide::Predecessors, SuccessionSide::Successors] {
            let side_keys: Vec<SuccessionsOfAgency> =
                keys.iter().filter(|k| k.1 == side).copied().collect();
            if side_keys.is_empty() {
                continue;
            }
            let ids: Vec<i64> = side_keys.iter().map(|k| k.0).collect();
            let rows = catalog::successions_of_agencies(&self.db, &ids, side).await?;
            out.extend(group_by_parent(
                &side_keys,
                rows.into_iter()
                    .map(|(parent, row)| (SuccessionsOfAgency(parent, side), row)),
            ));
        }
        Ok(out)
    }
}

/// Pairs-returning batch functions of one assignment role, keyed by (parent id, role).
macro_rules! role_pairs_loader {
    ($(#[$meta:meta])* $key:ident => $value:ty, $batch:path) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64, pub AssignmentRole);

        impl Loader<$key> for CatalogLoader {
            type Value = Vec<Arc<$value>>;
            type Error = Arc<ServiceError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<Arc<$value>>>, Self::Error> {
                let mut out = HashMap::new();
                for role in [AssignmentRole::Lead, AssignmentRole::Partner] {
                    let role_keys: Vec<$key> = keys.iter().filter(|k| k.1 == role).copied().collect();
                    if role_keys.is_empty() {
                        continue;
                    }
                    let ids: Vec<i64> = role_keys.iter().map(|k| k.0).collect();
                    let rows = $batch(&self.db, &ids, role).await?;
                    out.extend(group_by_parent(
                        &role_keys,
                        rows.into_iter().map(|(parent, row)| ($key(parent, role), row)),
                    ));
                }
                Ok(out)
            }
        }
    };
}

role_pairs_loader!(
    /// Agencies a task assigns in a role, groups expanded.
    AgenciesOfTask => agency::Model, catalog::agencies_of_tasks
);
role_pairs_loader!(
    /// Tasks an agency is assigned in a role, directly or through a group.
    TasksOfAgency => task::Model, catalog::tasks_of_agencies
);

/// Loads tenant rows (submissions and what hangs from them) under one request's scope.
/// Created per request, for signed-in callers only.
pub struct TenantLoader {
    db: DatabaseConnection,
    scope: SubmissionScope,
}

pub type TenantLoaders = DataLoader<TenantLoader, Cache>;

pub fn new_tenant_loaders(
    db: DatabaseConnection,
    scope: SubmissionScope,
    batches: &Batches,
) -> TenantLoaders {
    batched(TenantLoader { db, scope }, batches)
}

/// Tenant loaders for one operation of a long-lived connection (see [`spawned`]).
pub fn live_tenant_loaders(db: DatabaseConnection, scope: SubmissionScope) -> TenantLoaders {
    spawned(TenantLoader { db, scope })
}

/// Catalog loaders for a long-lived connection (see [`spawned`]).
pub fn live_loaders(db: DatabaseConnection) -> Loaders {
    spawned(CatalogLoader { db })
}

pub fn tenant_loaders<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a TenantLoaders> {
    ctx.data_opt::<TenantLoaders>()
        .ok_or_else(|| async_graphql::ErrorExtensions::extend(&ServiceError::Unauthenticated))
}

/// A visible submission by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubmissionById(pub i64);

impl Loader<SubmissionById> for TenantLoader {
    type Value = Arc<submission::Model>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[SubmissionById],
    ) -> Result<HashMap<SubmissionById, Arc<submission::Model>>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        Ok(submissions::by_ids(&self.db, &self.scope, &ids)
            .await?
            .into_iter()
            .map(|s| (SubmissionById(s.id), Arc::new(s)))
            .collect())
    }
}

/// A value as part of a loader key: keys compare and hash by its canonical text (its
/// `Debug` form), so that the keys of one field of one query (one filter, one page) load
/// together.
pub struct ByText<T> {
    pub value: Arc<T>,
    text: Arc<str>,
}

impl<T: std::fmt::Debug> ByText<T> {
    pub fn new(value: T) -> Self {
        let text = format!("{value:?}").into();
        Self {
            value: Arc::new(value),
            text,
        }
    }
}

impl<T> Clone for ByText<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            text: self.text.clone(),
        }
    }
}

impl<T> PartialEq for ByText<T> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<T> Eq for ByText<T> {}

impl<T> std::fmt::Debug for ByText<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<T> Hash for ByText<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

/// A filter as part of a loader key.
pub type KeyFilter<P> = ByText<Filter<P>>;

/// The keys of `keys` grouped by their [`ByText`] part.
fn by_text<K: Clone, T>(keys: &[K], part: impl Fn(&K) -> &ByText<T>) -> Vec<(ByText<T>, Vec<K>)> {
    let mut groups: Vec<(ByText<T>, Vec<K>)> = Vec::new();
    for key in keys {
        let f = part(key);
        match groups.iter_mut().find(|(g, _)| g == f) {
            Some((_, members)) => members.push(key.clone()),
            None => groups.push((f.clone(), vec![key.clone()])),
        }
    }
    groups
}

/// What one `Plan.tasks` field asks of every plan it is resolved on.
#[derive(Debug)]
pub struct TaskPage {
    pub filter: Filter<TaskPredicate>,
    pub order: Vec<Sorting<TaskSort>>,
    pub page: PageRequest,
}

/// A page of a plan's tasks, as a `Plan.tasks` field asks for it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TasksOfPlan(pub i64, pub ByText<TaskPage>);

/// Each field's page, or why that field's arguments are refused: a batch takes the
/// fields of a level together, and one field's bad `orderBy` or cursor must not fail
/// the others.
type TaskPageOrError = Result<Page<Arc<task::Model>>, Arc<ServiceError>>;

impl Loader<TasksOfPlan> for TenantLoader {
    type Value = TaskPageOrError;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[TasksOfPlan],
    ) -> Result<HashMap<TasksOfPlan, TaskPageOrError>, Self::Error> {
        let mut out = HashMap::new();
        for (query, same_query) in by_text(keys, |k| &k.1) {
            let plans: Vec<i64> = same_query.iter().map(|k| k.0).collect();
            let TaskPage {
                filter,
                order,
                page,
            } = &*query.value;
            let pages = catalog::list_tasks_of_plans(
                &self.db,
                Some(&self.scope),
                &plans,
                filter,
                order,
                page,
            )
            .await;
            match pages {
                Ok(pages) => out.extend(pages.into_iter().map(|(plan, tasks)| {
                    (TasksOfPlan(plan, query.clone()), Ok(tasks.map(Arc::new)))
                })),
                Err(refused) => {
                    let refused = Arc::new(refused);
                    out.extend(
                        same_query
                            .into_iter()
                            .map(|key| (key, Err(refused.clone()))),
                    );
                }
            }
        }
        Ok(out)
    }
}

/// Visible submissions of a task or an agency that match a filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubmissionsOf(pub Parent, pub KeyFilter<SubmissionPredicate>);

impl Loader<SubmissionsOf> for TenantLoader {
    type Value = Vec<Arc<submission::Model>>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[SubmissionsOf],
    ) -> Result<HashMap<SubmissionsOf, Vec<Arc<submission::Model>>>, Self::Error> {
        let mut out = HashMap::new();
        for (filter, same_filter) in by_text(keys, |k| &k.1) {
            let parents: Vec<Parent> = same_filter.iter().map(|k| k.0).collect();
            let rows =
                submissions::of_parents(&self.db, &self.scope, &parents, &filter.value).await?;
            out.extend(group_by_parent(
                &same_filter,
                rows.into_iter()
                    .map(|(parent, row)| (SubmissionsOf(parent, filter.clone()), row)),
            ));
        }
        Ok(out)
    }
}

/// Deliverable evidence of a visible submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EvidenceOf(pub i64);

impl Loader<EvidenceOf> for TenantLoader {
    type Value = Vec<Arc<submission_deliverable::Model>>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[EvidenceOf],
    ) -> Result<HashMap<EvidenceOf, Vec<Arc<submission_deliverable::Model>>>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = submissions::evidence_of(&self.db, &self.scope, &ids).await?;
        Ok(group_by_parent(
            keys,
            rows.into_iter().map(|r| (EvidenceOf(r.submission_id), r)),
        ))
    }
}

/// Audit history of a visible submission, narrowed by a filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub i64, pub KeyFilter<AuditEntryPredicate>);

impl Loader<HistoryOf> for TenantLoader {
    type Value = Vec<Arc<audit_log::Model>>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[HistoryOf],
    ) -> Result<HashMap<HistoryOf, Vec<Arc<audit_log::Model>>>, Self::Error> {
        let mut out = HashMap::new();
        for (filter, same_filter) in by_text(keys, |k| &k.1) {
            let ids: Vec<i64> = same_filter.iter().map(|k| k.0).collect();
            let rows = submissions::history_of(&self.db, &self.scope, &ids, &filter.value).await?;
            out.extend(group_by_parent(
                &same_filter,
                rows.into_iter()
                    .map(|r| (HistoryOf(r.entity_id, filter.clone()), r)),
            ));
        }
        Ok(out)
    }
}
