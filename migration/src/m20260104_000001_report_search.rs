//! Text search on reports: `submission.search_text` holds the report's summary, results,
//! difficulties, proposals and evidence references folded (lowercase, no diacritics),
//! written by the service with every change. On PostgreSQL a trigram index makes
//! `LIKE '%word%'` over it an index scan (pg_trgm ships with PostgreSQL; where it cannot
//! be installed the column still works, unindexed). Rows written before this migration
//! are folded by the server at start-up.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX_UP: &str = r#"
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available: report search stays unindexed';
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS submission_search_text_trgm
            ON submission USING gin (search_text gin_trgm_ops);
    END IF;
END
$$;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("submission"))
                    .add_column(text(Alias::new("search_text")).default(""))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(INDEX_UP)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP INDEX IF EXISTS submission_search_text_trgm")
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("submission"))
                    .drop_column(Alias::new("search_text"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
