//! Reads of the plan itself: plans, sections, tasks, agencies, groups, periods. These are
//! public to every signed-in principal; batch functions serve the GraphQL DataLoaders, so
//! each relation costs a fixed number of statements whatever the number of parents.
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use entity::{
    agency, agency_group, agency_succession, assignment,
    by_position::{ByPosition, select_without_search_text},
    deliverable, period, plan, plan_recipient, section, task, task_period,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{
        Alias, Asterisk, CommonTableExpression, Expr, ExprTrait, LockType, Order, Query, WithClause,
    },
};

use super::{
    catalog_filter::{
        AgencyPredicate, AgencySort, AssigneeBranch, AssignmentRows, PlanPredicate, PlanSort,
        TaskPredicate, TaskSort, assignee_branches, assignees, column, memberships_today,
    },
    domain::{AssignmentRole, PeriodKind},
    error::{ServiceError, ServiceResult},
    filter::{Filter, catalog_page, catalog_pages},
    pagination::{Page, PageRequest, SortKey, Sorting, order_keys},
    tenancy::SubmissionScope,
    text, timeline,
};

/// `value IN ids` with the ids as one parameter, however many: one statement text for
/// every count (prepared once per connection, where each new length of an `IN` list is a
/// new statement) and one value to bind instead of one per id (a plan's 218 tasks).
pub(super) fn among(value: impl Into<Expr>, ids: &[i64], backend: DbBackend) -> Expr {
    let (open, close, sql) = match backend {
        DbBackend::Postgres => ('{', '}', "$1 = ANY(CAST($2 AS BIGINT[]))"),
        // SQLite's custom expressions take their values at `?` in turn.
        _ => ('[', ']', "? IN (SELECT value FROM json_each(?))"),
    };
    let mut list = String::with_capacity(2 + ids.len() * 8);
    list.push(open);
    let mut digits = itoa::Buffer::new();
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            list.push(',');
        }
        list.push_str(digits.format(*id));
    }
    list.push(close);
    Expr::cust_with_exprs(sql, [value.into(), Expr::val(list)])
}

/// Rows whose validity dates (`from`, `to`) hold today: the plan as it stands.
fn holds_today<C: sea_orm::ColumnTrait>(from: C, to: C) -> sea_orm::Condition {
    timeline::holds_on(Expr::col(from), Expr::col(to), Expr::val(timeline::today()))
}

/// Rows of a table whose primary key is `id`, in no particular order (read by position:
/// the loaders' look-ups).
pub async fn find_by_ids<E, C>(db: &C, ids: &[i64]) -> ServiceResult<Vec<E::Model>>
where
    E: EntityTrait,
    ByPosition<E::Model>: FromQueryResult,
    C: ConnectionTrait,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    all_by_position(
        db,
        E::find().filter(among(
            Expr::col((E::default(), Alias::new("id"))),
            ids,
            db.get_database_backend(),
        )),
    )
    .await
}

/// Every row of a select of an entity, read by position (`ByPosition`), without the
/// folded search copies of tasks' and agencies' texts (`select_without_search_text`).
async fn all_by_position<E, C>(db: &C, select: Select<E>) -> ServiceResult<Vec<E::Model>>
where
    E: EntityTrait,
    ByPosition<E::Model>: FromQueryResult,
    C: ConnectionTrait,
{
    let mut query = select.into_query();
    select_without_search_text::<E>(&mut query);
    let rows = ByPosition::<E::Model>::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| row.0).collect())
}

pub async fn plan_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ServiceResult<Option<plan::Model>> {
    Ok(plan::Entity::find()
        .filter(plan::Column::Code.eq(text::normalize(code)))
        .one(db)
        .await?)
}

/// The jurisdiction of national bodies (the Ministries), whose codes every province's
/// plan reads as its own.
pub const NATIONAL: &str = "vn";

/// A code as callers write it: "jurisdiction/code" (e.g. "binh-dinh/so-tai-chinh"), or
/// the bare code, as (jurisdiction, code).
pub fn code_parts(written: &str) -> (Option<&str>, &str) {
    match written.trim().split_once('/') {
        Some((jurisdiction, code)) => (Some(jurisdiction.trim()), code.trim()),
        None => (None, written.trim()),
    }
}

/// The row that a written code means among `candidates`, the rows with that code: the
/// one of the jurisdiction it names; for a bare code, the one of `near` (the jurisdiction
/// the caller works in) or else a national body's, and without `near` the only one. A
/// bare code that several jurisdictions use, read without `near`, is BAD_USER_INPUT
/// naming the ways to write it.
/// The one rule of how codes are read, for agencies and groups alike.
fn the_one_meant<M>(
    what: &str,
    written: &str,
    candidates: Vec<M>,
    jurisdiction_of: impl Fn(&M) -> &str,
    near: Option<&str>,
) -> ServiceResult<Option<M>> {
    let (named, code) = code_parts(written);
    let wanted = named.or(near);
    let mut candidates = candidates;
    if let Some(at) = wanted.and_then(|j| candidates.iter().position(|m| jurisdiction_of(m) == j)) {
        return Ok(Some(candidates.swap_remove(at)));
    }
    if named.is_some() {
        return Ok(None);
    }
    // Near a jurisdiction, a bare code means its own or a national body's, never another
    // province's: that one is written with its jurisdiction.
    if near.is_some() {
        candidates.retain(|m| jurisdiction_of(m) == NATIONAL);
    }
    match candidates.len() {
        0 | 1 => Ok(candidates.pop()),
        _ => {
            let mut ways: Vec<String> = candidates
                .iter()
                .map(|m| format!("{}/{code}", jurisdiction_of(m)))
                .collect();
            ways.sort();
            Err(ServiceError::bad_input(format!(
                "{what} code `{code}` is used in several jurisdictions: write one of {}",
                ways.join(", ")
            )))
        }
    }
}

/// The agency a written code means (see [`the_one_meant`]), with no jurisdiction nearer
/// than another.
pub async fn agency_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ServiceResult<Option<agency::Model>> {
    agency_by_code_in(db, code, None).await
}

/// The agency a written code means, a bare code read in the jurisdiction `near` first.
pub async fn agency_by_code_in<C: ConnectionTrait>(
    db: &C,
    written: &str,
    near: Option<&str>,
) -> ServiceResult<Option<agency::Model>> {
    let candidates = agency::Entity::find()
        .filter(agency::Column::Code.eq(code_parts(written).1))
        .all(db)
        .await?;
    the_one_meant("agency", written, candidates, |a| &a.jurisdiction, near)
}

/// The agency group a written code means, a bare code read in the jurisdiction `near`
/// first.
pub async fn group_by_code_in<C: ConnectionTrait>(
    db: &C,
    written: &str,
    near: Option<&str>,
) -> ServiceResult<Option<agency_group::Model>> {
    let candidates = agency_group::Entity::find()
        .filter(agency_group::Column::Code.eq(code_parts(written).1))
        .all(db)
        .await?;
    the_one_meant("group", written, candidates, |g| &g.jurisdiction, near)
}

pub async fn period_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ServiceResult<Option<period::Model>> {
    Ok(period::Entity::find()
        .filter(period::Column::Code.eq(code.trim()))
        .one(db)
        .await?)
}

/// Plans, filtered, ordered (default: oldest first) and paged.
pub async fn list_plans(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    filter: &Filter<PlanPredicate>,
    order: &[Sorting<PlanSort>],
    page: &PageRequest,
) -> ServiceResult<Page<plan::Model>> {
    let keys = order_keys(
        order,
        Sorting::asc(PlanSort::IssuedOn),
        PlanSort::keys,
        column(plan::Entity, plan::Column::Id),
    )?;
    let base = plan::Entity::find().into_query();
    catalog_page(db, scope, base, filter, &keys, page).await
}

pub async fn sections_of_plans<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Vec<section::Model>> {
    all_by_position(
        db,
        section::Entity::find()
            .filter(among(
                Expr::col((section::Entity, section::Column::PlanId)),
                plan_ids,
                db.get_database_backend(),
            ))
            .order_by_asc(section::Column::Position),
    )
    .await
}

pub async fn tasks_of_sections<C: ConnectionTrait>(
    db: &C,
    section_ids: &[i64],
) -> ServiceResult<Vec<task::Model>> {
    all_by_position(
        db,
        task::Entity::find()
            .filter(among(
                Expr::col((task::Entity, task::Column::SectionId)),
                section_ids,
                db.get_database_backend(),
            ))
            .order_by_asc(task::Column::Position),
    )
    .await
}

pub async fn assignments_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<assignment::Model>> {
    all_by_position(
        db,
        assignment::Entity::find()
            .filter(among(
                Expr::col((assignment::Entity, assignment::Column::TaskId)),
                task_ids,
                db.get_database_backend(),
            ))
            .filter(holds_today(
                assignment::Column::ValidFrom,
                assignment::Column::ValidTo,
            ))
            .order_by_asc(assignment::Column::Position),
    )
    .await
}

/// The deliverables each task asks for today, in the task's order.
pub async fn deliverables_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<deliverable::Model>> {
    deliverables_of_tasks_on(db, task_ids, timeline::today()).await
}

/// The deliverables each task asks for in the period `period_code`, in the task's order:
/// those of the period's duty day. `None` when the code names no period.
pub async fn deliverables_for_period<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
    period_code: &str,
) -> ServiceResult<Option<Vec<deliverable::Model>>> {
    let Some(period) = period_by_code(db, period_code).await? else {
        return Ok(None);
    };
    let day = timeline::duty_day_after(period.ends_on);
    Ok(Some(deliverables_of_tasks_on(db, task_ids, day).await?))
}

/// The deliverables each task asks for on `day`, in the task's order.
pub async fn deliverables_of_tasks_on<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
    day: chrono::NaiveDate,
) -> ServiceResult<Vec<deliverable::Model>> {
    all_by_position(
        db,
        deliverable::Entity::find()
            .filter(among(
                Expr::col((deliverable::Entity, deliverable::Column::TaskId)),
                task_ids,
                db.get_database_backend(),
            ))
            .filter(timeline::holds_on(
                Expr::col(deliverable::Column::ValidFrom),
                Expr::col(deliverable::Column::ValidTo),
                Expr::val(day),
            ))
            .order_by_asc(deliverable::Column::Position),
    )
    .await
}

/// The phase periods each task's timeframe covers, as (task id, period).
pub async fn timeframes_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<(i64, period::Model)>> {
    let links = task_period::Entity::find()
        .filter(among(
            Expr::col((task_period::Entity, task_period::Column::TaskId)),
            task_ids,
            db.get_database_backend(),
        ))
        .all(db)
        .await?;
    let period_ids: Vec<i64> = links
        .iter()
        .map(|l| l.period_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut periods: Vec<period::Model> = find_by_ids::<period::Entity, _>(db, &period_ids).await?;
    periods.sort_by_key(|p| (p.starts_on, p.ends_on));
    let mut out = Vec::new();
    for period in periods {
        for link in links.iter().filter(|l| l.period_id == period.id) {
            out.push((link.task_id, period.clone()));
        }
    }
    Ok(out)
}

/// (parent id, agency id) links as (parent id, agency), in the links' order; a link to a
/// missing agency is dropped.
async fn with_agencies<C: ConnectionTrait>(
    db: &C,
    links: Vec<(i64, i64)>,
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    let agency_ids: Vec<i64> = links
        .iter()
        .map(|(_, agency)| *agency)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let agencies: HashMap<i64, agency::Model> = find_by_ids::<agency::Entity, _>(db, &agency_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(links
        .into_iter()
        .filter_map(|(parent, agency)| agencies.get(&agency).map(|a| (parent, a.clone())))
        .collect())
}

/// (group id, agency id) of the members of groups today (`memberships_today`), confined
/// to the groups or the agencies given.
async fn memberships_of<C: ConnectionTrait>(
    db: &C,
    groups: Option<&[i64]>,
    agencies: Option<&[i64]>,
) -> ServiceResult<Vec<(i64, i64)>> {
    #[derive(FromQueryResult)]
    struct Link {
        group_id: i64,
        agency_id: i64,
    }
    let c = |name: &str| Expr::col((Alias::new("membership"), Alias::new(name)));
    let mut query = Query::select();
    query
        .expr_as(c("group_id"), Alias::new("group_id"))
        .expr_as(c("agency_id"), Alias::new("agency_id"))
        .from_subquery(memberships_today(), Alias::new("membership"))
        .order_by_expr(c("group_id"), Order::Asc)
        .order_by_expr(c("agency_id"), Order::Asc);
    if let Some(ids) = groups {
        query.and_where(c("group_id").is_in(ids.iter().copied()));
    }
    if let Some(ids) = agencies {
        query.and_where(c("agency_id").is_in(ids.iter().copied()));
    }
    let links = Link::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(links
        .into_iter()
        .map(|l| (l.group_id, l.agency_id))
        .collect())
}

/// Members of each group today, as (group id, agency), in agency id order.
pub async fn members_of_groups<C: ConnectionTrait>(
    db: &C,
    group_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    with_agencies(db, memberships_of(db, Some(group_ids), None).await?).await
}

/// Groups each agency belongs to today, as (agency id, group).
pub async fn groups_of_agencies<C: ConnectionTrait>(
    db: &C,
    agency_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency_group::Model)>> {
    let links = memberships_of(db, None, Some(agency_ids)).await?;
    let group_ids: Vec<i64> = links
        .iter()
        .map(|&(group, _)| group)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let groups: HashMap<i64, agency_group::Model> =
        find_by_ids::<agency_group::Entity, _>(db, &group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
    Ok(links
        .into_iter()
        .filter_map(|(group, agency)| groups.get(&group).map(|g| (agency, g.clone())))
        .collect())
}

/// Which side of an assignment [`assigned_today`] is asked about.
enum AssignedOf<'a> {
    /// The assignees of these tasks.
    Tasks(&'a [i64]),
    /// The tasks of these agencies.
    Agencies(&'a [i64]),
}

/// (task id, agency id) of the assignees in `role` that hold today, each pair once, of
/// the tasks or agencies asked: in the tasks' own order of assignees (the assignment's
/// position, then the members of a group by id).
async fn assigned_today<C: ConnectionTrait>(
    db: &C,
    role: AssignmentRole,
    of: AssignedOf<'_>,
) -> ServiceResult<Vec<(i64, i64)>> {
    #[derive(FromQueryResult)]
    struct Pair {
        task_id: i64,
        agency_id: i64,
    }
    let backend = db.get_database_backend();
    let c = |name: &str| Expr::col((Alias::new("assignee"), Alias::new(name)));
    let (rows, wanted) = match of {
        // The tasks' assignments first, materialised: a page of tasks has a few dozen,
        // and groups are then expanded from those instead of the plan probing the
        // assignments of every membership of every group (1.24 -> 0.31 ms for a plan of
        // 23 tasks, BENCHMARKS run 14).
        AssignedOf::Tasks(ids) => (
            AssignmentRows::Cte(Alias::new("asked_assignment")),
            among(
                column(assignment::Entity, assignment::Column::TaskId),
                ids,
                backend,
            ),
        ),
        AssignedOf::Agencies(ids) => (AssignmentRows::Table, among(c("agency_id"), ids, backend)),
    };
    let mut query = Query::select();
    query
        .expr_as(c("task_id"), Alias::new("task_id"))
        .expr_as(c("agency_id"), Alias::new("agency_id"))
        .from_subquery(
            assignees(&rows, role, || Expr::val(timeline::today()), |_| {}),
            Alias::new("assignee"),
        )
        .group_by_columns([Alias::new("task_id"), Alias::new("agency_id")])
        .order_by_expr(c("task_id"), Order::Asc)
        .order_by_expr(Expr::cust("MIN(\"position\")"), Order::Asc)
        .order_by_expr(c("agency_id"), Order::Asc);
    let statement = match rows {
        AssignmentRows::Cte(name) => {
            let asked = Query::select()
                .column(Asterisk)
                .from(assignment::Entity)
                .and_where(wanted)
                .to_owned();
            let mut with = WithClause::new();
            with.cte(
                CommonTableExpression::new()
                    .query(asked)
                    .table_name(name)
                    .materialized(true)
                    .to_owned(),
            );
            backend.build(&query.with(with))
        }
        AssignmentRows::Table => backend.build(query.and_where(wanted)),
    };
    let pairs = Pair::find_by_statement(statement).all(db).await?;
    Ok(pairs
        .into_iter()
        .map(|p| (p.task_id, p.agency_id))
        .collect())
}

/// The agencies each task assigns in `role` today, groups expanded to their members, each
/// agency once per task, in the plan's order. An agency is read once and shared by every
/// task that assigns it (a group of districts is on most of a plan's tasks).
pub async fn agencies_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
    role: AssignmentRole,
) -> ServiceResult<Vec<(i64, Arc<agency::Model>)>> {
    let pairs = assigned_today(db, role, AssignedOf::Tasks(task_ids)).await?;
    let agency_ids: Vec<i64> = pairs
        .iter()
        .map(|&(_, agency)| agency)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let agencies: HashMap<i64, Arc<agency::Model>> =
        find_by_ids::<agency::Entity, _>(db, &agency_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, Arc::new(a)))
            .collect();
    Ok(pairs
        .into_iter()
        .filter_map(|(task, agency)| agencies.get(&agency).map(|a| (task, Arc::clone(a))))
        .collect())
}

/// The tasks each agency is assigned in `role` today, directly or through a group, as
/// (agency id, task), in the plan's order.
pub async fn tasks_of_agencies<C: ConnectionTrait>(
    db: &C,
    agency_ids: &[i64],
    role: AssignmentRole,
) -> ServiceResult<Vec<(i64, task::Model)>> {
    let pairs = assigned_today(db, role, AssignedOf::Agencies(agency_ids)).await?;
    let task_ids: Vec<i64> = pairs
        .iter()
        .map(|&(task, _)| task)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut tasks = find_by_ids::<task::Entity, _>(db, &task_ids).await?;
    tasks.sort_by_key(|t| (t.plan_id, t.position));
    let mut out = Vec::new();
    for &agency_id in agency_ids {
        let assigned: HashSet<i64> = pairs
            .iter()
            .filter(|&&(_, agency)| agency == agency_id)
            .map(|&(task, _)| task)
            .collect();
        out.extend(
            tasks
                .iter()
                .filter(|t| assigned.contains(&t.id))
                .map(|t| (agency_id, t.clone())),
        );
    }
    Ok(out)
}

/// Tasks, filtered, ordered (default: the plans' own order) and paged.
pub async fn list_tasks(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    filter: &Filter<TaskPredicate>,
    order: &[Sorting<TaskSort>],
    page: &PageRequest,
) -> ServiceResult<Page<task::Model>> {
    let keys = task_keys(order)?;
    let base = task::Entity::find().into_query();
    catalog_page(db, scope, base, filter, &keys, page).await
}

/// The sort keys of a list of tasks: `order`, then the plan's order, then the id.
fn task_keys(order: &[Sorting<TaskSort>]) -> ServiceResult<Vec<SortKey>> {
    order_keys(
        order,
        Sorting::asc(TaskSort::Position),
        TaskSort::keys,
        column(task::Entity, task::Column::Id),
    )
}

/// [`list_tasks`] for each of several plans: the same page of each plan's tasks, in as
/// many statements as one page takes.
pub async fn list_tasks_of_plans(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    plan_ids: &[i64],
    filter: &Filter<TaskPredicate>,
    order: &[Sorting<TaskSort>],
    page: &PageRequest,
) -> ServiceResult<HashMap<i64, Page<task::Model>>> {
    let keys = task_keys(order)?;
    let base = task::Entity::find().into_query();
    let plan = column(task::Entity, task::Column::PlanId);
    catalog_pages(db, scope, base, plan, plan_ids, filter, &keys, page).await
}

/// Agencies, filtered, ordered (default: by code) and paged.
pub async fn list_agencies(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    filter: &Filter<AgencyPredicate>,
    order: &[Sorting<AgencySort>],
    page: &PageRequest,
) -> ServiceResult<Page<agency::Model>> {
    let keys = order_keys(
        order,
        Sorting::asc(AgencySort::Code),
        AgencySort::keys,
        column(agency::Entity, agency::Column::Id),
    )?;
    let base = agency::Entity::find().into_query();
    catalog_page(db, scope, base, filter, &keys, page).await
}

pub async fn agency_groups<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<agency_group::Model>> {
    Ok(agency_group::Entity::find()
        .order_by_asc(agency_group::Column::Id)
        .all(db)
        .await?)
}

pub async fn periods<C: ConnectionTrait>(
    db: &C,
    kind: Option<PeriodKind>,
) -> ServiceResult<Vec<period::Model>> {
    let mut select = period::Entity::find();
    if let Some(kind) = kind {
        select = select.filter(period::Column::Kind.eq(kind.as_str()));
    }
    Ok(select
        .order_by_asc(period::Column::StartsOn)
        .order_by_desc(period::Column::EndsOn)
        .order_by_asc(period::Column::Id)
        .all(db)
        .await?)
}

/// Whether a task assigns an agency in `role` on `day`, directly or through a group, as
/// a SQL condition over the one definition of assignees.
pub fn assigns(role: AssignmentRole, agency_id: Expr, task_id: Expr, day: Expr) -> Expr {
    // EXISTS per branch: `day` may be a column of the enclosing query.
    let [direct, through_groups, through_coordination] =
        assignee_branches(role, || day.clone(), |_| {});
    let exists = |branch: AssigneeBranch| {
        let mut select = branch.select;
        select
            .and_where(branch.task_id.eq(task_id.clone()))
            .and_where(branch.agency_id.eq(agency_id.clone()));
        Expr::exists(select)
    };
    exists(direct)
        .or(exists(through_groups))
        .or(exists(through_coordination))
}

/// Locks agencies until the caller's transaction ends (on PostgreSQL; SQLite's writers
/// take turns): a succession locks those it names (`NoKeyUpdate`), a change of who a task
/// or group names holds those it names and may drop (`Share`), so that each waits for the
/// other or sees what it did. One statement, in id order, so that no two callers wait on
/// each other.
pub async fn lock_agencies<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = i64>,
    lock: LockType,
) -> ServiceResult<()> {
    agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids.into_iter().collect::<HashSet<_>>()))
        .order_by_asc(agency::Column::Id)
        .lock(lock)
        .all(db)
        .await?;
    Ok(())
}

/// [`assignable_agencies`] for a change of who a task or group names: the agencies of
/// `codes` and those it names now (`current`) held ([`lock_agencies`]), then those of
/// `codes` read again.
pub async fn named_and_held<C: ConnectionTrait>(
    db: &C,
    codes: &[String],
    from: chrono::NaiveDate,
    near: &str,
    current: impl IntoIterator<Item = i64>,
) -> ServiceResult<Vec<agency::Model>> {
    let named = assignable_agencies(db, codes, from, near).await?;
    let held = named.iter().map(|a| a.id).chain(current);
    lock_agencies(db, held, LockType::Share).await?;
    assignable_agencies(db, codes, from, near).await
}

/// The agencies of `codes`, each of which may be given tasks from the day `from`: known,
/// a tenant, and existing then; else BAD_USER_INPUT naming the first that is not.
pub async fn assignable_agencies<C: ConnectionTrait>(
    db: &C,
    codes: &[String],
    from: chrono::NaiveDate,
    near: &str,
) -> ServiceResult<Vec<agency::Model>> {
    // One read for every code, however long the list; each is then read by the one rule.
    let bare: HashSet<&str> = codes.iter().map(|c| code_parts(c).1).collect();
    let mut same_code: HashMap<String, Vec<agency::Model>> = HashMap::new();
    for agency in agency::Entity::find()
        .filter(agency::Column::Code.is_in(bare))
        .all(db)
        .await?
    {
        same_code
            .entry(agency.code.clone())
            .or_default()
            .push(agency);
    }
    let mut agencies: Vec<agency::Model> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for written in codes {
        let candidates = same_code
            .get(code_parts(written).1)
            .cloned()
            .unwrap_or_default();
        match the_one_meant(
            "agency",
            written,
            candidates,
            |a| &a.jurisdiction,
            Some(near),
        )? {
            Some(agency) if agencies.iter().all(|a| a.id != agency.id) => agencies.push(agency),
            Some(_) => {}
            None => unknown.push(written.trim()),
        }
    }
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(ServiceError::bad_input(format!(
            "unknown agency codes: {}",
            unknown.join(", ")
        )));
    }
    if let Some(a) = agencies.iter().find(|a| !a.is_tenant) {
        return Err(ServiceError::bad_input(format!(
            "`{}` is not a tenant agency and cannot be assigned tasks",
            a.code
        )));
    }
    if let Some(a) = agencies
        .iter()
        .find(|a| !timeline::holds(a.valid_from, a.valid_to, from))
    {
        return Err(ServiceError::bad_input(format!(
            "`{}` does not exist on {from}",
            a.code
        )));
    }
    Ok(agencies)
}

/// The agency coordinating each plan today, as (plan id, agency).
pub async fn coordinators_of_plans<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    #[derive(FromQueryResult)]
    struct Coordination {
        plan_id: i64,
        agency_id: i64,
    }
    let query = Query::select()
        .expr_as(
            column(plan::Entity, plan::Column::Id),
            Alias::new("plan_id"),
        )
        .expr_as(
            timeline::coordinator_on(Expr::val(timeline::today())),
            Alias::new("agency_id"),
        )
        .from(plan::Entity)
        .and_where(column(plan::Entity, plan::Column::Id).is_in(plan_ids.iter().copied()))
        .to_owned();
    let rows = Coordination::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    with_agencies(db, rows.iter().map(|r| (r.plan_id, r.agency_id)).collect()).await
}

/// The agencies each plan's consolidated reports go to, as (plan id, agency), in agency
/// id order.
pub async fn recipients_of_plans<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    let links = plan_recipient::Entity::find()
        .filter(plan_recipient::Column::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(plan_recipient::Column::AgencyId)
        .all(db)
        .await?;
    with_agencies(db, links.iter().map(|l| (l.plan_id, l.agency_id)).collect()).await
}

/// Which side of a succession to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuccessionSide {
    /// The agencies whose work passed to the given ones.
    Predecessors,
    /// The agencies the given ones' work passed to.
    Successors,
}

/// The direct predecessors or successors of each agency, as (agency id, other agency),
/// earliest succession first.
pub async fn successions_of_agencies<C: ConnectionTrait>(
    db: &C,
    agency_ids: &[i64],
    side: SuccessionSide,
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    let (this, other) = match side {
        SuccessionSide::Predecessors => (
            agency_succession::Column::SuccessorId,
            agency_succession::Column::PredecessorId,
        ),
        SuccessionSide::Successors => (
            agency_succession::Column::PredecessorId,
            agency_succession::Column::SuccessorId,
        ),
    };
    let links = agency_succession::Entity::find()
        .filter(this.is_in(agency_ids.iter().copied()))
        .order_by_asc(agency_succession::Column::EffectiveOn)
        .order_by_asc(other)
        .all(db)
        .await?;
    let id_of = |l: &agency_succession::Model| match side {
        SuccessionSide::Predecessors => (l.successor_id, l.predecessor_id),
        SuccessionSide::Successors => (l.predecessor_id, l.successor_id),
    };
    with_agencies(db, links.iter().map(id_of).collect()).await
}
