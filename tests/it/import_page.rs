//! The operators' import page at `/import` (issue 23, item 7): served like the dashboard (its
//! assets compiled in, the pages' security headers, trusted documents only), and used in
//! headless Chromium: a key, a regency in its scope, a file with errors whose every error row is
//! shown, then the corrected file dry-run and imported.
use crate::browser::{DevTools, Server, chromium};
use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, data};
use jaminan::auth::{self, Role};
use jaminan::config::TrustedMode;
use jaminan::graphql::admission::trusted_documents::{IMPORT_DOCUMENTS, TrustedDocuments, sha256_hex};
use serde_json::json;
use tower::ServiceExt;

/// The app where only trusted documents run: the page must still work there.
fn only_trusted(app: &TestApp) -> TestApp {
    let mut http = app.http.clone();
    http.trusted = std::sync::Arc::new(TrustedDocuments::parse("{}", TrustedMode::Only).unwrap());
    app.with_http(http)
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let request = Request::get(path).header(header::ACCEPT, "text/html").body(Body::empty()).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn header_text(headers: &axum::http::HeaderMap, name: header::HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

backend_test!(the_import_page_is_served_like_the_dashboard, |app: TestApp| async move {
    let app = only_trusted(&app);
    for path in ["/import", "/dashboard", "/graphiql"] {
        let (status, headers, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let policy = header_text(&headers, header::CONTENT_SECURITY_POLICY);
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self';"), "{path}: {policy}");
        assert!(policy.contains("connect-src 'self'"), "{path}: {policy}");
        assert_eq!(header_text(&headers, header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert_eq!(header_text(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        // Offline: nothing loaded from another host.
        assert!(!html.contains("http://") && !html.contains("https://"), "{path}: {html}");
    }
    let (_, _, html) = get(&app, "/import").await;
    assert!(html.contains("<html lang=\"id\">") && html.contains("Impor Daftar Kepesertaan"), "{html}");
    for (name, text) in IMPORT_DOCUMENTS {
        assert!(html.contains(&format!("\"{name}\":\"sha256:{}\"", sha256_hex(text))), "{name} in {html}");
    }
    for (file, content_type) in [("import.js", "text/javascript"), ("import.css", "text/css")] {
        let (status, headers, body) = get(&app, &format!("/import/assets/{file}")).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert!(header_text(&headers, header::CONTENT_TYPE).starts_with(content_type), "{file}");
        assert_eq!(header_text(&headers, header::CACHE_CONTROL), "public, max-age=3600", "{file}");
        assert!(!body.contains("https://"), "{file} loads nothing from elsewhere");
    }
    assert_eq!(get(&app, "/import/assets/other.js").await.0, StatusCode::NOT_FOUND);

    // Its regency list, by id where only trusted documents run: the key's scope, and nothing for
    // an anonymous caller.
    let (operator, _) =
        auth::keys::create_key(&app.state.db, "operator banten", Role::Operator, Some("36".into())).await.unwrap();
    let id = format!("sha256:{}", sha256_hex(IMPORT_DOCUMENTS[0].1));
    let body = json!({ "documentId": id }).to_string();
    let (status, answer) = app.post_json(Some(&operator), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let codes: Vec<&str> =
        data(&answer)["regencies"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"36.03") && codes.iter().all(|c| c.starts_with("36.")), "{codes:?}");
    let (status, answer) = app.post_json(None, &body).await;
    assert_eq!((status, &data(&answer)["regencies"]), (StatusCode::OK, &json!([])));
    let (status, answer) = app.post_json(Some(&app.admin), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&answer)["regencies"].as_array().unwrap().len(), app.state.areas.regencies(None, None).len());
});

const HEADER: &str = "No;NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai;Tanggal Selesai";

/// A file as a clerk makes it, with errors on lines 2 and 4 (two on line 4), and the same
/// corrected.
fn files() -> (String, String) {
    let wrong = [
        HEADER,
        "1;36030115058500;Budi Santoso;Nelayan;36.03.01;01/01/2023;31/12/2023",
        "2;3603015505900002;Siti Aminah;Pedagang kaki lima;36.03.02;01/01/2023;",
        "3;3603010101800003;Ahmad;Astronot;36.03.01;31/02/2023;31/12/2023",
    ];
    let right = [
        HEADER,
        "1;3603011505850001;Budi Santoso;Nelayan;36.03.01;01/01/2023;31/12/2023",
        "2;3603015505900002;Siti Aminah;Pedagang kaki lima;36.03.02;01/01/2023;",
        "3;3603010101800003;Ahmad;Petani;36.03.01;28/02/2023;31/12/2023",
    ];
    (wrong.join("\r\n") + "\r\n", right.join("\r\n") + "\r\n")
}

/// Gives the page's file input this file, as a person choosing it would.
async fn choose_file(page: &mut DevTools, path: &std::path::Path) {
    let document = page.call("DOM.getDocument", json!({})).await;
    let root = document["root"]["nodeId"].clone();
    let input = page.call("DOM.querySelector", json!({ "nodeId": root, "selector": "#file" })).await;
    let files = json!({ "files": [path.display().to_string()], "nodeId": input["nodeId"] });
    page.call("DOM.setFileInputFiles", files).await;
}

const ERROR_ROWS: &str = "JSON.stringify([...document.querySelectorAll('#errors tbody tr')]\
    .map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent)))";

fn count(name: &str) -> String {
    format!("document.querySelector('[data-count={name}] b')?.textContent ?? ''")
}

backend_test!(an_operator_checks_and_imports_a_file_on_the_import_page_in_chromium, |app: TestApp| async move {
    let Some(browser) = chromium() else { return };
    let app = only_trusted(&app);
    let (operator, _) =
        auth::keys::create_key(&app.state.db, "operator banten", Role::Operator, Some("36".into())).await.unwrap();
    let dir = std::env::temp_dir().join(format!("jaminan-import-page-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (wrong, right) = files();
    let (wrong_path, right_path) = (dir.join("daftar.csv"), dir.join("daftar-benar.csv"));
    std::fs::write(&wrong_path, wrong).unwrap();
    std::fs::write(&right_path, right).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = Server::start(listener, app.app());
    let mut page = DevTools::open_watching_policy(&browser, &format!("{url}/import")).await;
    let long = Duration::from_secs(20);

    // The key, then a regency of its scope (Banten's, not all 514).
    page.wait_for("document.readyState", "complete", long).await;
    page.evaluate(&format!(
        "document.getElementById('key').value = '{operator}'; document.getElementById('use-key').click()"
    ))
    .await;
    page.wait_for("String(document.querySelector('#regency option[value=\"36.03\"]') !== null)", "true", long).await;
    let offered = page.evaluate("String(document.querySelectorAll('#regency option').length)").await;
    assert!(offered.as_str().unwrap().parse::<usize>().unwrap() < 20, "{offered}");
    page.evaluate(
        "const s = document.getElementById('regency'); s.value = '36.03'; s.dispatchEvent(new Event('change'))",
    )
    .await;
    // The key is in the tab's storage, not in the address.
    assert!(!page.evaluate("location.href").await.as_str().unwrap().contains(&operator));

    // The file with errors: every error row, with its line, column and value; no import.
    choose_file(&mut page, &wrong_path).await;
    page.wait_for("String(!document.getElementById('dry-run').disabled)", "true", long).await;
    page.evaluate("document.getElementById('dry-run').click()").await;
    page.wait_for(&count("rowsInError"), "2", long).await;
    let rows: Vec<Vec<String>> = serde_json::from_str(page.evaluate(ERROR_ROWS).await.as_str().unwrap()).unwrap();
    let expected =
        [["2", "NIK", "36030115058500"], ["4", "Pekerjaan", "Astronot"], ["4", "Tanggal Mulai", "31/02/2023"]];
    assert_eq!(rows, expected.map(|row| row.map(str::to_owned)).to_vec(), "the page's error rows");
    let messages = page.evaluate("document.getElementById('errors').textContent").await;
    assert!(messages.as_str().unwrap().contains("Astronot"), "{messages}");
    assert_eq!(page.evaluate("String(document.getElementById('import').disabled)").await, "true");
    assert_eq!(page.evaluate("String(document.getElementById('download').disabled)").await, "false");
    assert_eq!(app.count_rows("worker").await, 0);

    // The corrected file: a dry run without errors, then the import.
    choose_file(&mut page, &right_path).await;
    page.wait_for("String(document.getElementById('report').children.length)", "0", long).await;
    page.evaluate("document.getElementById('dry-run').click()").await;
    page.wait_for(&count("rowsInError"), "0", long).await;
    assert_eq!(page.evaluate(&count("workersRegistered")).await, "3");
    assert_eq!(app.count_rows("worker").await, 0, "a dry run writes nothing");
    page.wait_for("String(!document.getElementById('import').disabled)", "true", long).await;
    page.evaluate("document.getElementById('import').click()").await;
    page.wait_for("document.getElementById('status').textContent", "Impor selesai.", long).await;
    assert_eq!(page.evaluate(&count("coveragesCreated")).await, "3");
    assert_eq!(page.evaluate("String(document.getElementById('import').disabled)").await, "true");
    assert_eq!(page.evaluate("JSON.stringify(window.violations)").await, "[]");
    drop(page);

    let answer = app
        .gql_as(
            &app.admin,
            "query($n: String!) { workerByNik(nik: $n) { fullName coverages { startsOn } } }",
            json!({ "n": "3603010101800003" }),
        )
        .await;
    assert_eq!(
        data(&answer)["workerByNik"],
        json!({ "fullName": "Ahmad", "coverages": [{ "startsOn": "2023-02-28" }] })
    );
    assert_eq!(app.count_rows("worker").await, 3);
    server.stop().await;
    std::fs::remove_dir_all(&dir).ok();
});

// The start-up banner names the pages a person opens: GraphiQL, the import page, the dashboard.
backend_test!(the_start_up_banner_names_the_pages, |app: TestApp| async move {
    let mut server = common::binary::Server::start_with(&app, |serve| {
        serve.env("RUST_LOG", "warn").args(["--lang", "id"]).stdout(std::process::Stdio::piped());
    })
    .await;
    let stdout = server.child.stdout.take().unwrap();
    server.stop();
    let mut banner = String::new();
    std::io::Read::read_to_string(&mut { stdout }, &mut banner).unwrap();
    for page in ["/graphiql", "/import", "/dashboard"] {
        assert!(banner.contains(&format!("{}{page}", server_host(&banner))), "{page} in {banner}");
    }
    assert!(banner.contains("halaman impor untuk operator"), "{banner}");
});

/// The `http://host:port` the banner names.
fn server_host(banner: &str) -> String {
    let start = banner.find("http://").expect("an address in the banner");
    banner[start..].split('/').take(3).collect::<Vec<_>>().join("/")
}
