//! Object types of coordination and analysis: obligations, grouped aggregates and
//! progress rows.
use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};
use entity::{agency, period, plan, section, task};

use super::{
    error::IntoGql,
    loaders::{SubmissionById, tenant_loaders},
    scalars::Timestamp,
    tenant_types::Submission,
    types::{Agency, Period, Plan, Section, Task, required},
};
use crate::service::{
    ServiceError,
    aggregate::{Group, GroupKey, Measures},
    domain::{AgencyKind, ObligationState, Progress, SubmissionStatus, parse_stored},
    obligations::ObligationRow,
    progress::{ProgressCounts, ProgressGroup},
};

pub struct Obligation(pub ObligationRow);

/// One tenant agency's duty to report on a task it leads (directly or through a group)
/// for one reporting period: the task's plan has a reporting window for the period, one
/// of the task's phases covers it, and the agency exists during it.
#[Object]
impl Obligation {
    /// The agency that owes the report.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.agency_id)
            .await
            .map(Agency)
    }
    /// The task to report on.
    async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        required::<task::Entity>(ctx, self.0.task_id)
            .await
            .map(Task)
    }
    /// The reporting period.
    async fn period(&self, ctx: &Context<'_>) -> Result<Period> {
        required::<period::Entity>(ctx, self.0.period_id)
            .await
            .map(Period)
    }
    /// MISSING where there is no report the caller may see.
    async fn state(&self) -> Result<ObligationState> {
        self.0.state().gql()
    }
    /// Whether the report came in before the window's deadline; null until submitted.
    async fn on_time(&self) -> Option<bool> {
        self.0.on_time
    }
    /// The report, where the caller may see it.
    async fn submission(&self, ctx: &Context<'_>) -> Result<Option<Submission>> {
        let Some(id) = self.0.submission_id else {
            return Ok(None);
        };
        Ok(tenant_loaders(ctx)?
            .load_one(SubmissionById(id))
            .await
            .gql()?
            .map(Submission))
    }
}

/// What an aggregate counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Submissions,
    Obligations,
}

pub struct AggregateKey {
    key: GroupKey,
    counted: Counted,
}

fn parsed<T: std::str::FromStr<Err = ServiceError>>(text: &Option<String>) -> Result<Option<T>> {
    text.as_deref().map(parse_stored).transpose().gql()
}

async fn optional<E>(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Arc<E::Model>>>
where
    E: sea_orm::EntityTrait + Send + Sync,
    E::Model: Send + Sync + super::loaders::RowId,
    super::loaders::CatalogLoader: async_graphql::dataloader::Loader<
            super::loaders::ById<E>,
            Value = Arc<E::Model>,
            Error = Arc<ServiceError>,
        >,
{
    match id {
        Some(id) => required::<E>(ctx, id).await.map(Some),
        None => Ok(None),
    }
}

/// The key of a group: each field is set when the aggregate is grouped by it (and the
/// group's rows have a value for it); the others are null.
#[Object]
impl AggregateKey {
    /// Set when grouped by PLAN.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        Ok(optional::<plan::Entity>(ctx, self.key.plan_id)
            .await?
            .map(Plan))
    }
    /// Set when grouped by SECTION.
    async fn section(&self, ctx: &Context<'_>) -> Result<Option<Section>> {
        Ok(optional::<section::Entity>(ctx, self.key.section_id)
            .await?
            .map(Section))
    }
    /// Set when grouped by TASK.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        Ok(optional::<task::Entity>(ctx, self.key.task_id)
            .await?
            .map(Task))
    }
    /// Set when grouped by AGENCY.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        Ok(optional::<agency::Entity>(ctx, self.key.agency_id)
            .await?
            .map(Agency))
    }
    /// Set when grouped by AGENCY_KIND.
    async fn agency_kind(&self) -> Result<Option<AgencyKind>> {
        parsed(&self.key.agency_kind)
    }
    /// Set when grouped by PERIOD.
    async fn period(&self, ctx: &Context<'_>) -> Result<Option<Period>> {
        Ok(optional::<period::Entity>(ctx, self.key.period_id)
            .await?
            .map(Period))
    }
    /// Set when submissions are grouped by STATUS.
    async fn status(&self) -> Result<Option<SubmissionStatus>> {
        match self.counted {
            Counted::Submissions => parsed(&self.key.state),
            Counted::Obligations => Ok(None),
        }
    }
    /// Set when obligations are grouped by STATUS: the report's status as the caller
    /// sees it, MISSING where it sees none.
    async fn state(&self) -> Result<Option<ObligationState>> {
        match self.counted {
            Counted::Obligations => parsed(&self.key.state),
            Counted::Submissions => Ok(None),
        }
    }
    /// Set when grouped by PROGRESS, where the rows have a report.
    async fn progress(&self) -> Result<Option<Progress>> {
        parsed(&self.key.progress)
    }
    /// Set when grouped by ON_TIME, where the rows were submitted.
    async fn on_time(&self) -> Option<bool> {
        self.key.on_time
    }
    /// Set when grouped by SUBMITTED_MONTH (`YYYY-MM`, UTC), where the rows were submitted.
    async fn submitted_month(&self) -> Option<&str> {
        self.key.submitted_month.as_deref()
    }
}

/// Distinct counts of a group's dimensions.
#[derive(SimpleObject)]
pub struct DistinctCounts {
    /// Distinct plans among the group's rows.
    pub plans: i64,
    /// Distinct sections among the group's rows.
    pub sections: i64,
    /// Distinct tasks among the group's rows.
    pub tasks: i64,
    /// Distinct agencies among the group's rows.
    pub agencies: i64,
    /// Distinct periods among the group's rows.
    pub periods: i64,
}

/// Counts of a group's rows by status (an obligation's state: MISSING included).
#[derive(SimpleObject)]
pub struct StatusCounts {
    /// Obligations without a report the caller can see (always 0 for submissions).
    pub missing: i64,
    /// Drafts: only of the caller's own agency, since drafts never leave their agency.
    pub draft: i64,
    /// Submitted and awaiting review.
    pub submitted: i64,
    /// Returned by the coordinator for changes.
    pub returned: i64,
    /// Accepted by the coordinator.
    pub accepted: i64,
}

/// Counts of a group's reports by progress.
#[derive(SimpleObject)]
pub struct ProgressCountsByStage {
    /// Reports whose task has not started.
    pub not_started: i64,
    /// Reports whose task is in progress.
    pub in_progress: i64,
    /// Reports whose task is completed.
    pub completed: i64,
}

/// Earliest or latest times of a group's reports; null where none has one.
#[derive(SimpleObject)]
pub struct TimeBounds {
    /// The earliest (`min`) or latest (`max`) submission time, each report counting with
    /// its latest submit.
    pub submitted_at: Option<Timestamp>,
    /// The earliest (`min`) or latest (`max`) review time, each report counting with its
    /// latest review.
    pub reviewed_at: Option<Timestamp>,
}

/// One group of an aggregate and what it measures.
pub struct AggregateGroup {
    pub group: Group,
    pub counted: Counted,
}

impl AggregateGroup {
    /// The groups of one aggregate.
    pub fn all(groups: Vec<Group>, counted: Counted) -> Vec<Self> {
        groups
            .into_iter()
            .map(|group| Self { group, counted })
            .collect()
    }

    fn m(&self) -> &Measures {
        &self.group.measures
    }
}

/// One group of an aggregate and what it measures.
#[Object]
impl AggregateGroup {
    /// What the group is: the values of the dimensions grouped by.
    async fn key(&self) -> AggregateKey {
        AggregateKey {
            key: self.group.key.clone(),
            counted: self.counted,
        }
    }
    /// Rows in the group (for obligations: reports expected).
    async fn count(&self) -> i64 {
        self.m().count
    }
    /// How many distinct plans, sections, tasks, agencies and periods the rows cover.
    async fn count_distinct(&self) -> DistinctCounts {
        let m = self.m();
        DistinctCounts {
            plans: m.plans,
            sections: m.sections,
            tasks: m.tasks,
            agencies: m.agencies,
            periods: m.periods,
        }
    }
    /// Rows by status.
    async fn by_status(&self) -> StatusCounts {
        let m = self.m();
        StatusCounts {
            missing: m.missing,
            draft: m.draft,
            submitted: m.submitted,
            returned: m.returned,
            accepted: m.accepted,
        }
    }
    /// Reports by progress.
    async fn by_progress(&self) -> ProgressCountsByStage {
        let m = self.m();
        ProgressCountsByStage {
            not_started: m.not_started,
            in_progress: m.in_progress,
            completed: m.completed,
        }
    }
    /// Submitted or accepted reports that came in before the deadline.
    async fn on_time(&self) -> i64 {
        self.m().on_time
    }
    /// Earliest submission and review times.
    async fn min(&self) -> TimeBounds {
        let m = self.m();
        TimeBounds {
            submitted_at: m.first_submitted_at.map(Timestamp),
            reviewed_at: m.first_reviewed_at.map(Timestamp),
        }
    }
    /// Latest submission and review times.
    async fn max(&self) -> TimeBounds {
        let m = self.m();
        TimeBounds {
            submitted_at: m.last_submitted_at.map(Timestamp),
            reviewed_at: m.last_reviewed_at.map(Timestamp),
        }
    }
    /// (submitted + accepted) ÷ count, from 0 to 1. For obligations this is the share of
    /// expected reports that came in.
    async fn completeness(&self) -> Option<f64> {
        self.m().completeness
    }
    /// On time ÷ (submitted + accepted), from 0 to 1; null where nothing came in (not 0,
    /// which would read as "all late").
    async fn timeliness(&self) -> Option<f64> {
        self.m().timeliness
    }
}

pub struct ProgressRow {
    pub group: ProgressGroup,
    pub counts: ProgressCounts,
}

/// Counts of expected and received reports for one agency, section, task or period of a
/// plan.
#[Object]
impl ProgressRow {
    /// What the row is about.
    async fn group(&self) -> ProgressGroup {
        self.group
    }
    /// Set when grouped by AGENCY.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        if self.group != ProgressGroup::Agency {
            return Ok(None);
        }
        required::<agency::Entity>(ctx, self.counts.group_id)
            .await
            .map(|a| Some(Agency(a)))
    }
    /// Set when grouped by SECTION.
    async fn section(&self, ctx: &Context<'_>) -> Result<Option<Section>> {
        if self.group != ProgressGroup::Section {
            return Ok(None);
        }
        required::<section::Entity>(ctx, self.counts.group_id)
            .await
            .map(|s| Some(Section(s)))
    }
    /// Set when grouped by TASK.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        if self.group != ProgressGroup::Task {
            return Ok(None);
        }
        required::<task::Entity>(ctx, self.counts.group_id)
            .await
            .map(|t| Some(Task(t)))
    }
    /// Set when grouped by PERIOD.
    async fn period(&self, ctx: &Context<'_>) -> Result<Option<Period>> {
        if self.group != ProgressGroup::Period {
            return Ok(None);
        }
        required::<period::Entity>(ctx, self.counts.group_id)
            .await
            .map(|p| Some(Period(p)))
    }
    /// Reports expected: lead agencies × tasks covering the period(s).
    async fn expected(&self) -> i64 {
        self.counts.expected
    }
    /// Expected reports now SUBMITTED (awaiting review).
    async fn submitted(&self) -> i64 {
        self.counts.submitted
    }
    /// Expected reports accepted by the coordinator.
    async fn accepted(&self) -> i64 {
        self.counts.accepted
    }
    /// Expected reports returned for changes.
    async fn returned(&self) -> i64 {
        self.counts.returned
    }
    /// Submitted or accepted reports that came in before the deadline.
    async fn on_time(&self) -> i64 {
        self.counts.on_time
    }
    /// Visible reports not started.
    async fn not_started(&self) -> i64 {
        self.counts.not_started
    }
    /// Visible reports in progress.
    async fn in_progress(&self) -> i64 {
        self.counts.in_progress
    }
    /// Visible reports completed.
    async fn completed(&self) -> i64 {
        self.counts.completed
    }
    /// (submitted + accepted) ÷ expected, from 0 to 1.
    async fn completeness(&self) -> Option<f64> {
        self.counts.completeness
    }
    /// on time ÷ (submitted + accepted), from 0 to 1; null where nothing came in.
    async fn timeliness(&self) -> Option<f64> {
        self.counts.timeliness
    }
}
