//! What a task said until a day, before its content was edited: a closed period's report
//! shows the text in force on its duty day.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_revision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: i64,
    /// The last day the task read `content`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub valid_to: Date,
    pub content: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
