//! Integration tests through the HTTP/GraphQL surface, each on SQLite and on PostgreSQL.
mod support;

mod analysis;
mod auth;
mod catalog;
mod events;
mod fixtures;
mod isolation;
mod limits;
mod reports;
mod schema;
mod transport;
mod workflow;
