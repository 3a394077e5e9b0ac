//! The audit chain without a national lock: on PostgreSQL the writers insert their entries without
//! hashes and the sealer chains the committed ones in id order (SQLite chains inline). The chain
//! verifies after concurrent writers, `audit verify` reports what is not sealed yet, the sealer
//! never seals past a transaction still running, only the sealing gets past the append-only
//! trigger, and a server killed with SIGKILL under load leaves, after a restart, every committed
//! entry sealed.
use crate::common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::binary::Server;
use common::{Backend, TestApp};
use jaminan::auth::{Actor, Role};
use jaminan::entities::audit_log;
use jaminan::services::audit::{self, AuditEntity};
use jaminan::services::audit_sealer::{self, Sealer};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::json;

async fn register(app: &TestApp, serial: u32) {
    app.register(&format!("3603121505850{serial:03}"), "Pekerja", "36.03", None, "FISHER").await;
}

async fn chain(app: &TestApp) -> audit::ChainReport {
    audit::verify(&app.state.db).await.unwrap()
}

backend_test!(verify_reports_the_entries_not_yet_sealed, |app: TestApp| async move {
    for serial in 1..=3 {
        register(&app, serial).await;
    }
    let report = chain(&app).await;
    assert_eq!(report.broken, None);
    let verify = Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert_eq!(verify.status.code(), Some(0), "{said}");
    match app.backend {
        // Committed, waiting for the sealer; verify seals nothing.
        Backend::Postgres => {
            assert_eq!((report.checked, report.unsealed, report.head), (0, 3, None));
            assert!(said.contains("3 entries not yet sealed"), "{said}");
            assert_eq!(chain(&app).await.unsealed, 3);
            assert_eq!(app.seal_audit().await, 3);
        }
        // One writer at a time: chained as they are written.
        Backend::Sqlite => {
            assert_eq!((report.checked, report.unsealed), (3, 0));
            assert!(!said.contains("not yet sealed"), "{said}");
            assert_eq!(app.seal_audit().await, 0);
        }
    }
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (3, 0, None));
    // Later entries chain after the sealed ones.
    register(&app, 4).await;
    app.seal_audit().await;
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (4, 0, None));
});

backend_test!(concurrent_writers_leave_a_chain_in_id_order, |app: TestApp| async move {
    // Sealed while they write, as serve's rounds do.
    let done = Arc::new(AtomicBool::new(false));
    let sealing = {
        let (db, done) = (app.state.db.clone(), done.clone());
        tokio::spawn(async move {
            let mut sealer = Sealer::default();
            let mut sealed = 0;
            while !done.load(Ordering::SeqCst) {
                sealed += sealer.round(&db).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sealed
        })
    };
    let writers = (1..=60).map(|serial| {
        let app = app.clone();
        async move { register(&app, serial).await }
    });
    futures_util::future::join_all(writers).await;
    done.store(true, Ordering::SeqCst);
    let sealed_while_writing = sealing.await.unwrap();
    let sealed_after = app.seal_audit().await;
    if app.backend == Backend::Postgres {
        assert_eq!(sealed_while_writing + sealed_after, 60);
    }
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (60, 0, None));
    // The chain runs in id order: each entry's previous hash is the entry before it by id.
    let entries = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).all(&app.state.db).await.unwrap();
    for pair in entries.windows(2) {
        assert_eq!(pair[1].previous_hash, pair[0].entry_hash, "entry {}", pair[1].id);
    }
});

fn held_actor() -> Actor {
    Actor { key_id: 1, key_name: "held open".into(), role: Role::Admin, scope: None, person: None }
}

/// PostgreSQL only: SQLite's one writer cannot hold a transaction open while others write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn the_sealer_never_seals_past_a_transaction_still_running() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let db = &app.state.db;
    // A transaction that has written nothing else draws the lowest id, then stays open.
    let held = audit::begin_append(db).await.unwrap();
    let after = json!({ "reason": "held open" });
    audit::record(&held, &held_actor(), "heldOpen", AuditEntity::Refusal, 1, None, Some(&after)).await.unwrap();
    for serial in 1..=3 {
        register(&app, serial).await;
    }
    let mut sealer = Sealer::default();
    for _ in 0..3 {
        assert_eq!(sealer.round(db).await.unwrap(), 0, "sealed past the open transaction");
    }
    assert_eq!(audit_sealer::seal_committed(db, Duration::from_millis(300)).await.unwrap(), None);
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed), (0, 3));

    held.commit().await.unwrap();
    let mut sealed = 0;
    for _ in 0..2 {
        sealed += sealer.round(db).await.unwrap();
    }
    // Another test's transaction in this database cannot run: the second round sealed them all.
    assert_eq!(sealed, 4);
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (4, 0, None));
    let first = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).one(db).await.unwrap().unwrap();
    assert_eq!(first.operation, "heldOpen");
    assert_eq!(first.previous_hash.as_deref(), Some(jaminan::domain::audit_chain::GENESIS));

    // A transaction rolled back leaves a gap in the ids; the sealer goes past it.
    let rolled_back = audit::begin_append(db).await.unwrap();
    audit::record(&rolled_back, &held_actor(), "heldOpen", AuditEntity::Refusal, 2, None, Some(&after)).await.unwrap();
    register(&app, 4).await;
    rolled_back.rollback().await.unwrap();
    register(&app, 5).await;
    assert_eq!(app.seal_audit().await, 2);
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (6, 0, None));
    app.cleanup().await;
}

/// PostgreSQL only (SQLite's entries are never without hashes): the trigger lets the sealing
/// through, once, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn only_the_sealing_gets_past_the_append_only_trigger() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let db = &app.state.db;
    register(&app, 1).await;
    let id = audit_log::Entity::find().one(db).await.unwrap().unwrap().id;
    let refused = |sql: String| async move {
        let error = db.execute_unprepared(&sql).await.expect_err(&sql).to_string();
        assert!(error.contains("audit_log is append-only"), "{sql}: {error}");
    };
    // Unsealed: its content cannot change, not even along with a sealing.
    refused(format!("UPDATE audit_log SET changes = '{{}}' WHERE id = {id}")).await;
    refused(format!("UPDATE audit_log SET changes = '{{}}', previous_hash = 'a', entry_hash = 'b' WHERE id = {id}"))
        .await;
    refused(format!("UPDATE audit_log SET entry_hash = 'b' WHERE id = {id}")).await;
    refused(format!("DELETE FROM audit_log WHERE id = {id}")).await;
    assert_eq!(app.seal_audit().await, 1);
    // Sealed: the hashes are set once.
    refused(format!("UPDATE audit_log SET previous_hash = 'a', entry_hash = 'b' WHERE id = {id}")).await;
    refused(format!("UPDATE audit_log SET previous_hash = NULL, entry_hash = NULL WHERE id = {id}")).await;
    let report = chain(&app).await;
    assert_eq!((report.checked, report.broken), (1, None));
    app.cleanup().await;
}

/// An entry without hashes below sealed ones (inserted out of turn, or its hashes removed) is
/// named by verify, and the sealer does not seal it after the head (which would hide it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn an_unsealed_entry_below_the_head_is_named() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    for serial in 1..=3 {
        register(&app, serial).await;
    }
    app.seal_audit().await;
    let ids: Vec<i64> = audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    // An entry slipped in before the others (INSERT is not refused), without hashes.
    app.state
        .db
        .execute_unprepared(
            "INSERT INTO audit_log (id, at, api_key_id, api_key_name, operation, entity_type, entity_id, changes) \
             VALUES (0, now(), 1, 'test admin', 'registerWorker', 'WORKER', 1, '{}')",
        )
        .await
        .unwrap();
    let report = chain(&app).await;
    assert_eq!(report.broken, Some(jaminan::domain::audit_chain::ChainBreak::Unsealed { id: 0 }));
    assert_eq!(report.checked, 3);
    assert!(ids[0] > 0);
    register(&app, 4).await;
    assert_eq!(audit_sealer::seal_committed(&app.state.db, Duration::from_secs(5)).await.unwrap(), Some(1));
    let report = chain(&app).await;
    assert_eq!(report.broken, Some(jaminan::domain::audit_chain::ChainBreak::Unsealed { id: 0 }));
    assert_eq!(report.checked, 4, "the newer entry is sealed after the head");
    app.cleanup().await;
}

/// PostgreSQL only (SQLite chains inline: nothing is left to seal after a crash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn a_server_killed_under_load_leaves_every_committed_entry_sealed_after_a_restart() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let serve = |serve: &mut Command| {
        // A long round: the kill finds entries committed and not yet sealed.
        serve.env("JAMINAN_KEY_REQUESTS_PER_MINUTE", "100000000").env("JAMINAN_AUDIT_SEAL_MILLIS", "1000");
    };
    let mut server = Server::start_with(&app, serve).await;
    let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> = (1..=16u32)
        .map(|client| {
            let (url, key, stop, answered) = (server.url.clone(), app.admin.clone(), stop.clone(), answered.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut serial = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    serial += 1;
                    let nik = format!("360312{client:02}0585{serial:04}");
                    let body = json!({
                        "query": "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }",
                        "variables": { "input": { "nik": nik, "fullName": "Pekerja", "regencyCode": "36.03", "occupation": "FISHER" } },
                    });
                    let sent = http.post(format!("{url}/graphql")).bearer_auth(&key).json(&body).send().await;
                    let Ok(response) = sent else { continue };
                    let Ok(text) = response.text().await else { continue };
                    if text.contains("\"registerWorker\"") && !text.contains("\"errors\"") {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    common::eventually("some registrations answered", Duration::from_secs(30), || {
        let answered = answered.clone();
        async move { answered.load(Ordering::SeqCst) >= 200 }
    })
    .await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    // A COMMIT the server sent before it was killed is still carried out by its backend (the
    // count once missed one that landed after it): count once none of its transactions runs.
    common::eventually("the killed server's transactions ended", Duration::from_secs(10), || async {
        let running = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                       WHERE datname = current_database() AND backend_xid IS NOT NULL";
        TestApp::count(&app.state.db, running).await == 0
    })
    .await;
    let (entries, workers) = (app.count_rows("audit_log").await, app.count_rows("worker").await);
    // Every committed change has its entry; every answered one was committed.
    assert_eq!(entries, workers);
    assert!(entries as u64 >= answered.load(Ordering::SeqCst));
    let before_restart = chain(&app).await;
    assert_eq!(before_restart.broken, None);
    assert!(before_restart.unsealed > 0, "the kill left nothing unsealed: {before_restart:?}");

    // The restarted server seals what was committed before it listens.
    let restarted = Server::start_with(&app, serve).await;
    let report = chain(&app).await;
    assert_eq!((report.checked, report.unsealed, report.broken), (entries as u64, 0, None));
    restarted.stop();
    app.cleanup().await;
}
