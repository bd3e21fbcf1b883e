//! The audit log: every change appends one row, in the transaction of the change.
use chrono::Utc;
use entity::audit_log;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Alias, Expr, InsertStatement, Query},
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
    let values = change.values(
        actor,
        Expr::val(change.agency_id),
        Expr::val(change.entity_id),
    );
    let mut entry = Query::insert();
    entry
        .into_table(audit_log::Entity)
        .columns(COLUMNS)
        .values_panic(values);
    // No RETURNING: on PostgreSQL it would need the new row to pass the read policy,
    // and entries of users and windows reach no tenant.
    db.execute(&entry).await?;
    Ok(())
}

/// The entry of a change to the row that a statement writes, as a statement of its own to
/// run with it: the row's id and tenant are read from `written` (a common table expression
/// of the same statement, with `id` and `agency_id` columns), so that the row and its
/// entry take one round trip. `change.entity_id` and `change.agency_id` are not used.
pub fn entry_for_written(
    actor: &Principal,
    change: &Change<'_>,
    written: Alias,
) -> InsertStatement {
    let values = change.values(
        Some(actor),
        Expr::col((written.clone(), Alias::new("agency_id"))),
        Expr::col((written.clone(), Alias::new("id"))),
    );
    let mut from = Query::select();
    from.exprs(values).from(written);
    let mut entry = Query::insert();
    entry.into_table(audit_log::Entity).columns(COLUMNS);
    // As many values as columns: `select_from` cannot fail here.
    let _ = entry.select_from(from);
    entry
}

/// The columns an entry is written with (the id is the database's).
const COLUMNS: [audit_log::Column; 9] = [
    audit_log::Column::ActorId,
    audit_log::Column::AgencyId,
    audit_log::Column::Entity,
    audit_log::Column::EntityId,
    audit_log::Column::Action,
    audit_log::Column::Before,
    audit_log::Column::After,
    audit_log::Column::At,
    audit_log::Column::DuringDraft,
];

impl Change<'_> {
    /// The values of [`COLUMNS`], with the tenant and the row's id as given.
    fn values(&self, actor: Option<&Principal>, agency: Expr, entity_id: Expr) -> [Expr; 9] {
        [
            Expr::val(actor.map(|a| a.user_id)),
            agency,
            Expr::val(self.entity),
            entity_id,
            Expr::val(self.action),
            Expr::val(self.before.clone()),
            Expr::val(self.after.clone()),
            Expr::val(Utc::now()),
            Expr::val(self.during_draft()),
        ]
    }
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
