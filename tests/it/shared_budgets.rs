//! Budgets shared by every instance through Redis (`--redis-url`), tested with two real
//! `jaminan serve` processes on one database and a Redis of the test's own: a key's requests,
//! an address's wrong keys, a key's probes and WebSocket places count once across both; while
//! Redis is away each instance counts its own (and says so), and shares again when it is back.
use std::time::{Duration, Instant};

use jaminan::auth::{self, Role};
use serde_json::{Value, json};

use crate::common::binary::Server;
use crate::common::redis::RedisServer;
use crate::common::ws::WsClient;
use crate::common::{self, TestApp};

const METRICS_TOKEN: &str = "scrape-token";

/// A `jaminan serve` of `app`'s database sharing its budgets through `redis`, with `limits`
/// (flags); returns once its budgets are shared.
async fn instance(app: &TestApp, redis: &RedisServer, limits: &[&str]) -> Server {
    let server = Server::start_with(app, |serve| {
        serve
            .args(["--redis-url", &redis.url(), "--metrics-token", METRICS_TOKEN])
            .args(limits)
            .env("RUST_LOG", "warn");
    })
    .await;
    wait_for_budgets(&server, "shared (redis)", Duration::from_secs(10)).await;
    server
}

/// What /readyz says of the budgets (its `budgets:` line).
async fn budgets_of(server: &Server) -> String {
    let response = reqwest::get(format!("{}/readyz", server.url)).await.unwrap();
    assert_eq!(response.status(), 200, "ready with or without Redis");
    let body = response.text().await.unwrap();
    body.lines().find_map(|l| l.strip_prefix("budgets: ")).unwrap_or_default().to_owned()
}

/// The `jaminan_shared_budgets_available` gauge of the instance's /metrics.
async fn gauge_of(server: &Server) -> String {
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", server.url))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics.lines().find_map(|l| l.strip_prefix("jaminan_shared_budgets_available ")).unwrap_or_default().to_owned()
}

/// Waits until /readyz says `budgets` and /metrics agrees; returns how long it took.
async fn wait_for_budgets(server: &Server, budgets: &str, limit: Duration) -> Duration {
    let gauge = if budgets.starts_with("shared") { "1" } else { "0" };
    let started = Instant::now();
    loop {
        if budgets_of(server).await == budgets && gauge_of(server).await == gauge {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{} did not say \"budgets: {budgets}\" within {limit:?}", server.url);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request of `key` (None: without one) to `server`: its status and body.
async fn request(
    client: &reqwest::Client,
    server: &Server,
    key: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut post = client.post(format!("{}/graphql", server.url));
    if let Some(key) = key {
        post = post.bearer_auth(key);
    }
    let response = post.json(&json!({ "query": query, "variables": variables })).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `n` requests of `key`, alternating between the instances: how many each answered 200, and how
/// long they took.
async fn requests_of(key: Option<&str>, n: usize, instances: [&Server; 2]) -> ([usize; 2], Duration) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut ok = [0; 2];
    for i in 0..n {
        let (status, body) = request(&client, instances[i % 2], key, "{ __typename }", json!({})).await;
        match status {
            200 => ok[i % 2] += 1,
            429 => {
                assert_eq!(common::error_code(&body), "RATE_LIMITED", "{body}");
                assert!(body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1, "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    (ok, started.elapsed())
}

/// `budget` per minute counted once for both instances, give or take what refilled meanwhile (one
/// a second at 60 a minute).
fn assert_shared(ok: [usize; 2], took: Duration, budget: usize) {
    let total = ok[0] + ok[1];
    let refilled = took.as_secs() as usize + 1;
    assert!((budget..=budget + refilled).contains(&total), "{total} allowed ({ok:?}) in {took:?}, budget {budget}");
    assert!(ok[0] > 0 && ok[1] > 0, "both instances answered: {ok:?}");
}

// A key allowed 60 requests a minute gets 60 across both instances, not 120, and so does an
// address without a key; an address gets 20 wrong keys an hour across both, not 40, and is then
// refused before the lookup on either.
backend_test!(two_instances_share_request_and_wrong_key_budgets, |app: TestApp| async move {
    let Some(redis) = RedisServer::start().await else { return };
    let limits =
        ["--key-requests-per-minute", "60", "--anonymous-requests-per-minute", "60", "--failed-keys-per-hour", "20"];
    let (a, b) = (instance(&app, &redis, &limits).await, instance(&app, &redis, &limits).await);
    let (ok, took) = requests_of(Some(&app.admin2), 120, [&a, &b]).await;
    assert_shared(ok, took, 60);
    let (ok, took) = requests_of(None, 120, [&a, &b]).await;
    assert_shared(ok, took, 60);

    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for i in 0..40 {
        let (status, body) =
            request(&client, [&a, &b][i % 2], Some(&format!("wrong-{i}")), "{ __typename }", json!({})).await;
        codes.push((status, common::error_code(&body).to_owned()));
    }
    let unknown = codes.iter().filter(|c| *c == &(401, "UNAUTHENTICATED".to_owned())).count();
    let limited = codes.iter().filter(|c| *c == &(429, "RATE_LIMITED".to_owned())).count();
    assert_eq!((unknown, limited), (20, 20), "{codes:?}");
    // Valid keys from the blocked address keep working, on either instance.
    assert_eq!(request(&client, &b, Some(&app.admin), "{ __typename }", json!({})).await.0, 200);
    assert_eq!(request(&client, &a, Some(&app.admin), "{ __typename }", json!({})).await.0, 200);
});

// Refusals that reveal a worker the key cannot see: 20 an hour across both instances, not 40.
backend_test!(two_instances_share_the_probe_budget, |app: TestApp| async move {
    let Some(redis) = RedisServer::start().await else { return };
    app.register("3603124503850001", "Siti Aminah", "36.03", Some("36.03.12"), "FISHER").await;
    let kota = auth::keys::create_key(&app.state.db, "kota", Role::Operator, Some("36.71".to_owned())).await.unwrap().0;
    let (a, b) = (instance(&app, &redis, &[]).await, instance(&app, &redis, &[]).await);
    let register = "mutation { registerWorker(input: { nik: \"3603124503850001\", fullName: \"X\", \
        regencyCode: \"36.71\", occupation: FISHER }) { id } }";
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for i in 0..40 {
        let (_, body) = request(&client, [&a, &b][i % 2], Some(&kota), register, json!({})).await;
        codes.push(common::error_code(&body).to_owned());
    }
    assert!(codes[..20].iter().all(|c| c == "CONFLICT"), "{codes:?}");
    assert!(codes[20..].iter().all(|c| c == "RATE_LIMITED"), "{codes:?}");
    assert_eq!(app.count_rows("worker").await, 1, "nothing registered");
});

// A key holds --websockets-per-caller connections across both instances; a closed one frees
// its place for either.
backend_test!(two_instances_share_websocket_places, |app: TestApp| async move {
    let Some(redis) = RedisServer::start().await else { return };
    let limits = ["--websockets-per-caller", "2"];
    let (a, b) = (instance(&app, &redis, &limits).await, instance(&app, &redis, &limits).await);
    let (a_address, b_address) =
        (a.url.trim_start_matches("http://").parse().unwrap(), b.url.trim_start_matches("http://").parse().unwrap());
    let first = WsClient::connect(a_address, Some(&app.admin)).await.unwrap();
    let _second = WsClient::connect(b_address, Some(&app.admin)).await.unwrap();
    assert_eq!(WsClient::connect(a_address, Some(&app.admin)).await.err(), Some(1013));
    assert_eq!(WsClient::connect(b_address, Some(&app.admin)).await.err(), Some(1013));
    let _other_key = WsClient::connect(b_address, Some(&app.admin2)).await.unwrap();
    drop(first);
    let started = Instant::now();
    while let Err(code) = WsClient::connect(b_address, Some(&app.admin)).await {
        assert_eq!(code, 1013);
        assert!(started.elapsed() < Duration::from_secs(5), "the closed connection still holds its place");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
});

// Redis stops: each instance counts its own budgets within a second (its requests still served),
// says so in /readyz (still ready) and /metrics; Redis back: the budgets are shared again.
backend_test!(without_redis_each_instance_counts_its_own_until_it_is_back, |app: TestApp| async move {
    let Some(mut redis) = RedisServer::start().await else { return };
    let limits = ["--key-requests-per-minute", "60"];
    let (a, b) = (instance(&app, &redis, &limits).await, instance(&app, &redis, &limits).await);
    assert_eq!(requests_of(Some(&app.admin), 1, [&a, &b]).await.0, [1, 0]);

    redis.stop();
    let own = "this instance's own (redis unreachable)";
    let noticed = [
        wait_for_budgets(&a, own, Duration::from_secs(5)).await,
        wait_for_budgets(&b, own, Duration::from_secs(5)).await,
    ];
    eprintln!("Redis stopped: noticed after {noticed:?}");
    assert!(noticed[0] < Duration::from_secs(1), "{noticed:?}");
    // Each counts its own 60 (N instances, N budgets), from memory: nothing was spent there.
    let (ok, took) = requests_of(Some(&app.admin2), 150, [&a, &b]).await;
    assert!(ok.iter().all(|n| (60..=60 + took.as_secs() as usize + 1).contains(n)), "{ok:?} in {took:?}");

    redis.resume().await;
    let shared = "shared (redis)";
    let back = [
        wait_for_budgets(&a, shared, Duration::from_secs(5)).await,
        wait_for_budgets(&b, shared, Duration::from_secs(5)).await,
    ];
    eprintln!("Redis back: noticed after {back:?}");
    // A fresh Redis: a fresh shared budget, counted once again.
    let (ok, took) = requests_of(Some(&app.admin), 120, [&a, &b]).await;
    assert_shared(ok, took, 60);

    // A Redis that answers nothing (a partition, not a refused connection): a request waits at
    // most the call's 250 ms for it, then is counted in memory.
    redis.freeze(true);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let (status, body) = request(&client, &a, Some(&app.admin), "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    wait_for_budgets(&b, own, Duration::from_secs(2)).await;
    redis.freeze(false);
    wait_for_budgets(&a, shared, Duration::from_secs(5)).await;
    wait_for_budgets(&b, shared, Duration::from_secs(5)).await;
});
