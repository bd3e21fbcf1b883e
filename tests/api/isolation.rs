//! The tenancy rule, checked on every path that can reach a submission. The paths are
//! found by walking the schema: a new field that can reach tenant data fails
//! `every_path_to_tenant_data_is_covered` until this suite covers it.
use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::{
    fixtures::{every_node, open_window, submission_in, submit, task_id},
    on_both_databases,
    support::TestApp,
};

/// Types that carry tenant data.
const TENANT_TYPES: &[&str] = &[
    "Submission",
    "SubmissionConnection",
    "SubmissionEdge",
    "SubmissionEvidence",
    "SubmissionEvent",
    "AuditEntry",
    "Obligation",
    "ObligationConnection",
    "ObligationEdge",
    "ProgressRow",
    "AggregateGroup",
    "Node",
];

/// Filter inputs that reach tenant rows: a field taking one (at any depth) can tell
/// which rows exist, so it is a path to tenant data too.
const TENANT_FILTERS: &[&str] = &["SubmissionFilter", "ObligationFilter"];

/// Fields (outside the tenant types) that reach tenant data, each covered below.
const COVERED: &[&str] = &[
    "Agency.submissions",
    "Mutation.reviewSubmission",
    "Mutation.saveSubmission",
    "Mutation.submitSubmission",
    "Plan.tasks",
    "Query.agencies",
    "Query.node",
    "Query.obligations",
    "Query.obligationsAggregate",
    "Query.plans",
    "Query.progress",
    "Query.reportingWindows",
    "Query.submissions",
    "Query.submissionsAggregate",
    "Query.tasks",
    "Subscription.submissionEvents",
    "Task.submissions",
];

const TYPE_REF: &str = "fragment T on __Type { name kind ofType { name kind ofType { name kind ofType { name kind } } } }";

fn unwrap_type(t: &Value) -> &str {
    match t["ofType"].is_null() {
        true => t["name"].as_str().unwrap_or_default(),
        false => unwrap_type(&t["ofType"]),
    }
}

#[tokio::test]
async fn every_path_to_tenant_data_is_covered() {
    let app = TestApp::sqlite().await;
    let reply = app
        .anonymous()
        .graphql(
            &format!(
                "{{ __schema {{ types {{ name fields {{ name type {{ ...T }} args {{ type {{ ...T }} }} }}
                   inputFields {{ name type {{ ...T }} }} }} }} }} {TYPE_REF}"
            ),
            json!({}),
        )
        .await;
    let types = reply.data()["__schema"]["types"].as_array().unwrap();
    // Input types that reach a tenant filter, by a fixpoint over their fields.
    let mut reaching: BTreeSet<&str> = TENANT_FILTERS.iter().copied().collect();
    loop {
        let before = reaching.len();
        for t in types {
            let reaches = t["inputFields"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| reaching.contains(unwrap_type(&f["type"])));
            if reaches {
                reaching.insert(t["name"].as_str().unwrap());
            }
        }
        if reaching.len() == before {
            break;
        }
    }
    let mut found = BTreeSet::new();
    for t in types {
        let parent = t["name"].as_str().unwrap();
        if TENANT_TYPES.contains(&parent) || parent.starts_with("__") {
            continue;
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let filtered = f["args"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| reaching.contains(unwrap_type(&a["type"])));
            if filtered || TENANT_TYPES.contains(&unwrap_type(&f["type"])) {
                found.insert(format!("{parent}.{}", f["name"].as_str().unwrap()));
            }
        }
    }
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        found, covered,
        "a field reaches tenant data: cover it in tests/api/isolation.rs"
    );
}

/// One submission of the fixture: (id, agency code, status).
type Row = (String, &'static str, &'static str);

/// Submissions of four tenants and the coordinator's agency, in every state.
async fn fixture(app: &TestApp) -> Vec<Row> {
    open_window(app, "2024", 48).await.data();
    let plan: &[(&str, &str, &str, Option<i64>, &str)] = &[
        ("tayson", "ubnd-tay-son", "I", Some(1), "DRAFT"),
        ("tayson", "ubnd-tay-son", "I", Some(2), "SUBMITTED"),
        ("tayson", "ubnd-tay-son", "II", Some(1), "ACCEPTED"),
        ("tayson", "ubnd-tay-son", "II", Some(2), "RETURNED"),
        ("anlao", "ubnd-an-lao", "I", Some(1), "DRAFT"),
        ("anlao", "ubnd-an-lao", "I", Some(2), "SUBMITTED"),
        ("anlao", "ubnd-an-lao", "II", Some(1), "RETURNED"),
        ("tttt", "so-tttt", "I", Some(3), "DRAFT"),
        ("tttt", "so-tttt", "I", Some(4), "SUBMITTED"),
        ("tttt", "so-tttt", "III", Some(8), "ACCEPTED"),
        ("nnptnt", "so-nnptnt", "III", Some(7), "DRAFT"),
        ("nnptnt", "so-nnptnt", "III", Some(8), "SUBMITTED"),
        ("coordinator", "so-ldtbxh", "I", Some(3), "DRAFT"),
        ("coordinator", "so-ldtbxh", "III", Some(1), "SUBMITTED"),
    ];
    let mut rows = Vec::new();
    for (user, agency, numeral, number, status) in plan {
        let client = app.client(user).await;
        let task = task_id(app, numeral, *number).await;
        let (id, _) = submission_in(app, &client, &task, "2024", status).await;
        rows.push((id, *agency, *status));
    }
    rows
}

/// Who may see a row, written out independently of the service: own agency always;
/// coordinator, analyst and admin also every non-draft row of plan 768.
fn may_see(user: &str, own_agency: &str, row: &Row) -> bool {
    row.1 == own_agency || (matches!(user, "coordinator" | "analyst" | "admin") && row.2 != "DRAFT")
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn edge_ids(conn: &Value) -> BTreeSet<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

const PRINCIPALS: [(&str, &str); 8] = [
    ("tayson", "ubnd-tay-son"),
    ("tayson-viewer", "ubnd-tay-son"),
    ("anlao", "ubnd-an-lao"),
    ("tttt", "so-tttt"),
    ("nnptnt", "so-nnptnt"),
    ("coordinator", "so-ldtbxh"),
    ("analyst", "ubnd-tinh"),
    ("admin", "ubnd-tinh"),
];

async fn each_principal_sees_exactly_its_rows(app: TestApp) {
    // Everyone listens to live events while the fixture is made (on PostgreSQL, on a
    // second instance).
    let listen_on = match app.backend {
        "postgres" => app.second_instance().await,
        _ => app.serve().await,
    };
    let mut sockets = Vec::new();
    for (user, _) in PRINCIPALS {
        sockets.push(crate::events::subscribe(&app, listen_on, user).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rows = fixture(&app).await;
    let agencies: BTreeSet<&str> = rows.iter().map(|r| r.1).collect();
    let missing_id = "U3VibWlzc2lvbjo5OTk5OTk"; // Submission:999999
    for ((user, own), mut socket) in PRINCIPALS.into_iter().zip(sockets) {
        let client = app.client(user).await;
        let expected: BTreeSet<String> = rows
            .iter()
            .filter(|r| may_see(user, own, r))
            .map(|r| r.0.clone())
            .collect();
        let expected_drafts = rows
            .iter()
            .filter(|r| may_see(user, own, r) && r.2 == "DRAFT")
            .count();
        assert!(
            rows.iter()
                .filter(|r| r.2 == "DRAFT")
                .all(|r| !may_see(user, own, r) || r.1 == own)
        );

        // Root connection, its counts, and filters by status and by every agency.
        let reply = client
            .graphql(
                "{ all: submissions(first: 100) { totalCount edges { node { id status } } }
                   drafts: submissions(filter: { status: { equalTo: DRAFT } }) { totalCount }
                   period: submissions(filter: { period: { code: { equalTo: \"2024\" } }, plan: { code: { equalTo: \"768/QĐ-UBND\" } } }, orderBy: [{ field: CREATED_AT }]) { totalCount } }",
                json!({}),
            )
            .await;
        let data = reply.data();
        assert_eq!(edge_ids(&data["all"]), expected, "{user}: root connection");
        assert_eq!(
            data["all"]["totalCount"].as_u64(),
            Some(expected.len() as u64),
            "{user}: totalCount"
        );
        assert_eq!(
            data["drafts"]["totalCount"].as_u64(),
            Some(expected_drafts as u64),
            "{user}: draft count"
        );
        assert_eq!(
            data["period"]["totalCount"].as_u64(),
            Some(expected.len() as u64),
            "{user}"
        );
        for agency in &agencies {
            let reply = client
                .graphql(
                    "query($a: String!) { submissions(filter: { agency: { code: { equalTo: $a } } }) { totalCount edges { node { id } } }
                                          agency(code: $a) { submissions { id } y: submissions(filter: { period: { code: { equalTo: \"2024\" } } }) { id } } }",
                    json!({ "a": agency }),
                )
                .await;
            let want: BTreeSet<String> = rows
                .iter()
                .filter(|r| r.1 == *agency && may_see(user, own, r))
                .map(|r| r.0.clone())
                .collect();
            let data = reply.data();
            assert_eq!(
                edge_ids(&data["submissions"]),
                want,
                "{user}: filtered by {agency}"
            );
            assert_eq!(
                data["submissions"]["totalCount"].as_u64(),
                Some(want.len() as u64),
                "{user}: count of {agency}"
            );
            assert_eq!(
                ids(&data["agency"]["submissions"]),
                want,
                "{user}: Agency.submissions of {agency}"
            );
            assert_eq!(
                ids(&data["agency"]["y"]),
                want,
                "{user}: Agency.submissions(periodCode) of {agency}"
            );
        }

        // Nested through tasks and agencies.
        let reply = client
            .graphql(
                "{ tasks(first: 100) { edges { node { submissions { id } p: submissions(filter: { period: { code: { equalTo: \"2024\" } } }) { id } } } }
                   agencies(first: 100) { edges { node { submissions { id } } } } }",
                json!({}),
            )
            .await;
        let data = reply.data();
        let through = |conn: &Value, field: &str| -> BTreeSet<String> {
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| ids(&e["node"][field]))
                .collect()
        };
        assert_eq!(
            through(&data["tasks"], "submissions"),
            expected,
            "{user}: Task.submissions"
        );
        assert_eq!(
            through(&data["tasks"], "p"),
            expected,
            "{user}: Task.submissions(periodCode)"
        );
        assert_eq!(
            through(&data["agencies"], "submissions"),
            expected,
            "{user}: Agency.submissions"
        );

        // node(id), history and evidence: another tenant's row is exactly like a missing one.
        for row in &rows {
            let reply = client
                .graphql(
                    "query($id: ID!) { node(id: $id) { id ... on Submission { history { action before } deliverables { status } } } }",
                    json!({ "id": row.0 }),
                )
                .await;
            let node = &reply.data()["node"];
            if expected.contains(&row.0) {
                assert_eq!(node["id"], row.0.as_str(), "{user}: node of a visible row");
                let history = node["history"].as_array().unwrap();
                // A draft's past states are as private as the draft: another agency sees
                // no entry written while the report was a draft (its creation included).
                let during_draft = |entry: &&Value| {
                    entry["before"].is_null() || entry["before"]["status"] == "DRAFT"
                };
                if row.1 == own {
                    assert!(!history.is_empty(), "{user}: history of its own row");
                } else {
                    assert!(
                        !history.iter().any(|e| during_draft(&e)),
                        "{user}: draft-time history of {row:?}: {history:?}"
                    );
                    let reviewed = matches!(row.2, "ACCEPTED" | "RETURNED");
                    assert_eq!(
                        !history.is_empty(),
                        reviewed,
                        "{user}: history of {row:?} holds exactly its reviews"
                    );
                }
            } else {
                assert_eq!(*node, Value::Null, "{user}: node of {row:?}");
            }
        }

        // Live events: exactly the visible submissions were heard of.
        let mut heard = BTreeSet::new();
        while let Some(message) =
            crate::events::next_message(&mut socket, std::time::Duration::from_secs(2)).await
        {
            assert_eq!(message["type"], "next", "{user}: {message}");
            heard.insert(
                message["payload"]["data"]["submissionEvents"]["submission"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(heard, expected, "{user}: submissionEvents");

        // Obligations (every fixture row is a lead obligation) and aggregates.
        let obligations = every_node(
            &client,
            "query($after: String) { obligations(filter: { period: { code: { equalTo: \"2024\" } } }, first: 100, after: $after) {
               edges { node { agency { code } submission { id } } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
            "obligations",
        )
        .await;
        let reply = client
            .graphql(
                "{ progress(planCode: \"768/QĐ-UBND\", periodCode: \"2024\", groupBy: AGENCY) {
                     agency { code } submitted accepted returned notStarted inProgress completed } }",
                json!({}),
            )
            .await;
        let data = reply.data();
        let reported: BTreeSet<String> = obligations
            .iter()
            .filter_map(|o| o["submission"]["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(reported, expected, "{user}: obligations");
        let surveyed: BTreeSet<&str> = obligations
            .iter()
            .map(|o| o["agency"]["code"].as_str().unwrap())
            .collect();
        let progress = data["progress"].as_array().unwrap();
        let sum = |fields: &[&str]| -> usize {
            progress
                .iter()
                .map(|r| {
                    fields
                        .iter()
                        .map(|f| r[*f].as_u64().unwrap() as usize)
                        .sum::<usize>()
                })
                .sum()
        };
        assert_eq!(
            sum(&["submitted", "accepted", "returned"]),
            expected.len() - expected_drafts,
            "{user}: progress"
        );
        assert_eq!(
            sum(&["notStarted", "inProgress", "completed"]),
            expected.len(),
            "{user}: progress by progress"
        );
        if matches!(
            user,
            "tayson" | "tayson-viewer" | "anlao" | "tttt" | "nnptnt"
        ) {
            assert_eq!(
                surveyed,
                BTreeSet::from([own]),
                "{user}: obligations of others"
            );
            let agencies: Vec<&str> = progress
                .iter()
                .map(|r| r["agency"]["code"].as_str().unwrap())
                .collect();
            assert_eq!(agencies, [own], "{user}: progress of others");
        }

        // Filters that reach submissions, and aggregates, see exactly the same rows.
        let visible = every_node(
            &client,
            "query($after: String) { submissions(first: 100, after: $after) {
               edges { node { id status agency { code } task { id } } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
            "submissions",
        )
        .await;
        let visible_agencies: BTreeSet<String> = visible
            .iter()
            .map(|s| s["agency"]["code"].as_str().unwrap().to_owned())
            .collect();
        let visible_tasks: BTreeSet<String> = visible
            .iter()
            .map(|s| s["task"]["id"].as_str().unwrap().to_owned())
            .collect();
        let draft_agencies: BTreeSet<String> = visible
            .iter()
            .filter(|s| s["status"] == "DRAFT")
            .map(|s| s["agency"]["code"].as_str().unwrap().to_owned())
            .collect();
        let reply = client
            .graphql(
                "{ reporting: agencies(first: 100, filter: { submissions: { some: {} } }) { edges { node { code } } }
                   drafting: agencies(first: 100, filter: { submissions: { some: { status: { equalTo: DRAFT } } } }) { edges { node { code } } }
                   tasks(first: 100, filter: { submissions: { some: {} } }) { edges { node { id } } }
                   plans { edges { node { tasks(first: 100, filter: { submissions: { some: {} } }) { totalCount } } } }
                   withReports: plans(filter: { coordinator: { submissions: { some: {} } } }) { totalCount }
                   windows: reportingWindows(filter: { plan: { coordinator: { submissions: { some: { status: { equalTo: DRAFT } } } } } }) { id }
                   tayson: agency(code: \"ubnd-tay-son\") { submissions(filter: { status: { equalTo: DRAFT } }) { id history(filter: { action: { equalTo: \"create\" } }) { action } } }
                   submissionsAggregate(groupBy: [AGENCY, STATUS]) { key { agency { code } status } count }
                   obligationsAggregate(filter: { period: { code: { equalTo: \"2024\" } } }, groupBy: [AGENCY]) {
                     key { agency { code } } count byStatus { missing draft submitted returned accepted } } }",
                json!({}),
            )
            .await;
        let data = reply.data();
        let codes = |conn: &Value| -> BTreeSet<String> {
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["code"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            codes(&data["reporting"]),
            visible_agencies,
            "{user}: agencies by reports"
        );
        assert_eq!(
            codes(&data["drafting"]),
            draft_agencies,
            "{user}: agencies by drafts"
        );
        assert!(
            draft_agencies.iter().all(|a| a == own),
            "{user}: another agency's draft reached a filter"
        );
        assert_eq!(
            edge_ids(&data["tasks"]),
            visible_tasks,
            "{user}: tasks by reports"
        );
        assert_eq!(
            data["plans"]["edges"][0]["node"]["tasks"]["totalCount"].as_u64(),
            Some(visible_tasks.len() as u64),
            "{user}: a plan's tasks by reports"
        );
        let coordinator_reports = visible_agencies.contains("so-ldtbxh") as u64;
        assert_eq!(
            data["withReports"]["totalCount"].as_u64(),
            Some(coordinator_reports),
            "{user}: plans by their coordinator's reports"
        );
        assert_eq!(
            data["windows"].as_array().unwrap().len(),
            usize::from(draft_agencies.contains("so-ldtbxh")),
            "{user}: reporting windows by their plan's coordinator's drafts"
        );
        let tayson_drafts = data["tayson"]["submissions"].as_array().unwrap();
        assert_eq!(
            tayson_drafts.len(),
            visible
                .iter()
                .filter(|s| s["agency"]["code"] == "ubnd-tay-son" && s["status"] == "DRAFT")
                .count(),
            "{user}: Agency.submissions(filter) of another agency's drafts"
        );
        for draft in tayson_drafts {
            assert_eq!(
                draft["history"].as_array().unwrap().len(),
                1,
                "{user}: one creation"
            );
        }
        let mut grouped: BTreeSet<(String, String, u64)> = BTreeSet::new();
        for s in &visible {
            let key = (
                s["agency"]["code"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            );
            let n = visible
                .iter()
                .filter(|o| {
                    o["agency"]["code"] == s["agency"]["code"] && o["status"] == s["status"]
                })
                .count();
            grouped.insert((key.0, key.1, n as u64));
        }
        let aggregated: BTreeSet<(String, String, u64)> = data["submissionsAggregate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"]["agency"]["code"].as_str().unwrap().to_owned(),
                    g["key"]["status"].as_str().unwrap().to_owned(),
                    g["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(aggregated, grouped, "{user}: submissionsAggregate");
        let groups = data["obligationsAggregate"].as_array().unwrap();
        let reported_by_aggregate: u64 = groups
            .iter()
            .map(|g| {
                let b = &g["byStatus"];
                ["draft", "submitted", "returned", "accepted"]
                    .iter()
                    .map(|f| b[*f].as_u64().unwrap())
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(
            reported_by_aggregate,
            reported.len() as u64,
            "{user}: obligationsAggregate counts the reports the obligations show"
        );
        let aggregate_agencies: BTreeSet<&str> = groups
            .iter()
            .map(|g| g["key"]["agency"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            aggregate_agencies, surveyed,
            "{user}: obligationsAggregate agencies"
        );

        // The report files and exports hold the same rows.
        let token = client.token.clone().unwrap();
        assert_eq!(
            exported_ids(
                &app,
                &token,
                "{ submissions { edges { node { id } } } }",
                "id"
            )
            .await,
            expected,
            "{user}: /export of submissions"
        );
        assert_eq!(
            exported_ids(
                &app,
                &token,
                "{ obligations(filter: { period: { code: { equalTo: \"2024\" } } }) { nodes { submission { id } } } }",
                "submission.id"
            )
            .await,
            expected,
            "{user}: /export of obligations"
        );
        let csv = report_csv(&app, &token).await;
        let filed = csv.iter().filter(|r| r[4] != "Chưa báo cáo").count();
        assert_eq!(filed, expected.len(), "{user}: report rows with a report");
        if matches!(
            user,
            "tayson" | "tayson-viewer" | "anlao" | "tttt" | "nnptnt"
        ) {
            let names: BTreeSet<&str> = csv.iter().map(|r| r[3].as_str()).collect();
            assert_eq!(names.len(), 1, "{user}: report of others");
        }

        // Mutations by id: an invisible row answers as a missing one does.
        let missing = submit(&client, missing_id, 1).await.body["errors"][0].clone();
        assert_eq!(missing["extensions"]["code"], "NOT_FOUND");
        for row in rows.iter().filter(|r| !expected.contains(&r.0)) {
            let reply = submit(&client, &row.0, 1).await;
            let error = &reply.body["errors"][0];
            assert_eq!(
                (&error["extensions"], &error["message"]),
                (&missing["extensions"], &missing["message"]),
                "{user}: {row:?}"
            );
        }
    }

    // saveSubmission never reaches another tenant's row: the agency is always the
    // caller's own, so a district saving on a task another district reported on gets its
    // own new draft.
    let anlao = app.client("anlao").await;
    let i2 = task_id(&app, "I", Some(2)).await;
    let reply = crate::fixtures::save(
        &anlao,
        json!({ "taskId": task_id(&app, "I", Some(4)).await, "periodCode": "2024" }),
    )
    .await;
    assert_eq!(
        reply.data()["saveSubmission"]["agency"]["code"],
        "ubnd-an-lao"
    );
    let reply = crate::fixtures::save(
        &anlao,
        json!({ "taskId": i2, "periodCode": "2024", "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(
        reply.error_code(),
        Some("INVALID_TRANSITION"),
        "its own submitted row, not Tây Sơn's"
    );
}

/// The CSV report of 2024 as `token` downloads it, without its heading.
/// The ids of `POST /export?format=csv` of every submission the caller lists, and of an
/// obligations export's reported submissions.
async fn exported_ids(app: &TestApp, token: &str, query: &str, column: &str) -> BTreeSet<String> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::post("/export?format=csv")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({ "query": query }).to_string(),
        ))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("a column {column}"));
    reader
        .records()
        .map(|r| r.unwrap()[at].to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

async fn report_csv(app: &TestApp, token: &str) -> Vec<Vec<String>> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::get("/reports/768%2FQ%C4%90-UBND/2024.csv")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    csv::Reader::from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

on_both_databases!(each_principal_sees_exactly_its_rows);

/// A transaction acting as the application role with these tenant settings, as the
/// service's scoped transactions do.
async fn as_app_role(
    db: &sea_orm::DatabaseConnection,
    settings: Vec<(&'static str, String)>,
) -> sea_orm::DatabaseTransaction {
    let txn = plantrack::db::begin_write(db).await.unwrap();
    for (name, value) in settings {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config($1, $2, true)",
            [name.into(), value.into()],
        ))
        .await
        .unwrap();
    }
    txn.execute_unprepared("SET LOCAL ROLE plantrack_app")
        .await
        .unwrap();
    txn
}

/// PostgreSQL enforces the rule again: raw SQL under one tenant's settings, as the
/// application role, returns only that tenant's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_filters_raw_sql() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let rows = fixture(&app).await;
    let agency_id = |code: &str| {
        let db = &app.db;
        let code = code.to_owned();
        async move {
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT id FROM agency WHERE code = $1",
                    [code.into()],
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "id").unwrap()
        }
    };
    let tay_son = agency_id("ubnd-tay-son").await;
    let an_lao = agency_id("ubnd-an-lao").await;
    let raw = |settings: Vec<(&'static str, String)>| {
        let db = &app.db;
        async move {
            let txn = as_app_role(db, settings).await;
            let found: Vec<(i64, String)> = txn
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT * FROM submission",
                ))
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.try_get::<i64>("", "agency_id").unwrap(),
                        r.try_get::<String>("", "status").unwrap(),
                    )
                })
                .collect();
            txn.rollback().await.unwrap();
            found
        }
    };
    let tenant = raw(vec![
        ("app.agency_id", tay_son.to_string()),
        ("app.role", "EDITOR".into()),
    ])
    .await;
    assert_eq!(
        tenant.len(),
        rows.iter().filter(|r| r.1 == "ubnd-tay-son").count()
    );
    assert!(
        tenant.iter().all(|(agency, _)| *agency == tay_son),
        "{tenant:?}"
    );
    assert!(raw(vec![]).await.is_empty(), "no settings, no rows");
    let analyst = raw(vec![
        ("app.agency_id", "0".into()),
        ("app.role", "ANALYST".into()),
    ])
    .await;
    assert_eq!(
        analyst.len(),
        rows.iter().filter(|r| r.2 != "DRAFT").count()
    );
    assert!(analyst.iter().all(|(_, status)| status != "DRAFT"));

    // History too: entries written while a report was a draft reach only its agency.
    let audit_count = |agency: String, role: &'static str, during_draft: bool| {
        let db = &app.db;
        async move {
            let txn = as_app_role(
                db,
                vec![("app.agency_id", agency), ("app.role", role.into())],
            )
            .await;
            let n = txn
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!(
                        "SELECT count(*) AS n FROM audit_log \
                         WHERE entity = 'submission' AND during_draft = {during_draft}"
                    ),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            txn.rollback().await.unwrap();
            n
        }
    };
    assert_eq!(audit_count("0".into(), "ANALYST", true).await, 0);
    assert!(audit_count("0".into(), "ANALYST", false).await > 0);
    assert!(audit_count(tay_son.to_string(), "EDITOR", true).await > 0);

    // Writing another tenant's row under Tây Sơn's settings is refused by the database.
    let txn = as_app_role(&app.db, vec![("app.agency_id", tay_son.to_string())]).await;
    let updated = txn
        .execute_unprepared(&format!(
            "UPDATE submission SET summary = 'x' WHERE agency_id = {an_lao}"
        ))
        .await
        .unwrap();
    assert_eq!(
        updated.rows_affected(),
        0,
        "another tenant's rows are invisible to UPDATE"
    );
    let moved = txn
        .execute_unprepared(&format!(
            "UPDATE submission SET agency_id = {an_lao} WHERE agency_id = {tay_son}"
        ))
        .await;
    assert!(moved.is_err(), "a row cannot be handed to another tenant");
}

/// The server's own connection owns nothing: a statement outside a scoped transaction
/// (no tenant settings) sees no tenant rows at all, while the owner sees them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_scoped_transaction_no_tenant_rows_are_visible() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let rows = fixture(&app).await;
    assert!(!rows.is_empty());
    let count = |db: sea_orm::DatabaseConnection, table: &'static str| async move {
        db.query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT count(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
    };
    for table in ["submission", "submission_deliverable", "audit_log"] {
        assert_eq!(
            count(app.db.clone(), table).await,
            0,
            "{table} as the server"
        );
    }
    let owner = plantrack::db::connect(app.owner_url.as_deref().unwrap(), 1)
        .await
        .unwrap();
    assert_eq!(count(owner, "submission").await, rows.len() as i64);
}
