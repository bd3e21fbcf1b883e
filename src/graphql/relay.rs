//! Relay conventions: opaque global ids and connections built from domain pages.
use std::borrow::Cow;

use async_graphql::{Context, ID, Object, OutputType, TypeName, connection::PageInfo};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::error::IntoGql;
use crate::service::{
    ServiceError,
    pagination::{Cursor, Page, PageRequest},
};

/// The opaque id of a row of a type, e.g. `Task:12` encoded.
pub fn global_id(type_name: &str, id: i64) -> ID {
    // Without `format!`: a page of 100 reports with their tasks and agencies makes 300 of
    // these, and the formatting machinery cost more than the encoding.
    let mut raw = Vec::with_capacity(type_name.len() + 21);
    raw.extend_from_slice(type_name.as_bytes());
    raw.push(b':');
    raw.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    ID(URL_SAFE_NO_PAD.encode(raw))
}

/// Splits a global id into its type name and row id; malformed ids are not found.
pub fn parse_global_id(id: &str) -> Result<(String, i64), ServiceError> {
    URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (type_name, row) = text.split_once(':')?;
            Some((type_name.to_owned(), row.parse().ok()?))
        })
        .ok_or_else(|| ServiceError::not_found("node"))
}

/// A page of a list as a Relay connection, `<Node>Connection`: async-graphql's own
/// `Connection` has the same fields but gives its types no description.
pub struct Conn<N: OutputType> {
    edges: Vec<ConnEdge<N>>,
    has_previous_page: bool,
    has_next_page: bool,
    total_count: u64,
}

/// One page of a list: its items with their cursors (`edges`) or without (`nodes`), how
/// to ask for the next page (`pageInfo`), and how many items the whole list holds
/// (`totalCount`).
#[Object(name_type)]
impl<N: OutputType> Conn<N> {
    /// Whether more items follow, and the cursors of this page's first and last items:
    /// pass `endCursor` as `after` for the next page.
    async fn page_info(&self) -> async_graphql::Result<PageInfo> {
        Ok(PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self
                .edges
                .first()
                .map(ConnEdge::cursor_text)
                .transpose()
                .gql()?,
            end_cursor: self
                .edges
                .last()
                .map(ConnEdge::cursor_text)
                .transpose()
                .gql()?,
        })
    }

    /// The items of this page in the list's order, each with its cursor.
    async fn edges(&self) -> &[ConnEdge<N>] {
        &self.edges
    }

    /// The items of this page in the list's order, without cursors.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// How many items the whole list holds, across all pages.
    async fn total_count(&self) -> u64 {
        self.total_count
    }
}

impl<N: OutputType> TypeName for Conn<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

/// An item of a page with its cursor, `<Node>Edge`. The cursor is encoded only when
/// asked for, and made only for the rows whose cursors the selection holds (see
/// `page_request`).
pub struct ConnEdge<N: OutputType> {
    cursor: Option<Cursor>,
    node: N,
}

impl<N: OutputType> ConnEdge<N> {
    /// The cursor's text; an error (never a wrong cursor) for a row whose cursor was not
    /// made.
    fn cursor_text(&self) -> Result<String, ServiceError> {
        self.cursor
            .as_ref()
            .map(Cursor::encode)
            .ok_or_else(|| ServiceError::Internal("a cursor the selection did not ask for".into()))
    }
}

/// An item of a page, with the cursor that marks its place in the list.
#[Object(name_type)]
impl<N: OutputType> ConnEdge<N> {
    /// The item.
    async fn node(&self) -> &N {
        &self.node
    }
    /// The item's place in the list: pass it as `after` for the items that follow it.
    async fn cursor(&self) -> async_graphql::Result<String> {
        self.cursor_text().gql()
    }
}

impl<N: OutputType> TypeName for ConnEdge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

/// The page a connection field asks for; the list is counted only when the selection
/// holds `totalCount`, since counting scans the whole list.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ServiceError> {
    let selection = ctx.look_ahead();
    let count = selection.field("totalCount").exists();
    let each_cursor = selection.field("edges").field("cursor").exists();
    Ok(PageRequest::new(first, after)?
        .counting(count)
        .each_cursor(each_cursor))
}

/// Whether the selection of a connection asks for `field` of its items, through `edges`
/// or `nodes` (look-ahead): a list then reads what the field points at along with its
/// rows. Only a saving: a field the look-ahead misses loads its rows itself.
pub fn items_select(ctx: &Context<'_>, field: &str) -> bool {
    let selection = ctx.look_ahead();
    selection.field("edges").field("node").field(field).exists()
        || selection.field("nodes").field(field).exists()
}

pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> Conn<N> {
    Conn {
        edges: page
            .items
            .into_iter()
            .map(|(cursor, item)| ConnEdge {
                cursor,
                node: node(item),
            })
            .collect(),
        has_previous_page: page.has_previous_page,
        has_next_page: page.has_next_page,
        // Counted whenever `totalCount` is selected (see `page_request`).
        total_count: page.total_count.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip() {
        let id = global_id("Task", 42);
        assert_eq!(parse_global_id(&id).unwrap(), ("Task".to_owned(), 42));
        assert!(parse_global_id("garbage").is_err());
    }
}
