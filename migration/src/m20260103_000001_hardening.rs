//! Readiness and history privacy.
//! - `service_heartbeat`: one row that `/readyz` rewrites, to prove the database takes a
//!   committed write (a full disk or a jammed write lock fails it).
//! - `audit_log.during_draft`: whether the entry was written while its submission was a
//!   draft (created, edited or submitted from DRAFT). Such entries are as private as the
//!   draft: they reach only the submission's own agency, in the service and, on
//!   PostgreSQL, in the `audit_log` read policy.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BACKFILL_SQLITE: &str = "UPDATE audit_log SET during_draft = 1 \
     WHERE entity = 'submission' AND (before IS NULL OR json_extract(before, '$.status') = 'DRAFT')";

const BACKFILL_POSTGRES: &str = "UPDATE audit_log SET during_draft = true \
     WHERE entity = 'submission' AND (before IS NULL OR before->>'status' = 'DRAFT')";

const POLICY_UP: &str = r#"
DROP POLICY IF EXISTS audit_log_read ON audit_log;
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (entity = 'submission' AND NOT during_draft
            AND EXISTS (SELECT 1 FROM submission s WHERE s.id = entity_id))
    );
"#;

const POLICY_DOWN: &str = r#"
DROP POLICY IF EXISTS audit_log_read ON audit_log;
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (entity = 'submission' AND EXISTS (SELECT 1 FROM submission s WHERE s.id = entity_id))
    );
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("service_heartbeat"))
                    .col(integer(Alias::new("id")).primary_key())
                    .col(timestamp_with_time_zone(Alias::new("at")))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Alias::new("service_heartbeat"))
                    .columns([Alias::new("id"), Alias::new("at")])
                    .values_panic([1.into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("audit_log"))
                    .add_column(boolean(Alias::new("during_draft")).default(false))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(BACKFILL_POSTGRES).await?;
                db.execute_unprepared(POLICY_UP).await?;
            }
            _ => {
                db.execute_unprepared(BACKFILL_SQLITE).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(POLICY_DOWN)
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("audit_log"))
                    .drop_column(Alias::new("during_draft"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("service_heartbeat"))
                    .to_owned(),
            )
            .await
    }
}
