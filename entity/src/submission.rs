//! A tenant's report on one task for one reporting period.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submission")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The reporting agency: the tenant that owns this row.
    pub agency_id: i64,
    pub plan_id: i64,
    pub task_id: i64,
    pub period_id: i64,
    /// DRAFT, SUBMITTED, RETURNED or ACCEPTED.
    pub status: String,
    /// NOT_STARTED, IN_PROGRESS or COMPLETED.
    pub progress: String,
    pub summary: String,
    pub results: String,
    pub difficulties: String,
    pub proposals: String,
    /// Summary, results, difficulties, proposals and evidence references folded to
    /// lowercase without diacritics, for search.
    /// Empty in rows the lists and loaders read (`by_position::select_without_search_text`).
    pub search_text: String,
    pub version: i32,
    /// Whether the latest submit came before the window's deadline.
    pub on_time: Option<bool>,
    pub review_comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub created_by: Option<i64>,
    pub updated_at: DateTimeUtc,
    pub updated_by: Option<i64>,
    pub submitted_at: Option<DateTimeUtc>,
    pub submitted_by: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
