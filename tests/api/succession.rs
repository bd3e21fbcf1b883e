//! Time and change: the 2025 reorganization on the built-in plan. Agencies end, their
//! work passes to successors, and nothing owed or reported before changes.
use futures_util::future::join_all;
use plantrack::service::reorganization;
use serde_json::{Value, json};

use crate::{
    fixtures::{
        PLAN, audit_trail_is_unbroken, every_node, field, new_user, open_window, save,
        submission_in, task_id,
    },
    on_both_databases,
    support::{Client, TestApp},
};

const COMMUNES: &str = include_str!("../data/communes-example.csv");

/// The districts of plan 768 other than the two of the example communes file.
const OTHER_DISTRICTS: &[&str] = &[
    "ubnd-quy-nhon",
    "ubnd-an-nhon",
    "ubnd-hoai-nhon",
    "ubnd-an-lao",
    "ubnd-hoai-an",
    "ubnd-phu-my",
    "ubnd-vinh-thanh",
    "ubnd-van-canh",
    "ubnd-tuy-phuoc",
];

const RECORD: &str = "mutation($i: RecordSuccessionInput!) { recordSuccession(input: $i) { code validTo successors { code } } }";

/// Every obligation of a period, as an analyst sees it, in a stable order.
async fn obligations(client: &Client<'_>, period: &str) -> Vec<Value> {
    every_node(
        client,
        "query($p: String!, $after: String) { obligations(first: 100, after: $after, filter: { period: { code: { equalTo: $p } } }) {
            edges { node { state agency { code } task { id } submission { id status summary } } }
            pageInfo { hasNextPage endCursor } } }",
        json!({ "p": period }),
        "obligations",
    )
    .await
}

/// The agency codes that owe reports of a period.
fn owers(obligations: &[Value]) -> Vec<String> {
    let mut codes: Vec<String> = obligations
        .iter()
        .map(|o| o["agency"]["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// DOLISA ends on 28 Feb 2025 with its work passing to the Sở NN&MT (the shipped
/// reorganization file); the 11 districts end on 30 June 2025 and their work passes to
/// communes (two from the example communes file, the other nine by the mutation). 2024
/// is unchanged; 2025's second half is owed by the successors, who read their
/// predecessors' reports and cannot edit them.
async fn the_2025_reorganization_carries_the_plan_over(app: TestApp) {
    for period in ["2024", "2025S2"] {
        open_window(&app, period, 48).await.data();
    }
    let tayson = app.client("tayson").await;
    let task = crate::fixtures::led_tasks(&tayson, "ubnd-tay-son").await[0].clone();
    let (report, _) = submission_in(&app, &tayson, &task, "2024", "ACCEPTED").await;
    let other = crate::fixtures::led_tasks(&tayson, "ubnd-tay-son").await[1].clone();
    let (draft, _) = submission_in(&app, &tayson, &other, "2024", "DRAFT").await;
    let third = crate::fixtures::led_tasks(&tayson, "ubnd-tay-son").await[2].clone();
    let (waiting, waiting_version) =
        submission_in(&app, &tayson, &third, "2024", "SUBMITTED").await;
    let dolisa = app.client("coordinator").await;
    let dolisa_task = crate::fixtures::led_tasks(&dolisa, "so-ldtbxh").await[0].clone();
    let (dolisa_report, dolisa_version) =
        submission_in(&app, &dolisa, &dolisa_task, "2024", "SUBMITTED").await;
    let analyst = app.client("analyst").await;
    let owed_2024 = obligations(&analyst, "2024").await;
    let before_2025 = owers(&obligations(&analyst, "2025S2").await);
    assert!(
        before_2025.contains(&"so-ldtbxh".to_owned())
            && before_2025.contains(&"ubnd-tay-son".to_owned())
    );

    // The shipped file, as `plantrack record-succession` loads it; twice changes nothing.
    let owner = app.owner_db().await;
    let done = reorganization::apply_file(&owner, reorganization::REORGANIZATION_2025)
        .await
        .expect("the 2025 file loads");
    assert_eq!(
        (done.agencies_added, done.successions_recorded),
        (1, 1),
        "{done:?}"
    );
    assert!(
        done.passed.assignments_passed > 0 && done.passed.plans_passed == 1,
        "{done:?}"
    );
    let again = reorganization::apply_file(&owner, reorganization::REORGANIZATION_2025)
        .await
        .expect("loading twice");
    assert_eq!(
        (
            again.agencies_added,
            again.successions_recorded,
            again.successions_already_recorded
        ),
        (0, 0, 1)
    );
    // The same file writing its successor with the jurisdiction is the same succession.
    let qualified = reorganization::REORGANIZATION_2025.replace(
        "successor = \"so-nnmt\"",
        "successor = \"binh-dinh/so-nnmt\"",
    );
    let same = reorganization::apply_file(&owner, &qualified)
        .await
        .expect("loading it qualified");
    assert_eq!(same.successions_already_recorded, 1, "{same:?}");

    // The example communes, as `plantrack import-communes --from 2025-07-01` does.
    let from = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
    let imported = reorganization::import_communes(&owner, COMMUNES, from)
        .await
        .expect("communes import");
    assert_eq!(
        (imported.agencies_added, imported.successions_recorded),
        (2, 2)
    );

    // The other nine districts, by the mutation (test data: both communes take each).
    let admin = app.client("admin").await;
    let refused = tayson
        .graphql(RECORD, json!({ "i": { "agency": "ubnd-an-lao", "lastDay": "2025-06-30", "handovers": [{ "successor": "xa-tay-son" }] } }))
        .await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"), "admins only");
    let lossy = admin
        .graphql(RECORD, json!({ "i": { "agency": "ubnd-an-lao", "lastDay": "2025-06-30", "handovers": [{ "successor": "xa-tay-son", "taskIds": [task] }] } }))
        .await;
    assert_eq!(
        lossy.error_code(),
        Some("BAD_USER_INPUT"),
        "nothing may be lost: {}",
        lossy.body
    );
    for district in OTHER_DISTRICTS {
        let reply = admin
            .graphql(
                RECORD,
                json!({ "i": {
                "agency": district, "lastDay": "2025-06-30",
                "handovers": [{ "successor": "xa-tay-son" }, { "successor": "xa-phu-cat" }],
                "source": "test data",
            } }),
            )
            .await;
        let ended = &reply.data()["recordSuccession"];
        assert_eq!(ended["validTo"], "2025-06-30", "{}", reply.body);
        assert_eq!(
            ended["successors"],
            json!([{ "code": "xa-tay-son" }, { "code": "xa-phu-cat" }])
        );
    }
    let twice = admin
        .graphql(RECORD, json!({ "i": { "agency": "ubnd-an-lao", "lastDay": "2025-06-30", "handovers": [{ "successor": "xa-tay-son" }] } }))
        .await;
    assert_eq!(
        twice.error_code(),
        Some("BAD_USER_INPUT"),
        "an agency ends once"
    );

    // 2024, reported before, is owed and reported exactly as it was.
    assert_eq!(obligations(&analyst, "2024").await, owed_2024);
    // 2025's second half is owed by the successors only.
    let after_2025 = owers(&obligations(&analyst, "2025S2").await);
    for gone in ["so-ldtbxh", "ubnd-tay-son", "ubnd-phu-cat", "ubnd-an-lao"] {
        assert!(
            !after_2025.contains(&gone.to_owned()),
            "{gone} owes nothing after it ended: {after_2025:?}"
        );
    }
    for successor in ["so-nnmt", "xa-tay-son", "xa-phu-cat"] {
        assert!(
            after_2025.contains(&successor.to_owned()),
            "{successor} owes: {after_2025:?}"
        );
    }

    // Who is who now.
    let reply = analyst
        .graphql(
            "query($p: String!) { plan(code: $p) { coordinator { code } namedCoordinator { code } }
               dolisa: agency(code: \"so-ldtbxh\") { validTo successors { code } }
               nnmt: agency(code: \"so-nnmt\") { validFrom predecessors { code } }
               commune: agency(code: \"xa-tay-son\") { kind validFrom predecessors { code } } }",
            json!({ "p": PLAN }),
        )
        .await;
    let data = reply.data();
    assert_eq!(
        data["plan"]["coordinator"]["code"], "so-nnmt",
        "{}",
        reply.body
    );
    assert_eq!(data["plan"]["namedCoordinator"]["code"], "so-ldtbxh");
    assert_eq!(
        data["dolisa"],
        json!({ "validTo": "2025-02-28", "successors": [{ "code": "so-nnmt" }] })
    );
    assert_eq!(
        data["nnmt"],
        json!({ "validFrom": "2025-03-01", "predecessors": [{ "code": "so-ldtbxh" }] })
    );
    assert_eq!(data["commune"]["kind"], "COMMUNE");
    assert_eq!(
        data["commune"]["predecessors"].as_array().unwrap().len(),
        10
    );

    // The commune reads its predecessor's report, not its draft, and cannot edit either.
    let commune = new_user(&app, &admin, "xa-tay-son-editor", "xa-tay-son", "EDITOR").await;
    let read = commune
        .graphql(
            "query($r: ID!, $d: ID!) { report: node(id: $r) { ... on Submission { status agency { code } } } draft: node(id: $d) { id } }",
            json!({ "r": report, "d": draft }),
        )
        .await;
    assert_eq!(
        read.data()["report"],
        json!({ "status": "ACCEPTED", "agency": { "code": "ubnd-tay-son" } }),
        "{}",
        read.body
    );
    assert_eq!(
        read.data()["draft"],
        Value::Null,
        "drafts never leave their agency"
    );
    let edit = save(
        &commune,
        json!({ "taskId": task, "periodCode": "2024", "summary": "x" }),
    )
    .await;
    assert_eq!(edit.error_code(), Some("FORBIDDEN"), "{}", edit.body);
    // It reports on its inherited task for 2025's second half.
    let own = save(
        &commune,
        json!({ "taskId": task, "periodCode": "2025S2", "summary": "xã mới báo cáo" }),
    )
    .await;
    assert_eq!(
        field(&own, "saveSubmission")["agency"]["code"],
        "xa-tay-son",
        "{}",
        own.body
    );

    // The ended district writes nothing any more, its old coordinator no longer
    // coordinates, and the new department does.
    let late = save(
        &tayson,
        json!({ "taskId": other, "periodCode": "2024", "summary": "y" }),
    )
    .await;
    assert_eq!(late.error_code(), Some("FORBIDDEN"), "{}", late.body);
    let reopen = app.client("coordinator").await
        .graphql(
            "mutation($p: String!) { openReportingWindow(input: { planCode: $p, periodCode: \"2026\", opensAt: \"2027-01-01T00:00:00Z\", dueAt: \"2027-01-31T00:00:00Z\", closesAt: \"2027-02-28T00:00:00Z\" }) { isOpen } }",
            json!({ "p": PLAN }),
        )
        .await;
    assert_eq!(reopen.error_code(), Some("FORBIDDEN"), "{}", reopen.body);
    let nnmt = new_user(&app, &admin, "nnmt-coordinator", "so-nnmt", "COORDINATOR").await;
    let seen = nnmt
        .graphql(
            "query($r: ID!) { node(id: $r) { ... on Submission { status } } }",
            json!({ "r": report }),
        )
        .await;
    assert_eq!(
        seen.data()["node"]["status"],
        "ACCEPTED",
        "the new coordinator reads the plan's reports"
    );
    // It reviews them, but not its predecessor's (its own line of work), and does not
    // return a report to an agency that has ended: nobody could revise it.
    let own_line =
        crate::fixtures::review(&nnmt, &dolisa_report, dolisa_version, "ACCEPT", None).await;
    assert_eq!(
        own_line.error_code(),
        Some("FORBIDDEN"),
        "{}",
        own_line.body
    );
    let back = crate::fixtures::review(
        &nnmt,
        &waiting,
        waiting_version,
        "RETURN",
        Some("thêm số liệu"),
    )
    .await;
    assert_eq!(back.error_code(), Some("BAD_USER_INPUT"), "{}", back.body);
    field(
        &crate::fixtures::review(&nnmt, &waiting, waiting_version, "ACCEPT", None).await,
        "reviewSubmission",
    );
}

/// A period reported and closed stays as it was: a change that would alter it is
/// refused, and one that does not leaves its obligations, progress and report
/// byte-for-byte the same.
async fn a_closed_period_never_changes(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let task = task_id(&app, "I", Some(1)).await;
    submission_in(&app, &tayson, &task, "2024", "ACCEPTED").await;
    // The window closes (an hour ago).
    {
        use entity::{period, reporting_window};
        use sea_orm::{
            ColumnTrait, EntityTrait, QueryFilter,
            sea_query::{Expr, Query},
        };
        let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        reporting_window::Entity::update_many()
            .col_expr(reporting_window::Column::DueAt, Expr::value(an_hour_ago))
            .col_expr(reporting_window::Column::ClosesAt, Expr::value(an_hour_ago))
            .filter(
                reporting_window::Column::PeriodId.in_subquery(
                    Query::select()
                        .column(period::Column::Id)
                        .from(period::Entity)
                        .and_where(period::Column::Code.eq("2024"))
                        .to_owned(),
                ),
            )
            .exec(&app.owner_db().await)
            .await
            .expect("close the window");
    }
    let analyst = app.client("analyst").await;
    let snapshot = || async {
        let owed = obligations(&analyst, "2024").await;
        let progress = analyst
            .graphql(
                "query($p: String!) { progress(planCode: $p, periodCode: \"2024\", groupBy: AGENCY) { expected submitted accepted completeness } }",
                json!({ "p": PLAN }),
            )
            .await
            .body;
        let report = analyst.get("/reports/768%2FQ%C4%90-UBND/2024.csv").await;
        (owed, progress, report)
    };
    let before = snapshot().await;

    let admin = app.client("admin").await;
    let coordinator = app.client("coordinator").await;
    let retroactive = admin
        .graphql(RECORD, json!({ "i": { "agency": "ubnd-tay-son", "lastDay": "2024-06-30", "handovers": [{ "successor": "ubnd-an-lao" }] } }))
        .await;
    assert_eq!(
        retroactive.error_code(),
        Some("WINDOW_CLOSED"),
        "{}",
        retroactive.body
    );
    let set = "mutation($a: [String!]!, $f: Date) { setAgencyGroupMembers(group: \"lien-quan-iv\", agencies: $a, from: $f) { code } }";
    let back_dated = coordinator
        .graphql(set, json!({ "a": ["so-tttt"], "f": "2024-01-01" }))
        .await;
    assert_eq!(
        back_dated.error_code(),
        Some("WINDOW_CLOSED"),
        "{}",
        back_dated.body
    );
    let assign = |from: &str| json!({ "t": task, "r": "LEAD", "a": ["so-nnptnt"], "f": from });
    let reassigned = coordinator.graphql(ASSIGN, assign("2024-12-31")).await;
    assert_eq!(
        reassigned.error_code(),
        Some("WINDOW_CLOSED"),
        "{}",
        reassigned.body
    );

    // Changes from a later day go through.
    let later = admin
        .graphql(RECORD, json!({ "i": { "agency": "ubnd-tay-son", "lastDay": "2025-06-30", "handovers": [{ "successor": "ubnd-an-lao" }] } }))
        .await;
    assert_eq!(
        later.data()["recordSuccession"]["validTo"],
        "2025-06-30",
        "{}",
        later.body
    );
    let reassigned = coordinator.graphql(ASSIGN, assign("2025-01-02")).await;
    assert!(reassigned.body["errors"].is_null(), "{}", reassigned.body);
    let today = coordinator
        .graphql(set, json!({ "a": ["so-tttt", "so-tai-chinh"] }))
        .await;
    assert_eq!(
        today.data()["setAgencyGroupMembers"]["code"],
        "lien-quan-iv",
        "{}",
        today.body
    );

    // The task's text and deliverables: refused from 2024's duty day, accepted from today.
    let back_dated = coordinator
        .graphql(
            EDIT,
            json!({ "t": task, "c": "Nội dung đã sửa", "f": "2025-01-01" }),
        )
        .await;
    assert_eq!(
        back_dated.error_code(),
        Some("WINDOW_CLOSED"),
        "{}",
        back_dated.body
    );
    let edited = coordinator
        .graphql(
            EDIT,
            json!({ "t": task, "c": "Nội dung đã sửa", "d": ["Báo cáo kết quả"] }),
        )
        .await;
    assert_eq!(
        edited.data()["editTask"]["content"],
        "Nội dung đã sửa",
        "{}",
        edited.body
    );

    assert!(
        before == snapshot().await,
        "2024 is byte-for-byte what it was"
    );
}

const EDIT: &str = "mutation($t: ID!, $c: String, $d: [String!], $f: Date) {
    editTask(taskId: $t, content: $c, deliverables: $d, from: $f) {
        content deliverables { id description validFrom validTo } } }";

/// The coordinator edits a task's text and deliverables from a day: reports of periods
/// that fell due before it keep the old text; a dropped deliverable takes no new
/// evidence, and the evidence already given for it stays.
async fn the_coordinator_edits_a_tasks_text_and_deliverables(app: TestApp) {
    open_window(&app, "2026", 48).await.data();
    let task = task_id(&app, "I", Some(1)).await;
    let coordinator = app.client("coordinator").await;
    let tayson = app.client("tayson").await;
    let edit = |vars: Value| {
        let coordinator = &coordinator;
        async move { coordinator.graphql(EDIT, vars).await }
    };

    let refused = tayson.graphql(EDIT, json!({ "t": task, "c": "x" })).await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    for bad in [
        json!({ "t": task, "c": "x", "f": tomorrow }),
        json!({ "t": task, "c": "   " }),
        json!({ "t": task, "d": [] }),
        json!({ "t": task, "d": ["Hội nghị", "hoi nghi"] }),
        json!({ "t": task, "c": "x".repeat(2_001) }),
        json!({ "t": task, "c": "chuông \u{7} \u{1b}[31m" }),
        json!({ "t": task, "d": ["\u{202e}txet"] }),
        json!({ "t": task }),
    ] {
        let reply = edit(bad.clone()).await;
        assert_eq!(
            reply.error_code(),
            Some("BAD_USER_INPUT"),
            "{bad}: {}",
            reply.body
        );
    }

    // Evidence for "Hội nghị triển khai" in a 2026 draft, before the edit.
    let reply = edit(json!({ "t": task, "c": "Tổ chức nghiên cứu, quán triệt Chỉ thị 05" })).await;
    let deliverables = reply.data()["editTask"]["deliverables"].clone();
    let conference = deliverables
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["description"] == "Hội nghị triển khai")
        .unwrap()["id"]
        .clone();
    let evidence =
        |deliverable: &Value| json!([{ "deliverableId": deliverable, "status": "COMPLETED" }]);
    let draft = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2026", "summary": "2026", "deliverables": evidence(&conference) }),
    )
    .await;
    let draft_id = field(&draft, "saveSubmission")["id"].clone();

    let today = chrono::Utc::now().date_naive();
    let reply = edit(json!({ "t": task, "d": ["Tài liệu tuyên truyền", "Báo cáo kết quả"] })).await;
    let edited = &reply.data()["editTask"];
    assert_eq!(
        edited["content"],
        "Tổ chức nghiên cứu, quán triệt Chỉ thị 05"
    );
    let now: Vec<(&str, &Value)> = edited["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["description"].as_str().unwrap(), &d["validFrom"]))
        .collect();
    assert_eq!(now.len(), 2, "{now:?}");
    assert_eq!(now[0], ("Tài liệu tuyên truyền", &Value::Null));
    assert_eq!(now[1].0, "Báo cáo kết quả");
    // Today in Vietnam (UTC+7) is today or tomorrow in UTC.
    let from = now[1].1.as_str().unwrap();
    assert!(
        [today, today.succ_opt().unwrap()]
            .map(|d| d.to_string())
            .contains(&from.to_owned()),
        "{from}"
    );

    // The dropped deliverable takes no new evidence; what was given for it stays.
    let again = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2026", "summary": "2026", "expectedVersion": 1, "deliverables": evidence(&conference) }),
    )
    .await;
    assert_eq!(again.error_code(), Some("BAD_USER_INPUT"), "{}", again.body);
    let kept = tayson
        .graphql(
            "query($s: ID!) { node(id: $s) { ... on Submission { deliverables { deliverable { description validTo } } } } }",
            json!({ "s": draft_id }),
        )
        .await;
    let kept = &kept.data()["node"]["deliverables"][0]["deliverable"];
    assert_eq!(kept["description"], "Hội nghị triển khai");
    assert!(kept["validTo"].is_string(), "{kept}");
    let report =
        json!({ "deliverableId": edited["deliverables"][1]["id"], "status": "IN_PROGRESS" });
    let saved = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2026", "summary": "2026", "expectedVersion": 1, "deliverables": [report] }),
    )
    .await;
    assert_eq!(field(&saved, "saveSubmission")["version"], 2);

    // What 2026 asks for is today's list; 2024's was the plan's (its duty day is past).
    let asked = |period: &'static str| {
        let tayson = &tayson;
        let task = task.clone();
        async move {
            let reply = tayson
                .graphql(
                    "query($t: ID!, $p: String) { node(id: $t) { ... on Task { deliverables(periodCode: $p) { description } } } }",
                    json!({ "t": task, "p": period }),
                )
                .await;
            reply.data()["node"]["deliverables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["description"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        asked("2026").await,
        ["Tài liệu tuyên truyền", "Báo cáo kết quả"]
    );
    assert_eq!(
        asked("2024").await,
        ["Tài liệu tuyên truyền", "Hội nghị triển khai"]
    );

    // Undone the same day, the conference is the same deliverable again: the evidence
    // given for it holds.
    let undone =
        edit(json!({ "t": task, "d": ["Tài liệu tuyên truyền", "hoi nghi  trien khai"] })).await;
    let ids: Vec<&Value> = undone.data()["editTask"]["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert!(ids.contains(&&conference), "{}", undone.body);
    let again = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2026", "summary": "2026", "expectedVersion": 2, "deliverables": evidence(&conference) }),
    )
    .await;
    assert_eq!(field(&again, "saveSubmission")["version"], 3);

    // Edits of one task at once each go through, one after another.
    let texts: Vec<String> = (0..8).map(|i| format!("Nội dung {i}")).collect();
    let replies = futures_util::future::join_all(
        texts
            .iter()
            .map(|c| coordinator.graphql(EDIT, json!({ "t": task, "c": c }))),
    )
    .await;
    for reply in &replies {
        assert!(reply.body["errors"].is_null(), "{}", reply.body);
    }
    let now = app
        .graphql(
            "query($t: ID!) { node(id: $t) { ... on Task { content } } }",
            json!({ "t": task }),
        )
        .await;
    assert!(texts.contains(&now.data()["node"]["content"].as_str().unwrap().to_owned()));

    // A change cannot begin before the last one.
    let earlier = edit(json!({ "t": task, "c": "y", "f": "2026-01-01" })).await;
    assert_eq!(
        earlier.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        earlier.body
    );
    let audit = app
        .graphql(
            "query($t: ID!) { node(id: $t) { ... on Task { content } } }",
            json!({ "t": task }),
        )
        .await;
    assert!(
        audit.data()["node"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Nội dung ")
    );
    let before_plan = edit(json!({ "t": task, "c": "z", "f": "2020-12-31" })).await;
    assert_eq!(
        before_plan.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        before_plan.body
    );
}

const ASSIGN: &str = "mutation($t: ID!, $r: AssignmentRole!, $a: [String!]!, $f: Date) {
    setTaskAssignees(taskId: $t, role: $r, agencies: $a, from: $f) { leadAgencies { code } assignments { role wording validFrom validTo agency { code } } } }";

/// The coordinator edits who a task assigns from a day: the new lead owes the periods
/// that fall due after it, the days before keep theirs.
async fn the_coordinator_edits_who_a_task_assigns(app: TestApp) {
    for period in ["2024", "2025S2"] {
        open_window(&app, period, 48).await.data();
    }
    let task = task_id(&app, "I", Some(1)).await;
    let coordinator = app.client("coordinator").await;
    let tayson = app.client("tayson").await;
    let vars =
        |agencies: Value, from: &str| json!({ "t": task, "r": "LEAD", "a": agencies, "f": from });
    let refused = tayson
        .graphql(ASSIGN, vars(json!(["so-nnptnt"]), "2025-07-01"))
        .await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    let unknown = coordinator
        .graphql(ASSIGN, vars(json!(["so-nn-ptnt"]), "2025-07-01"))
        .await;
    assert_eq!(unknown.error_code(), Some("BAD_USER_INPUT"));
    let not_tenant = coordinator
        .graphql(ASSIGN, vars(json!(["bo-noi-vu"]), "2025-07-01"))
        .await;
    assert_eq!(not_tenant.error_code(), Some("BAD_USER_INPUT"));

    let reply = coordinator
        .graphql(ASSIGN, vars(json!(["so-nnptnt"]), "2025-07-01"))
        .await;
    let edited = &reply.data()["setTaskAssignees"];
    assert!(
        edited["leadAgencies"]
            .as_array()
            .unwrap()
            .contains(&json!({ "code": "so-nnptnt" })),
        "{}",
        reply.body
    );
    let added = edited["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"]["code"] == "so-nnptnt")
        .cloned()
        .unwrap();
    assert_eq!(added["validFrom"], "2025-07-01");
    assert_eq!(added["wording"], "Sở NN&PTNT");

    let analyst = app.client("analyst").await;
    let owes = |period: &'static str| {
        let analyst = &analyst;
        let task = task.clone();
        async move {
            obligations(analyst, period)
                .await
                .iter()
                .any(|o| o["agency"]["code"] == "so-nnptnt" && o["task"]["id"] == task.as_str())
        }
    };
    assert!(
        !owes("2024").await,
        "2024 fell due before the new lead began"
    );
    assert!(owes("2025S2").await);
    let nnptnt = app.client("nnptnt").await;
    let past = save(
        &nnptnt,
        json!({ "taskId": task, "periodCode": "2024", "summary": "x" }),
    )
    .await;
    assert_eq!(past.error_code(), Some("FORBIDDEN"), "{}", past.body);
    let now = save(
        &nnptnt,
        json!({ "taskId": task, "periodCode": "2025S2", "summary": "x" }),
    )
    .await;
    assert_eq!(field(&now, "saveSubmission")["agency"]["code"], "so-nnptnt");

    // Ended again after 2025S2 fell due (2026-01-01): the group's districts remain its leads.
    let reply = coordinator
        .graphql(ASSIGN, vars(json!([]), "2026-01-02"))
        .await;
    let assignments = reply.data()["setTaskAssignees"]["assignments"].clone();
    let ended = assignments
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"]["code"] == "so-nnptnt");
    assert!(
        ended.is_none(),
        "no longer among today's assignments: {assignments}"
    );
    assert!(owes("2025S2").await, "2025S2 fell due while it led");
}

/// Successions that would lose work, or loop, are refused and write nothing.
async fn successions_never_lose_work(app: TestApp) {
    let admin = app.client("admin").await;
    let record = |agency: &str, last_day: &str, handovers: Value| {
        let admin = &admin;
        let input =
            json!({ "i": { "agency": agency, "lastDay": last_day, "handovers": handovers } });
        async move { admin.graphql(RECORD, input).await }
    };
    let code = |reply: &crate::support::Reply| reply.error_code().map(str::to_owned);
    // To an agency that has ended: its work would be owed by nobody after it.
    let ok = record(
        "so-nnptnt",
        "2025-06-30",
        json!([{ "successor": "so-tnmt" }]),
    )
    .await;
    assert!(ok.body["errors"].is_null(), "{}", ok.body);
    let to_ended = record(
        "so-khdt",
        "2025-02-28",
        json!([{ "successor": "so-nnptnt" }]),
    )
    .await;
    assert_eq!(
        code(&to_ended).as_deref(),
        Some("BAD_USER_INPUT"),
        "{}",
        to_ended.body
    );
    // A cycle: the second step names an agency that has ended.
    let ok = record(
        "so-khdt",
        "2025-02-28",
        json!([{ "successor": "so-tai-chinh" }]),
    )
    .await;
    assert!(ok.body["errors"].is_null(), "{}", ok.body);
    let back = record(
        "so-tai-chinh",
        "2025-06-30",
        json!([{ "successor": "so-khdt" }]),
    )
    .await;
    assert_eq!(
        code(&back).as_deref(),
        Some("BAD_USER_INPUT"),
        "{}",
        back.body
    );
    // One task, two successors; a day in another millennium; a non-tenant.
    let tayson = app.client("tayson").await;
    let task = crate::fixtures::led_tasks(&tayson, "ubnd-tay-son").await[0].clone();
    let split = record(
        "so-y-te",
        "2025-06-30",
        json!([{ "successor": "so-gddt", "taskIds": [task] }, { "successor": "so-noi-vu", "taskIds": [task] }]),
    )
    .await;
    assert_eq!(
        code(&split).as_deref(),
        Some("BAD_USER_INPUT"),
        "{}",
        split.body
    );
    let far = record("so-y-te", "9999-12-31", json!([{ "successor": "so-gddt" }])).await;
    assert_eq!(
        code(&far).as_deref(),
        Some("BAD_USER_INPUT"),
        "{}",
        far.body
    );
    let ministry = record(
        "bo-noi-vu",
        "2025-06-30",
        json!([{ "successor": "so-gddt" }]),
    )
    .await;
    assert_eq!(
        code(&ministry).as_deref(),
        Some("BAD_USER_INPUT"),
        "{}",
        ministry.body
    );
    // None of the refused ones wrote anything.
    let reply = app
        .graphql(
            "{ a: agency(code: \"so-y-te\") { validTo } b: agency(code: \"so-tai-chinh\") { validTo predecessors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.data(),
        &json!({ "a": { "validTo": null }, "b": { "validTo": null, "predecessors": [{ "code": "so-khdt" }] } })
    );
}

/// The agencies a task names directly in `role` from today on.
async fn named_from_today(client: &Client<'_>, task: &str, role: &str) -> Vec<String> {
    let now = client
        .graphql(
            "query($t: ID!) { node(id: $t) { ... on Task { assignments { role validTo agency { code } } } } }",
            json!({ "t": task }),
        )
        .await;
    now.data()["node"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == role && a["validTo"].is_null())
        .filter_map(|a| a["agency"]["code"].as_str().map(str::to_owned))
        .collect()
}

/// Changes of the catalog at once take turns: each applies to what the one before it
/// left, as its audit entry says. A task's assignees and a group's members set many times
/// at once end as the last setting says; two agencies each handed to the other at once
/// are not both ended (the second sees the first ended); an agency named by a task while
/// it is succeeded has its work passed on, or is refused.
async fn concurrent_catalog_changes_take_their_turns(app: TestApp) {
    let admin = app.client("admin").await;
    let task = task_id(&app, "I", Some(1)).await;
    let leads = [
        ["so-nnptnt", "so-tnmt", "so-khdt"],
        ["so-noi-vu", "so-tai-chinh", "so-khdt"],
        ["so-nnptnt", "so-noi-vu", "so-y-te"],
        ["so-tnmt", "so-y-te", "so-tai-chinh"],
    ];
    let assigned = join_all((0..12).map(|n| {
        let (admin, task, leads) = (&admin, &task, leads[n % leads.len()]);
        async move {
            admin
                .graphql(ASSIGN, json!({ "t": task, "r": "LEAD", "a": leads }))
                .await
        }
    }))
    .await;
    for reply in &assigned {
        reply.data();
    }
    audit_trail_is_unbroken(&app, "task").await;
    // The agencies named as leads from today on: the last setting's three, not a mix.
    let mut codes = named_from_today(&admin, &task, "LEAD").await;
    codes.sort_unstable();
    assert!(
        leads.iter().any(|l| {
            let mut l = l.to_vec();
            l.sort_unstable();
            l == codes
        }),
        "the leads are one setting's, not a mix: {codes:?}"
    );

    let members = [
        ["ubnd-tay-son", "ubnd-an-lao", "ubnd-hoai-an"],
        ["ubnd-phu-my", "ubnd-van-canh", "ubnd-hoai-an"],
    ];
    let set = "mutation($a: [String!]!) { setAgencyGroupMembers(group: \"lien-quan-iv\", agencies: $a) { members { code } } }";
    let replies =
        join_all((0..8).map(|n| admin.graphql(set, json!({ "a": members[n % members.len()] }))))
            .await;
    for reply in &replies {
        reply.data();
    }
    audit_trail_is_unbroken(&app, "agency_group").await;

    // Each of two districts handed to the other, at once.
    let pair = |from: &'static str, to: &'static str| {
        admin.graphql(
            RECORD,
            json!({ "i": { "agency": from, "lastDay": "2025-06-30", "handovers": [{ "successor": to }] } }),
        )
    };
    let (there, back) = tokio::join!(
        pair("ubnd-an-nhon", "ubnd-hoai-nhon"),
        pair("ubnd-hoai-nhon", "ubnd-an-nhon")
    );
    let codes = [there.error_code(), back.error_code()];
    assert!(
        codes.contains(&None) && codes.contains(&Some("BAD_USER_INPUT")),
        "one succession, not a cycle: {codes:?} {} {}",
        there.body,
        back.body
    );
}

/// A change of who owes what that races a window's close waits for the close and is then
/// refused: nothing changes in a period after its window's close was answered. The close
/// is held open here, as a slow one would be, by a transaction of the test's own.
async fn a_change_racing_a_close_waits_and_is_refused(app: TestApp) {
    use entity::reporting_window;
    use sea_orm::{EntityTrait, sea_query::Expr};
    open_window(&app, "2024", 48).await.data();
    let coordinator = app.client("coordinator").await;
    let task = task_id(&app, "I", Some(1)).await;
    let owner = app.owner_db().await;
    let closing = plantrack::db::begin_write(&owner).await.unwrap();
    let now = chrono::Utc::now();
    reporting_window::Entity::update_many()
        .col_expr(
            reporting_window::Column::OpensAt,
            Expr::value(now - chrono::Duration::hours(3)),
        )
        .col_expr(
            reporting_window::Column::DueAt,
            Expr::value(now - chrono::Duration::hours(2)),
        )
        .col_expr(
            reporting_window::Column::ClosesAt,
            Expr::value(now - chrono::Duration::hours(1)),
        )
        .exec(&closing)
        .await
        .unwrap();
    let change = coordinator.graphql(
        ASSIGN,
        json!({ "t": task, "r": "PARTNER", "a": ["so-y-te"], "f": "2024-06-01" }),
    );
    let close = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        closing.commit().await.unwrap();
    };
    let (changed, ()) = tokio::join!(change, close);
    assert_eq!(
        changed.error_code(),
        Some("WINDOW_CLOSED"),
        "{}",
        changed.body
    );
}

/// An agency handed a task by a succession today, after its own assignment ended
/// yesterday, named again as the task's lead: one assignment of it, not two.
async fn an_agency_named_again_holds_one_assignment(app: TestApp) {
    let admin = app.client("admin").await;
    let task = crate::fixtures::led_tasks(&admin, "so-tttt")
        .await
        .remove(0);
    let today = chrono::Utc::now().date_naive();
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let set = |leads: Value, from: String| {
        admin.graphql(
            ASSIGN,
            json!({ "t": task, "r": "LEAD", "a": leads, "f": from }),
        )
    };
    set(json!(["ubnd-hoai-an"]), today.to_string()).await.data();
    admin
        .graphql(
            RECORD,
            json!({ "i": { "agency": "ubnd-hoai-an", "lastDay": yesterday, "handovers": [{ "successor": "so-tttt" }] } }),
        )
        .await
        .data();
    let reply = set(json!(["so-tttt"]), today.to_string()).await;
    let holding: Vec<&Value> = reply.data()["setTaskAssignees"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == "LEAD" && a["validTo"].is_null())
        .filter(|a| a["agency"]["code"] == "so-tttt")
        .collect();
    assert_eq!(holding.len(), 1, "{holding:?}");
}

/// A change that PostgreSQL ends to break a deadlock answers SERVICE_UNAVAILABLE (try
/// again), not an internal error. The deadlock is made by a transaction of the test's
/// own: it holds an agency, the change locks the task and waits for the agency, then the
/// test's transaction asks for the task. SQLite's writers take turns: no deadlock there.
async fn a_change_ended_by_a_deadlock_is_unavailable(app: TestApp) {
    use entity::{agency, task};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if app.backend != "postgres" {
        return;
    }
    let coordinator = app.client("coordinator").await;
    let task_gid = task_id(&app, "I", Some(1)).await;
    let owner = app.owner_db().await;
    let holder = plantrack::db::begin_write(&owner).await.unwrap();
    agency::Entity::find()
        .filter(agency::Column::Code.eq("so-y-te"))
        .lock_exclusive()
        .all(&holder)
        .await
        .unwrap();
    let change = coordinator.graphql(
        ASSIGN,
        json!({ "t": task_gid, "r": "PARTNER", "a": ["so-y-te"] }),
    );
    let take_the_task = async {
        // Once the change holds the task and waits for the agency.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let outcome = task::Entity::find().lock_exclusive().all(&holder).await;
        drop(holder);
        outcome
    };
    let (changed, taken) = tokio::join!(change, take_the_task);
    match changed.error_code() {
        // PostgreSQL ended the change: the test's transaction got the task.
        Some(code) => {
            assert_eq!(code, "SERVICE_UNAVAILABLE", "{}", changed.body);
            assert!(taken.is_ok());
        }
        // PostgreSQL ended the test's transaction instead: the change went through.
        None => assert!(taken.is_err()),
    }
}

/// A succession and a change that drops the ending agency, at once, end as one after the
/// other would: the tasks are assigned as the change says, and the successor takes on
/// nothing the change removed.
async fn a_succession_and_a_change_dropping_its_agency_take_turns(app: TestApp) {
    let admin = app.client("admin").await;
    let mut tasks = Vec::new();
    for (section, number) in [("I", 1), ("I", 2), ("I", 3), ("I", 4), ("II", 1), ("II", 2)] {
        tasks.push(task_id(&app, section, Some(number)).await);
    }
    let partners = |task: &String, agencies: Value| {
        admin.graphql(ASSIGN, json!({ "t": task, "r": "PARTNER", "a": agencies }))
    };
    for task in &tasks {
        partners(task, json!(["so-gddt", "so-y-te"])).await.data();
    }
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let succession = admin.graphql(
        RECORD,
        json!({ "i": { "agency": "so-gddt", "lastDay": yesterday, "handovers": [{ "successor": "so-khdt" }] } }),
    );
    let (recorded, changed) = tokio::join!(
        succession,
        join_all(tasks.iter().map(|task| partners(task, json!(["so-y-te"]))))
    );
    recorded.data();
    for reply in &changed {
        reply.data();
    }
    for task in &tasks {
        let partners = named_from_today(&admin, task, "PARTNER").await;
        assert_eq!(partners, ["so-y-te"], "{task}");
    }
}

on_both_databases!(
    a_change_ended_by_a_deadlock_is_unavailable,
    a_succession_and_a_change_dropping_its_agency_take_turns,
    a_change_racing_a_close_waits_and_is_refused,
    an_agency_named_again_holds_one_assignment,
    concurrent_catalog_changes_take_their_turns,
    successions_never_lose_work,
    the_coordinator_edits_a_tasks_text_and_deliverables,
    the_coordinator_edits_who_a_task_assigns,
    the_2025_reorganization_carries_the_plan_over,
    a_closed_period_never_changes,
);
