//! Change notifications for subscriptions: what committed mutations changed (a payout's status,
//! the figures of areas and years), delivered to every subscriber of every instance.
//!
//! On PostgreSQL a mutation's changes are sent with `pg_notify` once its transaction committed (a
//! rolled-back mutation sends nothing), to every session listening, so a change made on one
//! instance reaches the subscribers of all. Not inside the transaction: PostgreSQL takes a
//! database-wide lock for a transaction that notifies and holds it through the commit's WAL flush,
//! which made every write in the country commit one after another. Each instance sends one
//! NOTIFY at a time, carrying what its commits made meanwhile (`Outbox`). Each instance listens
//! on one dedicated connection, opened when its first subscriber arrives. On SQLite (one process)
//! the changes are broadcast in process, after the commit succeeded.
//!
//! What this gives up: an instance killed between a commit and its NOTIFY (a few milliseconds)
//! leaves the subscribers of other instances without that change until the next one in the same
//! area, and two instances' notifications may arrive out of commit order (a payout's older step is
//! then dropped: `PayoutSteps`).
//!
//! - `streams`: the subscription streams built on these events (scope, filters, coalescing).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, broadcast};

use crate::domain::payout_state;
use crate::domain::types::PayoutStatus;
use crate::entities::payout;
use crate::error::{AppError, AppResult};
use crate::stats::tally::Tally;

/// The PostgreSQL channel every instance listens on.
const CHANNEL: &str = "jaminan_changes";

/// How many events a subscriber may fall behind before it loses the oldest (see `streams`).
const BACKLOG: usize = 4096;

/// Areas and years per notification: a payload must stay under PostgreSQL's 8,000 bytes, and an
/// entry takes at most 20 ("[\"36.03.01\",2026],").
const AREAS_PER_NOTIFICATION: usize = 300;

/// How far before the listener last heard from PostgreSQL changes are looked up again after a
/// lost connection: notifications already sent but not yet read, and the clocks of other
/// instances (which stamp the payouts).
const MISSED_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How many times a NOTIFY is tried, a second apart, before its changes are given up (logged):
/// a database lost for that long has cut the listeners too, which look again when they reconnect.
const NOTIFY_ATTEMPTS: u32 = 60;

/// Payouts whose last step heard of is kept (`PayoutSteps`), in each of two generations.
const PAYOUTS_REMEMBERED: usize = 50_000;

/// Payouts sent again after a reconnection, at most (the most recent): more would only push the
/// subscribers past their backlog.
const MISSED_PAYOUTS: u64 = BACKLOG as u64 / 2;

/// One committed change, as sent between instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    /// A payout was submitted or moved to `status`; `regency_code` pays it (and scopes it).
    Payout { id: i64, regency_code: String, status: PayoutStatus },
    /// The figures of these areas ("" = the nation) changed in these years.
    Stats { areas: Vec<(String, i32)> },
    /// Changes may have been missed (the listening connection was lost and re-established):
    /// every subscriber should look again.
    Resync,
}

impl Change {
    /// The payout reached its current status.
    fn of_payout(row: &payout::Model) -> Change {
        Change::Payout { id: row.id, regency_code: row.regency_code.clone(), status: row.status }
    }
}

/// A change as subscribers receive it, with what they load about it loaded once for all of them.
#[derive(Debug)]
pub struct Event {
    pub change: Change,
    payout: OnceCell<Option<payout::Model>>,
}

impl Event {
    fn new(change: Change) -> Arc<Event> {
        Arc::new(Event { change, payout: OnceCell::new() })
    }

    /// A payout change with the payout already read.
    fn loaded(change: Change, row: payout::Model) -> Arc<Event> {
        Arc::new(Event { change, payout: OnceCell::new_with(Some(Some(row))) })
    }

    /// The payout this event is about, as it was when it reached the event's status (loaded by
    /// the first subscriber that asks: by then it may have moved on).
    pub async fn payout(&self, db: &DatabaseConnection) -> AppResult<Option<&payout::Model>> {
        let Change::Payout { id, status, .. } = self.change else { return Ok(None) };
        let row = self
            .payout
            .get_or_try_init(|| async {
                let now = payout::Entity::find_by_id(id).one(db).await?;
                Ok::<_, DbErr>(now.map(|row| row.as_of(status)))
            })
            .await?;
        Ok(row.as_ref())
    }
}

/// What a mutation changed, collected while it runs and sent when it commits.
#[derive(Debug, Default)]
pub struct Changes {
    payouts: Vec<Change>,
    areas: BTreeSet<(String, i32)>,
}

impl Changes {
    /// The areas and years whose figures `tally` changes.
    pub fn stats(tally: &Tally) -> Changes {
        let totals = tally.totals.keys().map(|(area, year)| (area, year));
        let occupations = tally.occupations.keys().map(|(area, year, _)| (area, year));
        let areas = totals.chain(occupations).map(|(area, year)| (area.as_str().to_owned(), *year)).collect();
        Changes { payouts: Vec::new(), areas }
    }

    /// A payout submitted or moved to a new status.
    pub fn payout(mut self, row: &payout::Model) -> Changes {
        self.payouts.push(Change::of_payout(row));
        self
    }

    fn into_list(self) -> Vec<Change> {
        let areas: Vec<(String, i32)> = self.areas.into_iter().collect();
        let stats = areas.chunks(AREAS_PER_NOTIFICATION).map(|chunk| Change::Stats { areas: chunk.to_vec() });
        self.payouts.into_iter().chain(stats).collect()
    }
}

/// Notifications committed but not yet sent, and whether a task is sending them: one NOTIFY at a
/// time per instance, with everything that waited meanwhile (as PostgreSQL flushes commits as a
/// group). The mutation does not wait for it: a NOTIFY held up by an unreachable database must
/// not hold up the answer to a change already committed.
#[derive(Default)]
struct Outbox {
    /// In the order of the commits as this instance saw them.
    pending: Mutex<Vec<String>>,
    /// True while a task sends; it stays until the outbox is empty.
    sending: AtomicBool,
    /// Told when the sending task finds the outbox empty and ends (`flush`).
    emptied: tokio::sync::Notify,
}

impl Outbox {
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The step of the workflow each payout was last delivered at, so that an older step that
/// arrives later is dropped rather than shown as the payout's state. Bounded: two generations,
/// the older forgotten when the newer fills.
#[derive(Default)]
struct PayoutSteps {
    recent: HashMap<i64, u8>,
    older: HashMap<i64, u8>,
}

impl PayoutSteps {
    /// Whether a payout at `status` is news (then remembered), not a step already passed.
    fn is_news(&mut self, id: i64, status: PayoutStatus) -> bool {
        let step = payout_state::step(status);
        let known = self.recent.get(&id).or_else(|| self.older.get(&id));
        if known.is_some_and(|&known| known >= step) {
            return false;
        }
        if self.recent.len() >= PAYOUTS_REMEMBERED {
            self.older = std::mem::take(&mut self.recent);
        }
        self.recent.insert(id, step);
        true
    }
}

/// The hub of one instance: commits with notifications, and hands out subscriptions.
pub struct Live {
    db: DatabaseConnection,
    /// Where to LISTEN when it cannot go through the pool (the pool's URL points at PgBouncer in
    /// transaction mode, where a session's LISTEN is lost between transactions).
    listen_url: Option<String>,
    sender: broadcast::Sender<Arc<Event>>,
    /// Set once this instance listens (PostgreSQL; SQLite needs no listener).
    listening: OnceCell<()>,
    /// Subscriptions open on this hub (`subscribers`).
    open: std::sync::atomic::AtomicUsize,
    /// Committed changes to figures this instance has heard of (`figure_changes`).
    figure_changes: AtomicU64,
    outbox: Outbox,
    payout_steps: Mutex<PayoutSteps>,
}

impl Live {
    pub fn new(db: DatabaseConnection) -> Arc<Live> {
        Live::listening_at(db, None)
    }

    /// A hub that listens on its own connection to `listen_url` (None: a connection like the
    /// pool's).
    pub fn listening_at(db: DatabaseConnection, listen_url: Option<String>) -> Arc<Live> {
        let (sender, _) = broadcast::channel(BACKLOG);
        Arc::new(Live {
            db,
            listen_url,
            sender,
            listening: OnceCell::new(),
            open: Default::default(),
            figure_changes: AtomicU64::new(0),
            outbox: Outbox::default(),
            payout_steps: Mutex::default(),
        })
    }

    /// Commits `txn` and tells every subscriber, of every instance, about `changes`, once the
    /// commit succeeded: on SQLite before this returns, on PostgreSQL by a NOTIFY sent next.
    pub async fn commit(self: &Arc<Self>, txn: DatabaseTransaction, changes: Changes) -> Result<(), DbErr> {
        let backend = txn.get_database_backend();
        let changes = changes.into_list();
        let figures_changed = changes.iter().any(|c| matches!(c, Change::Stats { .. }));
        let payloads = match backend {
            DbBackend::Postgres => changes
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| DbErr::Custom(e.to_string()))?,
            _ => Vec::new(),
        };
        // On a task of its own, which runs on when the caller is dropped: a request whose client
        // goes away is dropped at its next await, and one dropped once its COMMIT was sent left a
        // committed change that no subscriber, and no publication, ever heard of.
        let live = Arc::clone(self);
        let committing = tokio::spawn(async move {
            txn.commit().await?;
            // Counted here as well as when the notification comes back: a read right after this
            // commit must not be answered from a publication computed before it.
            if figures_changed {
                live.figure_changes.fetch_add(1, Ordering::SeqCst);
            }
            if backend == DbBackend::Postgres {
                live.announce(payloads);
            } else {
                for change in changes {
                    live.deliver(Event::new(change));
                }
            }
            Ok(())
        });
        committing.await.map_err(|e| DbErr::Custom(format!("the commit's task ended early: {e}")))?
    }

    /// Puts committed changes in the outbox, and starts a task that sends it unless one is at work
    /// (it sends these with the next batch).
    fn announce(self: &Arc<Self>, payloads: Vec<String>) {
        if payloads.is_empty() {
            return;
        }
        self.outbox.pending().extend(payloads);
        if !self.outbox.sending.swap(true, Ordering::SeqCst) {
            tokio::spawn(Arc::clone(self).send_outbox());
        }
    }

    /// Sends the outbox until it is empty, each time everything in it in one NOTIFY.
    async fn send_outbox(self: Arc<Self>) {
        let mut attempts = 0;
        loop {
            let batch = std::mem::take(&mut *self.outbox.pending());
            if batch.is_empty() {
                self.outbox.sending.store(false, Ordering::SeqCst);
                // A commit may have filled the outbox after it was found empty and before the
                // flag fell (and seen the flag still up): then this task goes on.
                let refilled = !self.outbox.pending().is_empty();
                if refilled && !self.outbox.sending.swap(true, Ordering::SeqCst) {
                    continue;
                }
                self.outbox.emptied.notify_waiters();
                return;
            }
            // In the array's order: the order of the commits as this instance saw them.
            let notify = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, payload) FROM json_array_elements_text($2::json) AS payload",
                [CHANNEL.into(), serde_json::Value::from(batch.clone()).to_string().into()],
            );
            match self.db.execute_raw(notify).await {
                Ok(_) => attempts = 0,
                Err(err) => {
                    attempts += 1;
                    if attempts >= NOTIFY_ATTEMPTS {
                        tracing::error!(%err, changes = batch.len(), "change notifications given up");
                        attempts = 0;
                        continue;
                    }
                    if attempts == 1 {
                        tracing::warn!(%err, changes = batch.len(), "change notifications not sent; retrying every second");
                    }
                    {
                        let mut pending = self.outbox.pending();
                        let later = std::mem::replace(&mut *pending, batch);
                        pending.extend(later);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Waits until the committed changes are sent, at most `limit` (at shutdown, after the
    /// drain, so that the last changes reach the other instances).
    pub async fn flush(&self, limit: Duration) {
        let sent = async {
            loop {
                // Registered before the flag is read, so that an end in between is not missed.
                let emptied = self.outbox.emptied.notified();
                tokio::pin!(emptied);
                emptied.as_mut().enable();
                if !self.outbox.sending.load(Ordering::SeqCst) {
                    return;
                }
                emptied.await;
            }
        };
        let _ = tokio::time::timeout(limit, sent).await;
    }

    /// A new connection listening on the channel.
    async fn listener(&self) -> Result<PgListener, sea_orm::sqlx::Error> {
        let mut listener = match &self.listen_url {
            Some(url) => PgListener::connect(url).await?,
            None => PgListener::connect_with(self.db.get_postgres_connection_pool()).await?,
        };
        // A lost connection is replaced by a new listener (`listen`), not re-established inside
        // this one, which would hold a second connection meanwhile.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Sends again what may have been missed since `since`: the payouts changed since then, in
    /// their current state (a step in between may be skipped), and `Resync` for the figures.
    async fn make_up_for(&self, since: chrono::DateTime<chrono::Utc>) -> Result<(), DbErr> {
        use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
        let changed = Condition::any()
            .add(payout::Column::SubmittedAt.gte(since))
            .add(payout::Column::VerifiedAt.gte(since))
            .add(payout::Column::ApprovedAt.gte(since))
            .add(payout::Column::PaidAt.gte(since))
            .add(payout::Column::RejectedAt.gte(since));
        let payouts = payout::Entity::find()
            .filter(changed)
            .order_by_desc(payout::Column::Id)
            .limit(MISSED_PAYOUTS)
            .all(&self.db)
            .await?;
        if payouts.len() as u64 == MISSED_PAYOUTS {
            tracing::warn!(count = MISSED_PAYOUTS, "more payouts changed while disconnected than are sent again");
        }
        for row in payouts.into_iter().rev() {
            self.deliver(Event::loaded(Change::of_payout(&row), row));
        }
        self.relay(Event::new(Change::Resync));
        Ok(())
    }

    /// A receiver of every change committed from now on. The first subscriber of a PostgreSQL
    /// instance opens the listening connection and waits until it listens, so nothing committed
    /// after this returns is missed.
    pub async fn subscribe(self: &Arc<Self>) -> AppResult<broadcast::Receiver<Arc<Event>>> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            self.listening
                .get_or_try_init(|| async {
                    tokio::spawn(listen(Arc::downgrade(self), self.listener().await?));
                    Ok::<(), sea_orm::sqlx::Error>(())
                })
                .await
                .map_err(|err| AppError::from(crate::db::sqlx_error(err)))?;
        }
        Ok(self.sender.subscribe())
    }

    /// A number that grows with every committed change to figures this instance knows of: its own
    /// commits at once, other instances' when their notifications arrive. None while a PostgreSQL
    /// instance does not listen (it cannot know of other instances' changes).
    pub fn figure_changes(&self) -> Option<u64> {
        let listening = self.db.get_database_backend() != DbBackend::Postgres || self.listening.initialized();
        listening.then(|| self.figure_changes.load(Ordering::SeqCst))
    }

    /// Sends a change heard from another instance (or `Resync`) to this instance's subscribers.
    fn relay(&self, event: Arc<Event>) {
        if !matches!(event.change, Change::Payout { .. }) {
            self.figure_changes.fetch_add(1, Ordering::SeqCst);
        }
        self.deliver(event);
    }

    /// Hands `event` to this instance's subscribers, unless it is a payout's step already passed.
    fn deliver(&self, event: Arc<Event>) {
        if let Change::Payout { id, status, .. } = event.change {
            let mut steps = self.payout_steps.lock().unwrap_or_else(PoisonError::into_inner);
            if !steps.is_news(id, status) {
                tracing::debug!(id, ?status, "dropping a payout step already passed");
                return;
            }
        }
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    /// The subscriptions open on this instance, each past its first read: changes committed now
    /// are sent to them (what tests wait for instead of sleeping).
    pub fn subscribers(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts a subscription as open (`subscribers`), until `closed`.
    pub fn opened(&self) {
        self.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn closed(&self) {
        self.open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Forwards notifications to this instance's subscribers until the hub is gone or its database
/// closed. Notifications sent while the connection is lost never arrive: once a new listening
/// connection is open, the payouts changed meanwhile are sent again from the database (each in
/// its current state) and figure subscribers are told to look again (`Change::Resync`).
///
/// "Meanwhile" starts when the listener last heard anything (a notification, or the start of
/// listening), not when the loss was noticed: a connection cut silently (no reset) may be noticed
/// much later. On a quiet system that reaches further back, and re-sends more, which is cheap
/// when little changes.
async fn listen(live: Weak<Live>, mut listener: PgListener) {
    // Since when notifications may have been missed (a lost connection not yet made up for).
    let mut missed_since: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut last_heard = chrono::Utc::now();
    loop {
        if let Some(since) = missed_since {
            let Some(hub) = live.upgrade() else { return };
            // A new listener rather than the old one's reconnection (a connection that failed in
            // some ways stays broken inside it). It listens before the database is read again,
            // so that nothing falls between the two.
            match hub.listener().await {
                Ok(new) => {
                    listener = new;
                    last_heard = chrono::Utc::now();
                    match hub.make_up_for(since).await {
                        Ok(()) => missed_since = None,
                        Err(err) => tracing::warn!(%err, "changes missed by the listener cannot be read yet"),
                    }
                }
                Err(sea_orm::sqlx::Error::PoolClosed) => return,
                Err(err) => tracing::warn!(%err, "the change listener cannot reconnect; retrying in 1 s"),
            }
            if missed_since.is_some() {
                drop(hub);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        let received = listener.try_recv().await;
        let Some(hub) = live.upgrade() else { return };
        match received {
            Ok(Some(notification)) => {
                last_heard = chrono::Utc::now();
                match serde_json::from_str::<Change>(notification.payload()) {
                    Ok(change) => hub.relay(Event::new(change)),
                    Err(err) => tracing::warn!(%err, "ignoring a change notification that cannot be read"),
                }
            }
            Ok(None) => {
                tracing::warn!("the change listener lost its connection; changes made meanwhile are sent again");
                missed_since = Some(last_heard - MISSED_MARGIN);
            }
            Err(sea_orm::sqlx::Error::PoolClosed) => return,
            Err(err) => {
                tracing::warn!(%err, "the change listener lost its connection; reconnecting");
                missed_since = Some(last_heard - MISSED_MARGIN);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PayoutStatus::*;

    #[test]
    fn a_payout_step_already_passed_is_not_news() {
        let mut steps = PayoutSteps::default();
        assert!(steps.is_news(7, Submitted));
        assert!(steps.is_news(7, Approved), "a step may be skipped (heard again after a reconnection)");
        assert!(!steps.is_news(7, Verified), "an older step arriving late");
        assert!(!steps.is_news(7, Approved), "the same step twice");
        assert!(steps.is_news(8, Verified), "another payout");
        assert!(steps.is_news(7, Rejected) ^ steps.is_news(7, Paid), "the end is reached once");
    }

    #[test]
    fn payout_steps_are_remembered_for_at_least_the_last_generation() {
        let mut steps = PayoutSteps::default();
        for id in 0..(PAYOUTS_REMEMBERED as i64 * 3 / 2) {
            assert!(steps.is_news(id, Verified));
        }
        assert!(steps.recent.len() + steps.older.len() <= 2 * PAYOUTS_REMEMBERED);
        let last = PAYOUTS_REMEMBERED as i64 * 3 / 2 - 1;
        for id in (last - PAYOUTS_REMEMBERED as i64 + 1)..=last {
            assert!(!steps.is_news(id, Submitted), "payout {id} forgotten too early");
        }
    }
}
