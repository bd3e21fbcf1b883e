//! Reorganizations: an agency ends and its work passes to successors, as one audited
//! operation. Nothing is rewritten: the old agency's assignments and group memberships
//! end the day before the successors' begin, so every period before keeps who owed it.
//!
//! On and after the day `from`:
//! - the old agency no longer exists (its users keep reading, but write nothing);
//! - each of its direct assignments (lead or partner) passes to the successors named for
//!   its task, or else to those taking "the rest";
//! - its group memberships, and so the tasks it had through groups, pass to those taking
//!   the rest;
//! - the plans it coordinates pass to the successor named for coordination;
//! - its successors read its reports (never its drafts), and owe its open obligations:
//!   every period whose duty day (`timeline::duty_day`) is on or after `from`.
use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use entity::{
    agency, agency_group_member, agency_succession, assignment, plan, plan_coordination, task,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, LockType, OnConflict},
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult, assignments,
    audit::{self, Change},
    auth::Principal,
    catalog,
    domain::Role,
    groups, timeline, windows,
};

/// Most hand-overs of one succession (the districts' work went to a few communes each).
pub const MAX_HANDOVERS: usize = 100;
/// Most tasks one hand-over names.
pub const MAX_NAMED_TASKS: usize = 1000;

/// One successor's share of the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The successor's agency code.
    pub successor: String,
    /// The tasks (ids) whose assignments pass to this successor; `None`: every task not
    /// named in another hand-over, and the group memberships.
    pub tasks: Option<Vec<i64>>,
    /// Whether the plans the old agency coordinates pass to this successor.
    pub coordination: bool,
}

/// A reorganization of one agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Succession {
    /// The code of the agency that ends.
    pub agency: String,
    /// Its last day; the successors take over the day after.
    pub last_day: NaiveDate,
    pub handovers: Vec<Handover>,
    /// The decision that orders it, for the audit trail.
    pub source: Option<String>,
}

/// What a succession did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuccessionReport {
    pub assignments_passed: usize,
    pub memberships_passed: usize,
    pub plans_passed: usize,
}

/// Records a succession (admins only). `actor` is None for the command line.
#[tracing::instrument(skip_all, fields(agency = %succession.agency))]
pub async fn record(
    db: &DatabaseConnection,
    actor: Option<&Principal>,
    succession: &Succession,
) -> ServiceResult<(agency::Model, SuccessionReport)> {
    if let Some(actor) = actor {
        actor.require_role(&[Role::Admin])?;
    }
    let txn = crate::db::begin_write(db).await?;
    let done = record_in(&txn, actor, succession).await;
    let recorded = super::settle(txn, done).await?;
    // The successor's users now read their predecessors' reports.
    super::sign_ins::forget_all();
    Ok(recorded)
}

/// [`record`] inside a caller's transaction (a file of several successions is one).
pub async fn record_in<C: ConnectionTrait>(
    db: &C,
    actor: Option<&Principal>,
    succession: &Succession,
) -> ServiceResult<(agency::Model, SuccessionReport)> {
    let last_day = succession.last_day;
    let today = timeline::today();
    let plausible =
        (today - chrono::Duration::days(100 * 365))..=(today + chrono::Duration::days(10 * 365));
    if !plausible.contains(&last_day) {
        return Err(ServiceError::bad_input(format!(
            "lastDay {last_day} is not within a hundred years before or ten years after today"
        )));
    }
    let from = last_day
        .succ_opt()
        .ok_or_else(|| ServiceError::bad_input("lastDay is out of range"))?;
    if succession.handovers.len() > MAX_HANDOVERS {
        return Err(ServiceError::bad_input(format!(
            "at most {MAX_HANDOVERS} hand-overs per succession"
        )));
    }
    let old = catalog::agency_by_code(db, &succession.agency)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("agency `{}`", succession.agency)))?;
    if !old.is_tenant {
        return Err(ServiceError::bad_input(format!(
            "`{}` keeps no reports of its own: only tenant agencies are succeeded",
            old.code
        )));
    }
    if old.valid_from.is_some_and(|f| f > last_day) {
        return Err(ServiceError::bad_input(format!(
            "agency `{}` begins after {last_day}",
            old.code
        )));
    }
    // Every agency the succession names, locked before anything is checked for good:
    // successions naming the same agencies (A to B while B to A) take turns and each sees
    // what the one before it did, and a task or group naming one of them waits too
    // (`catalog::lock_agencies`).
    let named = successors(db, &old, from, &succession.handovers).await?;
    let locked = named.iter().map(|a| a.id).chain([old.id]);
    catalog::lock_agencies(db, locked, LockType::NoKeyUpdate).await?;
    // First, and only if it has not ended: concurrent successions of one agency wait
    // above for the first, then find it ended here and stop.
    let ended = agency::Entity::update_many()
        .col_expr(agency::Column::ValidTo, Expr::value(last_day))
        .filter(agency::Column::Id.eq(old.id))
        .filter(agency::Column::ValidTo.is_null())
        .exec(db)
        .await?;
    if ended.rows_affected != 1 {
        let now = agency::Entity::find_by_id(old.id).one(db).await?;
        return Err(ServiceError::bad_input(format!(
            "agency `{}` already ended on {}",
            old.code,
            now.and_then(|a| a.valid_to)
                .map_or_else(|| "an earlier day".to_owned(), |d| d.to_string())
        )));
    }
    // Read again now that they are locked: one may have ended meanwhile.
    let successors = successors(db, &old, from, &succession.handovers).await?;

    // What the old agency holds on the day it hands over, or would hold later.
    let alive = |valid_to: Option<NaiveDate>| valid_to.is_none_or(|t| t >= from);
    let assignments: Vec<assignment::Model> = assignment::Entity::find()
        .filter(assignment::Column::AgencyId.eq(old.id))
        .all(db)
        .await?
        .into_iter()
        .filter(|a| alive(a.valid_to))
        .collect();
    let memberships: Vec<agency_group_member::Model> = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::AgencyId.eq(old.id))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| alive(m.valid_to))
        .collect();
    let coordinated: Vec<plan::Model> = plan::Entity::find()
        .filter(timeline::coordinator_on(Expr::val(from)).eq(Expr::val(old.id)))
        .all(db)
        .await?;

    // Who takes what: named tasks first, the rest to the hand-overs without a list.
    let named: HashMap<i64, &agency::Model> = {
        let mut named: HashMap<i64, &agency::Model> = HashMap::new();
        for (handover, successor) in succession.handovers.iter().zip(&successors) {
            let tasks = handover.tasks.iter().flatten();
            if tasks.clone().count() > MAX_NAMED_TASKS {
                return Err(ServiceError::bad_input(format!(
                    "at most {MAX_NAMED_TASKS} tasks per hand-over"
                )));
            }
            for task in tasks {
                if !assignments.iter().any(|a| a.task_id == *task) {
                    return Err(ServiceError::bad_input(format!(
                        "task {task} does not assign `{}` on or after {from}",
                        old.code
                    )));
                }
                // One successor per assignment: its reports have one owner.
                if named.insert(*task, successor).is_some() {
                    return Err(ServiceError::bad_input(format!(
                        "task {task} is named in two hand-overs; each task passes to one \
                         successor"
                    )));
                }
            }
        }
        named
    };
    let rest: Vec<&agency::Model> = succession
        .handovers
        .iter()
        .zip(&successors)
        .filter(|(h, _)| h.tasks.is_none())
        .map(|(_, s)| s)
        .collect();
    let takers: Vec<&agency::Model> = succession
        .handovers
        .iter()
        .zip(&successors)
        .filter(|(h, _)| h.coordination)
        .map(|(_, s)| s)
        .collect();
    let unhanded: BTreeSet<i64> = assignments
        .iter()
        .filter(|a| !named.contains_key(&a.task_id))
        .map(|a| a.task_id)
        .collect();
    if rest.is_empty() && (!unhanded.is_empty() || !memberships.is_empty()) {
        let mut lost = Vec::new();
        let tasks = task_labels(db, &unhanded).await?;
        if !tasks.is_empty() {
            lost.push(format!("tasks {}", tasks.join(", ")));
        }
        if !memberships.is_empty() {
            lost.push(format!("{} group memberships", memberships.len()));
        }
        return Err(ServiceError::bad_input(format!(
            "nothing may be lost: no successor takes the {} of `{}`; name one without a \
             task list to take the rest",
            lost.join(" and "),
            old.code
        )));
    }
    match (coordinated.is_empty(), takers.len()) {
        (true, 0) | (false, 1) => {}
        (true, _) => {
            return Err(ServiceError::bad_input(format!(
                "`{}` coordinates no plan on {from}: no coordination to hand over",
                old.code
            )));
        }
        (false, _) => {
            return Err(ServiceError::bad_input(format!(
                "`{}` coordinates {}: exactly one successor must take the coordination",
                old.code,
                coordinated
                    .iter()
                    .map(|p| p.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    // Closed periods stay as they were: the plans of its tasks, direct or through its
    // groups, and those it coordinates.
    let group_ids: Vec<i64> = memberships.iter().map(|m| m.group_id).collect();
    let through_groups = assignment::Entity::find()
        .filter(assignment::Column::GroupId.is_in(group_ids.iter().copied()))
        .all(db)
        .await?;
    let task_ids: Vec<i64> = assignments
        .iter()
        .chain(&through_groups)
        .map(|a| a.task_id)
        .collect();
    let mut plan_ids: Vec<i64> = catalog::find_by_ids::<task::Entity, _>(db, &task_ids)
        .await?
        .into_iter()
        .map(|t| t.plan_id)
        .chain(coordinated.iter().map(|p| p.id))
        .collect();
    plan_ids.sort_unstable();
    plan_ids.dedup();
    windows::refuse_if_closed(db, &plan_ids, from).await?;

    let mut report = SuccessionReport::default();
    // The old agency's rows end with it (it ended first thing, above); rows it was to
    // begin later pass on as they are.
    for a in &assignments {
        let to: Vec<&agency::Model> = match named.get(&a.task_id) {
            Some(named) => vec![*named],
            None => rest.clone(),
        };
        let begins = a.valid_from.map_or(from, |f| Ord::max(f, from));
        let ends = timeline::change_from(a.valid_from, a.valid_to, false, from);
        assignments::apply_to_assignment(db, a, ends, from).await?;
        for successor in to {
            let already = assignment::Entity::find()
                .filter(assignment::Column::TaskId.eq(a.task_id))
                .filter(assignment::Column::Role.eq(a.role.as_str()))
                .filter(assignment::Column::AgencyId.eq(successor.id))
                .all(db)
                .await?
                .into_iter()
                .any(|b| timeline::holds(b.valid_from, b.valid_to, begins));
            if already {
                continue;
            }
            assignment::Entity::insert(assignment::ActiveModel {
                task_id: Set(a.task_id),
                role: Set(a.role.clone()),
                agency_id: Set(Some(successor.id)),
                group_id: Set(None),
                wording: Set(successor.short_name.clone()),
                position: Set(a.position),
                valid_from: Set(Some(begins)),
                valid_to: Set(a.valid_to),
                ..Default::default()
            })
            .exec_without_returning(db)
            .await?;
            report.assignments_passed += 1;
        }
    }
    for m in &memberships {
        let ends = timeline::change_from(m.valid_from, m.valid_to, false, from);
        groups::apply_to_membership(db, m, ends, from).await?;
        let begins = m.valid_from.map_or(from, |f| Ord::max(f, from));
        for successor in &rest {
            let existing = agency_group_member::Entity::find()
                .filter(agency_group_member::Column::GroupId.eq(m.group_id))
                .filter(agency_group_member::Column::AgencyId.eq(successor.id))
                .one(db)
                .await?;
            match existing {
                Some(e) if timeline::holds(e.valid_from, e.valid_to, begins) => continue,
                Some(_) => {
                    return Err(ServiceError::bad_input(format!(
                        "`{}` left group {} before and cannot rejoin it",
                        successor.code, m.group_id
                    )));
                }
                None => {}
            }
            agency_group_member::Entity::insert(agency_group_member::ActiveModel {
                group_id: Set(m.group_id),
                agency_id: Set(successor.id),
                valid_from: Set(Some(begins)),
                valid_to: Set(m.valid_to),
            })
            .exec_without_returning(db)
            .await?;
            report.memberships_passed += 1;
        }
    }
    if let Some(taker) = takers.first() {
        for plan in &coordinated {
            plan_coordination::Entity::insert(plan_coordination::ActiveModel {
                plan_id: Set(plan.id),
                valid_from: Set(from),
                agency_id: Set(taker.id),
            })
            .on_conflict(
                OnConflict::columns([
                    plan_coordination::Column::PlanId,
                    plan_coordination::Column::ValidFrom,
                ])
                .update_column(plan_coordination::Column::AgencyId)
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            report.plans_passed += 1;
        }
    }
    for successor in &successors {
        agency_succession::Entity::insert(agency_succession::ActiveModel {
            predecessor_id: Set(old.id),
            successor_id: Set(successor.id),
            effective_on: Set(from),
        })
        .on_conflict(
            OnConflict::columns([
                agency_succession::Column::PredecessorId,
                agency_succession::Column::SuccessorId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    let change = Change {
        entity: "agency",
        entity_id: old.id,
        agency_id: actor.map(|a| a.agency_id),
        action: "succession",
        before: Some(json!({ "validTo": null })),
        after: Some(json!({
            "validTo": last_day,
            "handovers": succession.handovers.iter().zip(&successors).map(|(h, s)| json!({
                "successor": s.code,
                "tasks": h.tasks,
                "coordination": h.coordination,
            })).collect::<Vec<_>>(),
            "assignmentsPassed": report.assignments_passed,
            "membershipsPassed": report.memberships_passed,
            "plansPassed": report.plans_passed,
            "source": succession.source,
        })),
    };
    audit::record(db, actor, change).await?;
    let ended = agency::Entity::find_by_id(old.id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("agency"))?;
    Ok((ended, report))
}

/// The successors of the hand-overs, in their order: existing agencies other than the
/// old one, that exist on `from`.
async fn successors<C: ConnectionTrait>(
    db: &C,
    old: &agency::Model,
    from: NaiveDate,
    handovers: &[Handover],
) -> ServiceResult<Vec<agency::Model>> {
    let mut out = Vec::with_capacity(handovers.len());
    for handover in handovers {
        // A bare code is read in the old agency's jurisdiction first.
        let successor =
            catalog::agency_by_code_in(db, &handover.successor, Some(&old.jurisdiction))
                .await?
                .ok_or_else(|| {
                    ServiceError::bad_input(format!("unknown agency code `{}`", handover.successor))
                })?;
        if successor.id == old.id {
            return Err(ServiceError::bad_input("an agency cannot succeed itself"));
        }
        if out.iter().any(|s: &agency::Model| s.id == successor.id) {
            return Err(ServiceError::bad_input(format!(
                "`{}` is named twice; give it one hand-over",
                successor.code
            )));
        }
        if !successor.is_tenant {
            return Err(ServiceError::bad_input(format!(
                "`{}` is not a tenant agency and cannot take over reporting",
                successor.code
            )));
        }
        if !timeline::holds(successor.valid_from, successor.valid_to, from) {
            return Err(ServiceError::bad_input(format!(
                "`{}` does not exist on {from}",
                successor.code
            )));
        }
        // Work passed to an agency that ends would be owed by nobody after it (and a
        // chain back to the old agency would be a cycle).
        if let Some(ends) = successor.valid_to {
            return Err(ServiceError::bad_input(format!(
                "`{}` ends on {ends}: a successor takes the work on for good; record its own \
                 succession after this one",
                successor.code
            )));
        }
        out.push(successor);
    }
    Ok(out)
}

/// "II.3"-style labels of tasks, for messages.
async fn task_labels<C: ConnectionTrait>(
    db: &C,
    ids: &BTreeSet<i64>,
) -> ServiceResult<Vec<String>> {
    let ids: Vec<i64> = ids.iter().copied().collect();
    let tasks = catalog::find_by_ids::<task::Entity, _>(db, &ids).await?;
    let sections: HashMap<i64, String> = catalog::find_by_ids::<entity::section::Entity, _>(
        db,
        &tasks.iter().map(|t| t.section_id).collect::<Vec<_>>(),
    )
    .await?
    .into_iter()
    .map(|s| (s.id, s.numeral))
    .collect();
    let mut labels: Vec<(i32, String)> = tasks
        .iter()
        .map(|t| {
            let numeral = sections.get(&t.section_id).cloned().unwrap_or_default();
            let label = match t.number {
                Some(n) => format!("{numeral}.{n}"),
                None => numeral,
            };
            (t.position, label)
        })
        .collect();
    labels.sort();
    Ok(labels.into_iter().map(|(_, l)| l).collect())
}
