//! Database operations waiting for a pool connection, for `/metrics`.
//!
//! sqlx counts the connections of a pool but not who waits for one. It is seen through tracing
//! instead: each sea-orm call that takes a connection from the pool (a statement outside a
//! transaction, or `begin`) runs in a TRACE span of sea-orm's driver, and sqlx reports inside it
//! how long getting the connection took (its `acquire_time_level`, set by `db::connect`). A span
//! opened and not yet reported is waiting; one that closes unreported (a timeout, a cancelled
//! request) waits no more. The layer keeps only a counter and a histogram: the spans' fields
//! (statements and their values) are never read.
use std::sync::atomic::{AtomicI64, Ordering};

use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Histogram of the time taken to get a connection from the pool.
pub const ACQUIRE_DURATION: &str = "jaminan_db_pool_acquire_duration_seconds";

/// The sea-orm driver calls that take a connection from the pool (their span names).
const ACQUIRING: [&str; 7] =
    ["execute", "execute_unprepared", "query_one", "query_all", "stream", "begin", "transaction"];

/// Operations of this process waiting for a connection now (every pool together).
static WAITING: AtomicI64 = AtomicI64::new(0);

pub fn waiting() -> i64 {
    WAITING.load(Ordering::Relaxed).max(0)
}

/// Marks a span that waits for a connection (in the span's extensions).
struct Waiting;

/// The layer to add to the global subscriber (`telemetry::init`, or a test's).
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    PoolWaits.with_filter(filter::<S>())
}

/// Only sea-orm's driver spans and sqlx's acquire events: nothing else costs this layer a thing.
fn filter<S>() -> impl Filter<S> {
    Targets::new()
        .with_target("sea_orm::driver::sqlx_postgres", LevelFilter::TRACE)
        .with_target("sea_orm::driver::sqlx_sqlite", LevelFilter::TRACE)
        .with_target("sqlx::pool::acquire", LevelFilter::TRACE)
}

struct PoolWaits;

impl<S> Layer<S> for PoolWaits
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if !metadata.target().starts_with("sea_orm::driver") || !ACQUIRING.contains(&metadata.name()) {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Waiting);
            WAITING.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::pool::acquire" {
            return;
        }
        let mut seconds = AcquiredAfter(None);
        event.record(&mut seconds);
        if let Some(seconds) = seconds.0 {
            metrics::histogram!(ACQUIRE_DURATION).record(seconds);
        }
        // The connection went to the innermost waiting span (a listener's or a pool's own
        // acquire has none).
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            if span.extensions_mut().remove::<Waiting>().is_some() {
                WAITING.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && span.extensions_mut().remove::<Waiting>().is_some()
        {
            WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The `acquired_after_secs` field of sqlx's acquire event.
struct AcquiredAfter(Option<f64>);

impl tracing::field::Visit for AcquiredAfter {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "acquired_after_secs" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, _value: &dyn std::fmt::Debug) {}
}
