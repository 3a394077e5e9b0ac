//! Side channels closed (issue "Abuse and privacy"): what a scoped key could learn through the
//! answers the server must give, tried as an attacker would.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{MODERN, TestApp, data, error_code};
use jaminan::auth::throttle::Throttle;
use jaminan::auth::{self, Role};
use jaminan::config::RateLimits;
use jaminan::stats::publication::Publications;
use sea_orm::ConnectionTrait;
use serde_json::json;

async fn key(app: &TestApp, role: Role, scope: &str) -> String {
    auth::keys::create_key(&app.state.db, &format!("{role:?} {scope}"), role, Some(scope.to_owned())).await.unwrap().0
}

/// Audit entries of refused probes: (operation, changes).
async fn refusals(app: &TestApp) -> Vec<(String, String)> {
    let db = &app.state.db;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT operation, changes FROM audit_log WHERE entity_type = 'REFUSAL' ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter().map(|r| (r.try_get("", "operation").unwrap(), r.try_get("", "changes").unwrap())).collect()
}

const WOMAN_NIK: &str = "3603124503850001"; // born 5 March 1985 (45 = 5 + 40: a woman)

backend_test!(a_viewer_cannot_complete_a_masked_nik, |app: TestApp| async move {
    let worker = app.register(WOMAN_NIK, "Siti Aminah", "36.03", Some("36.03.12"), "FISHER").await;
    let viewer = key(&app, Role::Viewer, "36.03").await;
    let shown = app.gql_as(&viewer, "query($w: ID!) { worker(id: $w) { nik gender } }", json!({ "w": worker })).await;
    assert_eq!(data(&shown)["worker"]["nik"], "360312******0001");
    // The attack: 50 birth dates per request through aliases, the right one among them. Every
    // guess is refused, so no number of requests finds it.
    let guesses: String = (0..50)
        .map(|n| {
            let nik = if n == 17 { WOMAN_NIK.to_owned() } else { format!("360312{:02}0385{}", 41 + n % 28, "0001") };
            format!("g{n}: workerByNik(nik: \"{nik}\") {{ id }} ")
        })
        .collect();
    let response = app.gql_as(&viewer, &format!("{{ {guesses} }}"), json!({})).await;
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50, "{response}");
    assert!(errors.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN"), "{response}");
    assert!(!response.to_string().contains(&format!("\"{worker}\"")), "{response}");
    let search = app
        .gql_as(
            &viewer,
            "query($n: String!) { workers(filter: { search: $n }) { totalCount } }",
            json!({ "n": WOMAN_NIK }),
        )
        .await;
    assert_eq!(error_code(&search), "FORBIDDEN");
    // An operator of the regency may: it sees full NIKs anyway.
    let operator = key(&app, Role::Operator, "36.03").await;
    let found =
        app.gql_as(&operator, "query($n: String!) { workerByNik(nik: $n) { id } }", json!({ "n": WOMAN_NIK })).await;
    assert_eq!(data(&found)["workerByNik"]["id"], worker);
});

backend_test!(one_mutation_per_request_unless_admin, |app: TestApp| async move {
    let operator = key(&app, Role::Operator, "36.71").await;
    let two = "mutation { a: registerWorker(input: { nik: \"3671011505850021\", fullName: \"A\", regencyCode: \"36.71\", occupation: FISHER }) { id } \
        b: registerWorker(input: { nik: \"3671011505850022\", fullName: \"B\", regencyCode: \"36.71\", occupation: FISHER }) { id } }";
    let body = json!({ "query": two }).to_string();
    let (status, response) = app.post_json_accepting(Some(&operator), &body, MODERN).await;
    assert_eq!(status, 400, "{response}");
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("one mutation per request"));
    // Through a fragment too.
    let fragment = "mutation { ...M } fragment M on Mutation { a: recordDeath(workerId: \"1\", diedOn: \"2024-01-01\") { id } \
        b: recordDeath(workerId: \"2\", diedOn: \"2024-01-01\") { id } }";
    let (status, _) = app.post_json_accepting(Some(&operator), &json!({ "query": fragment }).to_string(), MODERN).await;
    assert_eq!(status, 400);
    assert_eq!(app.count_rows("worker").await, 0, "nothing ran");
    // An admin may combine them (GraphiQL sessions).
    let response = app.gql_as(&app.admin, two, json!({})).await;
    assert!(data(&response)["a"]["id"].is_string() && data(&response)["b"]["id"].is_string());
});

backend_test!(conflicts_about_hidden_workers_are_audited_and_budgeted, |app: TestApp| async move {
    let hidden = app.register(WOMAN_NIK, "Siti Aminah", "36.03", Some("36.03.12"), "FISHER").await;
    let update = "mutation($w: ID!, $k: String!) { updateWorker(id: $w, input: { membershipNumber: $k }) { id } }";
    common::data(&app.gql_as(&app.admin, update, json!({ "w": hidden, "k": "11223344" })).await);
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { probes_per_hour: 3, ..RateLimits::DEFAULT }));
    let app3 = app.with_state(state);
    let kota = key(&app, Role::Operator, "36.71").await;
    let register = "mutation($nik: String!, $k: String) { registerWorker(input: { nik: $nik, fullName: \"X\", \
        regencyCode: \"36.71\", occupation: FISHER, membershipNumber: $k }) { id } }";
    // Deduplication still answers, within the budget: the NIK, then the membership number.
    let response = app3.gql_as(&kota, register, json!({ "nik": WOMAN_NIK })).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    let response = app3.gql_as(&kota, register, json!({ "nik": "3671011505850021", "k": "11223344" })).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    let own = app3.gql_as(&kota, register, json!({ "nik": "3671011505850022" })).await;
    let own = data(&own)["registerWorker"]["id"].as_str().unwrap().to_owned();
    let response = app3.gql_as(&kota, update, json!({ "w": own, "k": "11223344" })).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    // The budget is spent: 429 with Retry-After, the code RATE_LIMITED; still audited.
    let body = json!({ "query": register, "variables": { "nik": WOMAN_NIK } }).to_string();
    let (status, response) = app3.post_json(Some(&kota), &body).await;
    assert_eq!(status, 429, "{response}");
    assert_eq!(error_code(&response), "RATE_LIMITED");
    assert!(response["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    let audited = refusals(&app).await;
    let operations: Vec<&str> = audited.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(operations, ["registerWorker", "registerWorker", "updateWorker", "registerWorker"]);
    assert!(audited.iter().all(|(_, c)| c.contains("360312******0001") && !c.contains(WOMAN_NIK)), "{audited:?}");
    // A duplicate the key can see is a plain CONFLICT: nothing to audit, nothing counted.
    let again = app3.gql_as(&kota, register, json!({ "nik": "3671011505850022" })).await;
    assert_eq!(error_code(&again), "CONFLICT");
    assert_eq!(refusals(&app).await.len(), 4);
    assert_eq!(app.count_rows("worker").await, 2, "nothing registered by the refusals");
});

const IMPORT_HEADER: &str = "nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number";

/// Rows of a province-32 list: `(nik, district, membership number)`.
fn enrollment_file(rows: &[(&str, &str, &str)]) -> String {
    let mut file = IMPORT_HEADER.to_owned();
    for (nik, district, membership) in rows {
        file.push_str(&format!("\n{nik},Nama Pekerja,FISHER,{district},2024-01-01,2024-12-31,APBD,,,{membership}"));
    }
    file
}

/// `(rowsInError, [(line, code)])` of an import's report.
fn answers(response: &serde_json::Value) -> (i64, Vec<(i64, String)>) {
    let report = &data(response)["importEnrollments"];
    let errors = report["errors"].as_array().unwrap();
    let lines = errors.iter().map(|e| (e["line"].as_i64().unwrap(), e["code"].as_str().unwrap().to_owned())).collect();
    (report["rowsInError"].as_i64().unwrap(), lines)
}

backend_test!(an_import_answers_no_more_about_hidden_workers_than_register_worker, |app: TestApp| async move {
    // Workers of 36.74 and 36.71 (Banten), one with a membership number; the attacker is an
    // operator of province 32 (Jawa Barat) importing into Kota Bandung.
    let hidden = ["3674011505850001", "3671015505900002"];
    app.register(hidden[0], "Siti Aminah", "36.74", Some("36.74.01"), "FISHER").await;
    let second = app.register(hidden[1], "Budi Santoso", "36.71", Some("36.71.01"), "FARMER").await;
    let update = "mutation($w: ID!, $k: String!) { updateWorker(id: $w, input: { membershipNumber: $k }) { id } }";
    data(&app.gql_as(&app.admin, update, json!({ "w": second, "k": "99887766" })).await);
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { probes_per_hour: 3, ..RateLimits::DEFAULT }));
    let app = app.with_state(state);
    let operator = key(&app, Role::Operator, "32").await;
    let import = |file: String, options: serde_json::Value| {
        let (app, operator) = (app.clone(), operator.clone());
        async move { app.import_csv(Some(&operator), "32.73", file.as_bytes(), options).await }
    };
    let probing = enrollment_file(&[
        (hidden[0], "32.73.01", ""),                  // line 2: a hidden NIK
        ("3273011505850003", "32.73.01", ""),         // line 3: an invented one
        ("3273011505850004", "32.73.02", "99887766"), // line 4: a hidden worker's membership number
        (hidden[1], "36.03.01", ""),                  // line 5: a hidden NIK, domicile out of scope
        ("3273011505850005", "36.03.01", ""),         // line 6: an invented NIK, domicile out of scope
    ]);

    // A dry run costs nothing, so it tells nothing: hidden workers' rows read as new ones, and a
    // domicile out of scope is FORBIDDEN whether the NIK is known or not.
    let (status, dry) = import(probing.clone(), json!({ "dryRun": true })).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(answers(&dry), (2, vec![(5, "FORBIDDEN".into()), (6, "FORBIDDEN".into())]), "{dry}");
    assert_eq!(data(&dry)["importEnrollments"]["workersRegistered"], 3);
    assert_eq!(data(&dry)["importEnrollments"]["workersKnown"], 0);
    for _ in 0..5 {
        let (status, again) = import(probing.clone(), json!({ "dryRun": true })).await;
        assert_eq!((status.as_u16(), answers(&again)), (200, answers(&dry)), "no budget spent by dry runs");
    }
    assert!(refusals(&app).await.is_empty(), "a dry run met no one");

    // A real import answers as registerWorker does: the hidden workers' rows are CONFLICT, each
    // audited (NIK masked) and counted.
    let (status, real) = import(probing.clone(), json!({})).await;
    assert_eq!(status, 200, "{real}");
    let expected =
        vec![(2, "CONFLICT".into()), (4, "CONFLICT".into()), (5, "FORBIDDEN".into()), (6, "FORBIDDEN".into())];
    assert_eq!(answers(&real), (4, expected), "{real}");
    assert_eq!(data(&real)["importEnrollments"]["written"], false);
    let audited = refusals(&app).await;
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert!(audited.iter().all(|(operation, _)| operation == "importEnrollments"));
    assert!(audited[0].1.contains("367401******0001") && !audited[0].1.contains(hidden[0]), "{audited:?}");
    assert!(audited[1].1.contains("367101******0002") && !audited[1].1.contains(hidden[1]), "{audited:?}");

    // One probe is left; this file meets two hidden workers: refused as a whole, no row answered.
    let (status, refused) = import(probing.clone(), json!({ "partial": true })).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(error_code(&refused), "RATE_LIMITED");
    assert!(refused["data"].is_null() || refused["data"]["importEnrollments"].is_null(), "{refused}");
    assert_eq!(refusals(&app).await.len(), 4, "the attempt is audited");
    // Now the budget is spent: a real import is refused whether it meets anyone or not, or its
    // answer would say which.
    let innocent = enrollment_file(&[("3273011505850006", "32.73.01", "")]);
    let (status, response) = import(innocent.clone(), json!({})).await;
    assert_eq!((status.as_u16(), error_code(&response)), (429, "RATE_LIMITED"), "{response}");
    let (status, dry) = import(probing, json!({ "dryRun": true })).await;
    assert_eq!((status.as_u16(), answers(&dry).0), (200, 2), "dry runs still check files");
    assert_eq!(app.count_rows("worker").await, 2, "nothing was registered");
});

backend_test!(a_list_with_workers_registered_elsewhere_imports_with_partial, |app: TestApp| async move {
    app.register("3674011505850001", "Siti Aminah", "36.74", Some("36.74.01"), "FISHER").await;
    let operator = key(&app, Role::Operator, "32.73").await;
    let file = enrollment_file(&[
        ("3273011505850003", "32.73.01", ""),
        ("3674011505850001", "32.73.01", ""),
        ("3273011505850004", "32.73.02", ""),
    ]);
    let (status, response) =
        app.import_csv(Some(&operator), "32.73", file.as_bytes(), json!({ "partial": true })).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(answers(&response), (1, vec![(3, "CONFLICT".into())]));
    let report = &data(&response)["importEnrollments"];
    assert_eq!((report["written"].as_bool(), report["workersRegistered"].as_i64()), (Some(true), Some(2)));
    let audited = refusals(&app).await;
    assert_eq!(audited.len(), 1, "audited with the import: {audited:?}");
    assert!(audited[0].1.contains("367401******0001"));
    assert_eq!(app.count_rows("worker").await, 3);
});

backend_test!(a_probe_budget_spent_by_register_worker_stops_imports, |app: TestApp| async move {
    app.register("3674011505850001", "Siti Aminah", "36.74", Some("36.74.01"), "FISHER").await;
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { probes_per_hour: 2, ..RateLimits::DEFAULT }));
    let app = app.with_state(state);
    let operator = key(&app, Role::Operator, "32.73").await;
    let register = "mutation { registerWorker(input: { nik: \"3674011505850001\", fullName: \"X\", \
        regencyCode: \"32.73\", occupation: FISHER }) { id } }";
    for expected in ["CONFLICT", "CONFLICT", "RATE_LIMITED"] {
        assert_eq!(error_code(&app.gql_as(&operator, register, json!({})).await), expected);
    }
    let file = enrollment_file(&[("3273011505850003", "32.73.01", "")]);
    let (status, response) = app.import_csv(Some(&operator), "32.73", file.as_bytes(), json!({})).await;
    assert_eq!((status.as_u16(), error_code(&response)), (429, "RATE_LIMITED"), "{response}");
    assert_eq!(app.count_rows("worker").await, 1);
});

backend_test!(a_coverage_enrolled_after_the_death_grants_no_reach, |app: TestApp| async move {
    // Lives in 36.03, covered by 36.03 since 2024; Kota Tangerang (36.71) covered the worker in
    // 2022, so it sees the worker. Dies on 2024-06-01.
    let worker = app.register("3603121505850001", "Budi", "36.03", Some("36.03.12"), "FISHER").await;
    let home_coverage = app.enroll(&worker, "36.03", "2024-01-01", None).await;
    app.enroll(&worker, "36.71", "2022-01-01", Some("2022-12-31")).await;
    let kota = key(&app, Role::Operator, "36.71").await;
    let record = "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2024-06-01\") { status } }";
    assert_eq!(error_code(&app.gql_as(&kota, record, json!({ "w": worker })).await), "FORBIDDEN");
    // The attack: a backdated 36.71 coverage over the day of death, enrolled today.
    let enroll = "mutation($w: ID!) { enrollWorker(input: { workerId: $w, regencyCode: \"36.71\", fundingSource: APBD, \
        startsOn: \"2024-05-01\" }) { id } }";
    let enrolled = app.gql_as(&kota, enroll, json!({ "w": worker })).await;
    assert!(enrolled["data"]["enrollWorker"]["id"].is_string(), "{enrolled}");
    let response = app.gql_as(&kota, record, json!({ "w": worker })).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // Nor through a death benefit, which records the death too.
    let submit = "mutation($w: ID!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2024-06-01\", \
        beneficiaryName: \"Ahli Waris\", beneficiaryRelationship: SPOUSE }) { id } }";
    let response = app.gql_as(&kota, submit, json!({ "w": worker })).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // 36.03's coverage is still open and the worker alive.
    let state = app
        .gql_as(
            &app.admin,
            "query($w: ID!) { worker(id: $w) { status coverages { id endsOn } } }",
            json!({ "w": worker }),
        )
        .await;
    assert_eq!(data(&state)["worker"]["status"], "ALIVE");
    let coverages = data(&state)["worker"]["coverages"].as_array().unwrap().clone();
    let home = coverages.iter().find(|c| c["id"] == json!(home_coverage)).unwrap();
    assert!(home["endsOn"].is_null(), "{coverages:?}");
});

backend_test!(a_death_benefit_out_of_sight_is_refused_without_details, |app: TestApp| async move {
    // Lives in 36.03; Bandung (32.73) covered the worker from 2023 and paid the death benefit.
    let worker = app.register("3603121505850001", "Budi", "36.03", Some("36.03.12"), "FISHER").await;
    app.enroll(&worker, "32.73", "2023-01-01", None).await;
    let submit = "mutation($w: ID!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2024-06-01\", \
        beneficiaryName: \"Ahli Waris\", beneficiaryRelationship: SPOUSE }) { id } }";
    data(&app.gql_as(&app.admin, submit, json!({ "w": worker })).await);
    // The domicile regency enrolls the worker for 2022 up to the death, then claims too.
    let home = key(&app, Role::Operator, "36.03").await;
    let enroll = "mutation($w: ID!) { enrollWorker(input: { workerId: $w, regencyCode: \"36.03\", fundingSource: APBD, \
        startsOn: \"2022-01-01\", endsOn: \"2024-06-01\" }) { id } }";
    data(&app.gql_as(&home, enroll, json!({ "w": worker })).await);
    let response = app.gql_as(&home, submit, json!({ "w": worker })).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("reject") && !message.contains("32.73"), "no more than the refusal: {message}");
    let payouts = app.gql_as(&home, "{ payouts { totalCount } }", json!({})).await;
    assert_eq!(data(&payouts)["payouts"]["totalCount"], 0, "the other payout stays out of sight");
    let audited = refusals(&app).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "submitPayout");
});

/// A request from `peer` (as the listener reports it), with a key and `X-Forwarded-For` if given.
fn from(peer: &str, key: Option<&str>, forwarded_for: Option<&str>) -> axum::http::Request<axum::body::Body> {
    let body = json!({ "query": "{ regency(code: \"36.03\") { name } }" }).to_string();
    let mut request = axum::http::Request::post("/graphql").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if let Some(forwarded) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(axum::body::Body::from(body)).unwrap();
    let address: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(address));
    request
}

fn limited(app: &TestApp, limits: RateLimits) -> TestApp {
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&limits));
    app.with_state(state)
}

backend_test!(floods_are_throttled_per_key_and_per_address, |app: TestApp| async move {
    let limits = RateLimits {
        key_requests_per_minute: 3,
        anonymous_requests_per_minute: 2,
        failed_keys_per_hour: 3,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..RateLimits::DEFAULT
    };
    let app = limited(&app, limits);
    // Per key.
    for _ in 0..3 {
        assert_eq!(app.send(from("10.0.0.1", Some(&app.admin), None)).await.0, 200);
    }
    let (status, response) = app.send(from("10.0.0.2", Some(&app.admin), None)).await;
    assert_eq!(status, 429, "{response}");
    assert_eq!(error_code(&response), "RATE_LIMITED");
    let raw = app.router.clone();
    let answer = tower::ServiceExt::oneshot(raw, from("10.0.0.2", Some(&app.admin), None)).await.unwrap();
    assert!(answer.headers().get("retry-after").is_some(), "Retry-After on 429");
    assert_eq!(app.send(from("10.0.0.1", Some(&app.admin2), None)).await.0, 200, "another key has its own budget");
    // Per address without a key.
    for _ in 0..2 {
        assert_eq!(app.send(from("10.0.0.3", None, None)).await.0, 200);
    }
    assert_eq!(app.send(from("10.0.0.3", None, None)).await.0, 429);
    assert_eq!(app.send(from("10.0.0.4", None, None)).await.0, 200);
    // Wrong keys: three, then unknown keys from the address are refused until the budget refills.
    for _ in 0..3 {
        assert_eq!(app.send(from("10.0.0.5", Some("jmn_wrong"), None)).await.0, 401);
    }
    let (status, response) = app.send(from("10.0.0.5", Some("jmn_wrong"), None)).await;
    assert_eq!((status.as_u16(), error_code(&response)), (429, "RATE_LIMITED"));
    // Another unknown key is refused unchecked (no lookup at the speed of the requests); a
    // valid key from the same address (an office behind one NAT address) is served.
    assert_eq!(app.send(from("10.0.0.5", Some("jmn_other"), None)).await.0, 429, "guessing is stopped, not answered");
    assert_eq!(app.send(from("10.0.0.5", Some(&app.admin2), None)).await.0, 200, "a colleague's key still works");
    assert_eq!(app.send(from("10.0.0.6", Some(&app.admin2), None)).await.0, 200);
    // Behind a trusted proxy the client is the forwarded address; others cannot claim one.
    for _ in 0..2 {
        assert_eq!(app.send(from("127.0.0.1", None, Some("10.0.0.9"))).await.0, 200);
    }
    assert_eq!(app.send(from("127.0.0.1", None, Some("10.0.0.9"))).await.0, 429);
    assert_eq!(app.send(from("127.0.0.1", None, Some("10.0.0.10, 127.0.0.1"))).await.0, 200);
    assert_eq!(
        app.send(from("10.0.0.3", None, Some("10.0.0.11"))).await.0,
        429,
        "an untrusted peer's header is ignored"
    );
});

backend_test!(every_forwarded_for_line_is_read, |app: TestApp| async move {
    let limits = RateLimits {
        anonymous_requests_per_minute: 3,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..RateLimits::DEFAULT
    };
    let app = limited(&app, limits);
    // A proxy that adds its own line (HAProxy's `option forwardfor`) after the client's: the
    // client's first line changes every time, the address the proxy saw does not.
    let request = |n: usize| {
        let mut request = from("127.0.0.1", None, Some(&format!("192.0.2.{n}")));
        request.headers_mut().append("x-forwarded-for", "10.0.0.20".parse().unwrap());
        request
    };
    for n in 0..3 {
        assert_eq!(app.send(request(n)).await.0, 200);
    }
    let (status, response) = app.send(request(3)).await;
    assert_eq!((status.as_u16(), error_code(&response)), (429, "RATE_LIMITED"), "{response}");
    // Trusted proxies in the later lines are skipped too, as within one line.
    let mut request = from("127.0.0.1", None, Some("192.0.2.99, 10.0.0.21"));
    request.headers_mut().append("x-forwarded-for", "127.0.0.1".parse().unwrap());
    assert_eq!(app.send(request).await.0, 200, "10.0.0.21 has its own budget");
});

/// The publication with its default k (10), recomputed on every request.
fn published(app: &TestApp) -> TestApp {
    let mut state = app.state.clone();
    state.publications = Arc::new(Publications::new(10, Duration::ZERO));
    app.with_state(state)
}

/// `count` male farmers living in `district`, covered by its regency from `since` on.
async fn farmers(app: &TestApp, district: &str, count: u32, first_serial: u32, since: &str) -> Vec<String> {
    let regency = &district[..5];
    let mut workers = Vec::new();
    for serial in first_serial..first_serial + count {
        let nik = format!("36711215058{serial:05}");
        let worker = app.register(&nik, &format!("Petani {serial}"), regency, Some(district), "FARMER").await;
        app.enroll(&worker, regency, since, None).await;
        workers.push(worker);
    }
    workers
}

const STATS: &str = "query($a: String) { coverageStats(areaCode: $a, year: 2026) { coveredWorkers premiumCost \
    payoutsPaid payoutsPaidAmount byGender { gender } byOccupation { occupation } withheld \
    children { areaCode coveredWorkers withheld } } }";

backend_test!(small_figures_are_withheld_outside_the_scope, |app: TestApp| async move {
    let app = published(&app);
    // The finding: one farmer in 36.71.01 whose heirs were paid a death benefit; 12 and 30 workers
    // in two other districts.
    let lone = farmers(&app, "36.71.01", 1, 1, "2026-01-01").await.remove(0);
    farmers(&app, "36.71.02", 12, 100, "2026-01-01").await;
    farmers(&app, "36.71.03", 30, 200, "2026-01-01").await;
    let submit = "mutation($w: ID!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2026-03-01\", \
        beneficiaryName: \"Ahli Waris\", beneficiaryRelationship: SPOUSE }) { id } }";
    let payout = data(&app.gql_as(&app.admin, submit, json!({ "w": lone })).await)["submitPayout"]["id"].clone();
    for (key, step) in [(&app.admin2, "verifyPayout(id: $id)"), (&app.admin2, "approvePayout(id: $id)")]
        .into_iter()
        .chain([(&app.admin, "markPayoutPaid(id: $id, paymentReference: \"TRF-1\", paidOn: \"2026-03-10\")")])
    {
        data(&app.gql_as(key, &format!("mutation($id: ID!) {{ {step} {{ id }} }}"), json!({ "id": payout })).await);
    }
    let stats = |key: Option<String>, area: &'static str| {
        let app = app.clone();
        async move { data(&app.gql_with(key.as_deref(), STATS, json!({ "a": area })).await)["coverageStats"].clone() }
    };

    // Keys in scope see everything: the national admin, a viewer of 36.71.
    let viewer = key(&app, Role::Viewer, "36.71").await;
    for caller in [Some(app.admin.clone()), Some(viewer)] {
        let exact = stats(caller, "36.71.01").await;
        assert_eq!((&exact["coveredWorkers"], &exact["payoutsPaidAmount"]), (&json!(1), &json!("42000000")));
        assert_eq!(exact["withheld"], json!([]));
    }

    // Anonymous callers and keys of other regencies receive none of that person's figures.
    let outsider = key(&app, Role::Operator, "36.03").await;
    for caller in [None, Some(outsider)] {
        let district = stats(caller.clone(), "36.71.01").await;
        assert_eq!(district["coveredWorkers"], 0, "{district}");
        assert_eq!((&district["payoutsPaid"], &district["payoutsPaidAmount"]), (&json!(0), &json!("0")));
        assert_eq!((&district["byGender"], &district["byOccupation"]), (&json!([]), &json!([])));
        for figure in ["COVERED_WORKERS", "PREMIUM_COST", "PAYOUTS_PAID_AMOUNT", "BY_GENDER", "BY_OCCUPATION"] {
            assert!(district["withheld"].as_array().unwrap().contains(&json!(figure)), "{figure}: {district}");
        }
        // The regency's 43 stay published, so the district of 12 is withheld too: 43 - 30 = 13 is
        // not the lone worker. Asked for directly, it is withheld the same way.
        let regency = stats(caller.clone(), "36.71").await;
        assert_eq!(regency["coveredWorkers"], 43);
        let children: Vec<(String, i64)> = regency["children"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["areaCode"].as_str().unwrap() <= "36.71.03")
            .map(|c| (c["areaCode"].as_str().unwrap().to_owned(), c["coveredWorkers"].as_i64().unwrap()))
            .collect();
        assert_eq!(children, [("36.71.01".into(), 0), ("36.71.02".into(), 0), ("36.71.03".into(), 30)]);
        assert_eq!(stats(caller.clone(), "36.71.02").await["coveredWorkers"], 0);
        // One paid death benefit in the whole regency: withheld there too, and its amount.
        assert_eq!((&regency["payoutsPaid"], &regency["payoutsPaidAmount"]), (&json!(0), &json!("0")));
    }
});

const FIGURES: &str = "areaCode coveredWorkers newlyCovered previousYearCovered growthRate targetProgress \
    coverageRate premiumCost payoutsPaid payoutsPaidAmount payoutsPending byGender { gender } byOccupation { occupation } \
    withheld";

/// An area whose covered workers are withheld: every other figure of it is withheld as well.
fn assert_all_withheld(stats: &serde_json::Value) {
    let mut figures = stats.clone();
    figures.as_object_mut().unwrap().remove("areaCode");
    let withheld = json!({
        "coveredWorkers": 0, "newlyCovered": 0, "previousYearCovered": 0, "growthRate": null,
        "targetProgress": null, "coverageRate": null, "premiumCost": "0", "payoutsPaid": 0,
        "payoutsPaidAmount": "0", "payoutsPending": 0, "byGender": [], "byOccupation": [],
        "withheld": ["COVERED_WORKERS", "NEWLY_COVERED", "PREVIOUS_YEAR_COVERED", "GROWTH_RATE", "TARGET_PROGRESS",
            "COVERAGE_RATE", "PREMIUM_COST", "PAYOUTS_PAID", "PAYOUTS_PAID_AMOUNT", "PAYOUTS_PENDING", "BY_OCCUPATION",
            "BY_GENDER"],
    });
    assert_eq!(figures, withheld, "{}", stats["areaCode"]);
}

backend_test!(no_figure_of_a_withheld_area_gives_its_count_away, |app: TestApp| async move {
    let app = published(&app);
    // Issue 21: in Kabupaten Tangerang (36.03) Tigaraksa has 1 worker and Kronjo 10, all new in
    // 2024; both counts are withheld, Balaraja's 11 and the regency's 22 are not. Kronjo's
    // newlyCovered of 10 said it has at least 10, so Tigaraksa had 22 - 11 - 10 = 1.
    farmers(&app, "36.03.03", 1, 1, "2023-01-01").await;
    farmers(&app, "36.03.07", 10, 10, "2024-01-01").await;
    farmers(&app, "36.03.01", 11, 20, "2023-01-01").await;
    // The same among the regencies of Banten: Kota Tangerang's 1 is withheld with Kabupaten
    // Serang's 10 (new in 2024) and Kota Cilegon's 10, so Cilegon's key reads 43 - 22 - 10 = 11
    // for the other two, and Serang's newlyCovered said which part was Serang's.
    farmers(&app, "36.71.01", 1, 40, "2023-01-01").await;
    farmers(&app, "36.04.05", 10, 50, "2024-01-01").await;
    farmers(&app, "36.72.01", 10, 60, "2023-01-01").await;
    let cilegon = key(&app, Role::Operator, "36.72").await;
    let query = format!(
        "query($a: String) {{ coverageStats(areaCode: $a, year: 2024) {{ {FIGURES} children {{ {FIGURES} }} }} \
         kronjo: coverageStats(areaCode: \"36.03.07\", year: 2024) {{ {FIGURES} }} \
         trend: coverageTrend(areaCode: \"36.03.07\", fromYear: 2023, toYear: 2024) {{ {FIGURES} }} \
         ranking: coverageRanking(provinceCode: \"36\", year: 2024, by: COVERED_WORKERS, first: 8) {{ {FIGURES} }} }}"
    );

    // Keys in scope read the exact figures.
    let exact = app.gql_as(&app.admin, &query, json!({ "a": "36.03" })).await;
    assert_eq!(
        (&data(&exact)["kronjo"]["coveredWorkers"], &data(&exact)["kronjo"]["newlyCovered"]),
        (&json!(10), &json!(10))
    );

    for caller in [None, Some(cilegon)] {
        let response = app.gql_with(caller.as_deref(), &query, json!({ "a": "36.03" })).await;
        let response = data(&response);
        let regency = &response["coverageStats"];
        assert_eq!(regency["coveredWorkers"], 22, "{regency}");
        let district = |code: &str| {
            regency["children"].as_array().unwrap().iter().find(|c| c["areaCode"] == code).unwrap().clone()
        };
        assert_eq!(district("36.03.01")["coveredWorkers"], 11);
        for withheld in [district("36.03.07"), district("36.03.03")] {
            assert_all_withheld(&withheld);
        }
        // Asked for alone, in a trend or in a ranking: the same publication.
        assert_eq!(response["kronjo"], district("36.03.07"));
        assert_eq!(response["trend"][1], district("36.03.07"));
        assert_eq!(response["trend"][0]["withheld"], json!([]), "no one in Kronjo in 2023");
        let ranking = response["ranking"].as_array().unwrap();
        assert_eq!((&ranking[0]["areaCode"], &ranking[0]["coveredWorkers"]), (&json!("36.03"), &json!(22)));
        let mut outside = vec!["36.04", "36.71"];
        if caller.is_none() {
            outside.push("36.72");
        }
        for code in outside {
            assert_all_withheld(ranking.iter().find(|r| r["areaCode"] == code).unwrap());
        }
    }
});

const READS: &str = "query($w: ID) { auditLog(entityType: PERSONAL_DATA_READ, entityId: $w, first: 100) { \
    nodes { operation entityId apiKeyName changes } } }";

backend_test!(reads_of_personal_data_are_audited_in_batches, |app: TestApp| async move {
    let siti = app.register(WOMAN_NIK, "Siti Aminah", "36.03", Some("36.03.12"), "FISHER").await;
    for serial in 2..=6 {
        app.register(&format!("360312150585{serial:04}"), "Budi", "36.03", None, "FARMER").await;
    }
    app.state.reads.flush(&app.state.db).await.unwrap(); // the admin's registrations showed no NIK
    let (operator, operator_key) =
        auth::keys::create_key(&app.state.db, "Operator 36.03", Role::Operator, Some("36.03".into())).await.unwrap();
    let viewer = key(&app, Role::Viewer, "36.03").await;

    // A page of NIKs costs an operator the statements it costs a viewer (who sees them masked):
    // the reads are noted in memory, not written one by one.
    let page = "{ workers(first: 20) { nodes { id nik fullName } } }";
    let statements = |key: String| {
        let app = app.clone();
        async move {
            let before = app.query_count().await;
            data(&app.gql_as(&key, page, json!({})).await);
            app.query_count().await - before
        }
    };
    assert_eq!(statements(operator.clone()).await, statements(viewer.clone()).await);

    let lookup = "query($n: String!) { workerByNik(nik: $n) { id birthDate } }";
    for _ in 0..3 {
        data(&app.gql_as(&operator, lookup, json!({ "n": WOMAN_NIK })).await);
    }
    data(&app.gql_as(&operator, lookup, json!({ "n": "3603120101900009" })).await); // nobody's
    let search = "query($n: String!) { workers(filter: { search: $n }) { nodes { id } } }";
    data(&app.gql_as(&operator, search, json!({ "n": WOMAN_NIK })).await);
    app.state.reads.flush(&app.state.db).await.unwrap();

    // Who processed Siti's data: one entry per way the operator's key read it (three lookups
    // counted in one), none for the viewer, whose NIKs were masked.
    let response = app.gql_as(&app.admin, READS, json!({ "w": siti })).await;
    let mut reads: Vec<(String, String, u64)> = data(&response)["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let changes = &entry["changes"];
            assert_eq!(changes["nik"], "360312******0001", "masked: {changes}");
            let reads = changes["reads"].as_u64().unwrap();
            (entry["operation"].as_str().unwrap().to_owned(), entry["apiKeyName"].as_str().unwrap().to_owned(), reads)
        })
        .collect();
    reads.sort();
    let by_operator = |operation: &str, n| (operation.to_owned(), "Operator 36.03".to_owned(), n);
    assert_eq!(
        reads,
        [
            by_operator("Worker.birthDate", 3),
            by_operator("Worker.nik", 1),
            by_operator("workerByNik", 3),
            by_operator("workers(search)", 1)
        ]
    );
    // The lookup of a NIK that names no worker is kept too, under worker 0, with its masked NIK.
    let response = app.gql_as(&app.admin, READS, json!({ "w": "0" })).await;
    let nobody = &data(&response)["auditLog"]["nodes"][0];
    assert_eq!((nobody["operation"].as_str(), nobody["entityId"].as_str()), (Some("workerByNik"), Some("0")));
    assert_eq!(nobody["changes"]["nik"], "360312******0009");
    // Each of the other five workers: one full-NIK read by the operator's page.
    let all = app.gql_as(&app.admin, READS, json!({ "w": null })).await;
    assert_eq!(data(&all)["auditLog"]["nodes"].as_array().unwrap().len(), 4 + 1 + 5);
    // What one key read.
    let by_key = "query($k: ID) { auditLog(entityType: PERSONAL_DATA_READ, apiKeyId: $k) { nodes { id } } }";
    let of_operator = app.gql_as(&app.admin, by_key, json!({ "k": operator_key.id.to_string() })).await;
    assert_eq!(data(&of_operator)["auditLog"]["nodes"].as_array().unwrap().len(), 10);
    let of_admin = app.gql_as(&app.admin, by_key, json!({ "k": "1" })).await;
    assert_eq!(data(&of_admin)["auditLog"]["nodes"], json!([]));
    // Appended in batches, they are links of the same chain as the mutations' entries.
    app.seal_audit().await;
    let chain = jaminan::services::audit::verify(&app.state.db).await.unwrap();
    assert_eq!((chain.broken, chain.checked), (None, 6 + 10));
});
