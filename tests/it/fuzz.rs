//! Fuzzing through the real router: operations generated from schema.graphql,
//! and raw bodies mutated byte by byte, sent as an anonymous caller, a viewer and an admin; then
//! again with the database cut away. No panic, no 5xx but 503 (and that only without the
//! database), every error with an `extensions.code`.
//!
//! A bounded run in `cargo test`; a longer one:
//! `JAMINAN_FUZZ_CASES=100000 cargo test --release --test it fuzz:: -- --nocapture`.
use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::generator::Generator;
use common::proxy::{self, Proxy};
use common::{Backend, TestApp};
use jaminan::auth::{self, Role};
use jaminan::config::DatabaseArgs;
use jaminan::db;
use jaminan::services::AppState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../../schema.graphql");

fn cases() -> usize {
    std::env::var("JAMINAN_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000)
}

/// A raw body with random damage: bytes flipped, cut, repeated or inserted.
fn mutated(body: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = body.to_vec();
    for _ in 0..rng.random_range(1..8) {
        if bytes.is_empty() {
            bytes.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..5) {
            0 => bytes[at] = rng.random(),
            1 => bytes.truncate(at),
            2 => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                bytes.splice(at..at, chunk);
            }
            3 => bytes.insert(at, *b"{}[]\"\\:,0e-\x00\xff".get(rng.random_range(0..14)).unwrap_or(&b'{')),
            _ => {
                bytes.remove(at);
            }
        }
    }
    bytes
}

/// What every answer must be; `cut`: the database is away, so 503 is allowed.
fn check_answer(status: StatusCode, bytes: &[u8], cut: bool, sent: &str) {
    let allowed_5xx = cut && status == StatusCode::SERVICE_UNAVAILABLE;
    let shown: String = String::from_utf8_lossy(bytes).chars().take(2000).collect();
    assert!(!status.is_server_error() || allowed_5xx, "{status} for {sent}: {shown}");
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        panic!("{status}: not JSON for {sent}: {shown}");
    };
    let errors = body["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(body.get("data").is_some() || !errors.is_empty(), "{sent}: {body}");
    for error in errors {
        let code = error["extensions"]["code"].as_str().unwrap_or_default();
        assert!(!code.is_empty(), "an error without a code for {sent}: {shown}");
        assert_ne!(code, "INTERNAL_SERVER_ERROR", "{sent}: {shown}");
        if code == "SERVICE_UNAVAILABLE" {
            assert!(cut, "503 with the database up for {sent}: {shown}");
        }
    }
}

async fn post(router: &axum::Router, key: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    use tower::ServiceExt;
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = router.clone().oneshot(request.body(Body::from(body)).expect("request")).await.expect("response");
    let status = response.status();
    (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body").to_vec())
}

/// The app for the cut: the test database through a small pool that can be cut away
/// (PostgreSQL: a TCP proxy; SQLite: every connection held).
struct Fuzzed {
    router: axum::Router,
    state: AppState,
    proxy: Option<Arc<Proxy>>,
}

impl Fuzzed {
    async fn new(app: &TestApp) -> Fuzzed {
        let (url, proxy) = match app.backend {
            Backend::Sqlite => (app.database_url(), None),
            Backend::Postgres => {
                let (proxy, url) = proxy::in_front_of(&app.database_url()).await;
                (url, Some(proxy))
            }
        };
        let args =
            DatabaseArgs { db_max_connections: Some(4), db_acquire_timeout_ms: 200, ..DatabaseArgs::for_url(&url) };
        let state =
            common::unthrottled(AppState::new(db::connect_with(&args).await.expect("pool")).await.expect("state"));
        Fuzzed { router: jaminan::http::router(state.clone(), Default::default()), state, proxy }
    }

    /// Takes the database away; what is returned brings it back when dropped.
    async fn cut(&self) -> Vec<DatabaseTransaction> {
        match &self.proxy {
            Some(proxy) => {
                proxy.cut();
                Vec::new()
            }
            None => {
                let mut held = Vec::new();
                for _ in 0..4 {
                    held.push(self.state.db.begin().await.expect("hold a connection"));
                }
                held
            }
        }
    }

    fn restore(&self, held: Vec<DatabaseTransaction>) {
        drop(held);
        if let Some(proxy) = &self.proxy {
            proxy.restore();
        }
    }
}

backend_test!(generated_and_mutated_requests_never_break_the_server, |app: TestApp| async move {
    // Something for the generated queries to find.
    let worker = app.register("3603124503850001", "Siti Aminah", "36.03", Some("36.03.12"), "FISHER").await;
    app.enroll(&worker, "36.03", "2024-01-01", None).await;
    let (viewer, _) =
        auth::keys::create_key(&app.state.db, "fuzz viewer", Role::Viewer, Some("36.03".into())).await.unwrap();
    // The requests run on a pool that waits long for a connection: a slow machine must not turn
    // a busy pool into a 503 (the cut below tests the 503s).
    let patient = DatabaseArgs { db_acquire_timeout_ms: 20_000, ..DatabaseArgs::for_url(&app.database_url()) };
    let patient =
        common::unthrottled(AppState::new(db::connect_with(&patient).await.expect("pool")).await.expect("state"));
    let router = jaminan::http::router(patient.clone(), Default::default());
    let generator = Generator::new(SCHEMA);
    let mut rng =
        StdRng::seed_from_u64(std::env::var("JAMINAN_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1));
    let callers = [None, Some(viewer.as_str()), Some(app.admin.as_str())];
    let started = Instant::now();
    let (mut generated, mut mutated_bodies, mut by_status) = (0, 0, std::collections::BTreeMap::new());
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for case in 0..cases() {
        let caller = callers[case % callers.len()];
        let body = if case % 5 == 4 && !bodies.is_empty() {
            mutated_bodies += 1;
            mutated(&bodies[rng.random_range(0..bodies.len())], &mut rng)
        } else {
            let operation = generator.operation(&mut rng);
            generated += 1;
            let body = serde_json::to_vec(&json!({ "query": operation })).unwrap();
            if bodies.len() < 200 {
                bodies.push(body.clone());
            }
            body
        };
        let sent = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = post(&router, caller, body).await;
        *by_status.entry(status.as_u16()).or_insert(0) += 1;
        check_answer(status, &answer, false, &sent);
    }
    println!(
        "{generated} generated and {mutated_bodies} mutated requests in {:.1}s: {by_status:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(generated >= cases() / 2, "the generator produced operations");
    assert!(
        by_status.get(&200).copied().unwrap_or(0) > cases() / 10,
        "many requests reached the resolvers: {by_status:?}"
    );

    // The same with the database away: 503 where the database was needed, nothing else broken.
    let fuzzed = Fuzzed::new(&app).await;
    let held = fuzzed.cut().await;
    let mut unavailable = 0;
    for case in 0..100 {
        let operation = generator.operation(&mut rng);
        let body = serde_json::to_vec(&json!({ "query": operation })).unwrap();
        let sent = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = post(&fuzzed.router, callers[case % callers.len()], body).await;
        unavailable += usize::from(status == StatusCode::SERVICE_UNAVAILABLE);
        check_answer(status, &answer, true, &sent);
    }
    assert!(unavailable > 10, "the cut was felt: {unavailable}");
    fuzzed.restore(held);
    let back = br#"{"query":"{ regency(code: \"36.03\") { name } }"}"#;
    common::eventually("the database back", Duration::from_secs(5), || async {
        post(&fuzzed.router, Some(&app.admin), back.to_vec()).await.0 == StatusCode::OK
    })
    .await;
    let (status, answer) =
        post(&fuzzed.router, Some(&app.admin), br#"{"query":"{ regency(code: \"36.03\") { name } }"}"#.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer));
    assert!(app.stats_differences().await.is_empty(), "whatever the admin's mutations did kept the statistics exact");
    fuzzed.state.db.clone().close().await.ok();
    patient.db.clone().close().await.ok();
});
