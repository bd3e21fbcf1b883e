//! Loads a plan from its reviewed data file (`seed/plan-768.toml`) into the database.
//! Idempotent: agencies, groups and periods are matched by code, and a plan whose code
//! is already present is left as it is, so loading twice changes nothing.
use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    agency, agency_group, agency_group_member, assignment, deliverable, period, plan,
    plan_recipient, section, task, task_period,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde::Deserialize;

use super::{
    domain::{AgencyKind, AssignmentRole, GroupExpansion, PeriodKind, SectionPart, TaskSchedule},
    error::{ServiceError, ServiceResult},
    plan_sheet, text,
};

/// The built-in plan: Decision 768/QĐ-UBND of Binh Dinh province.
pub const PLAN_768: &str = include_str!("../../seed/plan-768.toml");

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub plan: PlanHead,
    pub agencies: Vec<AgencyRow>,
    pub groups: Vec<GroupRow>,
    pub phases: Vec<PhaseRow>,
    /// Absent from the head of a plan whose appendix is a spreadsheet.
    #[serde(default)]
    pub sections: Vec<SectionRow>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanHead {
    pub code: String,
    pub title: String,
    /// The jurisdiction (a province's slug, e.g. "binh-dinh") whose codes the file's
    /// agencies and groups are: another province's file may use the same codes. Absent:
    /// the empty jurisdiction of files written before jurisdictions.
    #[serde(default)]
    pub jurisdiction: Option<String>,
    pub issuer: String,
    pub coordinator: String,
    pub issued_on: toml::value::Datetime,
    /// The day the plan takes effect, where it is not the day of issue.
    #[serde(default)]
    pub effective_on: Option<toml::value::Datetime>,
    pub start_year: i32,
    pub end_year: i32,
    /// Codes of the agencies the coordinator's consolidated reports go to; their users
    /// read the plan's reports, read-only.
    #[serde(default)]
    pub recipients: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRow {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub tenant: bool,
    /// Where the agency's code is not of the plan's jurisdiction: "vn" for a national
    /// body such as a Ministry, which every province's plan shares.
    #[serde(default)]
    pub jurisdiction: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRow {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
    pub members_of_kind: Option<String>,
    #[serde(default)]
    pub plan_scoped: bool,
    pub note: Option<String>,
    /// PLAN_COORDINATOR for a group that stands for whoever coordinates the plan (it has
    /// no members of its own and must be `plan_scoped`); absent for a list of members.
    #[serde(default)]
    pub expands_to: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRow {
    pub code: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionRow {
    pub numeral: String,
    pub title: String,
    /// BODY for the duties the decision's text gives; absent for an appendix section.
    #[serde(default)]
    pub part: Option<String>,
    pub tasks: Vec<TaskRow>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRow {
    pub number: Option<i32>,
    pub content: String,
    pub lead: Vec<AssigneeRow>,
    #[serde(default)]
    pub partner: Vec<AssigneeRow>,
    pub deliverables: Vec<String>,
    pub timeframe: String,
    pub schedule: String,
    #[serde(default)]
    pub phases: Vec<String>,
    /// Why something of this task was inferred; its deliverables are then marked inferred.
    pub inferred: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssigneeRow {
    pub wording: String,
    pub agency: Option<String>,
    pub group: Option<String>,
}

/// A jurisdiction's slug, trimmed: empty (none stated), or like a code.
pub fn checked_jurisdiction(jurisdiction: &str) -> ServiceResult<&str> {
    match jurisdiction.trim() {
        "" => Ok(""),
        slug => checked_code("jurisdiction", slug),
    }
}

/// An agency's or a group's code, trimmed: 1 to 64 lowercase letters, digits and '-'.
fn checked_code<'a>(what: &str, code: &'a str) -> ServiceResult<&'a str> {
    let code = code.trim();
    let valid = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(code)
    } else {
        Err(bad(format!(
            "{what} code `{code}` is not 1 to 64 lowercase letters, digits and '-'"
        )))
    }
}

/// A new agency's row, existing from `valid_from` (null: before any plan names it).
pub fn new_agency(
    row: &AgencyRow,
    valid_from: Option<NaiveDate>,
) -> ServiceResult<agency::ActiveModel> {
    let kind: AgencyKind = row.kind.parse().map_err(|_| {
        bad(format!(
            "agency `{}` has unknown kind `{}`",
            row.code, row.kind
        ))
    })?;
    let code = checked_code("agency", &row.code)?;
    let name = text::normalize(&row.name);
    let short_name = text::normalize(&row.short_name);
    if name.is_empty() || short_name.is_empty() {
        return Err(bad(format!(
            "agency `{code}` needs a name and a short name"
        )));
    }
    let jurisdiction = checked_jurisdiction(row.jurisdiction.as_deref().unwrap_or(""))?;
    Ok(agency::ActiveModel {
        jurisdiction: Set(jurisdiction.to_owned()),
        code: Set(code.to_owned()),
        search_text: Set(text::fold(&format!("{name} {short_name} {code}"))),
        name: Set(name),
        short_name: Set(short_name),
        kind: Set(kind.as_str().to_owned()),
        is_tenant: Set(row.tenant),
        valid_from: Set(valid_from),
        valid_to: Set(None),
        ..Default::default()
    })
}

/// What a load did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub plan_loaded: bool,
    pub agencies_added: usize,
    pub groups_added: usize,
    pub periods_added: usize,
    /// Codes of the file's agencies already in the database, which the plan now shares
    /// (agency codes are one namespace for every plan).
    pub agencies_reused: Vec<String>,
    pub tasks_added: usize,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; added {} agencies, {} groups, {} periods, {} tasks",
            if self.plan_loaded {
                "plan loaded"
            } else if self.tasks_added > 0 {
                "plan already present: added the sections it lacked"
            } else {
                "plan already present: left as it is, nothing of the file written"
            },
            self.agencies_added,
            self.groups_added,
            self.periods_added,
            self.tasks_added
        )?;
        if !self.agencies_reused.is_empty() {
            write!(
                f,
                "; shares the agencies already present: {}",
                self.agencies_reused.join(", ")
            )?;
        }
        Ok(())
    }
}

fn bad(message: String) -> ServiceError {
    ServiceError::BadInput(format!("plan data: {message}"))
}

pub fn parse(source: &str) -> ServiceResult<PlanFile> {
    toml::from_str(source).map_err(|e| bad(e.to_string()))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

/// A period to create: (code, kind, start, end, label).
type PeriodRow = (String, PeriodKind, NaiveDate, NaiveDate, String);

/// The years, half-years and the given phases of a horizon.
fn horizon_periods(file: &PlanFile) -> ServiceResult<Vec<PeriodRow>> {
    let mut out = Vec::new();
    for year in file.plan.start_year..=file.plan.end_year {
        out.push((
            year.to_string(),
            PeriodKind::Year,
            date(year, 1, 1),
            date(year, 12, 31),
            format!("Năm {year}"),
        ));
        out.push((
            format!("{year}S1"),
            PeriodKind::HalfYear,
            date(year, 1, 1),
            date(year, 6, 30),
            format!("6 tháng đầu năm {year}"),
        ));
        out.push((
            format!("{year}S2"),
            PeriodKind::HalfYear,
            date(year, 7, 1),
            date(year, 12, 31),
            format!("6 tháng cuối năm {year}"),
        ));
    }
    for phase in &file.phases {
        let (from, to) = phase
            .code
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<i32>().ok()?, b.parse::<i32>().ok()?)))
            .filter(|(a, b)| a <= b)
            .ok_or_else(|| bad(format!("phase code `{}` is not YYYY-YYYY", phase.code)))?;
        out.push((
            phase.code.clone(),
            PeriodKind::Phase,
            date(from, 1, 1),
            date(to, 12, 31),
            text::normalize(&phase.label),
        ));
    }
    Ok(out)
}

/// Loads the built-in plan file `source` in one transaction. Where the plan is present
/// already, the sections of the file it lacks are added (a database loaded before 768's
/// body duties were transcribed gets them), and nothing else of it changes.
#[tracing::instrument(skip_all)]
pub async fn load(db: &DatabaseConnection, source: &str) -> ServiceResult<SeedReport> {
    let file = parse(source)?;
    let txn = crate::db::begin_write(db).await?;
    let report = load_file(&txn, &file, Present::AddMissingSections).await;
    super::settle(txn, report).await
}

/// The built-in plan's issuer, as "jurisdiction/code", once the plan is loaded.
pub async fn built_in_issuer<C: ConnectionTrait>(db: &C) -> ServiceResult<String> {
    let file = parse(PLAN_768)?;
    let plan = super::catalog::plan_by_code(db, &file.plan.code)
        .await?
        .ok_or_else(|| ServiceError::Internal("the built-in plan is not loaded".into()))?;
    let issuer = agency::Entity::find_by_id(plan.issuer_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::Internal("the built-in plan's issuer is gone".into()))?;
    Ok(format!("{}/{}", issuer.jurisdiction, issuer.code))
}

/// What loading does with a plan already present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Present {
    /// Leave it whole as it is (an import never rewrites a plan).
    LeaveAsItIs,
    /// Add the file's sections it lacks, by numeral (the built-in plan, transcribed
    /// further in a later version).
    AddMissingSections,
}

/// Loads a plan file (the TOML format of the built-in plan) in one transaction; with
/// `dry_run`, works it all out and writes nothing. Agencies are matched by code: one that
/// exists under another name, kind or tenancy stops the load, since codes are shared by
/// every plan in the database.
#[tracing::instrument(skip_all)]
pub async fn import(
    db: &DatabaseConnection,
    source: &str,
    dry_run: bool,
) -> ServiceResult<SeedReport> {
    load_once(db, &parse(source)?, dry_run).await
}

/// Loads `file` in one transaction; with `dry_run`, works it all out and rolls back.
async fn load_once(
    db: &DatabaseConnection,
    file: &PlanFile,
    dry_run: bool,
) -> ServiceResult<SeedReport> {
    let txn = crate::db::begin_write(db).await?;
    let report = load_file(&txn, file, Present::LeaveAsItIs).await;
    if dry_run && report.is_ok() {
        txn.rollback().await?;
        return report;
    }
    super::settle(txn, report).await
}

/// What loading a spreadsheet did, and the names it matched loosely (by abbreviation,
/// spelling or case), for the operator to check.
#[derive(Debug)]
pub struct SheetImport {
    pub seed: SeedReport,
    pub loose_matches: Vec<plan_sheet::LooseMatch>,
}

impl std::fmt::Display for SheetImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.seed)?;
        if !self.loose_matches.is_empty() {
            write!(f, "\nnames matched by abbreviation or spelling:")?;
            for m in &self.loose_matches {
                write!(f, "\n  «{}» → {}", m.wording, m.named)?;
            }
        }
        Ok(())
    }
}

/// Loads a plan from a spreadsheet with the appendix's columns (see `plan_sheet`) in one
/// transaction, its agency names matched to the file's agencies and groups. `head`, a plan file in TOML without sections, gives
/// the plan, agencies, groups and phases of a file that holds only an appendix (a CSV).
/// Every unmatched or ambiguous name stops the load before anything is written; with
/// `dry_run` nothing is written anyway.
#[tracing::instrument(skip_all)]
pub async fn import_sheet(
    db: &DatabaseConnection,
    file: &plan_sheet::SheetFile,
    head: Option<&str>,
    dry_run: bool,
) -> ServiceResult<SheetImport> {
    let sheets = plan_sheet::Sheets::read(file)?;
    let mut plan = match head {
        Some(source) => {
            let head = parse(source)?;
            if !head.sections.is_empty() {
                return Err(bad(
                    "the head file holds sections: the appendix gives them".into()
                ));
            }
            head
        }
        None if sheets.has_head() => plan_sheet::read_head(&sheets)?,
        None => {
            return Err(bad(format!(
                "the file has no sheet «{}»: give the plan, its agencies, groups and phases \
                 in a TOML file (--head)",
                plan_sheet::PLAN_SHEET
            )));
        }
    };
    // The head's own mistakes first, so they are not taken for the appendix's.
    horizon_periods(&plan)?;
    for (role, code) in [
        ("issuer", &plan.plan.issuer),
        ("coordinator", &plan.plan.coordinator),
    ] {
        if !plan.agencies.iter().any(|a| &a.code == code) {
            return Err(bad(format!(
                "the plan's {role} `{code}` is not one of the file's agencies"
            )));
        }
    }
    // Names are matched against the file's own agencies and groups only: another
    // province's "Sở Tài chính" is not this plan's.
    let appendix = plan_sheet::read_appendix(&sheets, &plan, &plan_sheet::name_index(&plan))?;
    plan.sections = appendix.sections;
    let seed = load_once(db, &plan, dry_run).await?;
    Ok(SheetImport {
        seed,
        loose_matches: appendix.loose_matches,
    })
}

async fn load_file<C: ConnectionTrait>(
    db: &C,
    file: &PlanFile,
    when_present: Present,
) -> ServiceResult<SeedReport> {
    let mut report = SeedReport::default();
    // A plan present is left whole as it is: none of the file is written (its agencies
    // are still checked against those present), but for the sections it lacks where the
    // caller adds those.
    let existing_plan = super::catalog::plan_by_code(db, &file.plan.code).await?;
    let mut existing_numerals: Vec<String> = Vec::new();
    let mut last_position = 0;
    if let Some(plan) = &existing_plan
        && when_present == Present::AddMissingSections
    {
        let sections = super::catalog::sections_of_plans(db, &[plan.id]).await?;
        let section_ids: Vec<i64> = sections.iter().map(|s| s.id).collect();
        last_position = super::catalog::tasks_of_sections(db, &section_ids)
            .await?
            .iter()
            .map(|t| t.position)
            .max()
            .unwrap_or(0);
        existing_numerals = sections.into_iter().map(|s| s.numeral).collect();
    }
    let adds_sections = existing_plan.is_some()
        && when_present == Present::AddMissingSections
        && file
            .sections
            .iter()
            .any(|s| !existing_numerals.contains(&s.numeral));
    let present = existing_plan.is_some() && !adds_sections;

    // Agencies, by the file's codes: each of the plan's jurisdiction unless its row names
    // another ("vn" for a Ministry). Another province's agency of the same code is not
    // this file's.
    // A plan present keeps the jurisdiction it has (empty where it was loaded before
    // jurisdictions): its agencies are looked up there.
    let file_home = checked_jurisdiction(file.plan.jurisdiction.as_deref().unwrap_or(""))?;
    if file_home == super::catalog::NATIONAL {
        return Err(bad(format!(
            "plan jurisdiction `{file_home}` is the national bodies': give the province's"
        )));
    }
    let home_owned = existing_plan
        .as_ref()
        .map_or(file_home.to_owned(), |plan| plan.jurisdiction.clone());
    let home = home_owned.as_str();
    let file_codes: Vec<&str> = file.agencies.iter().map(|a| a.code.trim()).collect();
    if let Some(twice) = file_codes
        .iter()
        .enumerate()
        .find(|(i, code)| file_codes[..*i].contains(code))
    {
        return Err(bad(format!(
            "agency `{}` appears twice in the file",
            twice.1
        )));
    }
    let same_codes = agency::Entity::find()
        .filter(agency::Column::Code.is_in(file_codes.iter().copied()))
        .all(db)
        .await?;
    let mut agencies: HashMap<String, agency::Model> = HashMap::new();
    for row in &file.agencies {
        let jurisdiction = checked_jurisdiction(row.jurisdiction.as_deref().unwrap_or(home))?;
        let found = same_codes
            .iter()
            .find(|a| a.code == row.code.trim() && a.jurisdiction == jurisdiction)
            .or_else(|| {
                // A present plan's agencies may all be of its own (empty) jurisdiction.
                existing_plan.as_ref()?;
                same_codes
                    .iter()
                    .find(|a| a.code == row.code.trim() && a.jurisdiction == home)
            });
        if let Some(existing) = found {
            agencies.insert(row.code.trim().to_owned(), existing.clone());
            let same = existing.name == text::normalize(&row.name)
                && existing.kind == row.kind
                && existing.is_tenant == row.tenant;
            if !same {
                return Err(bad(format!(
                    "agency code `{}` already names «{}» ({}); choose another code",
                    row.code, existing.name, existing.kind
                )));
            }
            report.agencies_reused.push(row.code.clone());
            continue;
        }
        if present {
            continue;
        }
        let placed = AgencyRow {
            jurisdiction: Some(jurisdiction.to_owned()),
            ..row.clone()
        };
        let model = agency::Entity::insert(new_agency(&placed, None)?)
            .exec_with_returning(db)
            .await?;
        agencies.insert(model.code.clone(), model);
        report.agencies_added += 1;
    }
    if present {
        return Ok(report);
    }
    let agency_id = |code: &str| {
        agencies
            .get(code)
            .map(|a| a.id)
            .ok_or_else(|| bad(format!("unknown agency `{code}`")))
    };

    // Periods, by code.
    let mut periods: HashMap<String, i64> = period::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.code, p.id))
        .collect();
    let new_periods: Vec<period::ActiveModel> = horizon_periods(file)?
        .into_iter()
        .filter(|(code, ..)| !periods.contains_key(code))
        .map(
            |(code, kind, starts_on, ends_on, label)| period::ActiveModel {
                code: Set(code),
                kind: Set(kind.as_str().to_owned()),
                starts_on: Set(starts_on),
                ends_on: Set(ends_on),
                label: Set(label),
                ..Default::default()
            },
        )
        .collect();
    report.periods_added = new_periods.len();
    if !new_periods.is_empty() {
        period::Entity::insert_many(new_periods).exec(db).await?;
        periods = period::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.code, p.id))
            .collect();
    }

    let day = |value: &toml::value::Datetime, name: &str| {
        value
            .date
            .map(|d| date(d.year.into(), d.month.into(), d.day.into()))
            .ok_or_else(|| bad(format!("plan.{name} must be a date")))
    };
    let issued_on = day(&file.plan.issued_on, "issued_on")?;
    let effective_on = match &file.plan.effective_on {
        Some(value) => Some(day(value, "effective_on")?),
        None => None,
    };
    let (plan, recipients) = match existing_plan {
        Some(plan) => (plan, &[][..]),
        None => {
            let plan = plan::Entity::insert(plan::ActiveModel {
                code: Set(text::normalize(&file.plan.code)),
                jurisdiction: Set(home.to_owned()),
                title: Set(text::normalize(&file.plan.title)),
                issuer_id: Set(agency_id(&file.plan.issuer)?),
                coordinator_id: Set(agency_id(&file.plan.coordinator)?),
                issued_on: Set(issued_on),
                start_year: Set(file.plan.start_year),
                end_year: Set(file.plan.end_year),
                effective_on: Set(effective_on),
                ..Default::default()
            })
            .exec_with_returning(db)
            .await?;
            report.plan_loaded = true;
            (plan, &file.plan.recipients[..])
        }
    };
    let mut recipient_ids = Vec::new();
    for code in recipients {
        let id = agency_id(code)?;
        if !recipient_ids.contains(&id) {
            recipient_ids.push(id);
        }
    }
    if !recipient_ids.is_empty() {
        plan_recipient::Entity::insert_many(recipient_ids.into_iter().map(|agency_id| {
            plan_recipient::ActiveModel {
                plan_id: Set(plan.id),
                agency_id: Set(agency_id),
            }
        }))
        .exec(db)
        .await?;
    }

    // Groups, by code within the plan's jurisdiction; members of a new group are set
    // once, here.
    let mut groups: HashMap<String, agency_group::Model> = agency_group::Entity::find()
        .filter(agency_group::Column::Jurisdiction.eq(home))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.code.clone(), g))
        .collect();
    for row in &file.groups {
        let code = checked_code("group", &row.code)?;
        let mut member_ids = Vec::new();
        for code in &row.members {
            member_ids.push(agency_id(code)?);
        }
        if let Some(kind) = &row.members_of_kind {
            // Of this file's agencies only: another plan's districts are not this one's.
            let mut of_kind: Vec<&agency::Model> = agencies
                .values()
                .filter(|a| &a.kind == kind && file.agencies.iter().any(|r| r.code == a.code))
                .collect();
            if of_kind.is_empty() {
                return Err(bad(format!(
                    "group `{}`: no agency of kind `{kind}`",
                    row.code
                )));
            }
            of_kind.sort_by_key(|a| a.id);
            member_ids.extend(of_kind.into_iter().map(|a| a.id));
        }
        member_ids.sort_unstable();
        member_ids.dedup();
        let expands_to = match row.expands_to.as_deref() {
            None => None,
            Some(text) => {
                let expansion: GroupExpansion = text.parse().map_err(|_| {
                    bad(format!(
                        "group `{}`: unknown expands_to `{text}` (PLAN_COORDINATOR, or none)",
                        row.code
                    ))
                })?;
                if !row.plan_scoped || !member_ids.is_empty() {
                    return Err(bad(format!(
                        "group `{}` stands for the plan's coordinator, so it must be \
                         plan_scoped and name no members",
                        row.code
                    )));
                }
                Some(expansion.as_str().to_owned())
            }
        };
        if let Some(existing) = groups.get(code) {
            // The plan's own groups, present, are as its edits made them.
            if !report.plan_loaded {
                continue;
            }
            // A group is shared only as it is: another plan's own, another wording or
            // other members (another province's departments) are not this file's.
            let mut members: Vec<i64> = super::catalog::members_of_groups(db, &[existing.id])
                .await?
                .into_iter()
                .map(|(_, agency)| agency.id)
                .collect();
            members.sort_unstable();
            let differs = if existing.plan_id.is_some() || row.plan_scoped {
                Some("belongs to another plan")
            } else if existing.name != text::normalize(&row.name) {
                Some("has another name")
            } else if members != member_ids {
                Some("has other members")
            } else {
                None
            };
            if let Some(differs) = differs {
                return Err(bad(format!(
                    "group code `{code}` is taken: the group «{}» {differs}; choose another \
                     code",
                    existing.name
                )));
            }
            continue;
        }
        let group = agency_group::Entity::insert(agency_group::ActiveModel {
            jurisdiction: Set(home.to_owned()),
            code: Set(code.to_owned()),
            name: Set(text::normalize(&row.name)),
            plan_id: Set(row.plan_scoped.then_some(plan.id)),
            note: Set(row.note.as_deref().map(text::normalize)),
            expands_to: Set(expands_to),
            ..Default::default()
        })
        .exec_with_returning(db)
        .await?;
        groups.insert(group.code.clone(), group.clone());
        report.groups_added += 1;
        if !member_ids.is_empty() {
            agency_group_member::Entity::insert_many(member_ids.into_iter().map(|agency_id| {
                agency_group_member::ActiveModel {
                    group_id: Set(group.id),
                    agency_id: Set(agency_id),
                    valid_from: Set(None),
                    valid_to: Set(None),
                }
            }))
            .exec(db)
            .await?;
        }
    }

    // Sections added to a plan present are a change of the plan: their duties start after
    // every period whose window has closed, which stays as it was.
    let assigned_from = if report.plan_loaded {
        None
    } else {
        super::windows::first_day_after_closed(db, &[plan.id]).await?
    };
    let mut position = last_position;
    for (section_index, section_row) in file.sections.iter().enumerate() {
        if existing_numerals.contains(&section_row.numeral) {
            continue;
        }
        let section = section::Entity::insert(section::ActiveModel {
            plan_id: Set(plan.id),
            numeral: Set(section_row.numeral.clone()),
            title: Set(text::normalize(&section_row.title)),
            position: Set(section_index as i32 + 1),
            part: Set(match section_row.part.as_deref() {
                None => SectionPart::Appendix.as_str().to_owned(),
                Some(text) => text
                    .parse::<SectionPart>()
                    .map_err(|_| {
                        bad(format!(
                            "section {}: unknown part `{text}` (APPENDIX or BODY)",
                            section_row.numeral
                        ))
                    })?
                    .as_str()
                    .to_owned(),
            }),
            ..Default::default()
        })
        .exec_with_returning(db)
        .await?;
        for row in &section_row.tasks {
            position += 1;
            let schedule: TaskSchedule = row.schedule.parse().map_err(|_| {
                bad(format!(
                    "task {position}: unknown schedule `{}`",
                    row.schedule
                ))
            })?;
            let content = text::normalize(&row.content);
            let task = task::Entity::insert(task::ActiveModel {
                plan_id: Set(plan.id),
                section_id: Set(section.id),
                number: Set(row.number),
                search_text: Set(text::fold(&content)),
                content: Set(content),
                schedule: Set(schedule.as_str().to_owned()),
                timeframe_wording: Set(text::normalize(&row.timeframe)),
                inferred_note: Set(row.inferred.as_deref().map(text::normalize)),
                position: Set(position),
                ..Default::default()
            })
            .exec_with_returning(db)
            .await?;
            report.tasks_added += 1;

            // ANNUAL tasks run every year of the horizon: their timeframe is the horizon phase.
            let horizon = format!("{}-{}", file.plan.start_year, file.plan.end_year);
            // A task due ONCE names its one period (e.g. "2022").
            let phase_codes: Vec<&str> = match schedule {
                TaskSchedule::Annual => vec![horizon.as_str()],
                TaskSchedule::Phased | TaskSchedule::Once => {
                    row.phases.iter().map(String::as_str).collect()
                }
            };
            if phase_codes.is_empty() {
                return Err(bad(format!(
                    "task {position}: a {} task needs phases",
                    schedule.as_str()
                )));
            }
            // As the appendix writes it ("Năm 2022"): one year of the plan's horizon.
            if schedule == TaskSchedule::Once {
                let years = file.plan.start_year..=file.plan.end_year;
                let one_year = match phase_codes.as_slice() {
                    [code] => code.parse::<i32>().is_ok_and(|y| years.contains(&y)),
                    _ => false,
                };
                if !one_year {
                    return Err(bad(format!(
                        "task {position}: a ONCE task names one year of the plan's horizon \
                         ({}–{}) in `phases`, e.g. [\"{}\"]",
                        file.plan.start_year, file.plan.end_year, file.plan.start_year
                    )));
                }
            }
            let mut links = Vec::new();
            for code in phase_codes {
                let period_id = *periods
                    .get(code)
                    .ok_or_else(|| bad(format!("task {position}: unknown phase `{code}`")))?;
                links.push(task_period::ActiveModel {
                    task_id: Set(task.id),
                    period_id: Set(period_id),
                });
            }
            task_period::Entity::insert_many(links).exec(db).await?;

            if row.deliverables.is_empty() {
                return Err(bad(format!("task {position}: no deliverable")));
            }
            deliverable::Entity::insert_many(row.deliverables.iter().enumerate().map(|(i, d)| {
                deliverable::ActiveModel {
                    task_id: Set(task.id),
                    description: Set(text::normalize(d)),
                    position: Set(i as i32 + 1),
                    inferred: Set(row.inferred.is_some()),
                    ..Default::default()
                }
            }))
            .exec(db)
            .await?;

            let mut assignments = Vec::new();
            for (role, rows) in [
                (AssignmentRole::Lead, &row.lead),
                (AssignmentRole::Partner, &row.partner),
            ] {
                for assignee in rows {
                    let (agency_ref, group_ref) = match (&assignee.agency, &assignee.group) {
                        (Some(code), None) => (Some(agency_id(code)?), None),
                        (None, Some(code)) => {
                            let group = groups
                                .get(code)
                                .ok_or_else(|| bad(format!("unknown group `{code}`")))?;
                            // Another plan's own group (its "relevant departments", its
                            // coordinator) is not this plan's to assign.
                            if group.plan_id.is_some_and(|owner| owner != plan.id) {
                                return Err(bad(format!(
                                    "task {position}: group `{code}` belongs to another plan; \
                                     give this plan a group of its own"
                                )));
                            }
                            (None, Some(group.id))
                        }
                        _ => {
                            return Err(bad(format!(
                                "task {position}: `{}` needs exactly one of agency and group",
                                assignee.wording
                            )));
                        }
                    };
                    assignments.push(assignment::ActiveModel {
                        task_id: Set(task.id),
                        role: Set(role.as_str().to_owned()),
                        agency_id: Set(agency_ref),
                        group_id: Set(group_ref),
                        wording: Set(text::normalize(&assignee.wording)),
                        position: Set(assignments.len() as i32 + 1),
                        valid_from: Set(assigned_from),
                        ..Default::default()
                    });
                }
            }
            if assignments.is_empty() {
                return Err(bad(format!("task {position}: no lead agency")));
            }
            assignment::Entity::insert_many(assignments)
                .exec(db)
                .await?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_plan_parses_with_twenty_tasks_and_three_duties_of_the_body() {
        let file = parse(PLAN_768).unwrap();
        let counts: Vec<(String, usize)> = file
            .sections
            .iter()
            .map(|s| (s.numeral.clone(), s.tasks.len()))
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
        assert!(file.sections[3].tasks[0].number.is_none());
    }

    #[test]
    fn built_in_plan_has_no_pdf_glitches() {
        let file = parse(PLAN_768).unwrap();
        for task in file.sections.iter().flat_map(|s| &s.tasks) {
            for assignee in task.lead.iter().chain(&task.partner) {
                assert!(!assignee.wording.contains("Xa hội"), "{}", assignee.wording);
                assert!(
                    !assignee.wording.contains("huyện, nghèo"),
                    "{}",
                    assignee.wording
                );
            }
        }
    }
}
