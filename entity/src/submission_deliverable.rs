//! Evidence for one deliverable within a submission.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submission_deliverable")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub submission_id: i64,
    /// Copied from the submission so the tenant rule can be applied to this table alone.
    pub agency_id: i64,
    pub deliverable_id: i64,
    /// NOT_STARTED, IN_PROGRESS or COMPLETED.
    pub status: String,
    /// e.g. "Kế hoạch số 123/KH-UBND ngày 01/4/2024".
    pub document_ref: Option<String>,
    pub url: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
