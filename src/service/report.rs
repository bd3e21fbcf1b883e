//! The consolidated report of a plan for a reporting period: one row per task × lead
//! agency, and summaries by agency and by section. Scoped like every read: a tenant's
//! report holds its own rows only, and drafts of other agencies show as not reported.
use std::collections::HashMap;

use entity::{agency, deliverable, plan, section};

use super::{
    ServiceError, ServiceResult, catalog,
    domain::{ObligationState, Progress, parse_stored},
    obligations::{self, Obligation},
    progress::{self, ProgressCounts, ProgressGroup},
    submissions, task_edits,
    tenancy::SubmissionScope,
    timeline, windows,
};
use sea_orm::DatabaseConnection;

pub struct ConsolidatedReport {
    pub plan: plan::Model,
    pub period_code: String,
    pub rows: Vec<ReportRow>,
    pub by_agency: Vec<(agency::Model, ProgressCounts)>,
    pub by_section: Vec<(section::Model, ProgressCounts)>,
}

/// One task × lead agency.
pub struct ReportRow {
    pub section: String,
    pub task_number: Option<i32>,
    pub task_content: String,
    pub agency: String,
    pub status: &'static str,
    pub progress: &'static str,
    pub summary: String,
    pub results: String,
    pub difficulties: String,
    pub proposals: String,
    /// "deliverable: status — document (url)" per evidence, one per line.
    pub evidence: String,
    pub submitted_on: Option<String>,
    pub reviewed_on: Option<String>,
}

/// Column headings, in Vietnamese, in row order.
pub const HEADINGS: [&str; 13] = [
    "Mục",
    "STT",
    "Nội dung công việc",
    "Cơ quan chủ trì",
    "Tình trạng báo cáo",
    "Tiến độ",
    "Tóm tắt",
    "Kết quả thực hiện",
    "Khó khăn, vướng mắc",
    "Kiến nghị",
    "Sản phẩm",
    "Ngày gửi",
    "Ngày duyệt",
];

pub fn state_label(state: ObligationState) -> &'static str {
    match state {
        ObligationState::Missing => "Chưa báo cáo",
        ObligationState::Draft => "Đang soạn thảo",
        ObligationState::Submitted => "Đã gửi",
        ObligationState::Returned => "Trả lại để bổ sung",
        ObligationState::Accepted => "Đã tiếp nhận",
    }
}

pub fn progress_label(progress: Progress) -> &'static str {
    match progress {
        Progress::NotStarted => "Chưa triển khai",
        Progress::InProgress => "Đang triển khai",
        Progress::Completed => "Hoàn thành",
    }
}

#[tracing::instrument(skip_all)]
pub async fn build(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    plan_code: &str,
    period_code: &str,
) -> ServiceResult<ConsolidatedReport> {
    let plan = catalog::plan_by_code(db, plan_code)
        .await?
        .ok_or_else(|| ServiceError::not_found("plan"))?;
    let period = windows::reporting_period(db, period_code).await?;
    let obligations = obligations::of_plan_period(db, scope, plan.id, period.id).await?;
    let submission_ids: Vec<i64> = obligations
        .iter()
        .filter_map(|o| o.submission.as_ref().map(|s| s.id))
        .collect();
    let evidence = submissions::evidence_of(db, scope, &submission_ids).await?;
    let deliverable_ids: Vec<i64> = evidence.iter().map(|e| e.deliverable_id).collect();
    let deliverables: HashMap<i64, deliverable::Model> =
        catalog::find_by_ids::<deliverable::Entity, _>(db, &deliverable_ids)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
    let sections: HashMap<i64, section::Model> = catalog::sections_of_plans(db, &[plan.id])
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();

    // The tasks' text on the period's duty day, where it has been edited since.
    let task_ids: Vec<i64> = obligations.iter().map(|o| o.task.id).collect();
    let texts_then =
        task_edits::texts_on(db, &task_ids, timeline::duty_day_after(period.ends_on)).await?;

    let mut rows = Vec::with_capacity(obligations.len());
    for Obligation {
        agency,
        task,
        section,
        submission,
        state,
    } in &obligations
    {
        let mut row = ReportRow {
            section: section
                .as_ref()
                .map(|s| s.numeral.clone())
                .unwrap_or_default(),
            task_number: task.number,
            task_content: texts_then.get(&task.id).unwrap_or(&task.content).clone(),
            agency: agency.name.clone(),
            status: state_label(*state),
            progress: "",
            summary: String::new(),
            results: String::new(),
            difficulties: String::new(),
            proposals: String::new(),
            evidence: String::new(),
            submitted_on: None,
            reviewed_on: None,
        };
        if let Some(s) = submission {
            row.progress = progress_label(parse_stored(&s.progress)?);
            row.summary = s.summary.clone();
            row.results = s.results.clone();
            row.difficulties = s.difficulties.clone();
            row.proposals = s.proposals.clone();
            row.submitted_on = s.submitted_at.map(|d| d.format("%d/%m/%Y").to_string());
            row.reviewed_on = s.reviewed_at.map(|d| d.format("%d/%m/%Y").to_string());
            let lines: Vec<String> = evidence
                .iter()
                .filter(|e| e.submission_id == s.id)
                .map(|e| {
                    let name = deliverables
                        .get(&e.deliverable_id)
                        .map(|d| d.description.as_str())
                        .unwrap_or("");
                    let status = parse_stored::<Progress>(&e.status)
                        .map(progress_label)
                        .unwrap_or("");
                    let mut line = format!("{name}: {status}");
                    if let Some(doc) = &e.document_ref {
                        line.push_str(&format!(" — {doc}"));
                    }
                    if let Some(url) = &e.url {
                        line.push_str(&format!(" ({url})"));
                    }
                    line
                })
                .collect();
            row.evidence = lines.join("\n");
        }
        rows.push(row);
    }

    let by_agency_counts = progress::aggregate(
        db,
        scope,
        &plan.code,
        Some(period_code),
        ProgressGroup::Agency,
    )
    .await?;
    let agency_ids: Vec<i64> = by_agency_counts.iter().map(|c| c.group_id).collect();
    let agencies: HashMap<i64, agency::Model> =
        catalog::find_by_ids::<agency::Entity, _>(db, &agency_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let by_agency = by_agency_counts
        .into_iter()
        .filter_map(|c| agencies.get(&c.group_id).cloned().map(|a| (a, c)))
        .collect();
    let by_section = progress::aggregate(
        db,
        scope,
        &plan.code,
        Some(period_code),
        ProgressGroup::Section,
    )
    .await?
    .into_iter()
    .filter_map(|c| sections.get(&c.group_id).cloned().map(|s| (s, c)))
    .collect();
    Ok(ConsolidatedReport {
        plan,
        period_code: period_code.to_owned(),
        rows,
        by_agency,
        by_section,
    })
}
