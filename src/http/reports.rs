//! `GET /reports/{planCode}/{periodCode}.xlsx|.csv`: the consolidated report as a file.
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{
    AppState, authenticate,
    error::HttpError,
    spreadsheet::{BOM, FileFormat, attachment, text_cell},
};
use crate::{
    graphql::session::Session,
    service::{
        ServiceError,
        progress::ProgressCounts,
        report::{self, ConsolidatedReport, HEADINGS},
    },
};

pub async fn consolidated(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((plan_code, file)): Path<(String, String)>,
) -> Response {
    match render(&app, &headers, &plan_code, &file).await {
        Ok(response) => response,
        Err(error) => HttpError(error).into_response(),
    }
}

/// Splits `PERIOD.xlsx` or `PERIOD.csv` into the period code and the format.
fn split(file: &str) -> Result<(&str, FileFormat), ServiceError> {
    let (period_code, extension) = file
        .rsplit_once('.')
        .ok_or_else(|| ServiceError::bad_input("ask for PERIOD.xlsx or PERIOD.csv"))?;
    Ok((period_code, FileFormat::from_extension(extension)?))
}

async fn render(
    app: &super::App,
    headers: &HeaderMap,
    plan_code: &str,
    file: &str,
) -> Result<Response, ServiceError> {
    // The format is checked first: an unknown one costs no database work at all.
    let (period_code, format) = split(file)?;
    let Session::SignedIn { scope, .. } = authenticate(app, headers).await? else {
        return Err(ServiceError::Unauthenticated);
    };
    let report = report::build(&app.db, &scope, plan_code, period_code).await?;
    let name = format!("bao-cao-{}-{}", slug(&report.plan.code), slug(period_code));
    let body = match format {
        FileFormat::Xlsx => {
            xlsx(&report).map_err(|e| ServiceError::Internal(format!("xlsx: {e}")))?
        }
        FileFormat::Csv => csv(&report).map_err(|e| ServiceError::Internal(format!("csv: {e}")))?,
    };
    Ok(attachment(format, &name, body))
}

/// An ASCII file-name part: "768/QĐ-UBND" → "768-qd-ubnd".
fn slug(text: &str) -> String {
    crate::service::text::fold(text)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The text cells of a report row, neutralized.
fn cells(row: &report::ReportRow) -> [String; 13] {
    [
        row.section.clone(),
        row.task_number.map(|n| n.to_string()).unwrap_or_default(),
        row.task_content.clone(),
        row.agency.clone(),
        row.status.to_owned(),
        row.progress.to_owned(),
        row.summary.clone(),
        row.results.clone(),
        row.difficulties.clone(),
        row.proposals.clone(),
        row.evidence.clone(),
        row.submitted_on.clone().unwrap_or_default(),
        row.reviewed_on.clone().unwrap_or_default(),
    ]
    .map(|cell| text_cell(&cell).into_owned())
}

const SUMMARY_HEADINGS: [&str; 9] = [
    "Đơn vị",
    "Số báo cáo phải nộp",
    "Đã gửi",
    "Đã tiếp nhận",
    "Trả lại",
    "Đúng hạn",
    "Hoàn thành",
    "Tỷ lệ đầy đủ (%)",
    "Tỷ lệ đúng hạn (%)",
];

/// The summary's numbers; a rate is empty where it is undefined (nothing expected, or
/// nothing came in), never 0.
fn summary_numbers(c: &ProgressCounts) -> [Option<f64>; 8] {
    let percent = |rate: Option<f64>| rate.map(|r| (r * 1000.0).round() / 10.0);
    [
        Some(c.expected as f64),
        Some(c.submitted as f64),
        Some(c.accepted as f64),
        Some(c.returned as f64),
        Some(c.on_time as f64),
        Some(c.completed as f64),
        percent(c.completeness),
        percent(c.timeliness),
    ]
}

fn xlsx(report: &ConsolidatedReport) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let wrap = Format::new().set_text_wrap();

    let sheet = workbook.add_worksheet();
    sheet.set_name("Báo cáo")?;
    for (col, heading) in HEADINGS.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, text_cell(heading), &bold)?;
    }
    for (i, row) in report.rows.iter().enumerate() {
        for (col, value) in cells(row).iter().enumerate() {
            sheet.write_string_with_format(i as u32 + 1, col as u16, value, &wrap)?;
        }
    }
    sheet.set_column_width(2, 60)?;
    sheet.set_column_width(3, 30)?;
    for col in 6..=10 {
        sheet.set_column_width(col, 40)?;
    }
    sheet.set_freeze_panes(1, 0)?;

    let summary = workbook.add_worksheet();
    summary.set_name("Tổng hợp")?;
    let mut line = 0;
    let title = format!("{} — kỳ báo cáo {}", report.plan.code, report.period_code);
    summary.write_string_with_format(line, 0, text_cell(&title), &bold)?;
    line += 2;
    let groups: [(&str, Vec<(String, &ProgressCounts)>); 2] = [
        (
            "Theo cơ quan",
            report
                .by_agency
                .iter()
                .map(|(a, c)| (a.name.clone(), c))
                .collect(),
        ),
        (
            "Theo lĩnh vực (mục)",
            report
                .by_section
                .iter()
                .map(|(s, c)| (format!("{}. {}", s.numeral, s.title), c))
                .collect(),
        ),
    ];
    for (title, rows) in groups {
        summary.write_string_with_format(line, 0, text_cell(title), &bold)?;
        line += 1;
        for (col, heading) in SUMMARY_HEADINGS.iter().enumerate() {
            summary.write_string_with_format(line, col as u16, text_cell(heading), &bold)?;
        }
        line += 1;
        for (label, counts) in rows {
            summary.write_string(line, 0, text_cell(&label))?;
            for (col, number) in summary_numbers(counts).iter().enumerate() {
                if let Some(number) = number {
                    summary.write_number(line, col as u16 + 1, *number)?;
                }
            }
            line += 1;
        }
        line += 1;
    }
    summary.set_column_width(0, 50)?;
    workbook.save_to_buffer()
}

/// UTF-8 with a byte-order mark, so that spreadsheet programs show the diacritics. Every
/// text cell of both formats goes through `text_cell`.
fn csv(report: &ConsolidatedReport) -> Result<Vec<u8>, csv::Error> {
    let mut out = BOM.as_bytes().to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(HEADINGS.map(|heading| text_cell(heading).into_owned()))?;
        for row in &report.rows {
            writer.write_record(cells(row))?;
        }
        writer.flush()?;
    }
    Ok(out)
}
