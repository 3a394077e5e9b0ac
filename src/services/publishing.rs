//! Keeps the publication (the figures callers outside a scope read) close behind the summaries:
//! one refresher per server listens to the hub of committed changes, gathers the years they touch
//! for a second, recomputes those years (one computation at a time) and swaps the new
//! publications in while readers go on reading the old ones. Figure subscribers of the public
//! are told by the swap (`Publications::swaps`), not after a fixed delay.
//!
//! `--public-stats-refresh-secs` is the fallback: a publication older than that is recomputed
//! even when no notification said it changed (a notification can be lost with the listening
//! connection). With a refresh of 0 there is no refresher: a read recomputes the publication when
//! a change was committed since it was computed (`Publications::get`).
use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};

use crate::areas::Areas;
use crate::live::{Change, Event};
use crate::services::AppState;
use crate::stats::publication::Publications;

/// How long changes are gathered before the years they touch are recomputed: a burst of
/// mutations (an import, a clerk's morning) costs one computation per second, not one each.
pub const GATHER: Duration = Duration::from_secs(1);

/// Starts the refresher of this state's publications, once (a refresh of 0 needs none). A hub
/// that cannot listen yet (PostgreSQL away) leaves it for the next read to try again; the kept
/// publications are served meanwhile.
pub async fn start_refresher(state: &AppState) {
    let publications = &state.publications;
    if publications.refresh.is_zero() || publications.has_refresher() {
        return;
    }
    let events = match state.live.subscribe().await {
        Ok(events) => events,
        Err(err) => {
            tracing::warn!(?err, "the publication refresher cannot listen for changes yet");
            return;
        }
    };
    if publications.claim_refresher() {
        let refresher = Refresher {
            publications: Arc::downgrade(publications),
            db: state.db.clone(),
            areas: state.areas.clone(),
            events,
        };
        tokio::spawn(refresher.run());
    }
}

struct Refresher {
    /// Until the publications are replaced or dropped (tests replace them).
    publications: Weak<Publications>,
    db: DatabaseConnection,
    areas: Arc<Areas>,
    events: tokio::sync::broadcast::Receiver<Arc<Event>>,
}

impl Refresher {
    async fn run(mut self) {
        let Some(refresh) = self.publications.upgrade().map(|p| p.refresh) else { return };
        // Publications older than `refresh` are looked for a few times per refresh, so none is
        // served much longer than that without a notification.
        let mut expiry = tokio::time::interval((refresh / 4).max(GATHER));
        expiry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut dirty = BTreeSet::new();
        let mut since: Option<Instant> = None;
        loop {
            let due = async {
                match since {
                    Some(at) => tokio::time::sleep_until(at + GATHER).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = self.events.recv() => {
                    let Some(publications) = self.publications.upgrade() else { return };
                    match received {
                        Ok(event) => match &event.change {
                            // A year's publication holds last year's count too (growth).
                            Change::Stats { areas } => dirty.extend(areas.iter().flat_map(|(_, y)| [*y, *y + 1])),
                            Change::Resync => dirty.extend(publications.kept_years()),
                            Change::Payout { .. } => continue,
                        },
                        Err(RecvError::Lagged(_)) => dirty.extend(publications.kept_years()),
                        Err(RecvError::Closed) => return,
                    }
                    since.get_or_insert_with(Instant::now);
                }
                _ = expiry.tick() => {
                    let Some(publications) = self.publications.upgrade() else { return };
                    let expired = publications.expired_years();
                    if !expired.is_empty() {
                        dirty.extend(expired);
                        since.get_or_insert_with(Instant::now);
                    }
                }
                () = due => {
                    let Some(publications) = self.publications.upgrade() else { return };
                    let years: Vec<i32> = std::mem::take(&mut dirty).into_iter().collect();
                    since = None;
                    let started = std::time::Instant::now();
                    match publications.refresh_years(&self.db, &self.areas, &years).await {
                        Ok(swapped) if !swapped.is_empty() => {
                            tracing::debug!(?swapped, took = ?started.elapsed(), "publications recomputed");
                        }
                        Ok(_) => {}
                        Err(err) => {
                            tracing::warn!(?err, "the publication cannot be recomputed; retrying in a second");
                            dirty.extend(years);
                            since = Some(Instant::now());
                        }
                    }
                }
            }
        }
    }
}
