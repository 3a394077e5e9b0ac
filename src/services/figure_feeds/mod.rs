//! One read per area and change for every figure subscriber of that area: subscribers of the same
//! area, year, figure groups and class of caller (exact, for keys whose scope holds the area, or
//! published, for everyone else) share a feed. The feed waits for the changes that touch its
//! area (exact) or for the publication's swaps (published), reads the figures once, at most once
//! a second, and hands the reading to all of them; 1,000 dashboards of one regency cost one read
//! per change instead of 1,000. A feed lives while it has subscribers.
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::AppResult;
use crate::live::{Change, Event};
use crate::services::AppState;
use crate::services::statistics;
use crate::stats::FigureGroups;

pub mod registry;

pub use registry::{FeedKey, FigureFeeds, Reading};

/// The least time between two readings of a feed.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The reads of all feeds, by class: what `bench/subscribers.sh` divides by the changes.
pub const READS: &str = "jaminan_figure_feed_reads_total";

/// The readings of the feed of this area, year, groups and class, started if this is the first
/// subscriber. The feed listens before this returns: a change committed from now on is read.
pub async fn join(
    state: &AppState,
    area_code: Option<String>,
    year: i32,
    groups: FigureGroups,
    exact: bool,
) -> AppResult<watch::Receiver<Reading>> {
    let key = FeedKey { area_code, year, groups, exact };
    if let Some(readings) = state.feeds.joined(&key) {
        return Ok(readings);
    }
    // Subscribed before the feed is registered (it may open the listening connection); dropped
    // unused if another subscriber started the feed meanwhile.
    let by_changes = exact || state.publications.refresh.is_zero();
    let events = if by_changes { Some(state.live.subscribe().await?) } else { None };
    let swaps = (!by_changes).then(|| state.publications.swaps());
    let (readings, sender) = state.feeds.join_or_start(&key);
    if let Some(sender) = sender {
        let feed = Feed { feeds: Arc::downgrade(&state.feeds), state: state.clone(), key, sender, events, swaps };
        tokio::spawn(feed.run());
    }
    Ok(readings)
}

struct Feed {
    feeds: Weak<FigureFeeds>,
    state: AppState,
    key: FeedKey,
    sender: watch::Sender<Reading>,
    /// Committed changes (exact figures, and published ones recomputed on read: refresh 0).
    events: Option<broadcast::Receiver<Arc<Event>>>,
    /// The years whose publication was swapped in (published figures with a refresher).
    swaps: Option<broadcast::Receiver<i32>>,
}

impl Feed {
    async fn run(mut self) {
        let area = self.key.area_code.clone().unwrap_or_default();
        let year = self.key.year;
        let class = if self.key.exact { "exact" } else { "published" };
        let mut pending_since: Option<Instant> = None;
        let mut last_read: Option<Instant> = None;
        loop {
            let due = pending_since.map(|since| last_read.map_or(since, |read| since.max(read + PERIOD)));
            let wait = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let event = async {
                match self.events.as_mut() {
                    Some(events) => events.recv().await,
                    None => std::future::pending().await,
                }
            };
            let swap = async {
                match self.swaps.as_mut() {
                    Some(swaps) => swaps.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.sender.closed() => {
                    match self.feeds.upgrade() {
                        Some(feeds) if !feeds.leave(&self.key) => continue,
                        _ => return,
                    }
                }
                received = event => match received {
                    Ok(event) if !touches(&event.change, &area, year) => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        pending_since.get_or_insert_with(Instant::now);
                    }
                    Err(RecvError::Closed) => return,
                },
                swapped = swap => match swapped {
                    // A year's figures show whether last year's count was withheld.
                    Ok(swapped) if swapped != year && swapped != year - 1 => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        pending_since.get_or_insert_with(Instant::now);
                    }
                    Err(RecvError::Closed) => return,
                },
                () = wait => {
                    pending_since = None;
                    last_read = Some(Instant::now());
                    let FeedKey { area_code, groups, exact, .. } = &self.key;
                    let reading =
                        statistics::area_stats_for_class(&self.state, area_code.as_deref(), year, *groups, *exact)
                            .await
                            .map(|stats| stats.figures);
                    if let Some(feeds) = self.feeds.upgrade() {
                        feeds.count_read();
                    }
                    metrics::counter!(READS, "class" => class).increment(1);
                    self.sender.send_replace(Some(Arc::new(reading)));
                }
            }
        }
    }
}

/// Whether `change` may change the figures of area `key` ("" = the nation) in `year`.
fn touches(change: &Change, key: &str, year: i32) -> bool {
    match change {
        // A year's figures include the previous year's count (growth).
        Change::Stats { areas } => areas.iter().any(|(area, y)| (*y == year || *y == year - 1) && area == key),
        Change::Resync => true,
        Change::Payout { .. } => false,
    }
}
