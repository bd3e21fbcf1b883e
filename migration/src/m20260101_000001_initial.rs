//! The whole data model of DESIGN.md, designed once.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

fn id() -> ColumnDef {
    big_pk_auto(n("id"))
}

fn fk(table: &str, column: &str, to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(n(table), n(column))
        .to(n(to), n("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

fn index(table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!(
        "{}_{table}_{}",
        if unique { "ux" } else { "ix" },
        columns.join("_")
    ))
    .table(n(table));
    for column in columns {
        stmt.col(n(column));
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

/// Tables in creation order; dropped in reverse.
const TABLES: &[&str] = &[
    "agency",
    "agency_group",
    "agency_group_member",
    "period",
    "plan",
    "section",
    "task",
    "task_period",
    "deliverable",
    "assignment",
    "reporting_window",
    "app_user",
    "api_token",
    "submission",
    "submission_deliverable",
    "audit_log",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            Table::create()
                .table(n("agency"))
                .col(id())
                .col(string_uniq(n("code")))
                .col(text(n("name")))
                .col(text(n("short_name")))
                .col(text(n("search_text")))
                .col(string(n("kind")))
                .col(boolean(n("is_tenant")))
                .col(date_null(n("valid_from")))
                .col(date_null(n("valid_to")))
                .col(big_integer_null(n("successor_id")))
                .foreign_key(&mut fk("agency", "successor_id", "agency"))
                .to_owned(),
            Table::create()
                .table(n("agency_group"))
                .col(id())
                .col(string_uniq(n("code")))
                .col(text(n("name")))
                .col(big_integer_null(n("plan_id")))
                .col(text_null(n("note")))
                .to_owned(),
            Table::create()
                .table(n("agency_group_member"))
                .col(big_integer(n("group_id")))
                .col(big_integer(n("agency_id")))
                .primary_key(Index::create().col(n("group_id")).col(n("agency_id")))
                .foreign_key(&mut fk("agency_group_member", "group_id", "agency_group"))
                .foreign_key(&mut fk("agency_group_member", "agency_id", "agency"))
                .to_owned(),
            Table::create()
                .table(n("period"))
                .col(id())
                .col(string_uniq(n("code")))
                .col(string(n("kind")))
                .col(date(n("starts_on")))
                .col(date(n("ends_on")))
                .col(text(n("label")))
                .to_owned(),
            Table::create()
                .table(n("plan"))
                .col(id())
                .col(string_uniq(n("code")))
                .col(text(n("title")))
                .col(big_integer(n("issuer_id")))
                .col(big_integer(n("coordinator_id")))
                .col(date(n("issued_on")))
                .col(integer(n("start_year")))
                .col(integer(n("end_year")))
                .foreign_key(&mut fk("plan", "issuer_id", "agency"))
                .foreign_key(&mut fk("plan", "coordinator_id", "agency"))
                .to_owned(),
            Table::create()
                .table(n("section"))
                .col(id())
                .col(big_integer(n("plan_id")))
                .col(string(n("numeral")))
                .col(text(n("title")))
                .col(integer(n("position")))
                .foreign_key(&mut fk("section", "plan_id", "plan"))
                .to_owned(),
            Table::create()
                .table(n("task"))
                .col(id())
                .col(big_integer(n("plan_id")))
                .col(big_integer(n("section_id")))
                .col(integer_null(n("number")))
                .col(text(n("content")))
                .col(text(n("search_text")))
                .col(string(n("schedule")))
                .col(text(n("timeframe_wording")))
                .col(text_null(n("inferred_note")))
                .col(integer(n("position")))
                .foreign_key(&mut fk("task", "plan_id", "plan"))
                .foreign_key(&mut fk("task", "section_id", "section"))
                .to_owned(),
            Table::create()
                .table(n("task_period"))
                .col(big_integer(n("task_id")))
                .col(big_integer(n("period_id")))
                .primary_key(Index::create().col(n("task_id")).col(n("period_id")))
                .foreign_key(&mut fk("task_period", "task_id", "task"))
                .foreign_key(&mut fk("task_period", "period_id", "period"))
                .to_owned(),
            Table::create()
                .table(n("deliverable"))
                .col(id())
                .col(big_integer(n("task_id")))
                .col(text(n("description")))
                .col(integer(n("position")))
                .col(boolean(n("inferred")))
                .foreign_key(&mut fk("deliverable", "task_id", "task"))
                .to_owned(),
            Table::create()
                .table(n("assignment"))
                .col(id())
                .col(big_integer(n("task_id")))
                .col(string(n("role")))
                .col(big_integer_null(n("agency_id")))
                .col(big_integer_null(n("group_id")))
                .col(text(n("wording")))
                .col(integer(n("position")))
                .check(Expr::cust("(agency_id IS NULL) <> (group_id IS NULL)"))
                .foreign_key(&mut fk("assignment", "task_id", "task"))
                .foreign_key(&mut fk("assignment", "agency_id", "agency"))
                .foreign_key(&mut fk("assignment", "group_id", "agency_group"))
                .to_owned(),
            Table::create()
                .table(n("reporting_window"))
                .col(id())
                .col(big_integer(n("plan_id")))
                .col(big_integer(n("period_id")))
                .col(timestamp_with_time_zone(n("opens_at")))
                .col(timestamp_with_time_zone(n("due_at")))
                .col(timestamp_with_time_zone(n("closes_at")))
                .col(boolean(n("reopened")))
                .col(big_integer_null(n("created_by")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone(n("updated_at")))
                .foreign_key(&mut fk("reporting_window", "plan_id", "plan"))
                .foreign_key(&mut fk("reporting_window", "period_id", "period"))
                .to_owned(),
            Table::create()
                .table(n("app_user"))
                .col(id())
                .col(big_integer(n("agency_id")))
                .col(string_uniq(n("username")))
                .col(text(n("display_name")))
                .col(string(n("role")))
                .col(text(n("password_hash")))
                .col(boolean(n("disabled")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut fk("app_user", "agency_id", "agency"))
                .to_owned(),
            Table::create()
                .table(n("api_token"))
                .col(id())
                .col(big_integer(n("user_id")))
                .col(string_uniq(n("token_hash")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone(n("expires_at")))
                .col(timestamp_with_time_zone_null(n("revoked_at")))
                .foreign_key(&mut fk("api_token", "user_id", "app_user"))
                .to_owned(),
            Table::create()
                .table(n("submission"))
                .col(id())
                .col(big_integer(n("agency_id")))
                .col(big_integer(n("plan_id")))
                .col(big_integer(n("task_id")))
                .col(big_integer(n("period_id")))
                .col(string(n("status")))
                .col(string(n("progress")))
                .col(text(n("summary")))
                .col(text(n("results")))
                .col(text(n("difficulties")))
                .col(text(n("proposals")))
                .col(integer(n("version")))
                .col(boolean_null(n("on_time")))
                .col(text_null(n("review_comment")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(big_integer_null(n("created_by")))
                .col(timestamp_with_time_zone(n("updated_at")))
                .col(big_integer_null(n("updated_by")))
                .col(timestamp_with_time_zone_null(n("submitted_at")))
                .col(big_integer_null(n("submitted_by")))
                .col(timestamp_with_time_zone_null(n("reviewed_at")))
                .col(big_integer_null(n("reviewed_by")))
                .foreign_key(&mut fk("submission", "agency_id", "agency"))
                .foreign_key(&mut fk("submission", "plan_id", "plan"))
                .foreign_key(&mut fk("submission", "task_id", "task"))
                .foreign_key(&mut fk("submission", "period_id", "period"))
                .to_owned(),
            Table::create()
                .table(n("submission_deliverable"))
                .col(id())
                .col(big_integer(n("submission_id")))
                .col(big_integer(n("agency_id")))
                .col(big_integer(n("deliverable_id")))
                .col(string(n("status")))
                .col(text_null(n("document_ref")))
                .col(text_null(n("url")))
                .foreign_key(&mut fk(
                    "submission_deliverable",
                    "submission_id",
                    "submission",
                ))
                .foreign_key(&mut fk("submission_deliverable", "agency_id", "agency"))
                .foreign_key(&mut fk(
                    "submission_deliverable",
                    "deliverable_id",
                    "deliverable",
                ))
                .to_owned(),
            Table::create()
                .table(n("audit_log"))
                .col(id())
                .col(big_integer_null(n("actor_id")))
                .col(big_integer_null(n("agency_id")))
                .col(string(n("entity")))
                .col(big_integer(n("entity_id")))
                .col(string(n("action")))
                .col(json_null(n("before")))
                .col(json_null(n("after")))
                .col(timestamp_with_time_zone(n("at")))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            index("section", &["plan_id", "numeral"], true),
            index("task", &["plan_id", "position"], true),
            index("task", &["section_id"], false),
            index("task_period", &["period_id"], false),
            index("deliverable", &["task_id", "position"], true),
            index("assignment", &["task_id", "role"], false),
            index("assignment", &["agency_id"], false),
            index("assignment", &["group_id"], false),
            index("agency_group_member", &["agency_id"], false),
            index("agency", &["kind"], false),
            index("reporting_window", &["plan_id", "period_id"], true),
            index("app_user", &["agency_id"], false),
            index("api_token", &["user_id"], false),
            index("submission", &["agency_id", "task_id", "period_id"], true),
            index("submission", &["task_id"], false),
            index("submission", &["period_id", "status"], false),
            index("submission", &["plan_id", "status"], false),
            index(
                "submission_deliverable",
                &["submission_id", "deliverable_id"],
                true,
            ),
            index("submission_deliverable", &["agency_id"], false),
            index("audit_log", &["entity", "entity_id"], false),
            index("audit_log", &["agency_id"], false),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(n(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
