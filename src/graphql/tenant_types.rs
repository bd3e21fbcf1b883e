//! Object types of identity and reporting: users, submissions, evidence, history,
//! reporting windows. Submission relations go through the per-request tenant loaders,
//! which apply the caller's scope.
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
    types::{Agency, Deliverable, Period, Plan, Task, required},
};
use crate::service::{
    domain::{Progress, Role, SubmissionStatus, parse_stored},
    windows,
};

/// A person who signs in: staff of one agency, with one role.
pub struct User(pub user::Model);

#[Object]
impl User {
    /// Opaque global id, accepted by `node(id:)` (for the user themself and admins).
    pub async fn id(&self) -> ID {
        global_id("User", self.0.id)
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> Result<Role> {
        parse_stored(&self.0.role).gql()
    }
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.agency_id)
            .await
            .map(Agency)
    }
}

/// Who is signed in.
#[derive(SimpleObject)]
pub struct Viewer {
    pub user: User,
    pub agency: Agency,
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

/// An agency's report on one task for one reporting period.
pub struct Submission(pub submission::Model);

#[Object]
impl Submission {
    pub async fn id(&self) -> ID {
        global_id("Submission", self.0.id)
    }
    /// The reporting agency (the tenant that owns this report).
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.agency_id)
            .await
            .map(Agency)
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
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
    async fn status(&self) -> Result<SubmissionStatus> {
        parse_stored(&self.0.status).gql()
    }
    async fn progress(&self) -> Result<Progress> {
        parse_stored(&self.0.progress).gql()
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn results(&self) -> &str {
        &self.0.results
    }
    /// Vướng mắc: difficulties met.
    async fn difficulties(&self) -> &str {
        &self.0.difficulties
    }
    /// Kiến nghị: proposals to the coordinator.
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
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at.into()
    }
    async fn submitted_at(&self) -> Option<Timestamp> {
        self.0.submitted_at.map(Timestamp)
    }
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
        filter: Option<AuditEntryFilter>,
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

/// Evidence for one deliverable.
pub struct SubmissionEvidence(pub submission_deliverable::Model);

#[Object]
impl SubmissionEvidence {
    async fn deliverable(&self, ctx: &Context<'_>) -> Result<Deliverable> {
        required::<deliverable::Entity>(ctx, self.0.deliverable_id)
            .await
            .map(Deliverable)
    }
    async fn status(&self) -> Result<Progress> {
        parse_stored(&self.0.status).gql()
    }
    /// E.g. "Kế hoạch số 123/KH-UBND ngày 01/4/2024".
    async fn document_ref(&self) -> Option<&str> {
        self.0.document_ref.as_deref()
    }
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
}

/// One change, as the audit log keeps it.
pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    /// create, update, submit, accept, return, …
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    /// Who made the change (null for the command line).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match self.0.actor_id {
            Some(id) => Ok(Some(required::<user::Entity>(ctx, id).await?.username)),
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

/// A reporting period opened by a plan's coordinator.
pub struct ReportingWindow(pub reporting_window::Model);

#[Object]
impl ReportingWindow {
    /// Opaque global id, accepted by `node(id:)`.
    pub async fn id(&self) -> ID {
        global_id("ReportingWindow", self.0.id)
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
    async fn period(&self, ctx: &Context<'_>) -> Result<Period> {
        required::<period::Entity>(ctx, self.0.period_id)
            .await
            .map(Period)
    }
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
