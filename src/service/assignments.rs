//! Editing who a task assigns: the plan's coordinator (or an admin) names the agencies a
//! task assigns directly, in a role, from a day. Rows are ended and started, never
//! rewritten, so the days before keep who was assigned; a change that would alter a
//! period whose reporting window has closed is refused.
use std::collections::HashSet;

use chrono::NaiveDate;
use entity::{assignment, plan, task};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, sea_query::LockType,
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    catalog,
    domain::{AssignmentRole, Role},
    timeline, windows,
};

/// Sets the agencies `task_id` assigns directly in `role` from the day `from` (today
/// when not given): agencies left out end the day before, new ones begin on it. The
/// task's assignments of groups stay as they are.
#[tracing::instrument(skip_all, fields(task = task_id))]
pub async fn set_assignees(
    db: &DatabaseConnection,
    actor: &Principal,
    task_id: i64,
    role: AssignmentRole,
    agency_codes: &[String],
    from: Option<NaiveDate>,
) -> ServiceResult<task::Model> {
    actor.require_role(&[Role::Coordinator, Role::Admin])?;
    let from = from.unwrap_or_else(timeline::today);
    let txn = crate::db::begin_write(db).await?;
    let done = set_assignees_in(&txn, actor, task_id, role, agency_codes, from).await;
    super::settle(txn, done).await
}

/// The body of [`set_assignees`], in its transaction.
async fn set_assignees_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    task_id: i64,
    role: AssignmentRole,
    agency_codes: &[String],
    from: NaiveDate,
) -> ServiceResult<task::Model> {
    // Locked from the read on: concurrent changes of one task's assignees apply one after
    // the other, each to what the one before it left.
    let task = task::Entity::find_by_id(task_id)
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("task"))?;
    let refusal = "only the coordinator of the task's plan edits its assignments";
    windows::require_plan_editor(txn, actor, task.plan_id, refusal).await?;
    windows::refuse_if_closed(txn, &[task.plan_id], from).await?;
    // Codes are read in the plan's own jurisdiction first.
    let plan = plan::Entity::find_by_id(task.plan_id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("plan"))?;
    let task_rows = || {
        assignment::Entity::find()
            .filter(assignment::Column::TaskId.eq(task.id))
            .all(txn)
    };
    // Held before the rows are read for good: see `catalog::named_and_held`.
    let naming_now = task_rows().await?.into_iter().filter_map(|a| a.agency_id);
    let agencies =
        catalog::named_and_held(txn, agency_codes, from, &plan.jurisdiction, naming_now).await?;
    let rows = task_rows().await?;
    let in_role = |a: &&assignment::Model| a.role == role.as_str();
    let holding = |a: &&assignment::Model| timeline::holds(a.valid_from, a.valid_to, from);
    let leads_through_groups = rows
        .iter()
        .filter(in_role)
        .filter(holding)
        .any(|a| a.group_id.is_some());
    if role == AssignmentRole::Lead && agencies.is_empty() && !leads_through_groups {
        return Err(ServiceError::bad_input(
            "a task needs a lead: name at least one agency",
        ));
    }
    let direct: Vec<&assignment::Model> = rows
        .iter()
        .filter(in_role)
        .filter(|a| a.agency_id.is_some())
        .collect();
    let mut before: Vec<i64> = direct
        .iter()
        .copied()
        .filter(holding)
        .filter_map(|a| a.agency_id)
        .collect();
    before.sort_unstable();
    let wanted_ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let mut planned: Vec<(&assignment::Model, timeline::Change)> = direct
        .iter()
        .map(|row| {
            let wanted = wanted_ids.contains(&row.agency_id.unwrap_or_default());
            let change = timeline::change_from(row.valid_from, row.valid_to, wanted, from);
            (*row, change)
        })
        .collect();
    // A row that already holds settles its agency before an ended one could be extended:
    // an agency can have both (one ended yesterday, one a succession gave it today).
    planned.sort_by_key(|(_, change)| *change == timeline::Change::Extend);
    let mut settled: HashSet<i64> = HashSet::new();
    for (row, change) in planned {
        let agency_id = row.agency_id.unwrap_or_default();
        let wanted = wanted_ids.contains(&agency_id);
        // Whether this row is the agency's assignment from `from` on (one per agency).
        let settles = match change {
            timeline::Change::Keep => wanted,
            timeline::Change::BeginSooner => true,
            timeline::Change::Extend => !settled.contains(&agency_id),
            _ => false,
        };
        if change == timeline::Change::Extend && !settles {
            continue;
        }
        apply_to_assignment(txn, row, change, from).await?;
        if settles {
            settled.insert(agency_id);
        }
    }
    let mut position = rows.iter().map(|a| a.position).max().unwrap_or(0);
    for agency in agencies.iter().filter(|a| !settled.contains(&a.id)) {
        position += 1;
        assignment::Entity::insert(assignment::ActiveModel {
            task_id: Set(task.id),
            role: Set(role.as_str().to_owned()),
            agency_id: Set(Some(agency.id)),
            group_id: Set(None),
            wording: Set(agency.short_name.clone()),
            position: Set(position),
            valid_from: Set(Some(from)),
            valid_to: Set(None),
            ..Default::default()
        })
        .exec_without_returning(txn)
        .await?;
    }
    let mut after = wanted_ids;
    after.sort_unstable();
    let change = Change {
        entity: "task",
        entity_id: task.id,
        agency_id: Some(actor.agency_id),
        action: "set_assignees",
        before: Some(json!({ "role": role.as_str(), "agencies": before })),
        after: Some(json!({ "role": role.as_str(), "agencies": after, "from": from })),
    };
    audit::record(txn, Some(actor), change).await?;
    Ok(task)
}

/// Writes a change of one assignment's days (see `timeline::apply_change`).
pub(super) async fn apply_to_assignment<C: sea_orm::ConnectionTrait>(
    db: &C,
    assignment: &assignment::Model,
    change: timeline::Change,
    from: NaiveDate,
) -> ServiceResult<()> {
    let this = sea_orm::Condition::all().add(assignment::Column::Id.eq(assignment.id));
    let days = (assignment::Column::ValidFrom, assignment::Column::ValidTo);
    timeline::apply_change::<assignment::Entity, _>(db, this, days, change, from).await
}
