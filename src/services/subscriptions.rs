//! The subscription streams: the changes one subscriber may see, as payouts or as figures.
//!
//! Every stream re-checks its API key (or access token) every half second, so a key revoked while
//! connected, or a key or token that expires, ends its subscriptions within a second (with
//! UNAUTHENTICATED and the reason: revoked, expired). The connection's credential may be renewed
//! while it lasts (`Credential::renew`: a fresh token before the old one expires), and the checks
//! read the newest one. A subscriber more than `BACKLOG` events
//! behind loses the oldest: figures are then recomputed anyway, payout events are skipped (and
//! logged).
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::figure_feeds;
use super::statistics::{self, AreaStats};
use crate::auth::Caller;
use crate::domain::types::PayoutStatus;
use crate::entities::payout;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::{Change, Event};
use crate::services::AppState;
use crate::services::access;
use crate::stats::FigureGroups;

/// How often a subscription re-checks its key: with the key cache's own refresh
/// (`auth::keys::KEY_REFRESH`, half a second) a revoked key ends its subscriptions within a second.
const KEY_CHECK: Duration = Duration::from_millis(500);

/// The `Authorization` a connection authenticated with, shared by its subscriptions: renewed
/// when the client sends a fresh token, read by every check.
#[derive(Clone, Default)]
pub struct Credential(Arc<RwLock<Option<String>>>);

impl Credential {
    pub fn new(authorization: Option<String>) -> Credential {
        Credential(Arc::new(RwLock::new(authorization)))
    }

    pub fn current(&self) -> Option<String> {
        self.0.read().map_or(None, |held| held.clone())
    }

    /// Replaces the credential; the caller checked that it names the connection's caller.
    pub fn renew(&self, authorization: String) {
        if let Ok(mut held) = self.0.write() {
            *held = Some(authorization);
        }
    }
}

/// Who subscribes: the caller authenticated at `connection_init`, and its connection's
/// credential, to be checked again while the subscription lasts.
#[derive(Clone)]
pub struct Subscriber {
    pub state: AppState,
    pub caller: Caller,
    pub credential: Credential,
}

impl Subscriber {
    /// Why the credential no longer holds (revoked, expired, or renewed into another caller), or
    /// None while it does (anonymous subscribers always hold). A database that cannot answer
    /// right now ends nothing.
    pub async fn ended(&self) -> Option<AppError> {
        let actor = self.caller.as_ref()?;
        match self.state.authenticate_with(self.credential.current().as_deref(), async { Ok(()) }).await {
            Err(refused @ (AppError::UnknownKey | AppError::Refused(_))) => Some(refused),
            Ok(Some(now)) if now.key_id != actor.key_id || now.role != actor.role || now.scope != actor.scope => {
                Some(AppError::Refused(Msg::FreshTokenOtherCaller))
            }
            Ok(None) => Some(AppError::UnknownKey),
            _ => None,
        }
    }
}

/// What waiting for the next event gave.
enum Next {
    Event(Arc<Event>),
    /// Events were dropped: this subscriber fell too far behind.
    Lagged,
    /// The deadline passed.
    Due,
    Revoked(AppError),
    Closed,
}

/// One subscription's receiver, with its key check and its open-subscriptions count.
struct Watch {
    subscriber: Subscriber,
    events: Receiver<Arc<Event>>,
    check: Interval,
    ended: bool,
    _open: OpenSubscription,
}

impl Watch {
    fn new(subscriber: Subscriber, events: Receiver<Arc<Event>>) -> Watch {
        let mut check = tokio::time::interval_at(Instant::now() + KEY_CHECK, KEY_CHECK);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let open = OpenSubscription::new(subscriber.state.live.clone());
        Watch { subscriber, events, check, ended: false, _open: open }
    }

    async fn next(&mut self, deadline: Option<Instant>) -> Next {
        let due = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = self.events.recv() => match received {
                Ok(event) => Next::Event(event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind and lost changes");
                    Next::Lagged
                }
                Err(RecvError::Closed) => Next::Closed,
            },
            _ = self.check.tick() => match self.subscriber.ended().await {
                Some(why) => Next::Revoked(why),
                None => Next::Due,
            },
            () = due => Next::Due,
        }
    }
}

/// Counts open subscriptions for /metrics, and on its hub (`Live::subscribers`), while it lives.
struct OpenSubscription(Arc<crate::live::Live>);

impl OpenSubscription {
    fn new(live: Arc<crate::live::Live>) -> OpenSubscription {
        metrics::gauge!("jaminan_subscriptions_open").increment(1.0);
        live.opened();
        OpenSubscription(live)
    }
}

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        metrics::gauge!("jaminan_subscriptions_open").decrement(1.0);
        self.0.closed();
    }
}

/// Which payout changes a subscriber asked for.
#[derive(Debug, Clone, Default)]
pub struct PayoutWatch {
    pub regency_code: Option<String>,
    pub statuses: Option<Vec<PayoutStatus>>,
}

/// `payoutChanged`: every committed payout transition the key may see (the payouts of the
/// regencies in its scope), as the payout reads once the change is committed.
pub async fn payouts(
    subscriber: Subscriber,
    filter: PayoutWatch,
) -> AppResult<impl Stream<Item = AppResult<payout::Model>> + use<>> {
    let actor = access::require_reader(&subscriber.caller)?.clone();
    // A credential that expired since connection_init subscribes to nothing.
    if let Some(why) = subscriber.ended().await {
        return Err(why);
    }
    if let Some(code) = &filter.regency_code {
        if subscriber.state.areas.regency(code).is_none() {
            return Err(AppError::bad_input("regencyCode", Msg::UnknownRegency));
        }
        access::require_reach(&actor, code)?;
    }
    let events = subscriber.state.live.subscribe().await?;
    let watch = Watch::new(subscriber, events);
    Ok(futures_util::stream::unfold(watch, move |mut watch| {
        let (actor, filter) = (actor.clone(), filter.clone());
        async move {
            if watch.ended {
                return None;
            }
            loop {
                let event = match watch.next(None).await {
                    Next::Event(event) => event,
                    Next::Lagged | Next::Due => continue,
                    Next::Closed => return None,
                    Next::Revoked(why) => {
                        watch.ended = true;
                        return Some((Err(why), watch));
                    }
                };
                let Change::Payout { regency_code, status, .. } = &event.change else { continue };
                let wanted = access::reaches(&actor, regency_code)
                    && filter.regency_code.as_ref().is_none_or(|code| code == regency_code)
                    && filter.statuses.as_ref().is_none_or(|statuses| statuses.contains(status));
                if !wanted {
                    continue;
                }
                match event.payout(&watch.subscriber.state.db).await {
                    Ok(Some(row)) => return Some((Ok(row.clone()), watch)),
                    Ok(None) => continue,
                    Err(err) => return Some((Err(err), watch)),
                }
            }
        }
    }))
}

/// `coverageStatsChanged`: the area's figures for `year` after committed changes, at most once a
/// second (changes in between are coalesced).
///
/// Subscribers of one area, year and class of caller share one read per change
/// (`figure_feeds`). Keys in the area's scope read exact figures, so every change sends them.
/// Everyone else reads the publication, where small figures are withheld: they receive figures
/// once the refreshed publication is swapped in (about a second after the change, `publishing`),
/// and only when their figures differ from the last they received, so that a change to withheld
/// figures does not show through the timing of an update.
pub async fn coverage_stats(
    subscriber: Subscriber,
    area_code: Option<String>,
    year: i32,
    groups: FigureGroups,
) -> AppResult<impl Stream<Item = AppResult<AreaStats>> + use<>> {
    if let Some(why) = subscriber.ended().await {
        return Err(why);
    }
    let exact = statistics::sees_exact_code(&subscriber.state, &subscriber.caller, area_code.as_deref())?;
    let year = super::check_year("year", year)?;
    // Joined before reading: a change committed while the figures are read is not missed.
    let state = &subscriber.state;
    let readings = figure_feeds::join(state, area_code.clone(), year, groups, exact).await?;
    let current =
        statistics::area_stats(&subscriber.state, &subscriber.caller, area_code.as_deref(), year, groups).await?;
    let mut check = tokio::time::interval_at(Instant::now() + KEY_CHECK, KEY_CHECK);
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let open = OpenSubscription::new(subscriber.state.live.clone());
    // What later figures are compared with: the public is sent only figures that changed.
    let following = Following { subscriber, readings, check, ended: false, last: current, _open: open };
    Ok(futures_util::stream::unfold(following, move |mut following| async move {
        if following.ended {
            return None;
        }
        loop {
            tokio::select! {
                changed = following.readings.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let Some(reading) = following.readings.borrow_and_update().clone() else { continue };
                    let figures = match reading.as_ref() {
                        Ok(figures) => figures.clone(),
                        Err(err) => return Some((Err(err.clone()), following)),
                    };
                    if !exact && following.last.figures == figures {
                        continue;
                    }
                    following.last.figures = figures;
                    return Some((Ok(following.last.clone()), following));
                }
                _ = following.check.tick() => if let Some(why) = following.subscriber.ended().await {
                    following.ended = true;
                    return Some((Err(why), following));
                },
            }
        }
    }))
}

/// One figure subscription: the readings of its feed, its key check, and the figures last sent
/// (at first, those read when subscribing).
struct Following {
    subscriber: Subscriber,
    readings: tokio::sync::watch::Receiver<figure_feeds::Reading>,
    check: Interval,
    ended: bool,
    last: AreaStats,
    _open: OpenSubscription,
}
