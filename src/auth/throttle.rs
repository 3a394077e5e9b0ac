//! Rate limits: budgets that keep one key or one client address from flooding the server or
//! turning an answer the server must give into a search. Counted with a GCRA, which refills
//! steadily rather than in hourly steps: in memory (governor's, per instance), or, with
//! `--redis-url`, in Redis for every instance at once (`shared_budgets`), falling back to memory
//! while Redis does not answer.
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::shared_budgets::{Budget, Place, SharedBudgets, Taken, Unavailable};
use crate::config::RateLimits;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

pub struct Throttle {
    limits: RateLimits,
    /// The budgets all instances share, when configured; the fields below count while it is
    /// absent or Redis does not answer.
    shared: Option<Arc<SharedBudgets>>,
    clock: DefaultClock,
    /// Refusals that tell a key about a worker or payout it cannot see (a NIK or membership number
    /// registered elsewhere, a death benefit submitted under another regency), per key.
    probes: DefaultKeyedRateLimiter<i64>,
    /// Keys whose probe budget ran out, until when it holds one probe again.
    probes_spent: Mutex<HashMap<i64, Instant>>,
    keys: DefaultKeyedRateLimiter<i64>,
    anonymous: DefaultKeyedRateLimiter<IpAddr>,
    failed_keys: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose failed-key budget is spent, until when: a key from them that the server
    /// does not hold in memory is refused unchecked, so that guessing cannot go on at the speed of
    /// the answers (nor make the server look each guess up); valid keys, held in memory, pass.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// WebSocket connections open now, per holder, and how many one may hold.
    websockets: Mutex<HashMap<Holder, u32>>,
    websockets_per_caller: u32,
    /// WebSockets accepted and not yet initialized, in all, and how many may be.
    pending_websockets: AtomicU32,
    max_pending_websockets: u32,
    pub trusted_proxies: Vec<IpAddr>,
}

/// Who holds a WebSocket connection: a key, or a client address without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    Key(i64),
    Address(IpAddr),
    /// Sockets of a client address that have not sent `connection_init` yet (counted apart from
    /// its connections without a key, so that those never keep a colleague's key out).
    Pending(IpAddr),
}

impl Holder {
    /// Its name among the shared WebSocket places.
    fn shared_name(&self) -> String {
        match self {
            Holder::Key(id) => format!("key:{id}"),
            Holder::Address(address) => format!("address:{address}"),
            Holder::Pending(address) => format!("pending:{address}"),
        }
    }
}

/// One of a holder's WebSocket connections, counted until it is dropped (with the connection),
/// where it was counted: in memory, or in Redis.
pub struct OpenWebSocket {
    throttle: Arc<Throttle>,
    counted: Counted,
}

enum Counted {
    Here(Holder),
    Shared(Place),
}

/// A WebSocket accepted before its `connection_init`: one of the pending ones in all, and of its
/// client address (None without one). Dropped at `connection_init`.
pub struct PendingWebSocket {
    throttle: Arc<Throttle>,
    _address: Option<OpenWebSocket>,
}

impl Drop for PendingWebSocket {
    fn drop(&mut self) {
        self.throttle.pending_websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for OpenWebSocket {
    fn drop(&mut self) {
        let holder = match &self.counted {
            Counted::Here(holder) => *holder,
            Counted::Shared(place) => {
                if let Some(shared) = &self.throttle.shared {
                    shared.release(place.clone());
                }
                return;
            }
        };
        let mut open = self.throttle.websockets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&holder) {
            *n -= 1;
            if *n == 0 {
                open.remove(&holder);
            }
        }
    }
}

impl Throttle {
    /// Budgets counted in memory, for this instance alone.
    pub fn new(limits: &RateLimits) -> Throttle {
        Throttle {
            limits: limits.clone(),
            shared: None,
            clock: DefaultClock::default(),
            probes: DefaultKeyedRateLimiter::keyed(per_hour(limits.probes_per_hour)),
            probes_spent: Mutex::default(),
            keys: DefaultKeyedRateLimiter::keyed(per_minute(limits.key_requests_per_minute)),
            anonymous: DefaultKeyedRateLimiter::keyed(per_minute(limits.anonymous_requests_per_minute)),
            failed_keys: DefaultKeyedRateLimiter::keyed(per_hour(limits.failed_keys_per_hour)),
            blocked: Mutex::default(),
            websockets: Mutex::default(),
            websockets_per_caller: limits.websockets_per_caller,
            pending_websockets: AtomicU32::new(0),
            max_pending_websockets: limits.pending_websockets,
            trusted_proxies: limits.trusted_proxies.clone(),
        }
    }

    /// Budgets shared by every instance through `shared`, in memory while it does not answer.
    pub fn shared(limits: &RateLimits, shared: Arc<SharedBudgets>) -> Throttle {
        Throttle { shared: Some(shared), ..Throttle::new(limits) }
    }

    /// None without `--redis-url`; else whether the budgets are shared right now.
    pub fn shared_available(&self) -> Option<bool> {
        self.shared.as_ref().map(|shared| shared.available())
    }

    /// Spends `cost` of `budget` in Redis; None when it is not there (count in memory).
    async fn take_shared(&self, budget: Budget, id: &str, cost: u32, marker: Option<&str>) -> Option<Taken> {
        let shared = self.shared.as_ref()?;
        shared.take(budget, id, cost, marker).await.ok()
    }

    /// How long the shared `marker` holds for `id`, or None when it is not there (ask memory).
    async fn refused_shared(&self, marker: &str, kind: &str, id: &str) -> Option<Option<Duration>> {
        let shared = self.shared.as_ref()?;
        shared.refused_for(marker, kind, id).await.ok()
    }

    fn probe_budget(&self) -> Budget {
        Budget { kind: "probes", limit: self.limits.probes_per_hour, period: HOUR }
    }

    /// Counts one revealing refusal for the key; RATE_LIMITED once its budget is spent.
    pub async fn probe(&self, key_id: i64) -> AppResult<()> {
        self.probes(key_id, 1).await
    }

    /// Counts `n` revealing refusals at once (the rows of one import), all or none: RATE_LIMITED
    /// when the budget cannot hold them all, and the key's budget is then held as spent.
    pub async fn probes(&self, key_id: i64, n: usize) -> AppResult<()> {
        let Some(n) = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)) else { return Ok(()) };
        match self.take_shared(self.probe_budget(), &key_id.to_string(), n.get(), Some(SPENT)).await {
            Some(Taken::Allowed) => return Ok(()),
            Some(Taken::Wait(wait)) => return Err(AppError::rate_limited(Msg::TooManyProbes, wait)),
            None => {}
        }
        let wait = match self.probes.check_key_n(&key_id, n) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(not_until)) => not_until.wait_time_from(self.clock.now()),
            // More than a whole budget: not before it has refilled, and not then either.
            Err(_) => HOUR,
        };
        let mut spent = self.probes_spent.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        spent.retain(|_, until| *until > now);
        spent.insert(key_id, now + wait);
        Err(AppError::rate_limited(Msg::TooManyProbes, wait))
    }

    /// RATE_LIMITED while the key's probe budget is spent. A real import asks first: refused only
    /// when it met a hidden worker, its answer would say whether it had, free of charge.
    pub async fn check_probes_left(&self, key_id: i64) -> AppResult<()> {
        match self.refused_shared(SPENT, "probes", &key_id.to_string()).await {
            Some(Some(wait)) => return Err(AppError::rate_limited(Msg::TooManyProbes, wait)),
            Some(None) => return Ok(()),
            None => {}
        }
        let spent = self.probes_spent.lock().unwrap_or_else(|e| e.into_inner());
        match spent.get(&key_id) {
            Some(&until) if until > Instant::now() => {
                Err(AppError::rate_limited(Msg::TooManyProbes, until - Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// Counts one request of a key.
    pub async fn key_request(&self, key_id: i64) -> AppResult<()> {
        let budget = Budget { kind: "key", limit: self.limits.key_requests_per_minute, period: MINUTE };
        match self.take_shared(budget, &key_id.to_string(), 1, None).await {
            Some(taken) => refused_when_waiting(taken, Msg::TooManyKeyRequests),
            None => self.count(&self.keys, &key_id, Msg::TooManyKeyRequests),
        }
    }

    /// Counts one request without a key from this address.
    pub async fn anonymous_request(&self, address: IpAddr) -> AppResult<()> {
        let budget = Budget { kind: "anonymous", limit: self.limits.anonymous_requests_per_minute, period: MINUTE };
        match self.take_shared(budget, &address.to_string(), 1, None).await {
            Some(taken) => refused_when_waiting(taken, Msg::TooManyAnonymousRequests),
            None => self.count(&self.anonymous, &address, Msg::TooManyAnonymousRequests),
        }
    }

    /// RATE_LIMITED while the address may not present unknown keys.
    pub async fn check_not_blocked(&self, address: IpAddr) -> AppResult<()> {
        match self.refused_shared(BLOCKED, "failed-keys", &address.to_string()).await {
            Some(Some(wait)) => return Err(AppError::rate_limited(FAILED_KEYS, wait)),
            Some(None) => return Ok(()),
            None => {}
        }
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match blocked.get(&address).copied() {
            Some(until) if until > now => Err(AppError::rate_limited(FAILED_KEYS, until - now)),
            Some(_) => {
                blocked.remove(&address);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a wrong or revoked key from this address; once the budget is spent the address is
    /// blocked until one more failure would fit, and this failure is answered RATE_LIMITED.
    pub async fn failed_key(&self, address: IpAddr) -> AppResult<()> {
        let budget = Budget { kind: "failed-keys", limit: self.limits.failed_keys_per_hour, period: HOUR };
        if let Some(taken) = self.take_shared(budget, &address.to_string(), 1, Some(BLOCKED)).await {
            return refused_when_waiting(taken, FAILED_KEYS);
        }
        self.failed_keys.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            // Pruned here, on the rare path, rather than on every request with a key.
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            blocked.insert(address, now + wait);
            AppError::rate_limited(FAILED_KEYS, wait)
        })
    }

    /// Counts a WebSocket connection of `holder` while the result lives; RATE_LIMITED when the
    /// holder has all it may hold open (a connection is long-lived: the request budgets, counted
    /// per connection_init, do not bound how many stay open).
    pub async fn open_websocket(self: &Arc<Self>, holder: Holder) -> AppResult<OpenWebSocket> {
        let max = self.websockets_per_caller;
        // Free again when one of them closes: a client should retry after a while.
        let refused = || AppError::rate_limited(Msg::TooManyConnections { max }, Duration::from_secs(1));
        if let Some(shared) = &self.shared {
            match shared.take_place(&holder.shared_name(), max).await {
                Ok(Some(place)) => {
                    return Ok(OpenWebSocket { throttle: self.clone(), counted: Counted::Shared(place) });
                }
                Ok(None) => return Err(refused()),
                Err(Unavailable) => {}
            }
        }
        let mut open = self.websockets.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.get(&holder).copied().unwrap_or(0);
        if n >= max {
            return Err(refused());
        }
        open.insert(holder, n + 1);
        Ok(OpenWebSocket { throttle: self.clone(), counted: Counted::Here(holder) })
    }

    /// Admits a WebSocket before it says who it is, within the pending sockets in all and those of
    /// its client address (as many as it may hold open without a key). RATE_LIMITED otherwise:
    /// 300 sockets that never sent connection_init were each held for the whole wait. The pending
    /// sockets in all are this instance's own even with shared budgets: they guard its file
    /// descriptors.
    pub async fn admit_websocket(self: &Arc<Self>, address: Option<IpAddr>) -> AppResult<PendingWebSocket> {
        let max = self.max_pending_websockets;
        let admitted =
            self.pending_websockets.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1));
        if admitted.is_err() {
            return Err(AppError::rate_limited(Msg::TooManyPendingConnections, Duration::from_secs(1)));
        }
        // From here the pending count is released on every path, by the guard's drop.
        let mut pending = PendingWebSocket { throttle: self.clone(), _address: None };
        if let Some(address) = address {
            pending._address = Some(self.open_websocket(Holder::Pending(address)).await?);
        }
        Ok(pending)
    }

    fn count<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        message: Msg,
    ) -> AppResult<()> {
        limiter
            .check_key(key)
            .map_err(|not_until| AppError::rate_limited(message, not_until.wait_time_from(self.clock.now())))
    }
}

const FAILED_KEYS: Msg = Msg::TooManyWrongKeys;
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);
/// The shared markers of a refusal: a spent budget (probes), an address blocked from presenting
/// unknown keys.
const SPENT: &str = "spent";
const BLOCKED: &str = "blocked";

fn refused_when_waiting(taken: Taken, message: Msg) -> AppResult<()> {
    match taken {
        Taken::Allowed => Ok(()),
        Taken::Wait(wait) => Err(AppError::rate_limited(message, wait)),
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(&RateLimits::default())
    }
}

/// `n` per hour, refilled steadily, all of them available at once.
fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// The client's address: the connection's, or, when the connection comes from a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy itself.
pub fn client_address(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops = forwarded_for.unwrap_or_default().split(',').rev().map(str::trim);
    for hop in hops {
        match hop.parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => continue,
            Ok(address) => return Some(address),
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}
