//! A reporting period opened by a plan's coordinator.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reporting_window")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub period_id: i64,
    pub opens_at: DateTimeUtc,
    /// The deadline: submissions after it are late.
    pub due_at: DateTimeUtc,
    /// After it the window locks.
    pub closes_at: DateTimeUtc,
    pub reopened: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
