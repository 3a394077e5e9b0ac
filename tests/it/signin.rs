//! Sign-in on the server's pages (issue 24, item 6): with `--oidc-client-id`, GraphiQL, /dashboard
//! and /import sign people in by Authorization Code with PKCE at the provider and keep the token
//! in memory; without it they keep the API-key field. Driven in headless Chromium against the real
//! oidc-provider (tests/node/oidc.mjs), whose login form the test fills in.
use crate::browser::{DevTools, Server, chromium};
use crate::common;
use crate::oidc::{Provider, accepting};

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use common::{TestApp, data};
use jaminan::config::OidcArgs;
use jaminan::http::pages::signin::SignIn;
use serde_json::{Value, json};
use tower::ServiceExt;

const CLIENT: &str = "jaminan-pages";

fn sign_in(issuer: &str) -> SignIn {
    let args = OidcArgs { oidc_issuer: Some(issuer.to_owned()), ..sign_in_args() };
    SignIn::from_args(&args).unwrap().expect("sign-in with a client id")
}

fn signing_in(app: &TestApp, issuer: &str) -> TestApp {
    let mut http = app.http.clone();
    http.sign_in = Some(sign_in(issuer));
    app.with_http(http)
}

/// A page's HTML and its Content-Security-Policy.
async fn page(app: &TestApp, path: &str) -> (String, String) {
    let request = Request::get(path).header(header::ACCEPT, "text/html").body(Body::empty()).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (String::from_utf8_lossy(&bytes).into_owned(), policy)
}

// Each page says where to sign in, and may connect to the issuer's origin and no other; without
// a client id the pages say `null` (the key field stays) and connect to the server only.
backend_test!(the_pages_say_where_to_sign_in_and_may_reach_the_issuer_only, |app: TestApp| async move {
    let issuer = "https://sso.example.go.id/realms/jaminan";
    let with = signing_in(&app, issuer);
    for path in ["/graphiql", "/graphql", "/dashboard", "/import"] {
        let (html, policy) = page(&with, path).await;
        let settings = format!(r#"{{"clientId":"{CLIENT}","issuer":"{issuer}"}}"#);
        assert!(
            html.contains(&format!(r#"<script id="signin" type="application/json">{settings}</script>"#)),
            "{path}: {html}"
        );
        assert!(policy.contains("connect-src 'self' https://sso.example.go.id;"), "{path}: {policy}");
        assert!(policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"), "{path}: {policy}");

        let (html, policy) = page(&app, path).await;
        assert!(html.contains(r#"<script id="signin" type="application/json">null</script>"#), "{path}: {html}");
        assert!(policy.contains("connect-src 'self';"), "{path}: {policy}");
    }
    // A configured value cannot close the script element it is written into.
    let odd = signing_in(&app, "https://sso.example.go.id/</script><script>alert(1)</script>");
    let (html, _) = page(&odd, "/dashboard").await;
    assert!(!html.contains("</script><script>alert(1)"), "{html}");
    // An issuer that is not an http(s) URL is refused at start.
    let args = OidcArgs { oidc_issuer: Some("sso.example.go.id".into()), ..sign_in_args() };
    assert!(SignIn::from_args(&args).is_err());
    assert_eq!(SignIn::from_args(&OidcArgs { oidc_client_id: None, ..sign_in_args() }).unwrap(), None);
});

fn sign_in_args() -> OidcArgs {
    OidcArgs {
        oidc_issuer: Some("https://sso.example.go.id/realms/jaminan".into()),
        oidc_audience: Some("https://jaminan.test".into()),
        oidc_role_claim: jaminan::config::DEFAULT_ROLE_CLAIM.to_owned(),
        oidc_scope_claim: jaminan::config::DEFAULT_SCOPE_CLAIM.to_owned(),
        oidc_client_id: Some(CLIENT.into()),
    }
}

/// Whatever page the browser is on: the provider's login form (filled in as `login`, any
/// password) or its consent form (agreed to), once each per document; on our pages, who is
/// signed in.
const STEP: &str = r#"(() => {
  const login = document.querySelector('input[name=login]');
  if (login && !window.__sent) {
    window.__sent = true;
    login.value = 'LOGIN';
    document.querySelector('input[name=password]').value = 'any';
    login.form.submit();
    return 'login';
  }
  const agree = location.pathname.startsWith('/interaction/') && document.querySelector('form button[type=submit]');
  if (agree && !window.__sent) {
    window.__sent = true;
    agree.click();
    return 'consent';
  }
  return document.getElementById('person')?.textContent ?? '';
})()"#;

/// Clicks the page's sign-in button and goes through the provider's forms (if it shows them:
/// with its session alive it sends the browser straight back) until the page names `name`.
async fn sign_in_on(page: &mut DevTools, login: &str, name: &str) -> Vec<String> {
    page.evaluate("document.getElementById('signin-button').click()").await;
    let step = STEP.replace("LOGIN", login);
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let now = page.evaluate(&step).await;
        let now = now.as_str().unwrap_or_default().to_owned();
        if now == name {
            return seen;
        }
        if (now == "login" || now == "consent") && !seen.contains(&now) {
            seen.push(now.clone());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let shown = page.evaluate("location.href + ' ' + document.body.innerText.slice(0, 800)").await;
            let history = page.call("Page.getNavigationHistory", json!({})).await;
            let urls: Vec<&str> =
                history["entries"].as_array().map_or(vec![], |e| e.iter().filter_map(|e| e["url"].as_str()).collect());
            panic!("not signed in as {name} after {seen:?}: {shown} (visited {urls:?})");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// What the browser keeps beyond this page's memory: nothing of a token may be there.
const STORED: &str = "JSON.stringify([...Object.values(localStorage), ...Object.values(sessionStorage)])";

async fn grants(provider: &Provider, grant: &str) -> u64 {
    let counts: Value = reqwest::get(format!("{}/grants", provider.issuer())).await.unwrap().json().await.unwrap();
    counts[grant].as_u64().unwrap_or(0)
}

/// Runs `query` in GraphiQL's editor and waits for a result that contains `expected`.
async fn run_in_graphiql(page: &mut DevTools, query: &str, expected: &str) {
    let set = format!(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({})",
        serde_json::to_string(query).unwrap()
    );
    page.evaluate(&set).await;
    page.evaluate("document.querySelector('.graphiql-execute-button').click()").await;
    let result = format!(
        "String(document.querySelector('.result-window')?.textContent.includes({}))",
        serde_json::to_string(expected).unwrap()
    );
    let started = Instant::now();
    while page.evaluate(&result).await != "true" {
        let shown = page.evaluate("document.querySelector('.result-window')?.textContent ?? ''").await;
        assert!(started.elapsed() < Duration::from_secs(20), "{expected} not in GraphiQL's result: {shown}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

// A person signs in to GraphiQL at the provider (its login and consent forms filled in here),
// runs a mutation, and the audit log names them; the token is renewed before it expires (the
// provider issues 12-second tokens here) and is never stored. The dashboard and the import page
// then sign in through the provider's session without a form, keep their own query (the
// dashboard's English), and show what needs a caller: benefit claims, the regencies to import to.
backend_test!(people_sign_in_on_the_pages_and_are_audited_by_name, |app: TestApp| async move {
    let Some(browser) = chromium() else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let Some(provider) = Provider::start_with(300, &[&origin]).await else { return };
    let (app, _) = accepting(&app, provider.settings()).await;
    let app = signing_in(&app, provider.issuer()).keeping_publications();
    let server = Server::start(listener, app.app());

    let mut graphiql = DevTools::open_watching_policy(&browser, &format!("{origin}/graphiql")).await;
    let editor = "String(document.querySelector('.graphiql-container .CodeMirror') !== null)";
    graphiql.wait_for(editor, "true", Duration::from_secs(20)).await;
    graphiql.wait_for("document.getElementById('signin-button').textContent", "Sign in", Duration::from_secs(5)).await;
    let forms = sign_in_on(&mut graphiql, "desk-operator", "Siti Rahayu").await;
    assert!(forms.contains(&"login".to_owned()), "the provider's login form was filled in: {forms:?}");
    assert_eq!(graphiql.evaluate("location.href").await, format!("{origin}/graphiql"), "the code left the address");
    assert_eq!(graphiql.evaluate("document.getElementById('signin-button').textContent").await, "Sign out");
    assert_eq!(grants(&provider, "authorization_code").await, 1);

    let register = r#"mutation { registerWorker(input: { nik: "3603010101900001", fullName: "Wayan Sudirta", regencyCode: "36.03", occupation: FARMER }) { id } }"#;
    run_in_graphiql(&mut graphiql, register, "\"registerWorker\"").await;
    assert_eq!(app.count_rows("worker").await, 1);
    let log = app.gql_as(&app.admin, "{ auditLog(first: 10) { nodes { operation apiKeyName } } }", json!({})).await;
    let nodes = data(&log)["auditLog"]["nodes"].as_array().unwrap().clone();
    assert!(nodes.iter().any(|n| n["apiKeyName"] == "Siti Rahayu"), "audited under the person's name: {log}");

    // Renewed with the refresh token before the 12 s are up, and the renewed token works.
    let expires = "document.getElementById('person').dataset.expires";
    let first = graphiql.evaluate(expires).await;
    let started = Instant::now();
    while graphiql.evaluate(expires).await == first {
        assert!(started.elapsed() < Duration::from_secs(20), "no renewal");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(grants(&provider, "refresh_token").await >= 1);
    assert_eq!(graphiql.evaluate("document.getElementById('person').textContent").await, "Siti Rahayu");
    run_in_graphiql(&mut graphiql, "{ workers(first: 5) { totalCount } }", "\"totalCount\": 1").await;
    let stored = graphiql.evaluate(STORED).await;
    assert!(!stored.as_str().unwrap().contains("eyJ"), "a token was stored: {stored}");
    assert_eq!(graphiql.evaluate("JSON.stringify(window.violations)").await, "[]");

    // The dashboard: no key field, sign-in through the provider's session, its query kept.
    graphiql
        .call("Page.navigate", json!({ "url": format!("{origin}/dashboard?regency=36.03&year=2023&lang=en") }))
        .await;
    graphiql.wait_for("String(document.getElementById('key')?.hidden)", "true", Duration::from_secs(20)).await;
    graphiql.wait_for("document.getElementById('signin-button').textContent", "Sign in", Duration::from_secs(5)).await;
    let needs = "document.querySelector('#payouts p')?.textContent ?? ''";
    graphiql.wait_for(needs, "Sign in to see benefit claims.", Duration::from_secs(20)).await;
    sign_in_on(&mut graphiql, "desk-operator", "Siti Rahayu").await;
    assert_eq!(graphiql.evaluate("location.search").await, "?regency=36.03&year=2023&lang=en");
    let claims = "String(document.querySelectorAll('#payouts .cards .card').length)";
    graphiql.wait_for(claims, "5", Duration::from_secs(20)).await;
    assert_eq!(graphiql.evaluate("JSON.stringify(window.violations)").await, "[]");

    // The import page: signed in, the operator's regency to import to.
    graphiql.call("Page.navigate", json!({ "url": format!("{origin}/import") })).await;
    graphiql.wait_for("String(document.getElementById('key-form')?.hidden)", "true", Duration::from_secs(20)).await;
    graphiql.wait_for("document.getElementById('step1').textContent", "1. Masuk", Duration::from_secs(5)).await;
    sign_in_on(&mut graphiql, "desk-operator", "Siti Rahayu").await;
    let regencies = "Array.from(document.querySelectorAll('#regency option')).map(o => o.value).join(',')";
    graphiql.wait_for(regencies, "36.03", Duration::from_secs(20)).await;
    assert_eq!(graphiql.evaluate("String(document.getElementById('regency').disabled)").await, "false");
    assert_eq!(graphiql.evaluate("JSON.stringify(window.violations)").await, "[]");
    assert_eq!(grants(&provider, "authorization_code").await, 3);

    // Signing out forgets the token: the page asks again.
    graphiql.evaluate("document.getElementById('signin-button').click()").await;
    graphiql.wait_for("document.getElementById('status').textContent", "Silakan masuk.", Duration::from_secs(5)).await;
    drop(graphiql);
    server.stop().await;
});
