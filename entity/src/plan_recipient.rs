//! An agency a plan's consolidated reports go to (for 768, the provincial People's
//! Committee and the Ministry): its users read the plan's reports, read-only.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_recipient")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
