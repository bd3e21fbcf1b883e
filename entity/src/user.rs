//! A person who signs in, staff of one agency, with one role.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    /// VIEWER, EDITOR, COORDINATOR, ANALYST or ADMIN.
    pub role: String,
    /// argon2 PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
