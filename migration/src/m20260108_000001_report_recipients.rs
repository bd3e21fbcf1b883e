//! The reporting chain of a plan's body (issue 10): who receives the coordinator's
//! consolidated reports. For 768, section III of the plan: the departments and districts
//! report to the Sở LĐ-TB&XH, which reports to the provincial People's Committee and the
//! Ministry of Labour, Invalids and Social Affairs.
//!
//! - `plan_recipient`: the agencies a plan's reports go to. Their users read the plan's
//!   non-draft reports, read-only, whatever their role;
//! - the PostgreSQL policy learns it (`app.received_plan_ids`);
//! - a database that holds 768 already gets its two recipients.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POLICY_UP: &str = r#"
CREATE FUNCTION plantrack_received_plans() RETURNS bigint[] LANGUAGE sql STABLE
    AS $f$ SELECT coalesce(string_to_array(nullif(current_setting('app.received_plan_ids', true), ''), ',')::bigint[], '{}') $f$;
DROP POLICY submission_tenant ON submission;
CREATE POLICY submission_tenant ON submission
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (status <> 'DRAFT' AND agency_id = ANY ((SELECT plantrack_predecessors())::bigint[]))
        OR (status <> 'DRAFT' AND plan_id = ANY ((SELECT plantrack_received_plans())::bigint[]))
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) IN ('ANALYST', 'ADMIN'))
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) = 'COORDINATOR'
            AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    )
    WITH CHECK (
        agency_id = (SELECT plantrack_agency())
        OR ((SELECT plantrack_role()) = 'COORDINATOR' AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    );
"#;

const POLICY_DOWN: &str = r#"
DROP POLICY submission_tenant ON submission;
CREATE POLICY submission_tenant ON submission
    USING (
        agency_id = (SELECT plantrack_agency())
        OR (status <> 'DRAFT' AND agency_id = ANY ((SELECT plantrack_predecessors())::bigint[]))
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) IN ('ANALYST', 'ADMIN'))
        OR (status <> 'DRAFT' AND (SELECT plantrack_role()) = 'COORDINATOR'
            AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    )
    WITH CHECK (
        agency_id = (SELECT plantrack_agency())
        OR ((SELECT plantrack_role()) = 'COORDINATOR' AND plan_id = ANY ((SELECT plantrack_plans())::bigint[]))
    );
DROP FUNCTION IF EXISTS plantrack_received_plans();
"#;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let fk = |column: &str, to: &str| {
            ForeignKey::create()
                .name(format!("fk_plan_recipient_{column}"))
                .from(n("plan_recipient"), n(column))
                .to(n(to), n("id"))
                .on_delete(ForeignKeyAction::Restrict)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(n("plan_recipient"))
                    .col(big_integer(n("plan_id")))
                    .col(big_integer(n("agency_id")))
                    .primary_key(Index::create().col(n("plan_id")).col(n("agency_id")))
                    .foreign_key(&mut fk("plan_id", "plan"))
                    .foreign_key(&mut fk("agency_id", "agency"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_plan_recipient_agency_id")
                    .table(n("plan_recipient"))
                    .col(n("agency_id"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // 768's recipients, where 768 was loaded before this migration (the seed file
        // names them for new databases).
        db.execute_unprepared(
            "INSERT INTO plan_recipient (plan_id, agency_id) \
             SELECT plan.id, agency.id FROM plan, agency \
             WHERE plan.code = '768/QĐ-UBND' AND agency.code IN ('ubnd-tinh', 'bo-ldtbxh')",
        )
        .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            db.execute_unprepared(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON plan_recipient TO plantrack_app",
            )
            .await?;
            db.execute_unprepared(POLICY_UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(POLICY_DOWN)
                .await?;
        }
        manager
            .drop_table(Table::drop().table(n("plan_recipient")).to_owned())
            .await
    }
}
