//! `/metrics`: the Prometheus text a scrape gets, requests counted by operation and outcome,
//! errors by code, the pool, payouts and unsealed audit entries, bounded operation labels, and
//! `--metrics-listen`.
//!
//! The recorder is global to the process and every test of this binary records into it: each
//! test sends operation names of its own and checks them, or checks that a count increased.
use crate::common;

use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::binary::Server;
use common::{Backend, TestApp};
use serde_json::json;

/// GET /metrics on the app as an admin: status, content type and text.
async fn scrape(app: &TestApp) -> (StatusCode, String, String) {
    scrape_with(app, Some(&app.admin)).await
}

/// GET /metrics on the app with `Authorization: Bearer <credentials>`, or none.
async fn scrape_with(app: &TestApp, credentials: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get("/metrics");
    if let Some(credentials) = credentials {
        request = request.header("authorization", format!("Bearer {credentials}"));
    }
    let response = tower::ServiceExt::oneshot(app.router.clone(), request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, content_type, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

/// The value of the sample whose name and labels are exactly `series` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

/// A GraphQL name no other test sends.
fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

backend_test!(requests_errors_and_the_pool_are_counted, |app: TestApp| async move {
    let (status, content_type, text) = scrape(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(sample(&text, &format!("jaminan_build_info{{version=\"{version}\"}}")), 1.0, "{text}");
    // Described and rendered before any subscription opens.
    assert!(text.contains("# TYPE jaminan_subscriptions_open gauge"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("jaminan_subscriptions_open ")), "{text}");
    for series in [
        "jaminan_db_pool_connections{pool=\"main\",state=\"idle\"}",
        "jaminan_db_pool_connections{pool=\"main\",state=\"in_use\"}",
        "jaminan_db_pool_max_connections{pool=\"main\"}",
        "jaminan_db_pool_waiting",
        "jaminan_payouts{status=\"PAID\"}",
        "jaminan_payouts{status=\"SUBMITTED\"}",
    ] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{series} "))), "{series} missing:\n{text}");
    }
    assert!(sample(&text, "jaminan_db_pool_max_connections{pool=\"main\"}") >= 1.0);

    // A key holder's named query: counted under its name, ok, with its latency.
    let ok = unique("MetricsOk");
    let response = app.gql_as(&app.admin, &format!("query {ok} {{ provinces {{ code }} }}"), json!({})).await;
    common::data(&response);
    // An error: counted by its code, and the request's outcome is that code.
    let failing = unique("MetricsFails");
    let before = sample(&scrape(&app).await.2, "jaminan_graphql_errors_total{code=\"NOT_FOUND\"}");
    let response = app
        .gql_as(&app.admin, &format!("mutation {failing} {{ approvePayout(id: \"999999\") {{ id }} }}"), json!({}))
        .await;
    assert_eq!(common::error_code(&response), "NOT_FOUND", "{response}");
    // Refused before execution (not JSON): counted under `unknown` with its code.
    let before_refused = sample(
        &scrape(&app).await.2,
        "jaminan_graphql_requests_total{operation=\"unknown\",outcome=\"BAD_USER_INPUT\"}",
    );
    let (status, _) = app.post_json(Some(&app.admin), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let text = scrape(&app).await.2;
    assert_eq!(sample(&text, &format!("jaminan_graphql_requests_total{{operation=\"{ok}\",outcome=\"ok\"}}")), 1.0);
    assert_eq!(
        sample(&text, &format!("jaminan_graphql_requests_total{{operation=\"{failing}\",outcome=\"NOT_FOUND\"}}")),
        1.0,
        "{text}"
    );
    assert!(sample(&text, "jaminan_graphql_errors_total{code=\"NOT_FOUND\"}") >= before + 1.0);
    assert!(
        sample(&text, "jaminan_graphql_requests_total{operation=\"unknown\",outcome=\"BAD_USER_INPUT\"}")
            >= before_refused + 1.0
    );
    let buckets = format!("jaminan_graphql_request_duration_seconds_bucket{{operation=\"{ok}\",le=\"+Inf\"}}");
    assert_eq!(sample(&text, &buckets), 1.0, "a latency histogram per operation:\n{text}");
    assert!(text.contains(&format!("jaminan_graphql_request_duration_seconds_count{{operation=\"{ok}\"}} 1")));
});

backend_test!(operation_labels_are_bounded, |app: TestApp| async move {
    // Anonymous callers' own names are not label values: anyone could send millions.
    let anonymous = unique("Anonymous");
    let before = sample(&scrape(&app).await.2, "jaminan_graphql_requests_total{operation=\"other\",outcome=\"ok\"}");
    common::data(&app.gql(&format!("query {anonymous} {{ provinces {{ code }} }}"), json!({})).await);
    let text = scrape(&app).await.2;
    assert!(!text.contains(&anonymous), "{text}");
    assert!(sample(&text, "jaminan_graphql_requests_total{operation=\"other\",outcome=\"ok\"}") >= before + 1.0);

    // A trusted document's name is, for anyone.
    let trusted_name = unique("Trusted");
    let document = format!("query {trusted_name} {{ provinces {{ code }} }}");
    let hash = jaminan::graphql::admission::trusted_documents::sha256_hex(&document);
    let manifest = json!({ hash.clone(): document }).to_string();
    let mut http = app.http.clone();
    http.trusted = std::sync::Arc::new(
        jaminan::graphql::admission::trusted_documents::TrustedDocuments::parse(
            &manifest,
            jaminan::config::TrustedMode::Allowed,
        )
        .expect("manifest"),
    );
    let trusting = app.with_http(http);
    let (status, body) = trusting.post_json(None, &json!({ "documentId": format!("sha256:{hash}") }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = scrape(&trusting).await.2;
    assert_eq!(
        sample(&text, &format!("jaminan_graphql_requests_total{{operation=\"{trusted_name}\",outcome=\"ok\"}}")),
        1.0,
        "{text}"
    );
});

/// The pool of the mutations (PostgreSQL only), as the server process sees it.
fn assert_write_pool(app: &TestApp, text: &str, connections: f64) {
    let series = "jaminan_db_pool_max_connections{pool=\"writes\"}";
    match app.backend {
        Backend::Postgres => assert_eq!(sample(text, series), connections, "{text}"),
        Backend::Sqlite => assert!(!text.contains("pool=\"writes\""), "SQLite has one pool:\n{text}"),
    }
}

backend_test!(metrics_listen_moves_metrics_off_the_main_address, |app: TestApp| async move {
    let metrics_port = free_port();
    let server = Server::start_with(&app, |serve| {
        _ = serve.args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}"), "--db-max-write-connections", "3"])
    })
    .await;
    let url = server.url.clone();
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await.expect("metrics address");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("jaminan_build_info"));
    assert_write_pool(&app, &text, 3.0);
    let main = reqwest::get(format!("{url}/metrics")).await.expect("main address");
    assert_eq!(main.status(), 404, "the public address no longer serves /metrics");
    // The GraphQL API is not on the metrics address.
    let graphql = reqwest::get(format!("http://127.0.0.1:{metrics_port}/graphql?query=%7Bprovinces%7Bcode%7D%7D"))
        .await
        .expect("metrics address");
    assert_eq!(graphql.status(), 404);
    server.stop();

    // Without it, the main address serves /metrics to an ADMIN key or the metrics token.
    let server = Server::start_with(&app, |serve| _ = serve.args(["--metrics-token", "scrape-me"])).await;
    let client = reqwest::Client::new();
    let get = |credentials: &str| client.get(format!("{}/metrics", server.url)).bearer_auth(credentials).send();
    assert_eq!(get("scrape-me").await.expect("main address").status(), 200);
    let scraped = get(&app.admin).await.expect("main address");
    assert_eq!(scraped.status(), 200);
    assert_write_pool(&app, &scraped.text().await.unwrap(), jaminan::db::default_max_write_connections() as f64);
    assert_eq!(get("scrape-me-not").await.expect("main address").status(), 401);
    server.stop();
});

// On the main (public) address /metrics carries exact national payout counts: an ADMIN key
// or the metrics token only.
backend_test!(metrics_on_the_main_address_need_an_admin, |app: TestApp| async move {
    let (status, _, text) = scrape_with(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(!text.contains("jaminan_payouts"), "{text}");
    let viewer =
        jaminan::auth::keys::create_key(&app.state.db, "wall", jaminan::auth::Role::Viewer, None).await.unwrap().0;
    let (status, _, text) = scrape_with(&app, Some(&viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    let (status, _, text) = scrape_with(&app, Some("jmn_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert_eq!(scrape_with(&app, Some(&app.admin)).await.0, StatusCode::OK);
    // The token opens it too, the scheme in any case.
    let mut http = app.http.clone();
    http.metrics = jaminan::http::MetricsOnMain::ForAdmins { token: Some("scrape-me".into()) };
    let with_token = app.with_http(http);
    let request = Request::get("/metrics").header("authorization", "bearer scrape-me").body(Body::empty()).unwrap();
    assert_eq!(with_token.send_raw(request).await.0, StatusCode::OK);
});

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a request's metrics cost: the label lookup, a counter and a histogram sample (`cargo test
/// --release --test it recording_a_request -- --ignored --nocapture`; a debug build overstates it).
#[test]
#[ignore]
fn recording_a_request_costs_little() {
    jaminan::observability::metrics::handle();
    let names = jaminan::observability::metrics::operation_names();
    let rounds = 200_000;
    let started = Instant::now();
    for i in 0..rounds {
        let label = names.label(Some("OverheadProbe"), false, true);
        metrics::histogram!(jaminan::observability::metrics::REQUEST_DURATION, "operation" => label.clone())
            .record(0.002);
        metrics::counter!(jaminan::observability::metrics::REQUESTS, "operation" => label, "outcome" => if i % 10 == 0 { "NOT_FOUND" } else { "ok" })
            .increment(1);
    }
    let each = started.elapsed() / rounds;
    let render = Instant::now();
    let text = jaminan::observability::metrics::handle().render();
    println!("per request: {each:?}; a render: {:?} ({} bytes)", render.elapsed(), text.len());
}

// Operations waiting for a pool connection are counted (seen through sea-orm's and sqlx's
// tracing, so the layer must be installed, as `telemetry::init` does for the server).
// Alone among the tests of the process under `cargo test`: the count is the whole process's.
backend_test!(exclusive operations_waiting_for_a_connection_are_counted, |app: TestApp| async move {
    use sea_orm::{EntityTrait, TransactionTrait};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry().with(jaminan::observability::pool_waits::layer()).try_init();
    let (_, _, text) = scrape(&app).await;
    let acquired_before = sample(&text, "jaminan_db_pool_acquire_duration_seconds_count");
    let max = sample(&text, "jaminan_db_pool_max_connections{pool=\"main\"}") as usize;

    // Every connection of the pool held by a transaction: a query now waits.
    let mut held = Vec::new();
    for _ in 0..max {
        held.push(app.state.db.begin().await.unwrap());
    }
    let db = app.state.db.clone();
    let waiting_query = tokio::spawn(async move { jaminan::entities::payout::Entity::find().all(&db).await });
    let started = Instant::now();
    loop {
        let (_, _, text) = scrape(&app).await;
        if sample(&text, "jaminan_db_pool_waiting") >= 1.0 {
            break;
        }
        assert!(started.elapsed().as_secs() < 5, "no operation counted as waiting:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(held);
    assert!(waiting_query.await.unwrap().is_ok());
    let started = Instant::now();
    loop {
        let (_, _, text) = scrape(&app).await;
        if sample(&text, "jaminan_db_pool_waiting") == 0.0 {
            // Each acquire's time is in the histogram.
            assert!(sample(&text, "jaminan_db_pool_acquire_duration_seconds_count") >= acquired_before + max as f64);
            break;
        }
        assert!(started.elapsed().as_secs() < 5, "still counted as waiting:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
});

// On PostgreSQL a write's audit entry waits for the sealer (a test app runs none) and is counted
// until it is sealed; SQLite chains each entry as it is written.
backend_test!(unsealed_audit_entries_are_counted, |app: TestApp| async move {
    app.register("3603011505850001", "Pekerja Satu", "36.03", None, "FISHER").await;
    let unsealed = TestApp::count(&app.state.db, "SELECT COUNT(*) AS n FROM audit_log WHERE entry_hash IS NULL");
    let expected = if app.backend == Backend::Postgres { unsealed.await } else { 0 };
    let (_, _, text) = scrape(&app).await;
    assert!(text.contains("# TYPE jaminan_audit_unsealed_entries gauge"), "{text}");
    assert_eq!(sample(&text, "jaminan_audit_unsealed_entries"), expected as f64, "{text}");
    if app.backend == Backend::Postgres {
        assert!(expected >= 1, "the registration's entry");
        assert_eq!(app.seal_audit().await, expected as u64);
        // A new router: the counts are taken at most every 15 s per scraper.
        let (_, _, text) = scrape(&app.with_http(app.http.clone())).await;
        assert_eq!(sample(&text, "jaminan_audit_unsealed_entries"), 0.0, "{text}");
    }
});
