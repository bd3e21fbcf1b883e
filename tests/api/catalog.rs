//! The built-in plan, read through the API, checked against the decision's appendix.
use plantrack::service::seed;
use serde_json::{Value, json};

use crate::{fixtures::TASKS, on_both_databases, support::TestApp};

const DISTRICTS: [&str; 11] = [
    "ubnd-quy-nhon",
    "ubnd-an-nhon",
    "ubnd-hoai-nhon",
    "ubnd-an-lao",
    "ubnd-hoai-an",
    "ubnd-phu-my",
    "ubnd-phu-cat",
    "ubnd-tay-son",
    "ubnd-vinh-thanh",
    "ubnd-van-canh",
    "ubnd-tuy-phuoc",
];

/// Every task of the plan in order, with what the tests look at.
async fn all_tasks(app: &TestApp) -> Vec<Value> {
    let reply = app
        .graphql(
            r#"{ tasks(first: 100) { totalCount edges { node {
                id number content schedule timeframeWording inferredNote
                section { numeral }
                assignments { role wording agency { code } group { code } }
                leadAgencies { code } partnerAgencies { code }
                deliverables { description inferred }
                timeframe { code kind }
            } } } }"#,
            json!({}),
        )
        .await;
    reply.data()["tasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect()
}

fn task<'a>(tasks: &'a [Value], numeral: &str, number: Option<i64>) -> &'a Value {
    tasks
        .iter()
        .find(|t| t["section"]["numeral"] == numeral && t["number"].as_i64() == number)
        .unwrap_or_else(|| panic!("task {numeral}.{number:?}"))
}

async fn plan_has_five_sections_and_twenty_tasks(app: TestApp) {
    let reply = app
        .graphql(
            r#"{ plan(code: "768/QĐ-UBND") { code issuedOn startYear endYear
                 issuer { code } coordinator { code name }
                 sections { numeral title tasks { number } } } }"#,
            json!({}),
        )
        .await;
    let plan = &reply.data()["plan"];
    assert_eq!(plan["issuedOn"], "2022-03-11");
    assert_eq!(
        (plan["startYear"].as_i64(), plan["endYear"].as_i64()),
        (Some(2021), Some(2030))
    );
    assert_eq!(plan["issuer"]["code"], "ubnd-tinh");
    assert_eq!(plan["coordinator"]["code"], "so-ldtbxh");
    assert_eq!(
        plan["coordinator"]["name"],
        "Sở Lao động - Thương binh và Xã hội"
    );
    let counts: Vec<(String, usize)> = plan["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["numeral"].as_str().unwrap().to_owned(),
                s["tasks"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("I", 4),
            ("II", 2),
            ("III", 9),
            ("IV", 1),
            ("V", 4),
            ("TCTH", 3)
        ]
        .map(|(n, c)| (n.to_owned(), c))
    );
    assert_eq!(
        plan["sections"][3]["tasks"][0]["number"],
        Value::Null,
        "section IV's task has no number"
    );
    assert_eq!(
        plan["sections"][0]["title"],
        "Tuyên truyền, nâng cao nhận thức, ý thức, trách nhiệm đối với công tác giảm nghèo"
    );
}

async fn every_assignment_resolves_and_groups_expand(app: TestApp) {
    let tasks = all_tasks(&app).await;
    assert_eq!(tasks.len() as i64, TASKS);
    for t in &tasks {
        assert!(
            !t["leadAgencies"].as_array().unwrap().is_empty() || t["section"]["numeral"] == "III",
            "{t}"
        );
        for a in t["assignments"].as_array().unwrap() {
            assert!(
                a["agency"].is_null() != a["group"].is_null(),
                "exactly one assignee: {a}"
            );
            assert!(
                !a["wording"].as_str().unwrap().contains("Xa hội"),
                "spelling fixed: {a}"
            );
        }
    }
    // I.1: led by all 11 district-level units through the collective wording.
    let i1 = task(&tasks, "I", Some(1));
    assert_eq!(codes(&i1["leadAgencies"]), DISTRICTS);
    assert_eq!(
        i1["assignments"][0]["wording"],
        "UBND các huyện, thị xã, thành phố"
    );
    assert_eq!(i1["assignments"][0]["group"]["code"], "ubnd-cac-huyen");
    assert_eq!(codes(&i1["partnerAgencies"]), ["so-ldtbxh"]);
    // II.2: all departments and all districts lead.
    let ii2 = codes(&task(&tasks, "II", Some(2))["leadAgencies"]);
    assert_eq!(ii2.len(), 12 + 11);
    assert!(ii2.contains(&"ban-dan-toc".to_owned()) && ii2.contains(&"ubnd-van-canh".to_owned()));
    // III.5: three named leads.
    assert_eq!(
        codes(&task(&tasks, "III", Some(5))["leadAgencies"]),
        ["bchqs-tinh", "so-ldtbxh", "cong-an-tinh"]
    );
    // III.8: the eight departments of "Các Sở: …".
    assert_eq!(
        codes(&task(&tasks, "III", Some(8))["leadAgencies"]).len(),
        8
    );
    // IV: partners are groups the plan leaves unnamed, so they expand to nobody yet.
    let iv = task(&tasks, "IV", None);
    assert_eq!(codes(&iv["leadAgencies"]), ["so-ldtbxh"]);
    assert!(iv["partnerAgencies"].as_array().unwrap().is_empty());
    let wordings: Vec<&str> = iv["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["wording"].as_str().unwrap())
        .collect();
    assert!(wordings.contains(&"UBND các huyện nghèo"));
    assert!(wordings.contains(&"UBND các huyện có xã đặc biệt khó khăn"));

    // Every agency the appendix and Article 3 name resolves by code.
    for code in [
        "so-ldtbxh",
        "so-khdt",
        "so-tai-chinh",
        "so-nnptnt",
        "so-tu-phap",
        "so-y-te",
        "so-gddt",
        "so-xay-dung",
        "so-noi-vu",
        "so-tttt",
        "so-tnmt",
        "ban-dan-toc",
        "bchqs-tinh",
        "cong-an-tinh",
        "ubnd-tinh",
        "van-phong-ubnd-tinh",
        "mttq-tinh",
        "bo-ldtbxh",
        "bo-noi-vu",
    ]
    .into_iter()
    .chain(DISTRICTS)
    {
        let reply = app
            .graphql(
                "query($c: String!) { agency(code: $c) { code } }",
                json!({ "c": code }),
            )
            .await;
        assert_eq!(reply.data()["agency"]["code"], code);
    }
    let reply = app
        .graphql(
            r#"{ agency(code: "bo-noi-vu") { isTenant kind } districts: agencies(filter: { kind: { equalTo: DISTRICT } }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        reply.data()["agency"],
        json!({ "isTenant": false, "kind": "MINISTRY" })
    );
    assert_eq!(reply.data()["districts"]["totalCount"], 11);
}

async fn deliverables_and_timeframes_follow_the_plan(app: TestApp) {
    let tasks = all_tasks(&app).await;
    let i1 = task(&tasks, "I", Some(1));
    assert_eq!(i1["schedule"], "ANNUAL");
    assert_eq!(i1["timeframeWording"], "Hằng năm");
    let descriptions: Vec<&str> = i1["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        ["Tài liệu tuyên truyền", "Hội nghị triển khai"]
    );
    let phases = |t: &Value| -> Vec<String> { codes(&t["timeframe"]) };
    assert_eq!(
        phases(task(&tasks, "III", Some(3))),
        ["2021-2025", "2026-2030"]
    );
    assert_eq!(
        phases(task(&tasks, "II", Some(2))),
        ["2021-2025", "2021-2030"]
    );
    assert_eq!(task(&tasks, "III", Some(1))["schedule"], "PHASED");
    // V.3 lost its deliverable and period in the source; both are marked inferred.
    let v3 = task(&tasks, "V", Some(3));
    assert_eq!(v3["deliverables"][0]["inferred"], true);
    assert!(v3["inferredNote"].as_str().unwrap().contains("inferred"));
    assert_eq!(
        task(&tasks, "V", Some(4))["deliverables"][0]["inferred"],
        false
    );
}

async fn tasks_page_through_with_cursors(app: TestApp) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let reply = app
            .graphql(
                "query($after: String) { tasks(first: 7, after: $after) { totalCount
                   pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { position } } } }",
                json!({ "after": after }),
            )
            .await;
        let conn = &reply.data()["tasks"];
        assert_eq!(conn["totalCount"], TASKS);
        let edges = conn["edges"].as_array().unwrap();
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["position"].as_i64().unwrap()),
        );
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        assert_eq!(edges.len(), 7);
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, (1..=TASKS).collect::<Vec<_>>());

    let reply = app
        .graphql("{ tasks(first: 101) { totalCount } }", json!({}))
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"));
    let reply = app
        .graphql(
            r#"{ tasks(after: "bm90IGEgY3Vyc29y") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"));
    let reply = app
        .graphql("{ tasks { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        reply.data()["tasks"]["edges"].as_array().unwrap().len(),
        20,
        "default page is 20"
    );

    // Descending content order is really ordered, and pages continue it.
    let reply = app
        .graphql("{ tasks(first: 10, orderBy: [{ field: CONTENT, direction: DESC }]) { pageInfo { endCursor } edges { node { content } } } }", json!({}))
        .await;
    let first_page: Vec<String> = reply.data()["tasks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| plantrack::service::text::fold(e["node"]["content"].as_str().unwrap()))
        .collect();
    let mut sorted = first_page.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(first_page, sorted);
    let cursor = reply.data()["tasks"]["pageInfo"]["endCursor"].clone();
    let reply = app
        .graphql(
            "query($a: String) { tasks(first: 10, after: $a, orderBy: [{ field: CONTENT, direction: DESC }]) { edges { node { content } } } }",
            json!({ "a": cursor }),
        )
        .await;
    let next = plantrack::service::text::fold(
        reply.data()["tasks"]["edges"][0]["node"]["content"]
            .as_str()
            .unwrap(),
    );
    assert!(next < *first_page.last().unwrap());
}

/// Every edge's cursor continues the list right after its item, however the selection
/// asks for it (directly, in a fragment, in an inline fragment); `pageInfo`'s cursors are
/// the first and last edges', whether or not the edges' cursors are selected.
async fn every_edge_cursor_continues_the_list(app: TestApp) {
    let position_after = |cursor: Value| {
        let app = &app;
        async move {
            let reply = app
                .graphql(
                    "query($a: String) { tasks(first: 1, after: $a) { nodes { position } } }",
                    json!({ "a": cursor }),
                )
                .await;
            reply.data()["tasks"]["nodes"][0]["position"]
                .as_i64()
                .unwrap()
        }
    };
    let shapes = [
        "{ tasks(first: 5) { pageInfo { startCursor endCursor } edges { cursor node { position } } } }",
        "{ tasks(first: 5) { pageInfo { startCursor endCursor } edges { ...E } } }
         fragment E on TaskEdge { cursor node { position } }",
        "{ tasks(first: 5) { pageInfo { startCursor endCursor } edges { ... on TaskEdge { cursor } node { position } } } }",
    ];
    let mut all_cursors = Vec::new();
    for shape in shapes {
        let reply = app.graphql(shape, json!({})).await;
        let conn = &reply.data()["tasks"];
        let edges = conn["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 5, "{shape}");
        for edge in edges {
            let position = edge["node"]["position"].as_i64().unwrap();
            assert!(edge["cursor"].is_string(), "{shape}");
            assert_eq!(position_after(edge["cursor"].clone()).await, position + 1);
        }
        assert_eq!(conn["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(conn["pageInfo"]["endCursor"], edges[4]["cursor"]);
        all_cursors.push(conn["pageInfo"].clone());
    }
    // Without the edges' cursors, the page's first and last cursors are the same.
    let reply = app
        .graphql(
            "{ tasks(first: 5) { pageInfo { startCursor endCursor } edges { node { position } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.data()["tasks"]["pageInfo"], all_cursors[0]);
    // A page of one: its first is its last; an empty page has neither.
    let reply = app
        .graphql(
            "{ tasks(first: 1) { pageInfo { startCursor endCursor } } }",
            json!({}),
        )
        .await;
    let info = &reply.data()["tasks"]["pageInfo"];
    assert!(info["startCursor"].is_string());
    assert_eq!(info["startCursor"], info["endCursor"]);
    let reply = app
        .graphql(
            "{ tasks(first: 0) { pageInfo { startCursor endCursor } edges { cursor } } }",
            json!({}),
        )
        .await;
    let info = &reply.data()["tasks"]["pageInfo"];
    assert_eq!(
        (info["startCursor"].clone(), info["endCursor"].clone()),
        (Value::Null, Value::Null)
    );
}

/// A filter may nest 8 levels and hold 100 conditions, counted as README says: every
/// input object is a level and a condition of its own (it is an `and` of its fields), as
/// is every `or`, `not` and relation, and every comparison is a condition.
async fn filter_limits_are_as_documented(app: TestApp) {
    let count = |filter: Value| {
        let app = &app;
        async move {
            app.graphql(
                "query($f: TaskFilter) { tasks(first: 1, filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await
        }
    };
    // n nested `not`s: n + 1 objects and n `not`s, 2n + 1 levels.
    let nots = |n: usize| {
        (0..n).fold(
            json!({ "number": { "equalTo": 1 } }),
            |inner, _| json!({ "not": inner }),
        )
    };
    let seven_levels = count(nots(3)).await;
    assert!(
        seven_levels.data()["tasks"]["totalCount"].is_number(),
        "{}",
        seven_levels.body
    );
    let nine_levels = count(nots(4)).await;
    assert_eq!(
        nine_levels.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        nine_levels.body
    );
    assert!(
        nine_levels.body.to_string().contains("at most 8 levels"),
        "{}",
        nine_levels.body
    );

    // n objects of one comparison in an `and`: 2n + 1 conditions.
    let conditions = |n: usize| json!({ "and": (0..n).map(|i| json!({ "number": { "notEqualTo": i } })).collect::<Vec<_>>() });
    let ninety_nine = count(conditions(49)).await;
    assert!(
        ninety_nine.data()["tasks"]["totalCount"].is_number(),
        "{}",
        ninety_nine.body
    );
    let past = count(conditions(50)).await;
    assert_eq!(past.error_code(), Some("BAD_USER_INPUT"), "{}", past.body);
    assert!(
        past.body.to_string().contains("at most 100 conditions"),
        "{}",
        past.body
    );
}

async fn task_filters_narrow_the_list(app: TestApp) {
    let count = |filter: Value| {
        let app = &app;
        async move {
            let reply = app
                .graphql(
                    "query($f: TaskFilter) { tasks(filter: $f) { totalCount } }",
                    json!({ "f": filter }),
                )
                .await;
            reply.data()["tasks"]["totalCount"].as_i64().unwrap()
        }
    };
    let code = |c: &str| json!({ "code": { "equalTo": c } });
    assert_eq!(
        count(json!({ "section": { "numeral": { "equalTo": "III" } } })).await,
        9
    );
    assert_eq!(
        count(json!({ "schedule": { "equalTo": "ANNUAL" } })).await,
        5,
        "4 of the appendix, and the coordinator's consolidated report"
    );
    assert_eq!(
        count(json!({ "schedule": { "equalTo": "ONCE" } })).await,
        2,
        "the departments' and the districts' implementation plans"
    );
    assert_eq!(
        count(json!({ "section": { "part": { "equalTo": "APPENDIX" } } })).await,
        20
    );
    assert_eq!(count(json!({ "plan": code("768/QĐ-UBND") })).await, TASKS);
    assert_eq!(count(json!({ "plan": code("no-such-plan") })).await, 0);
    // Sở TT&TT leads I.3, I.4, III.8 and V.4 by name, II.2, III.4 and its implementation
    // plan (TCTH.1) as one of "các sở, ngành".
    assert_eq!(
        count(json!({ "leadAgencies": { "some": code("so-tttt") } })).await,
        7
    );
    // A district leads through its group: I.1, I.2, II.1, II.2, III.4, III.9, TCTH.5.
    assert_eq!(
        count(json!({ "leadAgencies": { "some": code("ubnd-tay-son") } })).await,
        7
    );
    let partner = count(json!({ "partnerAgencies": { "some": code("ubnd-tay-son") } })).await;
    assert_eq!(
        count(json!({ "or": [
            { "leadAgencies": { "some": code("ubnd-tay-son") } },
            { "partnerAgencies": { "some": code("ubnd-tay-son") } },
        ] }))
        .await,
        7 + partner
    );
    // `not` is the complement, `none` the complement of `some`.
    assert_eq!(
        count(json!({ "not": { "section": { "numeral": { "equalTo": "III" } } } })).await,
        TASKS - 9
    );
    assert_eq!(
        count(json!({ "leadAgencies": { "none": code("ubnd-tay-son") } })).await,
        TASKS - 7
    );
    // Search ignores case and diacritics.
    let plain = count(json!({ "search": "giam ngheo" })).await;
    assert!(plain > 0);
    assert_eq!(count(json!({ "search": "giảm nghèo" })).await, plain);
    assert_eq!(count(json!({ "search": "GIẢM NGHÈO" })).await, plain);
    assert_eq!(
        count(json!({ "search": "DAN TOC" })).await,
        1,
        "III.8: đồng bào dân tộc thiểu số"
    );
    assert_eq!(count(json!({ "search": "100%" })).await, 0);
    assert_eq!(
        count(json!({ "section": { "numeral": { "equalTo": "III" } }, "search": "dan toc" })).await,
        1
    );
}

async fn nodes_agencies_groups_and_periods(app: TestApp) {
    let reply = app
        .graphql(
            r#"{ tasks(first: 1) { edges { node { id content } } }
                 agency(code: "so-tttt") { id ledTasks { number } partnerTasks { number } groups { code } } }"#,
            json!({}),
        )
        .await;
    let task_id = reply.data()["tasks"]["edges"][0]["node"]["id"].clone();
    let agency = &reply.data()["agency"];
    let led: Vec<i64> = agency["ledTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        led,
        [3, 4, 2, 4, 8, 4, 1],
        "I.3, I.4, II.2, III.4, III.8, V.4, and its implementation plan (TCTH.1)"
    );
    assert_eq!(codes(&agency["groups"]), ["cac-so-nganh"]);
    let reply = app
        .graphql(
            "query($t: ID!, $a: ID!) { t: node(id: $t) { id ... on Task { number } } a: node(id: $a) { ... on Agency { code } }
               missing: node(id: \"VGFzazo5OTk5\") { id } garbage: node(id: \"!!\") { id } }",
            json!({ "t": task_id, "a": agency["id"] }),
        )
        .await;
    let data = reply.data();
    assert_eq!(data["t"]["id"], task_id);
    assert_eq!(data["t"]["number"], 1);
    assert_eq!(data["a"]["code"], "so-tttt");
    assert_eq!(data["missing"], Value::Null);
    assert_eq!(data["garbage"], Value::Null);

    let reply = app
        .graphql(
            r#"{ agencyGroups { code members { code } }
                 phases: periods(kind: PHASE) { code startsOn endsOn }
                 years: periods(kind: YEAR) { code }
                 halves: periods(kind: HALF_YEAR) { code }
                 search: agencies(filter: { search: "quy nhon" }) { edges { node { code } } }
                 tenants: agencies(filter: { isTenant: { equalTo: false } }, orderBy: [{ field: CODE }]) { edges { node { code } } } }"#,
            json!({}),
        )
        .await;
    let data = reply.data();
    let groups = data["agencyGroups"].as_array().unwrap();
    let districts = groups
        .iter()
        .find(|g| g["code"] == "ubnd-cac-huyen")
        .unwrap();
    assert_eq!(codes(&districts["members"]), DISTRICTS);
    let departments = groups.iter().find(|g| g["code"] == "cac-so-nganh").unwrap();
    assert_eq!(departments["members"].as_array().unwrap().len(), 12);
    assert_eq!(
        data["phases"],
        json!([
            { "code": "2021-2030", "startsOn": "2021-01-01", "endsOn": "2030-12-31" },
            { "code": "2021-2025", "startsOn": "2021-01-01", "endsOn": "2025-12-31" },
            { "code": "2026-2030", "startsOn": "2026-01-01", "endsOn": "2030-12-31" },
        ])
    );
    assert_eq!(data["years"].as_array().unwrap().len(), 10);
    assert_eq!(data["halves"][0]["code"], "2021S1");
    assert_eq!(data["search"]["edges"][0]["node"]["code"], "ubnd-quy-nhon");
    let non_tenants: Vec<&str> = data["tenants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        non_tenants,
        ["bo-ldtbxh", "bo-noi-vu", "mttq-tinh", "ubnd-tinh"]
    );
}

async fn loading_the_plan_twice_changes_nothing(app: TestApp) {
    let before = app.graphql("{ tasks { totalCount } agencies { totalCount } periods { code } agencyGroups { code } }", json!({})).await;
    let report = seed::load(&app.db, seed::PLAN_768).await.unwrap();
    let added = (
        report.plan_loaded,
        report.agencies_added,
        report.groups_added,
        report.periods_added,
        report.tasks_added,
    );
    assert_eq!(added, (false, 0, 0, 0, 0), "{report:?}");
    assert_eq!(
        report.agencies_reused.len(),
        30,
        "every agency matched by its code"
    );
    let after = app.graphql("{ tasks { totalCount } agencies { totalCount } periods { code } agencyGroups { code } }", json!({})).await;
    assert_eq!(before.data(), after.data());
}

/// The statements one request runs depend on its depth, not on the rows in a page.
async fn statement_count_does_not_grow_with_page_size(app: TestApp) {
    let query = "query($n: Int) { tasks(first: $n) { edges { node { leadAgencies { ledTasks { deliverables { description } } } } } } }";
    // Sign in first, so that only the two requests are counted.
    app.graphql("{ __typename }", json!({})).await;
    let mut counts = Vec::new();
    for n in [5, 20] {
        let before = app.statement_count();
        let reply = app.graphql(query, json!({ "n": n })).await;
        assert_eq!(reply.data()["tasks"]["edges"].as_array().unwrap().len(), n);
        counts.push(app.statement_count() - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for first: 5 and first: 20 ({})",
        app.backend
    );
    assert!(counts[0] <= 12, "{counts:?}");
}

/// The deliverables of a reporting period are read for a page of tasks at once, as
/// today's are: the same answer as task by task, in statements that do not grow with the
/// page. A code that names no period is NOT_FOUND on its own field only.
async fn deliverables_of_a_period_are_read_for_the_page_at_once(app: TestApp) {
    let query = "query($n: Int, $p: String) { tasks(first: $n) { edges { node { id
        deliverables(periodCode: $p) { id description } } } } }";
    app.graphql("{ __typename }", json!({})).await;
    let mut counts = Vec::new();
    let mut pages = Vec::new();
    for n in [5, 20] {
        let before = app.statement_count();
        let reply = app.graphql(query, json!({ "n": n, "p": "2024" })).await;
        counts.push(app.statement_count() - before);
        pages.push(reply.data()["tasks"]["edges"].as_array().unwrap().clone());
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for first: 5 and first: 20 ({})",
        app.backend
    );
    let one = "query($t: ID!, $p: String) { node(id: $t) { ... on Task {
        deliverables(periodCode: $p) { id description } } } }";
    let mut asked_for = 0;
    for edge in &pages[1] {
        let alone = app
            .graphql(one, json!({ "t": edge["node"]["id"], "p": "2024" }))
            .await;
        assert_eq!(
            alone.data()["node"]["deliverables"],
            edge["node"]["deliverables"],
            "{}",
            edge["node"]["id"]
        );
        asked_for += edge["node"]["deliverables"].as_array().unwrap().len();
    }
    assert!(
        asked_for > 0,
        "the plan's tasks ask for deliverables in 2024"
    );

    // Two periods asked in one batch, one of them unknown: NOT_FOUND for that field
    // alone.
    let task = &pages[1][0]["node"];
    let mixed = app
        .graphql(
            "query($t: ID!) {
                known: node(id: $t) { ... on Task { deliverables(periodCode: \"2024\") { id description } } }
                unknown: node(id: $t) { ... on Task { deliverables(periodCode: \"1999\") { id } } } }",
            json!({ "t": task["id"] }),
        )
        .await;
    let errors = mixed.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", mixed.body);
    assert_eq!(
        errors[0]["extensions"]["code"], "NOT_FOUND",
        "{}",
        mixed.body
    );
    assert_eq!(errors[0]["path"], json!(["unknown", "deliverables"]));
    assert_eq!(
        mixed.body["data"]["known"]["deliverables"], task["deliverables"],
        "{}",
        mixed.body
    );
    assert_eq!(mixed.body["data"]["unknown"], Value::Null, "{}", mixed.body);
}

/// A page costs one count of the whole list only when `totalCount` is asked for.
async fn lists_are_counted_only_when_asked(app: TestApp) {
    app.graphql("{ __typename }", json!({})).await;
    let mut statements = Vec::new();
    for query in [
        "{ tasks(first: 5) { edges { node { id } } } }",
        "{ tasks(first: 5) { totalCount edges { node { id } } } }",
        "{ tasks(first: 5) { ...Counted } } fragment Counted on TaskConnection { totalCount }",
    ] {
        let before = app.statement_count();
        let reply = app.graphql(query, json!({})).await;
        reply.data();
        statements.push(app.statement_count() - before);
        if query.contains("totalCount") {
            assert_eq!(reply.data()["tasks"]["totalCount"], TASKS, "{query}");
        }
    }
    assert_eq!(statements[1], statements[0] + 1, "{statements:?}");
    assert_eq!(statements[2], statements[1], "{statements:?}");
}

async fn node(client: &crate::support::Client<'_>, id: Value) -> Value {
    let query = "query($id: ID!) { node(id: $id) { __typename id
        ... on User { username } ... on ReportingWindow { period { code } } } }";
    client.graphql(query, json!({ "id": id })).await.data()["node"].clone()
}

/// Users and reporting windows are nodes too; a user is seen only by themself and admins.
async fn users_and_reporting_windows_are_nodes(app: TestApp) {
    crate::fixtures::open_window(&app, "2025", 48).await.data();
    let tayson = app.client("tayson").await;
    let me = tayson.graphql("{ me { user { id } } }", json!({})).await;
    let my_id = me.data()["me"]["user"]["id"].clone();
    assert_eq!(node(&tayson, my_id.clone()).await["username"], "tayson");
    let anlao = app.client("anlao").await;
    assert_eq!(
        node(&anlao, my_id.clone()).await,
        Value::Null,
        "another user's id"
    );
    let admin = app.client("admin").await;
    assert_eq!(node(&admin, my_id.clone()).await["__typename"], "User");

    let windows = tayson
        .graphql(
            r#"{ reportingWindows(filter: { period: { code: { equalTo: "2025" } } }) { id } }"#,
            json!({}),
        )
        .await;
    let window_id = windows.data()["reportingWindows"][0]["id"].clone();
    let window = node(&tayson, window_id.clone()).await;
    assert_eq!(window["__typename"], "ReportingWindow");
    assert_eq!(window["id"], window_id);
    assert_eq!(window["period"]["code"], "2025");
}

on_both_databases!(
    users_and_reporting_windows_are_nodes,
    lists_are_counted_only_when_asked,
    plan_has_five_sections_and_twenty_tasks,
    every_assignment_resolves_and_groups_expand,
    deliverables_and_timeframes_follow_the_plan,
    tasks_page_through_with_cursors,
    every_edge_cursor_continues_the_list,
    filter_limits_are_as_documented,
    task_filters_narrow_the_list,
    nodes_agencies_groups_and_periods,
    loading_the_plan_twice_changes_nothing,
    statement_count_does_not_grow_with_page_size,
    deliverables_of_a_period_are_read_for_the_page_at_once,
);
