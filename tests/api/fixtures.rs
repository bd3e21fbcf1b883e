//! Steps of the reporting workflow, as a frontend would send them.
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Client, Reply, TestApp};

pub const PLAN: &str = "768/QĐ-UBND";

/// The tasks of 768: the appendix's 20 and the 3 duties its body (section III) gives.
pub const TASKS: i64 = 23;

/// The global id of task `numeral`.`number` (None for section IV's task).
pub async fn task_id(app: &TestApp, numeral: &str, number: Option<i64>) -> String {
    let reply = app
        .graphql(
            "query($s: String) { tasks(first: 100, filter: { section: { numeral: { equalTo: $s } } }) { edges { node { id number } } } }",
            json!({ "s": numeral }),
        )
        .await;
    reply.data()["tasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["number"].as_i64() == number)
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("task {numeral}.{number:?}"))
}

/// Opens `period` as the coordinator: open since an hour, due in `due_in_hours`, closing a
/// day after that.
pub async fn open_window(app: &TestApp, period: &str, due_in_hours: i64) -> Reply {
    let coordinator = app.client("coordinator").await;
    let now = Utc::now();
    coordinator
        .graphql(
            "mutation($i: OpenReportingWindowInput!) { openReportingWindow(input: $i) { isOpen dueAt } }",
            json!({ "i": {
                "planCode": PLAN,
                "periodCode": period,
                "opensAt": (now - Duration::hours(1)).to_rfc3339(),
                "dueAt": (now + Duration::hours(due_in_hours)).to_rfc3339(),
                "closesAt": (now + Duration::hours(due_in_hours.max(0) + 24)).to_rfc3339(),
            } }),
        )
        .await
}

pub const SUBMISSION_FIELDS: &str =
    "id version status progress summary onTime reviewComment agency { code }";

pub async fn save(client: &Client<'_>, input: Value) -> Reply {
    client
        .graphql(
            &format!("mutation($i: SaveSubmissionInput!) {{ saveSubmission(input: $i) {{ {SUBMISSION_FIELDS} }} }}"),
            json!({ "i": input }),
        )
        .await
}

pub async fn submit(client: &Client<'_>, id: &str, version: i64) -> Reply {
    client
        .graphql(
            &format!("mutation($id: ID!, $v: Int!) {{ submitSubmission(id: $id, expectedVersion: $v) {{ {SUBMISSION_FIELDS} }} }}"),
            json!({ "id": id, "v": version }),
        )
        .await
}

pub async fn review(
    client: &Client<'_>,
    id: &str,
    version: i64,
    decision: &str,
    comment: Option<&str>,
) -> Reply {
    client
        .graphql(
            &format!(
                "mutation($id: ID!, $v: Int!, $d: ReviewDecision!, $c: String) {{
                   reviewSubmission(id: $id, expectedVersion: $v, decision: $d, comment: $c) {{ {SUBMISSION_FIELDS} }} }}"
            ),
            json!({ "id": id, "v": version, "d": decision, "c": comment }),
        )
        .await
}

/// A submission field of a mutation's answer.
pub fn field<'a>(reply: &'a Reply, mutation: &str) -> &'a Value {
    &reply.data()[mutation]
}

/// Creates a draft of `client`'s agency on `task` for `period`, returning (id, version).
pub async fn draft(client: &Client<'_>, task: &str, period: &str, summary: &str) -> (String, i64) {
    let reply = save(client, json!({ "taskId": task, "periodCode": period, "summary": summary, "progress": "IN_PROGRESS" })).await;
    let s = field(&reply, "saveSubmission");
    (
        s["id"].as_str().unwrap().to_owned(),
        s["version"].as_i64().unwrap(),
    )
}

/// Drives a fresh draft to `status` (DRAFT, SUBMITTED, RETURNED or ACCEPTED).
pub async fn submission_in(
    app: &TestApp,
    editor: &Client<'_>,
    task: &str,
    period: &str,
    status: &str,
) -> (String, i64) {
    let (id, mut version) = draft(editor, task, period, &format!("{status} report")).await;
    if status == "DRAFT" {
        return (id, version);
    }
    version = field(&submit(editor, &id, version).await, "submitSubmission")["version"]
        .as_i64()
        .unwrap();
    let coordinator = app.client("coordinator").await;
    match status {
        "SUBMITTED" => {}
        "ACCEPTED" => {
            version = field(
                &review(&coordinator, &id, version, "ACCEPT", None).await,
                "reviewSubmission",
            )["version"]
                .as_i64()
                .unwrap()
        }
        "RETURNED" => {
            version = field(
                &review(
                    &coordinator,
                    &id,
                    version,
                    "RETURN",
                    Some("add the plan number"),
                )
                .await,
                "reviewSubmission",
            )["version"]
                .as_i64()
                .unwrap()
        }
        other => panic!("unknown status {other}"),
    }
    (id, version)
}

/// Every node of a connection `field`, paging with `$after` through a query that takes it
/// (`query($after: String, …) { field(first: 100, after: $after, …) { edges { node { … } }
/// pageInfo { hasNextPage endCursor } } }`).
pub async fn every_node(
    client: &Client<'_>,
    query: &str,
    variables: Value,
    field: &str,
) -> Vec<Value> {
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut vars = variables.clone();
        vars["after"] = after.clone();
        let reply = client.graphql(query, vars).await;
        let conn = &reply.data()[field];
        nodes.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            return nodes;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

/// The ids of the tasks an agency leads (directly or through a group), in plan order.
pub async fn led_tasks(client: &Client<'_>, agency: &str) -> Vec<String> {
    let reply = client
        .graphql(
            "query($a: String!) { tasks(first: 100, filter: { leadAgencies: { some: { code: { equalTo: $a } } } }) { edges { node { id } } } }",
            json!({ "a": agency }),
        )
        .await;
    reply.data()["tasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the tasks an agency owes reports on for a period (whose window is open), in
/// plan order.
pub async fn tasks_reported_by(client: &Client<'_>, agency: &str, period: &str) -> Vec<String> {
    let reply = client
        .graphql(
            "query($a: String!, $p: String!) { obligations(first: 100, filter: {
                agency: { code: { equalTo: $a } }, period: { code: { equalTo: $p } } }) {
                edges { node { task { id } } } } }",
            json!({ "a": agency, "p": period }),
        )
        .await;
    reply.data()["obligations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["task"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The deliverables of task `task` (`[{ id }]`), in the task's order.
pub async fn deliverables_of(app: &TestApp, task: &str) -> Value {
    app.graphql(
        "query($id: ID!) { node(id: $id) { ... on Task { deliverables { id } } } }",
        json!({ "id": task }),
    )
    .await
    .data()["node"]["deliverables"]
        .clone()
}

/// A new user made by `admin` through `createUser`, signed in.
pub async fn new_user<'a>(
    app: &'a TestApp,
    admin: &Client<'_>,
    username: &str,
    agency: &str,
    role: &str,
) -> Client<'a> {
    let reply = admin
        .graphql(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { username } }",
            json!({ "i": { "username": username, "agency": agency, "role": role, "password": crate::support::PASSWORD } }),
        )
        .await;
    assert_eq!(
        reply.data()["createUser"]["username"],
        username,
        "{}",
        reply.body
    );
    app.client(username).await
}

/// Asserts that each audit entry of `entity` starts from what the entry before it (of the
/// same row) left: changes applied one after the other, each checked against the
/// previous one's result. Every field an entry's `before` holds must be the previous
/// entry's `after` of it (an `after` may say more, such as the day a change applies from;
/// lists compare as sets of their items).
pub async fn audit_trail_is_unbroken(app: &TestApp, entity: &str) {
    use entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    fn state(value: &Value) -> Value {
        match value {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(state).collect();
                items.sort_by_key(|item| item.to_string());
                Value::Array(items)
            }
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), state(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let owner = app.owner_db().await;
    let entries = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(entity))
        .order_by_asc(audit_log::Column::Id)
        .all(&owner)
        .await
        .expect("audit entries");
    let mut last_after: std::collections::HashMap<i64, Value> = Default::default();
    for entry in &entries {
        let before = entry.before.as_ref().map(state).unwrap_or(Value::Null);
        if let (Some(previous), Value::Object(fields)) = (last_after.get(&entry.entity_id), &before)
        {
            for (key, value) in fields {
                assert_eq!(
                    Some(value),
                    previous.get(key),
                    "{entity} {}: entry {} ({}) does not start from what the entry before it \
                     left ({key})",
                    entry.entity_id,
                    entry.id,
                    entry.action
                );
            }
        }
        last_after.insert(
            entry.entity_id,
            entry.after.as_ref().map(state).unwrap_or(Value::Null),
        );
    }
    assert!(entries.len() > 1, "{entity}: {} entries", entries.len());
}

/// Asserts that of `replies` to one change sent several times at once, exactly one
/// succeeded and every other answered `code`, as they would one after the other.
pub fn one_succeeded_others(replies: &[Reply], code: &str) {
    let codes: Vec<Option<&str>> = replies.iter().map(Reply::error_code).collect();
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{codes:?}");
    assert!(
        codes.iter().all(|c| c.is_none() || *c == Some(code)),
        "{codes:?}"
    );
}
