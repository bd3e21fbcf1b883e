//! Object types of identity and reporting: users, submissions, evidence, history,
//! reporting windows. Submission relations go through the per-request tenant loaders,
//! which apply the caller's scope. Those that come in long lists resolve their fields one
//! after the other, as the plan's do (see `types`).
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::Utc;
use entity::{
    agency, audit_log, deliverable, period, plan, reporting_window, submission,
    submission_deliverable, task, user,
};

use super::{
    cost,
    error::IntoGql,
    filters::{AuditEntryFilter, filter_of},
    loaders::{EvidenceOf, HistoryOf, KeyFilter, tenant_loaders},
    relay::global_id,
    scalars::{JsonValue, Timestamp},
    types::{Agency, Deliverable, Period, Plan, Task, required, rows_shared},
};
use crate::service::{
    domain::{Progress, Role, SubmissionStatus, parse_stored},
    windows,
};

pub struct User(pub Arc<user::Model>);

rows_shared!(
    User => user,
    Submission => submission,
    SubmissionEvidence => submission_deliverable,
    AuditEntry => audit_log,
    ReportingWindow => reporting_window,
);

/// A person who signs in: staff of one agency, with one role.
#[Object]
impl User {
    /// Opaque global id, accepted by `node(id:)` (for the user themself and admins).
    pub async fn id(&self) -> ID {
        global_id("User", self.0.id)
    }
    /// The name the user signs in with, e.g. `tayson`.
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// The name shown for the user (the username unless another was given).
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// What the user may do.
    async fn role(&self) -> Result<Role> {
        parse_stored(&self.0.role).gql()
    }
    /// Whether an admin disabled the user: they cannot sign in, and their tokens no longer
    /// work.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    /// The agency the user works for, and whose reports they read or write.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.agency_id)
            .await
            .map(Agency)
    }
}

/// Who is signed in.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The signed-in user.
    pub user: User,
    /// The user's agency.
    pub agency: Agency,
    /// The user's role, which decides what they may see and do.
    pub role: Role,
}

/// The answer to `login`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`. Shown only now.
    pub token: String,
    /// When the token stops working.
    pub expires_at: Timestamp,
    /// The signed-in user.
    pub user: User,
}

pub struct Submission(pub Arc<submission::Model>);

/// An agency's report on one task for one reporting period (a year or a half-year): one
/// per agency, task and period.
#[Object(serial)]
impl Submission {
    /// Opaque global id, accepted by `node(id:)`.
    pub async fn id(&self) -> ID {
        global_id("Submission", self.0.id)
    }
    /// The reporting agency (the tenant that owns this report).
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.agency_id)
            .await
            .map(Agency)
    }
    /// The plan of the task.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
    /// The task reported on.
    async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        required::<task::Entity>(ctx, self.0.task_id)
            .await
            .map(Task)
    }
    /// The reporting period (a year or a half-year).
    async fn period(&self, ctx: &Context<'_>) -> Result<Period> {
        required::<period::Entity>(ctx, self.0.period_id)
            .await
            .map(Period)
    }
    /// Where the report is in its review workflow.
    async fn status(&self) -> Result<SubmissionStatus> {
        parse_stored(&self.0.status).gql()
    }
    /// How far the agency has come with the task, as it reports (NOT_STARTED until it
    /// says otherwise).
    async fn progress(&self) -> Result<Progress> {
        parse_stored(&self.0.progress).gql()
    }
    /// A short account of the period's work on the task; empty until written.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Kết quả thực hiện: what was achieved; empty until written.
    async fn results(&self) -> &str {
        &self.0.results
    }
    /// Vướng mắc: difficulties met; empty until written.
    async fn difficulties(&self) -> &str {
        &self.0.difficulties
    }
    /// Kiến nghị: proposals to the coordinator; empty until written.
    async fn proposals(&self) -> &str {
        &self.0.proposals
    }
    /// Send this back as `expectedVersion` with the next write.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Whether the latest submit came before the window's deadline; null until submitted.
    async fn on_time(&self) -> Option<bool> {
        self.0.on_time
    }
    /// The coordinator's comment when returning or accepting.
    async fn review_comment(&self) -> Option<&str> {
        self.0.review_comment.as_deref()
    }
    /// When the agency first saved the report.
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When the agency last saved or submitted it (a review does not change it).
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at.into()
    }
    /// When it was last submitted; null until it first is.
    async fn submitted_at(&self) -> Option<Timestamp> {
        self.0.submitted_at.map(Timestamp)
    }
    /// When the coordinator accepted or returned it; null until reviewed, and again once
    /// it is submitted anew.
    async fn reviewed_at(&self) -> Option<Timestamp> {
        self.0.reviewed_at.map(Timestamp)
    }
    /// Evidence per deliverable of the task.
    #[graphql(complexity = "cost::list(cost::bound::DELIVERABLES, child_complexity)")]
    async fn deliverables(&self, ctx: &Context<'_>) -> Result<Vec<SubmissionEvidence>> {
        let rows = tenant_loaders(ctx)?
            .load_one(EvidenceOf(self.0.id))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(rows.into_iter().map(SubmissionEvidence).collect())
    }
    /// Changes to this submission that reach the caller, oldest first, narrowed by
    /// `filter`.
    #[graphql(
        complexity = "cost::list(cost::bound::HISTORY, child_complexity).saturating_add(cost::terms(&filter) * cost::FILTER_TERM)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the entries must meet; all that reach the caller where left out."
        )]
        filter: Option<Box<AuditEntryFilter>>,
    ) -> Result<Vec<AuditEntry>> {
        let filter = KeyFilter::new(filter_of(filter).gql()?);
        let rows = tenant_loaders(ctx)?
            .load_one(HistoryOf(self.0.id, filter))
            .await
            .gql()?
            .unwrap_or_default();
        Ok(rows.into_iter().map(AuditEntry).collect())
    }
}

pub struct SubmissionEvidence(pub Arc<submission_deliverable::Model>);

/// What a report says of one deliverable of its task: how far it has come, and the
/// document that shows it.
#[Object(serial)]
impl SubmissionEvidence {
    /// The task's deliverable this evidence is for.
    async fn deliverable(&self, ctx: &Context<'_>) -> Result<Deliverable> {
        required::<deliverable::Entity>(ctx, self.0.deliverable_id)
            .await
            .map(Deliverable)
    }
    /// How far the deliverable has come.
    async fn status(&self) -> Result<Progress> {
        parse_stored(&self.0.status).gql()
    }
    /// The document that shows it, e.g. "Kế hoạch số 123/KH-UBND ngày 01/4/2024"; null
    /// where none was given.
    async fn document_ref(&self) -> Option<&str> {
        self.0.document_ref.as_deref()
    }
    /// Where the document can be read, an `http://` or `https://` address; null where none
    /// was given.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
}

pub struct AuditEntry(pub Arc<audit_log::Model>);

/// One change to a submission, as the audit log keeps it.
#[Object(serial)]
impl AuditEntry {
    /// create, update, submit, accept, return, …
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// When the change was made.
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    /// Who made the change (null for the command line).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match self.0.actor_id {
            Some(id) => Ok(Some(
                required::<user::Entity>(ctx, id).await?.username.clone(),
            )),
            None => Ok(None),
        }
    }
    /// The record before the change (null where it was created).
    async fn before(&self) -> Option<JsonValue> {
        self.0.before.clone().map(JsonValue)
    }
    /// The record after the change.
    async fn after(&self) -> Option<JsonValue> {
        self.0.after.clone().map(JsonValue)
    }
}

pub struct ReportingWindow(pub Arc<reporting_window::Model>);

/// A reporting period of a plan, opened by its coordinator: the time in which agencies
/// write and submit their reports for the period.
#[Object]
impl ReportingWindow {
    /// Opaque global id, accepted by `node(id:)`.
    pub async fn id(&self) -> ID {
        global_id("ReportingWindow", self.0.id)
    }
    /// The plan reported on.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
    /// The reporting period (a year or a half-year).
    async fn period(&self, ctx: &Context<'_>) -> Result<Period> {
        required::<period::Entity>(ctx, self.0.period_id)
            .await
            .map(Period)
    }
    /// From when reports for the period can be written and submitted.
    async fn opens_at(&self) -> Timestamp {
        self.0.opens_at.into()
    }
    /// The deadline: submissions after it are recorded as late.
    async fn due_at(&self) -> Timestamp {
        self.0.due_at.into()
    }
    /// After it, the window locks.
    async fn closes_at(&self) -> Timestamp {
        self.0.closes_at.into()
    }
    /// Whether the coordinator reopened it after it closed.
    async fn reopened(&self) -> bool {
        self.0.reopened
    }
    /// Whether writes are accepted now.
    async fn is_open(&self) -> bool {
        windows::is_open(&self.0, Utc::now())
    }
}
