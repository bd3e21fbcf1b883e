//! A plan of the database as a plan file, as it stands today: its sections and tasks,
//! the assignments and group members that hold today, today's coordinator, and the
//! agencies, groups and phases these name. `plan_sheet` writes it as a workbook, which
//! `import-plan` reads back.
use std::collections::{BTreeMap, BTreeSet};

use entity::{agency, agency_group, period};
use sea_orm::ConnectionTrait;

use super::{
    catalog,
    domain::{AssignmentRole, SectionPart, TaskSchedule},
    error::{ServiceError, ServiceResult},
    seed::{AgencyRow, AssigneeRow, GroupRow, PhaseRow, PlanFile, PlanHead, SectionRow, TaskRow},
};

fn toml_date(day: chrono::NaiveDate) -> toml::value::Datetime {
    day.to_string()
        .parse()
        .expect("a date formats as a TOML date")
}

/// The plan `code` as a plan file.
pub async fn plan_file<C: ConnectionTrait>(db: &C, code: &str) -> ServiceResult<PlanFile> {
    let plan = catalog::plan_by_code(db, code)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("plan `{code}`")))?;
    let sections = catalog::sections_of_plans(db, &[plan.id]).await?;
    let section_ids: Vec<i64> = sections.iter().map(|s| s.id).collect();
    let tasks = catalog::tasks_of_sections(db, &section_ids).await?;
    let task_ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    let assignments = catalog::assignments_of_tasks(db, &task_ids).await?;
    let deliverables = catalog::deliverables_of_tasks(db, &task_ids).await?;
    let timeframes = catalog::timeframes_of_tasks(db, &task_ids).await?;
    let coordinator_id = catalog::coordinators_of_plans(db, &[plan.id])
        .await?
        .first()
        .map_or(plan.coordinator_id, |(_, a)| a.id);

    let recipients = catalog::recipients_of_plans(db, &[plan.id]).await?;
    let group_ids: Vec<i64> = assignments
        .iter()
        .filter_map(|a| a.group_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups: BTreeMap<i64, agency_group::Model> =
        catalog::find_by_ids::<agency_group::Entity, _>(db, &group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
    let members = catalog::members_of_groups(db, &group_ids).await?;
    let mut agency_ids: BTreeSet<i64> = assignments.iter().filter_map(|a| a.agency_id).collect();
    agency_ids.extend([plan.issuer_id, coordinator_id]);
    agency_ids.extend(members.iter().map(|(_, a)| a.id));
    agency_ids.extend(recipients.iter().map(|(_, a)| a.id));
    let agencies: BTreeMap<i64, agency::Model> =
        catalog::find_by_ids::<agency::Entity, _>(db, &agency_ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let code_of = |id: i64| -> ServiceResult<String> {
        agencies
            .get(&id)
            .map(|a| a.code.clone())
            .ok_or_else(|| ServiceError::Internal(format!("agency {id} of plan `{code}` is gone")))
    };

    // The phases the tasks name, in the order they were made.
    let mut phases: BTreeMap<i64, &period::Model> = BTreeMap::new();
    let mut sections_out = Vec::new();
    for section in &sections {
        let mut rows = Vec::new();
        for task in tasks.iter().filter(|t| t.section_id == section.id) {
            let schedule: TaskSchedule = task
                .schedule
                .parse()
                .map_err(|_| ServiceError::Internal(format!("task {}: schedule", task.id)))?;
            let mut task_phases: Vec<&period::Model> = timeframes
                .iter()
                .filter(|(id, _)| *id == task.id)
                .map(|(_, p)| p)
                .collect();
            task_phases.sort_by_key(|p| p.id);
            // A PHASED task's phases are the plan's own, and so is the horizon an ANNUAL
            // task runs over (the file names it among the phases, the task does not); a
            // task due ONCE names a year of the horizon, which every plan has.
            match schedule {
                TaskSchedule::Phased => phases.extend(task_phases.iter().map(|p| (p.id, *p))),
                TaskSchedule::Once => {}
                TaskSchedule::Annual => {
                    phases.extend(task_phases.iter().map(|p| (p.id, *p)));
                    task_phases.clear();
                }
            }
            let mut lead = Vec::new();
            let mut partner = Vec::new();
            for assignment in assignments.iter().filter(|a| a.task_id == task.id) {
                let row = AssigneeRow {
                    wording: assignment.wording.clone(),
                    agency: assignment.agency_id.map(code_of).transpose()?,
                    group: assignment
                        .group_id
                        .and_then(|id| groups.get(&id))
                        .map(|g| g.code.clone()),
                };
                match assignment.role.parse() {
                    Ok(AssignmentRole::Lead) => lead.push(row),
                    Ok(AssignmentRole::Partner) => partner.push(row),
                    Err(_) => {
                        return Err(ServiceError::Internal(format!(
                            "assignment {}: role `{}`",
                            assignment.id, assignment.role
                        )));
                    }
                }
            }
            rows.push(TaskRow {
                number: task.number,
                content: task.content.clone(),
                lead,
                partner,
                deliverables: deliverables
                    .iter()
                    .filter(|d| d.task_id == task.id)
                    .map(|d| d.description.clone())
                    .collect(),
                timeframe: task.timeframe_wording.clone(),
                schedule: schedule.as_str().to_owned(),
                phases: task_phases.iter().map(|p| p.code.clone()).collect(),
                inferred: task.inferred_note.clone(),
            });
        }
        sections_out.push(SectionRow {
            numeral: section.numeral.clone(),
            title: section.title.clone(),
            part: (section.part != SectionPart::Appendix.as_str()).then(|| section.part.clone()),
            tasks: rows,
        });
    }

    Ok(PlanFile {
        plan: PlanHead {
            code: plan.code.clone(),
            title: plan.title.clone(),
            jurisdiction: Some(plan.jurisdiction.clone()).filter(|j| !j.is_empty()),
            issuer: code_of(plan.issuer_id)?,
            coordinator: code_of(coordinator_id)?,
            issued_on: toml_date(plan.issued_on),
            effective_on: plan.effective_on.map(toml_date),
            start_year: plan.start_year,
            end_year: plan.end_year,
            recipients: recipients.iter().map(|(_, a)| a.code.clone()).collect(),
        },
        agencies: agencies
            .values()
            .map(|a| AgencyRow {
                code: a.code.clone(),
                name: a.name.clone(),
                short_name: a.short_name.clone(),
                kind: a.kind.clone(),
                tenant: a.is_tenant,
                // Only where it is not the plan's (a Ministry's "vn").
                jurisdiction: Some(a.jurisdiction.clone()).filter(|j| *j != plan.jurisdiction),
            })
            .collect(),
        groups: groups
            .values()
            .map(|g| GroupRow {
                code: g.code.clone(),
                name: g.name.clone(),
                // A group standing for the coordinator has no members of its own.
                members: members
                    .iter()
                    .filter(|(group_id, _)| *group_id == g.id && g.expands_to.is_none())
                    .map(|(_, a)| a.code.clone())
                    .collect(),
                members_of_kind: None,
                plan_scoped: g.plan_id.is_some(),
                note: g.note.clone(),
                expands_to: g.expands_to.clone(),
            })
            .collect(),
        phases: phases
            .values()
            .map(|p| PhaseRow {
                code: p.code.clone(),
                label: p.label.clone(),
            })
            .collect(),
        sections: sections_out,
    })
}
