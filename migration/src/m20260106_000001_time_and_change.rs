//! Time and change (issue 10): what the plan assigns, who belongs to a group and who
//! coordinates a plan now carry the days they hold, and an agency can be succeeded.
//!
//! - `assignment` and `agency_group_member` get `valid_from` / `valid_to` (inclusive,
//!   null = unbounded), so an edit ends a row and starts another instead of rewriting it;
//! - `plan.effective_on`: the day the plan takes effect (null: the day it was issued);
//! - `plan_coordination`: from which day another agency coordinates a plan (before the
//!   first row, the plan's own `coordinator_id`, the one its decision names);
//! - `agency_succession`: from which day an agency's work passed to which successor
//!   (one agency can have several, as DOLISA's did). It supersedes
//!   `agency.successor_id`, which is copied here and no longer read (SQLite cannot drop a
//!   column that a foreign key names).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tenancy rule's new reach in the database's copy of it: an agency's successors read
/// its non-draft reports (`app.predecessor_ids`); what may be written does not change.
const POLICY_UP: &str = r#"
CREATE FUNCTION plantrack_predecessors() RETURNS bigint[] LANGUAGE sql STABLE
    AS $f$ SELECT coalesce(string_to_array(nullif(current_setting('app.predecessor_ids', true), ''), ',')::bigint[], '{}') $f$;
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
"#;

const POLICY_DOWN: &str = r#"
DROP POLICY submission_tenant ON submission;
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
DROP FUNCTION IF EXISTS plantrack_predecessors();
"#;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

fn fk(table: &str, column: &str, to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(n(table), n(column))
        .to(n(to), n("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["assignment", "agency_group_member"] {
            for column in ["valid_from", "valid_to"] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(n(table))
                            .add_column(date_null(n(column)))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(n("plan"))
                    .add_column(date_null(n("effective_on")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("plan_coordination"))
                    .col(big_integer(n("plan_id")))
                    .col(date(n("valid_from")))
                    .col(big_integer(n("agency_id")))
                    .primary_key(Index::create().col(n("plan_id")).col(n("valid_from")))
                    .foreign_key(&mut fk("plan_coordination", "plan_id", "plan"))
                    .foreign_key(&mut fk("plan_coordination", "agency_id", "agency"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("agency_succession"))
                    .col(big_integer(n("predecessor_id")))
                    .col(big_integer(n("successor_id")))
                    .col(date(n("effective_on")))
                    .primary_key(
                        Index::create()
                            .col(n("predecessor_id"))
                            .col(n("successor_id")),
                    )
                    .foreign_key(&mut fk("agency_succession", "predecessor_id", "agency"))
                    .foreign_key(&mut fk("agency_succession", "successor_id", "agency"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agency_succession_successor_id")
                    .table(n("agency_succession"))
                    .col(n("successor_id"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == sea_orm::DbBackend::Postgres;
        // From the day after the old agency's last day, where it had one.
        let day_after = if postgres {
            "valid_to + 1"
        } else {
            "date(valid_to, '+1 day')"
        };
        db.execute_unprepared(&format!(
            "INSERT INTO agency_succession (predecessor_id, successor_id, effective_on) \
             SELECT id, successor_id, {day_after} FROM agency \
             WHERE successor_id IS NOT NULL AND valid_to IS NOT NULL"
        ))
        .await?;
        if postgres {
            // Tables made after the grants of the row-level security migration.
            db.execute_unprepared(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON plan_coordination, agency_succession \
                 TO plantrack_app",
            )
            .await?;
            db.execute_unprepared(POLICY_UP).await?;
            // New columns have no statistics until the next ANALYZE, which autovacuum does
            // not run for a schema change: until then the planner takes "valid_from IS
            // NULL" for rare and plans obligations for tens of rows instead of thousands.
            db.execute_unprepared("ANALYZE assignment, agency_group_member, plan, agency")
                .await?;
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
        for table in ["agency_succession", "plan_coordination"] {
            manager
                .drop_table(Table::drop().table(n(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(n("plan"))
                    .drop_column(n("effective_on"))
                    .to_owned(),
            )
            .await?;
        for table in ["assignment", "agency_group_member"] {
            for column in ["valid_from", "valid_to"] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(n(table))
                            .drop_column(n(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
