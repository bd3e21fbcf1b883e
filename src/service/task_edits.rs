//! Editing a task's text and deliverables: the plan's coordinator (or an admin) changes
//! them from a day, no later than today. The text a task had before is kept as a
//! revision until the day before, so that a period's report shows what the task said on
//! its duty day; deliverables dropped from the list end the day before, new ones begin
//! on the day, and evidence already given keeps pointing at the deliverable it was for.
//! A change that would alter a period whose reporting window has closed is refused.
use chrono::NaiveDate;
use entity::{deliverable, task, task_revision};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::LockType,
};
use serde_json::json;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    auth::Principal,
    domain::Role,
    text, timeline, windows,
};

/// Longest task text, in characters (768's longest is under 400).
pub const MAX_CONTENT_CHARS: usize = 2_000;
/// Longest deliverable, in characters.
pub const MAX_DELIVERABLE_CHARS: usize = 500;
/// Most deliverables of one task.
pub const MAX_DELIVERABLES: usize = 20;

/// What to change of a task; what is not given stays.
pub struct TaskEdit {
    pub content: Option<String>,
    /// The task's deliverables from the day on, in order.
    pub deliverables: Option<Vec<String>>,
    /// The first day the change holds (default: today); not after today.
    pub from: Option<NaiveDate>,
}

/// A deliverable as stored: NFC, spaces collapsed, invisible format characters (zero
/// width spaces, direction marks) gone.
fn deliverable_text(text: &str) -> String {
    let visible: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
        .collect();
    text::normalize(&visible.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Two deliverables are one when their words are the same, whatever the case or
/// diacritics.
fn same_words(description: &str) -> String {
    text::fold(&deliverable_text(description))
}

/// The edit's texts, checked and normalized.
fn checked(edit: TaskEdit) -> ServiceResult<(Option<String>, Option<Vec<String>>)> {
    // Control characters (a bell, an escape, direction overrides) are no part of a plan's
    // text and only garble reports and terminals.
    let garbled = |text: &str| {
        text.chars().any(|c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
    };
    if edit.content.as_deref().is_some_and(garbled)
        || edit.deliverables.iter().flatten().any(|d| garbled(d))
    {
        return Err(ServiceError::bad_input(
            "a task's text and deliverables hold no control or direction-override characters",
        ));
    }
    let content = match edit.content.map(|c| text::normalize(&c)) {
        Some(c) if c.is_empty() => return Err(ServiceError::bad_input("a task needs its text")),
        Some(c) if c.chars().count() > MAX_CONTENT_CHARS => {
            return Err(ServiceError::bad_input(format!(
                "a task's text is at most {MAX_CONTENT_CHARS} characters"
            )));
        }
        other => other,
    };
    let deliverables = match edit.deliverables {
        None => None,
        Some(list) => {
            let list: Vec<String> = list.iter().map(|d| deliverable_text(d)).collect();
            if list.is_empty() || list.len() > MAX_DELIVERABLES {
                return Err(ServiceError::bad_input(format!(
                    "a task has 1 to {MAX_DELIVERABLES} deliverables"
                )));
            }
            if list
                .iter()
                .any(|d| d.is_empty() || d.chars().count() > MAX_DELIVERABLE_CHARS)
            {
                return Err(ServiceError::bad_input(format!(
                    "a deliverable is 1 to {MAX_DELIVERABLE_CHARS} characters"
                )));
            }
            let mut seen = std::collections::HashSet::new();
            if !list.iter().all(|d| seen.insert(same_words(d))) {
                return Err(ServiceError::bad_input("a deliverable is listed twice"));
            }
            Some(list)
        }
    };
    Ok((content, deliverables))
}

/// Changes `task_id`'s text and deliverables from `edit.from` on; audited on the task.
#[tracing::instrument(skip_all, fields(task = task_id))]
pub async fn edit(
    db: &DatabaseConnection,
    actor: &Principal,
    task_id: i64,
    edit: TaskEdit,
) -> ServiceResult<task::Model> {
    actor.require_role(&[Role::Coordinator, Role::Admin])?;
    let today = timeline::today();
    let from = edit.from.unwrap_or(today);
    if from > today {
        return Err(ServiceError::bad_input(
            "a task's text changes from today at the latest: its text today is the one in force",
        ));
    }
    let (content, deliverables) = checked(edit)?;
    if content.is_none() && deliverables.is_none() {
        return Err(ServiceError::bad_input(
            "give the task's new text, its deliverables, or both",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let done = edit_in(&txn, actor, task_id, content, deliverables, from).await;
    super::settle(txn, done).await
}

async fn edit_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    task_id: i64,
    content: Option<String>,
    deliverables: Option<Vec<String>>,
    from: NaiveDate,
) -> ServiceResult<task::Model> {
    // Edits of one task wait for each other (SQLite's writers already do).
    let task = task::Entity::find_by_id(task_id)
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("task"))?;
    let refusal = "only the coordinator of the task's plan edits its tasks";
    windows::require_plan_editor(txn, actor, task.plan_id, refusal).await?;
    let plan_start = entity::plan::Entity::find_by_id(task.plan_id)
        .one(txn)
        .await?
        .and_then(|plan| NaiveDate::from_ymd_opt(plan.start_year, 1, 1));
    if plan_start.is_some_and(|start| from < start) {
        return Err(ServiceError::bad_input(
            "a change cannot begin before the plan's first year",
        ));
    }
    windows::refuse_if_closed(txn, &[task.plan_id], from).await?;
    let latest_revision = task_revision::Entity::find()
        .filter(task_revision::Column::TaskId.eq(task.id))
        .order_by_desc(task_revision::Column::ValidTo)
        .one(txn)
        .await?;
    let deliverable_rows = deliverable::Entity::find()
        .filter(deliverable::Column::TaskId.eq(task.id))
        .order_by_asc(deliverable::Column::Position)
        .all(txn)
        .await?;
    let day_before = from
        .pred_opt()
        .ok_or_else(|| ServiceError::bad_input("`from` is out of range"))?;
    // Changes are made in the order of their days: one from before the last would have
    // to rewrite it.
    let last_change = latest_revision
        .iter()
        .map(|r| r.valid_to.succ_opt().unwrap_or(r.valid_to))
        .chain(deliverable_rows.iter().filter_map(|d| d.valid_from))
        .chain(
            deliverable_rows
                .iter()
                .filter_map(|d| d.valid_to.and_then(|t| t.succ_opt())),
        )
        .max();
    if let Some(last) = last_change
        && last > from
    {
        return Err(ServiceError::bad_input(format!(
            "the task was last changed from {last}: a change cannot begin before that"
        )));
    }

    let mut before = json!({});
    let mut after = json!({ "from": from });
    let mut task = task;
    if let Some(content) = content.filter(|c| *c != task.content) {
        // A second change on the same day keeps the text of the day before.
        if latest_revision.is_none_or(|r| r.valid_to != day_before) {
            task_revision::Entity::insert(task_revision::ActiveModel {
                task_id: Set(task.id),
                valid_to: Set(day_before),
                content: Set(task.content.clone()),
            })
            .exec_without_returning(txn)
            .await?;
        }
        before["content"] = json!(task.content);
        after["content"] = json!(content);
        let mut row: task::ActiveModel = task.into();
        row.search_text = Set(text::fold(&content));
        row.content = Set(content);
        task = row.update(txn).await?;
    }
    if let Some(wanted) = deliverables {
        let (was, now) = set_deliverables(txn, &deliverable_rows, &wanted, from).await?;
        if was != now {
            before["deliverables"] = json!(was);
            after["deliverables"] = json!(now);
        }
    }
    if before.as_object().is_some_and(|b| !b.is_empty()) {
        let change = Change {
            entity: "task",
            entity_id: task.id,
            agency_id: Some(actor.agency_id),
            action: "edit",
            before: Some(before),
            after: Some(after),
        };
        audit::record(txn, Some(actor), change).await?;
    }
    Ok(task)
}

/// Makes `wanted` the task's deliverables from `from`, given all its deliverable `rows`:
/// those that hold then and are still wanted stay, the others end the day before, the new
/// ones begin on `from`. Returns the descriptions before and after (as stored).
async fn set_deliverables<C: ConnectionTrait>(
    db: &C,
    rows: &[deliverable::Model],
    wanted: &[String],
    from: NaiveDate,
) -> ServiceResult<(Vec<String>, Vec<String>)> {
    let Some(task_id) = rows.first().map(|d| d.task_id) else {
        return Err(ServiceError::Internal("a task without deliverables".into()));
    };
    let holding: Vec<&deliverable::Model> = rows
        .iter()
        .filter(|d| timeline::holds(d.valid_from, d.valid_to, from))
        .collect();
    let was: Vec<String> = holding.iter().map(|d| d.description.clone()).collect();
    let last_position = rows.iter().map(|d| d.position).max().unwrap_or(0);
    let day_before = from.pred_opt().unwrap_or(from);
    let wanted_keys: Vec<String> = wanted.iter().map(|w| same_words(w)).collect();
    for row in holding.iter().copied() {
        if !wanted_keys.contains(&same_words(&row.description)) {
            // Ends the day before; one that began on `from` then never held, and stays
            // only for the evidence that may point at it.
            let mut ended: deliverable::ActiveModel = row.clone().into();
            ended.valid_to = Set(Some(day_before));
            ended.update(db).await?;
        }
    }
    // Deliverables kept keep their places, which earlier periods share; new ones come
    // after them.
    let mut now = Vec::with_capacity(wanted.len());
    let mut position = last_position;
    for (description, key) in wanted.iter().zip(&wanted_keys) {
        let held = holding
            .iter()
            .copied()
            .find(|d| same_words(&d.description) == *key);
        // One that ended just before `from` (an edit undone the same day) goes on, with
        // the evidence given for it.
        let reopened = || {
            rows.iter()
                .filter(|d| d.valid_to == Some(day_before) && same_words(&d.description) == *key)
                .max_by_key(|d| d.id)
        };
        match held.or_else(reopened) {
            Some(kept) => {
                if kept.valid_to.is_some() {
                    let mut reopened: deliverable::ActiveModel = kept.clone().into();
                    reopened.valid_to = Set(None);
                    reopened.update(db).await?;
                }
                now.push(kept.description.clone());
            }
            None => {
                position += 1;
                deliverable::Entity::insert(deliverable::ActiveModel {
                    task_id: Set(task_id),
                    description: Set(description.clone()),
                    position: Set(position),
                    inferred: Set(false),
                    valid_from: Set(Some(from)),
                    valid_to: Set(None),
                    ..Default::default()
                })
                .exec_without_returning(db)
                .await?;
                now.push(description.clone());
            }
        }
    }
    Ok((was, now))
}

/// What each task of `task_ids` said on `day`, where its text has changed since: (task
/// id, the text of its earliest revision that lasted until `day` or later).
pub async fn texts_on<C: ConnectionTrait>(
    db: &C,
    task_ids: &[i64],
    day: NaiveDate,
) -> ServiceResult<std::collections::HashMap<i64, String>> {
    let revisions = task_revision::Entity::find()
        .filter(task_revision::Column::TaskId.is_in(task_ids.iter().copied()))
        .filter(task_revision::Column::ValidTo.gte(day))
        .order_by_desc(task_revision::Column::ValidTo)
        .all(db)
        .await?;
    // Latest first, so the earliest revision per task is the one kept.
    Ok(revisions
        .into_iter()
        .map(|r| (r.task_id, r.content))
        .collect())
}
