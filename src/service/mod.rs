//! The domain layer: rules (tenancy scope, workflow, validation, audit) and the only code
//! that writes. The GraphQL and HTTP layers call in here; nothing here knows about them.
pub mod aggregate;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod catalog_filter;
pub mod coalesce;
pub mod domain;
pub mod error;
pub mod events;
pub mod filter;
pub mod groups;
pub mod health;
pub mod names;
pub mod obligations;
pub mod pagination;
pub mod plan_export;
pub mod plan_sheet;
pub mod progress;
pub mod reorganization;
pub mod report;
pub mod seed;
pub mod sign_ins;
pub mod submission_filter;
pub mod submissions;
pub mod succession;
pub mod task_edits;
pub mod tenancy;
pub mod text;
pub mod throttle;
pub mod timeline;
pub mod windows;
pub mod workflow;

pub use error::{ServiceError, ServiceResult};

/// Ends a transaction by its outcome: commits what succeeded, rolls back what failed.
/// Rolling back here, rather than by dropping the transaction, hands the connection back
/// clean at once (a dropped one is closed instead: see `db::begin`).
pub async fn settle<T>(
    txn: sea_orm::DatabaseTransaction,
    result: ServiceResult<T>,
) -> ServiceResult<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(error) => {
            // The error that ended it is the one to report.
            let _ = txn.rollback().await;
            Err(error)
        }
    }
}
