//! Relay conventions: opaque global ids and connections built from domain pages.
use std::borrow::Cow;

use async_graphql::{
    Context, ID, Object, OutputType, TypeName,
    connection::{CursorType, Edge, EmptyFields, PageInfo},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::service::{
    ServiceError,
    pagination::{Page, PageRequest},
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
    edges: Vec<Edge<String, N, EmptyFields>>,
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
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|edge| edge.cursor.encode_cursor()),
            end_cursor: self.edges.last().map(|edge| edge.cursor.encode_cursor()),
        }
    }

    /// The items of this page in the list's order, each with its cursor.
    async fn edges(&self) -> &[Edge<String, N, EmptyFields>] {
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

/// The page a connection field asks for; the list is counted only when the selection
/// holds `totalCount`, since counting scans the whole list.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ServiceError> {
    let count = ctx.look_ahead().field("totalCount").exists();
    Ok(PageRequest::new(first, after)?.counting(count))
}

pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> Conn<N> {
    Conn {
        edges: page
            .items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor.encode(), node(item)))
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
