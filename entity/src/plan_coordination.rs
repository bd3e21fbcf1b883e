//! From which day an agency coordinates a plan, when it is no longer the one the plan's
//! decision names (a reorganization handed the work on).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_coordination")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: i64,
    /// The first day this agency coordinates; it does until the next row's day.
    #[sea_orm(primary_key, auto_increment = false)]
    pub valid_from: Date,
    pub agency_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
