//! The filter language of every collection, in the domain's terms: comparisons of one
//! field with constants, composed with all / any / not, and relations to other
//! collections (to-one: the related row matches; to-many: some, every or none of the
//! related rows match).
//!
//! A filter compiles to a sea-query condition on its collection's table. Relations become
//! uncorrelated `IN (SELECT …)` subqueries; a subquery over submissions is made only by
//! [`Reach::submissions`], which applies the tenancy rule, so no filter can reveal (or
//! count) a report its caller could not list.
//!
//! Logic is two-valued: a comparison with a missing (null) value is false, never
//! unknown, so `not` is always the complement of what it negates.
use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use chrono::{DateTime, NaiveDate, Utc};
use entity::submission;
use sea_orm::{
    DatabaseConnection, DbBackend, FromQueryResult,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func, IntoColumnRef, Query, SelectStatement},
};

use super::{
    ServiceError, ServiceResult,
    pagination::{Page, PageRequest, SortKey, paginate, paginate_each},
    tenancy::{Intent, ScopedTxn, SubmissionScope},
};

/// Most `and`/`or`/`not`/relation levels one filter may nest.
pub const MAX_DEPTH: usize = 8;
/// Most comparisons one filter may hold, relations and nested ones included.
pub const MAX_TERMS: usize = 100;
/// Most values of one `in` / `notIn` list.
pub const MAX_LIST_VALUES: usize = 100;

/// A constant a field is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl From<Value> for sea_orm::Value {
    fn from(value: Value) -> Self {
        match value {
            Value::Int(v) => v.into(),
            Value::Float(v) => v.into(),
            Value::Text(v) => v.into(),
            Value::Bool(v) => v.into(),
            Value::Date(v) => v.into(),
            Value::Time(v) => v.into(),
        }
    }
}

/// One comparison of a field, named after PostGraphile's connection-filter operators.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    EqualTo(Value),
    NotEqualTo(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    LessThan(Value),
    LessThanOrEqualTo(Value),
    GreaterThan(Value),
    GreaterThanOrEqualTo(Value),
    /// `true`: the field has no value; `false`: it has one.
    IsNull(bool),
    /// The text holds this text (exactly: case and diacritics count).
    Includes(String),
    StartsWith(String),
    EndsWith(String),
}

/// Which of a to-many relation's rows must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Some,
    Every,
    None,
}

/// A filter over rows whose own conditions are `P`s.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter<P> {
    All(Vec<Filter<P>>),
    Any(Vec<Filter<P>>),
    Not(Box<Filter<P>>),
    Is(Box<P>),
}

impl<P> Default for Filter<P> {
    fn default() -> Self {
        Filter::All(Vec::new())
    }
}

/// How big a filter is: nesting depth and number of comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    pub depth: usize,
    pub terms: usize,
}

impl Size {
    pub const TERM: Size = Size { depth: 0, terms: 1 };

    fn join(self, other: Size) -> Size {
        Size {
            depth: self.depth.max(other.depth),
            terms: self.terms.saturating_add(other.terms),
        }
    }

    /// The size of a filter one level further down.
    pub fn nested(self) -> Size {
        Size {
            depth: self.depth + 1,
            terms: self.terms.saturating_add(1),
        }
    }
}

/// One condition on a row of a collection.
pub trait Predicate {
    /// The condition, on the collection's own table (or alias).
    fn condition(&self, cx: &Reach) -> ServiceResult<Condition>;
    /// How big it is (relations count their nested filter).
    fn size(&self) -> Size {
        Size::TERM
    }
}

impl<P> Filter<P> {
    /// The filter of one condition.
    pub fn is(predicate: P) -> Self {
        Filter::Is(Box::new(predicate))
    }
}

impl<P: Predicate> Filter<P> {
    pub fn and(self, other: Filter<P>) -> Filter<P> {
        match self {
            Filter::All(mut all) => {
                all.push(other);
                Filter::All(all)
            }
            this => Filter::All(vec![this, other]),
        }
    }

    pub fn size(&self) -> Size {
        match self {
            Filter::All(list) | Filter::Any(list) => list
                .iter()
                .fold(Size::default(), |size, f| size.join(f.size()))
                .nested(),
            Filter::Not(inner) => inner.size().nested(),
            Filter::Is(p) => p.size(),
        }
    }

    /// Refuses filters past the depth and size limits: each term is a SQL condition and
    /// each relation a subquery.
    pub fn check(&self) -> ServiceResult<()> {
        let size = self.size();
        if size.depth > MAX_DEPTH {
            return Err(ServiceError::bad_input(format!(
                "a filter may nest at most {MAX_DEPTH} levels of and/or/not and relations"
            )));
        }
        if size.terms > MAX_TERMS {
            return Err(ServiceError::bad_input(format!(
                "a filter may hold at most {MAX_TERMS} conditions"
            )));
        }
        Ok(())
    }

    /// The filter as a condition on its collection's table.
    pub fn condition(&self, cx: &Reach) -> ServiceResult<Condition> {
        Ok(match self {
            Filter::All(list) => list.iter().try_fold(Condition::all(), |all, f| {
                Ok::<_, ServiceError>(all.add(f.condition(cx)?))
            })?,
            Filter::Any(list) => list.iter().try_fold(Condition::any(), |any, f| {
                Ok::<_, ServiceError>(any.add(f.condition(cx)?))
            })?,
            Filter::Not(inner) => inner.condition(cx)?.not(),
            Filter::Is(p) => p.condition(cx)?,
        })
    }
}

/// What a filter may reach while it compiles: the backend's dialect, and the caller's
/// submissions under the tenancy rule (none for an anonymous caller).
pub struct Reach<'a> {
    backend: DbBackend,
    scope: Option<&'a SubmissionScope>,
    /// Set once a condition compiled here reaches submissions: on PostgreSQL it must then
    /// run in a scoped transaction, where row-level security lets the rows through.
    /// Atomic, not a `Cell`: a reach may live across an await of a future that must be
    /// `Send`.
    reached_submissions: AtomicBool,
}

impl<'a> Reach<'a> {
    /// A signed-in caller's reach, inside its scoped transaction.
    pub fn scoped(txn: &'a ScopedTxn<'a>) -> Self {
        Self::of_scope(
            txn.scope(),
            sea_orm::ConnectionTrait::get_database_backend(&**txn),
        )
    }

    /// A signed-in caller's reach, before any transaction: what it compiles runs in a
    /// scoped transaction where [`Self::reached_submissions`] says so.
    fn of_scope(scope: &'a SubmissionScope, backend: DbBackend) -> Self {
        Self {
            backend,
            scope: Some(scope),
            reached_submissions: AtomicBool::new(false),
        }
    }

    /// An anonymous caller's: the catalog, and no reports at all.
    pub fn anonymous(backend: DbBackend) -> Self {
        Self {
            backend,
            scope: None,
            reached_submissions: AtomicBool::new(false),
        }
    }

    /// Whether anything compiled here reaches submissions.
    fn reached_submissions(&self) -> bool {
        self.reached_submissions.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// `SELECT submission.<column> FROM submission WHERE <the rule> AND <filter>`: the only
    /// way a filter reaches submissions.
    pub fn submissions<P: Predicate>(
        &self,
        column: submission::Column,
        filter: &Filter<P>,
    ) -> ServiceResult<SelectStatement> {
        self.reached_submissions.store(true, Ordering::Relaxed);
        let rule = match self.scope {
            Some(scope) => scope.submission_condition(),
            None => Condition::all().add(Expr::val(1).eq(0)),
        };
        Ok(Query::select()
            .column((submission::Entity, column))
            .from(submission::Entity)
            .cond_where(rule)
            .cond_where(filter.condition(self)?)
            .to_owned())
    }

    /// A text expression compared by code point on every backend: PostgreSQL's
    /// collations would otherwise order text differently from SQLite.
    pub fn binary_text(&self, expr: Expr) -> Expr {
        match self.backend {
            DbBackend::Postgres => Expr::cust_with_expr("($1) COLLATE \"C\"", expr),
            _ => expr,
        }
    }
}

/// One page of `base` (a select of a catalog table's rows) narrowed by `filter`, in the
/// order of `keys`. A signed-in caller's filter reaches its submissions (in a scoped
/// transaction, opened only for a filter that does: the rest is one statement); an
/// anonymous caller's reaches none.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn catalog_page<M: FromQueryResult, P: Predicate>(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    mut base: SelectStatement,
    filter: &Filter<P>,
    keys: &[SortKey],
    page: &PageRequest,
) -> ServiceResult<Page<M>> {
    match narrowed(db, scope, &mut base, filter)? {
        Some(scope) => {
            let txn = scope.begin(db, Intent::Read).await?;
            let rows = paginate(&*txn, base, keys, page).await?;
            txn.commit().await?;
            Ok(rows)
        }
        None => paginate(db, base, keys, page).await,
    }
}

/// [`catalog_page`] for each of several parents: the same page of the rows of `base` whose
/// `parent` is each of `parents` (`paginate_each`), in as many statements as one page takes.
#[tracing::instrument(skip_all, level = "debug")]
#[allow(clippy::too_many_arguments)]
pub async fn catalog_pages<M: FromQueryResult, P: Predicate>(
    db: &DatabaseConnection,
    scope: Option<&SubmissionScope>,
    mut base: SelectStatement,
    parent: Expr,
    parents: &[i64],
    filter: &Filter<P>,
    keys: &[SortKey],
    page: &PageRequest,
) -> ServiceResult<HashMap<i64, Page<M>>> {
    match narrowed(db, scope, &mut base, filter)? {
        Some(scope) => {
            let txn = scope.begin(db, Intent::Read).await?;
            let pages = paginate_each(&*txn, base, parent, parents, keys, page).await?;
            txn.commit().await?;
            Ok(pages)
        }
        None => paginate_each(db, base, parent, parents, keys, page).await,
    }
}

/// Narrows `base` by `filter` as `scope` reaches it; the scope whose transaction the read
/// must run in when the filter reaches its submissions, none when one statement will do.
fn narrowed<'s, P: Predicate>(
    db: &DatabaseConnection,
    scope: Option<&'s SubmissionScope>,
    base: &mut SelectStatement,
    filter: &Filter<P>,
) -> ServiceResult<Option<&'s SubmissionScope>> {
    filter.check()?;
    let backend = db.get_database_backend();
    let reach = match scope {
        Some(scope) => Reach::of_scope(scope, backend),
        None => Reach::anonymous(backend),
    };
    base.cond_where(filter.condition(&reach)?);
    Ok(scope.filter(|_| reach.reached_submissions()))
}

/// A field of a collection as filters see it.
#[derive(Clone, Debug)]
pub struct Field {
    pub expr: Expr,
    pub nullable: bool,
    pub text: bool,
}

impl Field {
    pub fn new(column: impl IntoColumnRef) -> Self {
        Self {
            expr: Expr::col(column),
            nullable: false,
            text: false,
        }
    }

    pub fn nullable(self) -> Self {
        Self {
            nullable: true,
            ..self
        }
    }

    pub fn text(self) -> Self {
        Self { text: true, ..self }
    }

    /// `op` on this field; false where the field is null (except for `isNull`).
    pub fn compare(&self, op: &Op, cx: &Reach) -> ServiceResult<Condition> {
        let e = || {
            if self.text {
                cx.binary_text(self.expr.clone())
            } else {
                self.expr.clone()
            }
        };
        let v = |value: &Value| Expr::val(sea_orm::Value::from(value.clone()));
        let check_list = |values: &[Value]| -> ServiceResult<Vec<sea_orm::Value>> {
            if values.len() > MAX_LIST_VALUES {
                Err(ServiceError::bad_input(format!(
                    "`in` and `notIn` take at most {MAX_LIST_VALUES} values"
                )))
            } else {
                Ok(values.iter().cloned().map(sea_orm::Value::from).collect())
            }
        };
        let comparison = match op {
            Op::IsNull(true) => return Ok(Condition::all().add(self.expr.clone().is_null())),
            Op::IsNull(false) => {
                return Ok(Condition::all().add(self.expr.clone().is_not_null()));
            }
            Op::EqualTo(value) => e().eq(v(value)),
            Op::NotEqualTo(value) => e().ne(v(value)),
            Op::In(values) => e().is_in(check_list(values)?),
            Op::NotIn(values) => e().is_not_in(check_list(values)?),
            Op::LessThan(value) => e().lt(v(value)),
            Op::LessThanOrEqualTo(value) => e().lte(v(value)),
            Op::GreaterThan(value) => e().gt(v(value)),
            Op::GreaterThanOrEqualTo(value) => e().gte(v(value)),
            Op::Includes(text) => text_op(cx.backend, TextOp::Includes, self.expr.clone(), text),
            Op::StartsWith(text) => {
                text_op(cx.backend, TextOp::StartsWith, self.expr.clone(), text)
            }
            Op::EndsWith(text) => text_op(cx.backend, TextOp::EndsWith, self.expr.clone(), text),
        };
        let mut all = Condition::all();
        if self.nullable {
            all = all.add(self.expr.clone().is_not_null());
        }
        Ok(all.add(comparison))
    }
}

enum TextOp {
    Includes,
    StartsWith,
    EndsWith,
}

/// Exact substring tests (no LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does
/// not).
fn text_op(backend: DbBackend, op: TextOp, expr: Expr, text: &str) -> Expr {
    let chars = text.chars().count() as i64;
    if chars == 0 {
        return Expr::val(1).eq(1);
    }
    let postgres = backend == DbBackend::Postgres;
    let call = |name: &str, args: Vec<Expr>| Expr::from(Func::cust(Alias::new(name)).args(args));
    match op {
        TextOp::Includes => {
            let position = if postgres { "strpos" } else { "instr" };
            call(position, vec![expr, Expr::val(text)]).gt(0)
        }
        TextOp::StartsWith => {
            call("substr", vec![expr, Expr::val(1), Expr::val(chars as i32)]).eq(Expr::val(text))
        }
        TextOp::EndsWith if postgres => {
            call("right", vec![expr, Expr::val(chars as i32)]).eq(Expr::val(text))
        }
        TextOp::EndsWith => {
            call("substr", vec![expr, Expr::val(-(chars as i32))]).eq(Expr::val(text))
        }
    }
}

/// `column IN (subquery)` for `Some`, its complement for `None`, and "no related row
/// fails" for `Every`, where `failing` selects the related rows that do not match.
pub fn quantified(
    column: Expr,
    quantifier: Quantifier,
    matching: impl FnOnce() -> ServiceResult<SelectStatement>,
    failing: impl FnOnce() -> ServiceResult<SelectStatement>,
) -> ServiceResult<Condition> {
    Ok(Condition::all().add(match quantifier {
        Quantifier::Some => column.in_subquery(matching()?),
        Quantifier::None => column.not_in_subquery(matching()?),
        Quantifier::Every => column.not_in_subquery(failing()?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct T;
    impl Predicate for T {
        fn condition(&self, _: &Reach) -> ServiceResult<Condition> {
            Ok(Condition::all())
        }
    }

    #[test]
    fn size_counts_terms_and_levels() {
        let f = Filter::Any(vec![Filter::is(T), Filter::Not(Box::new(Filter::is(T)))]);
        assert_eq!(f.size(), Size { depth: 2, terms: 4 });
        let mut deep = Filter::is(T);
        for _ in 0..=MAX_DEPTH {
            deep = Filter::Not(Box::new(deep));
        }
        assert!(deep.check().is_err());
        let wide = Filter::All(vec![Filter::is(T); MAX_TERMS + 1]);
        assert!(wide.check().is_err());
    }
}
