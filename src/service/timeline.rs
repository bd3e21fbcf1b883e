//! Time, said once: which day it is in the province, what "holds on a day" means for
//! anything with validity dates, which day decides who owes a period's report, and who
//! coordinates a plan on a day.
use chrono::{FixedOffset, NaiveDate, Utc};
use entity::{agency, plan, plan_coordination};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func, Order, Query},
};

use super::{ServiceResult, catalog_filter::column};

/// Today in the province (Indochina Time, UTC+7, no daylight saving): the day validity
/// dates are compared with.
pub fn today() -> NaiveDate {
    let ict = FixedOffset::east_opt(7 * 3600).expect("a valid offset");
    Utc::now().with_timezone(&ict).date_naive()
}

/// Something valid from `valid_from` to `valid_to` (both inclusive, None = unbounded)
/// holds on `day`: [`holds_on`] outside SQL.
pub fn holds(valid_from: Option<NaiveDate>, valid_to: Option<NaiveDate>, day: NaiveDate) -> bool {
    valid_from.is_none_or(|f| f <= day) && valid_to.is_none_or(|t| t >= day)
}

/// Something valid from `from` to `to` (both inclusive, null = unbounded) holds on `day`.
pub fn holds_on(from: Expr, to: Expr, day: Expr) -> Condition {
    Condition::all()
        .add(
            Condition::any()
                .add(from.clone().is_null())
                .add(from.lte(day.clone())),
        )
        .add(Condition::any().add(to.clone().is_null()).add(to.gte(day)))
}

/// The day that decides who owes the report of a period ending on `ends_on`: the day
/// after it, when reporting starts. Whoever holds the duty then owes the report, so a
/// duty handed on mid-period is reported by its new holder ("open obligations pass to
/// the successor"), and one period's report has exactly one owner.
pub fn duty_day(backend: DbBackend, ends_on: Expr) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_expr("($1 + 1)", ends_on),
        // SQLite's placeholder of a custom expression is `?`.
        _ => Expr::cust_with_expr("date(?, '+1 day')", ends_on),
    }
}

/// [`duty_day`] of a period ending on `ends_on`, in Rust.
pub fn duty_day_after(ends_on: NaiveDate) -> NaiveDate {
    ends_on.succ_opt().unwrap_or(ends_on)
}

/// The agency (the `agency` table of the query) holds on `day`: it exists then.
pub fn agency_holds_on(day: Expr) -> Condition {
    holds_on(
        column(agency::Entity, agency::Column::ValidFrom),
        column(agency::Entity, agency::Column::ValidTo),
        day,
    )
}

/// The first day a plan's reports are owed for (the `plan` table of the query): its
/// effective date, or the day it was issued.
pub fn plan_effective_on() -> Expr {
    Func::coalesce([
        column(plan::Entity, plan::Column::EffectiveOn),
        column(plan::Entity, plan::Column::IssuedOn),
    ])
    .into()
}

/// The agency that coordinates the plan `plan_id` on `day`: the latest hand-over of
/// `plan_coordination` from on or before that day, else the coordinator the plan's
/// decision names (the `plan` table of the query).
pub fn coordinator_on(day: Expr) -> Expr {
    let handed = Alias::new("handed");
    let h = |c: plan_coordination::Column| Expr::col((handed.clone(), c));
    let latest = Query::select()
        .expr(h(plan_coordination::Column::AgencyId))
        .from_as(plan_coordination::Entity, handed.clone())
        .and_where(h(plan_coordination::Column::PlanId).eq(column(plan::Entity, plan::Column::Id)))
        .and_where(h(plan_coordination::Column::ValidFrom).lte(day))
        .order_by_expr(h(plan_coordination::Column::ValidFrom), Order::Desc)
        .limit(1)
        .to_owned();
    Func::coalesce([
        Expr::SubQuery(None, Box::new(latest.into())),
        column(plan::Entity, plan::Column::CoordinatorId),
    ])
    .into()
}

/// The plans (the `plan` table of the query) that `agency_id` coordinates today.
pub fn coordinates_today(agency_id: i64) -> Condition {
    Condition::all().add(coordinator_on(Expr::val(today())).eq(Expr::val(agency_id)))
}

/// What becomes of a row valid from `valid_from` to `valid_to` when, from the day `from`,
/// it should (`wanted`) or should not hold. Rows are ended or started, never rewritten
/// over days before `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing to do: it holds as wanted, or it ended before and is history.
    Keep,
    /// It ends the day before `from`.
    End,
    /// It had not begun by `from` and is not wanted: it goes.
    Drop,
    /// It was to begin later and is wanted from `from`: it begins then.
    BeginSooner,
    /// It holds on `from` (or ended the day before) with a last day, and is wanted: it
    /// goes on without one.
    Extend,
    /// It ended before `from` and is wanted again: a new row is needed.
    Renew,
}

pub fn change_from(
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
    wanted: bool,
    from: NaiveDate,
) -> Change {
    let holds = holds(valid_from, valid_to, from);
    let begins_later = valid_from.is_some_and(|f| f > from);
    let began_before = valid_from.is_none_or(|f| f < from);
    let ended_the_day_before = valid_to.is_some() && valid_to == from.pred_opt();
    match (wanted, holds, begins_later) {
        (false, true, _) if began_before => Change::End,
        (false, true, _) | (false, false, true) => Change::Drop,
        (false, false, false) => Change::Keep,
        (true, true, _) if valid_to.is_some() => Change::Extend,
        (true, true, _) => Change::Keep,
        (true, false, true) => Change::BeginSooner,
        (true, false, false) if ended_the_day_before => Change::Extend,
        (true, false, false) => Change::Renew,
    }
}

/// Writes `change` (for the day `from`) to the rows of `E` that `rows` selects, whose
/// validity columns are `valid_from` and `valid_to`. `Keep` and `Renew` write nothing:
/// a renewal needs a new row, which only the caller can make.
pub async fn apply_change<E, C>(
    db: &C,
    rows: Condition,
    (valid_from, valid_to): (E::Column, E::Column),
    change: Change,
    from: NaiveDate,
) -> ServiceResult<()>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let update = |column: E::Column, value: Option<NaiveDate>| {
        E::update_many()
            .col_expr(column, Expr::value(value))
            .filter(rows.clone())
    };
    match change {
        Change::Keep | Change::Renew => {}
        Change::End => {
            update(valid_to, from.pred_opt()).exec(db).await?;
        }
        Change::Drop => {
            E::delete_many().filter(rows.clone()).exec(db).await?;
        }
        Change::BeginSooner => {
            update(valid_from, Some(from)).exec(db).await?;
        }
        Change::Extend => {
            update(valid_to, None).exec(db).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn the_duty_day_is_the_day_after_the_period() {
        let ends = || Expr::col(Alias::new("ends_on"));
        let sqlite = Query::select()
            .expr(duty_day(DbBackend::Sqlite, ends()))
            .to_owned()
            .to_string(SqliteQueryBuilder);
        assert!(sqlite.contains("date(\"ends_on\", '+1 day')"), "{sqlite}");
        let postgres = Query::select()
            .expr(duty_day(DbBackend::Postgres, ends()))
            .to_owned()
            .to_string(PostgresQueryBuilder);
        assert!(postgres.contains("(\"ends_on\" + 1)"), "{postgres}");
    }

    #[test]
    fn changes_end_or_start_rows_and_never_rewrite_the_past() {
        let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
        let from = day(7, 1);
        // Held since the start, not wanted: it ends the day before.
        assert_eq!(change_from(None, None, false, from), Change::End);
        // Begins on the day itself or later, not wanted: it goes.
        assert_eq!(change_from(Some(from), None, false, from), Change::Drop);
        assert_eq!(
            change_from(Some(day(9, 1)), None, false, from),
            Change::Drop
        );
        // Ended before: history, whatever is wanted now.
        assert_eq!(
            change_from(None, Some(day(3, 31)), false, from),
            Change::Keep
        );
        assert_eq!(
            change_from(None, Some(day(3, 31)), true, from),
            Change::Renew
        );
        // Wanted and holding, or to begin later and wanted now.
        assert_eq!(change_from(None, None, true, from), Change::Keep);
        assert_eq!(
            change_from(Some(day(9, 1)), None, true, from),
            Change::BeginSooner
        );
        // A scheduled end, or an end the day before, is lifted rather than a new row made.
        assert_eq!(
            change_from(None, Some(day(9, 30)), true, from),
            Change::Extend
        );
        assert_eq!(
            change_from(None, Some(day(6, 30)), true, from),
            Change::Extend
        );
    }

    #[test]
    fn unbounded_ends_hold_on_any_day() {
        let sql = Query::select()
            .expr(Expr::val(1))
            .cond_where(holds_on(
                Expr::col(Alias::new("f")),
                Expr::col(Alias::new("t")),
                Expr::val("2025-03-01"),
            ))
            .to_owned()
            .to_string(SqliteQueryBuilder);
        assert!(
            sql.contains("\"f\" IS NULL OR \"f\" <= '2025-03-01'")
                && sql.contains("\"t\" IS NULL OR \"t\" >= '2025-03-01'"),
            "{sql}"
        );
    }
}
