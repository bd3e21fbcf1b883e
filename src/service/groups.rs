//! Agency groups the plan leaves open ("các sở, ngành có liên quan", "UBND các huyện
//! nghèo"): the coordinator names their members.

use chrono::NaiveDate;
use entity::{agency_group, agency_group_member, assignment, plan, task};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{LockType, Query},
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    catalog,
    domain::Role,
    timeline, windows,
};

/// Replaces the members of a group from the day `from` (today when not given): members
/// left out end the day before, new ones start on it, and the rows of earlier days stay
/// as they were. Allowed to admins, and to the coordinator of a plan the group belongs to
/// or whose tasks assign it; refused where it would change the reports owed for a period
/// whose reporting window has closed.
#[tracing::instrument(skip_all)]
pub async fn set_members(
    db: &DatabaseConnection,
    actor: &Principal,
    group_code: &str,
    agency_codes: &[String],
    from: Option<NaiveDate>,
) -> ServiceResult<agency_group::Model> {
    actor.require_role(&[Role::Coordinator, Role::Admin])?;
    let from = from.unwrap_or_else(timeline::today);
    let txn = crate::db::begin_write(db).await?;
    let done = set_members_in(&txn, actor, group_code, agency_codes, from).await;
    super::settle(txn, done).await
}

/// The body of [`set_members`], in its transaction.
async fn set_members_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    group_code: &str,
    agency_codes: &[String],
    from: NaiveDate,
) -> ServiceResult<agency_group::Model> {
    let found = catalog::group_by_code_in(txn, group_code, None)
        .await?
        .ok_or_else(|| ServiceError::not_found("agency group"))?;
    // Locked from here on: concurrent changes of one group's members apply one after the
    // other, each to what the one before it left.
    let group = agency_group::Entity::find_by_id(found.id)
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("agency group"))?;
    let assigning_plans = Query::select()
        .column(task::Column::PlanId)
        .from(task::Entity)
        .and_where(
            task::Column::Id.in_subquery(
                Query::select()
                    .column(assignment::Column::TaskId)
                    .from(assignment::Entity)
                    .and_where(assignment::Column::GroupId.eq(group.id))
                    .to_owned(),
            ),
        )
        .to_owned();
    let using_plans = plan::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(plan::Column::Id.eq(group.plan_id.unwrap_or(-1)))
                .add(plan::Column::Id.in_subquery(assigning_plans)),
        )
        .filter(if actor.role == Role::Coordinator {
            timeline::coordinates_today(actor.agency_id)
        } else {
            sea_orm::Condition::all()
        })
        .all(txn)
        .await?;
    if actor.role == Role::Coordinator && using_plans.is_empty() {
        return Err(ServiceError::forbidden(
            "only the coordinator of a plan that uses the group sets its members",
        ));
    }
    if group.expands_to.is_some() {
        return Err(ServiceError::BadInput(format!(
            "the group «{}» stands for its plan's coordinator and has no members to set; the \
             coordination passes by a succession",
            group.name
        )));
    }
    let plan_ids: Vec<i64> = using_plans.iter().map(|p| p.id).collect();
    windows::refuse_if_closed(txn, &plan_ids, from).await?;
    let group_rows = || {
        agency_group_member::Entity::find()
            .filter(agency_group_member::Column::GroupId.eq(group.id))
            .all(txn)
    };
    // Held before the rows are read for good: see `catalog::named_and_held`.
    let members_now = group_rows().await?.into_iter().map(|m| m.agency_id);
    let agencies =
        catalog::named_and_held(txn, agency_codes, from, &group.jurisdiction, members_now).await?;
    let rows = group_rows().await?;
    let holds = |m: &agency_group_member::Model| timeline::holds(m.valid_from, m.valid_to, from);
    let mut before: Vec<i64> = rows
        .iter()
        .filter(|m| holds(m))
        .map(|m| m.agency_id)
        .collect();
    before.sort_unstable();
    let mut after: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    after.sort_unstable();
    for row in &rows {
        let wanted = after.contains(&row.agency_id);
        let change = timeline::change_from(row.valid_from, row.valid_to, wanted, from);
        // One membership row per agency and group.
        if change == timeline::Change::Renew {
            let code = agencies
                .iter()
                .find(|a| a.id == row.agency_id)
                .map_or("?", |a| a.code.as_str());
            return Err(ServiceError::bad_input(format!(
                "`{code}` left the group on {} and cannot rejoin it from {from}",
                row.valid_to.map_or_else(String::new, |d| d.to_string())
            )));
        }
        apply_to_membership(txn, row, change, from).await?;
    }
    let joining: Vec<i64> = after
        .iter()
        .copied()
        .filter(|id| !rows.iter().any(|m| m.agency_id == *id))
        .collect();
    if !joining.is_empty() {
        agency_group_member::Entity::insert_many(joining.iter().map(|&agency_id| {
            agency_group_member::ActiveModel {
                group_id: Set(group.id),
                agency_id: Set(agency_id),
                valid_from: Set(Some(from)),
                valid_to: Set(None),
            }
        }))
        .exec(txn)
        .await?;
    }
    let change = Change {
        entity: "agency_group",
        entity_id: group.id,
        agency_id: Some(actor.agency_id),
        action: "set_members",
        before: Some(json!({ "members": before })),
        after: Some(json!({ "members": after, "from": from })),
    };
    audit::record(txn, Some(actor), change).await?;
    Ok(group)
}

/// Writes a change of one membership's days (see `timeline::apply_change`).
pub(super) async fn apply_to_membership<C: sea_orm::ConnectionTrait>(
    db: &C,
    membership: &agency_group_member::Model,
    change: timeline::Change,
    from: NaiveDate,
) -> ServiceResult<()> {
    let this = sea_orm::Condition::all()
        .add(agency_group_member::Column::GroupId.eq(membership.group_id))
        .add(agency_group_member::Column::AgencyId.eq(membership.agency_id));
    let days = (
        agency_group_member::Column::ValidFrom,
        agency_group_member::Column::ValidTo,
    );
    timeline::apply_change::<agency_group_member::Entity, _>(db, this, days, change, from).await
}
