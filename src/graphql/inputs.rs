//! Input objects of mutations. Each converts into the domain's own command type.
use async_graphql::InputObject;

use async_graphql::ID;

use super::{relay::parse_global_id, scalars::Timestamp};
use crate::service::{
    ServiceError,
    domain::Progress,
    submissions::{Evidence, SaveSubmission},
    windows::OpenWindow,
};

/// The row id of a global id of the given type; anything else is BAD_USER_INPUT.
pub fn row_id(id: &ID, type_name: &str) -> Result<i64, ServiceError> {
    match parse_global_id(id) {
        Ok((found, row)) if found == type_name => Ok(row),
        _ => Err(ServiceError::bad_input(format!(
            "`{}` is not the id of a {type_name}",
            id.as_str()
        ))),
    }
}

/// Evidence for one deliverable of the task.
#[derive(InputObject)]
pub struct EvidenceInput {
    pub deliverable_id: ID,
    pub status: Progress,
    /// E.g. "Kế hoạch số 123/KH-UBND ngày 01/4/2024".
    pub document_ref: Option<String>,
    pub url: Option<String>,
}

/// Creates or updates the caller's agency's report on a task for a period.
#[derive(InputObject)]
pub struct SaveSubmissionInput {
    pub task_id: ID,
    /// Reporting period code, e.g. "2024" or "2024S1".
    pub period_code: String,
    pub progress: Option<Progress>,
    pub summary: Option<String>,
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
    /// Replaces all evidence when given.
    pub deliverables: Option<Vec<EvidenceInput>>,
    /// The `version` last read; omit only when creating.
    pub expected_version: Option<i32>,
}

impl SaveSubmissionInput {
    pub fn into_command(self) -> Result<SaveSubmission, ServiceError> {
        let deliverables = self
            .deliverables
            .map(|list| {
                list.into_iter()
                    .map(|e| {
                        Ok(Evidence {
                            deliverable_id: row_id(&e.deliverable_id, "Deliverable")?,
                            status: e.status,
                            document_ref: e.document_ref,
                            url: e.url,
                        })
                    })
                    .collect::<Result<Vec<_>, ServiceError>>()
            })
            .transpose()?;
        Ok(SaveSubmission {
            task_id: row_id(&self.task_id, "Task")?,
            period_code: self.period_code,
            progress: self.progress,
            summary: self.summary,
            results: self.results,
            difficulties: self.difficulties,
            proposals: self.proposals,
            deliverables,
            expected_version: self.expected_version,
        })
    }
}

/// Opens a reporting period of a plan.
#[derive(InputObject)]
pub struct OpenReportingWindowInput {
    pub plan_code: String,
    /// A year ("2024") or half-year ("2024S1").
    pub period_code: String,
    pub opens_at: Timestamp,
    /// The deadline; later submissions are recorded as late.
    pub due_at: Timestamp,
    /// After it, writes are refused with WINDOW_CLOSED.
    pub closes_at: Timestamp,
}

impl From<OpenReportingWindowInput> for OpenWindow {
    fn from(input: OpenReportingWindowInput) -> Self {
        OpenWindow {
            plan_code: input.plan_code,
            period_code: input.period_code,
            opens_at: input.opens_at.0,
            due_at: input.due_at.0,
            closes_at: input.closes_at.0,
        }
    }
}

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// 3 to 64 letters, digits, '.', '_' or '-'; unique.
    pub username: String,
    /// The name shown for the user; the username where left out.
    pub display_name: Option<String>,
    /// Code of the user's agency.
    pub agency: String,
    /// What the user may do.
    pub role: crate::service::domain::Role,
    /// The first password, 8 to 256 characters.
    pub password: String,
}
