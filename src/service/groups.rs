//! Agency groups the plan leaves open ("các sở, ngành có liên quan", "UBND các huyện
//! nghèo"): the coordinator names their members.
use std::collections::HashSet;

use entity::{agency, agency_group, agency_group_member, assignment, plan, task};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Query,
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    domain::Role,
};

/// Replaces the members of a group. Allowed to admins, and to the coordinator of a plan
/// the group belongs to or whose tasks assign it.
#[tracing::instrument(skip_all)]
pub async fn set_members(
    db: &DatabaseConnection,
    actor: &Principal,
    group_code: &str,
    agency_codes: &[String],
) -> ServiceResult<agency_group::Model> {
    actor.require_role(&[Role::Coordinator, Role::Admin])?;
    let txn = crate::db::begin(db, Default::default()).await?;
    let group = agency_group::Entity::find()
        .filter(agency_group::Column::Code.eq(group_code.trim()))
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("agency group"))?;
    if actor.role == Role::Coordinator {
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
        let coordinated = plan::Entity::find()
            .filter(plan::Column::CoordinatorId.eq(actor.agency_id))
            .filter(
                sea_orm::Condition::any()
                    .add(plan::Column::Id.eq(group.plan_id.unwrap_or(-1)))
                    .add(plan::Column::Id.in_subquery(assigning_plans)),
            )
            .one(&txn)
            .await?;
        if coordinated.is_none() {
            return Err(ServiceError::forbidden(
                "only the coordinator of a plan that uses the group sets its members",
            ));
        }
    }
    let wanted: HashSet<&str> = agency_codes.iter().map(|c| c.trim()).collect();
    let agencies = agency::Entity::find()
        .filter(agency::Column::Code.is_in(wanted.iter().copied()))
        .all(&txn)
        .await?;
    if agencies.len() != wanted.len() {
        let known: HashSet<&str> = agencies.iter().map(|a| a.code.as_str()).collect();
        let unknown: Vec<&str> = wanted.difference(&known).copied().collect();
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
    let before: Vec<i64> = agency_group_member::Entity::find()
        .filter(agency_group_member::Column::GroupId.eq(group.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| m.agency_id)
        .collect();
    agency_group_member::Entity::delete_many()
        .filter(agency_group_member::Column::GroupId.eq(group.id))
        .exec(&txn)
        .await?;
    let mut after: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    after.sort_unstable();
    if !after.is_empty() {
        agency_group_member::Entity::insert_many(after.iter().map(|&agency_id| {
            agency_group_member::ActiveModel {
                group_id: Set(group.id),
                agency_id: Set(agency_id),
            }
        }))
        .exec(&txn)
        .await?;
    }
    let change = Change {
        entity: "agency_group",
        entity_id: group.id,
        agency_id: Some(actor.agency_id),
        action: "set_members",
        before: Some(json!({ "members": before })),
        after: Some(json!({ "members": after })),
    };
    audit::record(&txn, Some(actor), change).await?;
    txn.commit().await?;
    Ok(group)
}
