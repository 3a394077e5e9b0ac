//! What counting the operations waiting for a pool connection (`jaminan::observability::pool_waits`) costs a
//! statement: the same short queries on one connection, without the layer and with it (scoped
//! to this thread, on a current-thread runtime), alternating rounds so that drift cancels out.
//!
//!     cargo run --release --example pool_waits [DATABASE_URL]    (default: SQLite in memory)
// A benchmark tool run by hand: a failure may panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::{Duration, Instant};

use jaminan::db;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tracing_subscriber::layer::SubscriberExt;

const QUERIES: u32 = 20_000;
const ROUNDS: usize = 5;

async fn round(db: &DatabaseConnection) -> Duration {
    let started = Instant::now();
    for _ in 0..QUERIES {
        let statement = Statement::from_string(db.get_database_backend(), "SELECT 1 AS one");
        db.query_one_raw(statement).await.expect("SELECT 1");
    }
    started.elapsed() / QUERIES
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "sqlite::memory:".to_owned());
    // The server's recorder: the layer records each acquire's time into it.
    jaminan::observability::metrics::handle();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = runtime.block_on(db::connect(&url, jaminan::config::DEFAULT_STATEMENT_TIMEOUT_SECS)).expect("database");
    let counted = tracing_subscriber::registry().with(jaminan::observability::pool_waits::layer());
    let dispatch = tracing::Dispatch::new(counted);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    runtime.block_on(round(&db)); // warm-up
    for _ in 0..ROUNDS {
        without.push(runtime.block_on(round(&db)));
        with.push(tracing::dispatcher::with_default(&dispatch, || runtime.block_on(round(&db))));
    }
    without.sort();
    with.sort();
    let (a, b) = (without[ROUNDS / 2], with[ROUNDS / 2]);
    println!("{url}: {QUERIES} x {ROUNDS} rounds, median per statement");
    println!("  without counting waits: {a:?}");
    println!("  with counting waits:    {b:?}  ({:+.2} µs)", (b.as_secs_f64() - a.as_secs_f64()) * 1e6);
}
