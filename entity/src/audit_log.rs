//! An append-only record of one change.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub actor_id: Option<i64>,
    /// The tenant the changed row belongs to, where it belongs to one.
    pub agency_id: Option<i64>,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub at: DateTimeUtc,
    /// Written while the submission was a draft: private to its agency, like the draft.
    pub during_draft: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
