//! More than one plan in a database: a second province's plan loads from a file (after a
//! dry run), and neither plan's coordinator or tenants see anything of the other's.
use plantrack::service::seed;
use serde_json::{Value, json};

use crate::{
    fixtures::{PLAN, field, led_tasks, new_user, review, save, submit},
    on_both_databases,
    support::{Client, TestApp},
};

const SECOND: &str = include_str!("../data/plan-second-province.toml");
const SECOND_CODE: &str = "99/KH-TN";

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
    // A file that reuses another plan's code for a different agency stops, writing nothing.
    let clash = SECOND.replace("code = \"tn-so-tai-chinh\"", "code = \"so-tai-chinh\"");
    let refused = seed::import(&owner, &clash, false)
        .await
        .expect_err("a code clash");
    assert!(refused.to_string().contains("so-tai-chinh"), "{refused}");
    assert_eq!(
        app.graphql(plan, json!({ "p": SECOND_CODE })).await.data()["plan"],
        Value::Null
    );
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
        json!([{ "code": "tn-xa-dong" }, { "code": "tn-xa-tay" }])
    );

    let admin = app.client("admin").await;
    let coordinator = app.client("coordinator").await;
    let second_coordinator =
        new_user(&app, &admin, "tn-coordinator", "tn-so-nnmt", "COORDINATOR").await;
    let commune = new_user(&app, &admin, "tn-dong", "tn-xa-dong", "EDITOR").await;
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

    let tayson = app.client("tayson").await;
    assert!(!led_tasks(&tayson, "ubnd-tay-son").await.is_empty());
    let binh_dinh = report(&tayson, "ubnd-tay-son", PLAN).await;
    let second = report(&commune, "tn-xa-dong", SECOND_CODE).await;

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
