//! SIGTERM, as systemd, Docker and Kubernetes send it, to the real `jaminan serve` process: new
//! connections are refused, the requests in flight finish (within the grace period) and the
//! process exits 0; past the grace period the requests left are cut and roll back.
use crate::common;

use std::time::{Duration, Instant};

use common::TestApp;
use common::binary::Server;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Value, json};

const RENAME: &str = "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"Siti Renamed\" }) { fullName } }";

/// Holds the worker's row (PostgreSQL) or the write lock (SQLite) so that a rename waits.
async fn block(app: &TestApp, worker: &str) -> DatabaseTransaction {
    let blocker = app.state.db.begin().await.unwrap();
    blocker.execute_unprepared(&format!("UPDATE worker SET full_name = full_name WHERE id = {worker}")).await.unwrap();
    blocker
}

/// The rename, sent in the background.
fn rename(server: &Server, admin: &str, worker: &str) -> tokio::task::JoinHandle<reqwest::Result<(u16, Value)>> {
    let request = reqwest::Client::new()
        .post(format!("{}/graphql", server.url))
        .bearer_auth(admin)
        .json(&json!({ "query": RENAME, "variables": { "id": worker } }));
    tokio::spawn(async move {
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    })
}

async fn stored_name(app: &TestApp, worker: &str) -> String {
    let response =
        app.gql_as(&app.admin, "query($id: ID!) { worker(id: $id) { fullName } }", json!({ "id": worker })).await;
    common::data(&response)["worker"]["fullName"].as_str().unwrap().to_owned()
}

backend_test!(sigterm_drains_requests_in_flight_and_exits_0, |app: TestApp| async move {
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let mut server = Server::start(&app, 20).await;
    let blocker = block(&app, &worker).await;
    let in_flight = rename(&server, &app.admin, &worker);
    // Waits out the time the request takes to reach the server and wait for the lock: nothing
    // of another process tells when it does.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    let healthz = format!("{}/healthz", server.url);
    common::eventually("no new connections after SIGTERM", Duration::from_secs(5), || async {
        reqwest::get(&healthz).await.is_err()
    })
    .await;
    assert!(server.child.try_wait().unwrap().is_none(), "still draining while the request waits");
    blocker.rollback().await.unwrap();
    let (status, response) = in_flight.await.unwrap().expect("the request in flight is answered");
    assert_eq!(status, 200, "{response}");
    assert_eq!(common::data(&response)["updateWorker"]["fullName"], "Siti Renamed");
    assert_eq!(server.exit_code(Duration::from_secs(10)).await, Some(0));
    assert_eq!(stored_name(&app, &worker).await, "Siti Renamed");
});

backend_test!(subscriptions_are_closed_at_shutdown_and_do_not_hold_the_drain, |app: TestApp| async move {
    let mut server = Server::start(&app, 20).await;
    let address = server.url.trim_start_matches("http://").parse().unwrap();
    let mut client = common::ws::WsClient::connect(address, Some(&app.admin)).await.unwrap();
    client.subscribe("1", "subscription { payoutChanged { id } }", json!({})).await;
    // In place in the server process: counted by its /metrics.
    let metrics = reqwest::Client::new().get(format!("{}/metrics", server.url)).bearer_auth(&app.admin);
    common::eventually("the subscription in place", Duration::from_secs(10), || async {
        let text = metrics.try_clone().unwrap().send().await.unwrap().text().await.unwrap();
        text.lines().find_map(|l| l.strip_prefix("jaminan_subscriptions_open ")).is_some_and(|n| n.trim() == "1")
    })
    .await;
    let terminated = Instant::now();
    server.terminate();
    // Closed with 1001 (going away): clients reconnect to another instance.
    let closed = client.next(Duration::from_secs(5)).await.expect("the connection is closed");
    assert_eq!(closed, json!({ "type": "closed", "code": 1001 }));
    // Nothing else to drain: the process exits at once, not after the 20 s grace period.
    assert_eq!(server.exit_code(Duration::from_secs(5)).await, Some(0));
    assert!(terminated.elapsed() < Duration::from_secs(5));
});

backend_test!(past_the_grace_period_requests_are_cut_and_roll_back, |app: TestApp| async move {
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let mut server = Server::start(&app, 1).await;
    let blocker = block(&app, &worker).await;
    let in_flight = rename(&server, &app.admin, &worker);
    // Waits out the time the request takes to reach the server and wait for the lock.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let terminated = Instant::now();
    server.terminate();
    let code = server.exit_code(Duration::from_secs(10)).await;
    let took = terminated.elapsed();
    assert_eq!(code, Some(1), "cut requests make the exit status say so");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    assert!(in_flight.await.unwrap().is_err(), "the cut request got no answer");
    blocker.rollback().await.unwrap();
    // The server's transaction was never committed: PostgreSQL aborts it when it finds the
    // connection gone, SQLite never got the lock. Waited out: a commit would show by then.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_name(&app, &worker).await, "Siti");
    assert!(app.stats_differences().await.is_empty());
});

backend_test!(personal_data_reads_are_audited_before_the_process_exits, |app: TestApp| async move {
    app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let mut server = Server::start(&app, 20).await;
    // Reads are appended once a second; one made just before SIGTERM must not be lost with the process.
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", server.url))
        .bearer_auth(&app.admin)
        .json(&json!({ "query": "{ workerByNik(nik: \"3603121505850001\") { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.terminate();
    assert_eq!(server.exit_code(Duration::from_secs(10)).await, Some(0));
    let audited = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_log WHERE entity_type = 'PERSONAL_DATA_READ' AND operation = 'workerByNik'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(audited, 1);
});
