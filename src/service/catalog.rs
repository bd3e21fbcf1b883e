//! Reads of the plan itself: plans, sections, tasks, agencies, groups, periods. These are
//! public to every signed-in principal; batch functions serve the GraphQL DataLoaders, so
//! each relation costs a fixed number of statements whatever the number of parents.
use std::collections::{HashMap, HashSet};

use entity::{
    agency, agency_group, agency_group_member, assignment, deliverable, period, plan, section,
    task, task_period,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement},
};

use super::{
    domain::{AgencyKind, AssignmentRole, PeriodKind, TaskSchedule},
    error::ServiceResult,
    pagination::{KeyValue, Page, PageRequest, SortKey, check_order_len, paginate},
    text,
};

/// Rows of any table whose primary key is `id`, in no particular order.
pub async fn find_by_ids<E, C>(db: &C, ids: &[i64]) -> ServiceResult<Vec<E::Model>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(E::find()
        .filter(Expr::col((E::default(), Alias::new("id"))).is_in(ids.iter().copied()))
        .all(db)
        .await?)
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

pub async fn agency_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ServiceResult<Option<agency::Model>> {
    Ok(agency::Entity::find()
        .filter(agency::Column::Code.eq(code.trim()))
        .one(db)
        .await?)
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

pub async fn list_plans<C: ConnectionTrait>(
    db: &C,
    page: &PageRequest,
) -> ServiceResult<Page<plan::Model>> {
    let keys = [SortKey::new(
        plan::Column::Id,
        Order::Asc,
        |p: &plan::Model| KeyValue::Int(p.id),
    )];
    paginate(db, plan::Entity::find(), &keys, page).await
}

pub async fn sections_of_plans<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Vec<section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(section::Column::Position)
        .all(db)
        .await?)
}

pub async fn tasks_of_sections<C: ConnectionTrait>(
    db: &C,
    section_ids: &[i64],
) -> ServiceResult<Vec<task::Model>> {
    Ok(task::Entity::find()
        .filter(task::Column::SectionId.is_in(section_ids.iter().copied()))
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?)
}

pub async fn assignments_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<assignment::Model>> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::TaskId.is_in(task_ids.iter().copied()))
        .order_by_asc(assignment::Column::Position)
        .all(db)
        .await?)
}

pub async fn deliverables_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<deliverable::Model>> {
    Ok(deliverable::Entity::find()
        .filter(deliverable::Column::TaskId.is_in(task_ids.iter().copied()))
        .order_by_asc(deliverable::Column::Position)
        .all(db)
        .await?)
}

/// The phase periods each task's timeframe covers, as (task id, period).
pub async fn timeframes_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
) -> ServiceResult<Vec<(i64, period::Model)>> {
    let links = task_period::Entity::find()
        .filter(task_period::Column::TaskId.is_in(task_ids.iter().copied()))
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

/// Members of each group, as (group id, agency), in agency id order.
pub async fn members_of_groups<C: ConnectionTrait>(
    db: &C,
    group_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    let links = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(agency_group_member::Column::AgencyId)
        .all(db)
        .await?;
    let agency_ids: Vec<i64> = links
        .iter()
        .map(|l| l.agency_id)
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
        .filter_map(|l| agencies.get(&l.agency_id).map(|a| (l.group_id, a.clone())))
        .collect())
}

/// Groups each agency belongs to, as (agency id, group).
pub async fn groups_of_agencies<C: ConnectionTrait>(
    db: &C,
    agency_ids: &[i64],
) -> ServiceResult<Vec<(i64, agency_group::Model)>> {
    let links = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::AgencyId.is_in(agency_ids.iter().copied()))
        .all(db)
        .await?;
    let group_ids: Vec<i64> = links
        .iter()
        .map(|l| l.group_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut groups = find_by_ids::<agency_group::Entity, _>(db, &group_ids).await?;
    groups.sort_by_key(|g| g.id);
    let mut out = Vec::new();
    for group in groups {
        for link in links.iter().filter(|l| l.group_id == group.id) {
            out.push((link.agency_id, group.clone()));
        }
    }
    Ok(out)
}

/// The agencies each task assigns in `role`, groups expanded to their members, each agency
/// once per task, in the plan's order.
pub async fn agencies_of_tasks<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
    role: AssignmentRole,
) -> ServiceResult<Vec<(i64, agency::Model)>> {
    let assignments: Vec<assignment::Model> = assignments_of_tasks(db, task_ids)
        .await?
        .into_iter()
        .filter(|a| a.role == role.as_str())
        .collect();
    let group_ids: Vec<i64> = assignments
        .iter()
        .filter_map(|a| a.group_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let links = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(agency_group_member::Column::AgencyId)
        .all(db)
        .await?;
    let agency_ids: Vec<i64> = assignments
        .iter()
        .filter_map(|a| a.agency_id)
        .chain(links.iter().map(|l| l.agency_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let agencies: HashMap<i64, agency::Model> = find_by_ids::<agency::Entity, _>(db, &agency_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in &assignments {
        let members: Vec<i64> = match (a.agency_id, a.group_id) {
            (Some(agency_id), _) => vec![agency_id],
            (None, Some(group_id)) => links
                .iter()
                .filter(|l| l.group_id == group_id)
                .map(|l| l.agency_id)
                .collect(),
            (None, None) => Vec::new(),
        };
        for agency_id in members {
            if seen.insert((a.task_id, agency_id))
                && let Some(agency) = agencies.get(&agency_id)
            {
                out.push((a.task_id, agency.clone()));
            }
        }
    }
    Ok(out)
}

/// The tasks each agency is assigned in `role`, directly or through a group, as
/// (agency id, task), in the plan's order.
pub async fn tasks_of_agencies<C: ConnectionTrait>(
    db: &C,
    agency_ids: &[i64],
    role: AssignmentRole,
) -> ServiceResult<Vec<(i64, task::Model)>> {
    let links = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::AgencyId.is_in(agency_ids.iter().copied()))
        .all(db)
        .await?;
    let group_ids: Vec<i64> = links.iter().map(|l| l.group_id).collect();
    let assignments = assignment::Entity::find()
        .filter(assignment::Column::Role.eq(role.as_str()))
        .filter(
            Condition::any()
                .add(assignment::Column::AgencyId.is_in(agency_ids.iter().copied()))
                .add(assignment::Column::GroupId.is_in(group_ids.iter().copied())),
        )
        .all(db)
        .await?;
    let task_ids: Vec<i64> = assignments
        .iter()
        .map(|a| a.task_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut tasks = find_by_ids::<task::Entity, _>(db, &task_ids).await?;
    tasks.sort_by_key(|t| (t.plan_id, t.position));
    let mut out = Vec::new();
    for &agency_id in agency_ids {
        let groups: HashSet<i64> = links
            .iter()
            .filter(|l| l.agency_id == agency_id)
            .map(|l| l.group_id)
            .collect();
        let assigned: HashSet<i64> = assignments
            .iter()
            .filter(|a| {
                a.agency_id == Some(agency_id) || a.group_id.is_some_and(|g| groups.contains(&g))
            })
            .map(|a| a.task_id)
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

/// How a task list is filtered. Codes are agency codes; unknown codes match nothing.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub plan_id: Option<i64>,
    pub plan_code: Option<String>,
    pub section: Option<String>,
    pub lead_agency: Option<String>,
    pub partner_agency: Option<String>,
    pub agency: Option<String>,
    pub schedule: Option<TaskSchedule>,
    pub search: Option<String>,
}

/// Orders of a task list; every order ends with the id so it is total.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum TaskOrder {
    /// The plan's own order (section, then number).
    #[default]
    PositionAsc,
    PositionDesc,
    /// By content, ignoring case and diacritics.
    ContentAsc,
    ContentDesc,
}

/// `SELECT id FROM plan WHERE code = …`: a filter by plan code that matches nothing
/// for an unknown code.
pub fn plan_id_of(code: &str) -> SelectStatement {
    Query::select()
        .column(plan::Column::Id)
        .from(plan::Entity)
        .and_where(plan::Column::Code.eq(text::normalize(code)))
        .to_owned()
}

/// `SELECT id FROM agency WHERE code = …`.
pub fn agency_id_of(code: &str) -> SelectStatement {
    Query::select()
        .column(agency::Column::Id)
        .from(agency::Entity)
        .and_where(agency::Column::Code.eq(code.trim()))
        .to_owned()
}

/// `SELECT id FROM period WHERE code = …`.
pub fn period_id_of(code: &str) -> SelectStatement {
    Query::select()
        .column(period::Column::Id)
        .from(period::Entity)
        .and_where(period::Column::Code.eq(code.trim()))
        .to_owned()
}

/// Ids of the sections with this numeral (one per plan), e.g. "III".
pub fn section_ids_of(numeral: &str) -> SelectStatement {
    Query::select()
        .column(section::Column::Id)
        .from(section::Entity)
        .and_where(section::Column::Numeral.eq(numeral.trim().to_uppercase()))
        .to_owned()
}

/// Task ids assigned to the agency `code` (directly or through a group), in `role` or any.
fn tasks_assigned_to(code: &str, role: Option<AssignmentRole>) -> SelectStatement {
    let agency_id = agency_id_of(code);
    let groups = Query::select()
        .column(agency_group_member::Column::GroupId)
        .from(agency_group_member::Entity)
        .and_where(agency_group_member::Column::AgencyId.in_subquery(agency_id.clone()))
        .to_owned();
    let mut query = Query::select();
    query
        .column(assignment::Column::TaskId)
        .from(assignment::Entity)
        .cond_where(
            Condition::any()
                .add(assignment::Column::AgencyId.in_subquery(agency_id))
                .add(assignment::Column::GroupId.in_subquery(groups)),
        );
    if let Some(role) = role {
        query.and_where(assignment::Column::Role.eq(role.as_str()));
    }
    query
}

pub async fn list_tasks<C: ConnectionTrait>(
    db: &C,
    filter: &TaskFilter,
    order: &[TaskOrder],
    page: &PageRequest,
) -> ServiceResult<Page<task::Model>> {
    let mut select = task::Entity::find();
    if let Some(plan_id) = filter.plan_id {
        select = select.filter(task::Column::PlanId.eq(plan_id));
    }
    if let Some(code) = &filter.plan_code {
        select = select.filter(task::Column::PlanId.in_subquery(plan_id_of(code)));
    }
    if let Some(numeral) = &filter.section {
        select = select.filter(task::Column::SectionId.in_subquery(section_ids_of(numeral)));
    }
    for (code, role) in [
        (&filter.lead_agency, Some(AssignmentRole::Lead)),
        (&filter.partner_agency, Some(AssignmentRole::Partner)),
        (&filter.agency, None),
    ] {
        if let Some(code) = code {
            select = select.filter(task::Column::Id.in_subquery(tasks_assigned_to(code, role)));
        }
    }
    if let Some(schedule) = filter.schedule {
        select = select.filter(task::Column::Schedule.eq(schedule.as_str()));
    }
    if let Some(search) = &filter.search {
        select = select.filter(text::matches_all(task::Column::SearchText, search)?);
    }
    check_order_len(order.len())?;
    let mut keys: Vec<SortKey<task::Entity>> = Vec::new();
    for o in if order.is_empty() {
        &[TaskOrder::PositionAsc][..]
    } else {
        order
    } {
        match o {
            TaskOrder::PositionAsc | TaskOrder::PositionDesc => {
                let dir = if *o == TaskOrder::PositionAsc {
                    Order::Asc
                } else {
                    Order::Desc
                };
                keys.push(SortKey::new(
                    task::Column::PlanId,
                    dir.clone(),
                    |t: &task::Model| KeyValue::Int(t.plan_id),
                ));
                keys.push(SortKey::new(
                    task::Column::Position,
                    dir,
                    |t: &task::Model| KeyValue::Int(t.position.into()),
                ));
            }
            TaskOrder::ContentAsc | TaskOrder::ContentDesc => {
                let dir = if *o == TaskOrder::ContentAsc {
                    Order::Asc
                } else {
                    Order::Desc
                };
                keys.push(SortKey::new(
                    task::Column::SearchText,
                    dir,
                    |t: &task::Model| KeyValue::Text(t.search_text.clone()),
                ));
            }
        }
    }
    keys.push(SortKey::new(
        task::Column::Id,
        Order::Asc,
        |t: &task::Model| KeyValue::Int(t.id),
    ));
    paginate(db, select, &keys, page).await
}

#[derive(Clone, Debug, Default)]
pub struct AgencyFilter {
    pub kind: Option<AgencyKind>,
    pub is_tenant: Option<bool>,
    pub group: Option<String>,
    pub search: Option<String>,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum AgencyOrder {
    #[default]
    CodeAsc,
    CodeDesc,
    /// By name, ignoring case and diacritics.
    NameAsc,
    NameDesc,
}

pub async fn list_agencies<C: ConnectionTrait>(
    db: &C,
    filter: &AgencyFilter,
    order: AgencyOrder,
    page: &PageRequest,
) -> ServiceResult<Page<agency::Model>> {
    let mut select = agency::Entity::find();
    if let Some(kind) = filter.kind {
        select = select.filter(agency::Column::Kind.eq(kind.as_str()));
    }
    if let Some(is_tenant) = filter.is_tenant {
        select = select.filter(agency::Column::IsTenant.eq(is_tenant));
    }
    if let Some(group) = &filter.group {
        select = select.filter(
            agency::Column::Id.in_subquery(
                Query::select()
                    .column(agency_group_member::Column::AgencyId)
                    .from(agency_group_member::Entity)
                    .and_where(
                        agency_group_member::Column::GroupId.in_subquery(
                            Query::select()
                                .column(agency_group::Column::Id)
                                .from(agency_group::Entity)
                                .and_where(agency_group::Column::Code.eq(group.trim()))
                                .to_owned(),
                        ),
                    )
                    .to_owned(),
            ),
        );
    }
    if let Some(search) = &filter.search {
        select = select.filter(text::matches_all(agency::Column::SearchText, search)?);
    }
    let keys = match order {
        AgencyOrder::CodeAsc | AgencyOrder::CodeDesc => {
            let dir = if order == AgencyOrder::CodeAsc {
                Order::Asc
            } else {
                Order::Desc
            };
            vec![SortKey::new(
                agency::Column::Code,
                dir,
                |a: &agency::Model| KeyValue::Text(a.code.clone()),
            )]
        }
        AgencyOrder::NameAsc | AgencyOrder::NameDesc => {
            let dir = if order == AgencyOrder::NameAsc {
                Order::Asc
            } else {
                Order::Desc
            };
            vec![
                SortKey::new(agency::Column::SearchText, dir, |a: &agency::Model| {
                    KeyValue::Text(a.search_text.clone())
                }),
                SortKey::new(agency::Column::Id, Order::Asc, |a: &agency::Model| {
                    KeyValue::Int(a.id)
                }),
            ]
        }
    };
    paginate(db, select, &keys, page).await
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

/// The role in which a task assigns an agency (directly or through a group); LEAD wins
/// where it is both.
pub async fn assigned_role<C: ConnectionTrait>(
    db: &C,
    agency_id: i64,
    task_id: i64,
) -> ServiceResult<Option<AssignmentRole>> {
    let mut roles: Vec<AssignmentRole> = Vec::new();
    for role in [AssignmentRole::Lead, AssignmentRole::Partner] {
        let tasks = tasks_of_agencies(db, &[agency_id], role).await?;
        if tasks.iter().any(|(_, t)| t.id == task_id) {
            roles.push(role);
        }
    }
    Ok(roles.first().copied())
}
