//! Trusted documents through HTTP: a frontend's manifest, requests by `documentId` (POST and
//! GET) or by Apollo's persisted-query hash, and the modes (off, allowed, only but for ADMIN).
use crate::common;

use std::sync::Arc;

use common::{MODERN, TestApp, data, error_code};
use jaminan::auth::{self, Role};
use jaminan::config::TrustedMode;
use jaminan::graphql::admission::trusted_documents::TrustedDocuments;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REGENCY: &str = "query Regency($code: String!) { regency(code: $code) { name } }";

fn hash(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

/// The app with a manifest of one document, as GraphQL Code Generator writes it.
fn trusting(app: &TestApp, mode: TrustedMode) -> TestApp {
    let manifest = json!({ hash(REGENCY): REGENCY }).to_string();
    let mut http = app.http.clone();
    http.trusted = Arc::new(TrustedDocuments::parse(&manifest, mode).unwrap());
    app.with_http(http)
}

/// As a GraphQL over HTTP client asks (a refusal is a 400; to `Accept: */*` it is a 200).
async fn post(app: &TestApp, key: Option<&str>, body: Value) -> (u16, Value) {
    let (status, response) = app.post_json_accepting(key, &body.to_string(), MODERN).await;
    (status.as_u16(), response)
}

backend_test!(only_trusted_documents_run_for_keys_below_admin, |app: TestApp| async move {
    let app = trusting(&app, TrustedMode::Only);
    let id = hash(REGENCY);
    let variables = json!({ "code": "36.03" });
    for document_id in [id.clone(), format!("sha256:{id}")] {
        let (status, response) = post(&app, None, json!({ "documentId": document_id, "variables": variables })).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(data(&response)["regency"]["name"], "Kabupaten Tangerang");
    }
    // Apollo's automatic persisted queries name the same document by its hash.
    let apq = json!({ "variables": variables, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } });
    assert_eq!(data(&post(&app, None, apq).await.1)["regency"]["name"], "Kabupaten Tangerang");

    // Anything else is refused before it is parsed (a syntax error is not even seen), for
    // anonymous callers and keys below ADMIN; an admin in GraphiQL keeps arbitrary queries.
    let viewer = auth::keys::create_key(&app.state.db, "viewer", Role::Viewer, Some("36.03".into())).await.unwrap().0;
    for (key, query) in
        [(None, "{ provinces { code } }"), (Some(viewer.as_str()), "{ provinces { code } }"), (None, "{{{{")]
    {
        let (status, response) = post(&app, key, json!({ "query": query })).await;
        assert_eq!((status, error_code(&response)), (400, "TRUSTED_DOCUMENTS_ONLY"), "{response}");
    }
    let (status, response) = post(&app, Some(&app.admin), json!({ "query": "{ provinces { code } }" })).await;
    assert_eq!(status, 200, "{response}");
    data(&response);

    // An id the manifest does not hold, or a query that is not the named document.
    let (status, response) = post(&app, None, json!({ "documentId": hash("{ provinces { code } }") })).await;
    assert_eq!((status, error_code(&response)), (400, "PERSISTED_QUERY_NOT_FOUND"));
    let (_, response) = post(&app, None, json!({ "documentId": id, "query": "{ provinces { code } }" })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    // By GET too, and then cacheable as any public figure.
    let uri = format!("/graphql?documentId={id}&variables=%7B%22code%22%3A%2236.03%22%7D");
    let request = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
    let (status, response) = app.send(request).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(data(&response)["regency"]["name"], "Kabupaten Tangerang");
});

backend_test!(allowed_mode_runs_trusted_and_arbitrary_documents, |app: TestApp| async move {
    let app = trusting(&app, TrustedMode::Allowed);
    let (status, response) = post(&app, None, json!({ "query": "{ provinces { code } }" })).await;
    assert_eq!(status, 200, "{response}");
    let (status, _) = post(&app, None, json!({ "documentId": hash(REGENCY), "variables": { "code": "36.03" } })).await;
    assert_eq!(status, 200);
    // Apollo's retry after a miss sends the query with its hash: run once the hash is checked.
    let query = "{ provinces { code } }";
    let miss = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(query) } } });
    assert_eq!(error_code(&post(&app, None, miss).await.1), "PERSISTED_QUERY_NOT_FOUND");
    let retry =
        json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(query) } } });
    data(&post(&app, None, retry).await.1);
    let forged =
        json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(REGENCY) } } });
    assert_eq!(error_code(&post(&app, None, forged).await.1), "BAD_USER_INPUT");
});

backend_test!(without_a_manifest_document_ids_are_refused_clearly, |app: TestApp| async move {
    let (status, response) = post(&app, None, json!({ "documentId": hash(REGENCY) })).await;
    assert_eq!((status, error_code(&response)), (400, "PERSISTED_QUERY_NOT_SUPPORTED"), "{response}");
});
