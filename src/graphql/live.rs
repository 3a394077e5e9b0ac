//! Subscriptions: payouts and figures as they change (the streams are in `services::subscriptions`).
use async_graphql::{Context, Result, Subscription};
use futures_util::{Stream, StreamExt};

use super::payouts::Payout;
use super::stats::{CoverageStats, selected_groups};
use super::{caller, state};
use crate::domain::types::PayoutStatus;
use crate::services::subscriptions::{self, Credential, PayoutWatch, Subscriber};

/// The `Authorization` a WebSocket connection sent in `connection_init` (or renewed since), kept
/// so that its subscriptions can check the key or token again while they last.
#[derive(Clone, Default)]
pub struct ConnectionAuthorization(pub Credential);

fn subscriber(ctx: &Context<'_>) -> Subscriber {
    let credential = ctx.data_opt::<ConnectionAuthorization>().map(|a| a.0.clone()).unwrap_or_default();
    Subscriber { state: state(ctx).clone(), caller: caller(ctx).clone(), credential }
}

#[derive(Default)]
pub struct LiveSubscription;

// Named as the contract names it (the struct's own name would be the type's).
#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Every committed payout transition in scope.
    async fn payout_changed(
        &self,
        ctx: &Context<'_>,
        regency_code: Option<String>,
        statuses: Option<Vec<PayoutStatus>>,
    ) -> Result<impl Stream<Item = Result<Payout>> + use<>> {
        let filter = PayoutWatch { regency_code, statuses };
        let changes = subscriptions::payouts(subscriber(ctx), filter).await?;
        Ok(changes.map(|change| change.map(Payout).map_err(Into::into)))
    }

    /// The area's figures after committed changes, at most once per second per area.
    async fn coverage_stats_changed(
        &self,
        ctx: &Context<'_>,
        area_code: Option<String>,
        year: i32,
    ) -> Result<impl Stream<Item = Result<CoverageStats>> + use<>> {
        let groups = selected_groups(&ctx.look_ahead());
        let changes = subscriptions::coverage_stats(subscriber(ctx), area_code, year, groups).await?;
        Ok(changes.map(|change| change.map(CoverageStats::from).map_err(Into::into)))
    }
}
