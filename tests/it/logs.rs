//! No personal data in the logs: the real server at debug level, the API surface driven through
//! it (registrations, NIK lookups, a death benefit through its whole workflow, errors, a wrong
//! key, a GET with a NIK in the query string, an import), and its log scanned for full NIKs, API
//! keys, birth dates and beneficiaries' names.
use crate::common;

use std::path::PathBuf;

use common::TestApp;
use common::binary::Server;
use serde_json::{Value, json};

const NIK: &str = "3603124503850001"; // a woman born on 5 March 1985
const OTHER_NIK: &str = "3603121505850002";
const HEIR: &str = "Rahayu Kusumawardani";
const WRONG_KEY: &str = "jmn_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

backend_test!(the_log_holds_no_personal_data, |app: TestApp| async move {
    let (server, url, log_path) = serve(&app, "debug", &[]).await;
    let client = reqwest::Client::new();
    let call = |key: Option<String>, query: &str, variables: Value| {
        let mut request =
            client.post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.unwrap().json::<Value>().await.unwrap_or(Value::Null) }
    };
    let (admin, admin2) = (Some(app.admin.clone()), Some(app.admin2.clone()));
    let register = "mutation($n: String!) { registerWorker(input: { nik: $n, fullName: \"Siti Aminah\", regencyCode: \"36.03\", \
        districtCode: \"36.03.12\", occupation: FISHER, membershipNumber: \"90011223344\" }) { id nik birthDate } }";
    let worker = call(admin.clone(), register, json!({ "n": NIK })).await;
    let worker = worker["data"]["registerWorker"]["id"].as_str().expect("registered").to_owned();
    call(admin.clone(), register, json!({ "n": NIK })).await; // CONFLICT
    call(admin.clone(), register, json!({ "n": "3603124513850001" })).await; // a bad date
    call(admin.clone(), "query($n: String!) { workerByNik(nik: $n) { id nik birthDate } }", json!({ "n": NIK })).await;
    call(
        admin.clone(),
        "query($n: String!) { workers(filter: { search: $n }) { nodes { nik } } }",
        json!({ "n": OTHER_NIK }),
    )
    .await;
    let enroll = "mutation($w: ID!) { enrollWorker(input: { workerId: $w, regencyCode: \"36.03\", fundingSource: APBD, startsOn: \"2024-01-01\" }) { id } }";
    call(admin.clone(), enroll, json!({ "w": worker })).await;
    let submit = "mutation($w: ID!, $h: String!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2024-06-01\", \
        beneficiaryName: $h, beneficiaryRelationship: CHILD }) { id beneficiaryName } }";
    let payout = call(admin.clone(), submit, json!({ "w": worker, "h": HEIR })).await;
    let payout = payout["data"]["submitPayout"]["id"].as_str().expect("submitted").to_owned();
    call(admin2.clone(), "mutation($p: ID!) { verifyPayout(id: $p) { id } }", json!({ "p": payout })).await;
    call(admin2.clone(), "mutation($p: ID!) { approvePayout(id: $p) { id } }", json!({ "p": payout })).await;
    call(
        admin.clone(),
        "mutation($p: ID!) { markPayoutPaid(id: $p, paymentReference: \"TRF-1\") { id } }",
        json!({ "p": payout }),
    )
    .await;
    call(admin.clone(), "{ auditLog(first: 50) { nodes { operation changes } } }", json!({})).await;
    call(Some(WRONG_KEY.to_owned()), "{ workers { totalCount } }", json!({})).await;
    call(None, "{ coverageStats(areaCode: \"36.03\", year: 2024) { coveredWorkers payoutsPaidAmount } }", json!({}))
        .await;
    let query = format!("{{ workerByNik(nik: \"{OTHER_NIK}\") {{ id }} }}");
    client
        .get(format!("{url}/graphql"))
        .query(&[("query", query.as_str())])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    server.stop();

    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).ok();
    assert!(log.lines().count() > 20 && log.contains("DEBUG"), "the server logged at debug level:\n{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file:\n{}", lines_with(&log, "\u{1b}"));
    for secret in [NIK, OTHER_NIK, &app.admin, &app.admin2, WRONG_KEY, HEIR, "1985-03-05", "05-03-1985", "90011223344"]
    {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{}", lines_with(&log, secret));
    }
});

/// The real server with its log (stderr) in a file, at `rust_log`.
async fn serve(app: &TestApp, rust_log: &str, extra: &[&str]) -> (Server, String, PathBuf) {
    let dir = std::env::temp_dir().join("jaminan-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join(format!("serve-{}.log", uuid::Uuid::new_v4()));
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::start_with(app, |serve| _ = serve.args(extra).env("RUST_LOG", rust_log).stderr(log)).await;
    let url = server.url.clone();
    (server, url, log_path)
}

fn lines_with(log: &str, needle: &str) -> String {
    log.lines().filter(|l| l.contains(needle)).take(5).collect::<Vec<_>>().join("\n")
}

backend_test!(json_log_lines_and_errors_carry_the_request_id, |app: TestApp| async move {
    let (server, url, log_path) = serve(&app, "info", &["--log-format", "json"]).await;
    let client = reqwest::Client::new();
    let ask = |id: Option<&str>, query: &str| {
        let mut request = client.post(format!("{url}/graphql")).json(&json!({ "query": query }));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        async move {
            let response = request.send().await.unwrap();
            let echoed = response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
            (echoed, response.json::<Value>().await.unwrap())
        }
    };
    // Given: echoed, and in the error's extensions (a user's report names the log line).
    let (echoed, body) = ask(Some("dasbor-7f3a-0042"), "{ regency(code: \"36.03\") { nosuchfield } }").await;
    assert_eq!(echoed, "dasbor-7f3a-0042");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "dasbor-7f3a-0042", "{body}");
    // Refused before execution, too.
    let (echoed, body) = ask(Some("dasbor-7f3a-0043"), "mutation { a: x b: y }").await;
    assert_eq!(body["errors"][0]["extensions"]["requestId"], echoed.as_str(), "{body}");
    // Absent or not a plain token: a fresh one.
    let long = "a".repeat(200);
    for given in [None, Some("a\" level=ERROR"), Some(long.as_str())] {
        let (echoed, _) = ask(given, "{ provinces { code } }").await;
        assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "{given:?} -> {echoed}");
    }
    server.stop();

    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).ok();
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let with_id = lines.iter().filter(|line| line.to_string().contains("dasbor-7f3a-0042")).count();
    assert!(with_id >= 1, "the request's log line names its id:\n{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes:\n{log}");
});
