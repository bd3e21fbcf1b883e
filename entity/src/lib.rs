//! SeaORM entities of plantrack: one module per table, models only; and the most read
//! models read by position (`by_position`).
pub mod agency;
pub mod agency_group;
pub mod agency_group_member;
pub mod agency_succession;
pub mod api_token;
pub mod assignment;
pub mod audit_log;
pub mod by_position;
pub mod deliverable;
pub mod period;
pub mod plan;
pub mod plan_coordination;
pub mod plan_recipient;
pub mod reporting_window;
pub mod section;
pub mod submission;
pub mod submission_deliverable;
pub mod task;
pub mod task_period;
pub mod task_revision;
pub mod user;
