//! The HTTP surface: health endpoints, GraphiQL, GET queries, API keys, request-level errors.
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, data, error_code};
use std::sync::Arc;

use jaminan::AppState;
use jaminan::auth::{self, Role};
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
    // Subscriptions (payouts moving) over WebSocket on the same path.
    assert!(page.contains("subscriptionUrl") && page.contains("/graphql'"), "GraphiQL needs a subscriptions URL");
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

    let (key, row) = auth::create_key(&app.state.db, "operator one", Role::Operator, None).await.unwrap();
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850001", fullName: "Budi",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    data(&app.gql_as(&key, register, json!({})).await);
    assert!(auth::revoke_key(&app.state.db, row.id).await.unwrap());
    assert!(!auth::revoke_key(&app.state.db, row.id).await.unwrap(), "revoking twice reports nothing to revoke");
    // Keys are held in memory and re-read every half second: revoked, a key stops within a second.
    tokio::time::sleep(auth::KEY_REFRESH + std::time::Duration::from_millis(100)).await;
    let response = app.gql_as(&key, "{ provinces { code } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "a revoked key stops working within a second");
});

backend_test!(a_revoked_key_stops_on_every_instance_within_a_second, |app: TestApp| async move {
    // Two servers on one database, each with its own keys in memory; the CLI revokes the key.
    let other = app.with_state(AppState::new(app.state.db.clone()).await.unwrap());
    let (key, row) = auth::create_key(&app.state.db, "desk", Role::Viewer, None).await.unwrap();
    for instance in [&app, &other] {
        data(&instance.gql_as(&key, "{ provinces { code } }", json!({})).await);
    }
    assert!(auth::revoke_key(&app.state.db, row.id).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    for instance in [&app, &other] {
        assert_eq!(error_code(&instance.gql_as(&key, "{ provinces { code } }", json!({})).await), "UNAUTHENTICATED");
    }
});

backend_test!(a_known_key_costs_no_database_round_trip, |app: TestApp| async move {
    // A long refresh interval, so that the count below cannot include a periodic re-read.
    let state =
        AppState { keys: Arc::new(auth::KeyCache::new(std::time::Duration::from_secs(600))), ..app.state.clone() };
    let app = app.with_state(state);
    let (new_key, _) = auth::create_key(&app.state.db, "created after start", Role::Viewer, None).await.unwrap();
    data(&app.gql_as(&new_key, "{ provinces { code } }", json!({})).await);
    let before = app.query_count();
    for _ in 0..20 {
        data(&app.gql_as(&app.admin, "{ provinces { code } }", json!({})).await);
        data(&app.gql_as(&new_key, "{ regency(code: \"36.03\") { name } }", json!({})).await);
    }
    assert_eq!(app.query_count(), before, "areas are in memory and keys too: no statement at all");
    let response = app.gql_as("jmn_not_a_key", "{ provinces { code } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
});

backend_test!(viewer_keys_cannot_write, |app: TestApp| async move {
    let (key, _) = auth::create_key(&app.state.db, "viewer", Role::Viewer, None).await.unwrap();
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850001", fullName: "Budi",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    assert_eq!(error_code(&app.gql_as(&key, register, json!({})).await), "FORBIDDEN");
    assert_eq!(app.count_rows("worker").await, 0);
});

backend_test!(keys_are_stored_hashed, |app: TestApp| async move {
    let keys = auth::list_keys(&app.state.db).await.unwrap();
    assert!(keys.iter().all(|k| k.key_hash.len() == 64 && !k.key_hash.contains(&app.admin)));
    assert!(app.admin.starts_with("jmn_") && app.admin.len() >= 4 + 32, "at least 128 random bits");
});
