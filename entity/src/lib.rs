//! SeaORM entities of plantrack: one module per table, models only.
pub mod agency;
pub mod agency_group;
pub mod agency_group_member;
pub mod api_token;
pub mod assignment;
pub mod audit_log;
pub mod deliverable;
pub mod period;
pub mod plan;
pub mod reporting_window;
pub mod section;
pub mod submission;
pub mod submission_deliverable;
pub mod task;
pub mod task_period;
pub mod user;
