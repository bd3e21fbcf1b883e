//! Progress aggregates of a plan, computed in SQL (GROUP BY) over the expected reports:
//! lead assignments (groups expanded) of tasks whose timeframe covers a reporting period,
//! for tenant agencies valid in that period. Submissions join in under the tenancy rule,
//! so counts never include what the caller may not see, and rates never exceed 100%.
use entity::{
    agency, agency_group_member, assignment, period, reporting_window, submission, task,
    task_period,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement, UnionType},
};

use super::{
    ServiceError, ServiceResult, catalog,
    domain::{AssignmentRole, Progress, SubmissionStatus},
    tenancy::{Intent, SubmissionScope},
    windows,
};

/// What one aggregate row is about.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProgressGroup {
    Agency,
    Section,
    Task,
    Period,
}

/// Counts of one group.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
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
}

impl ProgressCounts {
    /// Submitted or accepted, per expected report.
    pub fn completeness(&self) -> f64 {
        ratio(self.submitted + self.accepted, self.expected)
    }

    /// On time, per submitted or accepted report.
    pub fn timeliness(&self) -> f64 {
        ratio(self.on_time, self.submitted + self.accepted)
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// (task_id, agency_id) of every lead assignment, groups expanded.
fn lead_pairs() -> SelectStatement {
    let lead = AssignmentRole::Lead.as_str();
    let direct = Query::select()
        .expr_as(
            Expr::col((assignment::Entity, assignment::Column::TaskId)),
            Alias::new("task_id"),
        )
        .expr_as(
            Expr::col((assignment::Entity, assignment::Column::AgencyId)),
            Alias::new("agency_id"),
        )
        .from(assignment::Entity)
        .and_where(Expr::col((assignment::Entity, assignment::Column::Role)).eq(lead))
        .and_where(Expr::col((assignment::Entity, assignment::Column::AgencyId)).is_not_null())
        .to_owned();
    let through_groups = Query::select()
        .expr_as(
            Expr::col((assignment::Entity, assignment::Column::TaskId)),
            Alias::new("task_id"),
        )
        .expr_as(
            Expr::col((
                agency_group_member::Entity,
                agency_group_member::Column::AgencyId,
            )),
            Alias::new("agency_id"),
        )
        .from(assignment::Entity)
        .inner_join(
            agency_group_member::Entity,
            Expr::col((
                agency_group_member::Entity,
                agency_group_member::Column::GroupId,
            ))
            .equals((assignment::Entity, assignment::Column::GroupId)),
        )
        .and_where(Expr::col((assignment::Entity, assignment::Column::Role)).eq(lead))
        .to_owned();
    direct
        .clone()
        .union(UnionType::Distinct, through_groups)
        .to_owned()
}

/// The expected reports (task_id, agency_id, period_id) of a plan for some periods.
fn expected_reports(plan_id: i64, period_ids: &[i64], only_agency: Option<i64>) -> SelectStatement {
    let mut query = Query::select();
    query
        .distinct()
        .expr_as(col("l", "task_id"), Alias::new("task_id"))
        .expr_as(col("l", "agency_id"), Alias::new("agency_id"))
        .expr_as(col("p", "id"), Alias::new("period_id"))
        .from_subquery(lead_pairs(), Alias::new("l"))
        .inner_join(
            task::Entity,
            Expr::col((task::Entity, task::Column::Id))
                .equals((Alias::new("l"), Alias::new("task_id"))),
        )
        .inner_join(
            agency::Entity,
            Expr::col((agency::Entity, agency::Column::Id))
                .equals((Alias::new("l"), Alias::new("agency_id"))),
        )
        .inner_join(
            task_period::Entity,
            Expr::col((task_period::Entity, task_period::Column::TaskId))
                .equals((task::Entity, task::Column::Id)),
        )
        .join_as(
            JoinType::InnerJoin,
            period::Entity,
            Alias::new("ph"),
            col("ph", "id").equals((task_period::Entity, task_period::Column::PeriodId)),
        )
        .join_as(
            JoinType::InnerJoin,
            period::Entity,
            Alias::new("p"),
            Condition::all()
                .add(col("p", "starts_on").gte(col("ph", "starts_on")))
                .add(col("p", "ends_on").lte(col("ph", "ends_on"))),
        )
        .and_where(Expr::col((task::Entity, task::Column::PlanId)).eq(plan_id))
        .and_where(col("p", "id").is_in(period_ids.iter().copied()))
        .and_where(Expr::col((agency::Entity, agency::Column::IsTenant)).eq(true))
        .cond_where(
            Condition::any()
                .add(Expr::col((agency::Entity, agency::Column::ValidFrom)).is_null())
                .add(
                    Expr::col((agency::Entity, agency::Column::ValidFrom)).lte(col("p", "ends_on")),
                ),
        )
        .cond_where(
            Condition::any()
                .add(Expr::col((agency::Entity, agency::Column::ValidTo)).is_null())
                .add(
                    Expr::col((agency::Entity, agency::Column::ValidTo)).gte(col("p", "starts_on")),
                ),
        );
    if let Some(agency_id) = only_agency {
        query.and_where(col("l", "agency_id").eq(agency_id));
    }
    query
}

/// `SUM(CASE WHEN <submission column> = <value> THEN 1 ELSE 0 END)`; values are the
/// domain's own constants.
fn count_where(column: &str, value: &str) -> Expr {
    Expr::cust(format!(
        "SUM(CASE WHEN submission.{column} = '{value}' THEN 1 ELSE 0 END)"
    ))
}

/// Aggregates of a plan for one reporting period, or for every period with a reporting
/// window when `period_code` is None.
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
    let period_ids: Vec<i64> = match period_code {
        Some(code) => vec![windows::reporting_period(db, code).await?.id],
        None => reporting_window::Entity::find()
            .filter(reporting_window::Column::PlanId.eq(plan.id))
            .all(db)
            .await?
            .into_iter()
            .map(|w| w.period_id)
            .collect(),
    };
    let only_agency = (!scope.surveys_all_agencies(plan.id)).then_some(scope.agency_id());
    let key = match group {
        ProgressGroup::Agency => col("e", "agency_id"),
        ProgressGroup::Task => col("e", "task_id"),
        ProgressGroup::Period => col("e", "period_id"),
        ProgressGroup::Section => Expr::col((task::Entity, task::Column::SectionId)),
    };
    let non_draft = |status: SubmissionStatus| count_where("status", status.as_str());
    let txn = scope.begin(db, Intent::Read).await?;
    let query = Query::select()
        .expr_as(key.clone(), Alias::new("group_id"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("expected"))
        .expr_as(non_draft(SubmissionStatus::Submitted), Alias::new("submitted"))
        .expr_as(non_draft(SubmissionStatus::Accepted), Alias::new("accepted"))
        .expr_as(non_draft(SubmissionStatus::Returned), Alias::new("returned"))
        .expr_as(
            Expr::cust(format!(
                "SUM(CASE WHEN submission.on_time AND submission.status IN ('{}', '{}') THEN 1 ELSE 0 END)",
                SubmissionStatus::Submitted.as_str(),
                SubmissionStatus::Accepted.as_str()
            )),
            Alias::new("on_time"),
        )
        .expr_as(count_where("progress", Progress::NotStarted.as_str()), Alias::new("not_started"))
        .expr_as(count_where("progress", Progress::InProgress.as_str()), Alias::new("in_progress"))
        .expr_as(count_where("progress", Progress::Completed.as_str()), Alias::new("completed"))
        .from_subquery(expected_reports(plan.id, &period_ids, only_agency), Alias::new("e"))
        .inner_join(task::Entity, Expr::col((task::Entity, task::Column::Id)).equals((Alias::new("e"), Alias::new("task_id"))))
        .join(
            JoinType::LeftJoin,
            submission::Entity,
            Condition::all()
                .add(Expr::col((submission::Entity, submission::Column::AgencyId)).equals((Alias::new("e"), Alias::new("agency_id"))))
                .add(Expr::col((submission::Entity, submission::Column::TaskId)).equals((Alias::new("e"), Alias::new("task_id"))))
                .add(Expr::col((submission::Entity, submission::Column::PeriodId)).equals((Alias::new("e"), Alias::new("period_id"))))
                .add(txn.submission_condition()),
        )
        .add_group_by([key])
        .to_owned();
    let backend = db.get_database_backend();
    let mut rows = ProgressCounts::find_by_statement(backend.build(&query))
        .all(&*txn)
        .await?;
    // Ids follow the plan's own order: agencies as listed, sections I–V, tasks, periods.
    rows.sort_by_key(|r| r.group_id);
    txn.commit().await?;
    Ok(rows)
}
