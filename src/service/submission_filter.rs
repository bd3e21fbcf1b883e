//! Filters and orders of submissions and their evidence. See `filter` for the language;
//! the tenancy rule is applied by whoever lists the rows (a `ScopedTxn`) and by `Reach`
//! for submissions reached through a relation.
use entity::{agency, deliverable, period, plan, submission, submission_deliverable, task};
use sea_orm::sea_query::{Condition, Expr, Query};

use super::{
    ServiceResult,
    catalog_filter::{
        AgencyPredicate, DeliverablePredicate, PeriodPredicate, PlanPredicate, TaskPredicate,
        column, lookup, related,
    },
    filter::{Field, Filter, Op, Predicate, Quantifier, Reach, Size, quantified},
    pagination::{KeyKind, SortKey},
    text,
};

/// A condition on a submission.
#[derive(Clone, Debug, PartialEq)]
pub enum SubmissionPredicate {
    Id(Op),
    Status(Op),
    Progress(Op),
    OnTime(Op),
    Version(Op),
    CreatedAt(Op),
    UpdatedAt(Op),
    SubmittedAt(Op),
    ReviewedAt(Op),
    /// Every word, ignoring case and diacritics, in the summary, results, difficulties,
    /// proposals or evidence references.
    Search(String),
    Plan(Filter<PlanPredicate>),
    Task(Filter<TaskPredicate>),
    Agency(Filter<AgencyPredicate>),
    Period(Filter<PeriodPredicate>),
    Deliverables(Quantifier, Filter<EvidencePredicate>),
}

impl Predicate for SubmissionPredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        use submission::Column as C;
        let f = |c: C| Field::new((submission::Entity, c));
        let fk = |c: C| column(submission::Entity, c);
        match self {
            Self::Id(op) => f(C::Id).compare(op, cx),
            Self::Status(op) => f(C::Status).compare(op, cx),
            Self::Progress(op) => f(C::Progress).compare(op, cx),
            Self::OnTime(op) => f(C::OnTime).nullable().compare(op, cx),
            Self::Version(op) => f(C::Version).compare(op, cx),
            Self::CreatedAt(op) => f(C::CreatedAt).compare(op, cx),
            Self::UpdatedAt(op) => f(C::UpdatedAt).compare(op, cx),
            Self::SubmittedAt(op) => f(C::SubmittedAt).nullable().compare(op, cx),
            Self::ReviewedAt(op) => f(C::ReviewedAt).nullable().compare(op, cx),
            Self::Search(words) => text::reports_matching(
                cx.backend(),
                (submission::Entity, C::Id),
                (submission::Entity, C::SearchText),
                words,
            ),
            Self::Plan(filter) => {
                related(fk(C::PlanId), plan::Entity, plan::Column::Id, filter, cx)
            }
            Self::Task(filter) => {
                related(fk(C::TaskId), task::Entity, task::Column::Id, filter, cx)
            }
            Self::Agency(filter) => related(
                fk(C::AgencyId),
                agency::Entity,
                agency::Column::Id,
                filter,
                cx,
            ),
            Self::Period(filter) => related(
                fk(C::PeriodId),
                period::Entity,
                period::Column::Id,
                filter,
                cx,
            ),
            Self::Deliverables(q, filter) => {
                let evidence = |condition: Condition| {
                    Query::select()
                        .expr(column(
                            submission_deliverable::Entity,
                            submission_deliverable::Column::SubmissionId,
                        ))
                        .from(submission_deliverable::Entity)
                        .cond_where(condition)
                        .to_owned()
                };
                quantified(
                    fk(C::Id),
                    *q,
                    || Ok(evidence(filter.condition(cx)?)),
                    || Ok(evidence(filter.condition(cx)?.not())),
                )
            }
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Plan(filter) => filter.size().nested(),
            Self::Task(filter) => filter.size().nested(),
            Self::Agency(filter) => filter.size().nested(),
            Self::Period(filter) => filter.size().nested(),
            Self::Deliverables(_, filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// A condition on one deliverable's evidence in a submission.
#[derive(Clone, Debug, PartialEq)]
pub enum EvidencePredicate {
    Status(Op),
    DocumentRef(Op),
    Url(Op),
    Deliverable(Filter<DeliverablePredicate>),
}

impl Predicate for EvidencePredicate {
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        use submission_deliverable::Column as C;
        let f = |c: C| Field::new((submission_deliverable::Entity, c));
        match self {
            Self::Status(op) => f(C::Status).compare(op, cx),
            Self::DocumentRef(op) => f(C::DocumentRef).nullable().text().compare(op, cx),
            Self::Url(op) => f(C::Url).nullable().text().compare(op, cx),
            Self::Deliverable(filter) => related(
                column(submission_deliverable::Entity, C::DeliverableId),
                deliverable::Entity,
                deliverable::Column::Id,
                filter,
                cx,
            ),
        }
    }

    fn size(&self) -> Size {
        match self {
            Self::Deliverable(filter) => filter.size().nested(),
            _ => Size::TERM,
        }
    }
}

/// What a submission list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmissionSort {
    CreatedAt,
    UpdatedAt,
    SubmittedAt,
    ReviewedAt,
    Status,
    Progress,
    OnTime,
    AgencyCode,
    /// The agency's name folded (case and diacritics ignored).
    AgencyName,
    /// The task's place in its plan.
    TaskPosition,
    TaskNumber,
    PeriodStartsOn,
    PlanCode,
}

impl SubmissionSort {
    pub fn keys(self) -> Vec<SortKey> {
        use submission::Column as C;
        let c = |col| column(submission::Entity, col);
        let of_task = |value| lookup(task::Entity, task::Column::Id, value, c(C::TaskId));
        let of_agency = |value| lookup(agency::Entity, agency::Column::Id, value, c(C::AgencyId));
        match self {
            Self::CreatedAt => vec![SortKey::asc(c(C::CreatedAt), KeyKind::Time)],
            Self::UpdatedAt => vec![SortKey::asc(c(C::UpdatedAt), KeyKind::Time)],
            Self::SubmittedAt => vec![SortKey::asc(c(C::SubmittedAt), KeyKind::Time).nullable()],
            Self::ReviewedAt => vec![SortKey::asc(c(C::ReviewedAt), KeyKind::Time).nullable()],
            Self::Status => vec![SortKey::asc(c(C::Status), KeyKind::Text)],
            Self::Progress => vec![SortKey::asc(c(C::Progress), KeyKind::Text)],
            Self::OnTime => vec![SortKey::asc(c(C::OnTime), KeyKind::Bool).nullable()],
            Self::AgencyCode => vec![SortKey::asc(of_agency(agency::Column::Code), KeyKind::Text)],
            Self::AgencyName => vec![SortKey::asc(
                of_agency(agency::Column::SearchText),
                KeyKind::Text,
            )],
            Self::TaskPosition => vec![
                SortKey::asc(c(C::PlanId), KeyKind::Int),
                SortKey::asc(of_task(task::Column::Position), KeyKind::Int),
            ],
            Self::TaskNumber => {
                vec![SortKey::asc(of_task(task::Column::Number), KeyKind::Int).nullable()]
            }
            Self::PeriodStartsOn => vec![SortKey::asc(
                lookup(
                    period::Entity,
                    period::Column::Id,
                    period::Column::StartsOn,
                    c(C::PeriodId),
                ),
                KeyKind::Date,
            )],
            Self::PlanCode => vec![SortKey::asc(
                lookup(
                    plan::Entity,
                    plan::Column::Id,
                    plan::Column::Code,
                    c(C::PlanId),
                ),
                KeyKind::Text,
            )],
        }
    }
}

/// The id, the last key of every submission order (which makes it total).
pub fn id_key(descending: bool) -> SortKey {
    SortKey::asc(
        Expr::col((submission::Entity, submission::Column::Id)),
        KeyKind::Int,
    )
    .directed(descending, None)
}
