//! Keyset pagination: a page is the rows after a cursor in a total order (the sort keys,
//! then the id), fetched with one extra row to tell whether another page follows. Never a
//! deep OFFSET.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Value,
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

/// One value of a row's position in the order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

impl From<KeyValue> for Value {
    fn from(value: KeyValue) -> Self {
        match value {
            KeyValue::Int(v) => v.into(),
            KeyValue::Text(v) => v.into(),
        }
    }
}

/// An opaque position: the sort-key values of the last row seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor(pub Vec<KeyValue>);

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
        })
    }

    /// The same request, counting the whole list only if `count`.
    pub fn counting(self, count: bool) -> Self {
        Self { count, ..self }
    }
}

/// A page of rows, each with its cursor.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// `None` when the request did not ask for it.
    pub total_count: Option<u64>,
}

/// One column of an order, with how to read its value off a row.
pub struct SortKey<E: EntityTrait> {
    pub column: E::Column,
    pub order: Order,
    pub value: fn(&E::Model) -> KeyValue,
}

impl<E: EntityTrait> SortKey<E> {
    pub fn new(column: E::Column, order: Order, value: fn(&E::Model) -> KeyValue) -> Self {
        Self {
            column,
            order,
            value,
        }
    }
}

impl<E: EntityTrait> SortKey<E> {
    /// Whether a cursor value is of this key's column type, so that a cursor made for
    /// another order never reaches the database as a mistyped comparison.
    fn accepts(&self, value: &KeyValue) -> bool {
        use sea_orm::sea_query::ColumnType as T;
        let integer = matches!(
            self.column.def().get_column_type(),
            T::TinyInteger | T::SmallInteger | T::Integer | T::BigInteger
        );
        match value {
            KeyValue::Int(_) => integer,
            KeyValue::Text(text) => !integer && !text.contains('\0'),
        }
    }
}

/// Runs `select` (already filtered) as one keyset page. `keys` must end in a unique
/// column (the id) so that the order is total.
pub async fn paginate<E, C>(
    db: &C,
    select: Select<E>,
    keys: &[SortKey<E>],
    page: &PageRequest,
) -> ServiceResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total_count = if page.count {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let mut query = select;
    if let Some(after) = &page.after {
        let fits = after.0.len() == keys.len()
            && keys
                .iter()
                .zip(&after.0)
                .all(|(key, value)| key.accepts(value));
        if !fits {
            return Err(ServiceError::bad_input(
                "`after` is a cursor of another order or list",
            ));
        }
        query = query.filter(after_condition(keys, &after.0));
    }
    for key in keys {
        query = query.order_by(key.column, key.order.clone());
    }
    let mut rows = query.limit(page.first + 1).all(db).await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let items = rows
        .into_iter()
        .map(|row| (Cursor(keys.iter().map(|k| (k.value)(&row)).collect()), row))
        .collect();
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: page.after.is_some(),
        total_count,
    })
}

/// (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …, with `<` for descending keys.
fn after_condition<E: EntityTrait>(keys: &[SortKey<E>], values: &[KeyValue]) -> Condition {
    let mut any = Condition::any();
    for (i, key) in keys.iter().enumerate() {
        let mut all = Condition::all();
        for (prev, value) in keys[..i].iter().zip(values) {
            all = all.add(prev.column.eq(Value::from(value.clone())));
        }
        let value = Value::from(values[i].clone());
        all = all.add(match key.order {
            Order::Desc => key.column.lt(value),
            _ => key.column.gt(value),
        });
        any = any.add(all);
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
        let cursor = Cursor(vec![KeyValue::Int(3), KeyValue::Text("giảm".into())]);
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor!").is_err());
    }
}
