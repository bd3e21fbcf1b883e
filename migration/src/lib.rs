//! Database migrations of plantrack, for SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

mod m20260101_000001_initial;
mod m20260102_000001_row_level_security;
mod m20260103_000001_hardening;
mod m20260104_000001_report_search;
mod m20260105_000001_unindexed_reports;
mod m20260106_000001_time_and_change;
mod m20260107_000001_task_revisions;
mod m20260108_000001_report_recipients;
mod m20260109_000001_body_duties;
mod m20260110_000001_jurisdictions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_initial::Migration),
            Box::new(m20260102_000001_row_level_security::Migration),
            Box::new(m20260103_000001_hardening::Migration),
            Box::new(m20260104_000001_report_search::Migration),
            Box::new(m20260105_000001_unindexed_reports::Migration),
            Box::new(m20260106_000001_time_and_change::Migration),
            Box::new(m20260107_000001_task_revisions::Migration),
            Box::new(m20260108_000001_report_recipients::Migration),
            Box::new(m20260109_000001_body_duties::Migration),
            Box::new(m20260110_000001_jurisdictions::Migration),
        ]
    }
}
