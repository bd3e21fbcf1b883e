//! Submissions: a tenant's report on one task for one reporting period, and its review.
//! Every read goes through the tenancy scope; every write checks the version the client
//! last read, the workflow and the reporting window, and appends an audit row in the
//! same transaction.
use std::collections::{HashMap, HashSet, hash_map::Entry};

use chrono::Utc;
use entity::{
    agency,
    by_position::{ReadAt, select_without_search_text},
    deliverable, period, reporting_window, submission, submission_deliverable, task,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait,
    sea_query::{
        Alias, Asterisk, CommonTableExpression, Condition, Expr, ExprTrait, Func, OnConflict,
        Query, SelectStatement, SubQueryStatement, WithClause,
    },
};
use serde_json::{Value, json};

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    catalog,
    catalog_filter::AuditEntryPredicate,
    coalesce,
    domain::{AssignmentRole, Progress, ReviewDecision, Role, SubmissionStatus, parse_stored},
    events::{EventBus, SubmissionEvent, SubmissionEventKind},
    filter::{Filter, Reach},
    pagination::{Page, PageJoin, PageRequest, Sorting, order_keys, paginate_joined},
    submission_filter::{SubmissionPredicate, SubmissionSort},
    tenancy::{Intent, ScopedTxn, SubmissionScope},
    text, timeline, windows,
    workflow::{Action, next_status},
};

/// Longest accepted text of one field.
const MAX_TEXT_CHARS: usize = 20_000;

/// Evidence for one deliverable of the task.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub deliverable_id: i64,
    pub status: Progress,
    pub document_ref: Option<String>,
    pub url: Option<String>,
}

/// A create-or-update of the caller's own draft. Fields left `None` keep their value.
#[derive(Clone, Debug, Default)]
pub struct SaveSubmission {
    pub task_id: i64,
    pub period_code: String,
    pub progress: Option<Progress>,
    pub summary: Option<String>,
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
    /// Replaces all evidence when given.
    pub deliverables: Option<Vec<Evidence>>,
    /// The version last read; omitted only when creating.
    pub expected_version: Option<i32>,
}

fn checked_text(field: &str, value: Option<String>) -> ServiceResult<Option<String>> {
    value
        .map(|v| {
            let v = text::normalize(&v);
            if v.chars().count() > MAX_TEXT_CHARS {
                Err(ServiceError::bad_input(format!(
                    "`{field}` is longer than {MAX_TEXT_CHARS} characters"
                )))
            } else {
                Ok(v)
            }
        })
        .transpose()
}

/// The folded text a report is searched by: its four texts and its evidence references.
fn search_text<'a>(texts: [&'a str; 4], references: impl Iterator<Item = &'a str>) -> String {
    let mut all: Vec<&str> = texts.to_vec();
    all.extend(references);
    text::fold(&all.join("\n"))
}

/// The evidence references of a stored submission.
async fn stored_references(txn: &DatabaseTransaction, id: i64) -> ServiceResult<Vec<String>> {
    Ok(submission_deliverable::Entity::find()
        .filter(submission_deliverable::Column::SubmissionId.eq(id))
        .all(txn)
        .await?
        .into_iter()
        .filter_map(|e| e.document_ref)
        .collect())
}

/// What the audit log and events keep of a submission.
pub fn snapshot(s: &submission::Model) -> Value {
    json!({
        "status": s.status,
        "progress": s.progress,
        "summary": s.summary,
        "results": s.results,
        "difficulties": s.difficulties,
        "proposals": s.proposals,
        "version": s.version,
        "onTime": s.on_time,
        "reviewComment": s.review_comment,
    })
}

fn event(kind: SubmissionEventKind, s: &submission::Model) -> SubmissionEvent {
    SubmissionEvent {
        kind,
        submission_id: s.id,
        agency_id: s.agency_id,
        plan_id: s.plan_id,
        status: s.status.clone(),
        at: Ord::max(s.updated_at, s.reviewed_at.unwrap_or(s.updated_at)),
    }
}

fn conflict(expected: Option<i32>, current: i32) -> ServiceError {
    ServiceError::Conflict {
        expected: expected.unwrap_or(0),
        current,
    }
}

/// The evidence checked: no deliverable twice, and each one the task asks for on its
/// period's duty day (`known`: how many of the distinct ids it does, read with the rest
/// of the save's context).
fn validated_evidence(evidence: Vec<Evidence>, known: i64) -> ServiceResult<Vec<Evidence>> {
    let mut seen = HashSet::new();
    if !evidence.iter().all(|e| seen.insert(e.deliverable_id)) {
        return Err(ServiceError::bad_input(
            "a deliverable appears twice in the evidence",
        ));
    }
    if usize::try_from(known).ok() != Some(seen.len()) {
        return Err(ServiceError::bad_input(
            "a deliverable of the evidence is not one this task asks for in the report's \
             period (see `Task.deliverables(periodCode:)`)",
        ));
    }
    evidence
        .into_iter()
        .map(|mut e| {
            e.document_ref = checked_text("documentRef", e.document_ref)?.filter(|d| !d.is_empty());
            e.url = checked_text("url", e.url)?.filter(|u| !u.is_empty());
            if let Some(url) = &e.url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(ServiceError::bad_input(
                    "an evidence url must start with http:// or https://",
                ));
            }
            Ok(e)
        })
        .collect()
}

/// The evidence as one JSON parameter (an array of records named as the columns), so a
/// statement's text is the same for every save: prepared once per connection and planned
/// from the plan cache. With the ids written into its text, PostgreSQL planned the
/// evidence anew on every save (1.1 ms, a third of a save's whole cost).
fn evidence_records(evidence: &[Evidence]) -> String {
    Value::Array(
        evidence
            .iter()
            .map(|e| {
                json!({
                    "deliverable_id": e.deliverable_id,
                    "status": e.status.as_str(),
                    "document_ref": e.document_ref,
                    "url": e.url,
                })
            })
            .collect(),
    )
    .to_string()
}

/// On PostgreSQL, the parts of a statement that make `records` the whole evidence of the
/// report in `report` (a common table expression with `id` and `agency_id`): what they
/// leave out goes, the rest is written over or added (one row per deliverable, the unique
/// index). No deliverable is both removed and written, so the parts never meet on one row.
fn evidence_parts(report: &Alias, records: String) -> [CommonTableExpression; 3] {
    use submission_deliverable::Column;
    let evidence = Alias::new("evidence");
    let mut rows = Query::select();
    rows.column(Asterisk).from_function(
        Func::cust(Alias::new("jsonb_populate_recordset"))
            .arg(Expr::cust("NULL::submission_deliverable"))
            .arg(Expr::val(records).cast_as(Alias::new("JSONB"))),
        Alias::new("e"),
    );
    let mut dropped = Query::delete();
    dropped
        .from_table(submission_deliverable::Entity)
        .and_where(
            Expr::col(Column::SubmissionId).in_subquery(
                Query::select()
                    .column(Column::Id)
                    .from(report.clone())
                    .take(),
            ),
        )
        .and_where(
            Expr::col(Column::DeliverableId).not_in_subquery(
                Query::select()
                    .column(Column::DeliverableId)
                    .from(evidence.clone())
                    .take(),
            ),
        );
    let mut written = Query::insert();
    written
        .into_table(submission_deliverable::Entity)
        .columns([
            Column::SubmissionId,
            Column::AgencyId,
            Column::DeliverableId,
            Column::Status,
            Column::DocumentRef,
            Column::Url,
        ])
        .on_conflict(
            OnConflict::columns([Column::SubmissionId, Column::DeliverableId])
                .update_columns([Column::Status, Column::DocumentRef, Column::Url])
                .to_owned(),
        );
    // Six values for six columns: `select_from` cannot fail here.
    let _ = written.select_from(
        Query::select()
            .column((report.clone(), Column::Id))
            .column((report.clone(), Column::AgencyId))
            .columns(
                [
                    Column::DeliverableId,
                    Column::Status,
                    Column::DocumentRef,
                    Column::Url,
                ]
                .map(|c| (evidence.clone(), c)),
            )
            .from(report.clone())
            .from(evidence.clone())
            .take(),
    );
    [
        cte(evidence, rows),
        cte(Alias::new("dropped"), dropped),
        cte(Alias::new("written"), written),
    ]
}

/// `name AS (query)`, a part of a statement's WITH.
fn cte(name: Alias, query: impl Into<SubQueryStatement>) -> CommonTableExpression {
    CommonTableExpression::new()
        .query(query)
        .table_name(name)
        .to_owned()
}

/// Makes `evidence` the report's whole evidence (see [`evidence_parts`]).
async fn replace_evidence(
    txn: &DatabaseTransaction,
    s: &submission::Model,
    evidence: &[Evidence],
) -> ServiceResult<()> {
    let records = evidence_records(evidence);
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        let report = Alias::new("report");
        let mut with = WithClause::new();
        with.cte(cte(
            report.clone(),
            Query::select()
                .expr_as(Expr::val(s.id), Alias::new("id"))
                .expr_as(Expr::val(s.agency_id), Alias::new("agency_id"))
                .take(),
        ));
        for part in evidence_parts(&report, records) {
            with.cte(part);
        }
        let statement = with.query(
            Query::select()
                .column(submission_deliverable::Column::Id)
                .from(report)
                .take(),
        );
        txn.execute(&statement).await?;
        return Ok(());
    }
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        "DELETE FROM submission_deliverable WHERE submission_id = ? AND deliverable_id NOT IN \
         (SELECT json_extract(value, '$.deliverable_id') FROM json_each(?))",
        [s.id.into(), records.clone().into()],
    ))
    .await?;
    if !evidence.is_empty() {
        // `WHERE true` keeps SQLite from reading `ON CONFLICT` as part of the join.
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "INSERT INTO submission_deliverable \
                 (submission_id, agency_id, deliverable_id, status, document_ref, url) \
             SELECT ?, ?, json_extract(value, '$.deliverable_id'), json_extract(value, '$.status'), \
                 json_extract(value, '$.document_ref'), json_extract(value, '$.url') \
             FROM json_each(?) WHERE true \
             ON CONFLICT (submission_id, deliverable_id) DO UPDATE SET \
                 status = excluded.status, document_ref = excluded.document_ref, url = excluded.url",
            [s.id.into(), s.agency_id.into(), records.into()],
        ))
        .await?;
    }
    Ok(())
}

/// What an edit of a draft or returned report writes.
const EDITED: [submission::Column; 9] = [
    submission::Column::Summary,
    submission::Column::Results,
    submission::Column::Difficulties,
    submission::Column::Proposals,
    submission::Column::Progress,
    submission::Column::SearchText,
    submission::Column::Version,
    submission::Column::UpdatedAt,
    submission::Column::UpdatedBy,
];

/// What sending a report to the coordinator writes.
const SUBMITTED: [submission::Column; 10] = [
    submission::Column::Status,
    submission::Column::OnTime,
    submission::Column::SubmittedAt,
    submission::Column::SubmittedBy,
    submission::Column::ReviewComment,
    submission::Column::ReviewedAt,
    submission::Column::ReviewedBy,
    submission::Column::Version,
    submission::Column::UpdatedAt,
    submission::Column::UpdatedBy,
];

/// What a coordinator's review writes.
const REVIEWED: [submission::Column; 5] = [
    submission::Column::Status,
    submission::Column::ReviewComment,
    submission::Column::ReviewedAt,
    submission::Column::ReviewedBy,
    submission::Column::Version,
];

/// Writes a report's new state with what goes with it: the row (created, or changed from
/// `before` provided nobody changed it meanwhile, in the columns `writes`), the evidence
/// when given, and the audit entry of the change. `None`: `before` is no longer the stored
/// row.
///
/// On PostgreSQL a change is one statement, its parts joined as common table expressions
/// (each round trip of a save waits for both ends to be scheduled, on a busy machine the
/// larger part of its time). A new report's evidence follows in a statement of its own:
/// the evidence's row-level policy looks for its report, which a statement cannot see
/// before it ends.
async fn write_report(
    txn: &DatabaseTransaction,
    actor: &Principal,
    action: &str,
    writes: &[submission::Column],
    before: Option<&submission::Model>,
    after: &submission::Model,
    evidence: Option<Vec<Evidence>>,
) -> ServiceResult<Option<submission::Model>> {
    use sea_orm::ModelTrait;
    use submission::Column;
    let row: SubQueryStatement = match before {
        None => {
            let columns: Vec<Column> = Column::iter()
                .filter(|c| !matches!(c, Column::Id))
                .collect();
            let values = columns.iter().map(|c| Expr::val(after.get(*c)));
            Query::insert()
                .into_table(submission::Entity)
                .columns(columns.clone())
                .values_panic(values)
                .returning_all()
                .take()
                .into()
        }
        Some(before) => {
            let mut update = Query::update();
            update.table(submission::Entity);
            // Every column the action writes, whatever its value: one statement text per
            // action (prepared and planned once per connection), and nothing derived left
            // as it was because it happened to compare equal.
            for column in Column::iter() {
                let value = after.get(column);
                if writes.iter().any(|w| w.as_str() == column.as_str()) {
                    update.value(column, value);
                } else if value != before.get(column) {
                    return Err(ServiceError::Internal(format!(
                        "a report's {action} changed {}, which it does not write",
                        column.as_str()
                    )));
                }
            }
            update
                .and_where(Expr::col(Column::Id).eq(before.id))
                .and_where(Expr::col(Column::Version).eq(before.version))
                .returning_all()
                .take()
                .into()
        }
    };
    let change = Change {
        entity: "submission",
        entity_id: after.id,
        agency_id: Some(after.agency_id),
        action,
        before: before.map(snapshot),
        after: Some(snapshot(after)),
    };
    let backend = txn.get_database_backend();
    let mut evidence = evidence;
    let written = if backend == DbBackend::Postgres {
        let report = Alias::new("report");
        let mut with = WithClause::new();
        with.cte(cte(report.clone(), row));
        if before.is_some()
            && let Some(evidence) = evidence.take()
        {
            for part in evidence_parts(&report, evidence_records(&evidence)) {
                with.cte(part);
            }
        }
        with.cte(cte(
            Alias::new("audited"),
            audit::entry_for_written(actor, &change, report.clone()),
        ));
        let statement = with.query(Query::select().column(Asterisk).from(report).take());
        let Some(row) = txn.query_one(&statement).await? else {
            return Ok(None);
        };
        submission::Model::from_query_result(&row, "")?
    } else {
        let row = match &row {
            SubQueryStatement::InsertStatement(insert) => backend.build(insert),
            SubQueryStatement::UpdateStatement(update) => backend.build(update),
            _ => unreachable!("a report is written by an INSERT or an UPDATE"),
        };
        let Some(row) = txn.query_one_raw(row).await? else {
            return Ok(None);
        };
        let written = submission::Model::from_query_result(&row, "")?;
        audit::record(
            txn,
            Some(actor),
            Change {
                entity_id: written.id,
                ..change
            },
        )
        .await?;
        written
    };
    // What the statement above did not take: a new report's evidence on PostgreSQL, any
    // evidence on SQLite.
    if let Some(evidence) = evidence {
        replace_evidence(txn, &written, &evidence).await?;
    }
    Ok(Some(written))
}

/// Creates or updates the caller's own draft (or returned) submission.
#[tracing::instrument(skip_all, fields(user = actor.user_id, task = input.task_id))]
pub async fn save(
    db: &DatabaseConnection,
    events: &EventBus,
    actor: &Principal,
    scope: &SubmissionScope,
    input: SaveSubmission,
) -> ServiceResult<submission::Model> {
    actor.require_role(&[Role::Editor, Role::Coordinator])?;
    let summary = checked_text("summary", input.summary)?;
    let results = checked_text("results", input.results)?;
    let difficulties = checked_text("difficulties", input.difficulties)?;
    let proposals = checked_text("proposals", input.proposals)?;

    let txn = scope.begin(db, Intent::Write).await?;
    let evidence_ids: Vec<i64> = input
        .deliverables
        .iter()
        .flatten()
        .map(|e| e.deliverable_id)
        .collect();
    let context = SaveContext::read(
        &txn,
        actor.agency_id,
        input.task_id,
        &input.period_code,
        &evidence_ids,
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("task"))?;
    let (task, window) = (context.task, context.window);
    let period = windows::reporting(&input.period_code, context.period)?;
    if !context.agency_in_force {
        return Err(ServiceError::forbidden(
            "your agency has ended: its successors write its reports from then on",
        ));
    }
    if !context.agency_on_duty_day {
        return Err(ServiceError::forbidden(format!(
            "your agency did not exist when the reports of period {} fell to be made: \
             it owes none",
            period.code
        )));
    }
    if !context.runs_in_period {
        return Err(ServiceError::bad_input(format!(
            "the task is not carried out in period {} (its timeframe: «{}»): nothing is \
             reported on it for that period",
            period.code, task.timeframe_wording
        )));
    }
    if context.role.is_none() {
        return Err(ServiceError::forbidden(format!(
            "the task does not assign your agency, as lead or partner, for period {}",
            period.code
        )));
    }
    let evidence = match input.deliverables {
        Some(evidence) => Some(validated_evidence(evidence, context.evidence_known)?),
        None => None,
    };
    let now = Utc::now();
    let saved = match context.existing {
        None => {
            if input.expected_version.is_some() {
                return Err(conflict(input.expected_version, 0));
            }
            windows::open_now(window, &period)?;
            let references = evidence
                .iter()
                .flatten()
                .filter_map(|e| e.document_ref.as_deref());
            let search_text = search_text(
                [
                    summary.as_deref().unwrap_or_default(),
                    results.as_deref().unwrap_or_default(),
                    difficulties.as_deref().unwrap_or_default(),
                    proposals.as_deref().unwrap_or_default(),
                ],
                references,
            );
            let draft = submission::Model {
                id: 0,
                agency_id: actor.agency_id,
                plan_id: task.plan_id,
                task_id: task.id,
                period_id: period.id,
                status: SubmissionStatus::Draft.as_str().to_owned(),
                progress: input
                    .progress
                    .unwrap_or(Progress::NotStarted)
                    .as_str()
                    .to_owned(),
                summary: summary.unwrap_or_default(),
                results: results.unwrap_or_default(),
                difficulties: difficulties.unwrap_or_default(),
                proposals: proposals.unwrap_or_default(),
                search_text,
                version: 1,
                on_time: None,
                review_comment: None,
                created_at: now,
                created_by: Some(actor.user_id),
                updated_at: now,
                updated_by: Some(actor.user_id),
                submitted_at: None,
                submitted_by: None,
                reviewed_at: None,
                reviewed_by: None,
            };
            let created = write_report(&txn, actor, "create", &[], None, &draft, evidence)
                .await
                .map_err(|e| match e {
                    // A lost race on the unique (agency, task, period) key.
                    ServiceError::Database(e) => {
                        ServiceError::unless_unique(e, conflict(Some(0), 1))
                    }
                    other => other,
                })?
                .ok_or_else(|| ServiceError::Internal("a created report came back empty".into()))?;
            (created, SubmissionEventKind::Created)
        }
        Some(before) => {
            if input.expected_version != Some(before.version) {
                return Err(conflict(input.expected_version, before.version));
            }
            next_status(parse_stored(&before.status)?, Action::Edit)?;
            windows::open_now(window, &period)?;
            let texts_change = [&summary, &results, &difficulties, &proposals]
                .iter()
                .any(|t| t.is_some());
            let search_text = if texts_change || evidence.is_some() {
                let references = match &evidence {
                    Some(evidence) => evidence
                        .iter()
                        .filter_map(|e| e.document_ref.clone())
                        .collect(),
                    None => stored_references(&txn, before.id).await?,
                };
                Some(search_text(
                    [
                        summary.as_deref().unwrap_or(&before.summary),
                        results.as_deref().unwrap_or(&before.results),
                        difficulties.as_deref().unwrap_or(&before.difficulties),
                        proposals.as_deref().unwrap_or(&before.proposals),
                    ],
                    references.iter().map(String::as_str),
                ))
            } else {
                None
            };
            let progress = input.progress.map(|p| p.as_str().to_owned());
            let edited = submission::Model {
                summary: summary.unwrap_or_else(|| before.summary.clone()),
                results: results.unwrap_or_else(|| before.results.clone()),
                difficulties: difficulties.unwrap_or_else(|| before.difficulties.clone()),
                proposals: proposals.unwrap_or_else(|| before.proposals.clone()),
                progress: progress.unwrap_or_else(|| before.progress.clone()),
                search_text: search_text.unwrap_or_else(|| before.search_text.clone()),
                version: before.version + 1,
                updated_at: now,
                updated_by: Some(actor.user_id),
                ..before.clone()
            };
            let after =
                compare_and_set(&txn, actor, "update", &EDITED, &before, &edited, evidence).await?;
            (after, SubmissionEventKind::Updated)
        }
    };
    let (saved, kind) = saved;
    events
        .commit_with(txn.into_inner(), event(kind, &saved))
        .await?;
    Ok(saved)
}

/// What a save checks before it writes, read in one statement: the task, the period of
/// the code, the plan's reporting window for it, how the task assigns the agency, the
/// agency's report if it has one, and how much of the evidence the task asks for.
struct SaveContext {
    task: task::Model,
    period: Option<period::Model>,
    window: Option<reporting_window::Model>,
    /// How the task assigns the agency on the period's duty day (`timeline::duty_day`).
    role: Option<AssignmentRole>,
    /// The saving agency exists today: an ended agency writes nothing.
    agency_in_force: bool,
    /// The saving agency existed on the period's duty day (false without a period).
    agency_on_duty_day: bool,
    /// The task runs in the period (`obligations::task_runs_in`; false without a period).
    runs_in_period: bool,
    /// The agency's report of the task and period, if it has one.
    existing: Option<submission::Model>,
    /// How many of the evidence's distinct deliverables the task asks for on the
    /// period's duty day.
    evidence_known: i64,
}

impl SaveContext {
    /// `None` when there is no such task.
    async fn read(
        txn: &ScopedTxn<'_>,
        agency_id: i64,
        task_id: i64,
        period_code: &str,
        evidence_ids: &[i64],
    ) -> ServiceResult<Option<Self>> {
        const ROLES: [AssignmentRole; 2] = [AssignmentRole::Lead, AssignmentRole::Partner];
        let mut query = Query::select();
        with_columns::<task::Entity>(&mut query, "t_");
        with_columns::<period::Entity>(&mut query, "p_");
        with_columns::<reporting_window::Entity>(&mut query, "w_");
        with_columns::<submission::Entity>(&mut query, "s_");
        let backend = txn.get_database_backend();
        let duty_day =
            || timeline::duty_day(backend, Expr::col((period::Entity, period::Column::EndsOn)));
        for role in ROLES {
            query.expr_as(
                catalog::assigns(
                    role,
                    Expr::val(agency_id),
                    Expr::col((task::Entity, task::Column::Id)),
                    duty_day(),
                ),
                Alias::new(role.as_str()),
            );
        }
        let flag = |condition: Condition| Expr::case(condition, true).finally(false);
        query.expr_as(
            flag(
                timeline::agency_holds_on(Expr::val(timeline::today()))
                    .add(Expr::col((agency::Entity, agency::Column::Id)).is_not_null()),
            ),
            Alias::new("agency_in_force"),
        );
        query.expr_as(
            flag(
                timeline::agency_holds_on(duty_day())
                    .add(Expr::col((period::Entity, period::Column::Id)).is_not_null()),
            ),
            Alias::new("agency_on_duty_day"),
        );
        query.expr_as(
            Expr::case(
                super::obligations::task_runs_in(|c| Expr::col((period::Entity, c))),
                true,
            )
            .finally(false),
            Alias::new("runs_in_period"),
        );
        let asked_for = Query::select()
            .expr(Expr::col((deliverable::Entity, deliverable::Column::Id)).count())
            .from(deliverable::Entity)
            .and_where(
                Expr::col((deliverable::Entity, deliverable::Column::TaskId))
                    .equals((task::Entity, task::Column::Id)),
            )
            .and_where(catalog::among(
                Expr::col((deliverable::Entity, deliverable::Column::Id)),
                evidence_ids,
                backend,
            ))
            .cond_where(timeline::holds_on(
                Expr::col((deliverable::Entity, deliverable::Column::ValidFrom)),
                Expr::col((deliverable::Entity, deliverable::Column::ValidTo)),
                duty_day(),
            ))
            .to_owned();
        query.expr_as(
            Expr::SubQuery(None, Box::new(asked_for.into())),
            Alias::new("evidence_known"),
        );
        query
            .from(task::Entity)
            .left_join(
                period::Entity,
                Expr::col((period::Entity, period::Column::Code)).eq(period_code),
            )
            .left_join(
                agency::Entity,
                Expr::col((agency::Entity, agency::Column::Id)).eq(agency_id),
            )
            .left_join(
                reporting_window::Entity,
                Expr::col((reporting_window::Entity, reporting_window::Column::PlanId))
                    .equals((task::Entity, task::Column::PlanId))
                    .and(
                        Expr::col((reporting_window::Entity, reporting_window::Column::PeriodId))
                            .equals((period::Entity, period::Column::Id)),
                    ),
            )
            // The agency's own report: within its scope, drafts included.
            .left_join(
                submission::Entity,
                Expr::col((submission::Entity, submission::Column::AgencyId))
                    .eq(agency_id)
                    .and(
                        Expr::col((submission::Entity, submission::Column::TaskId))
                            .equals((task::Entity, task::Column::Id)),
                    )
                    .and(
                        Expr::col((submission::Entity, submission::Column::PeriodId))
                            .equals((period::Entity, period::Column::Id)),
                    ),
            )
            .and_where(Expr::col((task::Entity, task::Column::Id)).eq(task_id));
        let Some(row) = txn.query_one_raw(backend.build(&query)).await? else {
            return Ok(None);
        };
        let mut role = None;
        for candidate in ROLES.into_iter().rev() {
            if row.try_get::<bool>("", candidate.as_str())? {
                role = Some(candidate);
            }
        }
        Ok(Some(Self {
            task: task::Model::from_query_result(&row, "t_")?,
            period: joined(&row, "p_")?,
            window: joined(&row, "w_")?,
            role,
            agency_in_force: row.try_get::<bool>("", "agency_in_force")?,
            agency_on_duty_day: row.try_get::<bool>("", "agency_on_duty_day")?,
            runs_in_period: row.try_get::<bool>("", "runs_in_period")?,
            existing: joined(&row, "s_")?,
            evidence_known: row.try_get::<i64>("", "evidence_known")?,
        }))
    }
}

/// Selects every column of `E`, named with `prefix` (as `FromQueryResult` reads them).
fn with_columns<E: EntityTrait + Default>(query: &mut SelectStatement, prefix: &str) {
    for column in E::Column::iter() {
        query.expr_as(
            Expr::col((E::default(), column)),
            Alias::new(format!("{prefix}{}", column.as_str())),
        );
    }
}

/// The row of a LEFT JOINed table, `None` where nothing joined.
fn joined<M: FromQueryResult>(row: &QueryResult, prefix: &str) -> ServiceResult<Option<M>> {
    Ok(match row.try_get::<Option<i64>>(prefix, "id")? {
        Some(_) => Some(M::from_query_result(row, prefix)?),
        None => None,
    })
}

/// Turns `before` into `after` (with `evidence` and the audit entry of `action`, see
/// [`write_report`]) only if the row still has the version `before` was read at; a
/// concurrent writer that got there first makes this CONFLICT and nothing is written.
async fn compare_and_set(
    txn: &DatabaseTransaction,
    actor: &Principal,
    action: &str,
    writes: &[submission::Column],
    before: &submission::Model,
    after: &submission::Model,
    evidence: Option<Vec<Evidence>>,
) -> ServiceResult<submission::Model> {
    if let Some(after) =
        write_report(txn, actor, action, writes, Some(before), after, evidence).await?
    {
        return Ok(after);
    }
    let now = submission::Entity::find_by_id(before.id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("submission"))?;
    Err(conflict(Some(before.version), now.version))
}

/// A submission the scope can see, or NOT_FOUND (the same for another tenant's row as
/// for a missing one).
async fn visible(txn: &ScopedTxn<'_>, id: i64) -> ServiceResult<submission::Model> {
    txn.submissions()
        .filter(submission::Column::Id.eq(id))
        .one(&**txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("submission"))
}

/// Sends the caller's own draft or returned submission to the coordinator.
#[tracing::instrument(skip_all, fields(user = actor.user_id, submission = id))]
pub async fn submit(
    db: &DatabaseConnection,
    events: &EventBus,
    actor: &Principal,
    scope: &SubmissionScope,
    id: i64,
    expected_version: i32,
) -> ServiceResult<submission::Model> {
    let txn = scope.begin(db, Intent::Write).await?;
    let before = visible(&txn, id).await?;
    if before.agency_id != actor.agency_id {
        return Err(ServiceError::forbidden(
            "only the reporting agency submits its report",
        ));
    }
    actor.require_role(&[Role::Editor, Role::Coordinator])?;
    if before.version != expected_version {
        return Err(conflict(Some(expected_version), before.version));
    }
    let status = next_status(parse_stored(&before.status)?, Action::Submit)?;
    let period = catalog::find_by_ids::<entity::period::Entity, _>(&*txn, &[before.period_id])
        .await?
        .pop()
        .ok_or_else(|| ServiceError::Internal("submission without period".into()))?;
    let window = windows::require_open(&*txn, before.plan_id, &period).await?;
    let now = Utc::now();
    let submitted = submission::Model {
        version: before.version + 1,
        status: status.as_str().to_owned(),
        on_time: Some(now <= window.due_at),
        submitted_at: Some(now),
        submitted_by: Some(actor.user_id),
        // A resubmitted report awaits a new review: the old one lives on in its history.
        review_comment: None,
        reviewed_at: None,
        reviewed_by: None,
        updated_at: now,
        updated_by: Some(actor.user_id),
        ..before.clone()
    };
    let after =
        compare_and_set(&txn, actor, "submit", &SUBMITTED, &before, &submitted, None).await?;
    events
        .commit_with(
            txn.into_inner(),
            event(SubmissionEventKind::Submitted, &after),
        )
        .await?;
    Ok(after)
}

/// A coordinator's decision on one submission, at the version they read.
pub struct Review {
    pub id: i64,
    pub expected_version: i32,
    pub decision: ReviewDecision,
    pub comment: Option<String>,
}

/// The coordinator accepts a submitted report, or returns it with a comment.
#[tracing::instrument(skip_all, fields(user = actor.user_id, submission = review.id))]
pub async fn review(
    db: &DatabaseConnection,
    events: &EventBus,
    actor: &Principal,
    scope: &SubmissionScope,
    review: Review,
) -> ServiceResult<submission::Model> {
    let Review {
        id,
        expected_version,
        decision,
        comment,
    } = review;
    let comment = checked_text("comment", comment)?.filter(|c| !c.is_empty());
    let txn = scope.begin(db, Intent::Write).await?;
    let before = visible(&txn, id).await?;
    if !scope.coordinates(before.plan_id) {
        return Err(ServiceError::forbidden(
            "only the plan's coordinator reviews its submissions",
        ));
    }
    if scope.own_line(before.agency_id) {
        return Err(ServiceError::forbidden(
            "nobody reviews their own agency's submission, nor one of an agency whose work \
             passed to theirs",
        ));
    }
    if before.version != expected_version {
        return Err(conflict(Some(expected_version), before.version));
    }
    let action = match decision {
        ReviewDecision::Accept => Action::Accept,
        ReviewDecision::Return => Action::Return,
    };
    let status = next_status(parse_stored(&before.status)?, action)?;
    if decision == ReviewDecision::Return && comment.is_none() {
        return Err(ServiceError::bad_input(
            "returning a submission needs a comment saying what to change",
        ));
    }
    if decision == ReviewDecision::Return {
        // A returned report is revised by its agency; one that has ended writes nothing.
        let author = agency::Entity::find_by_id(before.agency_id)
            .one(&*txn)
            .await?;
        if author.is_some_and(|a| !timeline::holds(a.valid_from, a.valid_to, timeline::today())) {
            return Err(ServiceError::bad_input(
                "the report's agency has ended and can revise nothing: accept it, or leave it \
                 submitted",
            ));
        }
    }
    let now = Utc::now();
    let reviewed = submission::Model {
        version: before.version + 1,
        status: status.as_str().to_owned(),
        review_comment: comment,
        reviewed_at: Some(now),
        reviewed_by: Some(actor.user_id),
        ..before.clone()
    };
    let after = compare_and_set(
        &txn,
        actor,
        action.as_str(),
        &REVIEWED,
        &before,
        &reviewed,
        None,
    )
    .await?;
    let kind = match decision {
        ReviewDecision::Accept => SubmissionEventKind::Accepted,
        ReviewDecision::Return => SubmissionEventKind::Returned,
    };
    events
        .commit_with(txn.into_inner(), event(kind, &after))
        .await?;
    Ok(after)
}

/// Folds the search text of reports written before it existed (an empty search text
/// with some text to fold). Run at start-up by the schema's owner, in batches.
pub async fn fold_unindexed_reports<C: ConnectionTrait>(db: &C) -> ServiceResult<u64> {
    let mut folded = 0;
    loop {
        let batch = submission::Entity::find()
            .filter(submission::Column::SearchText.eq(""))
            .filter(
                sea_orm::Condition::any()
                    .add(submission::Column::Summary.ne(""))
                    .add(submission::Column::Results.ne(""))
                    .add(submission::Column::Difficulties.ne(""))
                    .add(submission::Column::Proposals.ne("")),
            )
            .order_by_asc(submission::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(folded);
        }
        let ids: Vec<i64> = batch.iter().map(|s| s.id).collect();
        let evidence = submission_deliverable::Entity::find()
            .filter(submission_deliverable::Column::SubmissionId.is_in(ids))
            .all(db)
            .await?;
        for s in batch {
            let references = evidence
                .iter()
                .filter(|e| e.submission_id == s.id)
                .filter_map(|e| e.document_ref.as_deref());
            let text = search_text(
                [&s.summary, &s.results, &s.difficulties, &s.proposals],
                references,
            );
            submission::Entity::update_many()
                .col_expr(submission::Column::SearchText, Expr::value(text))
                .filter(submission::Column::Id.eq(s.id))
                .exec(db)
                .await?;
            folded += 1;
        }
    }
}

/// At most this many reports of one task or one agency in a nested list (`Task.submissions`,
/// `Agency.submissions`): the newest. The `submissions` connection pages them all.
pub const MAX_OF_PARENT: usize = 200;

/// Rows of other tables that a page of reports reads with its own, because the caller
/// will ask for them (the selection's look-ahead): each report's task and agency, which
/// would otherwise take a statement each after the page.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageRelations {
    pub tasks: bool,
    pub agencies: bool,
}

/// A page of reports, with the distinct tasks and agencies of its reports where
/// [`PageRelations`] asked for them.
#[derive(Debug)]
pub struct ReportPage {
    pub reports: Page<submission::Model>,
    pub tasks: Vec<task::Model>,
    pub agencies: Vec<agency::Model>,
}

/// The submissions the scope can see, filtered, ordered (default: newest first) and
/// paged, with the rows of `relations` beside them.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    filter: &Filter<SubmissionPredicate>,
    order: &[Sorting<SubmissionSort>],
    request: &PageRequest,
    relations: PageRelations,
) -> ServiceResult<ReportPage> {
    filter.check()?;
    let keys = order_keys(
        order,
        Sorting::desc(SubmissionSort::CreatedAt),
        SubmissionSort::keys,
        Expr::col((submission::Entity, submission::Column::Id)),
    )?;
    let mut joins = Vec::new();
    if relations.tasks {
        joins.push(PageJoin::of::<task::Entity>(submission::Column::TaskId));
    }
    if relations.agencies {
        joins.push(PageJoin::of::<agency::Entity>(submission::Column::AgencyId));
    }
    // A row: the report, its sort keys, then its task's and its agency's columns.
    let first_joined = submission::Model::WIDTH + keys.len();
    let (mut tasks, mut agencies) = (HashMap::new(), HashMap::new());
    let txn = scope.begin(db, Intent::Read).await?;
    let (select, mut reports) = {
        let reach = Reach::scoped(&txn);
        let mut select = txn
            .submissions()
            .filter(filter.condition(&reach)?)
            .into_query();
        select_without_search_text::<submission::Entity>(&mut select);
        // The count is a scan of every report the caller sees: counted apart, once for
        // all who ask it at the same time (`coalesce`).
        let reports = paginate_joined(
            &*txn,
            select.clone(),
            &keys,
            &request.clone().counting(false),
            &joins,
            |row| {
                let mut at = first_joined;
                if relations.tasks {
                    read_new(row, at, &mut tasks)?;
                    at += task::Model::WIDTH;
                }
                if relations.agencies {
                    read_new(row, at, &mut agencies)?;
                }
                Ok(submission::Model::read_at(row, 0)?)
            },
        )
        .await?;
        (select, reports)
    };
    txn.commit().await?;
    if request.count {
        reports.total_count = Some(coalesce::count(db, scope, &select).await?);
    }
    Ok(ReportPage {
        reports,
        tasks: tasks.into_values().collect(),
        agencies: agencies.into_values().collect(),
    })
}

/// Adds to `rows` the joined row whose columns start at `offset`, unless the join found
/// none or `rows` holds it already (a page's reports share tasks and agencies).
fn read_new<M: ReadAt>(
    row: &QueryResult,
    offset: usize,
    rows: &mut HashMap<i64, M>,
) -> ServiceResult<()> {
    if let Some(id) = M::id_at(row, offset)?
        && let Entry::Vacant(vacant) = rows.entry(id)
    {
        vacant.insert(M::read_at(row, offset)?);
    }
    Ok(())
}

/// Visible submissions by id (for `node` and loaders).
#[tracing::instrument(skip_all, level = "debug")]
pub async fn by_ids(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    ids: &[i64],
) -> ServiceResult<Vec<submission::Model>> {
    let txn = scope.begin(db, Intent::Read).await?;
    let rows = txn
        .submissions()
        .filter(submission::Column::Id.is_in(ids.iter().copied()))
        .all(&*txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}

/// Which parent a batch of visible submissions hangs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parent {
    Task(i64),
    Agency(i64),
}

/// Visible submissions of some tasks or agencies, the newest `MAX_OF_PARENT` of each,
/// oldest first.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn of_parents(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    parents: &[Parent],
    filter: &Filter<SubmissionPredicate>,
) -> ServiceResult<Vec<(Parent, submission::Model)>> {
    filter.check()?;
    let (mut tasks, mut agencies) = (Vec::new(), Vec::new());
    for parent in parents {
        match parent {
            Parent::Task(id) => tasks.push(*id),
            Parent::Agency(id) => agencies.push(*id),
        }
    }
    let txn = scope.begin(db, Intent::Read).await?;
    let condition = filter.condition(&Reach::scoped(&txn))?;
    let mut out = Vec::new();
    for (column, ids) in [
        (submission::Column::TaskId, &tasks),
        (submission::Column::AgencyId, &agencies),
    ] {
        if ids.is_empty() {
            continue;
        }
        // The newest reports of each parent, at most MAX_OF_PARENT of them: a task of a
        // national plan has hundreds, and a nested list is not a place to page them.
        let newest = Expr::cust(format!(
            "ROW_NUMBER() OVER (PARTITION BY \"{}\" ORDER BY \"id\" DESC)",
            column.as_str()
        ));
        let mut numbered = txn
            .submissions()
            .filter(column.is_in(ids.iter().copied()))
            .filter(condition.clone())
            .into_query();
        select_without_search_text::<submission::Entity>(&mut numbered);
        numbered.expr_as(newest, Alias::new("nth"));
        let select = Query::select()
            .column(Asterisk)
            .from_subquery(numbered, Alias::new("numbered"))
            .and_where(Expr::col(Alias::new("nth")).lte(MAX_OF_PARENT as i64))
            .order_by(Alias::new("id"), sea_orm::Order::Asc)
            .to_owned();
        let rows = submission::Model::find_by_statement(db.get_database_backend().build(&select))
            .all(&*txn)
            .await?;
        out.extend(rows.into_iter().map(|row| {
            let parent = match column {
                submission::Column::TaskId => Parent::Task(row.task_id),
                _ => Parent::Agency(row.agency_id),
            };
            (parent, row)
        }));
    }
    txn.commit().await?;
    Ok(out)
}

/// Evidence rows of visible submissions.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn evidence_of(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    submission_ids: &[i64],
) -> ServiceResult<Vec<submission_deliverable::Model>> {
    let txn = scope.begin(db, Intent::Read).await?;
    let visible_ids = txn.submission_ids();
    let rows = submission_deliverable::Entity::find()
        .filter(submission_deliverable::Column::SubmissionId.is_in(submission_ids.iter().copied()))
        .filter(submission_deliverable::Column::SubmissionId.in_subquery(visible_ids))
        .order_by_asc(submission_deliverable::Column::Id)
        .all(&*txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}

/// Audit history of visible submissions, oldest first, as far as it reaches the scope.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn history_of(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    submission_ids: &[i64],
    filter: &Filter<AuditEntryPredicate>,
) -> ServiceResult<Vec<entity::audit_log::Model>> {
    filter.check()?;
    let txn = scope.begin(db, Intent::Read).await?;
    let condition = filter.condition(&Reach::scoped(&txn))?;
    let rows = txn
        .submission_history()
        .filter(entity::audit_log::Column::EntityId.is_in(submission_ids.iter().copied()))
        .filter(condition)
        .order_by_asc(entity::audit_log::Column::Id)
        .all(&*txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}
