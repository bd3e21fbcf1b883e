//! More than one plan in a database: a second province's plan loads from a file (after a
//! dry run), and neither plan's coordinator or tenants see anything of the other's.
use plantrack::service::seed;
use serde_json::{Value, json};

use crate::{
    fixtures::{PLAN, every_node, field, led_tasks, new_user, open_window, review, save, submit},
    on_both_databases,
    support::{Client, TestApp},
};

/// A second province's plan, with its code.
pub const SECOND: &str = include_str!("../data/plan-second-province.toml");
pub const SECOND_CODE: &str = "99/KH-TN";

async fn open(coordinator: &Client<'_>, plan: &str) -> crate::support::Reply {
    coordinator
        .graphql(
            "mutation($p: String!) { openReportingWindow(input: { planCode: $p, periodCode: \"2026\",
                opensAt: \"2026-01-01T00:00:00Z\", dueAt: \"2099-01-15T00:00:00Z\", closesAt: \"2099-02-01T00:00:00Z\" }) { isOpen } }",
            json!({ "p": plan }),
        )
        .await
}

/// A submitted report of `client`'s agency on its first led task of `plan` for 2026.
async fn report(client: &Client<'_>, agency: &str, plan: &str) -> String {
    let reply = client
        .graphql(
            "query($a: String!, $p: String!) { tasks(first: 100, filter: { leadAgencies: { some: { code: { equalTo: $a } } }, plan: { code: { equalTo: $p } } }) { edges { node { id } } } }",
            json!({ "a": agency, "p": plan }),
        )
        .await;
    let task = reply.data()["tasks"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a led task")
        .to_owned();
    let saved = save(
        client,
        json!({ "taskId": task, "periodCode": "2026", "summary": format!("{agency} 2026") }),
    )
    .await;
    let id = field(&saved, "saveSubmission")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    field(&submit(client, &id, 1).await, "submitSubmission");
    id
}

/// Whether `client` can read the node `id`.
async fn sees(client: &Client<'_>, id: &str) -> bool {
    let reply = client
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    reply.data()["node"] != Value::Null
}

async fn count(client: &Client<'_>, query: &str, variables: Value, path: &[&str]) -> Value {
    let reply = client.graphql(query, variables).await;
    let mut value = reply.data().clone();
    for key in path {
        value = value[*key].clone();
    }
    value
}

async fn a_second_plan_coexists_without_either_seeing_the_other(app: TestApp) {
    let owner = app.owner_db().await;
    // A dry run says what would happen and writes nothing.
    let dry = seed::import(&owner, SECOND, true).await.expect("dry run");
    assert!(
        dry.plan_loaded && dry.tasks_added == 2 && dry.agencies_added == 5,
        "{dry:?}"
    );
    let plan = "query($p: String!) { plan(code: $p) { code coordinator { code } } }";
    assert_eq!(
        app.graphql(plan, json!({ "p": SECOND_CODE })).await.data()["plan"],
        Value::Null
    );
    // Its codes are 768's ("ubnd-tinh", "so-tai-chinh") in another jurisdiction. The same
    // file read in Bình Định's jurisdiction clashes with 768's agencies and stops,
    // writing nothing.
    let clash = SECOND.replace(
        "jurisdiction = \"thu-nghiem\"",
        "jurisdiction = \"binh-dinh\"",
    );
    let refused = seed::import(&owner, &clash, false)
        .await
        .expect_err("a code clash");
    assert!(
        refused.to_string().contains("`ubnd-tinh` already names"),
        "{refused}"
    );
    assert_eq!(
        app.graphql(plan, json!({ "p": SECOND_CODE })).await.data()["plan"],
        Value::Null
    );
    let national = SECOND.replace("jurisdiction = \"thu-nghiem\"", "jurisdiction = \"vn\"");
    let refused = seed::import(&owner, &national, true)
        .await
        .expect_err("a plan of the national bodies' jurisdiction");
    assert!(refused.to_string().contains("national"), "{refused}");
    let loaded = seed::import(&owner, SECOND, false).await.expect("import");
    assert_eq!((loaded.tasks_added, loaded.agencies_reused.len()), (2, 0));
    let again = seed::import(&owner, SECOND, false).await.expect("twice");
    assert!(!again.plan_loaded && again.tasks_added == 0);

    // The second plan's open group is its own communes, not Bình Định's districts.
    let leads = app
        .graphql(
            "query($p: String!) { tasks(first: 10, filter: { plan: { code: { equalTo: $p } } }) { edges { node { leadAgencies { code } } } } }",
            json!({ "p": SECOND_CODE }),
        )
        .await;
    assert_eq!(
        leads.data()["tasks"]["edges"][0]["node"]["leadAgencies"],
        json!([{ "code": "xa-dong" }, { "code": "xa-tay" }])
    );

    // A code two jurisdictions use is written with its jurisdiction; a bare one is
    // refused with the ways to write it, and a code of one jurisdiction only needs none.
    let admin = app.client("admin").await;
    let agency = "query($c: String!) { agency(code: $c) { code jurisdiction name } }";
    let bare = admin.graphql(agency, json!({ "c": "so-tai-chinh" })).await;
    assert_eq!(bare.error_code(), Some("BAD_USER_INPUT"), "{}", bare.body);
    assert!(
        bare.body
            .to_string()
            .contains("binh-dinh/so-tai-chinh, thu-nghiem/so-tai-chinh"),
        "{}",
        bare.body
    );
    let theirs = admin
        .graphql(agency, json!({ "c": "thu-nghiem/so-tai-chinh" }))
        .await;
    assert_eq!(
        theirs.data()["agency"],
        json!({ "code": "so-tai-chinh", "jurisdiction": "thu-nghiem", "name": "Sở Tài chính tỉnh Thử Nghiệm" })
    );
    let ours = admin
        .graphql(agency, json!({ "c": "binh-dinh/so-tai-chinh" }))
        .await;
    assert_eq!(ours.data()["agency"]["jurisdiction"], "binh-dinh");
    let national = admin.graphql(agency, json!({ "c": "bo-ldtbxh" })).await;
    assert_eq!(national.data()["agency"]["jurisdiction"], "vn");
    let created = admin
        .graphql(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { username } }",
            json!({ "i": { "username": "tc-bare", "agency": "ubnd-tinh", "role": "VIEWER", "password": crate::support::PASSWORD } }),
        )
        .await;
    assert_eq!(
        created.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        created.body
    );
    let plans = admin
        .graphql(
            "query($p: String!) { plan(code: $p) { jurisdiction } }",
            json!({ "p": SECOND_CODE }),
        )
        .await;
    assert_eq!(plans.data()["plan"]["jurisdiction"], "thu-nghiem");
    let counted = admin
        .graphql(
            "{ agencies(filter: { code: { equalTo: \"so-tai-chinh\" } }) { totalCount }
               theirs: agencies(filter: { jurisdiction: { equalTo: \"thu-nghiem\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(counted.data()["agencies"]["totalCount"], 2);
    assert_eq!(counted.data()["theirs"]["totalCount"], 5);

    let coordinator = app.client("coordinator").await;
    let second_coordinator = new_user(
        &app,
        &admin,
        "tn-coordinator",
        "thu-nghiem/so-nnmt",
        "COORDINATOR",
    )
    .await;
    let commune = new_user(&app, &admin, "tn-dong", "xa-dong", "EDITOR").await;
    // Near its own jurisdiction, a bare code is never another province's agency.
    let foreign = second_coordinator
        .graphql(
            "mutation { setAgencyGroupMembers(group: \"cac-xa\", agencies: [\"xa-dong\", \"ubnd-tay-son\"]) { code } }",
            json!({}),
        )
        .await;
    assert_eq!(
        foreign.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        foreign.body
    );
    assert!(
        foreign.body.to_string().contains("ubnd-tay-son"),
        "{}",
        foreign.body
    );
    // Each coordinator manages its own plan's windows only.
    assert_eq!(
        open(&second_coordinator, PLAN).await.error_code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        open(&coordinator, SECOND_CODE).await.error_code(),
        Some("FORBIDDEN")
    );
    open(&coordinator, PLAN).await.data();
    open(&second_coordinator, SECOND_CODE).await.data();
    let outside = second_coordinator
        .graphql(
            "mutation($p: String!) { openReportingWindow(input: { planCode: $p, periodCode: \"2024\",
                opensAt: \"2026-01-01T00:00:00Z\", dueAt: \"2099-01-15T00:00:00Z\", closesAt: \"2099-02-01T00:00:00Z\" }) { isOpen } }",
            json!({ "p": SECOND_CODE }),
        )
        .await;
    assert_eq!(
        outside.error_code(),
        Some("BAD_USER_INPUT"),
        "2024 is before the second plan's years: {}",
        outside.body
    );

    let tayson = app.client("tayson").await;
    assert!(!led_tasks(&tayson, "ubnd-tay-son").await.is_empty());
    let binh_dinh = report(&tayson, "ubnd-tay-son", PLAN).await;
    let second = report(&commune, "xa-dong", SECOND_CODE).await;

    assert!(sees(&second_coordinator, &second).await);
    assert!(
        !sees(&second_coordinator, &binh_dinh).await,
        "768's report is not the second plan's"
    );
    assert!(sees(&coordinator, &binh_dinh).await);
    assert!(
        !sees(&coordinator, &second).await,
        "the second plan's report is not 768's"
    );
    assert!(!sees(&commune, &binh_dinh).await && !sees(&tayson, &second).await);

    let submissions = "{ submissions { totalCount } }";
    assert_eq!(
        count(
            &second_coordinator,
            submissions,
            json!({}),
            &["submissions", "totalCount"]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &coordinator,
            submissions,
            json!({}),
            &["submissions", "totalCount"]
        )
        .await,
        1
    );
    let owed = "query($p: String!) { obligations(filter: { plan: { code: { equalTo: $p } } }) { totalCount } }";
    assert_eq!(
        count(
            &second_coordinator,
            owed,
            json!({ "p": PLAN }),
            &["obligations", "totalCount"]
        )
        .await,
        0,
        "it surveys nothing of 768"
    );
    assert_eq!(
        count(
            &second_coordinator,
            owed,
            json!({ "p": SECOND_CODE }),
            &["obligations", "totalCount"]
        )
        .await,
        3,
        "two communes on I.1 and the finance department on II.1"
    );
    assert_eq!(
        count(
            &coordinator,
            owed,
            json!({ "p": SECOND_CODE }),
            &["obligations", "totalCount"]
        )
        .await,
        0
    );

    // The Ministry receives 768's reports: a viewer of it reads them, read-only, and
    // nothing of the second plan, nor any draft.
    let ministry = new_user(&app, &admin, "bo-viewer", "bo-ldtbxh", "VIEWER").await;
    let editor = admin
        .graphql(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { username } }",
            json!({ "i": { "username": "bo-editor", "agency": "bo-ldtbxh", "role": "EDITOR", "password": crate::support::PASSWORD } }),
        )
        .await;
    assert_eq!(editor.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        editor.body.to_string().contains("VIEWER staff only"),
        "{}",
        editor.body
    );
    let recipients = ministry
        .graphql(
            "query($p: String!) { plan(code: $p) { recipients { code } } }",
            json!({ "p": PLAN }),
        )
        .await;
    assert_eq!(
        recipients.data()["plan"]["recipients"],
        json!([{ "code": "ubnd-tinh" }, { "code": "bo-ldtbxh" }])
    );
    assert!(
        sees(&ministry, &binh_dinh).await,
        "768 reports to the Ministry"
    );
    assert!(!sees(&ministry, &second).await, "the second plan does not");
    let anlao = app.client("anlao").await;
    let task = led_tasks(&anlao, "ubnd-an-lao").await[0].clone();
    let draft = save(
        &anlao,
        json!({ "taskId": task, "periodCode": "2026", "summary": "bản nháp" }),
    )
    .await;
    let draft = field(&draft, "saveSubmission")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !sees(&ministry, &draft).await,
        "drafts never leave their agency"
    );
    assert_eq!(
        count(
            &ministry,
            owed,
            json!({ "p": PLAN }),
            &["obligations", "totalCount"]
        )
        .await,
        count(
            &coordinator,
            owed,
            json!({ "p": PLAN }),
            &["obligations", "totalCount"]
        )
        .await,
        "it surveys what 768 owes, as its coordinator does"
    );
    let review = review(&ministry, &binh_dinh, 2, "ACCEPT", None).await;
    assert_eq!(review.error_code(), Some("FORBIDDEN"), "{}", review.body);
}

on_both_databases!(a_second_plan_coexists_without_either_seeing_the_other);

/// Obligations of a period on the duties of the decision's body, as (task number, agency
/// code), sorted.
async fn body_duties_owed(client: &Client<'_>, period: &str) -> Vec<(i64, String)> {
    let nodes = every_node(
        client,
        "query($p: String!, $after: String) { obligations(first: 100, after: $after, filter: {
            period: { code: { equalTo: $p } }, task: { section: { part: { equalTo: BODY } } } }) {
            edges { node { agency { code } task { number } } }
            pageInfo { hasNextPage endCursor } } }",
        json!({ "p": period }),
        "obligations",
    )
    .await;
    let mut owed: Vec<(i64, String)> = nodes
        .iter()
        .map(|o| {
            (
                o["task"]["number"].as_i64().unwrap(),
                o["agency"]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    owed.sort();
    owed
}

/// Section III of 768's decision gives duties beside the appendix: each department and
/// district owes its implementation plan once, for 2022, and the coordinator owes the
/// consolidated report every period, which the recipients read once it is submitted.
/// The coordinator's duty follows the coordination when the 2025 reorganization hands it
/// on.
async fn the_decision_body_gives_duties_of_its_own(app: TestApp) {
    for period in ["2022", "2022S1", "2024", "2025S2"] {
        open_window(&app, period, 48).await.data();
    }
    let analyst = app.client("analyst").await;
    let agencies = analyst
        .graphql(
            "{ agencies(first: 100, filter: { isTenant: { equalTo: true } }) { edges { node { code kind } } } }",
            json!({}),
        )
        .await;
    let of_kind = |kind: &str| -> Vec<String> {
        let mut codes: Vec<String> = agencies.data()["agencies"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["kind"] == kind)
            .map(|e| e["node"]["code"].as_str().unwrap().to_owned())
            .collect();
        codes.sort();
        codes
    };
    let (departments, districts) = (of_kind("DEPARTMENT"), of_kind("DISTRICT"));
    assert!(
        departments.len() > 5 && districts.len() == 11,
        "{}",
        agencies.body
    );

    // 2022, the year the decision took effect: every department's (III.1) and district's
    // (III.5) implementation plan, and the coordinator's consolidated report (III.3).
    let mut expected: Vec<(i64, String)> = departments.iter().map(|d| (1, d.clone())).collect();
    expected.push((3, "so-ldtbxh".to_owned()));
    expected.extend(districts.iter().map(|d| (5, d.clone())));
    expected.sort();
    assert_eq!(body_duties_owed(&analyst, "2022").await, expected);
    // An implementation plan is owed once: not again for a half of 2022, nor in 2024.
    for period in ["2022S1", "2024"] {
        assert_eq!(
            body_duties_owed(&analyst, period).await,
            [(3, "so-ldtbxh".to_owned())],
            "{period}"
        );
    }

    // The consolidated report stands for today's coordinator, by a group whose members
    // nobody sets.
    let duty = analyst
        .graphql(
            "{ tasks(first: 10, filter: { section: { part: { equalTo: BODY } }, number: { equalTo: 3 } }) {
                edges { node { id schedule section { numeral part } leadAgencies { code }
                  assignments { group { code expandsTo members { code } } } } } } }",
            json!({}),
        )
        .await;
    let task = &duty.data()["tasks"]["edges"][0]["node"];
    assert_eq!(
        task["section"],
        json!({ "numeral": "TCTH", "part": "BODY" }),
        "{}",
        duty.body
    );
    assert_eq!(task["schedule"], "ANNUAL");
    assert_eq!(task["leadAgencies"], json!([{ "code": "so-ldtbxh" }]));
    assert_eq!(
        task["assignments"][0]["group"],
        json!({ "code": "dieu-phoi-768", "expandsTo": "PLAN_COORDINATOR", "members": [{ "code": "so-ldtbxh" }] })
    );
    let task = task["id"].as_str().unwrap().to_owned();
    let admin = app.client("admin").await;
    let set = admin
        .graphql(
            "mutation { setAgencyGroupMembers(group: \"dieu-phoi-768\", agencies: [\"so-tttt\"]) { code } }",
            json!({}),
        )
        .await;
    assert_eq!(set.error_code(), Some("BAD_USER_INPUT"), "{}", set.body);

    // The coordinator writes the consolidated report for 2024; the plan's recipients read
    // it once submitted, never the draft; a district does not.
    let coordinator = app.client("coordinator").await;
    let saved = save(
        &coordinator,
        json!({ "taskId": task, "periodCode": "2024", "summary": "Báo cáo tổng hợp năm 2024" }),
    )
    .await;
    let report = field(&saved, "saveSubmission")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ministry = new_user(&app, &admin, "bo-viewer", "bo-ldtbxh", "VIEWER").await;
    assert!(
        !sees(&ministry, &report).await,
        "a draft stays with its agency"
    );
    field(&submit(&coordinator, &report, 1).await, "submitSubmission");
    assert!(
        sees(&ministry, &report).await,
        "the Ministry reads the consolidated report"
    );
    let tayson = app.client("tayson").await;
    assert!(!sees(&tayson, &report).await, "a district does not");
    let refused = save(
        &tayson,
        json!({ "taskId": task, "periodCode": "2024", "summary": "not ours" }),
    )
    .await;
    assert!(
        refused.error_code().is_some(),
        "only the coordinator owes it: {}",
        refused.body
    );
    // An implementation plan is reported for 2022 only: not for a half of it, nor 2024.
    let plan_task = led_tasks(&tayson, "ubnd-tay-son")
        .await
        .last()
        .unwrap()
        .clone();
    for period in ["2022S1", "2024"] {
        let late = save(
            &tayson,
            json!({ "taskId": plan_task, "periodCode": period, "summary": "kế hoạch" }),
        )
        .await;
        assert_eq!(
            late.error_code(),
            Some("BAD_USER_INPUT"),
            "{period}: {}",
            late.body
        );
    }
    field(
        &save(
            &tayson,
            json!({ "taskId": plan_task, "periodCode": "2022", "summary": "kế hoạch" }),
        )
        .await,
        "saveSubmission",
    );
    // The group's members, in filters too, are today's coordinator.
    let in_group = analyst
        .graphql(
            "{ agencies(filter: { groups: { some: { code: { equalTo: \"dieu-phoi-768\" } } } }) { edges { node { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        in_group.data()["agencies"]["edges"],
        json!([{ "node": { "code": "so-ldtbxh" } }])
    );

    // DOLISA ends on 28 Feb 2025 and the coordination passes to the Sở NN&MT: so does the
    // consolidated report, from 2025; what 2022 and 2024 owed stays.
    let owed_2024 = body_duties_owed(&analyst, "2024").await;
    let owner = app.owner_db().await;
    plantrack::service::reorganization::apply_file(
        &owner,
        plantrack::service::reorganization::REORGANIZATION_2025,
    )
    .await
    .expect("the 2025 file loads");
    plantrack::service::sign_ins::forget_all();
    assert_eq!(body_duties_owed(&analyst, "2022").await, expected);
    assert_eq!(body_duties_owed(&analyst, "2024").await, owed_2024);
    assert!(
        body_duties_owed(&analyst, "2025S2")
            .await
            .contains(&(3, "so-nnmt".to_owned())),
        "the new coordinator consolidates 2025"
    );
    let members = analyst
        .graphql(
            "{ tasks(first: 10, filter: { section: { part: { equalTo: BODY } }, number: { equalTo: 3 } }) {
                edges { node { leadAgencies { code } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        members.data()["tasks"]["edges"][0]["node"]["leadAgencies"],
        json!([{ "code": "so-nnmt" }])
    );
}

on_both_databases!(the_decision_body_gives_duties_of_its_own);

/// A database that holds 768 as it was loaded before its body's duties were transcribed
/// (and before jurisdictions: its codes unmarked) gets them when the built-in plan is
/// loaded again (as `serve` does at each start), once, on its own agencies, and without
/// changing what a closed period owed.
async fn a_database_loaded_before_the_body_duties_gets_them(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (url, owner_url) = app.empty_database(dir.path()).await;
    let owner = plantrack::db::connect(&owner_url, 1).await.unwrap();
    let body = seed::PLAN_768
        .find("\n[[sections]]\nnumeral = \"TCTH\"")
        .expect("768's body section");
    // The file as it was: without the body, nor the group standing for the coordinator.
    let group = seed::PLAN_768
        .find("[[groups]]\ncode = \"dieu-phoi-768\"")
        .expect("the coordinator's group");
    let group_end = group
        + seed::PLAN_768[group..]
            .find("\n\n")
            .expect("the group's end");
    let before = format!(
        "{}{}",
        &seed::PLAN_768[..group],
        &seed::PLAN_768[group_end..body]
    );
    let earlier = seed::import(&owner, &before, false)
        .await
        .expect("768 without its body");
    assert_eq!(earlier.tasks_added, 20);
    // As a database with another plan beside 768 was migrated: no jurisdictions.
    for table in ["agency", "agency_group", "plan"] {
        use sea_orm::ConnectionTrait;
        owner
            .execute_unprepared(&format!("UPDATE {table} SET jurisdiction = ''"))
            .await
            .unwrap();
    }
    // 2022's window has closed.
    let (plan_id, period_id) = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let plan = entity::plan::Entity::find()
            .one(&owner)
            .await
            .unwrap()
            .unwrap();
        let period = entity::period::Entity::find()
            .filter(entity::period::Column::Code.eq("2022"))
            .one(&owner)
            .await
            .unwrap()
            .unwrap();
        (plan.id, period.id)
    };
    let past = |day: &str| {
        chrono::DateTime::parse_from_rfc3339(day)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    sea_orm::EntityTrait::insert(entity::reporting_window::ActiveModel {
        plan_id: sea_orm::Set(plan_id),
        period_id: sea_orm::Set(period_id),
        opens_at: sea_orm::Set(past("2023-01-01T00:00:00Z")),
        due_at: sea_orm::Set(past("2023-01-15T00:00:00Z")),
        closes_at: sea_orm::Set(past("2023-01-31T00:00:00Z")),
        reopened: sea_orm::Set(false),
        created_at: sea_orm::Set(past("2023-01-01T00:00:00Z")),
        updated_at: sea_orm::Set(past("2023-01-01T00:00:00Z")),
        ..Default::default()
    })
    .exec(&owner)
    .await
    .unwrap();
    let upgraded = seed::load(&owner, seed::PLAN_768).await.expect("upgrade");
    assert!(
        !upgraded.plan_loaded
            && upgraded.tasks_added == 3
            && upgraded.agencies_added == 0
            && upgraded.groups_added == 1,
        "the duties go to the plan's own agencies: {upgraded:?}"
    );
    assert!(
        upgraded
            .to_string()
            .contains("added the sections it lacked")
    );
    let again = seed::load(&owner, seed::PLAN_768).await.expect("again");
    assert_eq!(again.tasks_added, 0, "{again:?}");
    crate::support::add_test_users(&owner).await;
    owner.close().await.unwrap();
    let upgraded_app = TestApp::at(&url).await;
    let query = "query($p: String!) { plan(code: $p) { sections { numeral part tasks { number position } } } }";
    let sections = upgraded_app.graphql(query, json!({ "p": PLAN })).await;
    let sections = sections.data()["plan"]["sections"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sections.len(), 6);
    assert_eq!(
        sections[5],
        json!({ "numeral": "TCTH", "part": "BODY", "tasks": [
            { "number": 1, "position": 21 }, { "number": 3, "position": 22 }, { "number": 5, "position": 23 } ] })
    );
    let ours = app.graphql(query, json!({ "p": PLAN })).await;
    assert_eq!(
        ours.data()["plan"]["sections"][5],
        sections[5],
        "as a new database has them"
    );
    // The closed 2022 owes what it owed: the duties start after it.
    let analyst = upgraded_app.client("analyst").await;
    assert_eq!(body_duties_owed(&analyst, "2022").await, []);
    let leads = upgraded_app
        .graphql(
            "{ tasks(first: 5, filter: { section: { part: { equalTo: BODY } }, number: { equalTo: 5 } }) {
                edges { node { assignments { validFrom group { code jurisdiction } } leadAgencies { code } } } } }",
            json!({}),
        )
        .await;
    let node = &leads.data()["tasks"]["edges"][0]["node"];
    assert_eq!(
        node["assignments"],
        json!([{ "validFrom": "2023-01-02", "group": { "code": "ubnd-cac-huyen", "jurisdiction": "" } }])
    );
    assert_eq!(node["leadAgencies"].as_array().unwrap().len(), 11);
}

on_both_databases!(a_database_loaded_before_the_body_duties_gets_them);

/// The first admin of an empty database belongs to the built-in plan's issuer, even when
/// another province's plan uses its code ("ubnd-tinh") too.
async fn the_first_admin_is_made_beside_another_province(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (_, owner_url) = app.empty_database(dir.path()).await;
    let owner = plantrack::db::connect(&owner_url, 1).await.unwrap();
    seed::load(&owner, seed::PLAN_768).await.unwrap();
    seed::import(&owner, SECOND, false).await.unwrap();
    let issuer = seed::built_in_issuer(&owner).await.unwrap();
    assert_eq!(issuer, "binh-dinh/ubnd-tinh");
    let password = plantrack::service::auth::ensure_first_admin(&owner, &issuer)
        .await
        .expect("the first admin");
    assert!(password.is_some());
    owner.close().await.unwrap();
}

on_both_databases!(the_first_admin_is_made_beside_another_province);
