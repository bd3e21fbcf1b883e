//! Relay conventions: opaque global ids and connections built from domain pages.
use async_graphql::{
    Context, ID, OutputType, SimpleObject,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::service::{
    ServiceError,
    pagination::{Page, PageRequest},
};

/// The opaque id of a row of a type, e.g. `Task:12` encoded.
pub fn global_id(type_name: &str, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
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

/// Extra fields on every connection.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// How many items the whole list holds, across all pages.
    pub total_count: u64,
}

pub type Conn<N> = Connection<String, N, ConnectionFields>;

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
    let mut conn = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        ConnectionFields {
            // Counted whenever `totalCount` is selected (see `page_request`).
            total_count: page.total_count.unwrap_or_default(),
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor.encode(), node(item))),
    );
    conn
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
