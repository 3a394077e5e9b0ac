//! The HTTP surface: health endpoints, GraphiQL, GET queries, API keys, request-level errors.
use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, data, error_code};
use std::sync::Arc;

use jaminan::auth::{self, Role};
use jaminan::services::AppState;
use serde_json::json;

backend_test!(health_and_readiness, |app: TestApp| async move {
    let (status, body) = app.send_raw(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"ok".as_slice()));
    let (status, body) = app.send_raw(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"ready".as_slice()));
});

backend_test!(readiness_fails_when_the_database_is_gone, |app: TestApp| async move {
    app.state.db.clone().close().await.unwrap();
    let (status, _) = app.send_raw(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
});

backend_test!(browsers_get_graphiql_without_a_cdn, |app: TestApp| async move {
    let request =
        Request::get("/graphql").header("accept", "text/html,application/xhtml+xml").body(Body::empty()).unwrap();
    let (status, body) = app.send_raw(request).await;
    let page = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("graphiql"), "not a GraphiQL page");
    assert!(!page.contains("unpkg.com") && !page.contains("cdn.jsdelivr"), "GraphiQL must not load from a CDN");
    // Subscriptions (payouts moving) over WebSocket on the same path, set by the start script.
    let (_, start) = app.send_raw(Request::get("/graphiql/assets/start.js").body(Body::empty()).unwrap()).await;
    let start = String::from_utf8(start).unwrap();
    assert!(start.contains("subscriptionUrl") && start.contains("/graphql'"), "GraphiQL needs a subscriptions URL");
    // Every asset the page references is served by the app itself.
    let assets: Vec<&str> = page.split('"').filter(|s| s.starts_with("/graphiql/assets/")).collect();
    assert!(!assets.is_empty());
    for asset in assets {
        let (status, body) = app.send_raw(Request::get(asset).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty(), "{asset}");
    }
    let (status, _) = app.send_raw(Request::get("/graphiql/assets/nope.js").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

backend_test!(queries_work_over_get, |app: TestApp| async move {
    let request =
        Request::get("/graphql?query=%7Bregency(code%3A%2236.03%22)%7Bname%7D%7D").body(Body::empty()).unwrap();
    let (status, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&body)["regency"]["name"], "Kabupaten Tangerang");
});

backend_test!(malformed_requests_get_clear_errors, |app: TestApp| async move {
    let (status, _) = app.post_json(None, "{not json").await;
    assert!(status.is_client_error(), "{status}");
    let response = app.gql("{ regency(code: ) { name } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.gql("{ noSuchField }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.gql("query($y: Int!) { coverageStats(year: $y) { year } }", json!({ "y": "twenty" })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let huge = "x".repeat(2 * 1024 * 1024);
    // Declared in Content-Length, or only found while reading: the same GraphQL error.
    let (status, response) = app.post_json(None, &json!({ "query": huge }).to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "query": huge }).to_string()))
        .unwrap();
    let (status, response) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
});

backend_test!(unknown_and_revoked_keys_are_unauthenticated, |app: TestApp| async move {
    let query = "{ provinces { code } }";
    let response = app.gql_as("jmn_not_a_key", query, json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    let (status, _) = app.post_json(Some("jmn_not_a_key"), &json!({ "query": query }).to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (key, row) = auth::keys::create_key(&app.state.db, "operator one", Role::Operator, None).await.unwrap();
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850001", fullName: "Budi",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    data(&app.gql_as(&key, register, json!({})).await);
    assert!(auth::keys::revoke_key(&app.state.db, row.id).await.unwrap());
    assert!(!auth::keys::revoke_key(&app.state.db, row.id).await.unwrap(), "revoking twice reports nothing to revoke");
    // Keys are held in memory and re-read every half second: revoked, a key stops within a second.
    common::eventually("a revoked key stops working", std::time::Duration::from_secs(1), || async {
        let response = app.gql_as(&key, "{ provinces { code } }", json!({})).await;
        response["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    })
    .await;
    let response = app.gql_as(&key, "{ provinces { code } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "a revoked key stops working within a second");
});

backend_test!(a_revoked_key_stops_on_every_instance_within_a_second, |app: TestApp| async move {
    // Two servers on one database, each with its own keys in memory; the CLI revokes the key.
    let other = app.with_state(AppState::new(app.state.db.clone()).await.unwrap());
    let (key, row) = auth::keys::create_key(&app.state.db, "desk", Role::Viewer, None).await.unwrap();
    for instance in [&app, &other] {
        data(&instance.gql_as(&key, "{ provinces { code } }", json!({})).await);
    }
    assert!(auth::keys::revoke_key(&app.state.db, row.id).await.unwrap());
    common::eventually("the key stops on both instances", std::time::Duration::from_secs(1), || async {
        let (a, b) = (
            app.gql_as(&key, "{ provinces { code } }", json!({})),
            other.gql_as(&key, "{ provinces { code } }", json!({})),
        );
        let (a, b) = tokio::join!(a, b);
        [a, b].iter().all(|r| r["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED")
    })
    .await;
    for instance in [&app, &other] {
        assert_eq!(error_code(&instance.gql_as(&key, "{ provinces { code } }", json!({})).await), "UNAUTHENTICATED");
    }
});

backend_test!(a_known_key_costs_no_database_round_trip, |app: TestApp| async move {
    // A long refresh interval, so that the count below cannot include a periodic re-read.
    let state = AppState {
        keys: Arc::new(auth::keys::KeyCache::new(std::time::Duration::from_secs(600))),
        ..app.state.clone()
    };
    let app = app.with_state(state);
    let (new_key, _) = auth::keys::create_key(&app.state.db, "created after start", Role::Viewer, None).await.unwrap();
    data(&app.gql_as(&new_key, "{ provinces { code } }", json!({})).await);
    let before = app.query_count().await;
    for _ in 0..20 {
        data(&app.gql_as(&app.admin, "{ provinces { code } }", json!({})).await);
        data(&app.gql_as(&new_key, "{ regency(code: \"36.03\") { name } }", json!({})).await);
    }
    assert_eq!(app.query_count().await, before, "areas are in memory and keys too: no statement at all");
    let response = app.gql_as("jmn_not_a_key", "{ provinces { code } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
});

backend_test!(viewer_keys_cannot_write, |app: TestApp| async move {
    let (key, _) = auth::keys::create_key(&app.state.db, "viewer", Role::Viewer, None).await.unwrap();
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850001", fullName: "Budi",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    assert_eq!(error_code(&app.gql_as(&key, register, json!({})).await), "FORBIDDEN");
    assert_eq!(app.count_rows("worker").await, 0);
});

backend_test!(keys_are_stored_hashed, |app: TestApp| async move {
    let keys = auth::keys::list_keys(&app.state.db).await.unwrap();
    assert!(keys.iter().all(|k| k.key_hash.len() == 64 && !k.key_hash.contains(&app.admin)));
    assert!(app.admin.starts_with("jmn_") && app.admin.len() >= 4 + 32, "at least 128 random bits");
});

/// POST `{ __typename }` over a real connection (all from 127.0.0.1: one office behind one NAT
/// address) with this `Authorization` and `Accept`; status, content type and body.
async fn post_from_the_office(
    address: std::net::SocketAddr,
    authorization: Option<&str>,
    accept: Option<&str>,
    language: &str,
) -> (u16, String, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{address}/graphql"))
        .header("content-type", "application/json")
        .header("accept-language", language)
        .body(r#"{"query": "{ __typename }"}"#);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, content_type.unwrap_or_default(), response.json().await.unwrap_or_default())
}

// Offices sit behind one NAT address: a dashboard with a mistyped key (graphql-ws retried it six
// times per page load) spent the address's wrong-key budget and every colleague's valid key was
// refused with it. The budget stops unknown keys only: past it they are refused without the
// database lookup an unknown key costs, while keys the server holds in memory keep working.
backend_test!(a_valid_key_keeps_working_after_a_colleagues_wrong_keys, |app: TestApp| async move {
    // Keys re-read only when the test says so: every statement below is an unknown key's lookup.
    let state = AppState {
        keys: Arc::new(auth::keys::KeyCache::new(std::time::Duration::from_secs(600))),
        ..app.state.clone()
    };
    let app = app.with_state(state);
    let (colleague, _) = auth::keys::create_key(&app.state.db, "colleague", Role::Viewer, None).await.unwrap();
    let address = app.serve().await;
    let (status, _, response) = post_from_the_office(address, Some(&format!("Bearer {colleague}")), None, "en").await;
    assert_eq!(status, 200, "{response}");
    // Four page loads of six attempts each; the default budget is 20 an hour.
    let before = app.query_count().await;
    let mut refused = Vec::new();
    for attempt in 0..24 {
        let (status, content_type, response) =
            post_from_the_office(address, Some("Bearer jmn_mistyped"), None, "en").await;
        refused.push(status);
        assert_eq!(content_type, "application/json", "as any answer to a request without Accept");
        if attempt < 20 {
            assert_eq!(status, 401, "{response}");
            assert_eq!(error_code(&response), "UNAUTHENTICATED");
        } else {
            assert_eq!(status, 429, "{response}");
            assert_eq!(error_code(&response), "RATE_LIMITED");
        }
        // Colleagues, meanwhile and after, are served.
        for key in [&colleague, &app.admin] {
            let (status, _, response) = post_from_the_office(address, Some(&format!("Bearer {key}")), None, "en").await;
            assert_eq!(status, 200, "attempt {attempt}: {response}");
            assert_eq!(data(&response)["__typename"], "Query");
        }
    }
    // One lookup per unknown key within the budget and for the one that found it spent (it
    // blocks the address), none after.
    assert_eq!(app.query_count().await - before, 21, "{refused:?}");
});

// RFC 9110 §11.1: the scheme is case-insensitive, and one or more spaces follow it.
backend_test!(the_bearer_scheme_is_case_insensitive, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.throttle = Arc::new(jaminan::auth::throttle::Throttle::new(&jaminan::config::RateLimits {
        failed_keys_per_hour: 1,
        ..jaminan::config::RateLimits::DEFAULT
    }));
    let address = app.with_state(state).serve().await;
    for scheme in ["Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer   "] {
        let authorization = format!("{scheme}{}", app.admin);
        let (status, _, response) = post_from_the_office(address, Some(&authorization), None, "en").await;
        assert_eq!(status, 200, "{scheme:?}: {response}");
        assert_eq!(data(&response)["__typename"], "Query");
    }
    // None of them counted as a wrong key: the one wrong key the budget allows is still answered.
    let (status, _, response) = post_from_the_office(address, Some("Basic amFtaW5hbg=="), None, "en").await;
    assert_eq!((status, error_code(&response)), (401, "UNAUTHENTICATED"), "{response}");
});

// An unknown or revoked key is told so (not that a key is required), in the reader's language,
// in the media type every other GraphQL answer to the same Accept has.
backend_test!(an_unknown_or_revoked_key_is_told_so_in_the_answers_media_type, |app: TestApp| async move {
    let (revoked, row) = auth::keys::create_key(&app.state.db, "left the office", Role::Viewer, None).await.unwrap();
    assert!(auth::keys::revoke_key(&app.state.db, row.id).await.unwrap());
    let mut state = app.state.clone();
    state.throttle = Arc::new(jaminan::auth::throttle::Throttle::new(&jaminan::config::RateLimits {
        failed_keys_per_hour: 1000,
        ..jaminan::config::RateLimits::DEFAULT
    }));
    let address = app.with_state(state).serve().await;
    let accepts = [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("application/graphql-response+json"),
        Some("application/graphql-response+json, application/json;q=0.9"),
    ];
    for accept in accepts {
        let (_, answered_as, _) = post_from_the_office(address, None, accept, "en").await;
        for key in ["jmn_not_a_key", revoked.as_str()] {
            let authorization = format!("Bearer {key}");
            let (status, content_type, response) =
                post_from_the_office(address, Some(&authorization), accept, "en").await;
            assert_eq!((status, error_code(&response)), (401, "UNAUTHENTICATED"), "{accept:?}: {response}");
            assert_eq!(response["errors"][0]["message"], "unknown or revoked API key");
            assert_eq!(content_type, answered_as, "{accept:?}");
            let (status, _, response) = post_from_the_office(address, Some(&authorization), accept, "id").await;
            assert_eq!((status, error_code(&response)), (401, "UNAUTHENTICATED"), "{response}");
            assert_eq!(response["errors"][0]["message"], "kunci API tidak dikenal atau sudah dicabut");
        }
    }
    // Where no key was sent, a key is required, as before.
    let response = app.gql("{ workers { totalCount } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert!(response["errors"][0]["message"].as_str().unwrap().starts_with("an API key is required"), "{response}");
});
