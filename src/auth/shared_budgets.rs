//! Budgets shared by every instance through Redis (`--redis-url`): the same GCRA as the
//! in-memory budgets (burst = the whole budget, steady refill), one Lua script per check so that
//! a check is one atomic round trip; and WebSocket places as sorted sets of connection ids whose
//! scores are heartbeats, so that the places of a killed instance free themselves.
//!
//! Redis is a help, not a dependency: every call waits at most `CALL_TIMEOUT`, and a failure
//! drops the connection, so that `Throttle` counts in memory until the keeper (a task pinging
//! every `KEEPER_INTERVAL`) has a connection that answers again.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Client, Script};

use crate::observability::metrics::SHARED_BUDGETS_AVAILABLE;

/// The longest a check waits for Redis before this instance counts on its own.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How often the keeper pings (or reconnects): an outage and a recovery are noticed within it.
const KEEPER_INTERVAL: Duration = Duration::from_millis(500);
/// A WebSocket place not renewed for this long is free (its instance was killed or cut off).
const SOCKET_TTL: Duration = Duration::from_secs(30);
/// How often this instance renews the places of its open WebSockets (a third of their life).
const HEARTBEAT_EVERY: u32 = 20;

/// GCRA over one key, in Redis's own clock (instances' clocks may differ). KEYS[1]: the theoretical
/// arrival time in µs; KEYS[2], if given: a marker set while the budget is refused (spent probes,
/// a blocked address). ARGV: the emission interval in µs, the burst, the cost. Returns 0 when allowed, else
/// the µs to wait (-1: the cost exceeds the whole budget). Numbers pass through `%.0f`: Lua's own
/// conversion writes 16-digit µs in exponent form.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit = interval * burst
if cost > burst then
  if KEYS[2] then redis.call('SET', KEYS[2], '1', 'PX', string.format('%.0f', math.ceil(limit / 1000))) end
  return -1
end
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local wait = new_tat - limit - now
if wait > 0 then
  if KEYS[2] then redis.call('SET', KEYS[2], '1', 'PX', string.format('%.0f', math.ceil(wait / 1000))) end
  return wait
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000) + 1))
return 0
";

/// Takes a WebSocket place. KEYS[1]: the holder's sorted set; ARGV: the connection id, the most
/// places, their life in ms. 1 when taken, 0 when all are held.
const TAKE_PLACE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - ttl))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
";

/// Renews places: KEYS[i] holds ARGV[i+1]; ARGV[1] is their life in ms. Re-adds a place that is
/// gone (Redis restarted empty), so that the holder's count is right again.
const RENEW_PLACES: &str = r"
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[i + 1])
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS
";

/// One budget: its name in Redis, and `limit` per `period`, all of it at once.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub kind: &'static str,
    pub limit: u32,
    pub period: Duration,
}

/// What a check answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Allowed,
    /// Refused; one more fits after this long.
    Wait(Duration),
}

/// Redis did not answer (in time): count in memory this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// A WebSocket place held in Redis: `key` holds `member` until released or expired.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    key: String,
    member: String,
}

pub struct SharedBudgets {
    client: Client,
    /// None while Redis does not answer: every check then counts in memory.
    connection: Mutex<Option<MultiplexedConnection>>,
    prefix: String,
    gcra: Script,
    take_place: Script,
    renew_places: Script,
    /// The places this instance holds now, renewed by the keeper.
    places: Mutex<HashMap<String, String>>,
    /// This process's connection ids: a random instance id and a counter.
    instance: String,
    next_socket: AtomicU64,
}

impl SharedBudgets {
    /// Budgets in the Redis at `url`, under `prefix`; the connection is made (and remade) by a
    /// keeper task, so an instance starts, counting in memory, while Redis is away. Err: the URL.
    pub fn start(url: &str, prefix: &str) -> Result<Arc<SharedBudgets>, String> {
        let client = Client::open(url).map_err(|e| e.to_string())?;
        let shared = Arc::new(SharedBudgets {
            client,
            connection: Mutex::new(None),
            prefix: prefix.to_owned(),
            gcra: Script::new(GCRA),
            take_place: Script::new(TAKE_PLACE),
            renew_places: Script::new(RENEW_PLACES),
            places: Mutex::default(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            next_socket: AtomicU64::new(0),
        });
        // The recorder first: a gauge set before it is installed would be lost.
        crate::observability::metrics::handle();
        ::metrics::gauge!(SHARED_BUDGETS_AVAILABLE).set(0.0);
        tokio::spawn(keep(Arc::downgrade(&shared)));
        Ok(shared)
    }

    /// Whether the budgets are shared right now (for /readyz).
    pub fn available(&self) -> bool {
        self.connection.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Spends `cost` of `budget` for `id`; a refusal also sets the `marker`, if any, for `id`
    /// (read by `refused_for`) for as long as it holds.
    pub async fn take(&self, budget: Budget, id: &str, cost: u32, marker: Option<&str>) -> Result<Taken, Unavailable> {
        let interval = (budget.period.as_micros() / u128::from(budget.limit.max(1))).max(1);
        let mut invocation = self.gcra.prepare_invoke();
        invocation.key(self.key("budget", budget.kind, id));
        if let Some(marker) = marker {
            invocation.key(self.key(marker, budget.kind, id));
        }
        invocation.arg(u64::try_from(interval).unwrap_or(u64::MAX)).arg(budget.limit.max(1)).arg(cost);
        let wait: i64 =
            self.call(|mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        Ok(match wait {
            0 => Taken::Allowed,
            // More than the whole budget: not before it has refilled (as the in-memory budget).
            -1 => Taken::Wait(budget.period),
            micros => Taken::Wait(Duration::from_micros(micros.unsigned_abs())),
        })
    }

    /// How long `id`'s `budget` stays refused after its last refusal (None: not refused).
    pub async fn refused_for(&self, marker: &str, kind: &str, id: &str) -> Result<Option<Duration>, Unavailable> {
        let key = self.key(marker, kind, id);
        let millis: i64 = self
            .call(|mut connection| async move { redis::cmd("PTTL").arg(key).query_async(&mut connection).await })
            .await?;
        Ok((millis > 0).then(|| Duration::from_millis(millis.unsigned_abs())))
    }

    /// Takes one of `holder`'s `max` WebSocket places; None when all are held.
    pub async fn take_place(&self, holder: &str, max: u32) -> Result<Option<Place>, Unavailable> {
        let n = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let place = Place { key: self.key("sockets", holder, ""), member: format!("{}:{n}", self.instance) };
        let mut invocation = self.take_place.prepare_invoke();
        invocation.key(&place.key).arg(&place.member).arg(max).arg(millis(SOCKET_TTL));
        let taken: i64 =
            self.call(|mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        if taken == 0 {
            return Ok(None);
        }
        self.places.lock().unwrap_or_else(|e| e.into_inner()).insert(place.member.clone(), place.key.clone());
        Ok(Some(place))
    }

    /// Frees a place (when its connection ends): at once if Redis answers, else when it expires.
    pub fn release(self: &Arc<Self>, place: Place) {
        self.places.lock().unwrap_or_else(|e| e.into_inner()).remove(&place.member);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let shared = self.clone();
        runtime.spawn(async move {
            let Place { key, member } = place;
            let _ = shared
                .call(|mut connection| async move {
                    redis::cmd("ZREM").arg(key).arg(member).query_async::<i64>(&mut connection).await
                })
                .await;
        });
    }

    /// `{prefix}:{what}:{kind}:{id}`.
    fn key(&self, what: &str, kind: &str, id: &str) -> String {
        if id.is_empty() {
            format!("{}:{what}:{kind}", self.prefix)
        } else {
            format!("{}:{what}:{kind}:{id}", self.prefix)
        }
    }

    /// Runs `query` on the connection within `CALL_TIMEOUT`; a failure drops the connection (the
    /// keeper makes a new one once Redis answers).
    async fn call<T, F, Fut>(&self, query: F) -> Result<T, Unavailable>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let Some(connection) = self.connection.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Err(Unavailable);
        };
        match tokio::time::timeout(CALL_TIMEOUT, query(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                self.lost(&err.to_string());
                Err(Unavailable)
            }
            Err(_) => {
                self.lost("no answer within 250 ms");
                Err(Unavailable)
            }
        }
    }

    /// Redis stopped answering: count in memory until the keeper reconnects.
    fn lost(&self, detail: &str) {
        let had = self.connection.lock().unwrap_or_else(|e| e.into_inner()).take().is_some();
        if had {
            tracing::warn!(
                detail,
                "shared budgets unavailable: this instance counts its own budgets until Redis answers"
            );
            ::metrics::gauge!(SHARED_BUDGETS_AVAILABLE).set(0.0);
        }
    }

    /// One keeper round: reconnect while Redis is away, ping while it is there, renew the places.
    async fn tick(&self, round: u32) {
        let connected = self.connection.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match connected {
            None => {
                if let Some(connection) = self.connect().await {
                    *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection);
                    tracing::info!("shared budgets available: counting in Redis");
                    ::metrics::gauge!(SHARED_BUDGETS_AVAILABLE).set(1.0);
                    // Places taken before an outage are put back at once (Redis may be new).
                    self.renew().await;
                }
            }
            Some(_) => {
                let _ = self
                    .call(
                        |mut connection| async move { redis::cmd("PING").query_async::<String>(&mut connection).await },
                    )
                    .await;
                if round.is_multiple_of(HEARTBEAT_EVERY) {
                    self.renew().await;
                }
            }
        }
    }

    /// A connection that answers a PING, or None.
    async fn connect(&self) -> Option<MultiplexedConnection> {
        let connecting = self.client.get_multiplexed_async_connection();
        let mut connection = tokio::time::timeout(KEEPER_INTERVAL, connecting).await.ok()?.ok()?;
        let ping = redis::cmd("PING");
        tokio::time::timeout(CALL_TIMEOUT, ping.query_async::<String>(&mut connection)).await.ok()?.ok()?;
        Some(connection)
    }

    /// Renews every place this instance holds, in one script call.
    async fn renew(&self) {
        let places: Vec<(String, String)> =
            self.places.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(m, k)| (k.clone(), m.clone())).collect();
        if places.is_empty() {
            return;
        }
        let mut invocation = self.renew_places.prepare_invoke();
        invocation.arg(millis(SOCKET_TTL));
        for (key, member) in &places {
            invocation.key(key).arg(member);
        }
        let _ = self.call(|mut connection| async move { invocation.invoke_async::<i64>(&mut connection).await }).await;
    }
}

/// The keeper: every `KEEPER_INTERVAL` while the budgets are in use (it ends with them).
async fn keep(shared: Weak<SharedBudgets>) {
    let mut interval = tokio::time::interval(KEEPER_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u32;
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        shared.tick(round).await;
        round = round.wrapping_add(1);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
