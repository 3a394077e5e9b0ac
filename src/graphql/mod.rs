//! The GraphQL schema: one module per area of the API, each with its types and its slice of
//! Query/Mutation. Resolvers translate arguments, call a service and wrap the result.
pub mod admission;
pub mod areas;
pub mod coverage;
pub mod imports;
pub mod inputs;
pub mod live;
pub mod loaders;
pub mod payouts;
pub mod scalars;
pub mod schema;
pub mod spans;
pub mod stats;
pub mod workers;

use async_graphql::{Context, ID};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Msg};
use crate::services::AppState;

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The caller of the request (None = anonymous).
pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&None)
}

/// The language the request's reader prefers (from Accept-Language; English without one).
pub fn lang(ctx: &Context<'_>) -> Lang {
    ctx.data_opt::<Lang>().copied().unwrap_or_default()
}

/// Our ids are integers rendered as strings; anything else names nothing.
pub fn parse_id(id: &ID, field: &'static str) -> AppResult<i64> {
    id.parse::<i64>().map_err(|_| AppError::bad_input(field, Msg::InvalidId))
}
