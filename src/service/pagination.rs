//! Keyset pagination: a page is the rows after a cursor in a total order (the sort keys,
//! then the id), fetched with one extra row to tell whether another page follows. Never a
//! deep OFFSET.
use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::by_position::columns_without_search_text;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Order,
    QueryResult, Value,
    sea_query::{
        Alias, Asterisk, DynIden, Expr, ExprTrait, Func, IntoIden, JoinType, NullOrdering,
        OverStatement, Query, SelectStatement, WindowStatement,
    },
};
use serde::{Deserialize, Serialize};

use super::error::{ServiceError, ServiceResult};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;
/// Most orderings one list may be sorted by.
pub const MAX_ORDER_KEYS: usize = 4;
/// Longest accepted cursor, in characters: a cursor holds a few sort-key values.
const MAX_CURSOR_CHARS: usize = 2_048;

/// Refuses an `orderBy` longer than [`MAX_ORDER_KEYS`]: each ordering adds a column to
/// the sort and a term to every cursor's condition.
pub fn check_order_len(len: usize) -> ServiceResult<()> {
    if len > MAX_ORDER_KEYS {
        return Err(ServiceError::bad_input(format!(
            "`orderBy` takes at most {MAX_ORDER_KEYS} orderings"
        )));
    }
    Ok(())
}

/// An opaque position: a digest of the order, then the sort-key values of the last row
/// seen, its id last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor(pub Vec<serde_json::Value>);

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).expect("cursor serializes"))
    }

    pub fn decode(text: &str) -> ServiceResult<Self> {
        if text.len() > MAX_CURSOR_CHARS {
            return Err(ServiceError::bad_input("`after` is not a valid cursor"));
        }
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Cursor)
            .ok_or_else(|| ServiceError::bad_input("`after` is not a valid cursor"))
    }
}

/// What a client asked for: a page size, where to start, and whether it wants the total.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
    /// Counting the whole list costs a scan of it: done only when asked for.
    pub count: bool,
    /// Whether every row's cursor is wanted, or only the first and last rows' (a page's
    /// `pageInfo`): reading a row's sort keys back and encoding them cost as much as
    /// the rest of the row (bench/BENCHMARKS.md, run 11).
    pub each_cursor: bool,
}

impl PageRequest {
    /// Validates `first` (default 20, at most 100) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<String>) -> ServiceResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => {
                return Err(ServiceError::bad_input("`first` must not be negative"));
            }
            Some(n) if n as u64 > MAX_PAGE_SIZE => {
                return Err(ServiceError::bad_input(format!(
                    "`first` must be at most {MAX_PAGE_SIZE}"
                )));
            }
            Some(n) => n as u64,
        };
        let after = after.as_deref().map(Cursor::decode).transpose()?;
        Ok(Self {
            first,
            after,
            count: true,
            each_cursor: true,
        })
    }

    /// The same request, counting the whole list only if `count`.
    pub fn counting(self, count: bool) -> Self {
        Self { count, ..self }
    }

    /// The same request, with every row's cursor only if `each`.
    pub fn each_cursor(self, each: bool) -> Self {
        Self {
            each_cursor: each,
            ..self
        }
    }
}

/// A page of rows with their cursors: every row's, or, when the request did not ask for
/// each (`PageRequest::each_cursor`), the first and last rows' only.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<(Option<Cursor>, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// `None` when the request did not ask for it.
    pub total_count: Option<u64>,
}

impl<T> Page<T> {
    /// The same page with each item mapped.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(cursor, item)| (cursor, f(item)))
                .collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            total_count: self.total_count,
        }
    }
}

/// What type a sort key's values have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
    Bool,
    Date,
    Time,
}

/// One key of an order: an expression over the listed rows, its direction, and where
/// rows without a value go.
#[derive(Clone, Debug)]
pub struct SortKey {
    pub expr: Expr,
    pub kind: KeyKind,
    pub nullable: bool,
    pub descending: bool,
    pub nulls_first: bool,
}

impl SortKey {
    /// An ascending key on a non-null expression.
    pub fn asc(expr: impl Into<Expr>, kind: KeyKind) -> Self {
        Self {
            expr: expr.into(),
            kind,
            nullable: false,
            descending: false,
            nulls_first: false,
        }
    }

    /// The same key in the given direction; rows without a value come last ascending
    /// and first descending unless `nulls_first` says otherwise.
    pub fn directed(self, descending: bool, nulls_first: Option<bool>) -> Self {
        Self {
            descending,
            nulls_first: nulls_first.unwrap_or(descending),
            ..self
        }
    }

    pub fn nullable(self) -> Self {
        Self {
            nullable: true,
            ..self
        }
    }

    fn order(&self) -> Order {
        if self.descending {
            Order::Desc
        } else {
            Order::Asc
        }
    }

    fn null_ordering(&self) -> NullOrdering {
        if self.nulls_first {
            NullOrdering::First
        } else {
            NullOrdering::Last
        }
    }

    /// The expression as sorted and compared: text by code point on every backend.
    fn sorted(&self, backend: DbBackend) -> Expr {
        match (self.kind, backend) {
            (KeyKind::Text, DbBackend::Postgres) => {
                Expr::cust_with_expr("($1) COLLATE \"C\"", self.expr.clone())
            }
            _ => self.expr.clone(),
        }
    }

    /// A cursor value as a database value, if it is of this key's type.
    fn bind(&self, value: &serde_json::Value) -> Option<Option<Value>> {
        use serde_json::Value as J;
        Some(Some(match (self.kind, value) {
            (_, J::Null) => return self.nullable.then_some(None),
            (KeyKind::Int, J::Number(n)) => n.as_i64()?.into(),
            (KeyKind::Bool, J::Bool(b)) => (*b).into(),
            (KeyKind::Text, J::String(s)) if !s.contains('\0') => s.clone().into(),
            (KeyKind::Date, J::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()?
                .into(),
            (KeyKind::Time, J::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .ok()?
                .with_timezone(&chrono::Utc)
                .into(),
            _ => return None,
        }))
    }

    /// This key's value on a fetched row, as a cursor value.
    fn read(&self, row: &QueryResult, column: &str) -> ServiceResult<serde_json::Value> {
        use serde_json::Value as J;
        Ok(match self.kind {
            KeyKind::Int => row
                .try_get::<Option<i64>>("", column)?
                .map_or(J::Null, J::from),
            KeyKind::Text => row
                .try_get::<Option<String>>("", column)?
                .map_or(J::Null, J::from),
            KeyKind::Bool => row
                .try_get::<Option<bool>>("", column)?
                .map_or(J::Null, J::from),
            KeyKind::Date => row
                .try_get::<Option<chrono::NaiveDate>>("", column)?
                .map_or(J::Null, |d| J::from(d.format("%Y-%m-%d").to_string())),
            KeyKind::Time => row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", column)?
                .map_or(J::Null, |t| {
                    J::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                }),
        })
    }

    /// Rows strictly after `value` in this key's order (false where none can be).
    fn after(&self, backend: DbBackend, value: Option<Value>) -> Expr {
        let e = self.sorted(backend);
        match value {
            None if self.nulls_first => e.is_not_null(),
            None => Expr::val(1).eq(0),
            Some(v) => {
                let beyond = if self.descending {
                    e.clone().lt(v)
                } else {
                    e.clone().gt(v)
                };
                if self.nullable && !self.nulls_first {
                    beyond.or(e.is_null())
                } else {
                    beyond
                }
            }
        }
    }

    /// Rows tied with `value` on this key.
    fn tied(&self, backend: DbBackend, value: Option<Value>) -> Expr {
        match value {
            None => self.expr.clone().is_null(),
            Some(v) => self.sorted(backend).eq(v),
        }
    }
}

/// One key of a requested order, in the domain's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sorting<S> {
    pub by: S,
    pub descending: bool,
    /// Where rows without a value go; by default last ascending, first descending.
    pub nulls_first: Option<bool>,
}

impl<S> Sorting<S> {
    pub fn asc(by: S) -> Self {
        Self {
            by,
            descending: false,
            nulls_first: None,
        }
    }

    pub fn desc(by: S) -> Self {
        Self {
            by,
            descending: true,
            nulls_first: None,
        }
    }
}

/// The sort keys of a requested order (`default` when empty), ending with the row id
/// in the direction of the last key so that the order is total.
pub fn order_keys<S: Copy>(
    order: &[Sorting<S>],
    default: Sorting<S>,
    keys_of: impl Fn(S) -> Vec<SortKey>,
    id: Expr,
) -> ServiceResult<Vec<SortKey>> {
    check_order_len(order.len())?;
    let order = if order.is_empty() {
        std::slice::from_ref(&default)
    } else {
        order
    };
    let mut keys: Vec<SortKey> = order
        .iter()
        .flat_map(|s| {
            keys_of(s.by)
                .into_iter()
                .map(move |key| key.directed(s.descending, s.nulls_first))
        })
        .collect();
    let last_descending = order.last().is_some_and(|s| s.descending);
    keys.push(SortKey::asc(id, KeyKind::Int).directed(last_descending, None));
    Ok(keys)
}

/// The alias of the `i`th sort key among the selected columns.
fn key_alias(i: usize) -> String {
    format!("plantrack_sort_{i}")
}

/// The page `page` (cut, with its sort keys) with the rows of `joins` beside each of its
/// rows. The joins come after the page is cut, so that they read a page's worth of rows
/// whatever the order; and a join keeps no order, so the page is sorted again by its keys.
fn joined(
    page: SelectStatement,
    keys: &[SortKey],
    joins: &[PageJoin],
    backend: DbBackend,
) -> SelectStatement {
    let paged = Alias::new("plantrack_page").into_iden();
    let mut query = Query::select();
    query
        .column((paged.clone(), Asterisk))
        .from_subquery(page, paged.clone());
    for (n, join) in joins.iter().enumerate() {
        let alias = Alias::new(format!("plantrack_join_{n}")).into_iden();
        let on = (paged.clone(), Alias::new(join.on));
        if backend == DbBackend::Postgres {
            // A look-up by primary key for each row of the page: a plain join is planned
            // as hash joins over the whole tables, three times the work for a page of 100.
            let row = Query::select()
                .column(Asterisk)
                .from(join.table.clone())
                .and_where(Expr::col((join.table.clone(), Alias::new("id"))).equals(on))
                .limit(1)
                .to_owned();
            query.join_lateral(JoinType::LeftJoin, row, alias.clone(), Expr::cust("TRUE"));
        } else {
            // SQLite has no LATERAL, and looks each row up by its key anyway.
            query.join_as(
                JoinType::LeftJoin,
                join.table.clone(),
                alias.clone(),
                Expr::col((alias.clone(), Alias::new("id"))).equals(on),
            );
        }
        for (value, name) in (join.columns)(alias) {
            query.expr_as(value, name);
        }
    }
    for (i, key) in keys.iter().enumerate() {
        let again = SortKey {
            expr: Expr::col((paged.clone(), Alias::new(key_alias(i)))),
            ..key.clone()
        };
        query.order_by_expr_with_nulls(again.sorted(backend), key.order(), key.null_ordering());
    }
    query
}

/// `SELECT COUNT(*) AS n` of the rows `select` reads.
pub fn count_of(select: &SelectStatement) -> SelectStatement {
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(select.clone(), Alias::new("counted"))
        .to_owned()
}

/// Runs `select` (already filtered, selecting the row's columns) as one keyset page,
/// reading each row as an `M`. `keys` must end in a unique key (the id) so that the
/// order is total.
pub async fn paginate<M, C>(
    db: &C,
    select: SelectStatement,
    keys: &[SortKey],
    page: &PageRequest,
) -> ServiceResult<Page<M>>
where
    M: FromQueryResult,
    C: ConnectionTrait,
{
    paginate_joined(db, select, keys, page, &[], |row| {
        Ok(M::from_query_result(row, "")?)
    })
    .await
}

/// Another table's row read with each row of a page (a report's task, its agency), so that
/// the page's relations need no statements of their own.
pub struct PageJoin {
    /// The joined table.
    table: DynIden,
    /// The page's column that holds the joined row's `id`.
    on: &'static str,
    /// The joined row's columns in its model's order, given the table's alias in the
    /// statement.
    columns: fn(DynIden) -> Vec<(Expr, Alias)>,
}

impl PageJoin {
    /// The row of `E` whose `id` the page's column `on` holds, its columns in its model's
    /// order (`search_text` empty, as the loaders read it).
    pub fn of<E: EntityTrait>(on: impl ColumnTrait) -> Self {
        Self {
            table: E::default().into_iden(),
            on: on.as_str(),
            columns: |table| columns_without_search_text::<E>(table).collect(),
        }
    }
}

/// [`paginate`], with the rows of `joins` read alongside each row of the page: a row holds
/// the page's columns, then its sort keys, then each join's columns in turn (`NULL` where a
/// join finds no row). `read` makes an item of each row.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn paginate_joined<T, C>(
    db: &C,
    select: SelectStatement,
    keys: &[SortKey],
    page: &PageRequest,
    joins: &[PageJoin],
    read: impl FnMut(&QueryResult) -> ServiceResult<T>,
) -> ServiceResult<Page<T>>
where
    C: ConnectionTrait,
{
    let backend = db.get_database_backend();
    let total_count = if page.count {
        let row = db.query_one(&count_of(&select)).await?;
        let n: i64 = row.map_or(Ok(0), |r| r.try_get::<i64>("", "n"))?;
        Some(u64::try_from(n).unwrap_or_default())
    } else {
        None
    };
    let mut query = select;
    after_cursor(&mut query, backend, keys, page)?;
    select_keys(&mut query, keys);
    for key in keys {
        query.order_by_expr_with_nulls(key.sorted(backend), key.order(), key.null_ordering());
    }
    query.limit(page.first + 1);
    if !joins.is_empty() {
        query = joined(query, keys, joins, backend);
    }
    let rows = db.query_all(&query).await?;
    page_of(rows, keys, page, total_count, read)
}

/// [`paginate`] for the same page of each of several parents: the rows of `select` whose
/// `parent` is one of `parents`, a page of each (the same size, cursor and order), read in
/// one statement (and one more for the totals, when asked) however many parents there are.
/// A parent without rows has an empty page.
#[tracing::instrument(skip_all, level = "debug")]
pub async fn paginate_each<M, C>(
    db: &C,
    select: SelectStatement,
    parent: Expr,
    parents: &[i64],
    keys: &[SortKey],
    page: &PageRequest,
) -> ServiceResult<HashMap<i64, Page<M>>>
where
    M: FromQueryResult,
    C: ConnectionTrait,
{
    let backend = db.get_database_backend();
    let parent_alias = Alias::new("page_parent");
    let mut select = select;
    select.and_where(parent.clone().is_in(parents.iter().copied()));
    let mut totals: HashMap<i64, u64> = HashMap::new();
    if page.count {
        let mut counted = select.clone();
        counted.expr_as(parent.clone(), parent_alias.clone());
        let per_parent = Query::select()
            .column(parent_alias.clone())
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from_subquery(counted, Alias::new("counted"))
            .group_by_col(parent_alias.clone())
            .to_owned();
        for row in db.query_all(&per_parent).await? {
            let n: i64 = row.try_get("", "n")?;
            totals.insert(
                row.try_get("", "page_parent")?,
                u64::try_from(n).unwrap_or(0),
            );
        }
    }
    let mut numbered = select;
    after_cursor(&mut numbered, backend, keys, page)?;
    select_keys(&mut numbered, keys);
    numbered.expr_as(parent.clone(), parent_alias.clone());
    let mut window = WindowStatement::new();
    window.add_partition_by(parent);
    for key in keys {
        window.order_by_expr_with_nulls(key.sorted(backend), key.order(), key.null_ordering());
    }
    let row_number = Alias::new("page_row");
    numbered.expr_window_as(Expr::cust("ROW_NUMBER()"), window, row_number.clone());
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(numbered, Alias::new("numbered"))
        .and_where(Expr::col(row_number.clone()).lte(page.first + 1))
        .order_by(parent_alias, Order::Asc)
        .order_by(row_number, Order::Asc)
        .to_owned();
    let mut rows_of: HashMap<i64, Vec<QueryResult>> = HashMap::new();
    for row in db.query_all(&query).await? {
        let of: i64 = row.try_get("", "page_parent")?;
        rows_of.entry(of).or_default().push(row);
    }
    parents
        .iter()
        .map(|&of| {
            let rows = rows_of.remove(&of).unwrap_or_default();
            let total = page.count.then(|| totals.get(&of).copied().unwrap_or(0));
            let page = page_of(rows, keys, page, total, |row| {
                Ok(M::from_query_result(row, "")?)
            })?;
            Ok((of, page))
        })
        .collect()
}

/// Narrows `query` to the rows after the request's cursor, if it has one.
fn after_cursor(
    query: &mut SelectStatement,
    backend: DbBackend,
    keys: &[SortKey],
    page: &PageRequest,
) -> ServiceResult<()> {
    let Some(after) = &page.after else {
        return Ok(());
    };
    let values = (after.0.len() == keys.len() + 1 && after.0[0] == order_tag(keys))
        .then(|| {
            keys.iter()
                .zip(&after.0[1..])
                .map(|(key, value)| key.bind(value))
                .collect::<Option<Vec<_>>>()
        })
        .flatten()
        .ok_or_else(|| ServiceError::bad_input("`after` is a cursor of another order or list"))?;
    query.cond_where(after_condition(backend, keys, values));
    Ok(())
}

/// Selects each sort key's value, read back into the rows' cursors.
fn select_keys(query: &mut SelectStatement, keys: &[SortKey]) {
    for (i, key) in keys.iter().enumerate() {
        // Integers are read back as 64-bit, whatever the column's width.
        let selected = match key.kind {
            KeyKind::Int => Func::cast_as(key.expr.clone(), Alias::new("BIGINT")).into(),
            _ => key.expr.clone(),
        };
        query.expr_as(selected, Alias::new(key_alias(i)));
    }
}

/// The page of `rows` (in order, one more than the page's size when another page follows),
/// each read by `read`, with its cursor where the request wants it.
fn page_of<T>(
    mut rows: Vec<QueryResult>,
    keys: &[SortKey],
    page: &PageRequest,
    total_count: Option<u64>,
    mut read: impl FnMut(&QueryResult) -> ServiceResult<T>,
) -> ServiceResult<Page<T>> {
    let tag = order_tag(keys);
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let last = rows.len().saturating_sub(1);
    let items = rows
        .iter()
        .enumerate()
        .map(|(n, row)| {
            let cursor = if page.each_cursor || n == 0 || n == last {
                let values = std::iter::once(Ok(tag.clone()))
                    .chain(
                        keys.iter()
                            .enumerate()
                            .map(|(i, key)| key.read(row, &key_alias(i))),
                    )
                    .collect::<ServiceResult<Vec<_>>>()?;
                Some(Cursor(values))
            } else {
                None
            };
            Ok((cursor, read(row)?))
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: page.after.is_some(),
        total_count,
    })
}

/// What a cursor carries first: a digest of the order it was made in (the sort keys'
/// expressions and directions), so that a cursor of another order or list is refused
/// rather than read as a position in this one.
fn order_tag(keys: &[SortKey]) -> serde_json::Value {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for key in keys {
        digest.update(format!(
            "{:?}|{}|{};",
            key.expr, key.descending, key.nulls_first
        ));
    }
    serde_json::Value::from(URL_SAFE_NO_PAD.encode(&digest.finalize()[..6]))
}

/// (k1 after v1) OR (k1 tied v1 AND k2 after v2) OR …
fn after_condition(backend: DbBackend, keys: &[SortKey], values: Vec<Option<Value>>) -> Condition {
    let mut any = Condition::any();
    for (i, key) in keys.iter().enumerate() {
        let mut all = Condition::all();
        for (prev, value) in keys[..i].iter().zip(&values) {
            all = all.add(prev.tied(backend, value.clone()));
        }
        any = any.add(all.add(key.after(backend, values[i].clone())));
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(PageRequest::new(None, None).unwrap().first, 20);
        assert_eq!(PageRequest::new(Some(100), None).unwrap().first, 100);
        assert!(matches!(
            PageRequest::new(Some(101), None),
            Err(ServiceError::BadInput(_))
        ));
        assert!(matches!(
            PageRequest::new(Some(-1), None),
            Err(ServiceError::BadInput(_))
        ));
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor(vec![serde_json::json!(3), serde_json::json!("giảm")]);
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor!").is_err());
    }
}
