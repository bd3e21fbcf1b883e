//! The review workflow, reporting windows, optimistic concurrency and the audit trail.
use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    fixtures::{
        PLAN, audit_trail_is_unbroken, draft, field, led_tasks, one_succeeded_others, open_window,
        review, save, submission_in, submit, task_id,
    },
    on_both_databases,
    support::{Client, TestApp},
};

/// (status, version, number of history rows) of a submission, as its owner sees it.
async fn state(client: &Client<'_>, id: &str) -> (String, i64, usize) {
    let reply = client
        .graphql("query($id: ID!) { node(id: $id) { ... on Submission { status version history { action } } } }", json!({ "id": id }))
        .await;
    let node = &reply.data()["node"];
    (
        node["status"].as_str().unwrap().to_owned(),
        node["version"].as_i64().unwrap(),
        node["history"].as_array().unwrap().len(),
    )
}

async fn a_report_goes_from_draft_to_accepted(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let task = task_id(&app, "I", Some(1)).await;
    let deliverables = crate::fixtures::deliverables_of(&app, &task).await;
    let tayson = app.client("tayson").await;
    let coordinator = app.client("coordinator").await;

    let reply = save(
        &tayson,
        json!({
            "taskId": task, "periodCode": "2024", "progress": "IN_PROGRESS",
            "summary": "Đã tổ chức 3 hội nghị", "results": "1.200 lượt người tham dự",
            "difficulties": "Kinh phí hạn chế", "proposals": "Bổ sung kinh phí",
            "deliverables": [{ "deliverableId": deliverables[0]["id"], "status": "COMPLETED",
                               "documentRef": "Kế hoạch số 123/KH-UBND ngày 01/4/2024", "url": "https://example.org/kh-123" }],
        }),
    )
    .await;
    let created = field(&reply, "saveSubmission").clone();
    assert_eq!(
        (created["status"].as_str(), created["version"].as_i64()),
        (Some("DRAFT"), Some(1))
    );
    assert_eq!(
        created["agency"]["code"], "ubnd-tay-son",
        "the agency is the caller's own"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    // Saving again without the version it read is a conflict; with it, an update.
    let reply = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2024", "summary": "x" }),
    )
    .await;
    assert_eq!(reply.error_code(), Some("CONFLICT"));
    let reply = save(&tayson, json!({ "taskId": task, "periodCode": "2024", "expectedVersion": 1, "progress": "COMPLETED" })).await;
    let updated = field(&reply, "saveSubmission");
    assert_eq!(
        (updated["version"].as_i64(), updated["progress"].as_str()),
        (Some(2), Some("COMPLETED"))
    );
    assert_eq!(
        updated["summary"], "Đã tổ chức 3 hội nghị",
        "fields left out keep their value"
    );

    let submitted = field(&submit(&tayson, &id, 2).await, "submitSubmission").clone();
    assert_eq!(
        (submitted["status"].as_str(), submitted["onTime"].as_bool()),
        (Some("SUBMITTED"), Some(true))
    );

    let reply = review(&coordinator, &id, 3, "RETURN", None).await;
    assert_eq!(
        reply.error_code(),
        Some("BAD_USER_INPUT"),
        "returning needs a comment"
    );
    let returned = field(
        &review(&coordinator, &id, 3, "RETURN", Some("Bổ sung số liệu")).await,
        "reviewSubmission",
    )
    .clone();
    assert_eq!(
        (
            returned["status"].as_str(),
            returned["reviewComment"].as_str()
        ),
        (Some("RETURNED"), Some("Bổ sung số liệu"))
    );

    let reply = save(&tayson, json!({ "taskId": task, "periodCode": "2024", "expectedVersion": 4, "results": "1.250 lượt" })).await;
    assert_eq!(field(&reply, "saveSubmission")["status"], "RETURNED");
    // Resubmitted: the old review no longer stands on the report (its history keeps it).
    let resubmitted = field(&submit(&tayson, &id, 5).await, "submitSubmission").clone();
    assert_eq!(resubmitted["status"], "SUBMITTED");
    assert_eq!(resubmitted["reviewComment"], Value::Null);
    let accepted = field(
        &review(&coordinator, &id, 6, "ACCEPT", None).await,
        "reviewSubmission",
    )
    .clone();
    assert_eq!(
        (accepted["status"].as_str(), accepted["version"].as_i64()),
        (Some("ACCEPTED"), Some(7))
    );

    let reply = tayson
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Submission {
                deliverables { status documentRef url deliverable { description } }
                history { action actor before after } } } }",
            json!({ "id": id }),
        )
        .await;
    let node = &reply.data()["node"];
    assert_eq!(
        node["deliverables"][0]["documentRef"],
        "Kế hoạch số 123/KH-UBND ngày 01/4/2024"
    );
    assert_eq!(
        node["deliverables"][0]["deliverable"]["description"],
        "Tài liệu tuyên truyền"
    );
    let actions: Vec<&str> = node["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create", "update", "submit", "return", "update", "submit", "accept"
        ]
    );
    let actors: Vec<&str> = node["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        [
            "tayson",
            "tayson",
            "tayson",
            "coordinator",
            "tayson",
            "tayson",
            "coordinator"
        ]
    );
    assert_eq!(node["history"][3]["before"]["status"], "SUBMITTED");
    assert_eq!(node["history"][3]["after"]["status"], "RETURNED");
    assert_eq!(
        node["history"][3]["after"]["reviewComment"],
        "Bổ sung số liệu"
    );
}

async fn every_other_transition_is_refused_and_writes_nothing(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let coordinator = app.client("coordinator").await;
    let tasks = [
        ("DRAFT", task_id(&app, "I", Some(1)).await),
        ("SUBMITTED", task_id(&app, "I", Some(2)).await),
        ("RETURNED", task_id(&app, "II", Some(1)).await),
        ("ACCEPTED", task_id(&app, "II", Some(2)).await),
    ];
    for (status, task) in &tasks {
        let (id, version) = submission_in(&app, &tayson, task, "2024", status).await;
        let before = state(&tayson, &id).await;
        assert_eq!(before.0, *status);
        for action in ["edit", "submit", "accept", "return"] {
            let allowed = matches!(
                (*status, action),
                ("DRAFT" | "RETURNED", "edit" | "submit") | ("SUBMITTED", "accept" | "return")
            );
            if allowed {
                continue; // exercised in the round trip
            }
            let reply = match action {
                "edit" => {
                    let edit = json!({ "taskId": task, "periodCode": "2024", "expectedVersion": version, "summary": "edited" });
                    save(&tayson, edit).await
                }
                "submit" => submit(&tayson, &id, version).await,
                "accept" => review(&coordinator, &id, version, "ACCEPT", None).await,
                _ => review(&coordinator, &id, version, "RETURN", Some("why")).await,
            };
            // The coordinator cannot even see another agency's draft.
            let expected = if *status == "DRAFT" {
                "NOT_FOUND"
            } else {
                "INVALID_TRANSITION"
            };
            assert_eq!(
                reply.error_code(),
                Some(expected),
                "{status} {action}: {}",
                reply.body
            );
            assert_eq!(
                state(&tayson, &id).await,
                before,
                "{status} {action} wrote something"
            );
        }
    }
    // Nobody reviews their own agency's report: not its draft, not once it is submitted.
    let own_task = task_id(&app, "I", Some(3)).await;
    let (id, version) = draft(&coordinator, &own_task, "2024", "own draft").await;
    let reply = review(&coordinator, &id, version, "ACCEPT", None).await;
    assert_eq!(reply.error_code(), Some("FORBIDDEN"));
    let submitted = coordinator
        .graphql(
            "mutation($id: ID!, $v: Int!) { submitSubmission(id: $id, expectedVersion: $v) { version } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    let version = submitted.data()["submitSubmission"]["version"]
        .as_i64()
        .unwrap();
    for decision in [("ACCEPT", None), ("RETURN", Some("self"))] {
        let reply = review(&coordinator, &id, version, decision.0, decision.1).await;
        assert_eq!(reply.error_code(), Some("FORBIDDEN"), "{}", reply.body);
    }
    assert_eq!(state(&coordinator, &id).await.0, "SUBMITTED");
}

async fn writes_need_an_open_window(app: TestApp) {
    let tayson = app.client("tayson").await;
    let coordinator = app.client("coordinator").await;
    let task = task_id(&app, "I", Some(1)).await;
    let first = json!({ "taskId": task, "periodCode": "2025", "summary": "s" });
    assert_eq!(
        save(&tayson, first.clone()).await.error_code(),
        Some("WINDOW_CLOSED"),
        "no window yet"
    );

    // Only the coordinator opens windows, for years and half-years.
    let reply = tayson
        .graphql(
            "mutation { openReportingWindow(input: { planCode: \"768/QĐ-UBND\", periodCode: \"2025\",
               opensAt: \"2025-01-01T00:00:00Z\", dueAt: \"2025-02-01T00:00:00Z\", closesAt: \"2025-03-01T00:00:00Z\" }) { isOpen } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("FORBIDDEN"));
    let reply = coordinator
        .graphql(
            "mutation { openReportingWindow(input: { planCode: \"768/QĐ-UBND\", periodCode: \"2021-2025\",
               opensAt: \"2025-01-01T00:00:00Z\", dueAt: \"2025-02-01T00:00:00Z\", closesAt: \"2025-03-01T00:00:00Z\" }) { isOpen } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.error_code(),
        Some("BAD_USER_INPUT"),
        "a phase is no reporting period"
    );
    let reply = coordinator
        .graphql(
            "mutation { openReportingWindow(input: { planCode: \"768/QĐ-UBND\", periodCode: \"2025\",
               opensAt: \"2025-03-01T00:00:00Z\", dueAt: \"2025-02-01T00:00:00Z\", closesAt: \"2025-03-01T00:00:00Z\" }) { isOpen } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.error_code(),
        Some("BAD_USER_INPUT"),
        "due before open"
    );

    // Due already passed but still open: accepted, and recorded as late.
    assert_eq!(
        open_window(&app, "2025", -1).await.data()["openReportingWindow"]["isOpen"],
        true
    );
    assert_eq!(
        open_window(&app, "2025", 5).await.error_code(),
        Some("BAD_USER_INPUT"),
        "one window per period"
    );
    let (id, version) = draft(&tayson, &task, "2025", "late report").await;
    let submitted = field(&submit(&tayson, &id, version).await, "submitSubmission").clone();
    assert_eq!(submitted["onTime"], false);

    // Closed: writes fail; reopened: they work again.
    let other = task_id(&app, "I", Some(2)).await;
    let (other_id, other_version) = draft(&tayson, &other, "2025", "before closing").await;
    let reply = coordinator
        .graphql("mutation { closeReportingWindow(planCode: \"768/QĐ-UBND\", periodCode: \"2025\") { isOpen } }", json!({}))
        .await;
    assert_eq!(reply.data()["closeReportingWindow"]["isOpen"], false);
    let edit = json!({ "taskId": other, "periodCode": "2025", "expectedVersion": other_version, "summary": "after" });
    assert_eq!(
        save(&tayson, edit.clone()).await.error_code(),
        Some("WINDOW_CLOSED")
    );
    assert_eq!(
        submit(&tayson, &other_id, other_version).await.error_code(),
        Some("WINDOW_CLOSED")
    );
    let reopen_until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let reply = coordinator
        .graphql(
            "mutation($c: DateTime!) { reopenReportingWindow(planCode: \"768/QĐ-UBND\", periodCode: \"2025\", closesAt: $c) { isOpen reopened } }",
            json!({ "c": reopen_until }),
        )
        .await;
    assert_eq!(
        reply.data()["reopenReportingWindow"],
        json!({ "isOpen": true, "reopened": true })
    );
    assert_eq!(
        field(&save(&tayson, edit).await, "saveSubmission")["summary"],
        "after"
    );

    let reply = tayson
        .graphql("query($p: String!) { reportingWindows(filter: { plan: { code: { equalTo: $p } } }) { period { code } isOpen reopened } }", json!({ "p": PLAN }))
        .await;
    assert_eq!(
        reply.data()["reportingWindows"],
        json!([{ "period": { "code": "2025" }, "isOpen": true, "reopened": true }])
    );
}

async fn only_assigned_agencies_with_write_roles_report(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    // Section IV: led by Sở LĐ-TB&XH; its partners are groups the plan leaves unnamed.
    let iv = task_id(&app, "IV", None).await;
    for user in ["tayson", "tttt"] {
        let client = app.client(user).await;
        let reply = save(
            &client,
            json!({ "taskId": iv, "periodCode": "2024", "summary": "s" }),
        )
        .await;
        assert_eq!(reply.error_code(), Some("FORBIDDEN"), "{user}");
    }
    // A district is a partner of I.3: it may contribute.
    let i3 = task_id(&app, "I", Some(3)).await;
    let anlao = app.client("anlao").await;
    field(
        &save(
            &anlao,
            json!({ "taskId": i3, "periodCode": "2024", "summary": "đóng góp" }),
        )
        .await,
        "saveSubmission",
    );
    // Read-only roles never write.
    for user in ["tayson-viewer", "analyst", "admin"] {
        let client = app.client(user).await;
        let reply = save(
            &client,
            json!({ "taskId": i3, "periodCode": "2024", "summary": "s" }),
        )
        .await;
        assert_eq!(reply.error_code(), Some("FORBIDDEN"), "{user}");
    }
    // Bad input is named as such.
    let tayson = app.client("tayson").await;
    let i1 = task_id(&app, "I", Some(1)).await;
    let deliverable_of = |task: String| {
        let app = &app;
        async move {
            app.graphql(
                "query($id: ID!) { node(id: $id) { ... on Task { deliverables { id } } } }",
                json!({ "id": task }),
            )
            .await
            .data()["node"]["deliverables"][0]["id"]
                .clone()
        }
    };
    let own = json!({ "deliverableId": deliverable_of(i1.clone()).await, "status": "COMPLETED" });
    let other_task =
        json!({ "deliverableId": deliverable_of(i3.clone()).await, "status": "COMPLETED" });
    assert!(own["deliverableId"].is_string() && other_task["deliverableId"].is_string());
    for (input, code) in [
        (
            json!({ "taskId": i1, "periodCode": "2024", "deliverables": [own, own] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": i1, "periodCode": "2024", "deliverables": [own, other_task] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": "not-an-id", "periodCode": "2024" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": i1, "periodCode": "2099" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": i1, "periodCode": "2021-2025" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": i1, "periodCode": "2024", "deliverables": [{ "deliverableId": "RGVsaXZlcmFibGU6OTk5OQ", "status": "COMPLETED" }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "taskId": i1, "periodCode": "2024", "summary": "x".repeat(20_001) }),
            "BAD_USER_INPUT",
        ),
    ] {
        assert_eq!(
            save(&tayson, input.clone()).await.error_code(),
            Some(code),
            "{input}"
        );
    }
}

async fn stale_versions_conflict_and_write_nothing(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let task = task_id(&app, "I", Some(1)).await;
    let (id, version) = draft(&tayson, &task, "2024", "v1").await;
    field(&save(&tayson, json!({ "taskId": task, "periodCode": "2024", "expectedVersion": version, "summary": "v2" })).await, "saveSubmission");
    let before = state(&tayson, &id).await;
    let reply = save(&tayson, json!({ "taskId": task, "periodCode": "2024", "expectedVersion": version, "summary": "stale" })).await;
    assert_eq!(reply.error_code(), Some("CONFLICT"));
    assert_eq!(reply.body["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(
        submit(&tayson, &id, version).await.error_code(),
        Some("CONFLICT")
    );
    assert_eq!(state(&tayson, &id).await, before);
}

/// Twenty concurrent saves from one stale read: exactly one wins.
async fn concurrent_saves_let_exactly_one_win(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let task = task_id(&app, "I", Some(1)).await;
    let (id, version) = draft(&tayson, &task, "2024", "v1").await;
    let (_, _, history_before) = state(&tayson, &id).await;
    let saves = (0..20).map(|i| {
        let input = json!({ "taskId": task, "periodCode": "2024", "expectedVersion": version, "summary": format!("writer {i}") });
        let tayson = &tayson;
        async move { save(tayson, input).await }
    });
    let replies = futures_util::future::join_all(saves).await;
    let codes: Vec<Option<&str>> = replies.iter().map(|r| r.error_code()).collect();
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == Some("CONFLICT")).count(),
        19,
        "{codes:?}"
    );
    let (_, version_after, history_after) = state(&tayson, &id).await;
    assert_eq!(version_after, version + 1);
    assert_eq!(history_after, history_before + 1, "exactly one audit row");
}

/// The coordinator names the members of a group the plan leaves open; they then take
/// part in the task.
async fn the_coordinator_names_the_relevant_departments(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let set = "mutation($g: String!, $a: [String!]!, $f: Date) { setAgencyGroupMembers(group: $g, agencies: $a, from: $f) { code members { code } } }";
    let tayson = app.client("tayson").await;
    let reply = tayson
        .graphql(set, json!({ "g": "lien-quan-iv", "a": ["so-tttt"] }))
        .await;
    assert_eq!(reply.error_code(), Some("FORBIDDEN"));
    let coordinator = app.client("coordinator").await;
    for (agencies, code) in [
        (json!(["no-such-agency"]), "BAD_USER_INPUT"),
        (json!(["bo-noi-vu"]), "BAD_USER_INPUT"),
    ] {
        let reply = coordinator
            .graphql(set, json!({ "g": "lien-quan-iv", "a": agencies }))
            .await;
        assert_eq!(reply.error_code(), Some(code), "{agencies}");
    }
    let reply = coordinator
        .graphql(set, json!({ "g": "no-such-group", "a": [] }))
        .await;
    assert_eq!(reply.error_code(), Some("NOT_FOUND"));

    let iv = task_id(&app, "IV", None).await;
    let tttt = app.client("tttt").await;
    assert_eq!(
        save(&tttt, json!({ "taskId": iv, "periodCode": "2024" }))
            .await
            .error_code(),
        Some("FORBIDDEN")
    );
    // Named from the plan's start: they take part in 2024's reports too.
    let reply = coordinator
        .graphql(
            set,
            json!({ "g": "lien-quan-iv", "a": ["so-tttt", "so-tai-chinh"], "f": "2022-01-01" }),
        )
        .await;
    assert_eq!(
        reply.data()["setAgencyGroupMembers"]["members"],
        json!([{ "code": "so-tai-chinh" }, { "code": "so-tttt" }])
    );
    let reply = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Task { partnerAgencies { code } } } }",
            json!({ "id": iv }),
        )
        .await;
    assert_eq!(
        reply.data()["node"]["partnerAgencies"],
        json!([{ "code": "so-tai-chinh" }, { "code": "so-tttt" }])
    );
    field(
        &save(
            &tttt,
            json!({ "taskId": iv, "periodCode": "2024", "summary": "góp ý" }),
        )
        .await,
        "saveSubmission",
    );
}

/// An agency owes, and writes, the reports of the periods whose duty day (the day after
/// the period) it exists on, and only those: the same rule that says which reports it
/// owes (`obligations`).
async fn agencies_report_only_on_periods_they_existed(app: TestApp) {
    use chrono::Datelike;
    // It ends tomorrow: it still exists, but not when next year's reports fall due.
    let last_day = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let next_year = (last_day.year() + 1).to_string();
    open_window(&app, "2024", 48).await.data();
    open_window(&app, &next_year, 48).await.data();
    let owner = app.owner_db().await;
    owner
        .execute_unprepared(&format!(
            "UPDATE agency SET valid_to = '{last_day}' WHERE code = 'ubnd-tay-son'"
        ))
        .await
        .expect("end the agency");
    let tayson = app.client("tayson").await;
    let task = crate::fixtures::led_tasks(&tayson, "ubnd-tay-son").await[0].clone();

    let after = save(
        &tayson,
        json!({ "taskId": task, "periodCode": next_year, "summary": "x" }),
    )
    .await;
    assert_eq!(after.error_code(), Some("FORBIDDEN"), "{}", after.body);
    let owed = tayson
        .graphql(
            r#"query($p: String!) { obligations(filter: { period: { code: { equalTo: $p } } }) { totalCount } }"#,
            json!({ "p": next_year }),
        )
        .await;
    assert_eq!(
        owed.data()["obligations"]["totalCount"],
        0,
        "nothing owed either"
    );

    let during = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2024", "summary": "x" }),
    )
    .await;
    assert_eq!(field(&during, "saveSubmission")["summary"], "x");
}

/// A window opens, falls due, then closes: reopening it cannot close it before it is due.
async fn a_window_never_closes_before_it_falls_due(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let coordinator = app.client("coordinator").await;
    let reopen = |until: chrono::DateTime<chrono::Utc>| {
        coordinator.graphql(
            "mutation($c: DateTime!) { reopenReportingWindow(planCode: \"768/QĐ-UBND\", periodCode: \"2024\", closesAt: $c) { isOpen dueAt closesAt } }",
            json!({ "c": until.to_rfc3339() }),
        )
    };
    let now = chrono::Utc::now();
    let early = reopen(now + chrono::Duration::days(1)).await;
    assert_eq!(early.error_code(), Some("BAD_USER_INPUT"), "{}", early.body);
    let later = reopen(now + chrono::Duration::days(5)).await;
    assert_eq!(later.data()["reopenReportingWindow"]["isOpen"], true);
}

/// Each save's evidence is the report's whole evidence: a deliverable left out goes, one
/// given again is written over, a new one is added, and an empty list empties it.
async fn each_save_replaces_the_evidence(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let task = task_id(&app, "I", Some(4)).await;
    let tttt = app.client("tttt").await;
    let deliverables = crate::fixtures::deliverables_of(&app, &task).await;
    let (d0, d1) = (deliverables[0]["id"].clone(), deliverables[1]["id"].clone());
    let (tttt, task) = (&tttt, &task);
    let evidence = |given: Value, version: i64| async move {
        let mut input = json!({ "taskId": task, "periodCode": "2024", "deliverables": given });
        if version > 0 {
            input["expectedVersion"] = json!(version);
        }
        let reply = tttt
            .graphql(
                "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) {
                    version deliverables { deliverable { id } status documentRef } } }",
                json!({ "i": input }),
            )
            .await;
        let saved = &reply.data()["saveSubmission"];
        (
            saved["deliverables"].clone(),
            saved["version"].as_i64().unwrap(),
        )
    };
    let (both, version) = evidence(
        json!([
            { "deliverableId": d0, "status": "COMPLETED", "documentRef": "KH 1" },
            { "deliverableId": d1, "status": "IN_PROGRESS" },
        ]),
        0,
    )
    .await;
    assert_eq!(both.as_array().unwrap().len(), 2, "{both}");
    let (one, version) = evidence(
        json!([{ "deliverableId": d1, "status": "COMPLETED", "documentRef": "QĐ 2" }]),
        version,
    )
    .await;
    assert_eq!(
        one,
        json!([{ "deliverable": { "id": d1 }, "status": "COMPLETED", "documentRef": "QĐ 2" }])
    );
    let (none, version) = evidence(json!([]), version).await;
    assert_eq!(none, json!([]));
    let (again, _) = evidence(
        json!([{ "deliverableId": d0, "status": "NOT_STARTED" }]),
        version,
    )
    .await;
    assert_eq!(
        again,
        json!([{ "deliverable": { "id": d0 }, "status": "NOT_STARTED", "documentRef": null }])
    );
}

/// Opening and reopening a window read it and then write it. Many at once, with saves
/// meanwhile, take their turns: one open of a window succeeds and the others are told it
/// exists (none fails for the database's sake: SQLITE_BUSY on SQLite, a unique violation on
/// PostgreSQL), and every reopen succeeds.
async fn concurrent_window_changes_take_their_turns(app: TestApp) {
    let coordinator = app.client("coordinator").await;
    let tayson = app.client("tayson").await;
    let task = task_id(&app, "I", Some(1)).await;
    let opens = join_all((0..8).map(|_| open_window(&app, "2024", 48))).await;
    one_succeeded_others(&opens, "BAD_USER_INPUT");
    let until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let reopen = || {
        coordinator.graphql(
            "mutation($c: DateTime!) { reopenReportingWindow(planCode: \"768/QĐ-UBND\", periodCode: \"2024\", closesAt: $c) { isOpen } }",
            json!({ "c": until }),
        )
    };
    let edit = |n: usize| {
        save(
            &tayson,
            json!({ "taskId": task, "periodCode": "2024", "summary": format!("draft {n}") }),
        )
    };
    let (reopened, saved) = tokio::join!(
        join_all((0..8).map(|_| reopen())),
        join_all((0..4).map(edit))
    );
    for reply in &reopened {
        assert_eq!(reply.data()["reopenReportingWindow"]["isOpen"], true);
    }
    // Closes and reopens at once: each applies to what the one before it left.
    let close = || {
        coordinator.graphql(
            "mutation { closeReportingWindow(planCode: \"768/QĐ-UBND\", periodCode: \"2024\") { isOpen } }",
            json!({}),
        )
    };
    let (closed, reopened) = tokio::join!(
        join_all((0..6).map(|_| close())),
        join_all((0..6).map(|_| reopen()))
    );
    for reply in closed.iter().chain(&reopened) {
        reply.data();
    }
    audit_trail_is_unbroken(&app, "reporting_window").await;
    // The saves race to create the one report: one creates it, the rest are told of its
    // version.
    let codes: Vec<Option<&str>> = saved.iter().map(|r| r.error_code()).collect();
    assert!(
        codes.iter().all(|c| matches!(c, None | Some("CONFLICT"))) && codes.contains(&None),
        "{codes:?}"
    );
}

/// The fields of a mutation run one after the other: each field's payload reads the rows
/// as the fields before it left them, not as a loader read them for an earlier payload.
async fn each_mutation_payload_reads_what_the_fields_before_it_wrote(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let tasks = led_tasks(&tayson, "ubnd-tay-son").await;
    const MARKED: &str =
        "tasks(filter: { submissions: { some: { search: \"yakmarker\" } } }) { totalCount }";
    let reply = tayson
        .graphql(
            &format!(
                "mutation($a: SaveSubmissionInput!, $b: SaveSubmissionInput!) {{
                   a: saveSubmission(input: $a) {{ plan {{ {MARKED} }} }}
                   b: saveSubmission(input: $b) {{ plan {{ {MARKED} }} }} }}"
            ),
            json!({
                "a": { "taskId": tasks[0], "periodCode": "2024", "summary": "yakmarker one" },
                "b": { "taskId": tasks[1], "periodCode": "2024", "summary": "yakmarker two" },
            }),
        )
        .await;
    let data = reply.data();
    assert_eq!(data["a"]["plan"]["tasks"]["totalCount"], 1);
    assert_eq!(
        data["b"]["plan"]["tasks"]["totalCount"], 2,
        "b sees a's report"
    );
}

on_both_databases!(
    each_save_replaces_the_evidence,
    a_window_never_closes_before_it_falls_due,
    agencies_report_only_on_periods_they_existed,
    a_report_goes_from_draft_to_accepted,
    every_other_transition_is_refused_and_writes_nothing,
    writes_need_an_open_window,
    only_assigned_agencies_with_write_roles_report,
    stale_versions_conflict_and_write_nothing,
    concurrent_saves_let_exactly_one_win,
    concurrent_window_changes_take_their_turns,
    each_mutation_payload_reads_what_the_fields_before_it_wrote,
    the_coordinator_names_the_relevant_departments,
);
