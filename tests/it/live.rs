//! Subscriptions over WebSocket (graphql-transport-ws): payout transitions and coverage figures as
//! they are committed, in scope, coalesced, across instances, ended when the key is revoked.
use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::binary::Server;
use common::ws::WsClient;
use common::{Backend, TestApp, data, error_code};
use jaminan::auth::throttle::Throttle;
use jaminan::auth::{self, Role};
use jaminan::config::RateLimits;
use jaminan::config::TrustedMode;
use jaminan::db;
use jaminan::domain::types::PayoutStatus;
use jaminan::graphql::admission::trusted_documents::TrustedDocuments;
use jaminan::i18n::{Lang, Msg};
use jaminan::services::AppState;
use jaminan::stats::publication::Publications;
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::{Value, json};

const PAYOUTS: &str = "subscription($regency: String, $statuses: [PayoutStatus!]) {
    payoutChanged(regencyCode: $regency, statuses: $statuses) { id status } }";

const FIGURES: &str = "subscription($area: String, $year: Int!) {
    coverageStatsChanged(areaCode: $area, year: $year) { areaCode year coveredWorkers } }";

/// Waiting long enough to be sure nothing else comes.
const QUIET: Duration = Duration::from_millis(1500);

async fn key(app: &TestApp, role: Role, scope: Option<&str>) -> (String, i64) {
    let (key, row) =
        auth::keys::create_key(&app.state.db, &format!("{role:?} {scope:?}"), role, scope.map(str::to_owned))
            .await
            .unwrap();
    (key, row.id)
}

/// A worker of `regency` covered since 2020 with a submitted accident claim; the payout's id.
async fn submitted_payout(app: &TestApp, serial: u32, regency: &str) -> String {
    let nik = format!("{}1215058{serial:05}", regency.replace('.', ""));
    let worker = app.register(&nik, &format!("Worker {serial}"), regency, None, "FISHER").await;
    app.enroll(&worker, regency, "2020-01-01", None).await;
    let response = app
        .gql_as(
            &app.admin,
            "mutation($input: SubmitPayoutInput!) { submitPayout(input: $input) { id } }",
            json!({ "input": { "workerId": worker, "benefit": "WORK_ACCIDENT_CARE", "incidentOn": "2024-03-01",
                "amount": "1500000", "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE" } }),
        )
        .await;
    data(&response)["submitPayout"]["id"].as_str().expect("payout id").to_owned()
}

async fn act(app: &TestApp, mutation: &str, id: &str) -> Value {
    let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ status }} }}");
    app.gql_as(&app.admin2, &query, json!({ "id": id })).await
}

fn statuses(messages: &[Value], id: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["id"] == id && m["type"] == "next")
        .map(|m| m["payload"]["data"]["payoutChanged"]["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

backend_test!(payout_transitions_reach_the_subscribers_in_scope, |app: TestApp| async move {
    let payout = submitted_payout(&app, 1, "36.03").await;
    let address = app.serve().await;
    let (viewer_36_03, _) = key(&app, Role::Viewer, Some("36.03")).await;
    let (viewer_36_71, _) = key(&app, Role::Viewer, Some("36.71")).await;
    let mut admin = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    admin.subscribe("all", PAYOUTS, json!({})).await;
    admin.subscribe("approved", PAYOUTS, json!({ "statuses": ["APPROVED"] })).await;
    admin.subscribe("elsewhere", PAYOUTS, json!({ "regency": "36.71" })).await;
    let mut inside = WsClient::connect(address, Some(&viewer_36_03)).await.unwrap();
    inside.subscribe("1", PAYOUTS, json!({})).await;
    let mut outside = WsClient::connect(address, Some(&viewer_36_71)).await.unwrap();
    outside.subscribe("1", PAYOUTS, json!({})).await;
    common::subscribed(&app.state.live, 5).await;
    // Open subscriptions are counted for /metrics (a gauge of the whole process: other tests'
    // subscriptions count too, these five at least; each is counted just after it is in place).
    let open = || async {
        let metrics = app.scrape_metrics().await;
        let open = metrics.lines().find_map(|l| l.strip_prefix("jaminan_subscriptions_open ")).expect("the gauge");
        open.parse::<f64>().unwrap()
    };
    common::eventually("five open subscriptions counted", Duration::from_secs(5), || async { open().await >= 5.0 })
        .await;

    assert_eq!(data(&act(&app, "verifyPayout", &payout).await)["verifyPayout"]["status"], "VERIFIED");
    let approved_at = Instant::now();
    assert_eq!(data(&act(&app, "approvePayout", &payout).await)["approvePayout"]["status"], "APPROVED");
    // A transition that does not exist changes nothing and sends nothing.
    assert_eq!(error_code(&act(&app, "verifyPayout", &payout).await), "INVALID_STATE");

    let messages = admin.collect(QUIET).await;
    assert_eq!(statuses(&messages, "all"), ["VERIFIED", "APPROVED"], "{messages:?}");
    assert_eq!(statuses(&messages, "approved"), ["APPROVED"]);
    assert!(statuses(&messages, "elsewhere").is_empty());
    let first = messages.iter().find(|m| m["id"] == "all").unwrap();
    assert_eq!(first["payload"]["data"]["payoutChanged"]["id"], payout.as_str());
    assert!(approved_at.elapsed() < Duration::from_secs(3));
    assert_eq!(statuses(&inside.collect(Duration::from_millis(200)).await, "1"), ["VERIFIED", "APPROVED"]);
    assert_eq!(outside.collect(Duration::from_millis(200)).await, Vec::<Value>::new());
});

// A subscriber may load a payout only after it has moved on (on PostgreSQL the notification
// arrives after the commit; a busy subscriber reads it later still): each step still shows as
// it was, not as the payout is now.
backend_test!(each_step_shows_as_it_was_when_the_payout_has_moved_on, |app: TestApp| async move {
    let payout = submitted_payout(&app, 1, "36.03").await;
    let mut events = app.state.live.subscribe().await.unwrap();
    act(&app, "verifyPayout", &payout).await;
    act(&app, "approvePayout", &payout).await;
    let paid = app
        .gql_as(
            &app.admin2,
            "mutation($id: ID!) { markPayoutPaid(id: $id, paymentReference: \"TRF-1\") { status } }",
            json!({ "id": payout }),
        )
        .await;
    assert_eq!(data(&paid)["markPayoutPaid"]["status"], "PAID");
    let mut steps = Vec::new();
    while steps.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event").unwrap();
        if let Some(row) = event.payout(&app.state.db).await.unwrap() {
            steps.push(row.clone());
        }
    }
    let [verified, approved, paid] = &steps[..] else { unreachable!() };
    assert_eq!(verified.status, PayoutStatus::Verified);
    assert!(verified.verified_at.is_some() && verified.approved_at.is_none() && verified.paid_at.is_none());
    assert_eq!(approved.status, PayoutStatus::Approved);
    assert!(approved.approved_at.is_some() && approved.paid_at.is_none() && approved.payment_reference.is_none());
    assert_eq!(paid.status, PayoutStatus::Paid);
    assert_eq!(paid.payment_reference.as_deref(), Some("TRF-1"));
    // The last step is the row as it is.
    assert_eq!(
        paid,
        &jaminan::entities::payout::Entity::find_by_id(paid.id).one(&app.state.db).await.unwrap().unwrap()
    );
});

/// The code of the error that ends the next subscription: an `error` message (refused before it
/// started) or a `next` carrying errors, then `complete`.
async fn refusal(client: &mut WsClient) -> String {
    let message = client.next(Duration::from_secs(5)).await.expect("an answer");
    let error = match message["type"].as_str() {
        Some("error") => &message["payload"][0],
        Some("next") => &message["payload"]["errors"][0],
        _ => panic!("expected an error, got {message}"),
    };
    if message["type"] == "next" {
        assert_eq!(client.next(Duration::from_secs(5)).await.unwrap()["type"], "complete");
    }
    error["extensions"]["code"].as_str().expect("a code").to_owned()
}

// An unknown or revoked key at connection_init closes the connection with 4401 (Unauthorized),
// which the graphql-ws client does not retry (it retried 4403 five times, each retry one more
// wrong key against the address's budget); a spent budget with 1013 (try again later), and then
// only unknown keys: a valid key from the same address still connects. A known key is never
// refused at connection_init for lacking a right: roles and scopes refuse its subscriptions
// (FORBIDDEN), and its connection stays open.
backend_test!(a_refused_key_closes_the_connection_as_graphql_ws_says, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { failed_keys_per_hour: 3, ..RateLimits::DEFAULT }));
    let (revoked, row) = auth::keys::create_key(&app.state.db, "left the office", Role::Viewer, None).await.unwrap();
    assert!(auth::keys::revoke_key(&app.state.db, row.id).await.unwrap());
    let (viewer, _) = key(&app, Role::Viewer, Some("36.71")).await;
    let address = app.with_state(state).serve().await;
    for key in ["jmn_not_a_key", "jmn_not_a_key", revoked.as_str()] {
        assert_eq!(WsClient::connect(address, Some(key)).await.err(), Some(4401), "{key}");
    }
    assert_eq!(WsClient::connect(address, Some("jmn_not_a_key")).await.err(), Some(1013));
    assert_eq!(WsClient::connect(address, Some(&revoked)).await.err(), Some(1013));
    let mut admin = WsClient::connect(address, Some(&app.admin)).await.expect("a valid key still connects");
    admin.subscribe("1", PAYOUTS, json!({})).await;
    let mut scoped = WsClient::connect(address, Some(&viewer)).await.expect("a known key connects");
    scoped.subscribe("1", PAYOUTS, json!({ "regency": "36.03" })).await;
    assert_eq!(refusal(&mut scoped).await, "FORBIDDEN");
    scoped.subscribe("2", PAYOUTS, json!({ "regency": "36.71" })).await;
    assert_eq!(scoped.collect(Duration::from_millis(300)).await, Vec::<Value>::new(), "still open, still subscribed");
});

// Connections stay open for long, so besides the request budgets counted at connection_init a
// key (or an address without one) holds at most --websockets-per-caller connections at once
// (1013: try again later); the refusal's reason fits a close frame even in Indonesian.
backend_test!(a_key_holds_a_bounded_number_of_connections, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { websockets_per_caller: 2, ..RateLimits::DEFAULT }));
    let address = app.with_state(state).serve().await;
    let first = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    let _second = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    assert_eq!(WsClient::connect(address, Some(&app.admin)).await.err(), Some(1013));
    assert_eq!(WsClient::connect_in(address, Some(&app.admin), "id").await.err(), Some(1013));
    // Another key, and callers without a key, count on their own.
    let _other = WsClient::connect(address, Some(&app.admin2)).await.unwrap();
    let _anonymous = [WsClient::connect(address, None).await.unwrap(), WsClient::connect(address, None).await.unwrap()];
    assert_eq!(WsClient::connect(address, None).await.err(), Some(1013));
    // A closed connection frees its place.
    drop(first);
    let started = Instant::now();
    while let Err(code) = WsClient::connect(address, Some(&app.admin)).await {
        assert_eq!(code, 1013);
        assert!(started.elapsed() < Duration::from_secs(5), "the closed connection still counts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
});

// Before connection_init a socket counts against its client address (as a connection without a
// key does) and among the pending sockets in all: 300 sockets that never introduced themselves
// were each held for the whole wait. Refused before the upgrade, with 429 and Retry-After.
backend_test!(sockets_count_before_they_introduce_themselves, |app: TestApp| async move {
    let mut state = app.state.clone();
    let limits = RateLimits {
        websockets_per_caller: 2,
        pending_websockets: 4,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..RateLimits::DEFAULT
    };
    state.throttle = Arc::new(Throttle::new(&limits));
    let address = app.with_state(state).serve().await;
    let from = |client: &'static str| WsClient::try_upgrade(address, "en", Some(client));
    let silent = [from("10.0.0.1").await.unwrap(), from("10.0.0.1").await.unwrap()];
    assert_eq!(from("10.0.0.1").await.err(), Some(429), "the address holds two already");
    let mut others = vec![from("10.0.0.2").await.unwrap(), from("10.0.0.3").await.unwrap()];
    assert_eq!(from("10.0.0.4").await.err(), Some(429), "four are pending in all");
    // One introduces itself with a key: no longer pending, nor its address's.
    let introduced = others.remove(0);
    let mut introduced = introduced;
    introduced
        .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", app.admin) } }))
        .await;
    assert_eq!(introduced.next(Duration::from_secs(5)).await, Some(json!({ "type": "connection_ack" })));
    let mut fourth = from("10.0.0.4").await.expect("a pending place is free again");
    drop(silent);
    let started = Instant::now();
    let _again = loop {
        match from("10.0.0.1").await {
            Ok(socket) => break socket,
            Err(status) => assert_eq!(status, 429),
        }
        assert!(started.elapsed() < Duration::from_secs(5), "closed sockets still count");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Connections without a key count apart from pending sockets: they never keep a key out.
    fourth.send(json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(fourth.next(Duration::from_secs(5)).await, Some(json!({ "type": "connection_ack" })));
});

// A connection must send connection_init within one ping interval (4408, as graphql-ws says)
// and answer the server's pings: one that stays quiet for three intervals is closed (a vanished
// client keeps no place), one that reads stays open.
backend_test!(silent_connections_are_closed, |app: TestApp| async move {
    let mut http = app.http.clone();
    http.limits.websocket_ping_secs = 1;
    let address = app.with_http(http).serve().await;
    let mut uninitialized = WsClient::upgrade(address, "en").await;
    let started = Instant::now();
    assert_eq!(uninitialized.next(Duration::from_secs(5)).await, Some(json!({ "type": "closed", "code": 4408 })));
    assert!(started.elapsed() >= Duration::from_millis(900));

    let mut deaf = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    let mut listening = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    listening.subscribe("payouts", PAYOUTS, json!({})).await;
    // Reading answers the pings; `deaf` reads nothing meanwhile.
    let heard = listening.collect(Duration::from_millis(4500)).await;
    assert!(heard.is_empty(), "{heard:?}");
    // Closed by then: the close frame, or the connection's end when answering the queued pings
    // met the closed socket first.
    let started = Instant::now();
    let closed = deaf.collect(Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "the quiet connection is still open: {closed:?}");
    assert!(closed.iter().all(|m| m == &json!({ "type": "closed", "code": 1001 })), "{closed:?}");
    // The reader's subscription still works.
    let payout = submitted_payout(&app, 1, "36.03").await;
    act(&app, "verifyPayout", &payout).await;
    assert_eq!(statuses(&listening.collect(Duration::from_secs(2)).await, "payouts"), ["SUBMITTED", "VERIFIED"]);
});

backend_test!(subscriptions_follow_the_rules_of_queries, |app: TestApp| async move {
    let address = app.serve().await;
    // Anonymous callers may watch statistics, not payouts.
    let mut anonymous = WsClient::connect(address, None).await.unwrap();
    anonymous.subscribe("1", PAYOUTS, json!({})).await;
    assert_eq!(refusal(&mut anonymous).await, "UNAUTHENTICATED");

    // In the connection's language (its upgrade request's Accept-Language); the codes are the same.
    let mut indonesian = WsClient::connect_in(address, None, "id-ID,id;q=0.9").await.unwrap();
    indonesian.subscribe("1", PAYOUTS, json!({})).await;
    let message = indonesian.next(Duration::from_secs(5)).await.unwrap();
    let error = &message["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(error["message"], Msg::KeyRequired.text(Lang::Id), "{message}");
    assert_ne!(Msg::KeyRequired.text(Lang::Id), Msg::KeyRequired.text(Lang::En));

    // A regency outside the key's scope is refused, an unknown one too.
    let (viewer, _) = key(&app, Role::Viewer, Some("36.71")).await;
    let mut scoped = WsClient::connect(address, Some(&viewer)).await.unwrap();
    scoped.subscribe("1", PAYOUTS, json!({ "regency": "36.03" })).await;
    assert_eq!(refusal(&mut scoped).await, "FORBIDDEN");
    scoped.subscribe("2", PAYOUTS, json!({ "regency": "99.99" })).await;
    assert_eq!(refusal(&mut scoped).await, "BAD_USER_INPUT");
    scoped.subscribe("3", FIGURES, json!({ "area": "36.99", "year": 2026 })).await;
    assert_eq!(refusal(&mut scoped).await, "NOT_FOUND");

    // Queries and mutations go over HTTP; subscriptions over WebSocket only.
    scoped.subscribe("4", "{ regencies(first: 1) { edges { node { code } } } }", json!({})).await;
    assert_eq!(refusal(&mut scoped).await, "BAD_USER_INPUT");
    let over_http = app.gql_as(&viewer, PAYOUTS, json!({})).await;
    assert_eq!(error_code(&over_http), "BAD_USER_INPUT");
    assert!(over_http["errors"][0]["message"].as_str().unwrap().contains("WebSocket"));
});

backend_test!(coverage_figures_follow_committed_changes_at_most_once_a_second, |app: TestApp| async move {
    let address = app.serve().await;
    // Anonymous callers may subscribe, as they may query statistics (k = 1 here: nothing withheld).
    let mut anonymous = WsClient::connect(address, None).await.unwrap();
    anonymous.subscribe("regency", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    let mut admin = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    admin.subscribe("nation", FIGURES, json!({ "year": 2026 })).await;
    admin.subscribe("other", FIGURES, json!({ "area": "36.71", "year": 2026 })).await;
    admin.subscribe("before", FIGURES, json!({ "area": "36.03", "year": 2019 })).await;
    // A subscription starts by reading the current figures; changes after that are sent.
    common::subscribed(&app.state.live, 4).await;

    let started = Instant::now();
    for serial in 1..=4 {
        let worker = app.register(&format!("3603121505{serial:06}"), "Pekerja", "36.03", None, "FARMER").await;
        app.enroll(&worker, "36.03", "2026-01-01", Some("2026-12-31")).await;
    }
    let writes_took = started.elapsed();
    let mut messages = anonymous.collect(Duration::from_millis(2500)).await;
    messages.extend(admin.collect(Duration::from_millis(100)).await);
    let covered = |id: &str| -> Vec<i64> {
        messages
            .iter()
            .filter(|m| m["id"] == id)
            .map(|m| m["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"].as_i64().unwrap())
            .collect()
    };
    // Coalesced: four changes, at most one update per second of writing plus the last.
    let regency = covered("regency");
    assert!(!regency.is_empty() && regency.len() <= 2 + writes_took.as_secs() as usize, "{messages:?}");
    assert_eq!(regency.last(), Some(&4));
    assert_eq!(covered("nation").last(), Some(&4), "{messages:?}");
    assert!(covered("other").is_empty());
    assert!(covered("before").is_empty());
    let first = messages.iter().find(|m| m["id"] == "regency").unwrap();
    assert_eq!(first["payload"]["data"]["coverageStatsChanged"]["areaCode"], "36.03");
});

backend_test!(the_public_receives_only_published_figures, |app: TestApp| async move {
    // The defaults: counts below 10 withheld outside a key's scope, the publication kept 1 s.
    let mut state = app.state.clone();
    state.publications = std::sync::Arc::new(Publications::new(10, Duration::from_secs(1)));
    let address = app.with_state(state).serve().await;
    let mut anonymous = WsClient::connect(address, None).await.unwrap();
    let withheld =
        "subscription { coverageStatsChanged(areaCode: \"36.71.01\", year: 2026) { coveredWorkers withheld } }";
    anonymous.subscribe("1", withheld, json!({})).await;
    let (viewer, _) = key(&app, Role::Viewer, Some("36.71")).await;
    let mut in_scope = WsClient::connect(address, Some(&viewer)).await.unwrap();
    in_scope.subscribe("1", FIGURES, json!({ "area": "36.71.01", "year": 2026 })).await;
    common::subscribed(&app.state.live, 2).await;

    // One farmer in the district: his count is withheld from the public, exact in scope.
    let worker = app.register("3671011505800001", "Petani", "36.71", Some("36.71.01"), "FARMER").await;
    app.enroll(&worker, "36.71", "2026-01-01", Some("2026-12-31")).await;
    let seen = in_scope.next(Duration::from_secs(3)).await.expect("the key in scope sees the change");
    assert_eq!(seen["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"], 1);
    // The public reads what a query would read: the count withheld (0, named in `withheld`),
    // once the publication includes the change. Nothing more is sent.
    let public = anonymous.collect(Duration::from_millis(3000)).await;
    assert_eq!(public.len(), 1, "{public:?}");
    let figures = &public[0]["payload"]["data"]["coverageStatsChanged"];
    assert_eq!(figures["coveredWorkers"], 0);
    assert!(figures["withheld"].as_array().unwrap().contains(&json!("COVERED_WORKERS")), "{figures}");
});

backend_test!(the_dashboard_follows_live_figures_by_its_trusted_document, |app: TestApp| async move {
    // Where only trusted documents run, the dashboard's subscription runs by its hash (as
    // dashboard.js sends it) and any other subscription document is refused.
    let mut http = app.http.clone();
    http.trusted = std::sync::Arc::new(TrustedDocuments::parse("{}", TrustedMode::Only).unwrap());
    let address = app.with_http(http).serve().await;
    let live = jaminan::graphql::admission::trusted_documents::DASHBOARD_DOCUMENTS
        .iter()
        .find(|(name, _)| *name == "DashboardLive")
        .unwrap()
        .1;
    let hash = jaminan::graphql::admission::trusted_documents::sha256_hex(live);
    let mut browser = WsClient::connect(address, None).await.unwrap();
    browser.subscribe("other", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    assert_eq!(refusal(&mut browser).await, "TRUSTED_DOCUMENTS_ONLY");
    browser
        .send(json!({ "id": "live", "type": "subscribe", "payload": { "query": "",
            "variables": { "code": "36.03", "year": 2026 },
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } } }))
        .await;
    common::subscribed(&app.state.live, 1).await;
    let worker = app.register("3603121505800001", "Pekerja", "36.03", None, "FARMER").await;
    app.enroll(&worker, "36.03", "2026-01-01", None).await;
    let update = browser.next(Duration::from_secs(3)).await.expect("a live update");
    assert_eq!(update["id"], "live", "{update}");
    assert_eq!(update["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"], 1);
});

backend_test!(one_connection_holds_at_most_100_subscriptions, |app: TestApp| async move {
    let address = app.serve().await;
    let mut client = WsClient::connect(address, None).await.unwrap();
    let max = jaminan::http::websocket::MAX_SUBSCRIPTIONS_PER_CONNECTION;
    for id in 0..max {
        client.subscribe(&id.to_string(), FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    }
    client.subscribe("one too many", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    let refused = client.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(refused["id"], "one too many", "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(client.next(Duration::from_secs(5)).await.unwrap()["type"], "complete");
    // Completing one frees its slot.
    client.send(json!({ "id": "0", "type": "complete" })).await;
    // The server answers with `complete` once it has dropped the subscription, and its slot.
    let completed = client.next(Duration::from_secs(10)).await;
    assert_eq!(completed, Some(json!({ "id": "0", "type": "complete" })), "the completed subscription gone");
    client.subscribe("in its place", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    let answers = client.collect(Duration::from_secs(1)).await;
    assert!(answers.iter().all(|m| m["id"] != "in its place"), "accepted, and quiet until a change: {answers:?}");
});

backend_test!(a_revoked_key_ends_its_subscriptions_within_a_second, |app: TestApp| async move {
    let address = app.serve().await;
    let (operator, id) = key(&app, Role::Operator, Some("36.03")).await;
    let mut client = WsClient::connect(address, Some(&operator)).await.unwrap();
    client.subscribe("payouts", PAYOUTS, json!({})).await;
    client.subscribe("figures", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    common::subscribed(&app.state.live, 2).await;
    assert!(auth::keys::revoke_key(&app.state.db, id).await.unwrap());
    let revoked_at = Instant::now();
    let mut ended = Vec::new();
    while ended.len() < 2 {
        let message = client.next(Duration::from_secs(3)).await.expect("the subscriptions end");
        if message["type"] == "next" && message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
            ended.push(message["id"].as_str().unwrap().to_owned());
        }
    }
    // The key cache is re-read every half second, and each subscription checks every half second.
    assert!(revoked_at.elapsed() < Duration::from_millis(1300), "{:?}", revoked_at.elapsed());
    ended.sort();
    assert_eq!(ended, ["figures", "payouts"]);
});

/// Two instances on one PostgreSQL (each its own pool, listener and key cache): a payout approved
/// through A reaches a subscriber of B within a second; a notification sent by a transaction that
/// rolls back reaches no one, nor does a payout's step already delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn changes_reach_the_subscribers_of_every_instance() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    assert_eq!(app.backend, Backend::Postgres);
    let payout = submitted_payout(&app, 1, "36.03").await;
    let other = db::connect(&app.database_url(), jaminan::config::DEFAULT_STATEMENT_TIMEOUT_SECS).await.unwrap();
    let (instance_b, live_b) = serve_instance(other, app.database_url()).await;
    let mut subscriber = WsClient::connect(instance_b, Some(&app.admin)).await.unwrap();
    subscriber.subscribe("1", PAYOUTS, json!({})).await;
    common::subscribed(&live_b, 1).await;

    // Through instance A's HTTP (the test app's router).
    let approved = Instant::now();
    assert_eq!(data(&act(&app, "verifyPayout", &payout).await)["verifyPayout"]["status"], "VERIFIED");
    let message = subscriber.next(Duration::from_secs(1)).await.expect("delivered within a second");
    assert_eq!(message["payload"]["data"]["payoutChanged"]["status"], "VERIFIED");
    assert!(approved.elapsed() < Duration::from_secs(1));

    // The channel is the transport: a rolled-back notification is never delivered.
    let id = payout.parse::<i64>().unwrap();
    let notify = |status: &str| {
        let change = json!({ "payout": { "id": id, "regencyCode": "36.03", "status": status } });
        format!("SELECT pg_notify('jaminan_changes', '{change}')")
    };
    let txn = app.state.db.begin().await.unwrap();
    txn.execute_unprepared(&notify("APPROVED")).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(subscriber.collect(QUIET).await, Vec::<Value>::new());
    // A step already delivered, arriving again or late (two instances' notifications may cross),
    // is not shown as the payout's state.
    app.state.db.execute_unprepared(&notify("SUBMITTED")).await.unwrap();
    app.state.db.execute_unprepared(&notify("VERIFIED")).await.unwrap();
    assert_eq!(subscriber.collect(QUIET).await, Vec::<Value>::new());
    let txn = app.state.db.begin().await.unwrap();
    txn.execute_unprepared(&notify("APPROVED")).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(subscriber.next(Duration::from_secs(1)).await.unwrap()["type"], "next");
    app.cleanup().await;
}

/// A client that goes away while its mutation commits: the request is dropped (as axum drops the
/// handler of a closed connection), the change is committed all the same, and the subscribers
/// hear of it. A deferred trigger holds the COMMIT for a second, so that the drop falls inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn a_change_committed_after_its_client_left_still_reaches_the_subscribers() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let payout = submitted_payout(&app, 1, "36.03").await;
    let mut subscriber = WsClient::connect(app.serve().await, Some(&app.admin)).await.unwrap();
    subscriber.subscribe("1", PAYOUTS, json!({})).await;
    common::subscribed(&app.state.live, 1).await;
    app.state
        .db
        .execute_unprepared(
            "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$; \
             CREATE CONSTRAINT TRIGGER slow_commit AFTER UPDATE ON payout \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()",
        )
        .await
        .unwrap();
    let committing = async {
        let sleeping = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                        WHERE datname = current_database() AND wait_event = 'PgSleep'";
        while TestApp::count(&app.state.db, sleeping).await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        response = act(&app, "verifyPayout", &payout) => panic!("answered before its client left: {response}"),
        () = committing => {}
    }
    let message = subscriber.next(Duration::from_secs(5)).await.expect("the committed change was announced");
    assert_eq!(message["payload"]["data"]["payoutChanged"]["status"], "VERIFIED");
    let response =
        app.gql_as(&app.admin, "query($id: ID!) { payout(id: $id) { status } }", json!({ "id": payout })).await;
    assert_eq!(data(&response)["payout"]["status"], "VERIFIED");
    app.cleanup().await;
}

/// The same with two `jaminan serve` processes: a payout verified through A reaches a subscriber
/// of B within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn changes_reach_the_subscribers_of_another_server_process() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let payout = submitted_payout(&app, 1, "36.03").await;
    let (a, b) = (Server::start(&app, 5).await, Server::start(&app, 5).await);
    let mut subscriber =
        WsClient::connect(b.url.trim_start_matches("http://").parse().unwrap(), Some(&app.admin)).await.unwrap();
    subscriber.subscribe("1", PAYOUTS, json!({})).await;
    // In place in the other process: counted by its /metrics.
    let client = reqwest::Client::new();
    common::eventually("the subscription in place in process B", Duration::from_secs(10), || async {
        let metrics = client.get(format!("{}/metrics", b.url)).bearer_auth(&app.admin).send().await.unwrap();
        let text = metrics.text().await.unwrap();
        text.lines().find_map(|l| l.strip_prefix("jaminan_subscriptions_open ")).is_some_and(|n| n.trim() == "1")
    })
    .await;
    let verified = Instant::now();
    let response: Value = reqwest::Client::new()
        .post(format!("{}/graphql", a.url))
        .bearer_auth(&app.admin2)
        .json(&json!({ "query": "mutation($id: ID!) { verifyPayout(id: $id) { status } }", "variables": { "id": payout } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(data(&response)["verifyPayout"]["status"], "VERIFIED");
    let message =
        subscriber.next(Duration::from_secs(1)).await.expect("delivered by the other process within a second");
    assert_eq!(message["payload"]["data"]["payoutChanged"]["status"], "VERIFIED");
    assert!(verified.elapsed() < Duration::from_secs(1));
    drop((a, b));
    app.cleanup().await;
}

/// An import run from the command line (a process of its own, which ends right after its commit)
/// reaches the subscribers of a running server: the process sends its notification before it
/// exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn an_import_from_the_command_line_reaches_the_subscribers_of_a_server() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let address = app.serve().await;
    let mut admin = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    admin.subscribe("1", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    common::subscribed(&app.state.live, 1).await;

    let list = std::env::temp_dir().join(format!("jaminan-live-import-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(
        &list,
        "nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number\n\
         3603011505850001,Budi Santoso,FISHER,36.03.01,2026-01-01,2026-12-31,,,,\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(["import", "enrollments", "--regency", "36.03", list.to_str().unwrap()])
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&list);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let message = admin.next(Duration::from_secs(3)).await.expect("the import's figures");
    assert_eq!(message["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"], 1);
    app.cleanup().await;
}

/// Notifications sent while an instance's listening connection is down never reach it: once it
/// listens again it sends the payouts changed meanwhile from the database, and figure
/// subscribers receive fresh figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn changes_made_while_the_listener_was_cut_off_arrive_once_it_is_back() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let payout = submitted_payout(&app, 1, "36.03").await;
    // The instance's pool reaches PostgreSQL directly, its listening connection through a proxy.
    let (proxy, listen_url) = common::proxy::in_front_of(&app.database_url()).await;
    let (instance, live) = serve_instance(app.state.db.clone(), listen_url).await;
    let mut subscriber = WsClient::connect(instance, Some(&app.admin)).await.unwrap();
    subscriber.subscribe("payouts", PAYOUTS, json!({})).await;
    subscriber.subscribe("figures", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    common::subscribed(&live, 2).await;

    proxy.cut();
    // Waits out the moment the proxy's piped connections take to close (nothing tells when a
    // notification could no longer slip through).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(data(&act(&app, "verifyPayout", &payout).await)["verifyPayout"]["status"], "VERIFIED");
    let worker = app.register("3603121505000002", "Pekerja", "36.03", None, "FARMER").await;
    app.enroll(&worker, "36.03", "2026-01-01", Some("2026-12-31")).await;
    assert_eq!(subscriber.collect(QUIET).await, Vec::<Value>::new(), "nothing heard while cut off");

    proxy.restore();
    let messages = subscriber.collect(Duration::from_secs(4)).await;
    assert_eq!(statuses(&messages, "payouts"), ["VERIFIED"], "{messages:?}");
    let figures: Vec<&Value> = messages.iter().filter(|m| m["id"] == "figures").collect();
    assert_eq!(figures.len(), 1, "{messages:?}");
    assert_eq!(figures[0]["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"], 2);
    app.cleanup().await;
}

/// Another instance of the server on `db`: its own state, hub and listener. It listens on a
/// connection of its own URL, as `--listen-database-url` makes it do (beside PgBouncer).
async fn serve_instance(
    db: sea_orm::DatabaseConnection,
    listen_url: String,
) -> (std::net::SocketAddr, Arc<jaminan::live::Live>) {
    let mut state = common::unthrottled(AppState::new(db.clone()).await.unwrap());
    state.live = jaminan::live::Live::listening_at(db, Some(listen_url));
    let live = state.live.clone();
    (common::serve(jaminan::app::App { state, http: Default::default() }).await, live)
}
