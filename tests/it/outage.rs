//! A database outage under load: 200 clients through the real server over TCP while a proxy in
//! the test cuts PostgreSQL away for 4 s and restores it (see tests/it/common/outage.rs). It runs
//! alone, so that no other test competes with it for the CPU: under `cargo test` it holds the
//! process to itself (`common::exclusive`), and nextest gives it every test thread
//! (.config/nextest.toml).
use crate::common;

use std::time::Duration;

use common::TestApp;
use common::outage::{self, Target};
use common::proxy;
use jaminan::app::server::{self, Stopped};
use jaminan::config::DatabaseArgs;
use jaminan::db;
use jaminan::services::AppState;

/// The app over real TCP, as `serve` runs it; returns its base URL and the task (which must not
/// end while the test runs).
async fn serve(state: AppState) -> (String, tokio::task::JoinHandle<std::io::Result<Stopped>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let app = jaminan::app::App { state, http: Default::default() };
    let task = tokio::spawn(server::run(listener, app, std::future::pending(), Duration::from_secs(1)));
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn a_database_outage_under_load_fails_fast_and_recovers() {
    // SQLite is a file inside the process: it has no outage to simulate (its faults, a busy lock
    // or an exhausted pool, are tested below on both databases).
    let _alone = common::exclusive().await;
    let app = TestApp::spawn_postgres().await;
    let (proxy, url) = proxy::in_front_of(&app.database_url()).await;
    let pool = db::connect_with(&DatabaseArgs::for_url(&url)).await.expect("pool");
    let (url, server) = serve(common::unthrottled(AppState::new(pool).await.expect("state"))).await;
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
    assert!(
        figures.readyz_503_during_outage && figures.readyz_200_after,
        "{figures}\ncut at {:?}, back at {:?}, /readyz probes (started, status): {:?}",
        run.cut_at,
        run.restored_at,
        run.readiness
    );
    let succeeded_after = run.outcomes.iter().filter(|o| o.started > run.restored_at && o.succeeded()).count();
    assert!(succeeded_after > 100, "work resumed after the outage: {succeeded_after}");
    let problems = outage::check(&app.state.db, &run.acknowledged).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(run.acknowledged.payouts.values().filter(|s| **s == "PAID").count() > 10);
    server.abort();
    app.cleanup().await;
}
