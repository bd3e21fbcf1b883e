//! A task of the plan: what is to be done, by whom, producing what, when.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub section_id: i64,
    /// Null where the plan gives no number (section IV's only task).
    pub number: Option<i32>,
    pub content: String,
    /// `content` folded to lowercase ASCII, for search that ignores case and diacritics.
    /// Empty in rows the lists and loaders read (`by_position::select_without_search_text`).
    pub search_text: String,
    /// ANNUAL or PHASED.
    pub schedule: String,
    /// The plan's own wording of the implementation period.
    pub timeframe_wording: String,
    /// What the transcription had to infer for this task, if anything.
    pub inferred_note: Option<String>,
    /// Order of the task within its plan.
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
