//! Input objects of mutations. Each converts into the domain's own command type.
use async_graphql::InputObject;

use async_graphql::ID;

use super::{
    relay::parse_global_id,
    scalars::{Date, Timestamp},
};
use crate::service::{
    ServiceError,
    domain::Progress,
    submissions::{Evidence, SaveSubmission},
    succession::{Handover, Succession},
    windows::OpenWindow,
};

/// The row id of a global id of the given type; anything else is BAD_USER_INPUT.
pub fn row_id(id: &ID, type_name: &str) -> Result<i64, ServiceError> {
    match parse_global_id(id) {
        Ok((found, row)) if found == type_name => Ok(row),
        _ => Err(ServiceError::bad_input(format!(
            "`{}` is not the id of {} {type_name}",
            id.as_str(),
            // "an Agency", "an AgencyGroup"; "a User", "a Task" and the others.
            if type_name.starts_with(['A', 'E', 'I', 'O']) {
                "an"
            } else {
                "a"
            }
        ))),
    }
}

/// Evidence for one deliverable of the task.
#[derive(InputObject)]
pub struct EvidenceInput {
    /// The global id of one of the task's deliverables; each at most once per save.
    pub deliverable_id: ID,
    /// How far the deliverable has come.
    pub status: Progress,
    /// The document that shows it, e.g. "Kế hoạch số 123/KH-UBND ngày 01/4/2024"; empty
    /// counts as none.
    pub document_ref: Option<String>,
    /// Where the document can be read: an address starting with `http://` or `https://`;
    /// empty counts as none.
    pub url: Option<String>,
}

/// Creates or updates the caller's agency's report on a task for a period.
#[derive(InputObject)]
pub struct SaveSubmissionInput {
    /// The global id of the task reported on, which must assign the caller's agency (as
    /// lead or partner).
    pub task_id: ID,
    /// Reporting period code, e.g. "2024" or "2024S1".
    pub period_code: String,
    /// How far the task has come; left out, it stays as it is (NOT_STARTED for a new
    /// report).
    pub progress: Option<Progress>,
    /// A short account of the period's work, at most 20,000 characters; left out, it stays
    /// as it is (empty for a new report).
    pub summary: Option<String>,
    /// Kết quả thực hiện: what was achieved, at most 20,000 characters; left out, it stays
    /// as it is.
    pub results: Option<String>,
    /// Vướng mắc: difficulties met, at most 20,000 characters; left out, it stays as it
    /// is.
    pub difficulties: Option<String>,
    /// Kiến nghị: proposals to the coordinator, at most 20,000 characters; left out, it
    /// stays as it is.
    pub proposals: Option<String>,
    /// Evidence per deliverable of the task; replaces all evidence when given (an empty
    /// list removes it), kept as it is where left out.
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
    /// The plan's code, e.g. "768/QĐ-UBND"; the caller's agency must coordinate it.
    pub plan_code: String,
    /// A year ("2024") or half-year ("2024S1").
    pub period_code: String,
    /// From when reports can be written and submitted; `opensAt` ≤ `dueAt` ≤ `closesAt`.
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

/// One successor's share of an ended agency's work.
#[derive(InputObject)]
pub struct HandoverInput {
    /// The successor's agency code, e.g. "so-nnmt". It must exist on the day it takes
    /// over and keep its own reports (a tenant).
    pub successor: String,
    /// The tasks (global ids) whose assignments of the old agency pass to this
    /// successor. Leave out to take every task not named in another hand-over, and the
    /// old agency's group memberships.
    pub task_ids: Option<Vec<ID>>,
    /// Whether the plans the old agency coordinates pass to this successor (exactly one
    /// hand-over takes them when there are any).
    #[graphql(default)]
    pub coordination: bool,
}

/// A reorganization: one agency ends and its work passes to its successors.
#[derive(InputObject)]
pub struct RecordSuccessionInput {
    /// The code of the agency that ends, e.g. "so-ldtbxh".
    pub agency: String,
    /// Its last day; the successors take over the next day. Refused where that would
    /// change what was owed for a period whose reporting window has closed.
    pub last_day: Date,
    /// Who takes what; several successors can share the work.
    pub handovers: Vec<HandoverInput>,
    /// The decision that orders the reorganization, kept in the audit trail, e.g.
    /// "Nghị quyết số 1664/NQ-UBTVQH15 ngày 16/6/2025".
    pub source: Option<String>,
}

impl RecordSuccessionInput {
    pub fn into_succession(self) -> Result<Succession, ServiceError> {
        let handovers = self
            .handovers
            .into_iter()
            .map(|h| {
                let tasks = match h.task_ids {
                    Some(ids) => Some(
                        ids.iter()
                            .map(|id| row_id(id, "Task"))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                };
                Ok(Handover {
                    successor: h.successor,
                    tasks,
                    coordination: h.coordination,
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Ok(Succession {
            agency: self.agency,
            last_day: self.last_day.0,
            handovers,
            source: self.source.filter(|s| !s.trim().is_empty()),
        })
    }
}
