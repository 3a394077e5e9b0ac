//! The feeds running on one server, by what their subscribers share (held in `AppState`, so
//! without the state's own types).
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::error::AppResult;
use crate::stats::{FigureGroups, Figures};

/// The latest figures a feed read (None before the first change).
pub type Reading = Option<Arc<AppResult<Figures>>>;

/// What the subscribers of one feed share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub area_code: Option<String>,
    pub year: i32,
    pub groups: FigureGroups,
    /// Keys whose scope holds the area (exact figures), or everyone else (the publication).
    pub exact: bool,
}

/// The feeds of one server.
#[derive(Default)]
pub struct FigureFeeds {
    feeds: Mutex<HashMap<FeedKey, watch::Sender<Reading>>>,
    reads: AtomicU64,
}

impl FigureFeeds {
    /// The readings of a running feed.
    pub(super) fn joined(&self, key: &FeedKey) -> Option<watch::Receiver<Reading>> {
        self.lock().get(key).map(watch::Sender::subscribe)
    }

    /// The readings of a running feed, or of a new one with the sender its runner is to use.
    pub(super) fn join_or_start(&self, key: &FeedKey) -> (watch::Receiver<Reading>, Option<watch::Sender<Reading>>) {
        let mut feeds = self.lock();
        if let Some(feed) = feeds.get(key) {
            return (feed.subscribe(), None);
        }
        let (sender, receiver) = watch::channel(None);
        feeds.insert(key.clone(), sender.clone());
        (receiver, Some(sender))
    }

    /// Ends the feed if nobody subscribes to it any more (under the lock `join_or_start` takes, so
    /// a subscriber joining now is not left with a feed that stopped).
    pub(super) fn leave(&self, key: &FeedKey) -> bool {
        let mut feeds = self.lock();
        let unused = feeds.get(key).is_none_or(|sender| sender.receiver_count() == 0);
        if unused {
            feeds.remove(key);
        }
        unused
    }

    /// Counts one reading (what `reads` returns).
    pub(super) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }

    /// Figures read by the feeds of this server since it started.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Feeds running now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FeedKey, watch::Sender<Reading>>> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
