//! An agency's work passing to a successor from a day (a merger, a split, a dissolution).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency_succession")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub predecessor_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub successor_id: i64,
    /// The successor's first day with the work (the day after the predecessor's last).
    pub effective_on: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
