//! The GraphQL layer: types, resolvers and loaders. No SQL here: resolvers parse
//! arguments, call the service layer, and shape the answer.
pub mod analysis_types;
pub mod cost;
pub mod error;
pub mod filters;
pub mod guard;
pub mod inputs;
pub mod loaders;
pub mod mutation;
pub mod observe;
pub mod query;
pub mod relay;
pub mod scalars;
pub mod session;
pub mod state;
pub mod subscription;
pub mod tenant_types;
pub mod types;

use async_graphql::Schema;
pub use observe::count_errors;
use sea_orm::DatabaseConnection;

use crate::{
    config::Limits,
    service::{events::EventBus, throttle::LoginThrottle},
};

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema, with its limits; `db` is `None` only for printing the SDL.
pub fn build_schema(db: Option<(DatabaseConnection, EventBus)>, limits: &Limits) -> AppSchema {
    // The observer wraps everything, so that it counts every error; the guard comes
    // next: it sees the raw text before anything parses it.
    let mut builder = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .extension(observe::Observe)
        .extension(guard::DocumentGuard(limits.document()))
        .extension(session::RequireSignIn)
        .extension(guard::ResponseLimit(limits.max_response_bytes))
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if let Some((db, events)) = db {
        builder = builder
            .data(db)
            .data(events)
            .data(LoginThrottle::new(&limits.login));
    }
    builder.finish()
}

/// The SDL that the server serves (what `schema.graphql` holds).
pub fn sdl() -> String {
    build_schema(None, &Limits::default())
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
