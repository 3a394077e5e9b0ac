//! Live public figures (the publication recomputed in the background from change notifications,
//! and swapped in) and shared reads (one read per area and change for all its subscribers).
use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ws::WsClient;
use common::{TestApp, data};
use jaminan::auth::{self, Role};
use jaminan::stats::publication::Publications;
use serde_json::{Value, json};

const FIGURES: &str = "subscription($area: String, $year: Int!) {
    coverageStatsChanged(areaCode: $area, year: $year) { areaCode year coveredWorkers } }";

/// The refresh a server has unless told otherwise.
const DEFAULT_REFRESH: Duration = Duration::from_secs(30);

fn covered(messages: &[Value]) -> Vec<i64> {
    messages
        .iter()
        .filter(|m| m["type"] == "next")
        .map(|m| m["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"].as_i64().expect("a count"))
        .collect()
}

// 50 subscribers of 36.03 with keys of three kinds (nation-wide admins, viewers of 36.03): all
// read exact figures, so one read per change serves them all; a subscriber of another area has
// a feed of its own.
backend_test!(keyed_subscribers_of_one_area_share_one_read_per_change, |app: TestApp| async move {
    let worker = app.register("3603121505800001", "Pekerja", "36.03", None, "FARMER").await;
    let address = app.serve().await;
    let mut keys = vec![app.admin.clone(), app.admin2.clone()];
    for n in 0..3 {
        let (key, _) =
            auth::keys::create_key(&app.state.db, &format!("viewer {n}"), Role::Viewer, Some("36.03".into()))
                .await
                .unwrap();
        keys.push(key);
    }
    let mut clients = Vec::new();
    for key in &keys {
        let mut client = WsClient::connect(address, Some(key)).await.unwrap();
        for id in 0..10 {
            client.subscribe(&id.to_string(), FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
        }
        clients.push(client);
    }
    let mut elsewhere = WsClient::connect(address, Some(&app.admin)).await.unwrap();
    elsewhere.subscribe("other", FIGURES, json!({ "area": "36.71", "year": 2026 })).await;
    common::subscribed(&app.state.live, 51).await;
    assert_eq!(app.state.feeds.len(), 2, "one feed for 36.03, one for 36.71");

    let reads = app.state.feeds.reads();
    app.enroll(&worker, "36.03", "2026-01-01", Some("2026-12-31")).await;
    let mut updates = 0;
    for client in &mut clients {
        let messages = client.collect(Duration::from_millis(1500)).await;
        assert_eq!(covered(&messages), [1; 10], "{messages:?}");
        updates += messages.len();
    }
    assert_eq!(updates, 50);
    assert_eq!(app.state.feeds.reads() - reads, 1, "50 subscribers, one change, one read");
    assert_eq!(covered(&elsewhere.collect(Duration::from_millis(100)).await), Vec::<i64>::new());
    let metrics = app.scrape_metrics().await;
    assert!(metrics.contains("jaminan_figure_feed_reads_total{class=\"exact\"}"), "the reads are counted");

    // Feeds end with their last subscriber.
    drop((clients, elsewhere));
    common::eventually("the feeds ended", Duration::from_secs(5), || async { app.state.feeds.is_empty() }).await;
});

// With the default refresh (30 s) the public no longer waits for it: the change is gathered for a
// second, the publication recomputed in the background and swapped in, and the anonymous
// subscriber is told by the swap. Reads meanwhile are answered from the publication in place.
backend_test!(anonymous_subscribers_see_a_change_within_seconds, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.publications = Arc::new(Publications::new(1, DEFAULT_REFRESH));
    let app = app.with_state(state);
    let worker = app.register("3603121505800001", "Pekerja", "36.03", None, "FARMER").await;
    let address = app.serve().await;
    let mut anonymous = WsClient::connect(address, None).await.unwrap();
    anonymous.subscribe("1", FIGURES, json!({ "area": "36.03", "year": 2026 })).await;
    common::subscribed(&app.state.live, 1).await;
    let public = "{ coverageStats(areaCode: \"36.03\", year: 2026) { coveredWorkers } }";
    let mut swaps = app.state.publications.swaps();

    let enrolled = Instant::now();
    app.enroll(&worker, "36.03", "2026-01-01", Some("2026-12-31")).await;
    // Not yet recomputed: the publication in place answers at once.
    let read = Instant::now();
    assert_eq!(data(&app.gql_with(None, public, json!({})).await)["coverageStats"]["coveredWorkers"], 0);
    assert!(read.elapsed() < Duration::from_millis(500), "a reader waited: {:?}", read.elapsed());
    let update = anonymous.next(Duration::from_secs(5)).await.expect("the change within 5 s");
    let seen = enrolled.elapsed();
    assert_eq!(update["payload"]["data"]["coverageStatsChanged"]["coveredWorkers"], 1, "{update}");
    eprintln!("the anonymous subscriber saw the change {seen:?} after the enrollment was sent");
    assert!(seen < Duration::from_secs(5), "{seen:?}");
    assert!(seen >= publishing_gather(), "gathered for a second first: {seen:?}");
    assert!(swaps.try_recv().is_ok(), "told by the swap");
    assert_eq!(data(&app.gql_with(None, public, json!({})).await)["coverageStats"]["coveredWorkers"], 1);
    // Nothing more: the figures did not change again.
    assert_eq!(anonymous.collect(Duration::from_millis(1500)).await, Vec::<Value>::new());
});

fn publishing_gather() -> Duration {
    jaminan::services::publishing::GATHER
}

const CHILDREN: &str = "{ coverageStats(areaCode: \"36.71\", year: 2026) { children { areaCode coveredWorkers \
    newlyCovered byGender { gender coveredWorkers } byOccupation { occupation coveredWorkers } withheld } } }";

/// `count` workers living in `district`, covered by its regency in 2026.
async fn workers(app: &TestApp, district: &str, count: u32, first_serial: u32, occupation: &str) {
    for serial in first_serial..first_serial + count {
        let nik = format!("36711215058{serial:05}");
        let worker = app.register(&nik, &format!("Pekerja {serial}"), "36.71", Some(district), occupation).await;
        app.enroll(&worker, "36.71", "2026-01-01", Some("2026-12-31")).await;
    }
}

// Suppression is unchanged by the background refresh: the refreshed publication (k = 10) withholds
// exactly the cells a publication computed from scratch withholds, for every district.
backend_test!(a_refreshed_publication_withholds_what_a_full_recomputation_does, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.publications = Arc::new(Publications::new(10, DEFAULT_REFRESH));
    let refreshed = app.with_state(state);
    let mut state = app.state.clone();
    state.publications = Arc::new(Publications::new(10, Duration::ZERO));
    let recomputed = app.with_state(state);
    workers(&app, "36.71.01", 12, 1, "FARMER").await;
    workers(&app, "36.71.02", 3, 100, "FISHER").await;
    let before = refreshed.gql_with(None, CHILDREN, json!({})).await;
    assert_eq!(before, recomputed.gql_with(None, CHILDREN, json!({})).await);
    let mut swaps = refreshed.state.publications.swaps();

    // Small counts appear in a third district and grow in the second: what is withheld moves.
    workers(&app, "36.71.03", 2, 200, "FARMER").await;
    workers(&app, "36.71.02", 8, 300, "STREET_VENDOR").await;
    tokio::time::timeout(Duration::from_secs(5), swaps.recv()).await.expect("a swap within 5 s").unwrap();
    // Swaps until every change is in (the changes may span two gatherings).
    let expected = recomputed.gql_with(None, CHILDREN, json!({})).await;
    common::eventually("the refreshed publication caught up", Duration::from_secs(5), || async {
        refreshed.gql_with(None, CHILDREN, json!({})).await == expected
    })
    .await;
    assert_ne!(before, expected);
    let withheld: Vec<&Value> = data(&expected)["coverageStats"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["withheld"].as_array().unwrap().is_empty())
        .collect();
    assert!(!withheld.is_empty(), "some cells are withheld: {expected}");
});
