//! What the schema carries: the database, shared; loaders, per request.
use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::service::events::EventBus;

pub fn db<'a>(ctx: &'a Context<'_>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

pub fn events<'a>(ctx: &'a Context<'_>) -> &'a EventBus {
    ctx.data_unchecked::<EventBus>()
}
