//! What happens when the world misbehaves: the database going away under load, every connection
//! busy, statements running past their timeout.
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::outage::{self, Target};
use common::proxy::Proxy;
use common::{Backend, TestApp, error_code};
use jaminan::config::DatabaseArgs;
use jaminan::server::{self, Stopped};
use jaminan::{AppState, db};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

/// The PostgreSQL server of TEST_DATABASE_URL.
fn postgres_addr() -> SocketAddr {
    let url = reqwest::Url::parse(&std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL")).expect("url");
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    format!("{host}:{}", url.port().unwrap_or(5432)).parse().expect("PostgreSQL address")
}

/// The test database's URL, reached through the proxy.
fn through(proxy: &Proxy, url: &str) -> String {
    let mut url = reqwest::Url::parse(url).expect("url");
    url.set_host(Some(&proxy.addr.ip().to_string())).expect("host");
    url.set_port(Some(proxy.addr.port())).expect("port");
    url.to_string()
}

/// The app over real TCP, as `serve` runs it; returns its base URL and the task (which must not
/// end while the test runs).
async fn serve(state: AppState) -> (String, tokio::task::JoinHandle<std::io::Result<Stopped>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(server::run(listener, state, std::future::pending(), Duration::from_secs(1)));
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_under_load_fails_fast_and_recovers() {
    // SQLite is a file inside the process: it has no outage to simulate (its faults, a busy lock
    // or an exhausted pool, are tested below on both databases).
    let Some(app) = TestApp::spawn_postgres().await else { return };
    let proxy = Arc::new(Proxy::start(postgres_addr()).await);
    let pool = db::connect_with(&DatabaseArgs::for_url(&through(&proxy, &app.database_url()))).await.expect("pool");
    let (url, server) = serve(AppState::new(pool).await.expect("state")).await;
    let target = Target { url, admin: app.admin.clone(), admin2: app.admin2.clone() };

    let (cut, restore) = (proxy.clone(), proxy.clone());
    let run = outage::run(
        &target,
        200,
        Duration::from_secs(2),
        move || cut.cut(),
        Duration::from_secs(4),
        move || restore.restore(),
        Duration::from_secs(6),
    )
    .await;
    let figures = run.figures();
    println!("{figures}");
    assert!(!server.is_finished(), "the server must keep running");
    assert!(
        figures.unexpected.is_empty(),
        "only 503 SERVICE_UNAVAILABLE may fail: {:?}",
        &figures.unexpected[..figures.unexpected.len().min(5)]
    );
    assert!(figures.during_outage >= 100, "requests were sent during the outage: {figures}");
    assert!(figures.away >= Duration::from_secs(4), "{figures}");
    assert_eq!(figures.during_outage_503, figures.during_outage);
    assert!(figures.slowest_during_outage < Duration::from_secs(3), "{figures}");
    assert!(figures.recovered_after < Duration::from_secs(5), "{figures}");
    assert!(figures.readyz_503_during_outage && figures.readyz_200_after, "{figures}");
    let succeeded_after = run.outcomes.iter().filter(|o| o.started > run.restored_at && o.succeeded()).count();
    assert!(succeeded_after > 100, "work resumed after the outage: {succeeded_after}");
    let problems = outage::check(&app.state.db, &run.acknowledged).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(run.acknowledged.payouts.values().filter(|s| **s == "PAID").count() > 10);
    server.abort();
    app.cleanup().await;
}

/// A second app on the test database with its own, smaller pool.
async fn app_with_pool(app: &TestApp, args: impl FnOnce(&mut DatabaseArgs)) -> TestApp {
    let mut settings = DatabaseArgs::for_url(&app.database_url());
    args(&mut settings);
    let pool = db::connect_with(&settings).await.expect("pool");
    app.with_state(AppState::new(pool).await.expect("state"))
}

/// Transactions left open on the test database by anyone but this check (PostgreSQL).
async fn open_transactions(app: &TestApp) -> i64 {
    if app.backend != Backend::Postgres {
        return 0;
    }
    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("pg_stat_activity")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

const RENAME: &str =
    "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"Siti Renamed\" }) { id fullName } }";

backend_test!(an_exhausted_pool_answers_503_after_the_acquire_timeout, |app: TestApp| async move {
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let small = app_with_pool(&app, |a| {
        a.db_max_connections = Some(2);
        a.db_acquire_timeout_ms = 300;
    })
    .await;
    // Warm the key cache, then hold every connection of the small pool.
    let warm = small.gql_as(&app.admin, "{ regency(code: \"36.03\") { name } }", json!({})).await;
    common::data(&warm);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(small.state.db.begin().await.expect("hold a connection"));
    }
    for (query, variables) in [(RENAME, json!({ "id": worker })), ("{ worker(id: \"1\") { id } }", json!({}))] {
        let started = Instant::now();
        let body = json!({ "query": query, "variables": variables }).to_string();
        let (status, response) = small.post_json(Some(&app.admin), &body).await;
        let waited = started.elapsed();
        assert_eq!(status, 503, "{response}");
        assert_eq!(error_code(&response), "SERVICE_UNAVAILABLE", "{response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains("busy"), "{response}");
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(2), "{waited:?}");
    }
    let (status, _) = small.send(axum::http::Request::get("/readyz").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(status, 503, "/readyz with no connection to spare");
    for txn in held {
        txn.rollback().await.unwrap();
    }
    let renamed = small.gql_as(&app.admin, RENAME, json!({ "id": worker })).await;
    assert_eq!(common::data(&renamed)["updateWorker"]["fullName"], "Siti Renamed");
    assert_eq!(open_transactions(&app).await, 0);
    small.state.db.clone().close().await.ok();
});

backend_test!(a_statement_past_the_timeout_is_cancelled_and_changes_nothing, |app: TestApp| async move {
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let impatient = app_with_pool(&app, |a| a.statement_timeout_secs = 1).await;
    // Another transaction holds the worker's row (PostgreSQL) or the write lock (SQLite).
    let blocker = app.state.db.begin().await.unwrap();
    blocker.execute_unprepared(&format!("UPDATE worker SET full_name = full_name WHERE id = {worker}")).await.unwrap();
    let started = Instant::now();
    let body = json!({ "query": RENAME, "variables": { "id": worker } }).to_string();
    let (status, response) = impatient.post_json(Some(&app.admin), &body).await;
    let waited = started.elapsed();
    blocker.rollback().await.unwrap();
    assert!(waited < Duration::from_secs(5), "cancelled after the statement timeout, not the request's: {waited:?}");
    let message = response["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    match app.backend {
        // PostgreSQL cancels the statement.
        Backend::Postgres => {
            assert_eq!(error_code(&response), "INTERNAL_SERVER_ERROR", "{response}");
            assert!(message.contains("took too long") && message.contains("cancelled"), "{response}");
        }
        // SQLite gives up waiting for the lock: busy, retry later.
        Backend::Sqlite => {
            assert_eq!(status, 503, "{response}");
            assert_eq!(error_code(&response), "SERVICE_UNAVAILABLE", "{response}");
        }
    }
    assert!(response["data"].is_null() || response["data"]["updateWorker"].is_null(), "{response}");
    let stored =
        app.gql_as(&app.admin, "query($id: ID!) { worker(id: $id) { fullName } }", json!({ "id": worker })).await;
    assert_eq!(common::data(&stored)["worker"]["fullName"], "Siti", "nothing changed");
    assert_eq!(open_transactions(&app).await, 0, "no transaction left open");
    // The same connections serve the next request.
    let renamed = impatient.gql_as(&app.admin, RENAME, json!({ "id": worker })).await;
    assert_eq!(common::data(&renamed)["updateWorker"]["fullName"], "Siti Renamed");
    impatient.state.db.clone().close().await.ok();
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_off_from_the_database_answers_503_and_writes_nothing() {
    // PostgreSQL only: the import's staging session is a connection of its own (SQLite imports
    // inside the request's transaction, which the outage test above covers).
    let Some(app) = TestApp::spawn_postgres().await else { return };
    let proxy = Arc::new(Proxy::start(postgres_addr()).await);
    let pool = db::connect_with(&DatabaseArgs::for_url(&through(&proxy, &app.database_url()))).await.expect("pool");
    let cut_off = app.with_state(AppState::new(pool).await.expect("state"));
    let mut file = String::from("nik,full_name,occupation,district_code,starts_on\n");
    for n in 0..200_000 {
        let (day, serial) = (10 + n / 9_000, 1 + n % 9_000);
        file.push_str(&format!("360301{day:02}0585{serial:04},Worker {n},FISHER,36.03.01,2023-01-01\n"));
    }
    let cutter = proxy.clone();
    let cut = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        cutter.cut();
    });
    let started = Instant::now();
    let (status, response) = cut_off.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    cut.await.unwrap();
    assert!(started.elapsed() > Duration::from_millis(1200), "the cut came while the import ran: {response}");
    assert_eq!(status, 503, "{response}");
    assert_eq!(error_code(&response), "SERVICE_UNAVAILABLE", "{response}");
    proxy.restore();
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (0, 0));
    assert_eq!(app.count_rows("audit_log").await, 0);
    assert!(app.stats_differences().await.is_empty());
    cut_off.state.db.clone().close().await.ok();
    app.cleanup().await;
}
