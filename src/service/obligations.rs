//! Reporting obligations: for a reporting period, which tasks each agency must report on
//! (lead assignments, groups expanded, tasks whose timeframe covers the period, tenant
//! agencies valid in the period) and where its report stands.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{agency, period, submission, task, task_period};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Query};

use super::{
    ServiceError, ServiceResult, catalog,
    domain::{AssignmentRole, PeriodKind, SubmissionStatus, parse_stored},
    tenancy::{Intent, SubmissionScope},
    windows,
};

/// Where an obligation stands.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ObligationState {
    /// No report the caller can see.
    Missing,
    Draft,
    Submitted,
    Returned,
    Accepted,
}

/// One agency's duty to report on one task for one period.
#[derive(Clone, Debug)]
pub struct Obligation {
    pub agency: agency::Model,
    pub task: task::Model,
    pub period: period::Model,
    /// The agency's report, where the caller may see it.
    pub submission: Option<submission::Model>,
}

impl Obligation {
    pub fn state(&self) -> ServiceResult<ObligationState> {
        state_of(self.submission.as_ref())
    }
}

/// Where an obligation stands, given the report the caller may see.
pub fn state_of(submission: Option<&submission::Model>) -> ServiceResult<ObligationState> {
    Ok(match submission {
        None => ObligationState::Missing,
        Some(s) => match parse_stored::<SubmissionStatus>(&s.status)? {
            SubmissionStatus::Draft => ObligationState::Draft,
            SubmissionStatus::Submitted => ObligationState::Submitted,
            SubmissionStatus::Returned => ObligationState::Returned,
            SubmissionStatus::Accepted => ObligationState::Accepted,
        },
    })
}

/// Whether an agency exists during a period.
pub fn valid_during(agency: &agency::Model, starts_on: NaiveDate, ends_on: NaiveDate) -> bool {
    agency.valid_from.is_none_or(|from| from <= ends_on)
        && agency.valid_to.is_none_or(|to| to >= starts_on)
}

/// The obligations of a reporting period that the caller may survey: all agencies' where
/// the tenancy rule lets it see other agencies' reports of the plan, else its own.
pub async fn for_period(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    period_code: &str,
    agency_code: Option<&str>,
    plan_code: Option<&str>,
) -> ServiceResult<Vec<Obligation>> {
    let period = windows::reporting_period(db, period_code).await?;
    // Tasks whose phases cover the period.
    let covering_phases = Query::select()
        .column(period::Column::Id)
        .from(period::Entity)
        .and_where(period::Column::Kind.eq(PeriodKind::Phase.as_str()))
        .and_where(period::Column::StartsOn.lte(period.starts_on))
        .and_where(period::Column::EndsOn.gte(period.ends_on))
        .to_owned();
    let covered = Query::select()
        .column(task_period::Column::TaskId)
        .from(task_period::Entity)
        .and_where(task_period::Column::PeriodId.in_subquery(covering_phases))
        .to_owned();
    let mut tasks_query = task::Entity::find().filter(task::Column::Id.in_subquery(covered));
    if let Some(code) = plan_code {
        let plan = catalog::plan_by_code(db, code)
            .await?
            .ok_or_else(|| ServiceError::not_found("plan"))?;
        tasks_query = tasks_query.filter(task::Column::PlanId.eq(plan.id));
    }
    let tasks: HashMap<i64, task::Model> = tasks_query
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let task_ids: Vec<i64> = tasks.keys().copied().collect();

    let mut obligations: Vec<Obligation> =
        catalog::agencies_of_tasks(db, &task_ids, AssignmentRole::Lead)
            .await?
            .into_iter()
            .filter(|(task_id, agency)| {
                let task = &tasks[task_id];
                agency.is_tenant
                    && valid_during(agency, period.starts_on, period.ends_on)
                    && agency_code.is_none_or(|code| agency.code == code.trim())
                    && (agency.id == scope.agency_id() || scope.surveys_all_agencies(task.plan_id))
            })
            .map(|(task_id, agency)| Obligation {
                agency,
                task: tasks[&task_id].clone(),
                period: period.clone(),
                submission: None,
            })
            .collect();

    let agency_ids: Vec<i64> = obligations
        .iter()
        .map(|o| o.agency.id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let txn = scope.begin(db, Intent::Read).await?;
    let reports: HashMap<(i64, i64), submission::Model> = txn
        .submissions()
        .filter(submission::Column::PeriodId.eq(period.id))
        .filter(submission::Column::TaskId.is_in(task_ids.iter().copied()))
        .filter(submission::Column::AgencyId.is_in(agency_ids.iter().copied()))
        .all(&*txn)
        .await?
        .into_iter()
        .map(|s| ((s.agency_id, s.task_id), s))
        .collect();
    txn.commit().await?;
    for obligation in &mut obligations {
        obligation.submission = reports
            .get(&(obligation.agency.id, obligation.task.id))
            .cloned();
    }
    obligations.sort_by(|a, b| {
        (a.task.plan_id, a.task.position, &a.agency.code).cmp(&(
            b.task.plan_id,
            b.task.position,
            &b.agency.code,
        ))
    });
    Ok(obligations)
}
