//! Reporting windows: the coordinator opens a reporting period for a plan; writes happen
//! only while it is open.
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{period, plan, reporting_window};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::LockType,
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    catalog,
    catalog_filter::{ReportingWindowPredicate, column},
    domain::{PeriodKind, Role, parse_stored},
    filter::{Filter, catalog_page},
    pagination::{KeyKind, PageRequest, SortKey},
    tenancy::SubmissionScope,
    timeline,
};

/// Whether writes are accepted now.
pub fn is_open(window: &reporting_window::Model, now: DateTime<Utc>) -> bool {
    window.opens_at <= now && now < window.closes_at
}

/// The window of a plan and period, if one was opened.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    plan_id: i64,
    period_id: i64,
) -> ServiceResult<Option<reporting_window::Model>> {
    Ok(of_plan_and_period(plan_id, period_id).one(db).await?)
}

fn of_plan_and_period(plan_id: i64, period_id: i64) -> Select<reporting_window::Entity> {
    reporting_window::Entity::find()
        .filter(reporting_window::Column::PlanId.eq(plan_id))
        .filter(reporting_window::Column::PeriodId.eq(period_id))
}

/// Fails with WINDOW_CLOSED unless the plan's window for the period is open now.
pub async fn require_open<C: ConnectionTrait>(
    db: &C,
    plan_id: i64,
    period: &period::Model,
) -> ServiceResult<reporting_window::Model> {
    open_now(find(db, plan_id, period.id).await?, period)
}

/// The window (of a plan for `period`, if one was opened) when it is open now; else
/// WINDOW_CLOSED.
pub fn open_now(
    window: Option<reporting_window::Model>,
    period: &period::Model,
) -> ServiceResult<reporting_window::Model> {
    let window = window.ok_or_else(|| {
        ServiceError::WindowClosed(format!(
            "no reporting window is open for period {}",
            period.code
        ))
    })?;
    if is_open(&window, Utc::now()) {
        Ok(window)
    } else {
        Err(ServiceError::WindowClosed(format!(
            "the reporting window for period {} is not open (open from {} until {})",
            period.code,
            window.opens_at.to_rfc3339(),
            window.closes_at.to_rfc3339()
        )))
    }
}

/// Most reporting windows one list holds: a plan opens one or two a year.
pub const MAX_LISTED: u64 = 100;

/// Reporting windows matching `filter`, earliest first (at most [`MAX_LISTED`]).
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    filter: &Filter<ReportingWindowPredicate>,
) -> ServiceResult<Vec<reporting_window::Model>> {
    let keys = [
        SortKey::asc(
            column(reporting_window::Entity, reporting_window::Column::OpensAt),
            KeyKind::Time,
        ),
        SortKey::asc(
            column(reporting_window::Entity, reporting_window::Column::Id),
            KeyKind::Int,
        ),
    ];
    let page = PageRequest {
        first: MAX_LISTED,
        after: None,
        count: false,
        // The list's rows without their cursors: nothing pages it.
        each_cursor: false,
    };
    let base = reporting_window::Entity::find().into_query();
    let page = catalog_page(db, scope, base, filter, &keys, &page).await?;
    Ok(page.items.into_iter().map(|(_, window)| window).collect())
}

/// The plan, and a check that `actor` coordinates it.
async fn coordinated_plan<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    plan_code: &str,
) -> ServiceResult<plan::Model> {
    actor.require_role(&[Role::Coordinator])?;
    let plan = catalog::plan_by_code(db, plan_code)
        .await?
        .ok_or_else(|| ServiceError::not_found("plan"))?;
    require_coordinator(
        db,
        actor,
        plan.id,
        "only the plan's coordinating agency manages its reporting windows",
    )
    .await?;
    Ok(plan)
}

/// FORBIDDEN with `refusal` unless `actor` is an admin or of the agency that coordinates
/// the plan today: who edits a plan.
pub(super) async fn require_plan_editor<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    plan_id: i64,
    refusal: &str,
) -> ServiceResult<()> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::Coordinator => require_coordinator(db, actor, plan_id, refusal).await,
        _ => Err(ServiceError::forbidden(refusal)),
    }
}

/// FORBIDDEN with `refusal` unless `actor`'s agency coordinates the plan today.
pub(super) async fn require_coordinator<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    plan_id: i64,
    refusal: &str,
) -> ServiceResult<()> {
    let coordinated = plan::Entity::find_by_id(plan_id)
        .filter(timeline::coordinates_today(actor.agency_id))
        .one(db)
        .await?;
    match coordinated {
        Some(_) => Ok(()),
        None => Err(ServiceError::forbidden(refusal)),
    }
}

/// WINDOW_CLOSED when a change to who owes what from the day `from` would change the
/// reports owed for a period of one of `plan_ids` whose reporting window has closed: one
/// whose duty day (`timeline::duty_day`, the day after it ends) is on or after `from`.
/// What was owed and reported in a closed period never changes.
pub async fn refuse_if_closed<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
    from: NaiveDate,
) -> ServiceResult<()> {
    let periods = closed_periods(db, plan_ids).await?;
    let altered = periods
        .iter()
        .filter(|period| timeline::duty_day_after(period.ends_on) >= from)
        .map(|period| period.code.as_str())
        .collect::<Vec<_>>();
    if altered.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::WindowClosed(format!(
            "a change from {from} would alter what was owed for period(s) {}, whose \
             reporting windows have closed",
            altered.join(", ")
        )))
    }
}

/// The periods of `plan_ids` whose reporting windows have closed. Every window of the
/// plans stays as read until the caller's transaction ends (on PostgreSQL; SQLite's
/// writers take turns): a close that commits meanwhile waits, and one that committed
/// first is seen, so that no change lands in a period after its window's close was
/// answered.
async fn closed_periods<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Vec<period::Model>> {
    let windows = reporting_window::Entity::find()
        .filter(reporting_window::Column::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(reporting_window::Column::Id)
        .lock_shared()
        .all(db)
        .await?;
    // After the read, which may have waited for a close.
    let now = Utc::now();
    let period_ids: Vec<i64> = windows
        .iter()
        .filter(|w| w.closes_at <= now)
        .map(|w| w.period_id)
        .collect();
    catalog::find_by_ids::<period::Entity, _>(db, &period_ids).await
}

/// The first day from which a change to who owes what leaves every closed period of
/// `plan_ids` as it was (see [`refuse_if_closed`]); None where no window has closed.
pub async fn first_day_after_closed<C: ConnectionTrait>(
    db: &C,
    plan_ids: &[i64],
) -> ServiceResult<Option<NaiveDate>> {
    Ok(closed_periods(db, plan_ids)
        .await?
        .iter()
        .map(|period| timeline::duty_day_after(period.ends_on))
        .max()
        .map(timeline::duty_day_after))
}

/// A reporting period, which must be a year or a half-year.
pub async fn reporting_period<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ServiceResult<period::Model> {
    reporting(code, catalog::period_by_code(db, code).await?)
}

/// The period found for `code`, if it is one reports are made for.
pub fn reporting(code: &str, period: Option<period::Model>) -> ServiceResult<period::Model> {
    let period = period.ok_or_else(|| {
        ServiceError::bad_input(format!(
            "no period has the code `{code}` (use e.g. 2024, 2024S1)"
        ))
    })?;
    match parse_stored::<PeriodKind>(&period.kind)? {
        PeriodKind::Year | PeriodKind::HalfYear => Ok(period),
        PeriodKind::Phase => Err(ServiceError::bad_input(format!(
            "`{code}` is a phase; reports are made for a year or a half-year"
        ))),
    }
}

fn view(window: &reporting_window::Model) -> serde_json::Value {
    json!({
        "opensAt": window.opens_at,
        "dueAt": window.due_at,
        "closesAt": window.closes_at,
        "reopened": window.reopened,
    })
}

pub struct OpenWindow {
    pub plan_code: String,
    pub period_code: String,
    pub opens_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all)]
pub async fn open(
    db: &DatabaseConnection,
    actor: &Principal,
    input: OpenWindow,
) -> ServiceResult<reporting_window::Model> {
    if !(input.opens_at <= input.due_at && input.due_at <= input.closes_at) {
        return Err(ServiceError::bad_input(
            "a window needs opensAt ≤ dueAt ≤ closesAt",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let plan = coordinated_plan(&txn, actor, &input.plan_code).await?;
    let period = reporting_period(&txn, &input.period_code).await?;
    // Nothing of the plan runs outside its years: such a window would take no report.
    let years = plan.start_year..=plan.end_year;
    if !years.contains(&period.starts_on.year()) {
        return Err(ServiceError::bad_input(format!(
            "period {} is outside the plan's years ({}–{})",
            period.code, plan.start_year, plan.end_year
        )));
    }
    let exists = || {
        ServiceError::bad_input(format!(
            "a window for period {} exists already; close or reopen it instead",
            period.code
        ))
    };
    if find(&txn, plan.id, period.id).await?.is_some() {
        return Err(exists());
    }
    let now = Utc::now();
    let window = reporting_window::Entity::insert(reporting_window::ActiveModel {
        plan_id: Set(plan.id),
        period_id: Set(period.id),
        opens_at: Set(input.opens_at),
        due_at: Set(input.due_at),
        closes_at: Set(input.closes_at),
        reopened: Set(false),
        created_by: Set(Some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await
    // Another coordinator's open committed after the check above.
    .map_err(|err| ServiceError::unless_unique(err, exists()))?;
    audit::record(
        &txn,
        Some(actor),
        Change {
            entity: "reporting_window",
            entity_id: window.id,
            agency_id: Some(actor.agency_id),
            action: "open",
            before: None,
            after: Some(view(&window)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(window)
}

/// Closes a window now, or reopens it until `closes_at`.
#[tracing::instrument(skip_all)]
pub async fn set_closing(
    db: &DatabaseConnection,
    actor: &Principal,
    plan_code: &str,
    period_code: &str,
    reopen_until: Option<DateTime<Utc>>,
) -> ServiceResult<reporting_window::Model> {
    let now = Utc::now();
    if reopen_until.is_some_and(|until| until <= now) {
        return Err(ServiceError::bad_input(
            "a reopened window must close in the future",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let plan = coordinated_plan(&txn, actor, plan_code).await?;
    let period = reporting_period(&txn, period_code).await?;
    // Locked from the read on: concurrent closes and reopens apply one after the other,
    // each checked against, and audited from, what the previous one left.
    let before = of_plan_and_period(plan.id, period.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("reporting window"))?;
    let mut active = before.clone().into_active_model();
    match reopen_until {
        Some(until) if until < before.due_at => {
            // A window opens, falls due, then closes: closing before the due date would
            // make reports late that the window still says are in time.
            return Err(ServiceError::bad_input(format!(
                "the window is due at {}; it cannot close again before that",
                before
                    .due_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        Some(until) => {
            active.closes_at = Set(until);
            active.reopened = Set(true);
            if before.opens_at > now {
                active.opens_at = Set(now);
            }
        }
        None => {
            if before.closes_at > now {
                active.closes_at = Set(now);
            }
            if before.due_at > now {
                active.due_at = Set(now);
            }
            if before.opens_at > now {
                active.opens_at = Set(now);
            }
        }
    }
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor),
        Change {
            entity: "reporting_window",
            entity_id: after.id,
            agency_id: Some(actor.agency_id),
            action: if reopen_until.is_some() {
                "reopen"
            } else {
                "close"
            },
            before: Some(view(&before)),
            after: Some(view(&after)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}
