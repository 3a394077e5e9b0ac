//! Prometheus metrics at `/metrics`: GraphQL requests by operation and outcome, their latency,
//! errors by `extensions.code`, the database pool, payouts by status, open subscriptions and the
//! build version.
//!
//! The `metrics` crate's recorder is global to the process: it is installed once (`handle`), and
//! every app built in the process (the tests build many) records into it. Code anywhere can use
//! the `metrics` macros with the names below; the gauges of the pool and of payouts are read at
//! scrape time from the app that serves the scrape.
//!
//! Operation names come from clients, so they are bounded before they become label values
//! (`OperationNames`): the names of trusted documents always, the first
//! `MAX_OPERATION_NAMES` names that API-key holders send, and `other` for the rest; anonymous
//! callers' own documents count as `other`, and unnamed operations as `anonymous`.
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ::metrics::Unit;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::observability::pool_waits::ACQUIRE_DURATION;

/// Open GraphQL subscriptions: whoever opens one increments it, and decrements it when it ends.
pub const SUBSCRIPTIONS_OPEN: &str = "jaminan_subscriptions_open";
pub const REQUESTS: &str = "jaminan_graphql_requests_total";
pub const REQUEST_DURATION: &str = "jaminan_graphql_request_duration_seconds";
pub const ERRORS: &str = "jaminan_graphql_errors_total";
pub const POOL_CONNECTIONS: &str = "jaminan_db_pool_connections";
pub const POOL_MAX_CONNECTIONS: &str = "jaminan_db_pool_max_connections";
pub const POOL_WAITING: &str = "jaminan_db_pool_waiting";
pub const PAYOUTS: &str = "jaminan_payouts";
/// Audit entries committed and not yet chained by the sealer (PostgreSQL; SQLite chains each entry
/// as it is written): a count that keeps growing means sealing is held back.
pub const AUDIT_UNSEALED: &str = "jaminan_audit_unsealed_entries";
pub const BUILD_INFO: &str = "jaminan_build_info";
/// 1 while the rate budgets are shared through Redis, 0 while this instance counts its own
/// (present only with `--redis-url`).
pub const SHARED_BUDGETS_AVAILABLE: &str = "jaminan_shared_budgets_available";

/// Distinct operation names kept as label values (beyond the trusted documents').
pub const MAX_OPERATION_NAMES: usize = 100;
/// Label of an operation whose name is not (or no longer) admitted.
pub const OTHER: &str = "other";
/// Label of an operation without a name.
pub const ANONYMOUS: &str = "anonymous";
/// Label of a request refused before its operation was known (a bad body, a wrong key...).
pub const UNKNOWN: &str = "unknown";

/// Seconds, from a millisecond to the request timeout.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Getting a connection: microseconds when one is idle, up to the acquire timeout when none is.
const ACQUIRE_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0];

/// Payouts and unsealed audit entries are counted at most this often, however often Prometheus
/// scrapes.
const COUNTS_REFRESH: Duration = Duration::from_secs(15);

const PAYOUT_STATUSES: [&str; 5] = ["SUBMITTED", "VERIFIED", "APPROVED", "PAID", "REJECTED"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use with the metrics described, the build info
/// set and the subscription gauge at 0.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(ACQUIRE_DURATION.to_owned()), ACQUIRE_BUCKETS))
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            Err(err) => {
                // Another recorder was installed first: render ours anyway (empty but valid).
                tracing::warn!(%err, "metrics recorder not installed; /metrics will show nothing recorded");
                PrometheusBuilder::new().build_recorder().handle()
            }
        };
        // Histogram samples wait in buffers until drained: drain them every few seconds, on a
        // thread of its own (not tied to any one tokio runtime: tests run many).
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        describe();
        ::metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        // Present (0) before the first subscription; increments made elsewhere add to it.
        ::metrics::gauge!(SUBSCRIPTIONS_OPEN).increment(0.0);
        handle
    })
}

fn describe() {
    ::metrics::describe_counter!(
        REQUESTS,
        Unit::Count,
        "GraphQL requests by operation name and outcome (ok or the first error's code)"
    );
    ::metrics::describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer a GraphQL request, by operation name"
    );
    ::metrics::describe_counter!(ERRORS, Unit::Count, "GraphQL errors answered, by extensions.code");
    ::metrics::describe_gauge!(POOL_CONNECTIONS, Unit::Count, "Database pool connections, in use and idle, by pool");
    ::metrics::describe_gauge!(POOL_MAX_CONNECTIONS, Unit::Count, "Database pool size limit, by pool");
    ::metrics::describe_gauge!(POOL_WAITING, Unit::Count, "Database operations waiting for a connection of any pool");
    ::metrics::describe_histogram!(ACQUIRE_DURATION, Unit::Seconds, "Time to get a connection from the database pool");
    ::metrics::describe_gauge!(PAYOUTS, Unit::Count, "Benefit payouts by status (counted at most every 15 s)");
    ::metrics::describe_gauge!(
        AUDIT_UNSEALED,
        Unit::Count,
        "Audit entries committed and not yet sealed into the chain (counted at most every 15 s)"
    );
    ::metrics::describe_gauge!(BUILD_INFO, "The running version (always 1)");
    ::metrics::describe_gauge!(
        SHARED_BUDGETS_AVAILABLE,
        "1 while the rate budgets are shared through Redis, 0 while this instance counts its own"
    );
    ::metrics::describe_gauge!(SUBSCRIPTIONS_OPEN, Unit::Count, "GraphQL subscriptions open on this instance");
}

/// `/metrics` of an app (the main router's, or alone on `--metrics-listen`).
pub fn routes(scraper: Scraper) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(scraper)
}

/// What a scrape reads: the database pools, and when the database's counts were last taken.
#[derive(Clone)]
pub struct Scraper {
    db: DatabaseConnection,
    /// The mutations' pool, where they have one of their own (`--db-max-write-connections`).
    writes: Option<DatabaseConnection>,
    /// When payouts and unsealed audit entries were last counted.
    counted: Arc<Mutex<Option<Instant>>>,
}

impl Scraper {
    pub fn new(db: DatabaseConnection, writes: Option<DatabaseConnection>) -> Scraper {
        handle();
        Scraper { db, writes, counted: Arc::default() }
    }
}

pub async fn scrape(State(scraper): State<Scraper>) -> Response {
    ::metrics::gauge!(POOL_WAITING).set(crate::observability::pool_waits::waiting() as f64);
    record_pool(&scraper.db, "main");
    if let Some(writes) = &scraper.writes {
        record_pool(writes, "writes");
    }
    let due = {
        let mut last = scraper.counted.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= COUNTS_REFRESH);
        if due {
            *last = Some(Instant::now());
        }
        due
    };
    if due {
        if let Some(counts) = within_a_second("payouts", count_payouts(&scraper.db)).await {
            for status in PAYOUT_STATUSES {
                let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                ::metrics::gauge!(PAYOUTS, "status" => status).set(n as f64);
            }
        }
        if let Some(n) = within_a_second("unsealed audit entries", count_unsealed(&scraper.db)).await {
            ::metrics::gauge!(AUDIT_UNSEALED).set(n as f64);
        }
    }
    let mut response = (StatusCode::OK, handle().render()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// In use and idle connections of one sqlx pool under sea-orm, labelled with its name: `main`
/// (queries, and mutations without a pool of their own) or `writes`.
fn record_pool(db: &DatabaseConnection, pool: &'static str) {
    let (size, idle, max) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => return,
    };
    let idle = idle as f64;
    ::metrics::gauge!(POOL_CONNECTIONS, "pool" => pool, "state" => "idle").set(idle);
    ::metrics::gauge!(POOL_CONNECTIONS, "pool" => pool, "state" => "in_use").set((size as f64 - idle).max(0.0));
    ::metrics::gauge!(POOL_MAX_CONNECTIONS, "pool" => pool).set(max as f64);
}

/// One grouped count over the payout status index (an index-only scan on PostgreSQL).
async fn count_payouts(db: &DatabaseConnection) -> Result<Vec<(String, i64)>, sea_orm::DbErr> {
    let statement =
        Statement::from_string(db.get_database_backend(), "SELECT status, COUNT(*) AS n FROM payout GROUP BY status");
    let rows = db.query_all_raw(statement).await?;
    rows.iter().map(|row| Ok((row.try_get::<String>("", "status")?, row.try_get::<i64>("", "n")?))).collect()
}

/// A count for a scrape, or None (logged) when the database fails or does not answer within a
/// second: the last values stay in place.
async fn within_a_second<T>(what: &str, count: impl Future<Output = Result<T, sea_orm::DbErr>>) -> Option<T> {
    match tokio::time::timeout(Duration::from_secs(1), count).await {
        Ok(Ok(counted)) => Some(counted),
        Ok(Err(err)) => {
            tracing::warn!(%err, "{what} not counted for /metrics");
            None
        }
        Err(_) => {
            tracing::warn!("{what} not counted for /metrics: the database took over a second");
            None
        }
    }
}

/// The entries after the sealed head, over the primary key: the sealer seals in id order, so the
/// newest sealed entry is a short walk back from the end (one left unsealed below it is
/// `audit verify`'s to name). SQLite has none: it chains each entry in the transaction that
/// writes it.
async fn count_unsealed(db: &DatabaseConnection) -> Result<i64, sea_orm::DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let sql = "SELECT COUNT(*) AS n FROM audit_log WHERE id > COALESCE((SELECT id FROM audit_log \
               WHERE entry_hash IS NOT NULL ORDER BY id DESC LIMIT 1), -9223372036854775808)";
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
    row.map_or(Ok(0), |row| row.try_get::<i64>("", "n"))
}

// ---- GraphQL requests: the `/graphql` route's middleware and the notes `http` makes -----------

tokio::task_local! {
    static OBSERVED: RefCell<Observation>;
}

#[derive(Default)]
struct Observation {
    operation: Option<String>,
    /// The first error's code.
    code: Option<String>,
}

/// Times a GraphQL request and counts it under its operation and outcome. Requests that are
/// neither an operation nor an error (GraphiQL's page) are not counted.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (response, observation) = OBSERVED
        .scope(RefCell::new(Observation::default()), async move {
            let response = next.run(request).await;
            (response, OBSERVED.with(|o| o.take()))
        })
        .await;
    if observation.operation.is_none() && observation.code.is_none() {
        return response;
    }
    let operation = observation.operation.unwrap_or_else(|| UNKNOWN.to_owned());
    let outcome = observation.code.unwrap_or_else(|| "ok".to_owned());
    ::metrics::histogram!(REQUEST_DURATION, "operation" => operation.clone()).record(started.elapsed().as_secs_f64());
    ::metrics::counter!(REQUESTS, "operation" => operation, "outcome" => outcome).increment(1);
    response
}

/// The operation a request runs, as its label (see `OperationNames`).
pub fn note_operation(label: String) {
    let _ = OBSERVED.try_with(|o| o.borrow_mut().operation = Some(label));
}

/// An error answered with this code: counted, and the request's outcome if it is the first.
pub fn note_error(code: &str) {
    // Our codes are UPPER_SNAKE words; anything else would be a label value nobody chose.
    let code = if !code.is_empty() && code.len() <= 32 && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        code
    } else {
        "OTHER"
    };
    ::metrics::counter!(ERRORS, "code" => code.to_owned()).increment(1);
    let _ = OBSERVED.try_with(|o| {
        o.borrow_mut().code.get_or_insert_with(|| code.to_owned());
    });
}

/// The operation names admitted as label values: a bounded set, filled first come first served.
#[derive(Default)]
pub struct OperationNames {
    admitted: Mutex<HashSet<String>>,
}

impl OperationNames {
    /// The label for an operation named `name` (None: unnamed); `trusted`: a trusted document's,
    /// always admitted; `keyed`: sent by an API-key holder (anonymous callers admit nothing).
    pub fn label(&self, name: Option<&str>, trusted: bool, keyed: bool) -> String {
        let Some(name) = name else { return ANONYMOUS.to_owned() };
        if trusted {
            return name.to_owned();
        }
        let mut admitted = self.admitted.lock().unwrap_or_else(|e| e.into_inner());
        if admitted.contains(name) {
            return name.to_owned();
        }
        if keyed && admitted.len() < MAX_OPERATION_NAMES && name.len() <= 64 {
            admitted.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER.to_owned()
    }
}

/// The process's admitted names (one recorder, one set).
pub fn operation_names() -> &'static OperationNames {
    static NAMES: OnceLock<OperationNames> = OnceLock::new();
    NAMES.get_or_init(OperationNames::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let names = OperationNames::default();
        assert_eq!(names.label(None, false, true), ANONYMOUS);
        assert_eq!(names.label(Some("Dashboard"), true, false), "Dashboard");
        assert_eq!(names.label(Some("Mine"), false, false), OTHER, "anonymous callers admit nothing");
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(names.label(Some(&format!("Op{i}")), false, true), format!("Op{i}"));
        }
        assert_eq!(names.label(Some("OneTooMany"), false, true), OTHER);
        assert_eq!(names.label(Some("Op7"), false, false), "Op7", "an admitted name stays admitted");
        assert_eq!(names.label(Some("Trusted"), true, false), "Trusted", "trusted names are always kept");
    }
}
