//! A department, district, body or ministry named by a plan.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable lowercase ASCII slug, e.g. `so-ldtbxh`.
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub short_name: String,
    /// `name` and `short_name` folded for search.
    pub search_text: String,
    /// DEPARTMENT, DISTRICT, PROVINCIAL_BODY, MASS_ORGANIZATION, PEOPLE_COMMITTEE or MINISTRY.
    pub kind: String,
    /// Whether the agency keeps its own submissions (staff can sign in for it).
    pub is_tenant: bool,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    /// The agency that took over this one's work when it was merged or dissolved.
    pub successor_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
