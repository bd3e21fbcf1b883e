//! plantrack: a GraphQL service that tracks how a provincial plan is carried out.
//!
//! Layers: `http` (router, limits, health) → `graphql` (types, resolvers, loaders; no SQL)
//! → `service` (rules; the only code that writes) → the `entity` crate (data).
pub mod config;
pub mod db;
pub mod graphql;
pub mod http;
pub mod service;
pub mod startup;
pub mod telemetry;
