//! The duties of a plan's body (issue 10): section III of a decision ("Tổ chức thực
//! hiện") gives duties of its own beside the appendix's tasks: each department and
//! district writes its implementation plan, and the coordinator consolidates the reports
//! for the plan's recipients.
//!
//! - `section.part`: APPENDIX (the appendix's numbered sections) or BODY (duties the
//!   decision's text gives);
//! - `agency_group.expands_to`: null for a group of listed members; PLAN_COORDINATOR for
//!   "the plan's coordinator", which expands to whoever coordinates the plan on the day
//!   asked, so a duty of the coordinator follows a hand-over without a second record of
//!   who coordinates.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: a migration cut short leaves no column behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(n("section"))
                    .add_column(string(n("part")).default("APPENDIX"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(n("agency_group"))
                    .add_column(string_null(n("expands_to")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(n("agency_group"))
                    .drop_column(n("expands_to"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(n("section"))
                    .drop_column(n("part"))
                    .to_owned(),
            )
            .await
    }
}
