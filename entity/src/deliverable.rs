//! A product (sản phẩm) a task must deliver.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliverable")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    pub description: String,
    pub position: i32,
    /// True where the source text lost the deliverable and it was inferred.
    pub inferred: bool,
    /// First day the task asks for it (null: from the plan's start).
    pub valid_from: Option<Date>,
    /// Last day the task asks for it (null: open-ended).
    pub valid_to: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
