//! PostgreSQL only: row-level security on the tenant tables, the database's own copy of
//! the tenancy rule (`plantrack::service::tenancy`). The service sets `app.agency_id`,
//! `app.role` and `app.plan_ids` per transaction and acts as `plantrack_app`, a role that
//! owns no table, so the policies apply. Settings are read through `(SELECT …)` so that
//! PostgreSQL evaluates them once per query, not once per row.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plantrack_app') THEN
        CREATE ROLE plantrack_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- created concurrently by another database's migration
END
$$;
GRANT plantrack_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO plantrack_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO plantrack_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO plantrack_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO plantrack_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO plantrack_app;

CREATE FUNCTION plantrack_agency() RETURNS bigint LANGUAGE sql STABLE
    AS $f$ SELECT nullif(current_setting('app.agency_id', true), '')::bigint $f$;
CREATE FUNCTION plantrack_role() RETURNS text LANGUAGE sql STABLE
    AS $f$ SELECT coalesce(current_setting('app.role', true), '') $f$;
CREATE FUNCTION plantrack_plans() RETURNS bigint[] LANGUAGE sql STABLE
    AS $f$ SELECT coalesce(string_to_array(nullif(current_setting('app.plan_ids', true), ''), ',')::bigint[], '{}') $f$;

ALTER TABLE submission ENABLE ROW LEVEL SECURITY;
CREATE POLICY submission_tenant ON submission
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) IN ('ANALYST', 'ADMIN'))
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) = 'COORDINATOR'
            AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    )
    WITH CHECK (
        agency_id = (SELECT plantrack_agency())
        OR ((SELECT plantrack_role()) = 'COORDINATOR' AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    );

ALTER TABLE submission_deliverable ENABLE ROW LEVEL SECURITY;
CREATE POLICY submission_deliverable_tenant ON submission_deliverable
    USING (EXISTS (SELECT 1 FROM submission s WHERE s.id = submission_id))
    WITH CHECK (agency_id = (SELECT plantrack_agency()));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (entity = 'submission' AND EXISTS (SELECT 1 FROM submission s WHERE s.id = entity_id))
    );
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (true);
"#;

const DOWN: &str = r#"
DROP POLICY IF EXISTS audit_log_append ON audit_log;
DROP POLICY IF EXISTS audit_log_read ON audit_log;
ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS submission_deliverable_tenant ON submission_deliverable;
ALTER TABLE submission_deliverable DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS submission_tenant ON submission;
ALTER TABLE submission DISABLE ROW LEVEL SECURITY;
DROP FUNCTION IF EXISTS plantrack_plans();
DROP FUNCTION IF EXISTS plantrack_role();
DROP FUNCTION IF EXISTS plantrack_agency();
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM plantrack_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM plantrack_app;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
