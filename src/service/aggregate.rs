//! Grouped aggregates of submissions and of obligations, computed in one SQL statement
//! (GROUP BY … HAVING …) on both backends. Both run over a "fact" table with the same
//! columns — plan_id, section_id, task_id, agency_id, agency_kind, period_id, state,
//! progress, on_time, submitted_at, reviewed_at — made under the tenancy rule, so a
//! count never includes a row its caller could not list.
use chrono::{DateTime, Utc};
use entity::{agency, submission, task};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, QueryTrait,
    sea_query::{
        Alias, Condition, Expr, ExprTrait, Func, NullOrdering, Order, Query, SelectStatement,
    },
};

use super::{
    ServiceError, ServiceResult,
    catalog_filter::column,
    coalesce,
    domain::{ObligationState, Progress, SubmissionStatus},
    filter::{Field, Filter, Op, Predicate, Reach},
    obligations::{self, ObligationPredicate},
    submission_filter::SubmissionPredicate,
    tenancy::{Intent, SubmissionScope},
};

/// Most groups one aggregate may return.
pub const MAX_GROUPS: usize = 1_000;

/// What rows can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Plan,
    Section,
    Task,
    Agency,
    AgencyKind,
    Period,
    /// A submission's status; an obligation's state (MISSING included).
    State,
    Progress,
    OnTime,
    /// `YYYY-MM` of the submission time, in UTC.
    SubmittedMonth,
}

impl Dimension {
    pub const ALL: [Dimension; 10] = [
        Self::Plan,
        Self::Section,
        Self::Task,
        Self::Agency,
        Self::AgencyKind,
        Self::Period,
        Self::State,
        Self::Progress,
        Self::OnTime,
        Self::SubmittedMonth,
    ];

    fn alias(self) -> &'static str {
        match self {
            Self::Plan => "plan_id",
            Self::Section => "section_id",
            Self::Task => "task_id",
            Self::Agency => "agency_id",
            Self::AgencyKind => "agency_kind",
            Self::Period => "period_id",
            Self::State => "state",
            Self::Progress => "progress",
            Self::OnTime => "on_time",
            Self::SubmittedMonth => "submitted_month",
        }
    }

    fn is_text(self) -> bool {
        matches!(
            self,
            Self::AgencyKind | Self::State | Self::Progress | Self::SubmittedMonth
        )
    }

    fn expr(self, backend: DbBackend) -> Expr {
        match self {
            Self::SubmittedMonth => month(backend, fact("submitted_at")),
            other => fact(other.alias()),
        }
    }
}

fn fact(name: &str) -> Expr {
    Expr::col((Alias::new("fact"), Alias::new(name)))
}

/// `YYYY-MM` of a timestamp in UTC.
fn month(backend: DbBackend, at: Expr) -> Expr {
    match backend {
        DbBackend::Postgres => {
            Expr::cust_with_expr("to_char(($1) AT TIME ZONE 'UTC', 'YYYY-MM')", at)
        }
        // Timestamps are stored as RFC 3339 text in UTC.
        _ => Func::cust(Alias::new("substr"))
            .args([at, Expr::val(1), Expr::val(7)])
            .into(),
    }
}

/// The key of one group: set for the dimensions grouped by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupKey {
    pub plan_id: Option<i64>,
    pub section_id: Option<i64>,
    pub task_id: Option<i64>,
    pub agency_id: Option<i64>,
    pub agency_kind: Option<String>,
    pub period_id: Option<i64>,
    pub state: Option<String>,
    pub progress: Option<String>,
    pub on_time: Option<bool>,
    pub submitted_month: Option<String>,
}

/// What one group measures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measures {
    pub count: i64,
    pub plans: i64,
    pub sections: i64,
    pub tasks: i64,
    pub agencies: i64,
    pub periods: i64,
    pub missing: i64,
    pub draft: i64,
    pub submitted: i64,
    pub returned: i64,
    pub accepted: i64,
    pub not_started: i64,
    pub in_progress: i64,
    pub completed: i64,
    /// Submitted or accepted reports that came in before the deadline.
    pub on_time: i64,
    pub first_submitted_at: Option<DateTime<Utc>>,
    pub last_submitted_at: Option<DateTime<Utc>>,
    pub first_reviewed_at: Option<DateTime<Utc>>,
    pub last_reviewed_at: Option<DateTime<Utc>>,
    /// Submitted or accepted, per row (per expected report, for obligations); null when
    /// there are no rows.
    pub completeness: Option<f64>,
    /// On time, per submitted or accepted report; null when none came in.
    pub timeliness: Option<f64>,
}

/// One group of an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub key: GroupKey,
    pub measures: Measures,
}

/// A measure, as SQL over the fact rows of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Count,
    Plans,
    Sections,
    Tasks,
    Agencies,
    Periods,
    Missing,
    Draft,
    Submitted,
    Returned,
    Accepted,
    NotStarted,
    InProgress,
    Completed,
    OnTime,
    Completeness,
    Timeliness,
}

const COUNTS: [(Measure, &str); 15] = [
    (Measure::Count, "m_count"),
    (Measure::Plans, "m_plans"),
    (Measure::Sections, "m_sections"),
    (Measure::Tasks, "m_tasks"),
    (Measure::Agencies, "m_agencies"),
    (Measure::Periods, "m_periods"),
    (Measure::Missing, "m_missing"),
    (Measure::Draft, "m_draft"),
    (Measure::Submitted, "m_submitted"),
    (Measure::Returned, "m_returned"),
    (Measure::Accepted, "m_accepted"),
    (Measure::NotStarted, "m_not_started"),
    (Measure::InProgress, "m_in_progress"),
    (Measure::Completed, "m_completed"),
    (Measure::OnTime, "m_on_time"),
];

fn count_where(condition: Expr) -> Expr {
    Expr::case(condition, 1).finally(0).into()
}

fn counted(condition: Expr) -> Expr {
    Func::sum(count_where(condition)).into()
}

fn came_in() -> Expr {
    fact("state").is_in([
        SubmissionStatus::Submitted.as_str(),
        SubmissionStatus::Accepted.as_str(),
    ])
}

impl Measure {
    fn expr(self, backend: DbBackend) -> Expr {
        let state = |s: &str| counted(fact("state").eq(s));
        let progress = |p: Progress| counted(fact("progress").eq(p.as_str()));
        let distinct = |name: &str| Expr::from(Func::count_distinct(fact(name)));
        match self {
            Self::Count => Expr::cust("COUNT(*)"),
            Self::Plans => distinct("plan_id"),
            Self::Sections => distinct("section_id"),
            Self::Tasks => distinct("task_id"),
            Self::Agencies => distinct("agency_id"),
            Self::Periods => distinct("period_id"),
            Self::Missing => state(ObligationState::Missing.as_str()),
            Self::Draft => state(SubmissionStatus::Draft.as_str()),
            Self::Submitted => state(SubmissionStatus::Submitted.as_str()),
            Self::Returned => state(SubmissionStatus::Returned.as_str()),
            Self::Accepted => state(SubmissionStatus::Accepted.as_str()),
            Self::NotStarted => progress(Progress::NotStarted),
            Self::InProgress => progress(Progress::InProgress),
            Self::Completed => progress(Progress::Completed),
            Self::OnTime => counted(
                Expr::col((Alias::new("fact"), Alias::new("on_time")))
                    .eq(true)
                    .and(came_in()),
            ),
            Self::Completeness => ratio_expr(backend, counted(came_in()), Expr::cust("COUNT(*)")),
            Self::Timeliness => ratio_expr(backend, Self::OnTime.expr(backend), counted(came_in())),
        }
    }
}

/// `part / whole` as a real number, null where `whole` is 0.
fn ratio_expr(backend: DbBackend, part: Expr, whole: Expr) -> Expr {
    let real = match backend {
        DbBackend::Postgres => "DOUBLE PRECISION",
        _ => "REAL",
    };
    let whole = Func::cust(Alias::new("NULLIF")).args([whole, Expr::val(0)]);
    Expr::from(Func::cast_as(part, Alias::new(real))).div(whole)
}

/// A condition on a group's measures.
#[derive(Clone, Debug, PartialEq)]
pub struct HavingPredicate(pub Measure, pub Op);

impl Predicate for HavingPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let nullable = matches!(self.0, Measure::Completeness | Measure::Timeliness);
        Field {
            expr: self.0.expr(cx.backend()),
            nullable,
            text: false,
        }
        .compare(&self.1, cx)
    }
}

/// A grouped aggregate: the dimensions and the condition on groups.
#[derive(Clone, Debug, Default)]
pub struct Grouping {
    pub by: Vec<Dimension>,
    pub having: Filter<HavingPredicate>,
}

/// Groups of the submissions the caller may see, narrowed by `filter`.
#[tracing::instrument(skip_all)]
pub async fn submissions(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<SubmissionPredicate>,
    grouping: &Grouping,
) -> ServiceResult<Vec<Group>> {
    filter.check()?;
    let key = format!("submissions|{filter:?}|{grouping:?}");
    let (filter, grouping) = (filter.clone(), grouping.clone());
    coalesce::groups(db, scope, key, move |db, scope| async move {
        submission_groups(&db, &scope, &filter, &grouping).await
    })
    .await
}

async fn submission_groups(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<SubmissionPredicate>,
    grouping: &Grouping,
) -> ServiceResult<Vec<Group>> {
    let txn = scope.begin(db, Intent::Read).await?;
    let groups = {
        let reach = Reach::scoped(&txn);
        let s = |c: submission::Column| column(submission::Entity, c);
        let mut facts = txn.submissions().into_query();
        facts
            .clear_selects()
            .expr_as(s(submission::Column::PlanId), Alias::new("plan_id"))
            .expr_as(
                column(task::Entity, task::Column::SectionId),
                Alias::new("section_id"),
            )
            .expr_as(s(submission::Column::TaskId), Alias::new("task_id"))
            .expr_as(s(submission::Column::AgencyId), Alias::new("agency_id"))
            .expr_as(
                column(agency::Entity, agency::Column::Kind),
                Alias::new("agency_kind"),
            )
            .expr_as(s(submission::Column::PeriodId), Alias::new("period_id"))
            .expr_as(s(submission::Column::Status), Alias::new("state"))
            .expr_as(s(submission::Column::Progress), Alias::new("progress"))
            .expr_as(s(submission::Column::OnTime), Alias::new("on_time"))
            .expr_as(
                s(submission::Column::SubmittedAt),
                Alias::new("submitted_at"),
            )
            .expr_as(s(submission::Column::ReviewedAt), Alias::new("reviewed_at"))
            .inner_join(
                task::Entity,
                column(task::Entity, task::Column::Id).eq(s(submission::Column::TaskId)),
            )
            .inner_join(
                agency::Entity,
                column(agency::Entity, agency::Column::Id).eq(s(submission::Column::AgencyId)),
            )
            .cond_where(filter.condition(&reach)?);
        grouped(&*txn, &reach, facts, grouping).await?
    };
    txn.commit().await?;
    Ok(groups)
}

/// Groups of the obligations the caller may survey, narrowed by `filter`.
#[tracing::instrument(skip_all)]
pub async fn obligations(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<ObligationPredicate>,
    grouping: &Grouping,
) -> ServiceResult<Vec<Group>> {
    filter.check()?;
    let key = format!("obligations|{filter:?}|{grouping:?}");
    let (filter, grouping) = (filter.clone(), grouping.clone());
    coalesce::groups(db, scope, key, move |db, scope| async move {
        obligation_groups(&db, &scope, &filter, &grouping).await
    })
    .await
}

async fn obligation_groups(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<ObligationPredicate>,
    grouping: &Grouping,
) -> ServiceResult<Vec<Group>> {
    let txn = scope.begin(db, Intent::Read).await?;
    let groups = {
        let reach = Reach::scoped(&txn);
        let facts = obligations::filtered(&txn, filter)?;
        grouped(&*txn, &reach, facts, grouping).await?
    };
    txn.commit().await?;
    Ok(groups)
}

/// `SELECT <dimensions>, <measures> FROM (facts) AS fact GROUP BY … HAVING …`.
async fn grouped<C: ConnectionTrait>(
    db: &C,
    reach: &Reach<'_>,
    facts: SelectStatement,
    grouping: &Grouping,
) -> ServiceResult<Vec<Group>> {
    grouping.having.check()?;
    let backend = db.get_database_backend();
    let by = &grouping.by;
    let distinct: std::collections::HashSet<&Dimension> = by.iter().collect();
    if distinct.len() != by.len() {
        return Err(ServiceError::bad_input("`groupBy` names a dimension twice"));
    }
    let mut query = Query::select();
    query.from_subquery(facts, Alias::new("fact"));
    for dimension in by {
        let expr = dimension.expr(backend);
        query.expr_as(expr.clone(), Alias::new(dimension.alias()));
        query.add_group_by([expr.clone()]);
        let sorted = if dimension.is_text() {
            reach.binary_text(expr)
        } else {
            expr
        };
        query.order_by_expr_with_nulls(sorted, Order::Asc, NullOrdering::First);
    }
    for (measure, alias) in COUNTS {
        query.expr_as(measure.expr(backend), Alias::new(alias));
    }
    for (name, expr) in [
        ("m_first_submitted", Func::min(fact("submitted_at")).into()),
        ("m_last_submitted", Func::max(fact("submitted_at")).into()),
        ("m_first_reviewed", Func::min(fact("reviewed_at")).into()),
        ("m_last_reviewed", Func::max(fact("reviewed_at")).into()),
        ("m_completeness", Measure::Completeness.expr(backend)),
        ("m_timeliness", Measure::Timeliness.expr(backend)),
    ] {
        query.expr_as(expr, Alias::new(name));
    }
    query.cond_having(grouping.having.condition(reach)?);
    query.limit(MAX_GROUPS as u64 + 1);
    let rows = db.query_all(&query).await?;
    if rows.len() > MAX_GROUPS {
        return Err(ServiceError::bad_input(format!(
            "the aggregate has more than {MAX_GROUPS} groups: narrow the filter or group by fewer dimensions"
        )));
    }
    rows.iter().map(|row| read_group(row, by)).collect()
}

fn read_group(row: &QueryResult, by: &[Dimension]) -> ServiceResult<Group> {
    let mut key = GroupKey::default();
    for dimension in by {
        let alias = dimension.alias();
        let int = || row.try_get::<Option<i64>>("", alias);
        let text = || row.try_get::<Option<String>>("", alias);
        match dimension {
            Dimension::Plan => key.plan_id = int()?,
            Dimension::Section => key.section_id = int()?,
            Dimension::Task => key.task_id = int()?,
            Dimension::Agency => key.agency_id = int()?,
            Dimension::AgencyKind => key.agency_kind = text()?,
            Dimension::Period => key.period_id = int()?,
            Dimension::State => key.state = text()?,
            Dimension::Progress => key.progress = text()?,
            Dimension::OnTime => key.on_time = row.try_get::<Option<bool>>("", alias)?,
            Dimension::SubmittedMonth => key.submitted_month = text()?,
        }
    }
    let n = |alias: &str| -> ServiceResult<i64> {
        Ok(row.try_get::<Option<i64>>("", alias)?.unwrap_or_default())
    };
    let at = |alias: &str| row.try_get::<Option<DateTime<Utc>>>("", alias);
    Ok(Group {
        key,
        measures: Measures {
            count: n("m_count")?,
            plans: n("m_plans")?,
            sections: n("m_sections")?,
            tasks: n("m_tasks")?,
            agencies: n("m_agencies")?,
            periods: n("m_periods")?,
            missing: n("m_missing")?,
            draft: n("m_draft")?,
            submitted: n("m_submitted")?,
            returned: n("m_returned")?,
            accepted: n("m_accepted")?,
            not_started: n("m_not_started")?,
            in_progress: n("m_in_progress")?,
            completed: n("m_completed")?,
            on_time: n("m_on_time")?,
            first_submitted_at: at("m_first_submitted")?,
            last_submitted_at: at("m_last_submitted")?,
            first_reviewed_at: at("m_first_reviewed")?,
            last_reviewed_at: at("m_last_reviewed")?,
            completeness: row.try_get::<Option<f64>>("", "m_completeness")?,
            timeliness: row.try_get::<Option<f64>>("", "m_timeliness")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    /// Measures are built from portable function calls: a custom SQL fragment's
    /// placeholders differ between backends (`?` against `$1`).
    #[test]
    fn measures_bind_their_values_in_order_on_both_backends() {
        let query = Query::select()
            .expr(Measure::Draft.expr(DbBackend::Sqlite))
            .expr(Measure::Timeliness.expr(DbBackend::Sqlite))
            .from_subquery(
                Query::select()
                    .expr(Expr::val(27))
                    .from(Alias::new("x"))
                    .to_owned(),
                Alias::new("fact"),
            )
            .to_owned();
        let (sql, values) = query.build(SqliteQueryBuilder);
        assert!(!sql.contains('$'), "{sql}");
        assert_eq!(sql.matches('?').count(), values.0.len(), "{sql}");
        let (sql, values) = query.build(PostgresQueryBuilder);
        assert!(sql.contains(&format!("${}", values.0.len())), "{sql}");
        println!("{sql}");
    }
}
