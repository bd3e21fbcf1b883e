//! Loader batches hold under load: a request runs the same statements whether it is alone
//! or one of 64 at once on a pool of five connections.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use plantrack::service::{seed, sign_ins};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    fixtures::{led_tasks, open_window, submission_in},
    on_both_databases,
    plans::{SECOND, SECOND_CODE},
    support::TestApp,
};

/// Every agency (more than async-graphql resolves in one pass of a list) and a page of
/// reports, with relations three levels down, as a dashboard asks. Each loader serves one
/// field of the query, so that its batches cannot merge across branches: alone or among
/// 64, a request runs one statement per level of each branch.
const DASHBOARD: &str = "{ agencies(first: 100) { edges { node { code groups { code }
        ledTasks { number deliverables { description } } } } }
    submissions(first: 50) { edges { node { id status
        agency { code name }
        period { code startsOn }
        task { number leadAgencies { code } section { numeral plan { code } } }
        deliverables { status deliverable { description } }
        history { action } } } } }";

/// Sends `clients` copies of the dashboard at once; the statements they ran in all, and
/// the report ids of one answer.
async fn at_once(app: &TestApp, token: &str, clients: usize) -> (usize, Vec<String>) {
    let before = app.statement_count();
    // Other work holds the runtime's workers a few milliseconds at a time, as building
    // big answers does on a busy server: a request woken by its loaders then waits its
    // turn, and batching must not depend on how soon it gets one.
    let done = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|worker| {
            let done = done.clone();
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_micros(1_000 + worker * 1_500));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let body = json!({ "query": DASHBOARD }).to_string();
    let requests: Vec<_> = (0..clients)
        .map(|_| {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(body.clone()))
                .unwrap();
            tokio::spawn(app.router.clone().oneshot(request))
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        let response = request.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let reply: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(reply.get("errors").is_none(), "{reply}");
        answers.push(reply);
    }
    done.store(true, Ordering::Relaxed);
    for worker in busy {
        worker.await.unwrap();
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every copy sees the same page"
    );
    let ids = answers[0]["data"]["submissions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    (app.statement_count() - before, ids)
}

/// Three reports of each of two districts, in three states, that the analyst sees.
async fn six_reports(app: &TestApp) {
    open_window(app, "2024", 48).await.data();
    for (user, agency) in [("tayson", "ubnd-tay-son"), ("anlao", "ubnd-an-lao")] {
        let editor = app.client(user).await;
        for (task, status) in
            led_tasks(&editor, agency)
                .await
                .iter()
                .zip(["SUBMITTED", "ACCEPTED", "RETURNED"])
        {
            submission_in(app, &editor, task, "2024", status).await;
        }
    }
}

async fn statements_per_request_do_not_grow_with_concurrency(app: TestApp) {
    six_reports(&app).await;
    let token = app.login("analyst").await;

    // A sign-in checked in the last second is not read again (`sign_ins`): each count
    // starts from none kept, and the requests that find one kept run fewer statements.
    sign_ins::forget_all();
    let (first, ids) = at_once(&app, &token, 1).await;
    assert_eq!(ids.len(), 6, "the analyst sees the six reports");
    // One statement per row would be over 44 for the agencies alone.
    assert!(first < 30, "{first} statements for the dashboard");
    // The user and the scope of its agency: what a kept sign-in saves. Other tests of
    // this process sign out meanwhile, which forgets every kept sign-in: a request may
    // then read its sign-in twice (when it arrives, and when its operation runs).
    const SIGN_IN: usize = 2;
    sign_ins::forget_all();
    let rerun = at_once(&app, &token, 1).await.0;
    assert!(
        first.abs_diff(rerun) <= SIGN_IN,
        "a rerun runs {rerun}, the first {first}"
    );
    // The request alone, without a sign-in read twice (which either run may have met).
    let alone = first.min(rerun);
    let per_request = |clients: usize| (alone - SIGN_IN) * clients..=(alone + SIGN_IN) * clients;
    for clients in [16, 64] {
        sign_ins::forget_all();
        let (statements, _) = at_once(&app, &token, clients).await;
        assert!(
            per_request(clients).contains(&statements),
            "{clients} concurrent requests ran {} statements each on {}, alone {alone}",
            statements as f64 / clients as f64,
            app.backend
        );
    }
}

on_both_databases!(statements_per_request_do_not_grow_with_concurrency);

/// A save reads what it checks in one statement — the task, the period, its window, the
/// assignment (groups expanded in SQL), the agency's report and the evidence's
/// deliverables — then writes the report and its audit entry.
async fn a_save_runs_a_handful_of_statements(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let task = led_tasks(&tayson, "ubnd-tay-son").await.remove(0);
    let save = "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) { id version } }";
    let mut counts = Vec::new();
    let mut version = None;
    for summary in ["first", "second"] {
        let before = app.statement_count();
        let reply = tayson
            .graphql(
                save,
                json!({ "i": { "taskId": task, "periodCode": "2024", "summary": summary, "expectedVersion": version } }),
            )
            .await;
        counts.push(app.statement_count() - before);
        version = reply.data()["saveSubmission"]["version"].as_i64();
    }
    // Sign-in, one read, the write, the audit entry; an edit of the texts also reads the
    // evidence references for the search index; PostgreSQL adds the rule's settings and
    // the event's notification.
    let most = if app.backend == "postgres" { 7 } else { 5 };
    assert!(
        counts.iter().all(|&n| n <= most),
        "statements for a new report and an edit on {}: {counts:?}",
        app.backend
    );
}

on_both_databases!(a_save_runs_a_handful_of_statements);

/// A catalog list opens no scoped transaction (it is one statement) unless its filter
/// reaches reports, and then it does (on PostgreSQL, row-level security lets reports
/// through only there), and the filter still finds them.
async fn a_catalog_list_reaches_reports_only_through_its_filter(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let tasks = led_tasks(&tayson, "ubnd-tay-son").await;
    for (task, status) in tasks.iter().zip(["SUBMITTED", "RETURNED"]) {
        submission_in(&app, &tayson, task, "2024", status).await;
    }
    let scoped_per_list = usize::from(app.backend == "postgres");

    let scoped = app.scoped_transaction_count();
    let catalog = tayson
        .graphql("{ tasks(first: 5) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        catalog.data()["tasks"]["edges"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        app.scoped_transaction_count() - scoped,
        0,
        "no report reached"
    );

    let scoped = app.scoped_transaction_count();
    let reported = tayson
        .graphql(
            "{ tasks(first: 100, filter: { submissions: { some: {} } }) { edges { node { id } } }
               agencies(first: 100, filter: { submissions: { some: { status: { equalTo: RETURNED } } } }) { edges { node { code } } } }",
            json!({}),
        )
        .await;
    let data = reported.data();
    let mut found: Vec<&str> = data["tasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    let mut expected: Vec<&str> = tasks[..2].iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(found, expected, "the tasks reported on");
    assert_eq!(data["agencies"]["edges"][0]["node"]["code"], "ubnd-tay-son");
    assert_eq!(
        app.scoped_transaction_count() - scoped,
        2 * scoped_per_list,
        "each list whose filter reaches reports is scoped"
    );
}

on_both_databases!(a_catalog_list_reaches_reports_only_through_its_filter);

/// A page of reports reads the tasks and agencies its selection asks for in the page's
/// own statement: they add no statement, in any order and on every page, and read the
/// same as when each report's are loaded on their own (`node`).
async fn a_page_of_reports_reads_its_tasks_and_agencies_with_it(app: TestApp) {
    six_reports(&app).await;
    let analyst = app.client("analyst").await;
    const RELATIONS: &str = "task { id number content } agency { id code name }";
    // The fewest statements of three runs: another test's sign-out makes a run read its
    // sign-in again.
    let (app, analyst) = (&app, &analyst);
    let statements = |query: String| async move {
        let mut fewest = usize::MAX;
        let mut reply = None;
        for _ in 0..3 {
            let before = app.statement_count();
            let answer = analyst.graphql(&query, json!({})).await;
            answer.data();
            fewest = fewest.min(app.statement_count() - before);
            reply = Some(answer.body);
        }
        (fewest, reply.unwrap()["data"]["submissions"].clone())
    };
    for order in [
        "[{ field: TASK_NUMBER, direction: DESC }]",
        "[{ field: AGENCY_NAME }, { field: PROGRESS, direction: DESC }]",
        "[{ field: REVIEWED_AT, nulls: FIRST }]",
    ] {
        let mut after = String::new();
        let mut pages = 0;
        loop {
            let page = |fields: &str| {
                format!(
                    "{{ submissions(first: 4, orderBy: {order}{after}) {{
                        pageInfo {{ hasNextPage endCursor }} edges {{ node {{ id {fields} }} }} }} }}"
                )
            };
            let (bare_statements, bare) = statements(page("")).await;
            let (statements_with, with) = statements(page(RELATIONS)).await;
            assert_eq!(
                statements_with, bare_statements,
                "{order}: tasks and agencies add no statement on {}",
                app.backend
            );
            let edges = with["edges"].as_array().unwrap();
            let ids: Vec<&Value> = edges.iter().map(|e| &e["node"]["id"]).collect();
            let bare_ids: Vec<&Value> = bare["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["node"]["id"])
                .collect();
            assert_eq!(ids, bare_ids, "{order}: the same reports in the same order");
            assert_eq!(with["pageInfo"], bare["pageInfo"], "{order}");
            let one_by_one = edges
                .iter()
                .enumerate()
                .map(|(n, e)| {
                    format!(
                        "r{n}: node(id: {}) {{ ... on Submission {{ {RELATIONS} }} }}",
                        e["node"]["id"]
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            let loaded = analyst
                .graphql(&format!("{{ {one_by_one} }}"), json!({}))
                .await;
            for (n, edge) in edges.iter().enumerate() {
                let alone = &loaded.data()[format!("r{n}")];
                assert_eq!(edge["node"]["task"], alone["task"], "{order}");
                assert_eq!(edge["node"]["agency"], alone["agency"], "{order}");
                assert!(
                    alone["task"]["content"]
                        .as_str()
                        .is_some_and(|c| !c.is_empty())
                );
            }
            pages += 1;
            if with["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = format!(", after: {}", with["pageInfo"]["endCursor"]);
        }
        assert_eq!(pages, 2, "{order}: six reports, four a page");
    }
}

on_both_databases!(a_page_of_reports_reads_its_tasks_and_agencies_with_it);

/// A list of plans reads the pages of tasks its fields ask of each plan, and their totals,
/// in the statements one plan's pages take: a second plan adds none. Each plan's pages,
/// after a cursor too, are what asking that plan alone answers.
async fn a_list_of_plans_reads_their_pages_of_tasks_at_once(app: TestApp) {
    let owner = app.owner_db().await;
    seed::import(&owner, SECOND, false)
        .await
        .expect("the second plan");
    let analyst = app.client("analyst").await;
    // Three pages of each plan, the first after `after` when one is given.
    let fields = |after: &str| {
        let after = match after {
            "" => String::new(),
            cursor => format!(", after: \"{cursor}\""),
        };
        format!(
            "code
            a: tasks(first: 2, orderBy: [{{ field: NUMBER, direction: DESC, nulls: FIRST }}]{after}) {{
                totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }}
                edges {{ cursor node {{ id number }} }} }}
            b: tasks(first: 1, filter: {{ content: {{ includes: \"nghèo\" }} }}) {{ totalCount edges {{ node {{ id }} }} }}
            c: tasks(first: 0) {{ totalCount pageInfo {{ hasNextPage }} }}"
        )
    };
    let listed = |plans: usize, after: &str| {
        format!(
            "{{ plans(first: {plans}) {{ edges {{ node {{ {} }} }} }} }}",
            fields(after)
        )
    };
    // The fewest statements of three runs: another test's sign-out makes a run read its
    // sign-in again.
    let fewest = |query: String| {
        let (app, analyst) = (&app, &analyst);
        async move {
            let mut fewest = usize::MAX;
            let mut reply = Value::Null;
            for _ in 0..3 {
                let before = app.statement_count();
                let answer = analyst.graphql(&query, json!({})).await;
                fewest = fewest.min(app.statement_count() - before);
                reply = answer.data()["plans"]["edges"].clone();
            }
            (fewest, reply)
        }
    };
    let (one, _) = fewest(listed(1, "")).await;
    let (two, first_pages) = fewest(listed(2, "")).await;
    assert_eq!(
        two, one,
        "the second plan's pages add no statement on {}",
        app.backend
    );
    let codes: Vec<&str> = first_pages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["node"]["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.len() == 2 && codes.contains(&SECOND_CODE),
        "{codes:?}"
    );
    let cursor = first_pages[0]["node"]["a"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, next_pages) = fewest(listed(2, &cursor)).await;
    assert_eq!(
        next_pages[0]["node"]["a"]["pageInfo"]["hasPreviousPage"], true,
        "a page after a cursor"
    );
    for (n, code) in codes.iter().enumerate() {
        assert!(first_pages[n]["node"]["a"]["totalCount"].as_i64().unwrap() > 0);
        for (pages, after) in [(&first_pages, ""), (&next_pages, cursor.as_str())] {
            let alone = analyst
                .graphql(
                    &format!(
                        "query($p: String!) {{ plan(code: $p) {{ {} }} }}",
                        fields(after)
                    ),
                    json!({ "p": code }),
                )
                .await;
            assert_eq!(
                pages[n]["node"],
                alone.data()["plan"],
                "{code}, after «{after}»"
            );
        }
    }
}

/// Fields of one level load together, each with its own arguments: one field's refused
/// arguments fail that field only.
async fn a_refused_page_of_tasks_fails_only_its_own_field(app: TestApp) {
    let analyst = app.client("analyst").await;
    let reply = analyst
        .graphql(
            "{ plans(first: 5) { edges { node { code x: tasks(first: 1) { totalCount }
               y: tasks(orderBy: [{ field: NUMBER }, { field: CONTENT }, { field: SCHEDULE },
                                  { field: SECTION }, { field: POSITION }]) { totalCount } } } } }",
            json!({}),
        )
        .await;
    let errors = reply.body["errors"].as_array().expect("y is refused");
    assert!(
        errors
            .iter()
            .all(|e| e["path"].as_array().unwrap().last().unwrap() == "y"
                && e["extensions"]["code"] == "BAD_USER_INPUT"),
        "{errors:?}"
    );
    let alone = analyst
        .graphql(
            "{ plans(first: 5) { edges { node { code x: tasks(first: 1) { totalCount } } } } }",
            json!({}),
        )
        .await;
    let x = |body: &Value| -> Vec<Value> {
        body["data"]["plans"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["x"].clone())
            .collect()
    };
    assert_eq!(x(&reply.body), x(&alone.body), "x answers as it does alone");
    assert!(
        x(&alone.body)
            .iter()
            .all(|x| x["totalCount"].as_i64() > Some(0))
    );
}

on_both_databases!(
    a_list_of_plans_reads_their_pages_of_tasks_at_once,
    a_refused_page_of_tasks_fails_only_its_own_field
);
