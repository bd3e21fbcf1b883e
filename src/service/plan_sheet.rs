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

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{
    domain::{SectionPart, TaskSchedule},
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
/// On a section's heading: «Văn bản» for the duties the decision's text gives (section
/// III, "Tổ chức thực hiện"), empty for a section of the appendix.
const PART: &str = "Phần";
const BODY_PART: &str = "Văn bản";
const APPENDIX_COLUMNS: [&str; 9] = [
    MUC,
    STT,
    CONTENT,
    LEAD,
    PARTNER,
    DELIVERABLES,
    TIMEFRAME,
    NOTE,
    PART,
];

/// «Địa bàn»: the jurisdiction of the agency's code where it is not the plan's ("vn").
const AGENCY_COLUMNS: [&str; 6] = ["Mã", "Tên", "Tên viết tắt", "Loại", "Báo cáo", "Địa bàn"];
/// «Đại diện cho»: PLAN_COORDINATOR for a group standing for the plan's coordinator.
const GROUP_COLUMNS: [&str; 7] = [
    "Mã",
    "Tên",
    "Thành viên",
    "Thành viên theo loại",
    "Riêng kế hoạch",
    "Ghi chú",
    "Đại diện cho",
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

    /// The appendix: the sheet «Phụ lục», else the first; with its name.
    fn appendix(&self) -> ServiceResult<(&str, &Table)> {
        let wanted = text::fold(APPENDIX_SHEET);
        self.0
            .iter()
            .find(|(n, _)| text::fold(n.trim()) == wanted)
            .or_else(|| self.0.first())
            .map(|(n, t)| (n.as_str(), t))
            .ok_or_else(|| bad("the workbook has no sheet".into()))
    }

    /// Whether the plan's head (sheets "Kế hoạch", "Cơ quan", …) is in the file.
    pub fn has_head(&self) -> bool {
        self.named(PLAN_SHEET).is_some()
    }
}

/// The text of a cell at `(row, column)` (from 0), or why it has none: an error value
/// (#REF!, #N/A …) is a problem of the file, not an empty cell.
fn cell_text(cell: &DataRef<'_>, sheet: &str, at: (u32, u32)) -> ServiceResult<String> {
    Ok(match cell {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        // A date cell is a count of days from Excel's day zero.
        DataRef::DateTime(d) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|zero| zero.checked_add_signed(chrono::Duration::days(d.as_f64() as i64)))
            .map(|day| day.to_string())
            .unwrap_or_default(),
        DataRef::Error(e) => {
            return Err(bad(format!(
                "sheet «{sheet}» row {}, column {}: the cell holds the error {e}",
                at.0 + 1,
                at.1 + 1
            )));
        }
        DataRef::Empty => String::new(),
    })
}

/// Most bytes a workbook's parts may hold once decompressed: a plan's workbook holds
/// well under a megabyte, and a small file must not expand into gigabytes.
const MAX_UNCOMPRESSED_BYTES: u64 = 32 * 1024 * 1024;
/// Most columns a sheet may use.
const MAX_COLUMNS: u32 = 64;

/// Decompresses every part of the workbook, counting, and refuses one that holds more
/// than [`MAX_UNCOMPRESSED_BYTES`] whatever its headers claim.
fn check_expanded_size(bytes: &[u8]) -> ServiceResult<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let mut left = MAX_UNCOMPRESSED_BYTES;
    for i in 0..archive.len() {
        let part = archive
            .by_index(i)
            .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
        let read = std::io::copy(
            &mut std::io::Read::take(part, left + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
        if read > left {
            return Err(bad(format!(
                "the workbook expands to more than {} MB",
                MAX_UNCOMPRESSED_BYTES / 1024 / 1024
            )));
        }
        left -= read;
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8]) -> ServiceResult<Sheets> {
    check_expanded_size(bytes)?;
    // The XLSX parser can panic on hostile cell references; that is a bad file, not a
    // crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_sheets(bytes))).unwrap_or_else(
        |_| {
            Err(bad(
                "not a readable XLSX workbook: malformed sheet data".into()
            ))
        },
    )
}

/// Each sheet's used cells, cell by cell: a cell placed beyond [`MAX_ROWS`] rows or
/// [`MAX_COLUMNS`] columns is refused before anything is laid out for it.
fn read_sheets(bytes: &[u8]) -> ServiceResult<Sheets> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let mut sheets = Vec::new();
    for name in workbook.sheet_names() {
        let mut cells = workbook
            .worksheet_cells_reader(&name)
            .map_err(|e| bad(format!("sheet «{name}» cannot be read: {e}")))?;
        let mut table: Table = Vec::new();
        while let Some(cell) = cells
            .next_cell()
            .map_err(|e| bad(format!("sheet «{name}» cannot be read: {e}")))?
        {
            let (row, column) = cell.get_position();
            if row as usize >= MAX_ROWS || column >= MAX_COLUMNS {
                return Err(bad(format!(
                    "sheet «{name}» has a cell beyond row {MAX_ROWS} or column {MAX_COLUMNS}"
                )));
            }
            let text = cell_text(cell.get_value(), &name, (row, column))?;
            if text.is_empty() {
                continue;
            }
            let row = row as usize;
            if table.len() <= row {
                table.resize(row + 1, Vec::new());
            }
            let cells = &mut table[row];
            if cells.len() <= column as usize {
                cells.resize(column as usize + 1, String::new());
            }
            cells[column as usize] = text;
        }
        sheets.push((name.clone(), checked(&name, table)?));
    }
    Ok(Sheets(sheets))
}

fn read_csv(bytes: &[u8]) -> ServiceResult<Table> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut table: Table = Vec::new();
    // Rows are numbered by the line they start on, blank lines included, as an editor
    // shows them (the reader skips blank lines, and places a record after one at it).
    let (mut counted_to, mut lines_before) = (0, 0);
    let mut line_at = |byte: usize| {
        let byte = byte.min(bytes.len());
        let start = byte
            + bytes[byte..]
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
        if start >= counted_to {
            lines_before += bytes[counted_to..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = start;
        }
        lines_before + 1
    };
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(table.len() + 1, |p| p.line() as usize);
            bad(format!("CSV line {line}: {e}"))
        })?;
        let line = record
            .position()
            .map_or(table.len() + 1, |p| line_at(p.byte() as usize));
        if line > MAX_ROWS {
            return Err(bad(format!("the CSV file has more than {MAX_ROWS} rows")));
        }
        if record.len() > MAX_COLUMNS as usize {
            return Err(bad(format!(
                "CSV line {line} has more than {MAX_COLUMNS} columns"
            )));
        }
        table.resize(line.saturating_sub(1).max(table.len()), Vec::new());
        table.push(record.iter().map(str::to_owned).collect());
    }
    checked(APPENDIX_SHEET, table)
}

fn checked(sheet: &str, table: Table) -> ServiceResult<Table> {
    for (i, row) in table.iter().enumerate() {
        if let Some(column) = row.iter().position(|c| c.chars().count() > MAX_CELL_CHARS) {
            return Err(bad(format!(
                "sheet «{sheet}» row {}, column {}: a cell longer than {MAX_CELL_CHARS} characters",
                i + 1,
                column + 1
            )));
        }
    }
    Ok(table)
}

/// A sheet read by its header: columns found by name, whatever their order, case or
/// diacritics.
struct Columns<'t> {
    table: &'t Table,
    /// The header's row, from 0: titles may stand above it.
    header_row: usize,
    index: Vec<Option<usize>>,
}

/// Rows above a sheet's header where a title or a note may stand.
const MAX_ROWS_ABOVE_HEADER: usize = 10;

impl<'t> Columns<'t> {
    /// The sheet's columns named `wanted`, of which the first `required` must be there:
    /// the header is the first row, of the first few, that names them all.
    fn new(sheet: &str, table: &'t Table, wanted: &[&str], required: usize) -> ServiceResult<Self> {
        let wanted_keys: Vec<String> = wanted.iter().map(|w| text::fold(w)).collect();
        let positions = |row: &[String]| -> Vec<Vec<usize>> {
            wanted_keys
                .iter()
                .map(|key| {
                    row.iter()
                        .enumerate()
                        .filter(|(_, h)| text::fold(h.trim()) == *key)
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect()
        };
        let found = table
            .iter()
            .take(MAX_ROWS_ABOVE_HEADER + 1)
            .enumerate()
            .map(|(i, row)| (i, positions(row)))
            .find(|(_, at)| at[..required].iter().all(|p| !p.is_empty()));
        let Some((header_row, at)) = found else {
            let first = table
                .iter()
                .position(|row| row.iter().any(|c| !c.trim().is_empty()));
            let missing: Vec<&str> = match first {
                Some(i) => {
                    let at = positions(&table[i]);
                    wanted[..required]
                        .iter()
                        .zip(&at)
                        .filter(|(_, p)| p.is_empty())
                        .map(|(name, _)| *name)
                        .collect()
                }
                None => wanted[..required].to_vec(),
            };
            return Err(bad(format!(
                "sheet «{sheet}» has no header row naming the column(s) {} (looked at its \
                 first {} rows)",
                missing.join(", "),
                MAX_ROWS_ABOVE_HEADER + 1
            )));
        };
        if let Some(twice) = wanted.iter().zip(&at).find(|(_, p)| p.len() > 1) {
            return Err(bad(format!(
                "sheet «{sheet}» row {}: the column {} appears twice",
                header_row + 1,
                twice.0
            )));
        }
        let index = at.into_iter().map(|p| p.first().copied()).collect();
        Ok(Self {
            table,
            header_row,
            index,
        })
    }

    /// The rows after the header, with their row numbers as a spreadsheet shows them;
    /// empty rows are skipped.
    fn rows(&self) -> impl Iterator<Item = (usize, Row<'_>)> {
        self.table
            .iter()
            .enumerate()
            .skip(self.header_row + 1)
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
        jurisdiction: field("jurisdiction").ok(),
        issuer: field("issuer")?,
        coordinator: field("coordinator")?,
        issued_on: day("issued_on", field("issued_on")?)?,
        effective_on: match field("effective_on") {
            Ok(value) => Some(day("effective_on", value)?),
            Err(_) => None,
        },
        start_year: year("start_year")?,
        end_year: year("end_year")?,
        recipients: field("recipients")
            .map(|codes| {
                codes
                    .split([',', ';', '\n'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
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
            jurisdiction: Some(row.get(5))
                .filter(|j| !j.is_empty())
                .map(str::to_owned),
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
            expands_to: Some(row.get(6))
                .filter(|e| !e.is_empty())
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
        for name in [&agency.name, &agency.short_name] {
            index.add(name, named.clone());
        }
        if let Some(province) = &province {
            index.add_without_province(&agency.name, province, named.clone());
        }
    }
    for group in &head.groups {
        index.add(&group.name, Named::Group(group.code.clone()));
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
    let (sheet_name, table) = sheets.appendix()?;
    let columns = Columns::new(sheet_name, table, &APPENDIX_COLUMNS, 7)?;
    let phase_codes: Vec<&str> = head.phases.iter().map(|p| p.code.as_str()).collect();
    let years = head.plan.start_year..=head.plan.end_year;
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
    // The row of each section's heading.
    let mut section_rows: Vec<usize> = Vec::new();
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
            if let Some(first) = sections.iter().position(|s| s.numeral == muc) {
                problem(
                    MUC,
                    format!(
                        "section {muc} appears twice (first on row {})",
                        section_rows[first]
                    ),
                );
            }
            let part = match text::fold(row.get(8)).as_str() {
                "" | "phu luc" => None,
                "van ban" => Some(SectionPart::Body.as_str().to_owned()),
                _ => {
                    problem(
                        PART,
                        format!(
                            "«{}» is neither «{BODY_PART}» (the decision's text) nor «Phụ lục» \
                             or empty (the appendix)",
                            row.get(8)
                        ),
                    );
                    None
                }
            };
            section_rows.push(row_number);
            sections.push(SectionRow {
                numeral: muc.to_owned(),
                title: content.to_owned(),
                part,
                tasks: Vec::new(),
            });
            continue;
        }
        if !row.get(8).is_empty() {
            problem(
                PART,
                format!(
                    "«{}» on a task: the part is given on its section's heading row",
                    row.get(8)
                ),
            );
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
                Ok(n) if n > 0 && stt.starts_with(|c: char| c.is_ascii_digit()) => Some(n),
                _ => {
                    problem(STT, format!("«{stt}» is not a task number"));
                    None
                }
            },
        };
        if number.is_some() && section.tasks.iter().any(|t| t.number == number) {
            problem(
                STT,
                format!("task {stt} of section {} appears twice", section.numeral),
            );
        }
        if content.is_empty() {
            problem(CONTENT, "a task needs its content".into());
        }
        let label = match number {
            Some(n) => format!("{}.{n}", section.numeral),
            None => section.numeral.clone(),
        };
        let mut assignees = |column: &'static str, cell: &str| -> Vec<AssigneeRow> {
            let mut rows = Vec::new();
            let names = match names::split_cell(index, cell, &label) {
                Ok(names) => names,
                Err(message) => {
                    problems.push(Problem {
                        row: row_number,
                        column,
                        message,
                    });
                    return rows;
                }
            };
            for CellName { wording, found } in names {
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
        // Each agency or group once per task.
        let mut named: Vec<(&Option<String>, &Option<String>)> = Vec::new();
        for (column, rows) in [(LEAD, &lead), (PARTNER, &partner)] {
            for a in rows {
                if named.contains(&(&a.agency, &a.group)) {
                    problem(
                        column,
                        format!("«{}» is named twice in the task", a.wording),
                    );
                }
                named.push((&a.agency, &a.group));
            }
        }
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
        let (schedule, phases) = match read_timeframe(timeframe, &phase_codes, &years) {
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
    for (section, row) in sections.iter().zip(&section_rows) {
        if section.tasks.is_empty() {
            problems.push(Problem {
                row: *row,
                column: MUC,
                message: format!("section {} has no task", section.numeral),
            });
        }
    }
    if sections.is_empty() && problems.is_empty() {
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

/// A timeframe as the appendix writes it: "Hằng năm" (every year: ANNUAL), one year of
/// the plan's horizon ("Năm 2022": ONCE, for that year), or the phases it names by their
/// years ("Giai đoạn 2021 - 2025 và giai đoạn 2026 - 2030": PHASED).
pub fn read_timeframe(
    wording: &str,
    phases: &[&str],
    years: &std::ops::RangeInclusive<i32>,
) -> Result<(TaskSchedule, Vec<String>), String> {
    let unreadable = || {
        format!(
            "«{wording}» is neither «Hằng năm», a year such as «Năm {}», nor phases such as \
             «Giai đoạn 2021 - 2025»",
            years.start()
        )
    };
    let words: Vec<String> = text::fold(wording)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if words == ["hang", "nam"] {
        return Ok((TaskSchedule::Annual, Vec::new()));
    }
    if let [nam, year] = words.as_slice()
        && nam == "nam"
    {
        let year: i32 = year.parse().map_err(|_| unreadable())?;
        if !years.contains(&year) {
            return Err(format!(
                "«{wording}» is outside the plan's years ({}–{})",
                years.start(),
                years.end()
            ));
        }
        return Ok((TaskSchedule::Once, vec![year.to_string()]));
    }
    // "Giai đoạn 2021 - 2025 và giai đoạn 2026 - 2030": years in pairs, and no other word
    // than "giai đoạn" and "và".
    let mut years = Vec::new();
    for word in &words {
        match word.as_str() {
            "giai" | "doan" | "va" => {}
            year if year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()) => {
                years.push(year.parse::<i32>().map_err(|_| unreadable())?)
            }
            _ => return Err(unreadable()),
        }
    }
    if years.is_empty() || !years.len().is_multiple_of(2) {
        return Err(unreadable());
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
        let part = match section.part.as_deref() {
            Some(part) if part == SectionPart::Body.as_str() => BODY_PART,
            _ => "",
        };
        appendix.push(vec![
            section.numeral.clone(),
            String::new(),
            section.title.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            part.to_owned(),
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
        &[6.0, 5.0, 60.0, 30.0, 30.0, 40.0, 20.0, 30.0, 10.0],
    )?;

    let head = &file.plan;
    let date = |d: &toml::value::Datetime| d.to_string();
    let plan_rows = [
        ("code", head.code.clone()),
        ("title", head.title.clone()),
        (
            "jurisdiction",
            head.jurisdiction.clone().unwrap_or_default(),
        ),
        ("issuer", head.issuer.clone()),
        ("coordinator", head.coordinator.clone()),
        ("issued_on", date(&head.issued_on)),
        (
            "effective_on",
            head.effective_on.as_ref().map(date).unwrap_or_default(),
        ),
        ("start_year", head.start_year.to_string()),
        ("end_year", head.end_year.to_string()),
        ("recipients", head.recipients.join(", ")),
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
                a.jurisdiction.clone().unwrap_or_default(),
            ]
        })
        .collect();
    sheet(
        AGENCY_SHEET,
        &AGENCY_COLUMNS,
        agencies,
        &[22.0, 50.0, 24.0, 18.0, 8.0, 12.0],
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
                g.expands_to.clone().unwrap_or_default(),
            ]
        })
        .collect();
    sheet(
        GROUP_SHEET,
        &GROUP_COLUMNS,
        groups,
        &[22.0, 44.0, 60.0, 18.0, 10.0, 40.0, 20.0],
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
        let years = 2021..=2030;
        assert_eq!(
            read_timeframe("Hằng năm", &phases, &years),
            Ok((TaskSchedule::Annual, vec![]))
        );
        assert_eq!(
            read_timeframe(
                "Giai đoạn 2021 - 2025, giai đoạn 2026 – 2030",
                &phases,
                &years
            ),
            Ok((
                TaskSchedule::Phased,
                vec!["2021-2025".to_owned(), "2026-2030".to_owned()]
            ))
        );
        assert_eq!(
            read_timeframe("Năm 2022", &phases, &years),
            Ok((TaskSchedule::Once, vec!["2022".to_owned()]))
        );
        assert!(
            read_timeframe("Năm 2035", &phases, &years)
                .unwrap_err()
                .contains("outside the plan's years")
        );
        assert!(
            read_timeframe("Giai đoạn 2031 - 2035", &phases, &years)
                .unwrap_err()
                .contains("not one of the plan's")
        );
        for loose in [
            "Quý IV",
            "Không hằng năm",
            "Quý IV hằng năm 2026-2030",
            "Trước 30/6/2026-2030",
        ] {
            assert!(read_timeframe(loose, &phases, &years).is_err(), "{loose}");
        }
    }

    fn csv_problems(appendix: &str) -> String {
        let head = seed::parse(seed::PLAN_768).unwrap();
        let sheets = Sheets::read(&SheetFile::Csv(appendix.as_bytes().to_vec())).unwrap();
        read_appendix(&sheets, &head, &name_index(&head))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_problem_of_an_appendix_is_reported_with_its_row() {
        let said = csv_problems(
            "Kế hoạch ví dụ\n\n\
             Mục,STT,Nội dung,Cơ quan chủ trì,Cơ quan phối hợp,Sản phẩm,Thời gian\n\
             I,,Mục một,,,,\n\
             ,1,Việc một,Sở Tư pháp,Sở Tư pháp,Văn bản,Hằng năm\n\n\
             ,1,Việc hai,Sở Y tế,,Văn bản,Hằng năm\n\
             ,+2,Việc ba,Sở Y tế,,Văn bản,Không hằng năm\n\
             I,,Mục một lần nữa,,,,\n\
             II,,Mục trống,,,,\n",
        );
        for expected in [
            "row 5, Cơ quan phối hợp: «Sở Tư pháp» is named twice in the task",
            "row 7, STT: task 1 of section I appears twice",
            "row 8, STT: «+2» is not a task number",
            "row 8, Thời gian: «Không hằng năm» is neither",
            "row 9, Mục: section I appears twice (first on row 4)",
            "row 10, Mục: section II has no task",
        ] {
            assert!(said.contains(expected), "{expected}\n{said}");
        }
        let said = csv_problems(
            "Mục,STT,Nội dung,Cơ quan chủ trì,Cơ quan phối hợp,Sản phẩm,Thời gian,Cơ quan chủ trì\n",
        );
        assert!(
            said.contains("the column Cơ quan chủ trì appears twice"),
            "{said}"
        );
    }

    #[test]
    fn the_part_is_given_on_a_sections_heading_only() {
        let said = csv_problems(
            "Mục,STT,Nội dung,Cơ quan chủ trì,Cơ quan phối hợp,Sản phẩm,Thời gian,Phần\n\
             I,,Mục một,,,,,Phụ lục\n\
             ,1,Việc một,Sở Tư pháp,,Văn bản,Hằng năm,Văn bản\n\
             II,,Mục hai,,,,,rác\n\
             ,1,Việc hai,Sở Y tế,,Văn bản,Năm 2035,\n",
        );
        for expected in [
            "row 3, Phần: «Văn bản» on a task: the part is given on its section's heading row",
            "row 4, Phần: «rác» is neither «Văn bản»",
            "row 5, Thời gian: «Năm 2035» is outside the plan's years (2021–2030)",
        ] {
            assert!(said.contains(expected), "{expected}\n{said}");
        }
    }

    #[test]
    fn a_small_workbook_cannot_claim_a_huge_sheet() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "a").unwrap();
        sheet.write_string(1_048_575, 16_383, "b").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let error = Sheets::read(&SheetFile::Xlsx(bytes))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("beyond row 5000"), "{error}");
        let error = Sheets::read(&SheetFile::Xlsx(b"PK not a zip".to_vec()))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("not a readable XLSX workbook"), "{error}");
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
