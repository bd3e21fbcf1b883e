//! `POST /export`: a query's connection as a spreadsheet, read back and compared with the
//! same query paged through `POST /graphql`.
use std::{io::Cursor, time::Instant};

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::Utc;
use entity::{agency, deliverable, period, submission, submission_deliverable, task};
use plantrack::config::ServerConfig;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    on_both_databases,
    reports::cell_text,
    support::{TestApp, say, test_config},
};

/// An export's answer.
struct File {
    status: StatusCode,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

impl File {
    /// The error body, as JSON.
    fn error(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{}: not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn error_code(&self) -> String {
        self.error()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn error_message(&self) -> String {
        self.error()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn ok(&self) -> &Self {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The rows of a CSV file, header first, after checking its byte-order mark.
    fn csv(&self) -> Vec<Vec<String>> {
        self.ok();
        assert!(
            self.content_type.starts_with("text/csv"),
            "{}",
            self.content_type
        );
        assert_eq!(self.disposition, "attachment; filename=\"export.csv\"");
        let text = self
            .body
            .strip_prefix("\u{feff}".as_bytes())
            .expect("a CSV file starts with a byte-order mark");
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    /// The cells of an XLSX file's sheet, header first.
    fn xlsx(&self) -> Vec<Vec<Data>> {
        self.ok();
        assert!(
            self.content_type.contains("spreadsheetml"),
            "{}",
            self.content_type
        );
        assert_eq!(self.disposition, "attachment; filename=\"export.xlsx\"");
        let mut workbook: Xlsx<_> =
            open_workbook_from_rs(Cursor::new(self.body.clone())).expect("a readable xlsx");
        let formulas = workbook.worksheet_formula("export").expect("formulas");
        assert!(
            formulas.cells().all(|(_, _, formula)| formula.is_empty()),
            "no cell is a formula"
        );
        let range = workbook.worksheet_range("export").expect("the sheet");
        range.rows().map(<[Data]>::to_vec).collect()
    }

    /// The XLSX file's cells as text, numbers as the CSV writes them.
    fn xlsx_text(&self) -> Vec<Vec<String>> {
        self.xlsx()
            .iter()
            .map(|row| row.iter().map(cell_text).collect())
            .collect()
    }
}

async fn export_as(app: &TestApp, token: Option<&str>, format: &str, body: &Value) -> File {
    export_raw(
        app,
        token,
        &format!("/export?format={format}"),
        "application/json",
        body.to_string(),
    )
    .await
}

async fn export_raw(
    app: &TestApp,
    token: Option<&str>,
    uri: &str,
    content_type: &str,
    body: String,
) -> File {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, headers, body) = app.response(request.body(Body::from(body)).unwrap()).await;
    let header = |name| {
        headers
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    File {
        status,
        content_type: header(header::CONTENT_TYPE),
        disposition: header(header::CONTENT_DISPOSITION),
        body,
    }
}

const FORMULA: &str = "=1+1";

/// Inserts `count` submissions straight into the database as its owner (thousands of
/// saves through the API would take minutes): reporting period × task × tenant agency in
/// turn, about a quarter of them in each status, each with evidence for its task's
/// deliverables (a document reference on the first only). The sixth reads as a formula.
async fn many_submissions(app: &TestApp, count: usize) {
    let db = app.owner_db().await;
    let agencies = agency::Entity::find()
        .filter(agency::Column::IsTenant.eq(true))
        .order_by_asc(agency::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let tasks = task::Entity::find()
        .order_by_asc(task::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let periods = period::Entity::find()
        .filter(period::Column::Kind.is_in(["YEAR", "HALF_YEAR"]))
        .order_by_asc(period::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let deliverables = deliverable::Entity::find()
        .order_by_asc(deliverable::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let now = Utc::now();
    let mut rows = Vec::new();
    'fill: for period in &periods {
        for task in &tasks {
            for agency in &agencies {
                if rows.len() == count {
                    break 'fill;
                }
                let i = rows.len();
                // Every agency gets every status.
                let status =
                    ["DRAFT", "SUBMITTED", "ACCEPTED", "RETURNED"][(i + i / agencies.len()) % 4];
                rows.push(submission::ActiveModel {
                    agency_id: Set(agency.id),
                    plan_id: Set(task.plan_id),
                    task_id: Set(task.id),
                    period_id: Set(period.id),
                    status: Set(status.into()),
                    progress: Set(["NOT_STARTED", "IN_PROGRESS", "COMPLETED"][i % 3].into()),
                    summary: Set(if i == 5 {
                        FORMULA.into()
                    } else {
                        format!("Báo cáo số {i}: đã triển khai")
                    }),
                    results: Set(String::new()),
                    difficulties: Set("Kinh phí hạn chế".into()),
                    proposals: Set(String::new()),
                    version: Set(1),
                    on_time: Set((status != "DRAFT").then_some(i % 2 == 0)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    submitted_at: Set((status != "DRAFT").then_some(now)),
                    ..Default::default()
                });
            }
        }
    }
    assert_eq!(rows.len(), count, "enough agency × task × period triples");
    for chunk in rows.chunks(500) {
        submission::Entity::insert_many(chunk.to_vec())
            .exec(&db)
            .await
            .unwrap();
    }
    let submissions = submission::Entity::find().all(&db).await.unwrap();
    let mut evidence = Vec::new();
    for s in &submissions {
        let of_task = deliverables.iter().filter(|d| d.task_id == s.task_id);
        for (n, d) in of_task.enumerate() {
            evidence.push(submission_deliverable::ActiveModel {
                submission_id: Set(s.id),
                agency_id: Set(s.agency_id),
                deliverable_id: Set(d.id),
                status: Set("COMPLETED".into()),
                document_ref: Set((n == 0).then(|| format!("Kế hoạch số {}/KH-UBND", s.id))),
                url: Set(None),
                ..Default::default()
            });
        }
    }
    for chunk in evidence.chunks(500) {
        submission_deliverable::Entity::insert_many(chunk.to_vec())
            .exec(&db)
            .await
            .unwrap();
    }
}

/// The query of the export tests: `$after` lets the same text page through POST /graphql.
const SUBMISSIONS: &str = "query($after: String) {
  submissions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id status progress summary
      agency { code name }
      task { number }
      onTime
      deliverables { status documentRef }
    } }
  }
}";

const HEADER: [&str; 10] = [
    "id",
    "status",
    "progress",
    "summary",
    "agency.code",
    "agency.name",
    "task.number",
    "onTime",
    "deliverables.status",
    "deliverables.documentRef",
];

/// The rows of `SUBMISSIONS` paged through POST /graphql, as the export should write
/// them (text cells not yet made formula-safe).
async fn paged(app: &TestApp, token: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut after = Value::Null;
    loop {
        let reply = app
            .send(
                "/graphql",
                &json!({ "query": SUBMISSIONS, "variables": { "after": after } }),
                Some(token),
            )
            .await;
        let page = &reply.data()["submissions"];
        for edge in page["edges"].as_array().unwrap() {
            let n = &edge["node"];
            let text = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let joined = |key: &str| {
                n["deliverables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| text(&d[key]))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            rows.push(vec![
                text(&n["id"]),
                text(&n["status"]),
                text(&n["progress"]),
                text(&n["summary"]),
                text(&n["agency"]["code"]),
                text(&n["agency"]["name"]),
                text(&n["task"]["number"]),
                text(&n["onTime"]),
                joined("status"),
                joined("documentRef"),
            ]);
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return rows;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn header() -> Vec<String> {
    HEADER.map(str::to_owned).to_vec()
}

async fn a_large_connection_comes_back_whole(app: TestApp) {
    many_submissions(&app, 1_400).await;
    let analyst = app.login("analyst").await;
    let expected = paged(&app, &analyst).await;
    assert!(expected.len() > 1_000, "analysts see all but the drafts");
    let body = json!({ "query": SUBMISSIONS });

    let started = Instant::now();
    let file = export_as(&app, Some(&analyst), "xlsx", &body).await;
    let xlsx_time = started.elapsed();
    let cells = file.xlsx();
    assert_eq!(file.xlsx_text()[0], header());
    assert_eq!(file.xlsx_text()[1..], expected[..], "XLSX = the paged API");
    // Numbers are numbers, booleans booleans, text text: the formula too.
    let formula_row = cells
        .iter()
        .find(|row| row[3] == Data::String(FORMULA.into()))
        .expect("the formula-looking summary, as a string");
    assert!(matches!(formula_row[6], Data::Float(_)), "{formula_row:?}");
    assert!(matches!(formula_row[7], Data::Bool(_)), "{formula_row:?}");
    assert!(
        file.body.len() > 10_000,
        "a real workbook: {} bytes",
        file.body.len()
    );

    let started = Instant::now();
    let rows = export_as(&app, Some(&analyst), "csv", &body).await.csv();
    let csv_time = started.elapsed();
    assert_eq!(rows[0], header());
    assert_eq!(rows.len() - 1, expected.len(), "every row");
    let neutralized: Vec<Vec<String>> = expected
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| match cell.as_str() {
                    FORMULA => format!("'{FORMULA}"),
                    _ => cell.clone(),
                })
                .collect()
        })
        .collect();
    assert_eq!(
        rows[1..],
        neutralized[..],
        "CSV = the paged API, formula-safe"
    );
    assert!(rows.iter().any(|row| row[3] == "'=1+1"));
    say(&format!(
        "export of {} rows on {}: xlsx {xlsx_time:?}, csv {csv_time:?}",
        expected.len(),
        app.backend
    ));
}

/// An export holds what its caller may list: a district's own reports (drafts
/// included), nobody's draft for anyone else; nothing without a sign-in.
async fn an_export_has_the_scope_of_its_caller(app: TestApp) {
    many_submissions(&app, 400).await;
    let body = json!({ "query": SUBMISSIONS });
    // (user, its agency, whether it sees other agencies' submitted reports)
    for (username, own, others) in [
        ("tayson", "ubnd-tay-son", false),
        ("anlao", "ubnd-an-lao", false),
        ("coordinator", "so-ldtbxh", true),
    ] {
        let token = app.login(username).await;
        let expected = paged(&app, &token).await;
        let rows = export_as(&app, Some(&token), "csv", &body).await.csv();
        let ids = |rows: &[Vec<String>]| rows.iter().map(|row| row[0].clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&rows[1..]),
            ids(&expected),
            "{username}: the rows the API lists"
        );
        let rows = &rows[1..];
        assert!(
            rows.iter().any(|row| row[4] == own && row[1] == "DRAFT"),
            "{username}: its own drafts"
        );
        assert!(
            rows.iter().all(|row| row[4] == own || row[1] != "DRAFT"),
            "{username}: nobody else's draft"
        );
        assert_eq!(
            rows.iter().any(|row| row[4] != own),
            others,
            "{username}: other agencies' reports"
        );
    }

    // Without a sign-in, refused as the query is.
    let query = app.anonymous().graphql(SUBMISSIONS, json!({})).await;
    let file = export_as(&app, None, "csv", &body).await;
    assert_eq!(file.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Some(file.error_code().as_str()), query.error_code());
    let file = export_as(&app, Some("not-a-token"), "xlsx", &body).await;
    assert_eq!(file.status, StatusCode::UNAUTHORIZED);
    assert_eq!(file.error_code(), "UNAUTHENTICATED");
}

/// Everything that is not one query with one connection is refused, in GraphQL's error
/// shape with a status, and nothing half made.
async fn what_cannot_be_exported_is_refused_clearly(app: TestApp) {
    let token = app.login("analyst").await;
    let refused = |query: &str| json!({ "query": query });
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        (
            "mutation { logout }",
            "BAD_USER_INPUT",
            StatusCode::BAD_REQUEST,
            "mutation",
        ),
        (
            "{ plans { totalCount } me { role } }",
            "BAD_USER_INPUT",
            StatusCode::BAD_REQUEST,
            "no connection",
        ),
        (
            "{ plans { edges { node { code } } } tasks { nodes { number } } }",
            "BAD_USER_INPUT",
            StatusCode::BAD_REQUEST,
            "2 connections",
        ),
        (
            "{ plans { edges { node { code tasks { edges { node { number } } } } } } }",
            "BAD_USER_INPUT",
            StatusCode::BAD_REQUEST,
            "2 connections",
        ),
        (
            "{ tasks { edges { node { id bogus } } } }",
            "GRAPHQL_VALIDATION_FAILED",
            StatusCode::BAD_REQUEST,
            "bogus",
        ),
        (
            "{ tasks { edges { node { id } }",
            "GRAPHQL_PARSE_FAILED",
            StatusCode::BAD_REQUEST,
            "",
        ),
    ];
    for (query, code, status, says) in cases {
        let file = export_as(&app, Some(&token), "xlsx", &refused(query)).await;
        assert_eq!(file.status, *status, "{query}: {}", file.error());
        assert_eq!(file.error_code(), *code, "{query}");
        assert!(
            file.error_message().contains(says),
            "{query}: {}",
            file.error_message()
        );
    }

    // A format other than xlsx or csv, or none: refused before any database work.
    let before = app.statement_count();
    for uri in [
        "/export?format=pdf",
        "/export",
        "/export?format=csv&format=xlsx",
    ] {
        let file = export_raw(
            &app,
            Some(&token),
            uri,
            "application/json",
            refused("{ tasks { nodes { number } } }").to_string(),
        )
        .await;
        assert_eq!(file.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(file.error_code(), "BAD_USER_INPUT", "{uri}");
    }
    assert_eq!(app.statement_count(), before, "no database work");

    // The body rules of POST /graphql.
    let cases = [
        (
            "text/plain",
            "{\"query\":\"{ tasks { nodes { id } } }\"}".to_owned(),
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ("application/json", "{\"query\":".to_owned(), "BAD_REQUEST"),
        (
            "application/json",
            "[{\"query\":\"{ tasks { nodes { id } } }\"}]".to_owned(),
            "BAD_REQUEST",
        ),
        (
            "application/json",
            format!("{{\"query\":\"{}\"}}", " ".repeat(2_000_000)),
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (content_type, body, code) in cases {
        let file = export_raw(&app, Some(&token), "/export?format=csv", content_type, body).await;
        assert_eq!(file.error_code(), code, "{content_type}");
        assert_ne!(file.status, StatusCode::OK);
    }

    // The document guard applies as to any query.
    let deep = format!("{{ tasks {{ nodes {{ id }} }} }} #{}", "x".repeat(70_000));
    let file = export_as(&app, Some(&token), "csv", &refused(&deep)).await;
    assert_eq!(file.error_code(), "BAD_USER_INPUT");
    assert!(
        file.error_message().contains("bytes"),
        "{}",
        file.error_message()
    );
}

/// The document is the caller's: aliases name the columns, fragments and variables work,
/// a paging variable of the caller's own goes unused, `nodes` serves as well as `edges`.
async fn aliases_fragments_and_variables_shape_the_file(app: TestApp) {
    let token = app.login("analyst").await;
    let body = json!({
        "query": "query Tasks($size: Int!, $from: String) {
            all: tasks(first: $size, after: $from) { e: edges { n: node { ...T } } }
          }
          fragment T on Task { no: number section { numeral } leads: leadAgencies { code } }",
        "variables": { "size": 3 },
        "operationName": "Tasks",
    });
    let rows = export_as(&app, Some(&token), "csv", &body).await.csv();
    assert_eq!(rows[0], ["no", "section.numeral", "leads.code"]);
    assert_eq!(
        rows.len() as i64 - 1,
        crate::fixtures::TASKS,
        "every task, not 3: the export pages itself"
    );
    assert_eq!(rows[1][..2], ["1", "I"]);
    assert!(rows[1][2].contains("ubnd-tay-son; "), "{:?}", rows[1]);
    let section_iv = rows.iter().find(|r| r[1] == "IV").unwrap();
    assert_eq!(section_iv[0], "", "a null is an empty cell");

    // No rows: the header alone.
    let empty = json!({ "query": "{ submissions { edges { node { id agency { code } } } } }" });
    let rows = export_as(&app, Some(&token), "csv", &empty).await.csv();
    assert_eq!(rows, [["id", "agency.code"]]);

    let nodes = json!({ "query": "{ agencies { nodes { code kind } } }" });
    let rows = export_as(&app, Some(&token), "xlsx", &nodes)
        .await
        .xlsx_text();
    assert_eq!(rows[0], ["code", "kind"]);
    assert!(
        rows.iter().any(|r| r == &["ubnd-tay-son", "DISTRICT"]),
        "enums by name"
    );
}

/// A cell longer than XLSX allows is refused for XLSX (the CSV takes it); an answer
/// over the response limit goes in smaller pages.
async fn large_cells_and_pages(app: TestApp) {
    let db = app.owner_db().await;
    many_submissions(&app, 8).await;
    // Two long reports on one task: joined, longer than an XLSX cell holds.
    let long = "đ".repeat(19_000);
    submission::Entity::update_many()
        .col_expr(
            submission::Column::Summary,
            sea_orm::sea_query::Expr::value(long.clone()),
        )
        .exec(&db)
        .await
        .unwrap();
    let token = app.login("analyst").await;
    let query =
        json!({ "query": "{ tasks { edges { node { number submissions { summary } } } } }" });
    let file = export_as(&app, Some(&token), "xlsx", &query).await;
    assert_eq!(
        file.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        file.error()
    );
    assert_eq!(file.error_code(), "EXPORT_TOO_LARGE");
    assert!(
        file.error_message().contains("csv"),
        "{}",
        file.error_message()
    );
    let rows = export_as(&app, Some(&token), "csv", &query).await.csv();
    assert!(rows.iter().any(|row| row[1].len() > 2 * long.len()));
}

on_both_databases!(
    a_large_connection_comes_back_whole,
    an_export_has_the_scope_of_its_caller,
    what_cannot_be_exported_is_refused_clearly,
    aliases_fragments_and_variables_shape_the_file,
    large_cells_and_pages,
);

/// Pages whose answer is over `--max-response-bytes` are asked again, smaller; a single
/// row over it is the response limit's error, no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_shrink_to_fit_the_response_limit() {
    let mut config: ServerConfig = test_config();
    config.limits.max_response_bytes = 6_000;
    let app = TestApp::sqlite_with(config).await;
    many_submissions(&app, 300).await;
    let token = app.login("analyst").await;
    let query = json!({ "query": "{ submissions { edges { node { id summary difficulties agency { name } } } } }" });
    let rows = export_as(&app, Some(&token), "csv", &query).await.csv();
    let listed = app
        .send(
            "/graphql",
            &json!({ "query": "{ submissions { totalCount } }" }),
            Some(&token),
        )
        .await;
    assert_eq!(
        Some(rows.len() as u64 - 1),
        listed.data()["submissions"]["totalCount"].as_u64(),
        "every report the analyst may list"
    );

    let db = app.owner_db().await;
    submission::Entity::update_many()
        .col_expr(
            submission::Column::Summary,
            sea_orm::sea_query::Expr::value("x".repeat(7_000)),
        )
        .exec(&db)
        .await
        .unwrap();
    let file = export_as(&app, Some(&token), "csv", &query).await;
    assert_eq!(file.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(file.error_code(), "RESPONSE_TOO_LARGE");
}
