//! A plan as a spreadsheet, the way plans are published and passed around: the appendix's
//! columns (Mục, STT, Nội dung, Cơ quan chủ trì, Cơ quan phối hợp, Sản phẩm, Thời gian),
//! in an XLSX workbook or a CSV file. Reading gives the plan file of the TOML format, with
//! the appendix's agency names matched to codes (`names`); every name that matches no
//! agency or several, and every unreadable cell, is reported at once. Writing gives the
//! workbook that reading takes back.
//!
//! A workbook holds the appendix on its sheet "Phụ lục" (or its first sheet), and may
//! hold the rest of the plan on the sheets "Kế hoạch" (field, value), "Cơ quan" (the
//! agencies), "Nhóm" (the groups) and "Giai đoạn" (the phases). A CSV file is an appendix
//! only; the rest then comes from a plan file in TOML without sections (`--head`).
use std::{collections::HashSet, io::Cursor};

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{
    domain::TaskSchedule,
    error::{ServiceError, ServiceResult},
    names::{self, CellName, Lookup, NameIndex, Named},
    seed::{AgencyRow, AssigneeRow, GroupRow, PhaseRow, PlanFile, PlanHead, SectionRow, TaskRow},
    text,
};

pub const APPENDIX_SHEET: &str = "Phụ lục";
pub const PLAN_SHEET: &str = "Kế hoạch";
pub const AGENCY_SHEET: &str = "Cơ quan";
pub const GROUP_SHEET: &str = "Nhóm";
pub const PHASE_SHEET: &str = "Giai đoạn";

/// The appendix's columns, in the decision's order, and the note of inferred content.
const MUC: &str = "Mục";
const STT: &str = "STT";
const CONTENT: &str = "Nội dung";
const LEAD: &str = "Cơ quan chủ trì";
const PARTNER: &str = "Cơ quan phối hợp";
const DELIVERABLES: &str = "Sản phẩm";
const TIMEFRAME: &str = "Thời gian";
const NOTE: &str = "Ghi chú";
const APPENDIX_COLUMNS: [&str; 8] = [
    MUC,
    STT,
    CONTENT,
    LEAD,
    PARTNER,
    DELIVERABLES,
    TIMEFRAME,
    NOTE,
];

const AGENCY_COLUMNS: [&str; 5] = ["Mã", "Tên", "Tên viết tắt", "Loại", "Báo cáo"];
const GROUP_COLUMNS: [&str; 6] = [
    "Mã",
    "Tên",
    "Thành viên",
    "Thành viên theo loại",
    "Riêng kế hoạch",
    "Ghi chú",
];
const PHASE_COLUMNS: [&str; 2] = ["Mã", "Tên"];

/// Largest spreadsheet read, in bytes, and most rows of one sheet: a plan's appendix has
/// tens of rows, a province's agencies hundreds.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ROWS: usize = 5_000;
/// Longest cell read, in characters.
const MAX_CELL_CHARS: usize = 10_000;

/// A spreadsheet file, by format.
pub enum SheetFile {
    Xlsx(Vec<u8>),
    Csv(Vec<u8>),
}

impl SheetFile {
    /// The file's bytes as the format its extension names (`xlsx` or `csv`).
    pub fn from_extension(extension: &str, bytes: Vec<u8>) -> ServiceResult<Self> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(bad(format!(
                "the file is larger than {} MB",
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        match extension.to_ascii_lowercase().as_str() {
            "xlsx" => Ok(Self::Xlsx(bytes)),
            "csv" => Ok(Self::Csv(bytes)),
            other => Err(bad(format!(
                "unknown spreadsheet format `{other}`: use xlsx or csv"
            ))),
        }
    }
}

fn bad(message: String) -> ServiceError {
    ServiceError::BadInput(format!("plan data: {message}"))
}

/// A sheet's rows of text cells, the header first.
type Table = Vec<Vec<String>>;

/// A spreadsheet's sheets, by name, in order.
pub struct Sheets(Vec<(String, Table)>);

impl Sheets {
    pub fn read(file: &SheetFile) -> ServiceResult<Self> {
        match file {
            SheetFile::Xlsx(bytes) => read_xlsx(bytes),
            SheetFile::Csv(bytes) => Ok(Self(vec![(APPENDIX_SHEET.to_owned(), read_csv(bytes)?)])),
        }
    }

    fn named(&self, name: &str) -> Option<&Table> {
        let wanted = text::fold(name);
        self.0
            .iter()
            .find(|(n, _)| text::fold(n.trim()) == wanted)
            .map(|(_, t)| t)
    }

    fn appendix(&self) -> ServiceResult<&Table> {
        self.named(APPENDIX_SHEET)
            .or_else(|| self.0.first().map(|(_, t)| t))
            .ok_or_else(|| bad("the workbook has no sheet".into()))
    }

    /// Whether the plan's head (sheets "Kế hoạch", "Cơ quan", …) is in the file.
    pub fn has_head(&self) -> bool {
        self.named(PLAN_SHEET).is_some()
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        // A date cell is a count of days from Excel's day zero.
        Data::DateTime(d) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|zero| zero.checked_add_signed(chrono::Duration::days(d.as_f64() as i64)))
            .map(|day| day.to_string())
            .unwrap_or_default(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

fn read_xlsx(bytes: &[u8]) -> ServiceResult<Sheets> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let mut sheets = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| bad(format!("sheet «{name}» cannot be read: {e}")))?;
        if range.height() > MAX_ROWS {
            return Err(bad(format!("sheet «{name}» has more than {MAX_ROWS} rows")));
        }
        let table = range
            .rows()
            .map(|row| row.iter().map(cell_text).collect())
            .collect();
        sheets.push((name, checked(table)?));
    }
    Ok(Sheets(sheets))
}

fn read_csv(bytes: &[u8]) -> ServiceResult<Table> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut table = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Err(bad(format!("the CSV file has more than {MAX_ROWS} rows")));
        }
        let record = record.map_err(|e| bad(format!("CSV row {}: {e}", i + 1)))?;
        table.push(record.iter().map(str::to_owned).collect());
    }
    checked(table)
}

fn checked(table: Table) -> ServiceResult<Table> {
    for (i, row) in table.iter().enumerate() {
        if row.iter().any(|c| c.chars().count() > MAX_CELL_CHARS) {
            return Err(bad(format!(
                "row {} has a cell longer than {MAX_CELL_CHARS} characters",
                i + 1
            )));
        }
    }
    Ok(table)
}

/// A sheet read by its header: columns found by name, whatever their order, case or
/// diacritics.
struct Columns<'t> {
    table: &'t Table,
    index: Vec<Option<usize>>,
}

impl<'t> Columns<'t> {
    /// The sheet's columns named `wanted`, of which the first `required` must be there.
    fn new(
        sheet: &'static str,
        table: &'t Table,
        wanted: &[&str],
        required: usize,
    ) -> ServiceResult<Self> {
        let header: Vec<String> = table
            .first()
            .map(|row| row.iter().map(|h| text::fold(h.trim())).collect())
            .unwrap_or_default();
        let index: Vec<Option<usize>> = wanted
            .iter()
            .map(|name| header.iter().position(|h| *h == text::fold(name)))
            .collect();
        let missing: Vec<&str> = wanted[..required]
            .iter()
            .zip(&index)
            .filter(|(_, i)| i.is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "sheet «{sheet}» lacks the column(s) {}",
                missing.join(", ")
            )));
        }
        Ok(Self { table, index })
    }

    /// The rows after the header, with their row numbers as a spreadsheet shows them;
    /// empty rows are skipped.
    fn rows(&self) -> impl Iterator<Item = (usize, Row<'_>)> {
        self.table
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, cells)| {
                (
                    i + 1,
                    Row {
                        cells,
                        index: &self.index,
                    },
                )
            })
    }
}

struct Row<'t> {
    cells: &'t [String],
    index: &'t [Option<usize>],
}

impl Row<'_> {
    /// The trimmed cell of the `n`-th wanted column; empty where the column is absent.
    fn get(&self, n: usize) -> &str {
        self.index[n]
            .and_then(|i| self.cells.get(i))
            .map_or("", |c| c.trim())
    }
}

/// Yes or no as a sheet writes it, in row `row_number` of `sheet`.
fn yes_no(sheet: &str, row_number: usize, cell: &str) -> ServiceResult<bool> {
    match text::fold(cell).as_str() {
        "co" | "x" | "true" | "1" | "yes" => Ok(true),
        "" | "khong" | "false" | "0" | "no" => Ok(false),
        _ => Err(bad(format!(
            "sheet «{sheet}» row {row_number}: «{cell}» is not có or không"
        ))),
    }
}

/// The sheets' plan, its agencies, groups and phases (no sections).
pub fn read_head(sheets: &Sheets) -> ServiceResult<PlanFile> {
    let plan_table = sheets
        .named(PLAN_SHEET)
        .ok_or_else(|| bad(format!("the workbook has no sheet «{PLAN_SHEET}»")))?;
    let field = |name: &str| -> ServiceResult<String> {
        plan_table
            .iter()
            .find(|row| row.first().is_some_and(|f| f.trim() == name))
            .and_then(|row| row.get(1))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("sheet «{PLAN_SHEET}» has no `{name}`")))
    };
    let day = |name: &str, value: String| {
        value
            .parse::<toml::value::Datetime>()
            .ok()
            .filter(|d| d.date.is_some() && d.time.is_none())
            .ok_or_else(|| bad(format!("`{name}` = «{value}» is not a date (YYYY-MM-DD)")))
    };
    let year = |name: &str| -> ServiceResult<i32> {
        let value = field(name)?;
        value
            .parse()
            .map_err(|_| bad(format!("`{name}` = «{value}» is not a year")))
    };
    let plan = PlanHead {
        code: field("code")?,
        title: field("title")?,
        issuer: field("issuer")?,
        coordinator: field("coordinator")?,
        issued_on: day("issued_on", field("issued_on")?)?,
        effective_on: match field("effective_on") {
            Ok(value) => Some(day("effective_on", value)?),
            Err(_) => None,
        },
        start_year: year("start_year")?,
        end_year: year("end_year")?,
    };

    let sheet = |name: &'static str| {
        sheets
            .named(name)
            .ok_or_else(|| bad(format!("the workbook has no sheet «{name}»")))
    };
    let agency_sheet = Columns::new(AGENCY_SHEET, sheet(AGENCY_SHEET)?, &AGENCY_COLUMNS, 5)?;
    let mut agencies = Vec::new();
    for (row_number, row) in agency_sheet.rows() {
        let tenant = yes_no(AGENCY_SHEET, row_number, row.get(4))?;
        agencies.push(AgencyRow {
            code: row.get(0).to_owned(),
            name: row.get(1).to_owned(),
            short_name: row.get(2).to_owned(),
            kind: row.get(3).to_owned(),
            tenant,
        });
    }
    let group_sheet = Columns::new(GROUP_SHEET, sheet(GROUP_SHEET)?, &GROUP_COLUMNS, 2)?;
    let mut groups = Vec::new();
    for (row_number, row) in group_sheet.rows() {
        let plan_scoped = yes_no(GROUP_SHEET, row_number, row.get(4))?;
        groups.push(GroupRow {
            code: row.get(0).to_owned(),
            name: row.get(1).to_owned(),
            members: row
                .get(2)
                .split([',', ';', '\n'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            members_of_kind: Some(row.get(3))
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
            plan_scoped,
            note: Some(row.get(5))
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        });
    }
    let phase_sheet = Columns::new(PHASE_SHEET, sheet(PHASE_SHEET)?, &PHASE_COLUMNS, 2)?;
    let phases = phase_sheet
        .rows()
        .map(|(_, row)| PhaseRow {
            code: row.get(0).to_owned(),
            label: row.get(1).to_owned(),
        })
        .collect();
    Ok(PlanFile {
        plan,
        agencies,
        groups,
        phases,
        sections: Vec::new(),
    })
}

/// A name of the appendix that was matched by abbreviation, spelling or case rather than
/// written as the agency's or group's name: shown in the import's report for a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseMatch {
    pub wording: String,
    pub named: Named,
}

/// What reading an appendix gave.
#[derive(Debug)]
pub struct Appendix {
    pub sections: Vec<SectionRow>,
    pub loose_matches: Vec<LooseMatch>,
}

/// One problem of the appendix, where a spreadsheet shows it.
struct Problem {
    row: usize,
    column: &'static str,
    message: String,
}

/// The names an appendix may use: those of the plan's own agencies and groups (the
/// head's), so that a name never reaches another province's agency of the same name.
/// An agency named with its province ("Sở Tài chính tỉnh Thử Nghiệm") is also found
/// without it, as appendices write it ("Sở Tài chính").
pub fn name_index(head: &PlanFile) -> NameIndex {
    let mut index = NameIndex::default();
    let province = head
        .agencies
        .iter()
        .find(|a| a.code == head.plan.issuer)
        .and_then(|issuer| names::province_of(&issuer.name));
    for agency in &head.agencies {
        let named = Named::Agency(agency.code.clone());
        for name in [&agency.name, &agency.short_name, &agency.code] {
            index.add(name, named.clone());
        }
        if let Some(province) = &province {
            index.add_without_province(&agency.name, province, named.clone());
        }
    }
    for group in &head.groups {
        index.add(&group.name, Named::Group(group.code.clone()));
        index.add(&group.code, Named::Group(group.code.clone()));
    }
    index
}

/// The sections of an appendix, its names matched through `index`; the phases a
/// timeframe may name are `head`'s. Every problem is reported, in one error.
pub fn read_appendix(
    sheets: &Sheets,
    head: &PlanFile,
    index: &NameIndex,
) -> ServiceResult<Appendix> {
    let table = sheets.appendix()?;
    let columns = Columns::new(APPENDIX_SHEET, table, &APPENDIX_COLUMNS, 7)?;
    let phase_codes: Vec<&str> = head.phases.iter().map(|p| p.code.as_str()).collect();
    let exact: HashSet<String> = head
        .agencies
        .iter()
        .flat_map(|a| [text::normalize(&a.name), text::normalize(&a.short_name)])
        .chain(head.groups.iter().flat_map(|g| {
            // A group named for a task is written in that task by its wording alone.
            let wording = names::task_qualified(&g.name).map(|(w, _)| text::normalize(w));
            [Some(text::normalize(&g.name)), wording]
                .into_iter()
                .flatten()
        }))
        .collect();
    let mut sections: Vec<SectionRow> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut loose_matches: Vec<LooseMatch> = Vec::new();
    for (row_number, row) in columns.rows() {
        let mut problem = |column: &'static str, message: String| {
            problems.push(Problem {
                row: row_number,
                column,
                message,
            })
        };
        let (muc, stt, content) = (row.get(0), row.get(1), row.get(2));
        let heading = !muc.is_empty() && stt.is_empty() && (3..=6).all(|n| row.get(n).is_empty());
        if heading {
            if content.is_empty() {
                problem(CONTENT, "a section needs a title".into());
            }
            sections.push(SectionRow {
                numeral: muc.to_owned(),
                title: content.to_owned(),
                tasks: Vec::new(),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            problem(
                MUC,
                "a task before any section (a row with only Mục and Nội dung)".into(),
            );
            continue;
        };
        if !muc.is_empty() && muc != section.numeral {
            problem(
                MUC,
                format!("«{muc}» on a task of section {}", section.numeral),
            );
        }
        let number = match stt.trim_end_matches('.') {
            "" => None,
            n => match n.parse::<i32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    problem(STT, format!("«{stt}» is not a task number"));
                    None
                }
            },
        };
        if content.is_empty() {
            problem(CONTENT, "a task needs its content".into());
        }
        let label = match number {
            Some(n) => format!("{}.{n}", section.numeral),
            None => section.numeral.clone(),
        };
        let mut assignees = |column: &'static str, cell: &str| -> Vec<AssigneeRow> {
            let mut rows = Vec::new();
            for CellName { wording, found } in names::split_cell(index, cell, &label) {
                match found {
                    Lookup::One(named) => {
                        if !exact.contains(&text::normalize(&wording)) {
                            let loose = LooseMatch {
                                wording: wording.clone(),
                                named: named.clone(),
                            };
                            if !loose_matches.contains(&loose) {
                                loose_matches.push(loose);
                            }
                        }
                        let (agency, group) = match named {
                            Named::Agency(code) => (Some(code), None),
                            Named::Group(code) => (None, Some(code)),
                        };
                        rows.push(AssigneeRow {
                            wording,
                            agency,
                            group,
                        });
                    }
                    Lookup::Ambiguous(candidates) => problems.push(Problem {
                        row: row_number,
                        column,
                        message: format!(
                            "«{wording}» is ambiguous: it names {}",
                            candidates
                                .iter()
                                .map(Named::to_string)
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                    }),
                    Lookup::Unknown => problems.push(Problem {
                        row: row_number,
                        column,
                        message: match index.nearest(&wording) {
                            Some(near) => format!(
                                "«{wording}» matches no agency or group; did you mean «{near}»?"
                            ),
                            None => format!("«{wording}» matches no agency or group"),
                        },
                    }),
                }
            }
            rows
        };
        let lead = assignees(LEAD, row.get(3));
        let partner = assignees(PARTNER, row.get(4));
        let mut problem = |column: &'static str, message: String| {
            problems.push(Problem {
                row: row_number,
                column,
                message,
            })
        };
        if row.get(3).is_empty() {
            problem(LEAD, "a task needs a lead agency".into());
        }
        let deliverables: Vec<String> = row
            .get(5)
            .split([';', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        if deliverables.is_empty() {
            problem(DELIVERABLES, "a task needs a deliverable".into());
        }
        let timeframe = row.get(6);
        let (schedule, phases) = match read_timeframe(timeframe, &phase_codes) {
            Ok(read) => read,
            Err(message) => {
                problem(TIMEFRAME, message);
                (TaskSchedule::Annual, Vec::new())
            }
        };
        section.tasks.push(TaskRow {
            number,
            content: content.to_owned(),
            lead,
            partner,
            deliverables,
            timeframe: timeframe.to_owned(),
            schedule: schedule.as_str().to_owned(),
            phases,
            inferred: Some(row.get(7))
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        });
    }
    if sections.iter().all(|s| s.tasks.is_empty()) && problems.is_empty() {
        return Err(bad("the appendix has no task".into()));
    }
    if !problems.is_empty() {
        let mut report = format!(
            "the appendix has {} problem(s); nothing was written:",
            problems.len()
        );
        for p in &problems {
            report.push_str(&format!("\n  row {}, {}: {}", p.row, p.column, p.message));
        }
        return Err(bad(report));
    }
    Ok(Appendix {
        sections,
        loose_matches,
    })
}

/// A timeframe as the appendix writes it: "Hằng năm" (every year: ANNUAL), or the phases
/// it names by their years ("Giai đoạn 2021 - 2025 và giai đoạn 2026 - 2030": PHASED).
pub fn read_timeframe(
    wording: &str,
    phases: &[&str],
) -> Result<(TaskSchedule, Vec<String>), String> {
    let folded = text::fold(wording);
    if folded.contains("hang nam") {
        return Ok((TaskSchedule::Annual, Vec::new()));
    }
    let years: Vec<i32> = folded
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 4)
        .filter_map(|w| w.parse().ok())
        .collect();
    if years.is_empty() || !years.len().is_multiple_of(2) {
        return Err(format!(
            "«{wording}» is neither «Hằng năm» nor phases such as «Giai đoạn 2021 - 2025»"
        ));
    }
    let mut named = Vec::new();
    for pair in years.chunks(2) {
        let code = format!("{}-{}", pair[0], pair[1]);
        if !phases.contains(&code.as_str()) {
            return Err(format!(
                "«{wording}» names the phase {code}, which is not one of the plan's ({})",
                phases.join(", ")
            ));
        }
        if !named.contains(&code) {
            named.push(code);
        }
    }
    Ok((TaskSchedule::Phased, named))
}

/// The workbook of a plan: the appendix, then the plan, its agencies, groups and phases.
pub fn write_workbook(file: &PlanFile) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let wrap = Format::new().set_text_wrap();
    let mut sheet = |name: &str, header: &[&str], rows: Vec<Vec<String>>, widths: &[f64]| {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        for (col, heading) in header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *heading, &bold)?;
        }
        for (i, row) in rows.iter().enumerate() {
            for (col, value) in row.iter().enumerate() {
                sheet.write_string_with_format(i as u32 + 1, col as u16, value, &wrap)?;
            }
        }
        for (col, width) in widths.iter().enumerate() {
            sheet.set_column_width(col as u16, *width)?;
        }
        Ok::<_, XlsxError>(())
    };

    let mut appendix = Vec::new();
    for section in &file.sections {
        appendix.push(vec![
            section.numeral.clone(),
            String::new(),
            section.title.clone(),
        ]);
        for task in &section.tasks {
            let wordings = |rows: &[AssigneeRow]| {
                rows.iter()
                    .map(|a| a.wording.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            appendix.push(vec![
                String::new(),
                task.number.map(|n| n.to_string()).unwrap_or_default(),
                task.content.clone(),
                wordings(&task.lead),
                wordings(&task.partner),
                task.deliverables.join("; "),
                task.timeframe.clone(),
                task.inferred.clone().unwrap_or_default(),
            ]);
        }
    }
    sheet(
        APPENDIX_SHEET,
        &APPENDIX_COLUMNS,
        appendix,
        &[6.0, 5.0, 60.0, 30.0, 30.0, 40.0, 20.0, 30.0],
    )?;

    let head = &file.plan;
    let date = |d: &toml::value::Datetime| d.to_string();
    let plan_rows = [
        ("code", head.code.clone()),
        ("title", head.title.clone()),
        ("issuer", head.issuer.clone()),
        ("coordinator", head.coordinator.clone()),
        ("issued_on", date(&head.issued_on)),
        (
            "effective_on",
            head.effective_on.as_ref().map(date).unwrap_or_default(),
        ),
        ("start_year", head.start_year.to_string()),
        ("end_year", head.end_year.to_string()),
    ]
    .into_iter()
    .map(|(field, value)| vec![field.to_owned(), value])
    .collect();
    sheet(PLAN_SHEET, &["Trường", "Giá trị"], plan_rows, &[16.0, 80.0])?;

    let yes_no = |b: bool| if b { "có" } else { "không" }.to_owned();
    let agencies = file
        .agencies
        .iter()
        .map(|a| {
            vec![
                a.code.clone(),
                a.name.clone(),
                a.short_name.clone(),
                a.kind.clone(),
                yes_no(a.tenant),
            ]
        })
        .collect();
    sheet(
        AGENCY_SHEET,
        &AGENCY_COLUMNS,
        agencies,
        &[22.0, 50.0, 24.0, 18.0, 8.0],
    )?;
    let groups = file
        .groups
        .iter()
        .map(|g| {
            vec![
                g.code.clone(),
                g.name.clone(),
                g.members.join(", "),
                g.members_of_kind.clone().unwrap_or_default(),
                yes_no(g.plan_scoped),
                g.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    sheet(
        GROUP_SHEET,
        &GROUP_COLUMNS,
        groups,
        &[22.0, 44.0, 60.0, 18.0, 10.0, 40.0],
    )?;
    let phases = file
        .phases
        .iter()
        .map(|p| vec![p.code.clone(), p.label.clone()])
        .collect();
    sheet(PHASE_SHEET, &PHASE_COLUMNS, phases, &[14.0, 30.0])?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::seed;

    #[test]
    fn timeframes_read_as_the_appendix_writes_them() {
        let phases = ["2021-2025", "2026-2030", "2021-2030"];
        assert_eq!(
            read_timeframe("Hằng năm", &phases),
            Ok((TaskSchedule::Annual, vec![]))
        );
        assert_eq!(
            read_timeframe("Giai đoạn 2021 - 2025, giai đoạn 2026 – 2030", &phases),
            Ok((
                TaskSchedule::Phased,
                vec!["2021-2025".to_owned(), "2026-2030".to_owned()]
            ))
        );
        assert!(
            read_timeframe("Giai đoạn 2031 - 2035", &phases)
                .unwrap_err()
                .contains("not one of the plan's")
        );
        assert!(read_timeframe("Quý IV", &phases).is_err());
    }

    /// The built-in plan written as a workbook reads back as the same plan file.
    #[test]
    fn the_built_in_plan_reads_back_from_its_workbook() {
        let original = seed::parse(seed::PLAN_768).unwrap();
        let bytes = write_workbook(&original).unwrap();
        let sheets = Sheets::read(&SheetFile::Xlsx(bytes)).unwrap();
        let head = read_head(&sheets).unwrap();
        assert_eq!(head.plan, original.plan);
        assert_eq!(head.agencies, original.agencies);
        assert_eq!(head.groups, original.groups);
        assert_eq!(head.phases, original.phases);
        let index = name_index(&head);
        let appendix = read_appendix(&sheets, &head, &index).unwrap();
        assert_eq!(appendix.sections, original.sections);
        assert!(
            appendix.loose_matches.is_empty(),
            "{:?}",
            appendix.loose_matches
        );
    }
}
