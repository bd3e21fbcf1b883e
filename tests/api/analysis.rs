//! Obligations and progress aggregates.
use chrono::NaiveDate;
use entity::agency;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    fixtures::{PLAN, draft, every_node, field, open_window, save, submission_in, submit, task_id},
    on_both_databases,
    support::{Client, TestApp},
};

async fn obligations(client: &Client<'_>, period: &str, agency: Option<&str>) -> Vec<Value> {
    let mut filter = json!({ "period": { "code": { "equalTo": period } } });
    if let Some(agency) = agency {
        filter["agency"] = json!({ "code": { "equalTo": agency } });
    }
    every_node(
        client,
        "query($f: ObligationFilter, $after: String) {
           obligations(filter: $f, first: 100, after: $after, orderBy: [{ field: TASK_POSITION }, { field: AGENCY_CODE }]) {
             edges { node { agency { code } task { section { numeral } number } period { code } state onTime submission { id } } }
             pageInfo { hasNextPage endCursor } } }",
        json!({ "f": filter }),
        "obligations",
    )
    .await
}

fn label(o: &Value) -> String {
    format!(
        "{}.{}",
        o["task"]["section"]["numeral"].as_str().unwrap(),
        o["task"]["number"]
    )
}

/// Tây Sơn leads I.1, I.2, II.1, II.2, III.4 and III.9 (through its groups).
const TAY_SON_LEADS: [&str; 6] = ["I.1", "I.2", "II.1", "II.2", "III.4", "III.9"];

/// Windows for 2023 and 2024; Tây Sơn's draft on I.1 and its submitted report on I.2 for
/// 2024. Tây Sơn's client.
async fn tay_son_reports(app: &TestApp) -> Client<'_> {
    open_window(app, "2024", 48).await.data();
    open_window(app, "2023", 48).await.data();
    let tayson = app.client("tayson").await;
    draft(&tayson, &task_id(app, "I", Some(1)).await, "2024", "draft").await;
    submission_in(
        app,
        &tayson,
        &task_id(app, "I", Some(2)).await,
        "2024",
        "SUBMITTED",
    )
    .await;
    tayson
}

async fn a_district_sees_its_obligations(app: TestApp) {
    let tayson = tay_son_reports(&app).await;

    let mine = obligations(&tayson, "2024", None).await;
    assert_eq!(mine.iter().map(label).collect::<Vec<_>>(), TAY_SON_LEADS);
    assert!(
        mine.iter()
            .all(|o| o["agency"]["code"] == "ubnd-tay-son" && o["period"]["code"] == "2024")
    );
    let states: Vec<&str> = mine.iter().map(|o| o["state"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        [
            "DRAFT",
            "SUBMITTED",
            "MISSING",
            "MISSING",
            "MISSING",
            "MISSING"
        ]
    );
    assert_eq!(mine[1]["onTime"], true);
    assert!(
        obligations(&tayson, "2024", Some("ubnd-an-lao"))
            .await
            .is_empty(),
        "not another tenant's"
    );

    // The coordinator sees every agency's, but never another agency's draft.
    let coordinator = app.client("coordinator").await;
    let all = obligations(&coordinator, "2024", None).await;
    let tay_son: Vec<&Value> = all
        .iter()
        .filter(|o| o["agency"]["code"] == "ubnd-tay-son")
        .collect();
    assert_eq!(tay_son.len(), 6);
    assert_eq!(
        tay_son[0]["state"], "MISSING",
        "a draft stays private to its agency"
    );
    assert_eq!(tay_son[0]["submission"], Value::Null);
    assert_eq!(tay_son[1]["state"], "SUBMITTED");
    // Only tenant agencies report: no ministry, no provincial People's Committee.
    assert!(all.iter().all(|o| {
        !["bo-noi-vu", "ubnd-tinh", "mttq-tinh"].contains(&o["agency"]["code"].as_str().unwrap())
    }));
    let i1 = all.iter().filter(|o| label(o) == "I.1").count();
    assert_eq!(i1, 11, "I.1 is led by the 11 district-level units");

    // An agency that ended before the period's reports fell due (the day after it) owes
    // nothing for it; it still owes the reports due while it existed.
    agency::Entity::update_many()
        .col_expr(
            agency::Column::ValidTo,
            Expr::value(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()),
        )
        .filter(agency::Column::Code.eq("ubnd-an-lao"))
        .exec(&app.db)
        .await
        .unwrap();
    let after = obligations(&coordinator, "2024", None).await;
    assert!(after.iter().all(|o| o["agency"]["code"] != "ubnd-an-lao"));
    assert_eq!(after.len(), all.len() - 6);
    assert_eq!(
        obligations(&coordinator, "2023", Some("ubnd-an-lao"))
            .await
            .len(),
        6,
        "it still owed 2023"
    );

    assert!(
        obligations(&tayson, "2021-2025", None).await.is_empty(),
        "a phase has no reporting window, so nothing is owed for it"
    );
    assert!(
        obligations(&tayson, "2026", None).await.is_empty(),
        "nor is anything owed for a period whose window is not open"
    );
}

async fn progress_rows(client: &Client<'_>, period: Option<&str>, group: &str) -> Vec<Value> {
    let reply = client
        .graphql(
            "query($plan: String!, $p: String, $g: ProgressGroup!) { progress(planCode: $plan, periodCode: $p, groupBy: $g) {
               group agency { code } section { numeral } task { number } period { code }
               expected submitted accepted returned onTime notStarted inProgress completed completeness timeliness } }",
            json!({ "plan": PLAN, "p": period, "g": group }),
        )
        .await;
    reply.data()["progress"].as_array().unwrap().clone()
}

fn total(rows: &[Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap()).sum()
}

async fn progress_counts_what_the_caller_may_see(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let anlao = app.client("anlao").await;
    let coordinator = app.client("coordinator").await;
    draft(&tayson, &task_id(&app, "I", Some(1)).await, "2024", "draft").await;
    submission_in(
        &app,
        &tayson,
        &task_id(&app, "I", Some(2)).await,
        "2024",
        "ACCEPTED",
    )
    .await;
    submission_in(
        &app,
        &tayson,
        &task_id(&app, "II", Some(1)).await,
        "2024",
        "SUBMITTED",
    )
    .await;
    submission_in(
        &app,
        &anlao,
        &task_id(&app, "I", Some(2)).await,
        "2024",
        "RETURNED",
    )
    .await;
    // A partner's report (An Lão on I.3) is welcome but not expected: it must not count.
    let i3 = task_id(&app, "I", Some(3)).await;
    let (id, version) = draft(&anlao, &i3, "2024", "partner").await;
    field(&submit(&anlao, &id, version).await, "submitSubmission");

    let by_agency = progress_rows(&coordinator, Some("2024"), "AGENCY").await;
    let obligations_count = obligations(&coordinator, "2024", None).await.len() as i64;
    assert_eq!(
        total(&by_agency, "expected"),
        obligations_count,
        "aggregates agree with obligations"
    );
    let tay_son = by_agency
        .iter()
        .find(|r| r["agency"]["code"] == "ubnd-tay-son")
        .unwrap();
    assert_eq!(
        (
            tay_son["expected"].as_i64(),
            tay_son["submitted"].as_i64(),
            tay_son["accepted"].as_i64(),
            tay_son["onTime"].as_i64()
        ),
        (Some(6), Some(1), Some(1), Some(2))
    );
    assert_eq!(
        tay_son["inProgress"], 2,
        "the draft's progress is not the coordinator's to see"
    );
    assert!((tay_son["completeness"].as_f64().unwrap() - 2.0 / 6.0).abs() < 1e-9);
    assert_eq!(tay_son["timeliness"], 1.0);
    let an_lao = by_agency
        .iter()
        .find(|r| r["agency"]["code"] == "ubnd-an-lao")
        .unwrap();
    assert_eq!(
        (an_lao["returned"].as_i64(), an_lao["submitted"].as_i64()),
        (Some(1), Some(0)),
        "partner report not counted"
    );
    assert!(
        by_agency
            .iter()
            .all(|r| r["completeness"].as_f64().unwrap() <= 1.0)
    );

    for group in ["SECTION", "TASK", "PERIOD"] {
        let rows = progress_rows(&coordinator, Some("2024"), group).await;
        for field in ["expected", "submitted", "accepted", "returned", "onTime"] {
            assert_eq!(
                total(&rows, field),
                total(&by_agency, field),
                "{group} {field}"
            );
        }
    }
    let sections = progress_rows(&coordinator, Some("2024"), "SECTION").await;
    assert_eq!(
        sections
            .iter()
            .map(|r| r["section"]["numeral"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["I", "II", "III", "IV", "V", "TCTH"]
    );
    assert_eq!(
        progress_rows(&coordinator, None, "PERIOD").await,
        progress_rows(&coordinator, Some("2024"), "PERIOD").await
    );

    // A district's aggregates cover only its own reports, its draft included.
    let own = progress_rows(&tayson, Some("2024"), "AGENCY").await;
    assert_eq!(own.len(), 1);
    assert_eq!(
        (own[0]["expected"].as_i64(), own[0]["inProgress"].as_i64()),
        (Some(6), Some(3))
    );
    let own_sections = progress_rows(&tayson, Some("2024"), "SECTION").await;
    assert_eq!(total(&own_sections, "expected"), 6);
    // An analyst sees every non-draft report, like the coordinator.
    let analyst = progress_rows(&app.client("analyst").await, Some("2024"), "AGENCY").await;
    assert_eq!(analyst, by_agency);

    // A returned report edited and resubmitted moves from returned to submitted.
    let i2 = task_id(&app, "I", Some(2)).await;
    let reply = save(
        &anlao,
        json!({ "taskId": i2, "periodCode": "2024", "expectedVersion": 3, "summary": "fixed" }),
    )
    .await;
    let s = field(&reply, "saveSubmission").clone();
    field(
        &submit(
            &anlao,
            s["id"].as_str().unwrap(),
            s["version"].as_i64().unwrap(),
        )
        .await,
        "submitSubmission",
    );
    let an_lao = progress_rows(&coordinator, Some("2024"), "AGENCY")
        .await
        .into_iter()
        .find(|r| r["agency"]["code"] == "ubnd-an-lao")
        .unwrap();
    assert_eq!(
        (an_lao["returned"].as_i64(), an_lao["submitted"].as_i64()),
        (Some(0), Some(1))
    );
}

/// A condition on the period, alone or among others that must all hold, narrows what is
/// owed before it meets the reports (`Confined`): the answer is the whole list's, filtered.
async fn a_period_condition_leaves_what_filtering_the_list_would(app: TestApp) {
    tay_son_reports(&app).await;
    let coordinator = app.client("coordinator").await;
    let coordinator = &coordinator;
    let list = |filter: Value| async move {
        every_node(
            coordinator,
            "query($f: ObligationFilter, $after: String) {
               obligations(filter: $f, first: 100, after: $after) {
                 edges { node { agency { code } task { id } period { code } state } }
                 pageInfo { hasNextPage endCursor } } }",
            json!({ "f": filter }),
            "obligations",
        )
        .await
    };
    let all = list(json!({})).await;
    let of = |keep: &dyn Fn(&str, &str) -> bool| -> Vec<Value> {
        all.iter()
            .filter(|o| {
                keep(
                    o["period"]["code"].as_str().unwrap(),
                    o["state"].as_str().unwrap(),
                )
            })
            .cloned()
            .collect()
    };
    assert!(of(&|p, _| p == "2023").len() > 10 && of(&|p, _| p == "2024").len() > 10);
    assert_eq!(
        of(&|p, s| p == "2024" && s == "SUBMITTED").len(),
        1,
        "Tây Sơn's report"
    );
    let cases = [
        (
            json!({ "period": { "code": { "equalTo": "2024" } } }),
            of(&|p, _| p == "2024"),
        ),
        (
            json!({ "period": { "code": { "in": ["2023", "2024"] } } }),
            all.clone(),
        ),
        (
            json!({ "and": [{ "period": { "code": { "notEqualTo": "2024" } } },
                            { "state": { "equalTo": "MISSING" } }] }),
            of(&|p, s| p != "2024" && s == "MISSING"),
        ),
        (
            json!({ "period": { "code": { "equalTo": "2024" } }, "state": { "equalTo": "SUBMITTED" } }),
            of(&|p, s| p == "2024" && s == "SUBMITTED"),
        ),
        (
            json!({ "or": [{ "period": { "code": { "equalTo": "2023" } } },
                           { "state": { "equalTo": "SUBMITTED" } }] }),
            of(&|p, s| p == "2023" || s == "SUBMITTED"),
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(list(filter.clone()).await, expected, "{filter}");
    }
}

on_both_databases!(
    a_district_sees_its_obligations,
    a_period_condition_leaves_what_filtering_the_list_would,
    progress_counts_what_the_caller_may_see
);
