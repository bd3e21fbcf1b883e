//! What the schema carries: the database, events and the sign-in throttle, shared;
//! loaders, per request.
use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::service::{events::EventBus, throttle::LoginThrottle};

pub fn db<'a>(ctx: &'a Context<'_>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

pub fn events<'a>(ctx: &'a Context<'_>) -> &'a EventBus {
    ctx.data_unchecked::<EventBus>()
}

pub fn login_throttle<'a>(ctx: &'a Context<'_>) -> &'a LoginThrottle {
    ctx.data_unchecked::<std::sync::Arc<LoginThrottle>>()
}
