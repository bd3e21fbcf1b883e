//! Reorganizations from files, for the command line: new agencies and successions in
//! one TOML file (`plantrack record-succession FILE`), and the communes that took over
//! from the districts, from a CSV file (`plantrack import-communes FILE`). Each file is
//! one transaction: it lands whole or not at all.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use entity::{agency, section, task};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde::Deserialize;

use super::{
    ServiceError, ServiceResult, catalog,
    domain::AgencyKind,
    seed::{AgencyRow, new_agency},
    succession::{self, Handover, Succession, SuccessionReport},
};

/// The 2025 reorganization of Binh Dinh's departments and districts, as far as published
/// decisions confirm it: optional data, loaded by `plantrack record-succession`.
pub const REORGANIZATION_2025: &str = include_str!("../../seed/reorganization-2025.toml");

/// A reorganization file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorganizationFile {
    /// The plan whose tasks `tasks` lists refer to ("II.3": section numeral and number).
    pub plan: Option<String>,
    #[serde(default)]
    pub agencies: Vec<NewAgency>,
    #[serde(default)]
    pub successions: Vec<SuccessionRow>,
}

/// An agency the reorganization creates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgency {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub tenant: bool,
    /// Its first day.
    pub valid_from: Option<toml::value::Datetime>,
    /// The jurisdiction of its code; by default the plan's (see `plan`).
    pub jurisdiction: Option<String>,
    /// The decision that creates it.
    pub source: String,
}

/// One agency ending, and who takes its work.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessionRow {
    pub agency: String,
    pub last_day: toml::value::Datetime,
    /// The decision that ends it and hands its work on.
    pub source: String,
    pub handovers: Vec<HandoverRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverRow {
    pub successor: String,
    /// Tasks as "II.3" (or "IV" for a task without a number); none: the rest.
    pub tasks: Option<Vec<String>>,
    #[serde(default)]
    pub coordination: bool,
}

/// What a file did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub agencies_added: usize,
    pub successions_recorded: usize,
    /// Successions already recorded with the same last day (a file loaded twice).
    pub successions_already_recorded: usize,
    pub passed: SuccessionReport,
}

impl std::fmt::Display for FileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "added {} agencies; recorded {} successions ({} already recorded); passed on {} \
             assignments, {} group memberships, the coordination of {} plans",
            self.agencies_added,
            self.successions_recorded,
            self.successions_already_recorded,
            self.passed.assignments_passed,
            self.passed.memberships_passed,
            self.passed.plans_passed
        )
    }
}

fn bad(message: String) -> ServiceError {
    ServiceError::bad_input(message)
}

fn day(value: &toml::value::Datetime, what: &str) -> ServiceResult<NaiveDate> {
    if value.time.is_some() || value.offset.is_some() {
        return Err(bad(format!("{what} must be a date, without a time")));
    }
    value
        .date
        .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()))
        .ok_or_else(|| bad(format!("{what} must be a date")))
}

/// Most rows of a communes file (the whole country has about 3,300 communes and wards).
pub const MAX_COMMUNE_ROWS: usize = 10_000;

/// Applies a reorganization file (new agencies, then successions, in file order) as one
/// transaction. Loading the same file twice changes nothing the second time.
#[tracing::instrument(skip_all)]
pub async fn apply_file(db: &DatabaseConnection, source: &str) -> ServiceResult<FileReport> {
    let file: ReorganizationFile = toml::from_str(source).map_err(|e| {
        // One line: the parser's message spans several, with a caret under the column.
        let message = e.message().to_owned();
        let at = e.span().map(|span| {
            source[..span.start.min(source.len())]
                .lines()
                .count()
                .max(1)
        });
        bad(match at {
            Some(line) => format!("reorganization file, line {line}: {message}"),
            None => format!("reorganization file: {message}"),
        })
    })?;
    if file.agencies.is_empty() && file.successions.is_empty() {
        return Err(bad(
            "the reorganization file names no agency and no succession".into(),
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let done = apply_in(&txn, &file).await;
    super::settle(txn, done).await
}

/// The body of [`apply_file`], in its transaction.
async fn apply_in(
    txn: &DatabaseTransaction,
    file: &ReorganizationFile,
) -> ServiceResult<FileReport> {
    let mut report = FileReport::default();
    // The file's codes are read in its plan's jurisdiction, where it names a plan.
    let jurisdiction = match file.plan.as_deref() {
        Some(code) => {
            catalog::plan_by_code(txn, code)
                .await?
                .ok_or_else(|| bad(format!("unknown plan `{code}`")))?
                .jurisdiction
        }
        None => String::new(),
    };
    for new in &file.agencies {
        let home = match (new.jurisdiction.as_deref(), &file.plan) {
            (Some(home), _) => home,
            (None, Some(_)) => &jurisdiction,
            (None, None) => {
                return Err(bad(format!(
                    "agency `{}`: give its `jurisdiction`, or the file's `plan` (whose \
                     jurisdiction it then takes)",
                    new.code
                )));
            }
        };
        let here = format!("{home}/{}", new.code.trim());
        if let Some(existing) = catalog::agency_by_code(txn, &here).await? {
            let same = existing.name == crate::service::text::normalize(&new.name)
                && existing.kind == new.kind
                && existing.is_tenant == new.tenant;
            if !same {
                return Err(bad(format!(
                    "agency `{}` already exists with another name, kind or tenancy",
                    new.code
                )));
            }
            continue;
        }
        let valid_from = match &new.valid_from {
            Some(value) => Some(day(value, &format!("valid_from of `{}`", new.code))?),
            None => None,
        };
        let row = AgencyRow {
            code: new.code.clone(),
            name: new.name.clone(),
            short_name: new.short_name.clone(),
            kind: new.kind.clone(),
            tenant: new.tenant,
            jurisdiction: Some(home.to_owned()),
        };
        agency::Entity::insert(new_agency(&row, valid_from)?)
            .exec_without_returning(txn)
            .await?;
        report.agencies_added += 1;
    }
    for row in &file.successions {
        let last_day = day(&row.last_day, &format!("last_day of `{}`", row.agency))?;
        let mut handovers = Vec::with_capacity(row.handovers.len());
        for h in &row.handovers {
            let tasks = match &h.tasks {
                Some(labels) => Some(task_ids(txn, file.plan.as_deref(), labels).await?),
                None => None,
            };
            handovers.push(Handover {
                successor: h.successor.clone(),
                tasks,
                coordination: h.coordination,
            });
        }
        let near = file.plan.as_ref().map(|_| jurisdiction.as_str());
        let ending = catalog::agency_by_code_in(txn, &row.agency, near)
            .await?
            .ok_or_else(|| bad(format!("unknown agency `{}`", row.agency)))?;
        let succession = Succession {
            agency: format!("{}/{}", ending.jurisdiction, ending.code),
            last_day,
            handovers,
            source: Some(row.source.clone()),
        };
        record_once(txn, &succession, &mut report).await?;
    }
    Ok(report)
}

/// Records a succession of a file, unless its agency already ended on exactly that day
/// (the file was loaded before), and counts what it did.
async fn record_once<C: ConnectionTrait>(
    db: &C,
    succession: &Succession,
    report: &mut FileReport,
) -> ServiceResult<()> {
    if let Some(old) = catalog::agency_by_code(db, &succession.agency).await?
        && old.valid_to == Some(succession.last_day)
    {
        let successors =
            catalog::successions_of_agencies(db, &[old.id], catalog::SuccessionSide::Successors)
                .await?;
        // The same agencies, however their codes are written.
        let mut named = Vec::with_capacity(succession.handovers.len());
        for h in &succession.handovers {
            named.push(
                catalog::agency_by_code_in(db, &h.successor, Some(&old.jurisdiction))
                    .await?
                    .map(|a| a.id),
            );
        }
        if named
            .iter()
            .all(|id| id.is_some_and(|id| successors.iter().any(|(_, a)| a.id == id)))
        {
            report.successions_already_recorded += 1;
            return Ok(());
        }
        let recorded: Vec<String> = successors
            .iter()
            .map(|(_, a)| format!("{}/{}", a.jurisdiction, a.code))
            .collect();
        return Err(bad(format!(
            "agency `{}/{}` already ended on {} with other successors ({})",
            old.jurisdiction,
            old.code,
            succession.last_day,
            recorded.join(", ")
        )));
    }
    let (_, passed) = succession::record_in(db, None, succession).await?;
    report.successions_recorded += 1;
    report.passed.assignments_passed += passed.assignments_passed;
    report.passed.memberships_passed += passed.memberships_passed;
    report.passed.plans_passed += passed.plans_passed;
    Ok(())
}

/// Task ids of "II.3"-style labels of a plan.
async fn task_ids<C: ConnectionTrait>(
    db: &C,
    plan: Option<&str>,
    labels: &[String],
) -> ServiceResult<Vec<i64>> {
    let plan = plan.ok_or_else(|| bad("a file that names tasks says its `plan`".into()))?;
    let plan = catalog::plan_by_code(db, plan)
        .await?
        .ok_or_else(|| bad(format!("unknown plan `{plan}`")))?;
    let sections: BTreeMap<i64, String> = section::Entity::find()
        .filter(section::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.numeral))
        .collect();
    let tasks = task::Entity::find()
        .filter(task::Column::PlanId.eq(plan.id))
        .all(db)
        .await?;
    labels
        .iter()
        .map(|label| {
            let label = label.trim();
            let (numeral, number) = match label.split_once('.') {
                Some((numeral, number)) => (
                    numeral,
                    Some(
                        number
                            .parse::<i32>()
                            .map_err(|_| bad(format!("task `{label}`: not like \"II.3\"")))?,
                    ),
                ),
                None => (label, None),
            };
            tasks
                .iter()
                .find(|t| {
                    t.number == number
                        && sections.get(&t.section_id).map(String::as_str) == Some(numeral)
                })
                .map(|t| t.id)
                .ok_or_else(|| bad(format!("plan {} has no task `{label}`", plan.code)))
        })
        .collect()
}

/// One row of a communes file: a commune (or ward) and one district it took over from.
/// A commune formed from parts of two districts has two rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommuneRow {
    code: String,
    name: String,
    /// COMMUNE or WARD (also "xã", "phường").
    kind: String,
    /// The code of the district agency it took over from.
    former_district: String,
    /// The decision that forms it, e.g. "Nghị quyết 1664/NQ-UBTVQH15, Điều 1 khoản 20".
    source: String,
}

/// Imports communes from CSV (header: code,name,kind,former_district,source) and
/// records the districts' successions: each former district ends the day before `from`,
/// and every commune formed from it takes all of its work (assignments and group
/// memberships) from `from`.
#[tracing::instrument(skip_all)]
pub async fn import_communes(
    db: &DatabaseConnection,
    csv_text: &str,
    from: NaiveDate,
) -> ServiceResult<FileReport> {
    let mut rows = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    for (line, row) in reader.deserialize::<CommuneRow>().enumerate() {
        let row = row.map_err(|e| bad(format!("communes file, row {}: {e}", line + 2)))?;
        let fields = [
            &row.code,
            &row.name,
            &row.kind,
            &row.former_district,
            &row.source,
        ];
        if fields.iter().any(|f| f.contains(['\n', '\r'])) {
            return Err(bad(format!(
                "communes file, row {}: a field holds a line break (an unclosed quote?)",
                line + 2
            )));
        }
        if fields.iter().any(|f| f.trim().is_empty()) {
            return Err(bad(format!(
                "communes file, row {}: every column needs a value",
                line + 2
            )));
        }
        rows.push(row);
        if rows.len() > MAX_COMMUNE_ROWS {
            return Err(bad(format!(
                "the communes file has more than {MAX_COMMUNE_ROWS} rows"
            )));
        }
    }
    if rows.is_empty() {
        return Err(bad("the communes file has no rows".into()));
    }
    let last_day = from
        .pred_opt()
        .ok_or_else(|| bad("--from is out of range".into()))?;
    let txn = crate::db::begin_write(db).await?;
    let done = import_communes_in(&txn, &rows, from, last_day).await;
    super::settle(txn, done).await
}

/// The body of [`import_communes`], in its transaction.
async fn import_communes_in(
    txn: &DatabaseTransaction,
    rows: &[CommuneRow],
    from: NaiveDate,
    last_day: NaiveDate,
) -> ServiceResult<FileReport> {
    let mut report = FileReport::default();
    let mut by_district: BTreeMap<&str, Vec<&CommuneRow>> = BTreeMap::new();
    let mut seen: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for row in rows {
        let kind = match row.kind.to_lowercase().as_str() {
            "commune" | "xã" | "xa" | "đặc khu" => "COMMUNE",
            "ward" | "phường" | "phuong" => "WARD",
            other => {
                return Err(bad(format!(
                    "commune `{}`: kind `{other}` is not COMMUNE (xã) or WARD (phường)",
                    row.code
                )));
            }
        };
        if let Some((name, other_kind)) = seen.insert(&row.code, (&row.name, kind))
            && (name != row.name || other_kind != kind)
        {
            return Err(bad(format!(
                "commune `{}` appears twice with another name or kind",
                row.code
            )));
        }
        let district = catalog::agency_by_code(txn, &row.former_district)
            .await?
            .ok_or_else(|| bad(format!("unknown former district `{}`", row.former_district)))?;
        if district.kind != AgencyKind::District.as_str() {
            return Err(bad(format!(
                "`{}` is not a district (it is a {})",
                district.code, district.kind
            )));
        }
        // A commune's code is of its former district's jurisdiction.
        let here = format!("{}/{}", district.jurisdiction, row.code.trim());
        if let Some(existing) = catalog::agency_by_code(txn, &here).await? {
            if existing.kind != kind {
                return Err(bad(format!(
                    "`{}` already exists and is not a {kind}",
                    row.code
                )));
            }
        } else {
            let short_name = row.name.replacen("Ủy ban nhân dân", "UBND", 1).replacen(
                "Uỷ ban nhân dân",
                "UBND",
                1,
            );
            let agency = AgencyRow {
                code: row.code.clone(),
                name: row.name.clone(),
                short_name,
                kind: kind.to_owned(),
                tenant: true,
                jurisdiction: Some(district.jurisdiction.clone()),
            };
            agency::Entity::insert(new_agency(&agency, Some(from))?)
                .exec_without_returning(txn)
                .await?;
            report.agencies_added += 1;
        }
        by_district
            .entry(row.former_district.as_str())
            .or_default()
            .push(row);
    }
    for (district, communes) in by_district {
        let mut handovers: Vec<Handover> = Vec::new();
        for commune in &communes {
            if !handovers.iter().any(|h| h.successor == commune.code) {
                handovers.push(Handover {
                    successor: commune.code.clone(),
                    tasks: None,
                    coordination: false,
                });
            }
        }
        let mut sources: Vec<&str> = communes.iter().map(|c| c.source.as_str()).collect();
        sources.dedup();
        let succession = Succession {
            agency: district.to_owned(),
            last_day,
            handovers,
            source: Some(sources.join("; ")),
        };
        record_once(txn, &succession, &mut report).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_reorganization_parses() {
        let file: ReorganizationFile =
            toml::from_str(REORGANIZATION_2025).expect("seed/reorganization-2025.toml parses");
        assert!(!file.agencies.is_empty() && !file.successions.is_empty());
        for new in &file.agencies {
            assert!(
                !new.source.trim().is_empty(),
                "{} cites its source",
                new.code
            );
        }
        for row in &file.successions {
            assert!(
                !row.source.trim().is_empty(),
                "{} cites its source",
                row.agency
            );
        }
    }
}
