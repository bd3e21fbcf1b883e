//! Codes per jurisdiction (issue 10, item 5): a second province's plan may call its
//! departments "so-tai-chinh" too. Agencies and groups carry the jurisdiction whose codes
//! they are (a province's slug, e.g. "binh-dinh"; "vn" for national bodies such as the
//! Ministries), and a code is unique within its jurisdiction only. A plan carries the
//! jurisdiction its file's codes are read in.
//!
//! - `agency.jurisdiction`, `agency_group.jurisdiction`, `plan.jurisdiction`: not null,
//!   empty for rows of a database whose jurisdictions are not known;
//! - the unique `code` of `agency` and `agency_group` becomes unique per jurisdiction. On
//!   SQLite a column's UNIQUE cannot be dropped: the two tables are rebuilt in this
//!   migration's transaction, their references checked at its end;
//! - a database that holds 768 and no other plan (what `serve` seeds) has its rows marked
//!   as Bình Định's, the Ministries as national.
use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn n(name: &str) -> Alias {
    Alias::new(name)
}

const TABLES: [&str; 2] = ["agency", "agency_group"];

/// Rebuilds the SQLite table `table` without the UNIQUE of its `code` column, keeping its
/// rows, ids and indexes. References to it are checked when the transaction commits
/// (`defer_foreign_keys`): its rows are back by then.
async fn drop_unique_code_sqlite(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if table == "agency" {
        // Dropping `agency` checks its own `successor_id` references row by row: without
        // an index that is quadratic (38 s for 20,000 agencies; 0.04 s for 10,000 with it).
        // The index is kept and rebuilt with the others.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_agency_successor_id ON agency (successor_id)",
        )
        .await?;
    }
    let query = |sql: String| Statement::from_string(DbBackend::Sqlite, sql);
    let create: String = db
        .query_one_raw(query(format!(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        )))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("no table {table}")))?
        .try_get("", "sql")?;
    let unique = "\"code\" varchar NOT NULL UNIQUE";
    if !create.contains(unique) {
        return Err(DbErr::Migration(format!(
            "table {table}: its code column is not as expected: {create}"
        )));
    }
    let indexes: Vec<String> = db
        .query_all_raw(query(format!(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' \
             AND sql IS NOT NULL"
        )))
        .await?
        .iter()
        .map(|row| row.try_get("", "sql"))
        .collect::<Result<_, _>>()?;
    db.execute_unprepared("PRAGMA defer_foreign_keys = ON")
        .await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE {table}_copy AS SELECT * FROM \"{table}\""
    ))
    .await?;
    db.execute_unprepared(&format!("DROP TABLE \"{table}\""))
        .await?;
    db.execute_unprepared(&create.replace(unique, "\"code\" varchar NOT NULL"))
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO \"{table}\" SELECT * FROM {table}_copy"
    ))
    .await?;
    db.execute_unprepared(&format!("DROP TABLE {table}_copy"))
        .await?;
    for index in indexes {
        db.execute_unprepared(&index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: the rebuilt tables are never seen half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in TABLES {
            match manager.get_database_backend() {
                DbBackend::Sqlite => drop_unique_code_sqlite(manager, table).await?,
                _ => {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} DROP CONSTRAINT {table}_code_key"
                    ))
                    .await?;
                }
            }
        }
        for table in ["agency", "agency_group", "plan"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n(table))
                        .add_column(string(n("jurisdiction")).default(""))
                        .to_owned(),
                )
                .await?;
        }
        for table in TABLES {
            manager
                .create_index(
                    Index::create()
                        .name(format!("ux_{table}_jurisdiction_code"))
                        .table(n(table))
                        .col(n("jurisdiction"))
                        .col(n("code"))
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        // What `serve` seeded: 768 alone is Bình Định's, with the Ministries it cites.
        let only_768 = "(SELECT count(*) FROM plan) = 1 \
                        AND EXISTS (SELECT 1 FROM plan WHERE code = '768/QĐ-UBND')";
        db.execute_unprepared(&format!(
            "UPDATE agency SET jurisdiction = CASE WHEN kind = 'MINISTRY' THEN 'vn' \
             ELSE 'binh-dinh' END WHERE {only_768}"
        ))
        .await?;
        for table in ["agency_group", "plan"] {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET jurisdiction = 'binh-dinh' WHERE {only_768}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("ux_{table}_jurisdiction_code"))
                        .table(n(table))
                        .to_owned(),
                )
                .await?;
        }
        for table in ["agency", "agency_group", "plan"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n(table))
                        .drop_column(n("jurisdiction"))
                        .to_owned(),
                )
                .await?;
        }
        // Codes are one namespace again; this fails where two jurisdictions share one.
        for table in TABLES {
            manager
                .create_index(
                    Index::create()
                        .name(format!("ux_{table}_code"))
                        .table(n(table))
                        .col(n("code"))
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
