//! The GraphQL layer: types, resolvers and loaders. No SQL here: resolvers parse
//! arguments, call the service layer, and shape the answer.
pub mod analysis_types;
pub mod cost;
pub mod error;
pub mod filters;
pub mod gate;
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

use std::sync::Arc;

use async_graphql::Schema;
pub use gate::Gate;
pub use observe::count_errors;
use sea_orm::DatabaseConnection;

use crate::{
    config::Limits,
    service::{events::EventBus, throttle::LoginThrottle},
};

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema behind its gate (see `gate`); `db` is `None` only for printing the SDL.
pub fn build_schema(db: Option<(DatabaseConnection, EventBus)>, limits: &Limits) -> Gate {
    // One sign-in throttle for both schemas: a batch is no way around it.
    let throttle = Arc::new(LoginThrottle::new(&limits.login));
    let schema = schema(db.clone(), &throttle, limits, false);
    let (batch_db, batch_limits) = (db.clone(), limits.clone());
    Gate::new(
        schema,
        move || self::schema(batch_db.clone(), &throttle, &batch_limits, true),
        db.map(|(db, _)| db),
        limits.document(),
        limits.max_response_bytes,
    )
}

/// The schema itself; for batches, with the extension that charges their shared budget.
fn schema(
    db: Option<(DatabaseConnection, EventBus)>,
    throttle: &Arc<LoginThrottle>,
    limits: &Limits,
    for_batches: bool,
) -> AppSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if for_batches {
        builder = builder.extension(guard::BatchCost);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if let Some((db, events)) = db {
        builder = builder.data(db).data(events).data(throttle.clone());
    }
    builder.finish()
}

/// The SDL that the server serves (what `schema.graphql` holds).
pub fn sdl() -> String {
    build_schema(None, &Limits::default())
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
