//! Object types of the plan: thin wrappers over entity rows whose relations go through
//! the per-request loaders.
//!
//! The types that come in long lists (tasks, agencies, deliverables, periods, reports…)
//! resolve their fields one after the other (`#[Object(serial)]`). Most fields read the
//! row; a relation waits on a loader that batches it across the whole list either way, so
//! running one object's fields side by side gains nothing, and async-graphql would give
//! each object a set of futures (an allocation and wake-ups per field; measured in
//! bench/BENCHMARKS.md, run 9). Two relations of one object are two loader
//! rounds, one after the other, each still one statement for the whole list.
//!
//! async-graphql boxes a future for every field of every object, as large as the
//! object's largest field future: a field that awaits a query of its own boxes it, and a
//! filter argument comes boxed (a `SubmissionFilter` is a kilobyte), so that a task's
//! `id` does not cost a copy of two kilobytes (run 11).
use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object, Result, dataloader::Loader};
use entity::{
    agency, agency_group, assignment, deliverable, period, plan, reporting_window, section, task,
    user,
};

use super::{
    cost,
    error::IntoGql,
    filters::{IntoFilter, SubmissionFilter, TaskFilter, TaskOrderBy, filter_of, sorting},
    loaders::{
        AgenciesOfTask, AssignmentsOfTask, ById, ByText, CatalogLoader, CoordinatorOfPlan,
        DeliverablesOfTask, DeliverablesOfTaskInPeriod, GroupsOfAgency, KeyFilter, MembersOfGroup,
        RecipientsOfPlan, SectionsOfPlan, SubmissionById, SubmissionsOf, SuccessionsOfAgency,
        TaskPage, TasksOfAgency, TasksOfPlan, TasksOfSection, TenantLoaders, TimeframeOfTask,
        loaders, tenant_loaders,
    },
    relay::{Conn, connection, global_id, page_request},
    session::scope_if_signed_in,
};
use crate::graphql::{scalars::Date, state::db};
use crate::service::{
    ServiceError,
    catalog::{self, SuccessionSide},
    catalog_filter::{PlanPredicate, TaskPredicate},
    domain::{
        AgencyKind, AssignmentRole, GroupExpansion, PeriodKind, Role, SectionPart, TaskSchedule,
        parse_stored,
    },
    filter::{Filter, Op, Value},
    submissions::Parent,
};

/// Anything with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Opaque global id, accepted by `node(id:)`."
))]
pub enum Node {
    Plan(Plan),
    Section(Section),
    Task(Task),
    Deliverable(Deliverable),
    Agency(Agency),
    AgencyGroup(AgencyGroup),
    Period(Period),
    ReportingWindow(super::tenant_types::ReportingWindow),
    Submission(super::tenant_types::Submission),
    User(super::tenant_types::User),
}

/// The plan's object types hold their row behind an `Arc`: a loader hands one row to
/// every object that asks for it (a group's members to each of a plan's tasks) and keeps
/// it in its cache as well, and counting references costs less than copying the row's
/// strings each time (bench/BENCHMARKS.md, run 11). A row read for one object is wrapped
/// with `From`.
macro_rules! rows_shared {
    ($($object:ident => $module:ident),+ $(,)?) => {$(
        impl From<$module::Model> for $object {
            fn from(row: $module::Model) -> Self {
                Self(Arc::new(row))
            }
        }
    )+};
}
pub(super) use rows_shared;
rows_shared!(
    Plan => plan,
    Section => section,
    Task => task,
    Assignment => assignment,
    Deliverable => deliverable,
    Agency => agency,
    AgencyGroup => agency_group,
    Period => period,
);

/// Loads a row that must exist (a foreign key points at it).
pub async fn required<E>(ctx: &Context<'_>, id: i64) -> Result<Arc<E::Model>>
where
    E: sea_orm::EntityTrait + Send + Sync,
    E::Model: Send + Sync + super::loaders::RowId,
    CatalogLoader: Loader<ById<E>, Value = Arc<E::Model>, Error = Arc<ServiceError>>,
{
    loaders(ctx)
        .load_one(ById::<E>::new(id))
        .await
        .gql()?
        .ok_or_else(|| ServiceError::Internal(format!("dangling reference to id {id}")))
        .gql()
}

/// Loads a one-to-many relation.
async fn children<K, V>(ctx: &Context<'_>, key: K) -> Result<Vec<Arc<V>>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + 'static,
    CatalogLoader: Loader<K, Value = Vec<Arc<V>>, Error = Arc<ServiceError>>,
{
    Ok(loaders(ctx).load_one(key).await.gql()?.unwrap_or_default())
}

async fn visible_submissions(
    ctx: &Context<'_>,
    key: SubmissionsOf,
) -> Result<Vec<super::tenant_types::Submission>> {
    let rows = tenant_loaders(ctx)?
        .load_one(key)
        .await
        .gql()?
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(super::tenant_types::Submission)
        .collect())
}

pub struct Plan(pub Arc<plan::Model>);

/// A provincial plan, such as Binh Dinh's Decision 768/QĐ-UBND: the tasks of its
/// appendix, who carries them out, and who consolidates the reports.
#[Object]
impl Plan {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Plan", self.0.id)
    }
    /// The decision's number, e.g. "768/QĐ-UBND".
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The jurisdiction (a province's slug, e.g. "binh-dinh") whose agency and group codes
    /// the plan uses: a bare code written for the plan is read there first.
    async fn jurisdiction(&self) -> &str {
        &self.0.jurisdiction
    }
    /// The plan's title as issued, in Vietnamese.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The day the decision was issued, e.g. 2022-03-11.
    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }
    /// The day the plan takes effect: reports are owed for the periods that end on or
    /// after it.
    async fn effective_on(&self) -> Date {
        Date(self.0.effective_on.unwrap_or(self.0.issued_on))
    }
    /// First year of the plan's horizon.
    async fn start_year(&self) -> i32 {
        self.0.start_year
    }
    /// Last year of the plan's horizon.
    async fn end_year(&self) -> i32 {
        self.0.end_year
    }
    /// The body that issued the plan.
    async fn issuer(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.issuer_id)
            .await
            .map(Agency)
    }
    /// The agency that consolidates reports for this plan today; its coordinators manage
    /// the plan. A reorganization can hand this on (see `Agency.successors`).
    async fn coordinator(&self, ctx: &Context<'_>) -> Result<Agency> {
        children(ctx, CoordinatorOfPlan(self.0.id))
            .await?
            .into_iter()
            .next()
            .map(Agency)
            .ok_or_else(|| ServiceError::Internal(format!("plan {} has no coordinator", self.0.id)))
            .gql()
    }
    /// The coordinating agency the plan's decision names.
    async fn named_coordinator(&self, ctx: &Context<'_>) -> Result<Agency> {
        required::<agency::Entity>(ctx, self.0.coordinator_id)
            .await
            .map(Agency)
    }
    /// The agencies the coordinator's consolidated reports go to (for 768, the provincial
    /// People's Committee and the Ministry, by section III of the plan). Their users read
    /// the plan's submitted reports, read-only, whatever their role.
    #[graphql(complexity = "cost::list(cost::bound::GROUPS, child_complexity)")]
    async fn recipients(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        Ok(children(ctx, RecipientsOfPlan(self.0.id))
            .await?
            .into_iter()
            .map(Agency)
            .collect())
    }
    /// The sections of the plan's appendix (I–V for 768), in the plan's order.
    #[graphql(complexity = "cost::list(cost::bound::SECTIONS, child_complexity)")]
    async fn sections(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        Ok(children(ctx, SectionsOfPlan(self.0.id))
            .await?
            .into_iter()
            .map(Section)
            .collect())
    }
    /// The plan's tasks, filtered, ordered and paged.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the tasks must meet; all of the plan's tasks where left out."
        )]
        filter: Option<TaskFilter>,
        #[graphql(desc = "Sort keys, first key first (at most 4).")] order_by: Option<
            Vec<TaskOrderBy>,
        >,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Task>> {
        let Some(loaders) = ctx.data_opt::<TenantLoaders>() else {
            let of_plan = Filter::is(TaskPredicate::Plan(Filter::is(PlanPredicate::Id(
                Op::EqualTo(Value::Int(self.0.id)),
            ))));
            let filter = match filter {
                Some(filter) => filter.into_filter().gql()?.and(of_plan),
                None => of_plan,
            };
            return Box::pin(task_connection(ctx, filter, order_by, first, after)).await;
        };
        // Signed in: the same page of every plan this field is asked of (a list of plans)
        // loads at once.
        let filter = match filter {
            Some(filter) => filter.into_filter().gql()?,
            None => Filter::default(),
        };
        let page = page_request(ctx, first, after).gql()?;
        let query = ByText::new(TaskPage {
            filter,
            order: sorting(order_by, Into::into),
            page,
        });
        let tasks = loaders
            .load_one(TasksOfPlan(self.0.id, query))
            .await
            .gql()?
            .ok_or_else(|| ServiceError::Internal("a plan's page of tasks was not read".into()))
            .gql()?
            .gql()?;
        Ok(connection(tasks, Task))
    }
}

/// A page of tasks narrowed by `filter`.
pub async fn task_connection(
    ctx: &Context<'_>,
    filter: Filter<TaskPredicate>,
    order_by: Option<Vec<TaskOrderBy>>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<Task>> {
    let page = page_request(ctx, first, after).gql()?;
    let scope = scope_if_signed_in(ctx);
    let order = sorting(order_by, Into::into);
    let tasks = catalog::list_tasks(db(ctx), scope, &filter, &order, &page)
        .await
        .gql()?;
    Ok(connection(tasks, Task::from))
}

pub struct Section(pub Arc<section::Model>);

/// A section of a plan grouping its tasks: a section of the appendix, such as "III" of
/// 768, or the duties the decision's text gives ("TCTH" of 768: its section III, "Tổ
/// chức thực hiện").
#[Object]
impl Section {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Section", self.0.id)
    }
    /// The section's numeral: a Roman numeral for the appendix ("III"), "TCTH" for the
    /// duties of 768's body. Task labels such as "III.2" start with it.
    async fn numeral(&self) -> &str {
        &self.0.numeral
    }
    /// Whether the section is of the appendix or gives the duties of the decision's text.
    async fn part(&self) -> Result<SectionPart> {
        parse_stored(&self.0.part).gql()
    }
    /// The section's heading in the plan, in Vietnamese.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The section's place in its plan, from 1 (section I).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The plan the section belongs to.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
    /// The section's tasks, in the plan's order.
    #[graphql(complexity = "cost::list(cost::bound::TASKS_OF_SECTION, child_complexity)")]
    async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        Ok(children(ctx, TasksOfSection(self.0.id))
            .await?
            .into_iter()
            .map(Task)
            .collect())
    }
}

pub struct Task(pub Arc<task::Model>);

/// A task of a plan (one row of its appendix): what is to be done, by whom, producing
/// what, and when.
#[Object(serial)]
impl Task {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Task", self.0.id)
    }
    /// The number within its section; null where the plan gives none (section IV).
    async fn number(&self) -> Option<i32> {
        self.0.number
    }
    /// The plan's wording of the task.
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// How the implementation period is given: every year (ANNUAL), by phases (PHASED), or
    /// once, for one period (ONCE).
    async fn schedule(&self) -> Result<TaskSchedule> {
        parse_stored(&self.0.schedule).gql()
    }
    /// The plan's wording of the implementation period, e.g. "Hằng năm".
    async fn timeframe_wording(&self) -> &str {
        &self.0.timeframe_wording
    }
    /// What the transcription had to infer for this task, where the source lost it.
    async fn inferred_note(&self) -> Option<&str> {
        self.0.inferred_note.as_deref()
    }
    /// The task's place in its plan, counted from 1 across all sections (the order of the
    /// appendix).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The section the task is listed in.
    async fn section(&self, ctx: &Context<'_>) -> Result<Section> {
        required::<section::Entity>(ctx, self.0.section_id)
            .await
            .map(Section)
    }
    /// The plan the task belongs to.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        required::<plan::Entity>(ctx, self.0.plan_id)
            .await
            .map(Plan)
    }
    /// Assignees as the plan words them: one agency or a collective group each.
    #[graphql(complexity = "cost::list(cost::bound::AGENCIES_OF_TASK, child_complexity)")]
    async fn assignments(&self, ctx: &Context<'_>) -> Result<Vec<Assignment>> {
        Ok(children(ctx, AssignmentsOfTask(self.0.id))
            .await?
            .into_iter()
            .map(Assignment)
            .collect())
    }
    /// Lead agencies (cơ quan chủ trì), groups expanded to their members.
    #[graphql(complexity = "cost::list(cost::bound::AGENCIES_OF_TASK, child_complexity)")]
    async fn lead_agencies(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        Ok(
            children(ctx, AgenciesOfTask(self.0.id, AssignmentRole::Lead))
                .await?
                .into_iter()
                .map(Agency)
                .collect(),
        )
    }
    /// Cooperating agencies (cơ quan phối hợp), groups expanded to their members.
    #[graphql(complexity = "cost::list(cost::bound::AGENCIES_OF_TASK, child_complexity)")]
    async fn partner_agencies(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        Ok(
            children(ctx, AgenciesOfTask(self.0.id, AssignmentRole::Partner))
                .await?
                .into_iter()
                .map(Agency)
                .collect(),
        )
    }
    /// Products (sản phẩm) the task must deliver: today's, or those asked for in a
    /// reporting period (on its duty day, the day after it ends), which are the ones its
    /// reports give evidence for.
    #[graphql(complexity = "cost::list(cost::bound::DELIVERABLES, child_complexity)")]
    async fn deliverables(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A period's code, e.g. \"2025\" or \"2025S2\" (default: today's).")]
        period_code: Option<String>,
    ) -> Result<Vec<Deliverable>> {
        let rows = match period_code {
            None => children(ctx, DeliverablesOfTask(self.0.id)).await?,
            // Boxed: a query's future is held in every one of the task's field futures,
            // and this one is large (see the module doc).
            Some(code) => {
                let key = DeliverablesOfTaskInPeriod(self.0.id, code.trim().into());
                match loaders(ctx).load_one(key).await.gql()?.flatten() {
                    Some(rows) => rows,
                    None => return Err(ServiceError::not_found("period")).gql(),
                }
            }
        };
        Ok(rows.into_iter().map(Deliverable).collect())
    }
    /// Reports on this task that the caller may see, narrowed by `filter`: the newest 200,
    /// oldest first (`submissions(filter: {task: …})` pages them all).
    #[graphql(
        complexity = "cost::list(cost::bound::SUBMISSIONS_OF_PARENT, child_complexity).saturating_add(cost::terms(&filter) * cost::FILTER_TERM)"
    )]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the reports must meet; all the caller may see where left out."
        )]
        filter: Option<Box<SubmissionFilter>>,
    ) -> Result<Vec<super::tenant_types::Submission>> {
        let filter = KeyFilter::new(filter_of(filter).gql()?);
        visible_submissions(ctx, SubmissionsOf(Parent::Task(self.0.id), filter)).await
    }
    /// The periods the task runs over: the plan's horizon for ANNUAL tasks, its phases for
    /// PHASED ones, the one period it is due for when ONCE.
    #[graphql(complexity = "cost::list(cost::bound::TIMEFRAME, child_complexity)")]
    async fn timeframe(&self, ctx: &Context<'_>) -> Result<Vec<Period>> {
        Ok(children(ctx, TimeframeOfTask(self.0.id))
            .await?
            .into_iter()
            .map(Period)
            .collect())
    }
}

pub struct Assignment(pub Arc<assignment::Model>);

/// One assignee of a task as the plan names it: one agency, or a collective group of
/// agencies, as lead or as partner.
#[Object(serial)]
impl Assignment {
    /// Lead (cơ quan chủ trì), obliged to report, or partner (cơ quan phối hợp).
    async fn role(&self) -> Result<AssignmentRole> {
        parse_stored(&self.0.role).gql()
    }
    /// The plan's own wording of the assignee.
    async fn wording(&self) -> &str {
        &self.0.wording
    }
    /// Set when the assignee is one agency.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        match self.0.agency_id {
            Some(id) => required::<agency::Entity>(ctx, id)
                .await
                .map(|a| Some(Agency(a))),
            None => Ok(None),
        }
    }
    /// Set when the assignee is a collective wording such as "UBND các huyện, thị xã, thành phố".
    async fn group(&self, ctx: &Context<'_>) -> Result<Option<AgencyGroup>> {
        match self.0.group_id {
            Some(id) => required::<agency_group::Entity>(ctx, id)
                .await
                .map(|g| Some(AgencyGroup(g))),
            None => Ok(None),
        }
    }
    /// First day the assignment holds (null: from the plan's start); a successor's
    /// assignment starts on the day of its succession.
    async fn valid_from(&self) -> Option<Date> {
        self.0.valid_from.map(Date)
    }
    /// Last day the assignment holds (null: open-ended).
    async fn valid_to(&self) -> Option<Date> {
        self.0.valid_to.map(Date)
    }
}

pub struct Deliverable(pub Arc<deliverable::Model>);

/// A product (sản phẩm) a task must deliver, e.g. "Tài liệu tuyên truyền".
#[Object(serial)]
impl Deliverable {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Deliverable", self.0.id)
    }
    /// The product, in the plan's wording.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Orders a task's deliverables: the lower, the earlier (numbers are not reused
    /// after an edit, so they need not run from 1).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// True where the source text lost the deliverable and it was inferred.
    async fn inferred(&self) -> bool {
        self.0.inferred
    }
    /// First day the task asks for it; null: from the plan's start.
    async fn valid_from(&self) -> Option<Date> {
        self.0.valid_from.map(Date)
    }
    /// Last day the task asks for it (an edit dropped it); null: open-ended.
    async fn valid_to(&self) -> Option<Date> {
        self.0.valid_to.map(Date)
    }
    /// The task that must deliver it.
    async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        required::<task::Entity>(ctx, self.0.task_id)
            .await
            .map(Task)
    }
}

pub struct Agency(pub Arc<agency::Model>);

/// A body the plans name: a department, a district, another provincial body, a mass
/// organization or a ministry. Tenant agencies report on their tasks.
#[Object(serial)]
impl Agency {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Agency", self.0.id)
    }
    /// Stable slug, e.g. "so-ldtbxh", unique within its jurisdiction: another province's
    /// plan may have its own "so-tai-chinh". Where a code is used in several
    /// jurisdictions, arguments take it as "jurisdiction/code".
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The jurisdiction whose codes `code` is one of: a province's slug ("binh-dinh"),
    /// "vn" for a national body such as a Ministry; empty where the database's agencies
    /// were loaded before jurisdictions.
    async fn jurisdiction(&self) -> &str {
        &self.0.jurisdiction
    }
    /// Full Vietnamese name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The usual abbreviated name, e.g. "Sở LĐ-TB&XH", "UBND tỉnh".
    async fn short_name(&self) -> &str {
        &self.0.short_name
    }
    /// What kind of body the agency is.
    async fn kind(&self) -> Result<AgencyKind> {
        parse_stored(&self.0.kind).gql()
    }
    /// Whether the agency keeps its own submissions.
    async fn is_tenant(&self) -> bool {
        self.0.is_tenant
    }
    /// First day the agency exists (null: it existed before any plan that names it).
    async fn valid_from(&self) -> Option<Date> {
        self.0.valid_from.map(Date)
    }
    /// Last day the agency exists (null: still exists).
    async fn valid_to(&self) -> Option<Date> {
        self.0.valid_to.map(Date)
    }
    /// The first of `successors`.
    #[graphql(deprecation = "An agency can have several successors: use `successors`.")]
    async fn successor(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        Ok(self.successors(ctx).await?.into_iter().next())
    }
    /// The agencies this one's work passed to when it ended, earliest first. Each reads
    /// this agency's reports (not its drafts) and owes its obligations from then on.
    async fn successors(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        let key = SuccessionsOfAgency(self.0.id, SuccessionSide::Successors);
        Ok(children(ctx, key).await?.into_iter().map(Agency).collect())
    }
    /// The agencies whose work passed to this one, earliest first: its users read their
    /// reports (not their drafts), read-only.
    async fn predecessors(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        let key = SuccessionsOfAgency(self.0.id, SuccessionSide::Predecessors);
        Ok(children(ctx, key).await?.into_iter().map(Agency).collect())
    }
    /// Tasks this agency leads, directly or as a member of a group.
    #[graphql(complexity = "cost::list(cost::bound::TASKS_OF_AGENCY, child_complexity)")]
    async fn led_tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        Ok(
            children(ctx, TasksOfAgency(self.0.id, AssignmentRole::Lead))
                .await?
                .into_iter()
                .map(Task)
                .collect(),
        )
    }
    /// Tasks this agency cooperates on, directly or as a member of a group.
    #[graphql(complexity = "cost::list(cost::bound::TASKS_OF_AGENCY, child_complexity)")]
    async fn partner_tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        Ok(
            children(ctx, TasksOfAgency(self.0.id, AssignmentRole::Partner))
                .await?
                .into_iter()
                .map(Task)
                .collect(),
        )
    }
    /// This agency's reports that the caller may see, narrowed by `filter`: the newest 200,
    /// oldest first (`submissions(filter: {agency: …})` pages them all).
    #[graphql(
        complexity = "cost::list(cost::bound::SUBMISSIONS_OF_PARENT, child_complexity).saturating_add(cost::terms(&filter) * cost::FILTER_TERM)"
    )]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the reports must meet; all the caller may see where left out."
        )]
        filter: Option<Box<SubmissionFilter>>,
    ) -> Result<Vec<super::tenant_types::Submission>> {
        let filter = KeyFilter::new(filter_of(filter).gql()?);
        visible_submissions(ctx, SubmissionsOf(Parent::Agency(self.0.id), filter)).await
    }
    /// Groups this agency belongs to.
    #[graphql(complexity = "cost::list(cost::bound::GROUPS, child_complexity)")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<AgencyGroup>> {
        Ok(children(ctx, GroupsOfAgency(self.0.id))
            .await?
            .into_iter()
            .map(AgencyGroup)
            .collect())
    }
}

pub struct AgencyGroup(pub Arc<agency_group::Model>);

/// A collective wording of a plan, such as "UBND các huyện, thị xã, thành phố", bound to
/// the agencies it stands for.
#[Object]
impl AgencyGroup {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("AgencyGroup", self.0.id)
    }
    /// Stable slug, e.g. "ubnd-cac-huyen", unique within its jurisdiction.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The jurisdiction whose codes `code` is one of (a province's slug, e.g. "binh-dinh").
    async fn jurisdiction(&self) -> &str {
        &self.0.jurisdiction
    }
    /// The plan's wording, e.g. "UBND các huyện, thị xã, thành phố".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Why membership is as it is (e.g. not stated in the plan).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// PLAN_COORDINATOR for a group that stands for whoever coordinates its plan (its one
    /// member is today's coordinator, and a duty given to it follows a hand-over of the
    /// coordination); null for a group of named members.
    async fn expands_to(&self) -> Result<Option<GroupExpansion>> {
        self.0
            .expands_to
            .as_deref()
            .map(parse_stored)
            .transpose()
            .gql()
    }
    /// The agencies the group stands for today; empty until the coordinator names them
    /// where the plan does not.
    #[graphql(complexity = "cost::list(cost::bound::GROUPS, child_complexity)")]
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        Ok(children(ctx, MembersOfGroup(self.0.id))
            .await?
            .into_iter()
            .map(Agency)
            .collect())
    }
}

pub struct Period(pub Arc<period::Model>);

/// A span of time: a year (`2024`) or half-year (`2024S1`), which reports are made for,
/// or a phase of a plan (`2021-2025`), which tasks run over.
#[Object(serial)]
impl Period {
    /// Opaque global id, accepted by `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Period", self.0.id)
    }
    /// "2024" (a year), "2024S1" or "2024S2" (its first or second half), "2021-2025" (a
    /// phase).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Year, half-year or phase.
    async fn kind(&self) -> Result<PeriodKind> {
        parse_stored(&self.0.kind).gql()
    }
    /// The period's first day.
    async fn starts_on(&self) -> Date {
        Date(self.0.starts_on)
    }
    /// The period's last day (included).
    async fn ends_on(&self) -> Date {
        Date(self.0.ends_on)
    }
    /// The period's Vietnamese name, e.g. "Năm 2024", "6 tháng đầu năm 2024", "Giai đoạn
    /// 2021 - 2025".
    async fn label(&self) -> &str {
        &self.0.label
    }
}

/// Resolves a global id to its node, or None where no such row exists.
pub async fn node(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let Ok((type_name, row)) = super::relay::parse_global_id(id) else {
        return Ok(None);
    };
    let l = loaders(ctx);
    Ok(match type_name.as_str() {
        "Plan" => l
            .load_one(ById::<plan::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Plan(Plan(m))),
        "Section" => l
            .load_one(ById::<section::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Section(Section(m))),
        "Task" => l
            .load_one(ById::<task::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Task(Task(m))),
        "Deliverable" => l
            .load_one(ById::<deliverable::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Deliverable(Deliverable(m))),
        "Agency" => l
            .load_one(ById::<agency::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Agency(Agency(m))),
        "AgencyGroup" => l
            .load_one(ById::<agency_group::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::AgencyGroup(AgencyGroup(m))),
        "Period" => l
            .load_one(ById::<period::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::Period(Period(m))),
        // Another tenant's submission is absent, exactly like a missing one.
        "Submission" => tenant_loaders(ctx)?
            .load_one(SubmissionById(row))
            .await
            .gql()?
            .map(|m| Node::Submission(super::tenant_types::Submission(m))),
        "ReportingWindow" => l
            .load_one(ById::<reporting_window::Entity>::new(row))
            .await
            .gql()?
            .map(|m| Node::ReportingWindow(super::tenant_types::ReportingWindow(m))),
        // A user is seen by themself and by admins; to anyone else it is missing.
        "User" => {
            let (principal, _) = super::session::signed_in(ctx).gql()?;
            if principal.user_id != row && principal.role != Role::Admin {
                return Ok(None);
            }
            l.load_one(ById::<user::Entity>::new(row))
                .await
                .gql()?
                .map(|m| Node::User(super::tenant_types::User(m)))
        }
        _ => None,
    })
}
