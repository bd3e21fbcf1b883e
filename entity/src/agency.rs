//! A department, district, body or ministry named by a plan.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable lowercase ASCII slug, e.g. `so-ldtbxh`.
    /// The jurisdiction whose codes `code` is one of: a province's slug ("binh-dinh"), or
    /// "vn" for a national body; empty where a database predates jurisdictions. A code is
    /// unique within its jurisdiction.
    pub jurisdiction: String,
    /// Unique within `jurisdiction`.
    pub code: String,
    pub name: String,
    pub short_name: String,
    /// `name` and `short_name` folded for search.
    /// Empty in rows the lists and loaders read (`by_position::select_without_search_text`).
    pub search_text: String,
    /// DEPARTMENT, DISTRICT, PROVINCIAL_BODY, MASS_ORGANIZATION, PEOPLE_COMMITTEE or MINISTRY.
    pub kind: String,
    /// Whether the agency keeps its own submissions (staff can sign in for it).
    pub is_tenant: bool,
    pub valid_from: Option<Date>,
    /// The agency's last day; it writes nothing after it.
    pub valid_to: Option<Date>,
    // Successors are rows of `agency_succession`; the table's old `successor_id` column
    // is no longer read.
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
