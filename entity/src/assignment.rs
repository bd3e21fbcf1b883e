//! A task given to an agency or an agency group, as lead or partner.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    /// LEAD or PARTNER.
    pub role: String,
    /// Exactly one of `agency_id` and `group_id` is set.
    pub agency_id: Option<i64>,
    pub group_id: Option<i64>,
    /// The plan's own wording of this assignee.
    pub wording: String,
    pub position: i32,
    /// First day the assignment holds; null: from the plan's start.
    pub valid_from: Option<Date>,
    /// Last day the assignment holds; null: open-ended.
    pub valid_to: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
