//! A numbered section of a plan: one of its appendix (I–V), or the duties its body gives.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "section")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub numeral: String,
    pub title: String,
    pub position: i32,
    /// APPENDIX (a section of the appendix) or BODY (duties the decision's text gives).
    pub part: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
