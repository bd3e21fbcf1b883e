//! Reporting obligations: which agency must report on which task for which period, and
//! where its report stands. The one definition of "a report is expected", in SQL:
//!
//! an agency owes a report on a task for a period when the task's plan has a reporting
//! window for the period, the period ends on or after the day the plan takes effect, one
//! of the task's phases covers the period (is the period, for a task due ONCE), and on the period's duty day (the day after
//! it ends, `timeline::duty_day`) the task assigns the agency as lead (groups expanded)
//! and the agency is a tenant that exists.
//!
//! The caller sees the obligations of the agencies it may survey (its own; a plan's
//! coordinator and analysts every agency's), each with the report it may see.
use std::collections::HashMap;

use entity::{
    agency, assignment, period, plan, reporting_window, section, submission, task, task_period,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult,
    sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement},
};

use super::{
    ServiceResult, catalog,
    catalog_filter::{
        AgencyPredicate, AssignmentRows, PeriodPredicate, PlanPredicate, TaskPredicate, assignees,
        column, ids_where, lookup, related,
    },
    coalesce,
    domain::{AssignmentRole, ObligationState, TaskSchedule, parse_stored},
    filter::{Field, Filter, Op, Predicate, Reach, Size},
    pagination::{KeyKind, Page, PageRequest, SortKey, Sorting, order_keys, paginate},
    tenancy::{Intent, ScopedTxn, SubmissionScope},
    timeline,
};

/// The alias the obligations table goes by in queries.
pub const TABLE: &str = "obligation";

/// A column of the obligations table.
pub fn col(name: &str) -> Expr {
    Expr::col((Alias::new(TABLE), Alias::new(name)))
}

/// One agency's duty to report on one task for one period, with the report the caller
/// may see.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct ObligationRow {
    pub agency_id: i64,
    pub task_id: i64,
    pub period_id: i64,
    pub plan_id: i64,
    pub submission_id: Option<i64>,
    /// MISSING, or the visible report's status.
    pub state: String,
    pub on_time: Option<bool>,
}

impl ObligationRow {
    pub fn state(&self) -> ServiceResult<ObligationState> {
        parse_stored(&self.state)
    }
}

/// Every obligation the transaction's scope may survey, as a table with the columns
/// agency_id, agency_kind, task_id, section_id, plan_id, period_id, submission_id,
/// state, progress, on_time, submitted_at, reviewed_at; confined to what `confined` names
/// (the same rows as the filter it comes from would leave).
fn table(txn: &ScopedTxn, confined: &Confined) -> SelectStatement {
    let plan = confined.plan;
    let o = |name: &str| Expr::col((Alias::new("owed"), Alias::new(name)));
    let s = |c: submission::Column| column(submission::Entity, c);
    let p = |name: &str| Expr::col((Alias::new("reported"), Alias::new(name)));
    let backend = txn.get_database_backend();
    let missing = ObligationState::Missing.as_str();
    let mut expected = Query::select()
        .expr_as(o("agency_id"), Alias::new("agency_id"))
        .expr_as(
            column(agency::Entity, agency::Column::Kind),
            Alias::new("agency_kind"),
        )
        .expr_as(o("task_id"), Alias::new("task_id"))
        .expr_as(
            column(task::Entity, task::Column::SectionId),
            Alias::new("section_id"),
        )
        .expr_as(
            column(task::Entity, task::Column::PlanId),
            Alias::new("plan_id"),
        )
        .expr_as(p("id"), Alias::new("period_id"))
        .expr_as(s(submission::Column::Id), Alias::new("submission_id"))
        .expr_as(
            Expr::case(s(submission::Column::Id).is_null(), missing)
                .finally(s(submission::Column::Status)),
            Alias::new("state"),
        )
        .expr_as(s(submission::Column::Progress), Alias::new("progress"))
        .expr_as(s(submission::Column::OnTime), Alias::new("on_time"))
        .expr_as(
            s(submission::Column::SubmittedAt),
            Alias::new("submitted_at"),
        )
        .expr_as(s(submission::Column::ReviewedAt), Alias::new("reviewed_at"))
        .from_subquery(owed(backend, confined), Alias::new("owed"))
        .inner_join(
            task::Entity,
            column(task::Entity, task::Column::Id).eq(o("task_id")),
        )
        .inner_join(
            agency::Entity,
            column(agency::Entity, agency::Column::Id).eq(o("agency_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            period::Entity,
            Alias::new("reported"),
            p("id").eq(o("period_id")),
        )
        // As a condition, not a join: a period can lie in two phases, and the obligation
        // is one.
        .and_where(task_runs_in(|c| Expr::col((Alias::new("reported"), c))))
        .and_where(column(agency::Entity, agency::Column::IsTenant).eq(true))
        .cond_where(timeline::agency_holds_on(timeline::duty_day(
            backend,
            p("ends_on"),
        )))
        .cond_where(
            txn.survey_condition(o("agency_id"), column(task::Entity, task::Column::PlanId)),
        )
        .to_owned();
    if let Some(plan) = plan {
        expected.and_where(column(task::Entity, task::Column::PlanId).eq(plan));
    }
    // The report of each expected row, where the scope sees it: one row at most (the
    // unique index on agency, task and period).
    let report = Condition::all()
        .add(s(submission::Column::AgencyId).eq(o("agency_id")))
        .add(s(submission::Column::TaskId).eq(o("task_id")))
        .add(s(submission::Column::PeriodId).eq(p("id")))
        .add(txn.submission_condition());
    let few = plan.is_some() || txn.surveys_own_agency_only();
    if few && backend == DbBackend::Postgres {
        // PostgreSQL probes a plain join's index by agency and task only (the period comes
        // from another relation of the outer side) and filters the period after: tens of
        // thousands of rows read for a plan's few hundred. A lateral lookup (LIMIT 1 keeps
        // it from being flattened back) probes by all three: 81 → 55 ms for one plan's
        // progress, 9.5 → 4.6 ms for a district's home (bench/BENCHMARKS.md). Over every
        // plan, one hashed scan of `submission` is cheaper, hence only when rows are few.
        let lookup = Query::select()
            .columns([
                submission::Column::Id,
                submission::Column::Status,
                submission::Column::Progress,
                submission::Column::OnTime,
                submission::Column::SubmittedAt,
                submission::Column::ReviewedAt,
            ])
            .from(submission::Entity)
            .cond_where(report)
            .limit(1)
            .to_owned();
        expected.join_lateral(
            JoinType::LeftJoin,
            lookup,
            Alias::new("submission"),
            Expr::val(true),
        );
    } else {
        expected.join(JoinType::LeftJoin, submission::Entity, report);
    }
    expected
}

/// The task (the `task` table of the query) runs in the period whose columns `period`
/// gives: one of its phases covers the period, or, for a task due ONCE, is the period. The
/// one definition of it, for what is owed and what may be reported.
pub fn task_runs_in(period: impl Fn(period::Column) -> Expr) -> Expr {
    let phase = |c: period::Column| Expr::col((Alias::new("phase"), c));
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(task_period::Entity)
            .join_as(
                JoinType::InnerJoin,
                period::Entity,
                Alias::new("phase"),
                phase(period::Column::Id)
                    .eq(column(task_period::Entity, task_period::Column::PeriodId)),
            )
            .and_where(
                column(task_period::Entity, task_period::Column::TaskId)
                    .eq(column(task::Entity, task::Column::Id)),
            )
            .and_where(period(period::Column::StartsOn).gte(phase(period::Column::StartsOn)))
            .and_where(period(period::Column::EndsOn).lte(phase(period::Column::EndsOn)))
            // A task due once is owed for its period itself, not the periods within.
            .and_where(
                column(task::Entity, task::Column::Schedule)
                    .ne(TaskSchedule::Once.as_str())
                    .or(period(period::Column::Id).eq(phase(period::Column::Id))),
            )
            .to_owned(),
    )
}

/// (task_id, agency_id, period_id) of every report owed, once each: the plan has a
/// reporting window for the period, the period ends on or after the day the plan takes
/// effect, and on the period's duty day the task assigns the agency as lead (groups
/// expanded). Edits and successions end rows and start new ones rather than rewrite
/// them, so what a past period owes stays as it was.
fn owed(backend: DbBackend, confined: &Confined) -> SelectStatement {
    let p = |name: &str| Expr::col((Alias::new("reported"), Alias::new(name)));
    let a = |name: &str| Expr::col((Alias::new("assignee"), Alias::new(name)));
    // The reported period joins inside each branch: who holds depends on its duty day.
    let with_periods = |branch: &mut SelectStatement| {
        branch
            .expr_as(p("id"), Alias::new("period_id"))
            .inner_join(
                task::Entity,
                column(task::Entity, task::Column::Id)
                    .eq(column(assignment::Entity, assignment::Column::TaskId)),
            )
            .inner_join(
                plan::Entity,
                column(plan::Entity, plan::Column::Id)
                    .eq(column(task::Entity, task::Column::PlanId)),
            )
            .inner_join(
                reporting_window::Entity,
                column(reporting_window::Entity, reporting_window::Column::PlanId)
                    .eq(column(task::Entity, task::Column::PlanId)),
            )
            .join_as(
                JoinType::InnerJoin,
                period::Entity,
                Alias::new("reported"),
                p("id").eq(column(
                    reporting_window::Entity,
                    reporting_window::Column::PeriodId,
                )),
            )
            .and_where(p("ends_on").gte(timeline::plan_effective_on()));
        if let Some(plan) = confined.plan {
            branch.and_where(column(task::Entity, task::Column::PlanId).eq(plan));
        }
        for periods in &confined.periods {
            branch.and_where(p("id").in_subquery(periods.clone()));
        }
    };
    let duty_day = || timeline::duty_day(backend, p("ends_on"));
    Query::select()
        .distinct()
        .expr_as(a("task_id"), Alias::new("task_id"))
        .expr_as(a("agency_id"), Alias::new("agency_id"))
        .expr_as(a("period_id"), Alias::new("period_id"))
        .from_subquery(
            assignees(
                &AssignmentRows::Table,
                AssignmentRole::Lead,
                duty_day,
                with_periods,
            ),
            Alias::new("assignee"),
        )
        .to_owned()
}

/// `SELECT obligation.* FROM (table) AS obligation WHERE filter`.
pub fn filtered(
    txn: &ScopedTxn,
    filter: &Filter<ObligationPredicate>,
) -> ServiceResult<SelectStatement> {
    filter.check()?;
    let reach = Reach::scoped(txn);
    let confined = Confined::by(filter, &reach)?;
    Ok(Query::select()
        .expr(Expr::col((Alias::new(TABLE), sea_orm::sea_query::Asterisk)))
        .from_subquery(table(txn, &confined), Alias::new(TABLE))
        .cond_where(filter.condition(&reach)?)
        .to_owned())
}

/// What a filter confines obligations to at its top level (alone or among conditions that
/// must all hold), which the rows owed are narrowed by before they meet reports: without
/// it a district's home computed what it owes for every period, then kept one.
struct Confined {
    /// `plan: {id: {equalTo: …}}`.
    plan: Option<i64>,
    /// The ids of the periods each `period: {…}` condition leaves.
    periods: Vec<SelectStatement>,
}

impl Confined {
    fn by(filter: &Filter<ObligationPredicate>, reach: &Reach) -> ServiceResult<Self> {
        let conditions = match filter {
            Filter::All(all) => all.as_slice(),
            other => std::slice::from_ref(other),
        };
        let mut confined = Self {
            plan: None,
            periods: Vec::new(),
        };
        for condition in conditions {
            let Filter::Is(predicate) = condition else {
                continue;
            };
            match predicate.as_ref() {
                ObligationPredicate::Plan(Filter::Is(plan)) => {
                    if let PlanPredicate::Id(Op::EqualTo(super::filter::Value::Int(id))) =
                        plan.as_ref()
                    {
                        confined.plan.get_or_insert(*id);
                    }
                }
                ObligationPredicate::Period(periods) => confined.periods.push(ids_where(
                    period::Entity,
                    period::Column::Id,
                    periods,
                    reach,
                )?),
                _ => {}
            }
        }
        Ok(confined)
    }
}

/// A condition on an obligation.
#[derive(Clone, Debug, PartialEq)]
pub enum ObligationPredicate {
    State(Op),
    OnTime(Op),
    Progress(Op),
    SubmittedAt(Op),
    Plan(Filter<PlanPredicate>),
    Task(Filter<TaskPredicate>),
    Agency(Filter<AgencyPredicate>),
    Period(Filter<PeriodPredicate>),
}

impl Predicate for ObligationPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |name: &str| Field {
            expr: col(name),
            nullable: true,
            text: false,
        };
        match self {
            Self::State(op) => f("state").compare(op, cx),
            Self::OnTime(op) => f("on_time").compare(op, cx),
            Self::Progress(op) => f("progress").compare(op, cx),
            Self::SubmittedAt(op) => f("submitted_at").compare(op, cx),
            Self::Plan(filter) => {
                related(col("plan_id"), plan::Entity, plan::Column::Id, filter, cx)
            }
            Self::Task(filter) => {
                related(col("task_id"), task::Entity, task::Column::Id, filter, cx)
            }
            Self::Agency(filter) => related(
                col("agency_id"),
                agency::Entity,
                agency::Column::Id,
                filter,
                cx,
            ),
            Self::Period(filter) => related(
                col("period_id"),
                period::Entity,
                period::Column::Id,
                filter,
                cx,
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Plan(filter) => filter.size().nested(),
            Self::Task(filter) => filter.size().nested(),
            Self::Agency(filter) => filter.size().nested(),
            Self::Period(filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// What an obligation list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObligationSort {
    /// The task's place in its plan.
    TaskPosition,
    AgencyCode,
    /// The agency's name folded (case and diacritics ignored).
    AgencyName,
    PeriodStartsOn,
    State,
    SubmittedAt,
}

impl ObligationSort {
    pub fn keys(self) -> Vec<SortKey> {
        let of_agency = |value| lookup(agency::Entity, agency::Column::Id, value, col("agency_id"));
        match self {
            Self::TaskPosition => vec![
                SortKey::asc(col("plan_id"), KeyKind::Int),
                SortKey::asc(
                    lookup(
                        task::Entity,
                        task::Column::Id,
                        task::Column::Position,
                        col("task_id"),
                    ),
                    KeyKind::Int,
                ),
            ],
            Self::AgencyCode => vec![SortKey::asc(of_agency(agency::Column::Code), KeyKind::Text)],
            Self::AgencyName => {
                vec![SortKey::asc(
                    of_agency(agency::Column::SearchText),
                    KeyKind::Text,
                )]
            }
            Self::PeriodStartsOn => vec![SortKey::asc(
                lookup(
                    period::Entity,
                    period::Column::Id,
                    period::Column::StartsOn,
                    col("period_id"),
                ),
                KeyKind::Date,
            )],
            Self::State => vec![SortKey::asc(col("state"), KeyKind::Text)],
            Self::SubmittedAt => vec![SortKey::asc(col("submitted_at"), KeyKind::Time).nullable()],
        }
    }
}

/// The sort keys of an obligation order (default: period, the plan's order, agency
/// code), ending with the obligation's key (period, task, agency).
fn keys(order: &[Sorting<ObligationSort>]) -> ServiceResult<Vec<SortKey>> {
    let default = [
        Sorting::asc(ObligationSort::PeriodStartsOn),
        Sorting::asc(ObligationSort::TaskPosition),
        Sorting::asc(ObligationSort::AgencyCode),
    ];
    let order = if order.is_empty() {
        &default[..]
    } else {
        order
    };
    let mut keys = order_keys(order, order[0], ObligationSort::keys, col("period_id"))?;
    let descending = keys.last().is_some_and(|k| k.descending);
    for name in ["task_id", "agency_id"] {
        keys.push(SortKey::asc(col(name), KeyKind::Int).directed(descending, None));
    }
    Ok(keys)
}

/// A page of the obligations the caller may survey.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<ObligationPredicate>,
    order: &[Sorting<ObligationSort>],
    request: &PageRequest,
) -> ServiceResult<Page<ObligationRow>> {
    let keys = keys(order)?;
    let txn = scope.begin(db, Intent::Read).await?;
    let select = filtered(&txn, filter)?;
    // Counted apart, once for all who ask it at the same time (`coalesce`).
    let mut page = paginate(
        &*txn,
        select.clone(),
        &keys,
        &request.clone().counting(false),
    )
    .await?;
    txn.commit().await?;
    if request.count {
        page.total_count = Some(coalesce::count(db, scope, &select).await?);
    }
    Ok(page)
}

/// One obligation with its rows, for building a report.
#[derive(Clone, Debug)]
pub struct Obligation {
    pub agency: agency::Model,
    pub task: task::Model,
    pub section: Option<section::Model>,
    /// The agency's report, where the caller may see it.
    pub submission: Option<submission::Model>,
    pub state: ObligationState,
}

/// Every obligation of a plan for a period that the caller may survey, in the plan's
/// order, with its rows (for the consolidated report; a plan's obligations of one period
/// are at most tasks × lead agencies).
#[tracing::instrument(skip_all)]
pub async fn of_plan_period(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    plan_id: i64,
    period_id: i64,
) -> ServiceResult<Vec<Obligation>> {
    let filter = Filter::All(vec![
        Filter::is(ObligationPredicate::Plan(Filter::is(PlanPredicate::Id(
            Op::EqualTo(super::filter::Value::Int(plan_id)),
        )))),
        Filter::is(ObligationPredicate::Period(Filter::is(
            PeriodPredicate::Id(Op::EqualTo(super::filter::Value::Int(period_id))),
        ))),
    ]);
    let txn = scope.begin(db, Intent::Read).await?;
    let mut select = filtered(&txn, &filter)?;
    for key in keys(&[])? {
        select.order_by_expr(key.expr, sea_orm::Order::Asc);
    }
    let rows = ObligationRow::find_by_statement(db.get_database_backend().build(&select))
        .all(&*txn)
        .await?;
    let ids =
        |f: fn(&ObligationRow) -> Option<i64>| -> Vec<i64> { rows.iter().filter_map(f).collect() };
    let agencies: HashMap<i64, agency::Model> =
        catalog::find_by_ids::<agency::Entity, _>(&*txn, &ids(|r| Some(r.agency_id)))
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let tasks: HashMap<i64, task::Model> =
        catalog::find_by_ids::<task::Entity, _>(&*txn, &ids(|r| Some(r.task_id)))
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let sections: HashMap<i64, section::Model> = catalog::sections_of_plans(&*txn, &[plan_id])
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let submissions: HashMap<i64, submission::Model> = {
        use sea_orm::{ColumnTrait, QueryFilter};
        txn.submissions()
            .filter(submission::Column::Id.is_in(ids(|r| r.submission_id)))
            .all(&*txn)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    txn.commit().await?;
    rows.into_iter()
        .filter_map(|row| {
            let agency = agencies.get(&row.agency_id)?.clone();
            let task = tasks.get(&row.task_id)?.clone();
            Some((row, agency, task))
        })
        .map(|(row, agency, task)| {
            Ok(Obligation {
                section: sections.get(&task.section_id).cloned(),
                submission: row
                    .submission_id
                    .and_then(|id| submissions.get(&id).cloned()),
                state: row.state()?,
                agency,
                task,
            })
        })
        .collect()
}
