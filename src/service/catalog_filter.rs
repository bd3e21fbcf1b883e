//! Filters and orders of the plan's catalog: plans, sections, tasks, deliverables,
//! agencies, agency groups and periods. See `filter` for the language.
use entity::{
    agency, agency_group, agency_group_member, assignment, audit_log, deliverable, period, plan,
    reporting_window, section, submission, task,
};
use sea_orm::{
    EntityTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, IntoIden, Query, SelectStatement, UnionType},
};

use super::{
    ServiceResult,
    domain::{AssignmentRole, GroupExpansion},
    filter::{Field, Filter, Op, Predicate, Quantifier, Reach, Size, quantified},
    pagination::{KeyKind, SortKey},
    submission_filter::SubmissionPredicate,
    text, timeline,
};

/// A column of a table, qualified by the table's name.
pub fn column<E: EntityTrait>(entity: E, column: E::Column) -> Expr {
    Expr::col((entity.into_iden(), column.into_iden()))
}

/// `SELECT <id column> FROM <table> WHERE <filter>`.
pub fn ids_where<E: EntityTrait, P: Predicate>(
    entity: E,
    id: E::Column,
    filter: &Filter<P>,
    cx: &Reach,
) -> ServiceResult<SelectStatement> {
    Ok(Query::select()
        .expr(column(entity, id))
        .from(entity)
        .cond_where(filter.condition(cx)?)
        .to_owned())
}

/// `fk IN (ids of the related table matching filter)`: a to-one relation.
pub fn related<E: EntityTrait, P: Predicate>(
    fk: Expr,
    entity: E,
    id: E::Column,
    filter: &Filter<P>,
    cx: &Reach,
) -> ServiceResult<Condition> {
    Ok(Condition::all().add(fk.in_subquery(ids_where(entity, id, filter, cx)?)))
}

/// A to-many relation through a table: `key IN (SELECT link FROM table WHERE target IN
/// (ids matching))`, quantified.
fn through<E: EntityTrait, P: Predicate + Clone>(
    key: Expr,
    quantifier: Quantifier,
    links: impl Fn(SelectStatement) -> SelectStatement,
    target: (E, E::Column),
    filter: &Filter<P>,
    cx: &Reach,
) -> ServiceResult<Condition> {
    let (entity, id) = target;
    quantified(
        key,
        quantifier,
        || Ok(links(ids_where(entity, id, filter, cx)?)),
        || {
            let failing = Filter::Not(Box::new(filter.clone()));
            Ok(links(ids_where(entity, id, &failing, cx)?))
        },
    )
}

/// One way a task assigns an agency: directly, or through a group's members.
pub struct AssigneeBranch {
    /// SELECT task_id, agency_id, position (the assignment's place in the task) of the
    /// rows that hold on the day asked.
    pub select: SelectStatement,
    /// The task's and the agency's id, as expressions over the branch's tables.
    pub task_id: Expr,
    pub agency_id: Expr,
}

/// The agencies a task assigns in `role` on `day`, groups expanded to their members: the
/// one definition of "the agencies a task assigns", as its three branches (direct,
/// through groups' members, and through a group that stands for the plan's coordinator). A row holds when the assignment does on `day` and, through a group,
/// the membership too; the test is on the tables' own columns, so the planner sees their
/// statistics. `extend` adds the same joins and columns to both (e.g. the reported period
/// `day` depends on). An agency can be assigned both ways, so callers ask "is there one"
/// or take distinct rows rather than count.
pub fn assignee_branches(
    role: AssignmentRole,
    day: impl Fn() -> Expr,
    extend: impl Fn(&mut SelectStatement),
) -> [AssigneeBranch; 3] {
    assignee_branches_over(&AssignmentRows::Table, role, day, extend)
}

/// Where the branches of [`assignee_branches`] read assignments from.
pub enum AssignmentRows {
    /// The `assignment` table.
    Table,
    /// A common table expression of the statement, with the table's columns and some of
    /// its rows (e.g. the assignments of a page of tasks), read under the table's name.
    Cte(Alias),
}

impl AssignmentRows {
    fn read_by(&self, select: &mut SelectStatement) {
        match self {
            AssignmentRows::Table => select.from(assignment::Entity),
            AssignmentRows::Cte(name) => select.from_as(name.clone(), assignment::Entity),
        };
    }
}

/// [`assignee_branches`], reading assignments from `rows`.
pub fn assignee_branches_over(
    rows: &AssignmentRows,
    role: AssignmentRole,
    day: impl Fn() -> Expr,
    extend: impl Fn(&mut SelectStatement),
) -> [AssigneeBranch; 3] {
    let role = role.as_str();
    let a = |c: assignment::Column| column(assignment::Entity, c);
    let m = |c: agency_group_member::Column| column(agency_group_member::Entity, c);
    let assignment_holds = || {
        timeline::holds_on(
            a(assignment::Column::ValidFrom),
            a(assignment::Column::ValidTo),
            day(),
        )
    };
    let mut direct = Query::select();
    rows.read_by(&mut direct);
    direct
        .expr_as(a(assignment::Column::TaskId), Alias::new("task_id"))
        .expr_as(a(assignment::Column::AgencyId), Alias::new("agency_id"))
        .expr_as(a(assignment::Column::Position), Alias::new("position"))
        .and_where(a(assignment::Column::Role).eq(role))
        .and_where(a(assignment::Column::AgencyId).is_not_null());
    extend(&mut direct);
    direct.cond_where(assignment_holds());
    let mut through_groups = Query::select();
    rows.read_by(&mut through_groups);
    through_groups
        .expr_as(a(assignment::Column::TaskId), Alias::new("task_id"))
        .expr_as(
            m(agency_group_member::Column::AgencyId),
            Alias::new("agency_id"),
        )
        .expr_as(a(assignment::Column::Position), Alias::new("position"))
        .inner_join(
            agency_group_member::Entity,
            m(agency_group_member::Column::GroupId)
                .equals((assignment::Entity, assignment::Column::GroupId)),
        )
        .and_where(a(assignment::Column::Role).eq(role));
    extend(&mut through_groups);
    through_groups
        .cond_where(assignment_holds())
        .cond_where(timeline::holds_on(
            m(agency_group_member::Column::ValidFrom),
            m(agency_group_member::Column::ValidTo),
            day(),
        ));
    // A group that stands for the plan's coordinator expands to whoever coordinates the
    // group's plan on `day` (`timeline::coordinator_on`, the one definition of it).
    let coordinating = Query::select()
        .expr(timeline::coordinator_on(day()))
        .from(plan::Entity)
        .and_where(
            column(plan::Entity, plan::Column::Id)
                .equals((agency_group::Entity, agency_group::Column::PlanId)),
        )
        .to_owned();
    let coordinator = Expr::SubQuery(None, Box::new(coordinating.into()));
    let mut through_coordination = Query::select();
    rows.read_by(&mut through_coordination);
    through_coordination
        .expr_as(a(assignment::Column::TaskId), Alias::new("task_id"))
        .expr_as(coordinator.clone(), Alias::new("agency_id"))
        .expr_as(a(assignment::Column::Position), Alias::new("position"))
        .inner_join(
            agency_group::Entity,
            column(agency_group::Entity, agency_group::Column::Id)
                .equals((assignment::Entity, assignment::Column::GroupId)),
        )
        .and_where(a(assignment::Column::Role).eq(role))
        .and_where(
            column(agency_group::Entity, agency_group::Column::ExpandsTo)
                .eq(GroupExpansion::PlanCoordinator.as_str()),
        );
    extend(&mut through_coordination);
    through_coordination.cond_where(assignment_holds());
    [
        AssigneeBranch {
            select: direct,
            task_id: a(assignment::Column::TaskId),
            agency_id: a(assignment::Column::AgencyId),
        },
        AssigneeBranch {
            select: through_groups,
            task_id: a(assignment::Column::TaskId),
            agency_id: m(agency_group_member::Column::AgencyId),
        },
        AssigneeBranch {
            select: through_coordination,
            task_id: a(assignment::Column::TaskId),
            agency_id: coordinator,
        },
    ]
}

/// (group_id, agency_id) of the members of groups today: the member rows that hold
/// today, and for a group that stands for its plan's coordinator, the agency coordinating
/// the plan today (`timeline::coordinator_on`). The one definition of "a group's members".
pub fn memberships_today() -> SelectStatement {
    let g = |c: agency_group::Column| column(agency_group::Entity, c);
    let m = |c: agency_group_member::Column| column(agency_group_member::Entity, c);
    let today = || Expr::val(timeline::today());
    let mut listed = Query::select();
    listed
        .expr_as(
            m(agency_group_member::Column::GroupId),
            Alias::new("group_id"),
        )
        .expr_as(
            m(agency_group_member::Column::AgencyId),
            Alias::new("agency_id"),
        )
        .from(agency_group_member::Entity)
        .cond_where(timeline::holds_on(
            m(agency_group_member::Column::ValidFrom),
            m(agency_group_member::Column::ValidTo),
            today(),
        ));
    let mut coordinating = Query::select();
    coordinating
        .expr_as(g(agency_group::Column::Id), Alias::new("group_id"))
        .expr_as(timeline::coordinator_on(today()), Alias::new("agency_id"))
        .from(agency_group::Entity)
        .inner_join(
            plan::Entity,
            column(plan::Entity, plan::Column::Id)
                .equals((agency_group::Entity, agency_group::Column::PlanId)),
        )
        .and_where(g(agency_group::Column::ExpandsTo).eq(GroupExpansion::PlanCoordinator.as_str()));
    listed.union(UnionType::All, coordinating);
    listed
}

/// [`assignee_branches`] as one table (UNION ALL): task_id, agency_id, position and what
/// `extend` adds.
pub fn assignees(
    rows: &AssignmentRows,
    role: AssignmentRole,
    day: impl Fn() -> Expr,
    extend: impl Fn(&mut SelectStatement),
) -> SelectStatement {
    let [direct, through_groups, through_coordination] =
        assignee_branches_over(rows, role, day, extend);
    let mut union = direct.select;
    union.union(UnionType::All, through_groups.select);
    union.union(UnionType::All, through_coordination.select);
    union
}

/// `SELECT <wanted> FROM (assignees in role, today) WHERE <other> IN (ids)`.
fn assignee_links(
    role: AssignmentRole,
    wanted: &str,
    other: &str,
) -> impl Fn(SelectStatement) -> SelectStatement {
    let (wanted, other) = (wanted.to_owned(), other.to_owned());
    move |ids| {
        Query::select()
            .expr(Expr::col((
                Alias::new("assignee"),
                Alias::new(wanted.as_str()),
            )))
            .from_subquery(
                assignees(
                    &AssignmentRows::Table,
                    role,
                    || Expr::val(timeline::today()),
                    |_| {},
                ),
                Alias::new("assignee"),
            )
            .and_where(
                Expr::col((Alias::new("assignee"), Alias::new(other.as_str()))).in_subquery(ids),
            )
            .to_owned()
    }
}

/// A condition on a plan.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanPredicate {
    Id(Op),
    Code(Op),
    Title(Op),
    IssuedOn(Op),
    StartYear(Op),
    EndYear(Op),
    Coordinator(Filter<AgencyPredicate>),
}

impl Predicate for PlanPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: plan::Column| Field::new((plan::Entity, c));
        match self {
            Self::Id(op) => f(plan::Column::Id).compare(op, cx),
            Self::Code(op) => f(plan::Column::Code).text().compare(op, cx),
            Self::Title(op) => f(plan::Column::Title).text().compare(op, cx),
            Self::IssuedOn(op) => f(plan::Column::IssuedOn).compare(op, cx),
            Self::StartYear(op) => f(plan::Column::StartYear).compare(op, cx),
            Self::EndYear(op) => f(plan::Column::EndYear).compare(op, cx),
            Self::Coordinator(filter) => related(
                timeline::coordinator_on(Expr::val(timeline::today())),
                agency::Entity,
                agency::Column::Id,
                filter,
                cx,
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Coordinator(filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on a section of a plan.
#[derive(Clone, Debug, PartialEq)]
pub enum SectionPredicate {
    Id(Op),
    Numeral(Op),
    Title(Op),
    Part(Op),
    Plan(Filter<PlanPredicate>),
}

impl Predicate for SectionPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: section::Column| Field::new((section::Entity, c));
        match self {
            Self::Id(op) => f(section::Column::Id).compare(op, cx),
            Self::Numeral(op) => f(section::Column::Numeral).text().compare(op, cx),
            Self::Title(op) => f(section::Column::Title).text().compare(op, cx),
            Self::Part(op) => f(section::Column::Part).compare(op, cx),
            Self::Plan(filter) => related(
                column(section::Entity, section::Column::PlanId),
                plan::Entity,
                plan::Column::Id,
                filter,
                cx,
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Plan(filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on a task.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskPredicate {
    Id(Op),
    Number(Op),
    Content(Op),
    Schedule(Op),
    /// Every word, ignoring case and diacritics, in the content.
    Search(String),
    Plan(Filter<PlanPredicate>),
    Section(Filter<SectionPredicate>),
    LeadAgencies(Quantifier, Filter<AgencyPredicate>),
    PartnerAgencies(Quantifier, Filter<AgencyPredicate>),
    Deliverables(Quantifier, Filter<DeliverablePredicate>),
    /// The task's reports the caller may see.
    Submissions(Quantifier, Filter<SubmissionPredicate>),
}

impl Predicate for TaskPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: task::Column| Field::new((task::Entity, c));
        let id = || column(task::Entity, task::Column::Id);
        match self {
            Self::Id(op) => f(task::Column::Id).compare(op, cx),
            Self::Number(op) => f(task::Column::Number).nullable().compare(op, cx),
            Self::Content(op) => f(task::Column::Content).text().compare(op, cx),
            Self::Schedule(op) => f(task::Column::Schedule).compare(op, cx),
            Self::Search(words) => {
                text::matches_all((task::Entity, task::Column::SearchText), words)
            }
            Self::Plan(filter) => related(
                column(task::Entity, task::Column::PlanId),
                plan::Entity,
                plan::Column::Id,
                filter,
                cx,
            ),
            Self::Section(filter) => related(
                column(task::Entity, task::Column::SectionId),
                section::Entity,
                section::Column::Id,
                filter,
                cx,
            ),
            Self::LeadAgencies(q, filter) => through(
                id(),
                *q,
                assignee_links(AssignmentRole::Lead, "task_id", "agency_id"),
                (agency::Entity, agency::Column::Id),
                filter,
                cx,
            ),
            Self::PartnerAgencies(q, filter) => through(
                id(),
                *q,
                assignee_links(AssignmentRole::Partner, "task_id", "agency_id"),
                (agency::Entity, agency::Column::Id),
                filter,
                cx,
            ),
            Self::Deliverables(q, filter) => quantified(
                id(),
                *q,
                || {
                    Ok(Query::select()
                        .expr(column(deliverable::Entity, deliverable::Column::TaskId))
                        .from(deliverable::Entity)
                        .cond_where(filter.condition(cx)?)
                        .to_owned())
                },
                || {
                    Ok(Query::select()
                        .expr(column(deliverable::Entity, deliverable::Column::TaskId))
                        .from(deliverable::Entity)
                        .cond_where(filter.condition(cx)?.not())
                        .to_owned())
                },
            ),
            Self::Submissions(q, filter) => quantified(
                id(),
                *q,
                || cx.submissions(submission::Column::TaskId, filter),
                || {
                    cx.submissions(
                        submission::Column::TaskId,
                        &Filter::Not(Box::new(filter.clone())),
                    )
                },
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Plan(filter) => filter.size().nested(),
            Self::Section(filter) => filter.size().nested(),
            Self::LeadAgencies(_, filter) | Self::PartnerAgencies(_, filter) => {
                filter.size().nested()
            }
            Self::Deliverables(_, filter) => filter.size().nested(),
            Self::Submissions(_, filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on a deliverable of a task.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliverablePredicate {
    Id(Op),
    Description(Op),
    Inferred(Op),
}

impl Predicate for DeliverablePredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: deliverable::Column| Field::new((deliverable::Entity, c));
        match self {
            Self::Id(op) => f(deliverable::Column::Id).compare(op, cx),
            Self::Description(op) => f(deliverable::Column::Description).text().compare(op, cx),
            Self::Inferred(op) => f(deliverable::Column::Inferred).compare(op, cx),
        }
    }
}

/// A condition on an agency.
#[derive(Clone, Debug, PartialEq)]
pub enum AgencyPredicate {
    Id(Op),
    Code(Op),
    Jurisdiction(Op),
    Name(Op),
    ShortName(Op),
    Kind(Op),
    IsTenant(Op),
    ValidFrom(Op),
    ValidTo(Op),
    /// Every word, ignoring case and diacritics, in the name, short name or code.
    Search(String),
    Groups(Quantifier, Filter<AgencyGroupPredicate>),
    /// Tasks the agency leads (directly or through a group).
    LedTasks(Quantifier, Filter<TaskPredicate>),
    /// The agency's reports the caller may see.
    Submissions(Quantifier, Filter<SubmissionPredicate>),
}

impl Predicate for AgencyPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: agency::Column| Field::new((agency::Entity, c));
        let id = || column(agency::Entity, agency::Column::Id);
        match self {
            Self::Id(op) => f(agency::Column::Id).compare(op, cx),
            Self::Code(op) => f(agency::Column::Code).text().compare(op, cx),
            Self::Jurisdiction(op) => f(agency::Column::Jurisdiction).text().compare(op, cx),
            Self::Name(op) => f(agency::Column::Name).text().compare(op, cx),
            Self::ShortName(op) => f(agency::Column::ShortName).text().compare(op, cx),
            Self::Kind(op) => f(agency::Column::Kind).compare(op, cx),
            Self::IsTenant(op) => f(agency::Column::IsTenant).compare(op, cx),
            Self::ValidFrom(op) => f(agency::Column::ValidFrom).nullable().compare(op, cx),
            Self::ValidTo(op) => f(agency::Column::ValidTo).nullable().compare(op, cx),
            Self::Search(words) => {
                text::matches_all((agency::Entity, agency::Column::SearchText), words)
            }
            Self::Groups(q, filter) => through(
                id(),
                *q,
                |ids| {
                    let m = |name: &str| Expr::col((Alias::new("membership"), Alias::new(name)));
                    Query::select()
                        .expr(m("agency_id"))
                        .from_subquery(memberships_today(), Alias::new("membership"))
                        .and_where(m("group_id").in_subquery(ids))
                        .to_owned()
                },
                (agency_group::Entity, agency_group::Column::Id),
                filter,
                cx,
            ),
            Self::LedTasks(q, filter) => through(
                id(),
                *q,
                assignee_links(AssignmentRole::Lead, "agency_id", "task_id"),
                (task::Entity, task::Column::Id),
                filter,
                cx,
            ),
            Self::Submissions(q, filter) => quantified(
                id(),
                *q,
                || cx.submissions(submission::Column::AgencyId, filter),
                || {
                    cx.submissions(
                        submission::Column::AgencyId,
                        &Filter::Not(Box::new(filter.clone())),
                    )
                },
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Groups(_, filter) => filter.size().nested(),
            Self::LedTasks(_, filter) => filter.size().nested(),
            Self::Submissions(_, filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on an agency group.
#[derive(Clone, Debug, PartialEq)]
pub enum AgencyGroupPredicate {
    Id(Op),
    Code(Op),
    Jurisdiction(Op),
    Name(Op),
}

impl Predicate for AgencyGroupPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: agency_group::Column| Field::new((agency_group::Entity, c));
        match self {
            Self::Id(op) => f(agency_group::Column::Id).compare(op, cx),
            Self::Code(op) => f(agency_group::Column::Code).text().compare(op, cx),
            Self::Jurisdiction(op) => f(agency_group::Column::Jurisdiction).text().compare(op, cx),
            Self::Name(op) => f(agency_group::Column::Name).text().compare(op, cx),
        }
    }
}

/// A condition on a period.
#[derive(Clone, Debug, PartialEq)]
pub enum PeriodPredicate {
    Id(Op),
    Code(Op),
    Kind(Op),
    StartsOn(Op),
    EndsOn(Op),
}

impl Predicate for PeriodPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: period::Column| Field::new((period::Entity, c));
        match self {
            Self::Id(op) => f(period::Column::Id).compare(op, cx),
            Self::Code(op) => f(period::Column::Code).text().compare(op, cx),
            Self::Kind(op) => f(period::Column::Kind).compare(op, cx),
            Self::StartsOn(op) => f(period::Column::StartsOn).compare(op, cx),
            Self::EndsOn(op) => f(period::Column::EndsOn).compare(op, cx),
        }
    }
}

/// A condition on a plan's reporting window.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportingWindowPredicate {
    Plan(Filter<PlanPredicate>),
    Period(Filter<PeriodPredicate>),
    OpensAt(Op),
    DueAt(Op),
    ClosesAt(Op),
    Reopened(Op),
}

impl Predicate for ReportingWindowPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        use reporting_window::Column as C;
        let f = |c: C| Field::new((reporting_window::Entity, c));
        let fk = |c: C| column(reporting_window::Entity, c);
        match self {
            Self::Plan(filter) => {
                related(fk(C::PlanId), plan::Entity, plan::Column::Id, filter, cx)
            }
            Self::Period(filter) => related(
                fk(C::PeriodId),
                period::Entity,
                period::Column::Id,
                filter,
                cx,
            ),
            Self::OpensAt(op) => f(C::OpensAt).compare(op, cx),
            Self::DueAt(op) => f(C::DueAt).compare(op, cx),
            Self::ClosesAt(op) => f(C::ClosesAt).compare(op, cx),
            Self::Reopened(op) => f(C::Reopened).compare(op, cx),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Plan(filter) => filter.size().nested(),
            Self::Period(filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on an entry of a report's history.
#[derive(Clone, Debug, PartialEq)]
pub enum AuditEntryPredicate {
    /// create, update, submit, accept, return, …
    Action(Op),
    At(Op),
}

impl Predicate for AuditEntryPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        let f = |c: audit_log::Column| Field::new((audit_log::Entity, c));
        match self {
            Self::Action(op) => f(audit_log::Column::Action).text().compare(op, cx),
            Self::At(op) => f(audit_log::Column::At).compare(op, cx),
        }
    }
}

/// `(SELECT <table>.<value> FROM <table> WHERE <table>.id = <fk>)`: a to-one field to
/// sort by.
pub fn lookup<E: EntityTrait>(entity: E, id: E::Column, value: E::Column, fk: Expr) -> Expr {
    Expr::SubQuery(
        None,
        Box::new(
            Query::select()
                .expr(column(entity, value))
                .from(entity)
                .and_where(column(entity, id).eq(fk))
                .to_owned()
                .into(),
        ),
    )
}

/// What a task list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSort {
    /// The plan's own order: plan, then position within it.
    Position,
    Number,
    /// Content folded (case and diacritics ignored).
    Content,
    Schedule,
    PlanCode,
    SectionNumeral,
}

impl TaskSort {
    pub fn keys(self) -> Vec<SortKey> {
        let c = |col| column(task::Entity, col);
        match self {
            Self::Position => vec![
                SortKey::asc(c(task::Column::PlanId), KeyKind::Int),
                SortKey::asc(c(task::Column::Position), KeyKind::Int),
            ],
            Self::Number => vec![SortKey::asc(c(task::Column::Number), KeyKind::Int).nullable()],
            Self::Content => vec![SortKey::asc(c(task::Column::SearchText), KeyKind::Text)],
            Self::Schedule => vec![SortKey::asc(c(task::Column::Schedule), KeyKind::Text)],
            Self::PlanCode => vec![SortKey::asc(
                lookup(
                    plan::Entity,
                    plan::Column::Id,
                    plan::Column::Code,
                    c(task::Column::PlanId),
                ),
                KeyKind::Text,
            )],
            Self::SectionNumeral => vec![SortKey::asc(
                lookup(
                    section::Entity,
                    section::Column::Id,
                    section::Column::Position,
                    c(task::Column::SectionId),
                ),
                KeyKind::Int,
            )],
        }
    }
}

/// What an agency list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgencySort {
    Code,
    /// Name folded (case and diacritics ignored).
    Name,
    Kind,
    ValidFrom,
    ValidTo,
}

impl AgencySort {
    pub fn keys(self) -> Vec<SortKey> {
        let c = |col| column(agency::Entity, col);
        vec![match self {
            Self::Code => SortKey::asc(c(agency::Column::Code), KeyKind::Text),
            Self::Name => SortKey::asc(c(agency::Column::SearchText), KeyKind::Text),
            Self::Kind => SortKey::asc(c(agency::Column::Kind), KeyKind::Text),
            Self::ValidFrom => SortKey::asc(c(agency::Column::ValidFrom), KeyKind::Date).nullable(),
            Self::ValidTo => SortKey::asc(c(agency::Column::ValidTo), KeyKind::Date).nullable(),
        }]
    }
}

/// What a plan list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanSort {
    Code,
    Title,
    IssuedOn,
    StartYear,
}

impl PlanSort {
    pub fn keys(self) -> Vec<SortKey> {
        let c = |col| column(plan::Entity, col);
        vec![match self {
            Self::Code => SortKey::asc(c(plan::Column::Code), KeyKind::Text),
            Self::Title => SortKey::asc(c(plan::Column::Title), KeyKind::Text),
            Self::IssuedOn => SortKey::asc(c(plan::Column::IssuedOn), KeyKind::Date),
            Self::StartYear => SortKey::asc(c(plan::Column::StartYear), KeyKind::Int),
        }]
    }
}
