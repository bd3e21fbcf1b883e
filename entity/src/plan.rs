//! A provincial plan, such as Decision 768/QĐ-UBND.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    /// The jurisdiction (a province's slug, e.g. "binh-dinh") whose agency and group codes
    /// the plan's file uses.
    pub jurisdiction: String,
    pub title: String,
    pub issuer_id: i64,
    /// The coordinating agency the decision names. Who coordinates on a given day also
    /// depends on `plan_coordination` (see `service::coordination`).
    pub coordinator_id: i64,
    pub issued_on: Date,
    pub start_year: i32,
    pub end_year: i32,
    /// The day the plan takes effect; null: the day it was issued.
    pub effective_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
