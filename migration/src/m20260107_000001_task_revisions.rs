//! Editing a plan's tasks (issue 10): a task's text and deliverables change from a day,
//! and a closed period's report keeps showing what the task said then.
//!
//! - `task_revision`: the content a task had until a day (`valid_to`, inclusive). The
//!   task row holds today's text; a period's report shows the revision in force on its
//!   duty day, where one is;
//! - `deliverable` gets `valid_from` / `valid_to` (inclusive, null = unbounded), like
//!   assignments: a deliverable dropped from a task ends, and evidence given for it
//!   keeps pointing at it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["valid_from", "valid_to"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("deliverable"))
                        .add_column(date_null(n(column)))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(n("task_revision"))
                    .col(big_integer(n("task_id")))
                    .col(date(n("valid_to")))
                    .col(text(n("content")))
                    .primary_key(Index::create().col(n("task_id")).col(n("valid_to")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_revision_task_id")
                            .from(n("task_revision"), n("task_id"))
                            .to(n("task"), n("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            let db = manager.get_connection();
            // A table made after the grants of the row-level security migration.
            db.execute_unprepared(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON task_revision TO plantrack_app",
            )
            .await?;
            db.execute_unprepared("ANALYZE deliverable").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(n("task_revision")).to_owned())
            .await?;
        for column in ["valid_from", "valid_to"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("deliverable"))
                        .drop_column(n(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
