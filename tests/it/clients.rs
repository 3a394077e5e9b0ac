//! Real clients against the server on a real listener, where the client's reading is the point:
//! the graphql-http audit suite (GraphQL over HTTP conformance), Apollo Client 3 and the
//! graphql-ws client, as Node scripts in tests/node (`npm ci --prefix tests/node`). Without Node
//! or those packages each test says why it skips and passes, unless JAMINAN_REQUIRE_NODE is set
//! (CI sets it), when it fails.
use crate::common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestApp;

/// A script may take this long (the audit sends some sixty requests).
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// Runs `node tests/node/<script> <args>`: whether it exited 0, and what it printed (also shown
/// in the test's output). None when the test is skipped.
async fn node(script: &str, args: &[String]) -> Option<(bool, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if let Some(why) = node_unavailable() {
        assert!(std::env::var_os("JAMINAN_REQUIRE_NODE").is_none(), "JAMINAN_REQUIRE_NODE is set, but {why}");
        eprintln!("skipped: {why}");
        return None;
    }
    let child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(SCRIPT_LIMIT, waiting).await {
        Ok(output) => output.expect("join").expect("node's output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("node {script} ran longer than {SCRIPT_LIMIT:?}");
        }
    };
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("node {script}:\n{text}");
    Some((output.status.success(), text))
}

/// Why the Node scripts cannot run here (no `node`, or tests/node's packages not installed).
pub fn node_unavailable() -> Option<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let node_runs = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_runs {
        Some("`node` is not installed".to_owned())
    } else if !dir.join("node_modules").is_dir() {
        Some(format!("{} is missing: run `npm ci --prefix tests/node`", dir.join("node_modules").display()))
    } else {
        None
    }
}

/// `MUST 13/13` -> (13, 13).
fn count(output: &str, level: &str) -> (u32, u32) {
    let line = output.lines().find_map(|l| l.strip_prefix(&format!("{level} "))).expect("the audit's counts");
    let (passed, total) = line.split_once('/').expect("passed/total");
    (passed.trim().parse().expect("a number"), total.trim().parse().expect("a number"))
}

// GraphQL over HTTP: every MUST and every SHOULD of graphql-http's audit (the MAYs are shown).
// Before answering `Accept: */*` and requests without Accept with application/json, SHOULD was
// 21/23 (47DE, 80D8).
backend_test!(the_graphql_http_audit_passes_every_must_and_should, |app: TestApp| async move {
    let address = app.serve().await;
    let Some((success, output)) = node("audit.mjs", &[format!("http://{address}/graphql")]).await else { return };
    assert_eq!(count(&output, "MUST"), (13, 13), "{output}");
    assert_eq!(count(&output, "SHOULD"), (23, 23), "{output}");
    assert!(success, "{output}");
});

// Apollo Client 3 sends `Accept: */*` and reads any status but 2xx as a network error: a
// validation error answered 400 reached the application as "Response not successful: Received
// status code 400", its code buried. Answered 200 application/json, it is in `graphQLErrors`.
backend_test!(apollo_client_3_reads_request_errors_as_graphql_errors, |app: TestApp| async move {
    let address = app.serve().await;
    let Some((success, output)) = node("apollo.mjs", &[format!("http://{address}/graphql")]).await else { return };
    assert!(success, "{output}");
    assert!(output.contains(r#""graphQLErrors":["BAD_USER_INPUT"]"#), "{output}");
});

// The graphql-ws client retries a 4403 close five times (each attempt a wrong key against the
// address's budget); an unknown key closes with 4401, which it takes as final: one attempt.
backend_test!(the_graphql_ws_client_gives_up_on_an_unknown_key, |app: TestApp| async move {
    let address = app.serve().await;
    let args = [format!("ws://{address}/graphql"), "jmn_mistyped".to_owned(), app.admin.clone()];
    let Some((success, output)) = node("ws.mjs", &args).await else { return };
    assert!(success, "{output}");
    assert!(output.contains(r#""closeCode":4401"#) && output.contains(r#""attempts":1,"#), "{output}");
});
