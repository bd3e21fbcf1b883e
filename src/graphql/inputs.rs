//! Input objects: filters. Each converts into the domain's own filter type.
use async_graphql::InputObject;

use crate::service::{
    catalog::{AgencyFilter, TaskFilter},
    domain::{AgencyKind, TaskSchedule},
};

/// Narrows a task list. Agency arguments are agency codes (e.g. "so-ldtbxh"); an agency
/// matches through its groups too.
#[derive(InputObject, Default)]
#[graphql(name = "TaskFilter")]
pub struct TaskFilterInput {
    /// Plan code, e.g. "768/QĐ-UBND".
    pub plan_code: Option<String>,
    /// Section numeral, e.g. "III".
    pub section: Option<String>,
    /// Tasks this agency leads.
    pub lead_agency: Option<String>,
    /// Tasks this agency cooperates on.
    pub partner_agency: Option<String>,
    /// Tasks this agency leads or cooperates on.
    pub agency: Option<String>,
    pub schedule: Option<TaskSchedule>,
    /// Words that must all appear in the content, ignoring case and diacritics.
    pub search: Option<String>,
}

impl From<TaskFilterInput> for TaskFilter {
    fn from(input: TaskFilterInput) -> Self {
        TaskFilter {
            plan_id: None,
            plan_code: input.plan_code,
            section: input.section,
            lead_agency: input.lead_agency,
            partner_agency: input.partner_agency,
            agency: input.agency,
            schedule: input.schedule,
            search: input.search,
        }
    }
}

/// Narrows an agency list.
#[derive(InputObject, Default)]
#[graphql(name = "AgencyFilter")]
pub struct AgencyFilterInput {
    pub kind: Option<AgencyKind>,
    pub is_tenant: Option<bool>,
    /// Members of the agency group with this code, e.g. "ubnd-cac-huyen".
    pub group: Option<String>,
    /// Words that must all appear in the name, short name or code, ignoring case and diacritics.
    pub search: Option<String>,
}

impl From<AgencyFilterInput> for AgencyFilter {
    fn from(input: AgencyFilterInput) -> Self {
        AgencyFilter {
            kind: input.kind,
            is_tenant: input.is_tenant,
            group: input.group,
            search: input.search,
        }
    }
}
