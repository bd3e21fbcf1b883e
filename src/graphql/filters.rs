//! The filter and order inputs of every collection. Operators follow PostGraphile's
//! connection-filter plugin (`equalTo`, `notEqualTo`, `in`, `notIn`, `lessThan`, …,
//! `isNull`, `includes`, `startsWith`, `endsWith`); relations take a filter of the
//! related type (to-one) or `some` / `every` / `none` (to-many); `and`, `or` and `not`
//! compose. Each input converts into the domain's `Filter`.
use async_graphql::{Enum, ID, InputObject, InputType};

use super::{
    inputs::row_id,
    scalars::{Date, Timestamp},
};
use crate::service::{
    ServiceResult,
    aggregate::{Dimension, HavingPredicate, Measure},
    catalog_filter::{
        AgencyGroupPredicate as AgencyGroupP, AgencyPredicate as AgencyP, AgencySort,
        AuditEntryPredicate as AuditEntryP, DeliverablePredicate as DeliverableP,
        PeriodPredicate as PeriodP, PlanPredicate as PlanP, PlanSort,
        ReportingWindowPredicate as ReportingWindowP, SectionPredicate as SectionP,
        TaskPredicate as TaskP, TaskSort,
    },
    domain::{
        AgencyKind, ObligationState, PeriodKind, Progress, SectionPart, SubmissionStatus,
        TaskSchedule,
    },
    filter::{Filter, Op, Quantifier, Value},
    obligations::{ObligationPredicate as ObligationP, ObligationSort},
    pagination::Sorting,
    submission_filter::{
        EvidencePredicate as EvidenceP, SubmissionPredicate as SubmissionP, SubmissionSort,
    },
};

/// A value a filter compares with.
pub trait FilterValue: InputType {
    fn value(self) -> Value;
}

impl FilterValue for i32 {
    fn value(self) -> Value {
        Value::Int(self.into())
    }
}
impl FilterValue for f64 {
    fn value(self) -> Value {
        Value::Float(self)
    }
}
impl FilterValue for bool {
    fn value(self) -> Value {
        Value::Bool(self)
    }
}
impl FilterValue for String {
    fn value(self) -> Value {
        Value::Text(self)
    }
}
impl FilterValue for Date {
    fn value(self) -> Value {
        Value::Date(self.0)
    }
}
impl FilterValue for Timestamp {
    fn value(self) -> Value {
        Value::Time(self.0)
    }
}
macro_rules! stored_enum_values {
    ($($t:ty),*) => {$(
        impl FilterValue for $t {
            fn value(self) -> Value {
                Value::Text(self.as_str().to_owned())
            }
        }
    )*};
}
stored_enum_values!(
    AgencyKind,
    ObligationState,
    PeriodKind,
    Progress,
    SectionPart,
    SubmissionStatus,
    TaskSchedule
);

fn values<T: FilterValue>(list: Vec<T>) -> Vec<Value> {
    list.into_iter().map(FilterValue::value).collect()
}

/// A filter of one field: the comparisons it holds, all of which must hold.
pub trait FieldFilter {
    fn ops(self) -> ServiceResult<Vec<Op>>;
}

/// Comparisons of an ordered value; every comparison given must hold. A comparison with a
/// field that has no value is false (`isNull` excepted).
#[derive(InputObject, Clone)]
#[graphql(
    concrete(name = "IntFilter", params(i32)),
    concrete(name = "FloatFilter", params(f64)),
    concrete(name = "DateFilter", params(Date)),
    concrete(name = "DateTimeFilter", params(Timestamp))
)]
pub struct OrderedFilter<T: FilterValue> {
    /// Equal to the value.
    pub equal_to: Option<T>,
    /// Not equal to the value.
    pub not_equal_to: Option<T>,
    /// Equal to one of the values (at most 100).
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
    /// Equal to none of the values (at most 100).
    pub not_in: Option<Vec<T>>,
    /// Less than the value.
    pub less_than: Option<T>,
    /// Less than or equal to the value.
    pub less_than_or_equal_to: Option<T>,
    /// Greater than the value.
    pub greater_than: Option<T>,
    /// Greater than or equal to the value.
    pub greater_than_or_equal_to: Option<T>,
    /// `true`: the field has no value; `false`: it has one.
    pub is_null: Option<bool>,
}

impl<T: FilterValue> FieldFilter for OrderedFilter<T> {
    fn ops(self) -> ServiceResult<Vec<Op>> {
        let mut ops = Vec::new();
        let one = |v: Option<T>, op: fn(Value) -> Op| v.map(|v| op(v.value()));
        ops.extend(one(self.equal_to, Op::EqualTo));
        ops.extend(one(self.not_equal_to, Op::NotEqualTo));
        ops.extend(self.in_.map(|v| Op::In(values(v))));
        ops.extend(self.not_in.map(|v| Op::NotIn(values(v))));
        ops.extend(one(self.less_than, Op::LessThan));
        ops.extend(one(self.less_than_or_equal_to, Op::LessThanOrEqualTo));
        ops.extend(one(self.greater_than, Op::GreaterThan));
        ops.extend(one(self.greater_than_or_equal_to, Op::GreaterThanOrEqualTo));
        ops.extend(self.is_null.map(Op::IsNull));
        Ok(ops)
    }
}

/// Comparisons of a value from a closed set; every comparison given must hold. A
/// comparison with a field that has no value is false (`isNull` excepted).
#[derive(InputObject, Clone)]
#[graphql(
    concrete(name = "BooleanFilter", params(bool)),
    concrete(name = "AgencyKindFilter", params(AgencyKind)),
    concrete(name = "ObligationStateFilter", params(ObligationState)),
    concrete(name = "PeriodKindFilter", params(PeriodKind)),
    concrete(name = "ProgressFilter", params(Progress)),
    concrete(name = "SubmissionStatusFilter", params(SubmissionStatus)),
    concrete(name = "TaskScheduleFilter", params(TaskSchedule)),
    concrete(name = "SectionPartFilter", params(SectionPart))
)]
pub struct EqualityFilter<T: FilterValue> {
    /// Equal to the value.
    pub equal_to: Option<T>,
    /// Not equal to the value.
    pub not_equal_to: Option<T>,
    /// One of the values.
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
    /// None of the values.
    pub not_in: Option<Vec<T>>,
    /// `true`: the field has no value; `false`: it has one.
    pub is_null: Option<bool>,
}

impl<T: FilterValue> FieldFilter for EqualityFilter<T> {
    fn ops(self) -> ServiceResult<Vec<Op>> {
        let mut ops = Vec::new();
        ops.extend(self.equal_to.map(|v| Op::EqualTo(v.value())));
        ops.extend(self.not_equal_to.map(|v| Op::NotEqualTo(v.value())));
        ops.extend(self.in_.map(|v| Op::In(values(v))));
        ops.extend(self.not_in.map(|v| Op::NotIn(values(v))));
        ops.extend(self.is_null.map(Op::IsNull));
        Ok(ops)
    }
}

/// Comparisons of a text; every comparison given must hold. Text compares exactly (case
/// and diacritics count) and orders by code point; for matching that ignores case and
/// Vietnamese diacritics use the collection's `search`.
#[derive(InputObject, Clone, Default)]
pub struct StringFilter {
    /// Equal to the text.
    pub equal_to: Option<String>,
    /// Not equal to the text.
    pub not_equal_to: Option<String>,
    /// One of the texts (at most 100).
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
    /// None of the texts (at most 100).
    pub not_in: Option<Vec<String>>,
    /// Before the text, by code point.
    pub less_than: Option<String>,
    /// Before or equal to the text, by code point.
    pub less_than_or_equal_to: Option<String>,
    /// After the text, by code point.
    pub greater_than: Option<String>,
    /// After or equal to the text, by code point.
    pub greater_than_or_equal_to: Option<String>,
    /// `true`: the field has no value; `false`: it has one.
    pub is_null: Option<bool>,
    /// Holds the text.
    pub includes: Option<String>,
    /// Starts with the text.
    pub starts_with: Option<String>,
    /// Ends with the text.
    pub ends_with: Option<String>,
}

impl FieldFilter for StringFilter {
    fn ops(self) -> ServiceResult<Vec<Op>> {
        let mut ops = OrderedFilter {
            equal_to: self.equal_to,
            not_equal_to: self.not_equal_to,
            in_: self.in_,
            not_in: self.not_in,
            less_than: self.less_than,
            less_than_or_equal_to: self.less_than_or_equal_to,
            greater_than: self.greater_than,
            greater_than_or_equal_to: self.greater_than_or_equal_to,
            is_null: self.is_null,
        }
        .ops()?;
        ops.extend(self.includes.map(Op::Includes));
        ops.extend(self.starts_with.map(Op::StartsWith));
        ops.extend(self.ends_with.map(Op::EndsWith));
        Ok(ops)
    }
}

/// Comparisons of an object's global id; every comparison given must hold.
#[derive(InputObject, Clone)]
#[graphql(name = "IDFilter")]
pub struct IdFilter {
    /// This id.
    pub equal_to: Option<ID>,
    /// Not this id.
    pub not_equal_to: Option<ID>,
    /// One of the ids (at most 100).
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
    /// None of the ids (at most 100).
    pub not_in: Option<Vec<ID>>,
}

impl IdFilter {
    /// The comparisons, with ids checked to be of `type_name`.
    fn ops_of(self, type_name: &str) -> ServiceResult<Vec<Op>> {
        let id = |id: ID| row_id(&id, type_name).map(Value::Int);
        let ids = |list: Vec<ID>| list.into_iter().map(id).collect::<ServiceResult<Vec<_>>>();
        let mut ops = Vec::new();
        if let Some(v) = self.equal_to {
            ops.push(Op::EqualTo(id(v)?));
        }
        if let Some(v) = self.not_equal_to {
            ops.push(Op::NotEqualTo(id(v)?));
        }
        if let Some(v) = self.in_ {
            ops.push(Op::In(ids(v)?));
        }
        if let Some(v) = self.not_in {
            ops.push(Op::NotIn(ids(v)?));
        }
        Ok(ops)
    }
}

pub type IntFilter = OrderedFilter<i32>;
pub type FloatFilter = OrderedFilter<f64>;
pub type DateFilter = OrderedFilter<Date>;
pub type DateTimeFilter = OrderedFilter<Timestamp>;
pub type BooleanFilter = EqualityFilter<bool>;

/// An input that becomes a domain filter.
pub trait IntoFilter {
    type Predicate;
    fn into_filter(self) -> ServiceResult<Filter<Self::Predicate>>;
}

impl<T: IntoFilter> IntoFilter for Box<T> {
    type Predicate = T::Predicate;
    fn into_filter(self) -> ServiceResult<Filter<T::Predicate>> {
        (*self).into_filter()
    }
}

/// Conditions on rows of a to-many relation; each one given must hold.
#[derive(InputObject, Clone)]
#[graphql(
    concrete(name = "AgencyListFilter", params(AgencyFilter)),
    concrete(name = "AgencyGroupListFilter", params(AgencyGroupFilter)),
    concrete(name = "DeliverableListFilter", params(DeliverableFilter)),
    concrete(name = "EvidenceListFilter", params(EvidenceFilter)),
    concrete(name = "SubmissionListFilter", params(SubmissionFilter)),
    concrete(name = "TaskListFilter", params(TaskFilter))
)]
pub struct ListFilter<T: InputType + IntoFilter> {
    /// At least one related row matches.
    pub some: Option<Box<T>>,
    /// Every related row matches (true where there are none).
    pub every: Option<Box<T>>,
    /// No related row matches.
    pub none: Option<Box<T>>,
}

/// Collects the conditions of one filter input.
struct Parts<P>(Vec<Filter<P>>);

impl<P> Parts<P> {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn field<F: FieldFilter>(&mut self, input: Option<F>, make: fn(Op) -> P) -> ServiceResult<()> {
        if let Some(input) = input {
            self.0
                .extend(input.ops()?.into_iter().map(|op| Filter::is(make(op))));
        }
        Ok(())
    }

    fn id(
        &mut self,
        input: Option<IdFilter>,
        type_name: &str,
        make: fn(Op) -> P,
    ) -> ServiceResult<()> {
        if let Some(input) = input {
            self.0.extend(
                input
                    .ops_of(type_name)?
                    .into_iter()
                    .map(|op| Filter::is(make(op))),
            );
        }
        Ok(())
    }

    fn search(&mut self, input: Option<String>, make: fn(String) -> P) {
        if let Some(words) = input {
            self.0.push(Filter::is(make(words)));
        }
    }

    fn relation<I: IntoFilter>(
        &mut self,
        input: Option<I>,
        make: fn(Filter<I::Predicate>) -> P,
    ) -> ServiceResult<()> {
        if let Some(input) = input {
            self.0.push(Filter::is(make(input.into_filter()?)));
        }
        Ok(())
    }

    fn list<I: InputType + IntoFilter>(
        &mut self,
        input: Option<ListFilter<I>>,
        make: fn(Quantifier, Filter<I::Predicate>) -> P,
    ) -> ServiceResult<()> {
        if let Some(list) = input {
            for (quantifier, filter) in [
                (Quantifier::Some, list.some),
                (Quantifier::Every, list.every),
                (Quantifier::None, list.none),
            ] {
                if let Some(filter) = filter {
                    self.0
                        .push(Filter::is(make(quantifier, filter.into_filter()?)));
                }
            }
        }
        Ok(())
    }

    /// The conditions, `and`, `or` and `not` together.
    fn with_logic<I: IntoFilter<Predicate = P>>(
        mut self,
        and: Option<Vec<I>>,
        or: Option<Vec<I>>,
        not: Option<Box<I>>,
    ) -> ServiceResult<Filter<P>> {
        if let Some(and) = and {
            for f in and {
                self.0.push(f.into_filter()?);
            }
        }
        if let Some(or) = or {
            let any = or
                .into_iter()
                .map(IntoFilter::into_filter)
                .collect::<ServiceResult<Vec<_>>>()?;
            self.0.push(Filter::Any(any));
        }
        if let Some(not) = not {
            self.0.push(Filter::Not(Box::new(not.into_filter()?)));
        }
        Ok(Filter::All(self.0))
    }
}

/// Narrows a list of plans.
#[derive(InputObject, Clone, Default)]
pub struct PlanFilter {
    /// The plan's global id.
    pub id: Option<IdFilter>,
    /// E.g. "768/QĐ-UBND".
    pub code: Option<StringFilter>,
    /// The plan's title.
    pub title: Option<StringFilter>,
    /// The day the decision was issued.
    pub issued_on: Option<DateFilter>,
    /// First year of the plan's horizon.
    pub start_year: Option<IntFilter>,
    /// Last year of the plan's horizon.
    pub end_year: Option<IntFilter>,
    /// The plan's coordinating agency.
    pub coordinator: Option<Box<AgencyFilter>>,
    /// Every one of these filters holds.
    pub and: Option<Vec<PlanFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<PlanFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<PlanFilter>>,
}

impl IntoFilter for PlanFilter {
    type Predicate = PlanP;
    fn into_filter(self) -> ServiceResult<Filter<PlanP>> {
        let mut p = Parts::new();
        p.id(self.id, "Plan", PlanP::Id)?;
        p.field(self.code, PlanP::Code)?;
        p.field(self.title, PlanP::Title)?;
        p.field(self.issued_on, PlanP::IssuedOn)?;
        p.field(self.start_year, PlanP::StartYear)?;
        p.field(self.end_year, PlanP::EndYear)?;
        p.relation(self.coordinator, PlanP::Coordinator)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows sections of plans.
#[derive(InputObject, Clone, Default)]
pub struct SectionFilter {
    /// The section's global id.
    pub id: Option<IdFilter>,
    /// The section's numeral, e.g. "III".
    pub numeral: Option<StringFilter>,
    /// The section's heading.
    pub title: Option<StringFilter>,
    /// The appendix's sections (APPENDIX) or the duties of the decision's text (BODY).
    pub part: Option<SectionPartFilter>,
    /// The plan the section belongs to.
    pub plan: Option<Box<PlanFilter>>,
    /// Every one of these filters holds.
    pub and: Option<Vec<SectionFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<SectionFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<SectionFilter>>,
}

impl IntoFilter for SectionFilter {
    type Predicate = SectionP;
    fn into_filter(self) -> ServiceResult<Filter<SectionP>> {
        let mut p = Parts::new();
        p.id(self.id, "Section", SectionP::Id)?;
        p.field(self.numeral, SectionP::Numeral)?;
        p.field(self.title, SectionP::Title)?;
        p.field(self.part, SectionP::Part)?;
        p.relation(self.plan, SectionP::Plan)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of tasks. Agencies match through their groups too.
#[derive(InputObject, Clone, Default)]
pub struct TaskFilter {
    /// The task's global id.
    pub id: Option<IdFilter>,
    /// The task's number in its section (section IV's only task has none).
    pub number: Option<IntFilter>,
    /// The plan's wording of the task, compared exactly (see `search`).
    pub content: Option<StringFilter>,
    /// Every year (ANNUAL), by phases (PHASED), or once (ONCE).
    pub schedule: Option<TaskScheduleFilter>,
    /// Words that must all appear in the content, ignoring case and diacritics.
    pub search: Option<String>,
    /// The plan the task belongs to.
    pub plan: Option<Box<PlanFilter>>,
    /// The section the task is listed in.
    pub section: Option<Box<SectionFilter>>,
    /// The agencies that lead the task (groups expanded to their members).
    pub lead_agencies: Option<AgencyListFilter>,
    /// The agencies that cooperate on the task (groups expanded to their members).
    pub partner_agencies: Option<AgencyListFilter>,
    /// The products the task must deliver.
    pub deliverables: Option<DeliverableListFilter>,
    /// The task's reports the caller may see.
    pub submissions: Option<SubmissionListFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<TaskFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<TaskFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<TaskFilter>>,
}

impl IntoFilter for TaskFilter {
    type Predicate = TaskP;
    fn into_filter(self) -> ServiceResult<Filter<TaskP>> {
        let mut p = Parts::new();
        p.id(self.id, "Task", TaskP::Id)?;
        p.field(self.number, TaskP::Number)?;
        p.field(self.content, TaskP::Content)?;
        p.field(self.schedule, TaskP::Schedule)?;
        p.search(self.search, TaskP::Search);
        p.relation(self.plan, TaskP::Plan)?;
        p.relation(self.section, TaskP::Section)?;
        p.list(self.lead_agencies, TaskP::LeadAgencies)?;
        p.list(self.partner_agencies, TaskP::PartnerAgencies)?;
        p.list(self.deliverables, TaskP::Deliverables)?;
        p.list(self.submissions, TaskP::Submissions)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows deliverables of tasks.
#[derive(InputObject, Clone, Default)]
pub struct DeliverableFilter {
    /// The deliverable's global id.
    pub id: Option<IdFilter>,
    /// The product, in the plan's wording.
    pub description: Option<StringFilter>,
    /// Whether the transcription inferred the deliverable.
    pub inferred: Option<BooleanFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<DeliverableFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<DeliverableFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<DeliverableFilter>>,
}

impl IntoFilter for DeliverableFilter {
    type Predicate = DeliverableP;
    fn into_filter(self) -> ServiceResult<Filter<DeliverableP>> {
        let mut p = Parts::new();
        p.id(self.id, "Deliverable", DeliverableP::Id)?;
        p.field(self.description, DeliverableP::Description)?;
        p.field(self.inferred, DeliverableP::Inferred)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of agencies.
#[derive(InputObject, Clone, Default)]
pub struct AgencyFilter {
    /// The agency's global id.
    pub id: Option<IdFilter>,
    /// E.g. "ubnd-tay-son" (another jurisdiction may use the same code).
    pub code: Option<StringFilter>,
    /// The jurisdiction of the code, e.g. "binh-dinh", or "vn" for a national body.
    pub jurisdiction: Option<StringFilter>,
    /// The full Vietnamese name, compared exactly (see `search`).
    pub name: Option<StringFilter>,
    /// The abbreviated name, e.g. "Sở LĐ-TB&XH".
    pub short_name: Option<StringFilter>,
    /// What kind of body the agency is.
    pub kind: Option<AgencyKindFilter>,
    /// Whether the agency keeps its own submissions.
    pub is_tenant: Option<BooleanFilter>,
    /// The agency's first day (no value: it existed before any plan that names it).
    pub valid_from: Option<DateFilter>,
    /// The agency's last day (no value: it still exists).
    pub valid_to: Option<DateFilter>,
    /// Words that must all appear in the name, short name or code, ignoring case and
    /// diacritics.
    pub search: Option<String>,
    /// The agency groups the agency belongs to.
    pub groups: Option<AgencyGroupListFilter>,
    /// The tasks the agency leads (directly or through a group).
    pub led_tasks: Option<TaskListFilter>,
    /// The agency's reports the caller may see.
    pub submissions: Option<SubmissionListFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<AgencyFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<AgencyFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<AgencyFilter>>,
}

impl IntoFilter for AgencyFilter {
    type Predicate = AgencyP;
    fn into_filter(self) -> ServiceResult<Filter<AgencyP>> {
        let mut p = Parts::new();
        p.id(self.id, "Agency", AgencyP::Id)?;
        p.field(self.code, AgencyP::Code)?;
        p.field(self.jurisdiction, AgencyP::Jurisdiction)?;
        p.field(self.name, AgencyP::Name)?;
        p.field(self.short_name, AgencyP::ShortName)?;
        p.field(self.kind, AgencyP::Kind)?;
        p.field(self.is_tenant, AgencyP::IsTenant)?;
        p.field(self.valid_from, AgencyP::ValidFrom)?;
        p.field(self.valid_to, AgencyP::ValidTo)?;
        p.search(self.search, AgencyP::Search);
        p.list(self.groups, AgencyP::Groups)?;
        p.list(self.led_tasks, AgencyP::LedTasks)?;
        p.list(self.submissions, AgencyP::Submissions)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows agency groups.
#[derive(InputObject, Clone, Default)]
pub struct AgencyGroupFilter {
    /// The group's global id.
    pub id: Option<IdFilter>,
    /// E.g. "ubnd-cac-huyen" (another jurisdiction may use the same code).
    pub code: Option<StringFilter>,
    /// The jurisdiction of the code, e.g. "binh-dinh".
    pub jurisdiction: Option<StringFilter>,
    /// The plan's wording, e.g. "UBND các huyện nghèo".
    pub name: Option<StringFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<AgencyGroupFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<AgencyGroupFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<AgencyGroupFilter>>,
}

impl IntoFilter for AgencyGroupFilter {
    type Predicate = AgencyGroupP;
    fn into_filter(self) -> ServiceResult<Filter<AgencyGroupP>> {
        let mut p = Parts::new();
        p.id(self.id, "AgencyGroup", AgencyGroupP::Id)?;
        p.field(self.code, AgencyGroupP::Code)?;
        p.field(self.jurisdiction, AgencyGroupP::Jurisdiction)?;
        p.field(self.name, AgencyGroupP::Name)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows periods.
#[derive(InputObject, Clone, Default)]
pub struct PeriodFilter {
    /// The period's global id.
    pub id: Option<IdFilter>,
    /// E.g. "2025", "2025S1", "2021-2025".
    pub code: Option<StringFilter>,
    /// Year, half-year or phase.
    pub kind: Option<PeriodKindFilter>,
    /// The period's first day.
    pub starts_on: Option<DateFilter>,
    /// The period's last day (included).
    pub ends_on: Option<DateFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<PeriodFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<PeriodFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<PeriodFilter>>,
}

impl IntoFilter for PeriodFilter {
    type Predicate = PeriodP;
    fn into_filter(self) -> ServiceResult<Filter<PeriodP>> {
        let mut p = Parts::new();
        p.id(self.id, "Period", PeriodP::Id)?;
        p.field(self.code, PeriodP::Code)?;
        p.field(self.kind, PeriodP::Kind)?;
        p.field(self.starts_on, PeriodP::StartsOn)?;
        p.field(self.ends_on, PeriodP::EndsOn)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of submissions (always within what the caller may see).
#[derive(InputObject, Clone, Default)]
pub struct SubmissionFilter {
    /// The submission's global id.
    pub id: Option<IdFilter>,
    /// Where the report is in its review workflow.
    pub status: Option<SubmissionStatusFilter>,
    /// How far the task has come, as the report says.
    pub progress: Option<ProgressFilter>,
    /// Whether the latest submit came before the deadline (no value until submitted).
    pub on_time: Option<BooleanFilter>,
    /// The report's version, 1 when created and one more with each change.
    pub version: Option<IntFilter>,
    /// When the agency first saved the report.
    pub created_at: Option<DateTimeFilter>,
    /// When the agency last saved or submitted it.
    pub updated_at: Option<DateTimeFilter>,
    /// When it was last submitted (no value until it first is).
    pub submitted_at: Option<DateTimeFilter>,
    /// When the coordinator accepted or returned it (no value until reviewed, and again
    /// once submitted anew).
    pub reviewed_at: Option<DateTimeFilter>,
    /// Words that must all appear in the summary, results, difficulties, proposals or
    /// evidence references, ignoring case and diacritics ("kinh phi" finds "Kinh phí").
    pub search: Option<String>,
    /// The plan of the task reported on.
    pub plan: Option<Box<PlanFilter>>,
    /// The task reported on.
    pub task: Option<Box<TaskFilter>>,
    /// The reporting agency.
    pub agency: Option<Box<AgencyFilter>>,
    /// The reporting period.
    pub period: Option<Box<PeriodFilter>>,
    /// The evidence given for the task's deliverables.
    pub deliverables: Option<EvidenceListFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<SubmissionFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<SubmissionFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<SubmissionFilter>>,
}

impl IntoFilter for SubmissionFilter {
    type Predicate = SubmissionP;
    fn into_filter(self) -> ServiceResult<Filter<SubmissionP>> {
        let mut p = Parts::new();
        p.id(self.id, "Submission", SubmissionP::Id)?;
        p.field(self.status, SubmissionP::Status)?;
        p.field(self.progress, SubmissionP::Progress)?;
        p.field(self.on_time, SubmissionP::OnTime)?;
        p.field(self.version, SubmissionP::Version)?;
        p.field(self.created_at, SubmissionP::CreatedAt)?;
        p.field(self.updated_at, SubmissionP::UpdatedAt)?;
        p.field(self.submitted_at, SubmissionP::SubmittedAt)?;
        p.field(self.reviewed_at, SubmissionP::ReviewedAt)?;
        p.search(self.search, SubmissionP::Search);
        p.relation(self.plan, SubmissionP::Plan)?;
        p.relation(self.task, SubmissionP::Task)?;
        p.relation(self.agency, SubmissionP::Agency)?;
        p.relation(self.period, SubmissionP::Period)?;
        p.list(self.deliverables, SubmissionP::Deliverables)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows the evidence of a submission's deliverables.
#[derive(InputObject, Clone, Default)]
pub struct EvidenceFilter {
    /// How far the deliverable has come.
    pub status: Option<ProgressFilter>,
    /// E.g. "Kế hoạch số 123/KH-UBND".
    pub document_ref: Option<StringFilter>,
    /// Where the document can be read (no value where none was given).
    pub url: Option<StringFilter>,
    /// The task's deliverable this evidence is for.
    pub deliverable: Option<Box<DeliverableFilter>>,
    /// Every one of these filters holds.
    pub and: Option<Vec<EvidenceFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<EvidenceFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<EvidenceFilter>>,
}

impl IntoFilter for EvidenceFilter {
    type Predicate = EvidenceP;
    fn into_filter(self) -> ServiceResult<Filter<EvidenceP>> {
        let mut p = Parts::new();
        p.field(self.status, EvidenceP::Status)?;
        p.field(self.document_ref, EvidenceP::DocumentRef)?;
        p.field(self.url, EvidenceP::Url)?;
        p.relation(self.deliverable, EvidenceP::Deliverable)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of obligations.
#[derive(InputObject, Clone, Default)]
pub struct ObligationFilter {
    /// MISSING where no report the caller can see exists.
    pub state: Option<ObligationStateFilter>,
    /// Whether the report came in before the deadline (no value until submitted).
    pub on_time: Option<BooleanFilter>,
    /// The visible report's progress (no value without one).
    pub progress: Option<ProgressFilter>,
    /// When the visible report was last submitted (no value without one, or until it is
    /// submitted).
    pub submitted_at: Option<DateTimeFilter>,
    /// The plan of the task.
    pub plan: Option<Box<PlanFilter>>,
    /// The task to report on.
    pub task: Option<Box<TaskFilter>>,
    /// The agency that owes the report.
    pub agency: Option<Box<AgencyFilter>>,
    /// The reporting period.
    pub period: Option<Box<PeriodFilter>>,
    /// Every one of these filters holds.
    pub and: Option<Vec<ObligationFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<ObligationFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<ObligationFilter>>,
}

impl IntoFilter for ObligationFilter {
    type Predicate = ObligationP;
    fn into_filter(self) -> ServiceResult<Filter<ObligationP>> {
        let mut p = Parts::new();
        p.field(self.state, ObligationP::State)?;
        p.field(self.on_time, ObligationP::OnTime)?;
        p.field(self.progress, ObligationP::Progress)?;
        p.field(self.submitted_at, ObligationP::SubmittedAt)?;
        p.relation(self.plan, ObligationP::Plan)?;
        p.relation(self.task, ObligationP::Task)?;
        p.relation(self.agency, ObligationP::Agency)?;
        p.relation(self.period, ObligationP::Period)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of reporting windows.
#[derive(InputObject, Clone, Default)]
pub struct ReportingWindowFilter {
    /// The plan reported on.
    pub plan: Option<Box<PlanFilter>>,
    /// The reporting period.
    pub period: Option<Box<PeriodFilter>>,
    /// From when reports can be written.
    pub opens_at: Option<DateTimeFilter>,
    /// The deadline.
    pub due_at: Option<DateTimeFilter>,
    /// When the window locks.
    pub closes_at: Option<DateTimeFilter>,
    /// Whether the coordinator reopened it after it closed.
    pub reopened: Option<BooleanFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<ReportingWindowFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<ReportingWindowFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<ReportingWindowFilter>>,
}

impl IntoFilter for ReportingWindowFilter {
    type Predicate = ReportingWindowP;
    fn into_filter(self) -> ServiceResult<Filter<ReportingWindowP>> {
        let mut p = Parts::new();
        p.relation(self.plan, ReportingWindowP::Plan)?;
        p.relation(self.period, ReportingWindowP::Period)?;
        p.field(self.opens_at, ReportingWindowP::OpensAt)?;
        p.field(self.due_at, ReportingWindowP::DueAt)?;
        p.field(self.closes_at, ReportingWindowP::ClosesAt)?;
        p.field(self.reopened, ReportingWindowP::Reopened)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Narrows the entries of a report's history.
#[derive(InputObject, Clone, Default)]
pub struct AuditEntryFilter {
    /// What was done: create, update, submit, accept or return.
    pub action: Option<StringFilter>,
    /// When it was done.
    pub at: Option<DateTimeFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<AuditEntryFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<AuditEntryFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<AuditEntryFilter>>,
}

impl IntoFilter for AuditEntryFilter {
    type Predicate = AuditEntryP;
    fn into_filter(self) -> ServiceResult<Filter<AuditEntryP>> {
        let mut p = Parts::new();
        p.field(self.action, AuditEntryP::Action)?;
        p.field(self.at, AuditEntryP::At)?;
        p.with_logic(self.and, self.or, self.not)
    }
}

/// Conditions on the groups of an aggregate, over their measures.
#[derive(InputObject, Clone, Default)]
pub struct AggregateHaving {
    /// Rows in the group.
    pub count: Option<IntFilter>,
    /// Distinct agencies in the group.
    pub agencies: Option<IntFilter>,
    /// Distinct tasks in the group.
    pub tasks: Option<IntFilter>,
    /// Rows without a report the caller can see (obligations only; 0 for submissions).
    pub missing: Option<IntFilter>,
    /// Reports submitted and awaiting review.
    pub submitted: Option<IntFilter>,
    /// Reports accepted by the coordinator.
    pub accepted: Option<IntFilter>,
    /// Reports returned for changes.
    pub returned: Option<IntFilter>,
    /// Submitted or accepted reports that came in on time.
    pub on_time: Option<IntFilter>,
    /// Submitted or accepted per row (no value for an empty group).
    pub completeness: Option<FloatFilter>,
    /// On time per submitted or accepted report (no value where none came in).
    pub timeliness: Option<FloatFilter>,
    /// Every one of these holds.
    pub and: Option<Vec<AggregateHaving>>,
    /// At least one of these holds.
    pub or: Option<Vec<AggregateHaving>>,
    /// This does not hold.
    pub not: Option<Box<AggregateHaving>>,
}

impl IntoFilter for AggregateHaving {
    type Predicate = HavingPredicate;
    fn into_filter(self) -> ServiceResult<Filter<HavingPredicate>> {
        let mut parts = Vec::new();
        let mut measure = |input: Option<IntFilter>, m: Measure| -> ServiceResult<()> {
            if let Some(input) = input {
                parts.extend(
                    input
                        .ops()?
                        .into_iter()
                        .map(|op| Filter::is(HavingPredicate(m, op))),
                );
            }
            Ok(())
        };
        measure(self.count, Measure::Count)?;
        measure(self.agencies, Measure::Agencies)?;
        measure(self.tasks, Measure::Tasks)?;
        measure(self.missing, Measure::Missing)?;
        measure(self.submitted, Measure::Submitted)?;
        measure(self.accepted, Measure::Accepted)?;
        measure(self.returned, Measure::Returned)?;
        measure(self.on_time, Measure::OnTime)?;
        for (input, m) in [
            (self.completeness, Measure::Completeness),
            (self.timeliness, Measure::Timeliness),
        ] {
            if let Some(input) = input {
                parts.extend(
                    input
                        .ops()?
                        .into_iter()
                        .map(|op| Filter::is(HavingPredicate(m, op))),
                );
            }
        }
        Parts(parts).with_logic(self.and, self.or, self.not)
    }
}

pub type TaskScheduleFilter = EqualityFilter<TaskSchedule>;
pub type SectionPartFilter = EqualityFilter<SectionPart>;
pub type AgencyKindFilter = EqualityFilter<AgencyKind>;
pub type PeriodKindFilter = EqualityFilter<PeriodKind>;
pub type ProgressFilter = EqualityFilter<Progress>;
pub type SubmissionStatusFilter = EqualityFilter<SubmissionStatus>;
pub type ObligationStateFilter = EqualityFilter<ObligationState>;
pub type AgencyListFilter = ListFilter<AgencyFilter>;
pub type PlanOrderBy = OrderBy<PlanOrderField>;
pub type TaskOrderBy = OrderBy<TaskOrderField>;
pub type AgencyOrderBy = OrderBy<AgencyOrderField>;
pub type SubmissionOrderBy = OrderBy<SubmissionOrderField>;
pub type ObligationOrderBy = OrderBy<ObligationOrderField>;
pub type AgencyGroupListFilter = ListFilter<AgencyGroupFilter>;
pub type DeliverableListFilter = ListFilter<DeliverableFilter>;
pub type EvidenceListFilter = ListFilter<EvidenceFilter>;
pub type SubmissionListFilter = ListFilter<SubmissionFilter>;
pub type TaskListFilter = ListFilter<TaskFilter>;

/// The domain filter of an optional input (everything where absent).
pub fn filter_of<I: IntoFilter>(input: Option<I>) -> ServiceResult<Filter<I::Predicate>> {
    input.map_or_else(|| Ok(Filter::default()), IntoFilter::into_filter)
}

/// A sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest, earliest or first in code-point order first.
    #[default]
    Asc,
    /// Largest, latest or last first.
    Desc,
}

/// Where rows without a value go.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NullsOrder {
    /// Before the rows with a value.
    First,
    /// After the rows with a value.
    Last,
}

/// One key of a list's order.
#[derive(InputObject, Clone)]
#[graphql(
    concrete(name = "PlanOrderBy", params(PlanOrderField)),
    concrete(name = "TaskOrderBy", params(TaskOrderField)),
    concrete(name = "AgencyOrderBy", params(AgencyOrderField)),
    concrete(name = "SubmissionOrderBy", params(SubmissionOrderField)),
    concrete(name = "ObligationOrderBy", params(ObligationOrderField))
)]
pub struct OrderBy<F: InputType + Copy> {
    /// What to sort by.
    pub field: F,
    /// ASC unless given.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// Where rows without a value go: by default last ascending, first descending.
    pub nulls: Option<NullsOrder>,
}

/// The domain order of a list of `orderBy` inputs.
pub fn sorting<F: InputType + Copy, S>(
    order: Option<Vec<OrderBy<F>>>,
    to: fn(F) -> S,
) -> Vec<Sorting<S>> {
    order
        .unwrap_or_default()
        .into_iter()
        .map(|o| Sorting {
            by: to(o.field),
            descending: o.direction == OrderDirection::Desc,
            nulls_first: o.nulls.map(|n| n == NullsOrder::First),
        })
        .collect()
}

/// What plans can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PlanOrderField {
    /// The plan's code, by code point.
    Code,
    /// The plan's title, by code point.
    Title,
    /// The day the decision was issued.
    IssuedOn,
    /// First year of the plan's horizon.
    StartYear,
}

impl From<PlanOrderField> for PlanSort {
    fn from(f: PlanOrderField) -> Self {
        match f {
            PlanOrderField::Code => Self::Code,
            PlanOrderField::Title => Self::Title,
            PlanOrderField::IssuedOn => Self::IssuedOn,
            PlanOrderField::StartYear => Self::StartYear,
        }
    }
}

/// What tasks can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TaskOrderField {
    /// The plan's own order (plan, then the task's place in it).
    Position,
    /// The number within the section; numbers start again in each section, and section
    /// IV's task has none.
    Number,
    /// The content, ignoring case and diacritics.
    Content,
    /// The schedule's name: ANNUAL, then ONCE, then PHASED.
    Schedule,
    /// The code of the task's plan, by code point.
    PlanCode,
    /// The section's place in its plan (I–V).
    Section,
}

impl From<TaskOrderField> for TaskSort {
    fn from(f: TaskOrderField) -> Self {
        match f {
            TaskOrderField::Position => Self::Position,
            TaskOrderField::Number => Self::Number,
            TaskOrderField::Content => Self::Content,
            TaskOrderField::Schedule => Self::Schedule,
            TaskOrderField::PlanCode => Self::PlanCode,
            TaskOrderField::Section => Self::SectionNumeral,
        }
    }
}

/// What agencies can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AgencyOrderField {
    /// The agency's code, by code point.
    Code,
    /// The name, ignoring case and diacritics.
    Name,
    /// The kind's name, alphabetically (DEPARTMENT, DISTRICT, MASS_ORGANIZATION, …).
    Kind,
    /// The agency's first day.
    ValidFrom,
    /// The agency's last day.
    ValidTo,
}

impl From<AgencyOrderField> for AgencySort {
    fn from(f: AgencyOrderField) -> Self {
        match f {
            AgencyOrderField::Code => Self::Code,
            AgencyOrderField::Name => Self::Name,
            AgencyOrderField::Kind => Self::Kind,
            AgencyOrderField::ValidFrom => Self::ValidFrom,
            AgencyOrderField::ValidTo => Self::ValidTo,
        }
    }
}

/// What submissions can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SubmissionOrderField {
    /// When the report was first saved.
    CreatedAt,
    /// When the agency last saved or submitted it.
    UpdatedAt,
    /// When it was last submitted.
    SubmittedAt,
    /// When the coordinator last reviewed it.
    ReviewedAt,
    /// The status's name, alphabetically: ACCEPTED, DRAFT, RETURNED, SUBMITTED (not the
    /// workflow's order).
    Status,
    /// The progress's name, alphabetically: COMPLETED, IN_PROGRESS, NOT_STARTED.
    Progress,
    /// Late (false) before on time (true).
    OnTime,
    /// The reporting agency's code.
    AgencyCode,
    /// The reporting agency's name, ignoring case and diacritics.
    AgencyName,
    /// The task's place in its plan.
    TaskPosition,
    /// The task's number within its section (numbers start again in each section).
    TaskNumber,
    /// The reporting period's first day.
    PeriodStartsOn,
    /// The plan's code, by code point.
    PlanCode,
}

impl From<SubmissionOrderField> for SubmissionSort {
    fn from(f: SubmissionOrderField) -> Self {
        use SubmissionOrderField as F;
        match f {
            F::CreatedAt => Self::CreatedAt,
            F::UpdatedAt => Self::UpdatedAt,
            F::SubmittedAt => Self::SubmittedAt,
            F::ReviewedAt => Self::ReviewedAt,
            F::Status => Self::Status,
            F::Progress => Self::Progress,
            F::OnTime => Self::OnTime,
            F::AgencyCode => Self::AgencyCode,
            F::AgencyName => Self::AgencyName,
            F::TaskPosition => Self::TaskPosition,
            F::TaskNumber => Self::TaskNumber,
            F::PeriodStartsOn => Self::PeriodStartsOn,
            F::PlanCode => Self::PlanCode,
        }
    }
}

/// What obligations can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ObligationOrderField {
    /// The task's place in its plan.
    TaskPosition,
    /// The agency's code, by code point.
    AgencyCode,
    /// The agency's name, ignoring case and diacritics.
    AgencyName,
    /// The reporting period's first day.
    PeriodStartsOn,
    /// The state's name, alphabetically: ACCEPTED, DRAFT, MISSING, RETURNED, SUBMITTED.
    State,
    /// When the visible report was last submitted.
    SubmittedAt,
}

impl From<ObligationOrderField> for ObligationSort {
    fn from(f: ObligationOrderField) -> Self {
        use ObligationOrderField as F;
        match f {
            F::TaskPosition => Self::TaskPosition,
            F::AgencyCode => Self::AgencyCode,
            F::AgencyName => Self::AgencyName,
            F::PeriodStartsOn => Self::PeriodStartsOn,
            F::State => Self::State,
            F::SubmittedAt => Self::SubmittedAt,
        }
    }
}

/// What the rows of an aggregate can be grouped by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AggregateDimension {
    /// The task's plan.
    Plan,
    /// The task's section.
    Section,
    /// The task reported on.
    Task,
    /// The reporting agency.
    Agency,
    /// The kind of the reporting agency.
    AgencyKind,
    /// The reporting period.
    Period,
    /// A submission's status; an obligation's state (MISSING included).
    Status,
    /// The report's progress.
    Progress,
    /// Whether the report came in before the deadline.
    OnTime,
    /// The month the report was submitted, `YYYY-MM` in UTC.
    SubmittedMonth,
}

impl From<AggregateDimension> for Dimension {
    fn from(d: AggregateDimension) -> Self {
        use AggregateDimension as D;
        match d {
            D::Plan => Self::Plan,
            D::Section => Self::Section,
            D::Task => Self::Task,
            D::Agency => Self::Agency,
            D::AgencyKind => Self::AgencyKind,
            D::Period => Self::Period,
            D::Status => Self::State,
            D::Progress => Self::Progress,
            D::OnTime => Self::OnTime,
            D::SubmittedMonth => Self::SubmittedMonth,
        }
    }
}
