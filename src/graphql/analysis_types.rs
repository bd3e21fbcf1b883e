//! Object types of coordination and analysis: obligations and progress aggregates.
use async_graphql::{Context, Object, Result};
use entity::{agency, period, section, task};

use super::{
    error::IntoGql,
    tenant_types::Submission,
    types::{Agency, Period, Section, Task, required},
};
use crate::service::{
    obligations::{self, ObligationState},
    progress::{ProgressCounts, ProgressGroup},
};

/// One agency's duty to report on one task for one period.
pub struct Obligation(pub obligations::Obligation);

#[Object]
impl Obligation {
    async fn agency(&self) -> Agency {
        Agency(self.0.agency.clone())
    }
    async fn task(&self) -> Task {
        Task(self.0.task.clone())
    }
    async fn period(&self) -> Period {
        Period(self.0.period.clone())
    }
    /// MISSING where there is no report the caller may see.
    async fn state(&self) -> Result<ObligationState> {
        self.0.state().gql()
    }
    /// Whether the report came in before the window's deadline; null until submitted.
    async fn on_time(&self) -> Option<bool> {
        self.0.submission.as_ref().and_then(|s| s.on_time)
    }
    /// The report, where the caller may see it.
    async fn submission(&self) -> Option<Submission> {
        self.0.submission.clone().map(Submission)
    }
}

/// Counts of expected and received reports for one agency, section, task or period.
pub struct ProgressRow {
    pub group: ProgressGroup,
    pub counts: ProgressCounts,
}

#[Object]
impl ProgressRow {
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
    async fn accepted(&self) -> i64 {
        self.counts.accepted
    }
    async fn returned(&self) -> i64 {
        self.counts.returned
    }
    /// Submitted or accepted reports that came in before the deadline.
    async fn on_time(&self) -> i64 {
        self.counts.on_time
    }
    async fn not_started(&self) -> i64 {
        self.counts.not_started
    }
    async fn in_progress(&self) -> i64 {
        self.counts.in_progress
    }
    async fn completed(&self) -> i64 {
        self.counts.completed
    }
    /// (submitted + accepted) ÷ expected, from 0 to 1.
    async fn completeness(&self) -> f64 {
        self.counts.completeness()
    }
    /// on time ÷ (submitted + accepted), from 0 to 1.
    async fn timeliness(&self) -> f64 {
        self.counts.timeliness()
    }
}
