//! Text search on reports: `submission.search_text` holds the report's summary, results,
//! difficulties, proposals and evidence references folded (lowercase, no diacritics),
//! written by the service with every change. Rows written before this migration are
//! folded by the server at start-up.
//!
//! On PostgreSQL a trigram index makes `LIKE '%word%'` an index scan (pg_trgm ships with
//! PostgreSQL; where it cannot be installed the column still works, unindexed). Under
//! row-level security the planner never uses that index by itself: `LIKE` is not
//! LEAKPROOF, so it may only run after the policy, row by row (bench/SEARCH.md measured a
//! sequential scan of 500,000 reports). So the search goes through
//! `plantrack_report_search(pattern)`, a SECURITY DEFINER function owned by the schema's
//! owner that returns the ids of the reports whose folded text is LIKE the pattern, with
//! the index. It returns ids only, and the service uses them only inside the scoped query
//! `submission.id = ANY(ARRAY(SELECT plantrack_report_search(…)))`, which the tenancy rule
//! and the policy still bind: no row the caller may not see comes out of it.
//!
//! Also: an index on (created_at, id), the default order of every submission list.
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

const SEARCH_FUNCTION_UP: &str = r#"
CREATE OR REPLACE FUNCTION plantrack_report_search(pattern text) RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT id FROM submission WHERE search_text LIKE pattern ESCAPE '\' $$;
REVOKE ALL ON FUNCTION plantrack_report_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION plantrack_report_search(text) TO plantrack_app;
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
        manager
            .create_index(
                Index::create()
                    .name("submission_created_at_id")
                    .table(Alias::new("submission"))
                    .col(Alias::new("created_at"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(INDEX_UP).await?;
            db.execute_unprepared(SEARCH_FUNCTION_UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP FUNCTION IF EXISTS plantrack_report_search(text); \
                     DROP INDEX IF EXISTS submission_search_text_trgm",
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("submission_created_at_id")
                    .table(Alias::new("submission"))
                    .to_owned(),
            )
            .await?;
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
