//! The audit log: every change appends one row, in the transaction of the change.
use chrono::Utc;
use entity::audit_log;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;

use super::{ServiceResult, auth::Principal, domain::SubmissionStatus};

/// One change to one row.
pub struct Change<'a> {
    pub entity: &'a str,
    pub entity_id: i64,
    /// The tenant the row belongs to, where it belongs to one.
    pub agency_id: Option<i64>,
    pub action: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change<'_> {
    /// Whether the change was made to a submission while it was a draft: its creation, or
    /// any change from a DRAFT state. Such entries are as private as the draft (the
    /// tenancy rule lets them reach only the submission's agency).
    fn during_draft(&self) -> bool {
        self.entity == "submission"
            && self.before.as_ref().is_none_or(|before| {
                before["status"].as_str() == Some(SubmissionStatus::Draft.as_str())
            })
    }
}

/// Appends the change; `actor` is None for the command line and first start.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: Option<&Principal>,
    change: Change<'_>,
) -> ServiceResult<()> {
    let during_draft = change.during_draft();
    audit_log::Entity::insert(audit_log::ActiveModel {
        actor_id: Set(actor.map(|a| a.user_id)),
        agency_id: Set(change.agency_id),
        entity: Set(change.entity.to_owned()),
        entity_id: Set(change.entity_id),
        action: Set(change.action.to_owned()),
        before: Set(change.before),
        after: Set(change.after),
        at: Set(Utc::now()),
        during_draft: Set(during_draft),
        ..Default::default()
    })
    // No RETURNING: on PostgreSQL it would need the new row to pass the read policy,
    // and entries of users and windows reach no tenant.
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Audit rows of some rows of one table, oldest first.
pub async fn of_entities<C: ConnectionTrait>(
    db: &C,
    entity: &str,
    ids: &[i64],
) -> ServiceResult<Vec<audit_log::Model>> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(entity))
        .filter(audit_log::Column::EntityId.is_in(ids.iter().copied()))
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await?)
}
