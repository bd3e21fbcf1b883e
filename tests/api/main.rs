//! Integration tests through the HTTP/GraphQL surface, each on SQLite and on PostgreSQL.
mod sandbox;
mod support;

mod analysis;
mod attacks;
mod auth;
mod batching;
mod cancellation;
mod catalog;
mod cli;
mod durability;
mod events;
mod export;
mod fixtures;
mod fuzz;
mod isolation;
mod limits;
mod observability;
mod plan_files;
mod plans;
mod query_language;
mod reports;
mod schema;
mod succession;
mod transport;
mod workflow;
