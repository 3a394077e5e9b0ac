//! What people read, held as snapshots (`cargo insta review` shows a change as a diff): the error
//! bodies clients get, in English and in Bahasa Indonesia, and the command line's lines in both.
//! What varies from run to run (request ids, times, hashes) is redacted.
use std::process::Command;

use serde_json::{Value, json};

use crate::common;

use common::{MODERN, TestApp};

/// A request's answer as a client sees it: the status and the body.
async fn answer(app: &TestApp, key: Option<&str>, body: Value, accept: Option<&str>) -> Value {
    let (status, body) = app.post_json_accepting(key, &body.to_string(), accept).await;
    json!({ "status": status.as_u16(), "body": body })
}

/// Every refusal a client meets most, as the body it reads.
async fn error_bodies(app: &TestApp) -> Value {
    let viewer =
        jaminan::auth::keys::create_key(&app.state.db, "wall", jaminan::auth::Role::Viewer, None).await.unwrap().0;
    let register = "mutation($nik: String!) { registerWorker(input: { nik: $nik, fullName: \"Siti\", \
        regencyCode: \"36.03\", occupation: FISHER }) { id } }";
    json!({
        "unknown key": answer(app, Some("jmn_not_a_key"), json!({ "query": "{ provinces { code } }" }), None).await,
        "syntax error": answer(app, None, json!({ "query": "{ provinces {" }), MODERN).await,
        "unknown field": answer(app, None, json!({ "query": "{ provincs { code } }" }), None).await,
        "batch": answer(app, None, json!([{ "query": "{ provinces { code } }" }]), None).await,
        "needs a key": answer(app, None, json!({ "query": "{ workers { totalCount } }" }), None).await,
        "role too low": answer(app, Some(&viewer), json!({ "query": register, "variables": { "nik": "3603125505850001" } }), None).await,
        "bad NIK": answer(app, Some(&app.admin), json!({ "query": register, "variables": { "nik": "3603129905850001" } }), None).await,
        "wrong variable type": answer(app, None, json!({ "query": "query($y: Int!) { coverageStats(year: $y) { coveredWorkers } }", "variables": { "y": "2023" } }), MODERN).await,
    })
}

backend_test!(error_bodies_read_as_clients_read_them, |app: TestApp| async move {
    let redacted = |name: &str, bodies: Value| {
        insta::assert_json_snapshot!(name, bodies, { ".*.body.errors[].extensions.requestId" => "[request id]" });
    };
    redacted("error_bodies_en", error_bodies(&app).await);
    redacted("error_bodies_id", error_bodies(&app.in_language("id")).await);
});

/// The binary on a fresh SQLite database in `lang`, and what it printed (both streams).
fn printed(database_url: &str, lang: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(args)
        .args(["--lang", lang])
        .env("DATABASE_URL", database_url)
        .env_remove("JAMINAN_LANG")
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn command_line_lines_in_both_languages() {
    let dir = std::env::temp_dir().join("jaminan-tests");
    std::fs::create_dir_all(&dir).unwrap();
    // A database per language: each session starts from an empty one.
    let paths: Vec<_> = (0..2).map(|_| dir.join(format!("snapshot-cli-{}.db", uuid::Uuid::new_v4()))).collect();
    // Times and hashes vary from run to run; the words and the layout are the point.
    let filters = vec![
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[timestamp]"),
        (r"elapsed_ms=\d+", "elapsed_ms=[ms]"),
        (r"\d+([.,]\d+)? ?(s|detik)\b", "[time]"),
        (r"[0-9a-f]{64}", "[hash]"),
        (r"\(\d+ ms\)", "([time])"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "[moment]"),
        (r"\d{1,2} [A-Z][a-z]+ \d{4} \d{2}\.\d{2} UTC", "[moment]"),
    ];
    insta::with_settings!({ filters => filters }, {
        for (lang, path) in ["en", "id"].into_iter().zip(&paths) {
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let session = [
                printed(&url, lang, &["migrate"]),
                printed(&url, lang, &["audit", "verify"]),
                printed(&url, lang, &["audit", "verify", "--expect-head", "not-a-head"]),
                printed(&url, lang, &["stats", "verify"]),
                printed(&url, lang, &["api-key", "create", "--name", "x", "--role", "admin", "--scope", "36"]),
                printed(&url, lang, &["api-key", "create", "--name", "desk", "--role", "viewer", "--scope", "36"]),
                printed(&url, lang, &["api-key", "list"]),
                printed(&url, lang, &["export", "enrollments", "--regency", "99.99", "--year", "2023"]),
            ]
            .join("\n");
            insta::assert_snapshot!(format!("command_line_{lang}"), session);
        }
    });
    for path in &paths {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
