//! A collective wording of a plan, such as "UBND các huyện, thị xã, thành phố".
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency_group")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The jurisdiction whose codes `code` is one of (see `agency.jurisdiction`).
    pub jurisdiction: String,
    /// Unique within `jurisdiction`.
    pub code: String,
    pub name: String,
    /// Set for groups that belong to one plan (e.g. one task's "relevant departments").
    pub plan_id: Option<i64>,
    pub note: Option<String>,
    /// Null: the group is its member rows. PLAN_COORDINATOR: whoever coordinates the
    /// group's plan on the day asked.
    pub expands_to: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
