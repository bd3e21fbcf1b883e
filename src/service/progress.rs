//! Progress of a plan by agency, section, task or period: the obligations aggregate
//! grouped by one dimension, narrowed to a plan and optionally a period.
use sea_orm::DatabaseConnection;

use super::{
    ServiceError, ServiceResult,
    aggregate::{self, Dimension, Grouping},
    catalog,
    catalog_filter::{PeriodPredicate, PlanPredicate},
    filter::{Filter, Op, Value},
    obligations::ObligationPredicate,
    tenancy::SubmissionScope,
    windows,
};

/// What one aggregate row is about.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProgressGroup {
    /// One row per agency that owes reports.
    Agency,
    /// One row per section with expected reports.
    Section,
    /// One row per task with expected reports.
    Task,
    /// One row per reporting period with expected reports.
    Period,
}

impl ProgressGroup {
    fn dimension(self) -> Dimension {
        match self {
            Self::Agency => Dimension::Agency,
            Self::Section => Dimension::Section,
            Self::Task => Dimension::Task,
            Self::Period => Dimension::Period,
        }
    }
}

/// Counts of one group.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressCounts {
    /// The agency, section, task or period id.
    pub group_id: i64,
    pub expected: i64,
    pub submitted: i64,
    pub accepted: i64,
    pub returned: i64,
    pub on_time: i64,
    pub not_started: i64,
    pub in_progress: i64,
    pub completed: i64,
    /// Submitted or accepted, per expected report.
    pub completeness: Option<f64>,
    /// On time, per submitted or accepted report; null when none came in.
    pub timeliness: Option<f64>,
}

/// Aggregates of a plan for one reporting period, or for every period with a reporting
/// window when `period_code` is None.
#[tracing::instrument(skip_all)]
pub async fn aggregate(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    plan_code: &str,
    period_code: Option<&str>,
    group: ProgressGroup,
) -> ServiceResult<Vec<ProgressCounts>> {
    let plan = catalog::plan_by_code(db, plan_code)
        .await?
        .ok_or_else(|| ServiceError::not_found("plan"))?;
    let mut filter = Filter::is(ObligationPredicate::Plan(Filter::is(PlanPredicate::Id(
        Op::EqualTo(Value::Int(plan.id)),
    ))));
    if let Some(code) = period_code {
        let period = windows::reporting_period(db, code).await?;
        filter = filter.and(Filter::is(ObligationPredicate::Period(Filter::is(
            PeriodPredicate::Id(Op::EqualTo(Value::Int(period.id))),
        ))));
    }
    let grouping = Grouping {
        by: vec![group.dimension()],
        having: Filter::default(),
    };
    let mut rows: Vec<ProgressCounts> = aggregate::obligations(db, scope, &filter, &grouping)
        .await?
        .into_iter()
        .map(|g| {
            let key = g.key;
            let m = g.measures;
            ProgressCounts {
                group_id: match group {
                    ProgressGroup::Agency => key.agency_id,
                    ProgressGroup::Section => key.section_id,
                    ProgressGroup::Task => key.task_id,
                    ProgressGroup::Period => key.period_id,
                }
                .unwrap_or_default(),
                expected: m.count,
                submitted: m.submitted,
                accepted: m.accepted,
                returned: m.returned,
                on_time: m.on_time,
                not_started: m.not_started,
                in_progress: m.in_progress,
                completed: m.completed,
                completeness: m.completeness,
                timeliness: m.timeliness,
            }
        })
        .collect();
    // Ids follow the plan's own order: agencies as listed, sections I–V, tasks, periods.
    rows.sort_by_key(|r| r.group_id);
    Ok(rows)
}
