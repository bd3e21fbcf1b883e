//! Integration tests through the HTTP/GraphQL surface, each on SQLite and on PostgreSQL.
mod support;

mod catalog;
mod limits;
mod schema;
