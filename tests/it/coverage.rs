//! Coverage periods: enrollment defaults and premium, the no-overlap rule per regency, ending a
//! period, recording a death, yearly targets, and the audit entry every mutation leaves.
use crate::common;

use common::{TestApp, data, error_code, error_field};
use serde_json::{Value, json};

const ENROLL: &str = "mutation($input: EnrollInput!) { enrollWorker(input: $input) {
    id worker { id } regency { code name } fundingSource programs declaredMonthlyIncome monthlyPremium
    startsOn endsOn endReason } }";

const END: &str = "mutation($id: ID!, $endsOn: Date!, $reason: CoverageEndReason!) {
    endCoverage(id: $id, endsOn: $endsOn, reason: $reason) { id startsOn endsOn endReason } }";

const DEATH: &str = "mutation($w: ID!, $d: Date!) { recordDeath(workerId: $w, diedOn: $d) {
    id status diedOn coverages { id regency { code } startsOn endsOn endReason } } }";

const TARGET: &str = "mutation($input: CoverageTargetInput!) { setCoverageTarget(input: $input) {
    regency { code } year targetWorkers eligibleWorkers budget fundingSource note } }";

const WORKER: &str = "query($id: ID!) { worker(id: $id) { status diedOn
    coverages { id regency { code } fundingSource programs monthlyPremium startsOn endsOn endReason worker { id } } } }";

/// A man born 15 May 1985.
fn nik(serial: u32) -> String {
    format!("360312150585{serial:04}")
}

async fn worker(app: &TestApp, serial: u32) -> String {
    app.register(&nik(serial), &format!("Worker {serial}"), "36.03", None, "FISHER").await
}

fn enrollment(worker: &str, regency: &str, starts_on: &str, ends_on: Option<&str>) -> Value {
    json!({ "workerId": worker, "regencyCode": regency, "fundingSource": "APBD", "startsOn": starts_on, "endsOn": ends_on })
}

async fn enroll(app: &TestApp, input: Value) -> Value {
    app.gql_as(&app.admin, ENROLL, json!({ "input": input })).await
}

async fn end(app: &TestApp, id: &str, ends_on: &str, reason: &str) -> Value {
    app.gql_as(&app.admin, END, json!({ "id": id, "endsOn": ends_on, "reason": reason })).await
}

async fn death(app: &TestApp, worker: &str, died_on: &str) -> Value {
    app.gql_as(&app.admin, DEATH, json!({ "w": worker, "d": died_on })).await
}

async fn coverages(app: &TestApp, worker: &str) -> Value {
    data(&app.gql_as(&app.admin, WORKER, json!({ "id": worker })).await)["worker"].clone()
}

async fn covered_on(app: &TestApp, worker: &str, date: &str) -> bool {
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!, $d: Date!) { worker(id: $id) { coveredOn(date: $d) } }",
            json!({ "id": worker, "d": date }),
        )
        .await;
    data(&response)["worker"]["coveredOn"].as_bool().unwrap()
}

/// Asserts a failure with this code (and field), and that it wrote no coverage and no audit entry.
async fn refused(app: &TestApp, response: &Value, code: &str, field: Option<&str>, writes: (i64, i64)) {
    assert_eq!(error_code(response), code, "{response}");
    if let Some(field) = field {
        assert_eq!(error_field(response), field, "{response}");
    }
    assert_eq!((app.count_rows("coverage").await, app.count_rows("audit_log").await), writes, "{response}");
}

async fn writes(app: &TestApp) -> (i64, i64) {
    (app.count_rows("coverage").await, app.count_rows("audit_log").await)
}

fn today_wib() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive()
}

backend_test!(enrollment_defaults_and_premium, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let audit = app.count_rows("audit_log").await;
    // Defaults: JKK + JKM on a declared Rp1,000,000 = 10,000 + 6,800.
    let response = enroll(&app, enrollment(&w, "36.03", "2023-01-01", None)).await;
    let c = &data(&response)["enrollWorker"];
    assert_eq!(c["worker"]["id"], w.as_str());
    assert_eq!(c["regency"], json!({ "code": "36.03", "name": "Kabupaten Tangerang" }));
    assert_eq!(c["fundingSource"], "APBD");
    assert_eq!(c["programs"], json!(["JKK", "JKM"]));
    assert_eq!(c["declaredMonthlyIncome"], "1000000", "Rupiah is a string of digits");
    assert_eq!(c["monthlyPremium"], "16800");
    assert_eq!((c["startsOn"].as_str(), c["endsOn"].as_str()), (Some("2023-01-01"), None));
    assert!(c["endReason"].is_null());
    assert_eq!(app.count_rows("audit_log").await, audit + 1);

    // JHT adds Rp20,000; JKK is 1% of the declared income; the programs come back in one order.
    let mut input = enrollment(&w, "36.71", "2023-01-01", Some("2023-12-31"));
    input["programs"] = json!(["JHT", "JKM", "JKK"]);
    input["declaredMonthlyIncome"] = json!("2500000");
    input["fundingSource"] = json!("SELF");
    let response = enroll(&app, input).await;
    let c = &data(&response)["enrollWorker"];
    assert_eq!(c["programs"], json!(["JKK", "JKM", "JHT"]));
    assert_eq!((c["declaredMonthlyIncome"].as_str(), c["monthlyPremium"].as_str()), (Some("2500000"), Some("51800")));
    assert_eq!((c["fundingSource"].as_str(), c["endsOn"].as_str()), (Some("SELF"), Some("2023-12-31")));
    // 1% is rounded to the rupiah; an integer literal is accepted as Rupiah input.
    let mut input = enrollment(&w, "36.72", "2023-01-01", Some("2023-01-01"));
    input["declaredMonthlyIncome"] = json!(1_234_567);
    input["fundingSource"] = json!("APBD_PROVINCE");
    let response = enroll(&app, input).await;
    let c = &data(&response)["enrollWorker"];
    assert_eq!((c["monthlyPremium"].as_str(), c["endsOn"].as_str()), (Some("19146"), Some("2023-01-01")));
    assert_eq!(app.count_rows("audit_log").await, audit + 3);

    // What the worker shows: periods oldest first, each with its worker.
    let shown = coverages(&app, &w).await;
    let list = shown["coverages"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|c| c["worker"]["id"] == w.as_str()));
    let premiums: Vec<&str> = list.iter().map(|c| c["monthlyPremium"].as_str().unwrap()).collect();
    assert_eq!(premiums, ["16800", "51800", "19146"], "same start: ordered by id");
});

backend_test!(invalid_enrollments_name_the_field_and_write_nothing, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let before = writes(&app).await;
    let base = enrollment(&w, "36.03", "2023-01-01", None);
    let with = |key: &str, value: Value| {
        let mut input = base.clone();
        input[key] = value;
        input
    };
    let cases = [
        (with("programs", json!(["JKK"])), "programs"),
        (with("programs", json!(["JKM", "JHT"])), "programs"),
        (with("programs", json!([])), "programs"),
        (with("declaredMonthlyIncome", json!("0")), "declaredMonthlyIncome"),
        (with("declaredMonthlyIncome", json!("1000000001")), "declaredMonthlyIncome"),
        (with("regencyCode", json!("36.26")), "regencyCode"),
        (with("endsOn", json!("2022-12-31")), "endsOn"),
        (with("startsOn", json!("1899-12-31")), "startsOn"),
        (with("workerId", json!("abc")), "workerId"),
    ];
    for (input, field) in cases {
        let response = enroll(&app, input).await;
        refused(&app, &response, "BAD_USER_INPUT", Some(field), before).await;
    }
    // The worker (NIK ...150585...) was born on 1985-05-15: no coverage before that day.
    let response = enroll(&app, with("startsOn", json!("1985-05-14"))).await;
    refused(&app, &response, "BAD_USER_INPUT", Some("startsOn"), before).await;
    let response = enroll(&app, with("workerId", json!("999999"))).await;
    refused(&app, &response, "NOT_FOUND", None, before).await;
    let response = app.gql(ENROLL, json!({ "input": base })).await;
    refused(&app, &response, "UNAUTHENTICATED", None, before).await;
    // A one-day period (endsOn = startsOn) is fine, and so is one from the day of birth.
    data(&enroll(&app, with("endsOn", json!("2023-01-01"))).await);
    let mut from_birth = enrollment(&w, "36.71", "1985-05-15", Some("1985-05-31"));
    from_birth["fundingSource"] = json!("CSR");
    data(&enroll(&app, from_birth).await);
    assert_eq!(writes(&app).await, (before.0 + 2, before.1 + 2));
});

backend_test!(periods_with_one_regency_never_overlap, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let first =
        data(&enroll(&app, enrollment(&w, "36.03", "2023-01-01", Some("2023-12-31"))).await)["enrollWorker"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let before = writes(&app).await;
    let clashes = [
        ("2023-12-31", None, "open-ended from the last day"),
        ("2022-01-01", Some("2023-01-01"), "ends on the first day"),
        ("2023-03-01", Some("2023-04-30"), "inside"),
        ("2022-01-01", Some("2024-12-31"), "around"),
        ("2020-01-01", None, "open-ended from before"),
    ];
    for (starts_on, ends_on, case) in clashes {
        let response = enroll(&app, enrollment(&w, "36.03", starts_on, ends_on)).await;
        assert_eq!(error_code(&response), "CONFLICT", "{case}: {response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains(&first), "names the clash: {response}");
        assert_eq!(writes(&app).await, before, "{case}");
    }
    // Adjacent periods are fine, before and after.
    data(&enroll(&app, enrollment(&w, "36.03", "2024-01-01", None)).await);
    data(&enroll(&app, enrollment(&w, "36.03", "2022-01-01", Some("2022-12-31"))).await);
    // The open-ended 2024 period now blocks anything later with this regency.
    let response = enroll(&app, enrollment(&w, "36.03", "2030-01-01", Some("2030-12-31"))).await;
    assert_eq!(error_code(&response), "CONFLICT");
    // Another regency may cover the same days (a worker can be in two programs): allowed.
    data(&enroll(&app, enrollment(&w, "36.71", "2023-06-01", None)).await);
    assert_eq!(writes(&app).await, (before.0 + 3, before.1 + 3));
    let shown = coverages(&app, &w).await;
    let starts: Vec<(&str, &str)> = shown["coverages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["startsOn"].as_str().unwrap(), c["regency"]["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        starts,
        [("2022-01-01", "36.03"), ("2023-01-01", "36.03"), ("2023-06-01", "36.71"), ("2024-01-01", "36.03")],
        "oldest first"
    );
    // Coverage statistics count the worker under each regency that paid.
    let response = app
        .gql(
            r#"{ a: coverageStats(areaCode: "36.03", year: 2023) { coveredWorkers premiumCost }
                 b: coverageStats(areaCode: "36.71", year: 2023) { coveredWorkers premiumCost }
                 banten: coverageStats(areaCode: "36", year: 2023) { coveredWorkers } }"#,
            json!({}),
        )
        .await;
    let d = data(&response);
    assert_eq!((d["a"]["coveredWorkers"].as_i64(), d["a"]["premiumCost"].as_str()), (Some(1), Some("201600")));
    assert_eq!((d["b"]["coveredWorkers"].as_i64(), d["b"]["premiumCost"].as_str()), (Some(1), Some("117600")));
    assert_eq!(d["banten"]["coveredWorkers"], 1, "one worker, counted once per area");
});

backend_test!(ending_a_period, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let open = app.enroll(&w, "36.03", "2023-01-01", None).await;
    let planned = app.enroll(&w, "36.71", "2023-01-01", Some("2023-12-31")).await;
    let before = writes(&app).await;

    let response = end(&app, &open, "2022-12-31", "MOVED").await;
    refused(&app, &response, "BAD_USER_INPUT", Some("endsOn"), before).await;
    let response = end(&app, "999999", "2023-06-30", "MOVED").await;
    refused(&app, &response, "NOT_FOUND", None, before).await;
    // A planned end can be brought forward, not pushed back.
    let response = end(&app, &planned, "2024-01-31", "CANCELLED").await;
    refused(&app, &response, "BAD_USER_INPUT", Some("endsOn"), before).await;
    let response = app.gql(END, json!({ "id": open, "endsOn": "2023-06-30", "reason": "MOVED" })).await;
    refused(&app, &response, "UNAUTHENTICATED", None, before).await;
    assert!(covered_on(&app, &w, "2023-08-01").await);

    let response = end(&app, &open, "2023-06-30", "MOVED").await;
    let c = &data(&response)["endCoverage"];
    assert_eq!((c["id"].as_str(), c["startsOn"].as_str()), (Some(open.as_str()), Some("2023-01-01")));
    assert_eq!((c["endsOn"].as_str(), c["endReason"].as_str()), (Some("2023-06-30"), Some("MOVED")));
    assert_eq!(writes(&app).await, (before.0, before.1 + 1), "one audit entry, no new period");
    let response = end(&app, &planned, "2023-03-31", "CANCELLED").await;
    assert_eq!(data(&response)["endCoverage"]["endReason"], "CANCELLED");
    // Ending on the first day is allowed: a one-day period.
    let short = app.enroll(&w, "36.72", "2023-05-01", None).await;
    let response = end(&app, &short, "2023-05-01", "EXPIRED").await;
    assert_eq!(data(&response)["endCoverage"]["endsOn"], "2023-05-01");
    let before = writes(&app).await;

    // Ending twice is INVALID_STATE, whatever the new date.
    for date in ["2023-06-30", "2023-05-31"] {
        let response = end(&app, &open, date, "EXPIRED").await;
        refused(&app, &response, "INVALID_STATE", None, before).await;
    }
    let shown = coverages(&app, &w).await;
    let first = &shown["coverages"][0];
    assert_eq!((first["endsOn"].as_str(), first["endReason"].as_str()), (Some("2023-06-30"), Some("MOVED")));

    // Covered on the last day, not the day after; the freed days can be enrolled again.
    assert!(covered_on(&app, &w, "2023-06-30").await);
    assert!(!covered_on(&app, &w, "2023-07-01").await);
    assert!(!covered_on(&app, &w, "2022-12-31").await);
    data(&enroll(&app, enrollment(&w, "36.03", "2023-07-01", None)).await);
    assert!(covered_on(&app, &w, "2023-07-01").await);
});

backend_test!(a_death_closes_open_coverage, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let open = app.enroll(&w, "36.03", "2022-01-01", None).await;
    let earlier = app.enroll(&w, "36.71", "2023-01-01", Some("2023-03-31")).await;
    let planned = app.enroll(&w, "36.71", "2024-01-01", Some("2025-12-31")).await;
    let before = writes(&app).await;

    let tomorrow = (today_wib() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let failures = [(tomorrow.as_str(), "a date in the future"), ("1985-05-14", "before the birth date")];
    for (date, case) in failures {
        let response = death(&app, &w, date).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "diedOn"), "{case}: {response}");
        assert_eq!(writes(&app).await, before, "{case}");
    }
    let response = death(&app, "999999", "2024-05-01").await;
    refused(&app, &response, "NOT_FOUND", None, before).await;
    assert_eq!(coverages(&app, &w).await["status"], "ALIVE");

    let response = death(&app, &w, "2024-05-01").await;
    let dead = &data(&response)["recordDeath"];
    assert_eq!((dead["status"].as_str(), dead["diedOn"].as_str()), (Some("DECEASED"), Some("2024-05-01")));
    let by_id = |id: &str| dead["coverages"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    for id in [&open, &planned] {
        let c = by_id(id);
        assert_eq!((c["endsOn"].as_str(), c["endReason"].as_str()), (Some("2024-05-01"), Some("DECEASED")), "{c}");
    }
    let c = by_id(&earlier);
    assert_eq!((c["endsOn"].as_str(), c["endReason"].as_str()), (Some("2023-03-31"), None), "already over: untouched");
    // One entry per closed period and one for the worker.
    assert_eq!(writes(&app).await, (before.0, before.1 + 3));
    assert!(covered_on(&app, &w, "2024-05-01").await, "covered on the day of death");
    assert!(!covered_on(&app, &w, "2024-05-02").await);
    let response = app
        .gql_as(
            &app.admin,
            "query($w: ID!) { auditLog(entityType: WORKER, entityId: $w, first: 1) { nodes { operation changes } } }",
            json!({ "w": w }),
        )
        .await;
    let entry = &data(&response)["auditLog"]["nodes"][0];
    assert_eq!(entry["operation"], "recordDeath");
    assert_eq!(entry["changes"]["status"], json!({ "before": "ALIVE", "after": "DECEASED" }));

    // Nothing may cover the worker after the death.
    let before = writes(&app).await;
    let response = enroll(&app, enrollment(&w, "36.72", "2024-06-01", None)).await;
    refused(&app, &response, "BAD_USER_INPUT", Some("startsOn"), before).await;
    let response = enroll(&app, enrollment(&w, "36.72", "2024-06-01", Some("2024-12-31"))).await;
    refused(&app, &response, "BAD_USER_INPUT", Some("startsOn"), before).await;
    let response = enroll(&app, enrollment(&w, "36.72", "2024-04-01", None)).await;
    refused(&app, &response, "BAD_USER_INPUT", Some("endsOn"), before).await;
    let response = enroll(&app, enrollment(&w, "36.72", "2024-04-01", Some("2024-05-02"))).await;
    refused(&app, &response, "BAD_USER_INPUT", Some("endsOn"), before).await;
    // A closed period cannot be ended again; the death is recorded once.
    let response = end(&app, &open, "2024-04-30", "CANCELLED").await;
    refused(&app, &response, "INVALID_STATE", None, before).await;
    let response = death(&app, &w, "2024-04-01").await;
    refused(&app, &response, "INVALID_STATE", None, before).await;
    // A period that ends by the death can still be recorded afterwards.
    data(&enroll(&app, enrollment(&w, "36.72", "2024-02-01", Some("2024-05-01"))).await);
    assert_eq!(writes(&app).await, (before.0 + 1, before.1 + 1));
});

backend_test!(a_death_before_a_planned_end_replaces_another_end_reason, |app: TestApp| async move {
    // A period ended in advance (MOVED at the end of the year) still may not outlive the worker.
    let w = worker(&app, 1).await;
    let id = app.enroll(&w, "36.03", "2024-01-01", None).await;
    data(&end(&app, &id, "2024-12-31", "MOVED").await);
    let response = death(&app, &w, "2024-03-15").await;
    let c = &data(&response)["recordDeath"]["coverages"][0];
    assert_eq!((c["endsOn"].as_str(), c["endReason"].as_str()), (Some("2024-03-15"), Some("DECEASED")));
    // Dying today is allowed.
    let other = worker(&app, 2).await;
    let today = today_wib().format("%Y-%m-%d").to_string();
    let response = death(&app, &other, &today).await;
    assert_eq!(data(&response)["recordDeath"]["diedOn"], today.as_str());
});

backend_test!(targets_are_one_row_per_regency_and_year, |app: TestApp| async move {
    let input = json!({ "regencyCode": "36.03", "year": 2023, "targetWorkers": 100000, "eligibleWorkers": 248000,
        "budget": "20160000000", "fundingSource": "APBD_PERUBAHAN", "note": " ABT 2023 " });
    let response = app.gql_as(&app.admin, TARGET, json!({ "input": input })).await;
    let t = &data(&response)["setCoverageTarget"];
    assert_eq!(
        *t,
        json!({ "regency": { "code": "36.03" }, "year": 2023, "targetWorkers": 100000, "eligibleWorkers": 248000,
            "budget": "20160000000", "fundingSource": "APBD_PERUBAHAN", "note": "ABT 2023" })
    );
    assert_eq!((app.count_rows("coverage_target").await, app.count_rows("audit_log").await), (1, 1));

    // Setting it again replaces the row: omitted fields are cleared.
    let again = json!({ "regencyCode": "36.03", "year": 2023, "targetWorkers": 90000 });
    let response = app.gql_as(&app.admin, TARGET, json!({ "input": again })).await;
    let t = &data(&response)["setCoverageTarget"];
    assert_eq!((t["targetWorkers"].as_i64(), t["budget"].as_str(), t["note"].as_str()), (Some(90000), None, None));
    assert_eq!((app.count_rows("coverage_target").await, app.count_rows("audit_log").await), (1, 2));
    // Another year is another row.
    let next = json!({ "regencyCode": "36.03", "year": 2024, "targetWorkers": 120000, "budget": 24192000000i64 });
    data(&app.gql_as(&app.admin, TARGET, json!({ "input": next })).await);
    assert_eq!((app.count_rows("coverage_target").await, app.count_rows("audit_log").await), (2, 3));

    // Anyone may read targets, through the regency and in the statistics.
    let response = app
        .gql(
            r#"{ regency(code: "36.03") { y2023: target(year: 2023) { year targetWorkers eligibleWorkers budget regency { name } }
                     y2024: target(year: 2024) { targetWorkers budget } y2025: target(year: 2025) { year } }
                 other: regency(code: "36.71") { target(year: 2023) { year } }
                 coverageStats(areaCode: "36.03", year: 2023) { targetWorkers } }"#,
            json!({}),
        )
        .await;
    let d = data(&response);
    let r = &d["regency"];
    assert_eq!(
        r["y2023"],
        json!({ "year": 2023, "targetWorkers": 90000, "eligibleWorkers": null, "budget": null,
            "regency": { "name": "Kabupaten Tangerang" } })
    );
    assert_eq!(r["y2024"], json!({ "targetWorkers": 120000, "budget": "24192000000" }));
    assert!(r["y2025"].is_null() && d["other"]["target"].is_null());
    assert_eq!(d["coverageStats"]["targetWorkers"], 90000);
    // The audit entry of the update holds before and after.
    let response = app
        .gql_as(
            &app.admin,
            "{ auditLog(entityType: COVERAGE_TARGET, first: 3) { nodes { operation changes } } }",
            json!({}),
        )
        .await;
    let nodes = data(&response)["auditLog"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n["operation"] == "setCoverageTarget"));
    assert_eq!(nodes[1]["changes"]["target_workers"], json!({ "before": 100000, "after": 90000 }));

    // Bad input names its field and writes nothing.
    let base = json!({ "regencyCode": "36.03", "year": 2023, "targetWorkers": 1 });
    let with = |key: &str, value: Value| {
        let mut input = base.clone();
        input[key] = value;
        input
    };
    let cases = [
        (with("targetWorkers", json!(-1)), "targetWorkers"),
        (with("eligibleWorkers", json!(-5)), "eligibleWorkers"),
        (with("budget", json!("-1")), "budget"),
        (with("year", json!(1899)), "year"),
        (with("year", json!(2101)), "year"),
        (with("regencyCode", json!("36.99")), "regencyCode"),
        (with("regencyCode", json!("36")), "regencyCode"),
        (with("note", json!("   ")), "note"),
    ];
    for (input, field) in cases {
        let response = app.gql_as(&app.admin, TARGET, json!({ "input": input })).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", field), "{response}");
        assert_eq!((app.count_rows("coverage_target").await, app.count_rows("audit_log").await), (2, 3), "{field}");
    }
    let response = app.gql(TARGET, json!({ "input": base })).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    let response = app.gql(r#"{ regency(code: "36.03") { target(year: 2023) { targetWorkers } } }"#, json!({})).await;
    assert_eq!(data(&response)["regency"]["target"]["targetWorkers"], 90000, "unchanged by the failures");
});

backend_test!(every_mutation_is_audited_with_its_operation, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let c = app.enroll(&w, "36.03", "2023-01-01", None).await;
    data(&end(&app, &c, "2023-12-31", "EXPIRED").await);
    let nodes = coverage_audit(&app, &c).await;
    let operations: Vec<&str> = nodes.iter().map(|n| n["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["endCoverage", "enrollWorker"], "newest first");
    assert!(nodes.iter().all(|n| n["entityType"] == "COVERAGE" && n["entityId"] == c.as_str()));
    assert_eq!(nodes[0]["apiKeyName"], "test admin");
    assert_eq!(nodes[0]["changes"]["ends_on"], json!({ "before": null, "after": "2023-12-31" }));
    assert_eq!(nodes[0]["changes"]["end_reason"]["after"], "EXPIRED");
    assert_eq!(nodes[1]["changes"]["monthly_premium"], json!({ "before": null, "after": 16800 }));
    assert_eq!(app.count_rows("audit_log").await, 3, "register, enroll, end");
});

backend_test!(concurrent_overlapping_enrollments_create_one_period, |app: TestApp| async move {
    let w = worker(&app, 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, w) = (app.clone(), w.clone());
            // Different starts, all open-ended: any two overlap.
            let starts_on = format!("2023-01-{:02}", i + 1);
            tokio::spawn(async move { enroll(&app, enrollment(&w, "36.03", &starts_on, None)).await })
        })
        .collect();
    let (mut won, mut conflicts) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if response.get("errors").is_none() {
            won += 1;
        } else {
            assert_eq!(error_code(&response), "CONFLICT", "{response}");
            conflicts += 1;
        }
    }
    assert_eq!((won, conflicts), (1, 19));
    assert_eq!(app.count_rows("coverage").await, 1);
    assert_eq!(app.count_rows("audit_log").await, 2, "the registration and the one enrollment");
});

backend_test!(enrolling_locks_the_worker_without_rewriting_it, |app: TestApp| async move {
    // An enrollment changes no field of the worker: writing a new version of its row anyway put
    // an entry for each of the worker's indexes into every enrollment's WAL.
    let w = worker(&app, 1).await;
    let id: i64 = w.parse().unwrap();
    let (before, version) = (worker_row(&app, id).await, row_version(&app, id).await);
    data(&enroll(&app, enrollment(&w, "36.03", "2023-01-01", None)).await);
    assert_eq!(worker_row(&app, id).await, before);
    assert_eq!(row_version(&app, id).await, version, "the transaction that wrote the worker's row");
});

backend_test!(an_enrollment_answers_and_audits_the_row_it_stored, |app: TestApp| async move {
    // On PostgreSQL the period's id is drawn before its INSERT, which goes with the audit entry
    // as one statement: the answer and the entry must still be the row as stored.
    use sea_orm::EntityTrait;
    let w = worker(&app, 1).await;
    let first =
        data(&enroll(&app, enrollment(&w, "36.03", "2023-01-01", Some("2023-12-31"))).await)["enrollWorker"]["id"]
            .clone();
    let refused = enroll(&app, enrollment(&w, "36.03", "2023-06-01", None)).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    let second = data(&enroll(&app, enrollment(&w, "36.03", "2024-01-01", None)).await)["enrollWorker"]["id"].clone();
    assert!(second.as_str().unwrap().parse::<i64>().unwrap() > first.as_str().unwrap().parse::<i64>().unwrap());
    for id in [first, second] {
        let id_number: i64 = id.as_str().unwrap().parse().unwrap();
        let stored = jaminan::entities::coverage::Entity::find_by_id(id_number).one(&app.state.db).await.unwrap();
        let stored = serde_json::to_value(stored.expect("the period answered is stored")).unwrap();
        let nodes = coverage_audit(&app, id.as_str().unwrap()).await;
        assert_eq!(nodes.len(), 1, "{nodes:?}");
        let changes = nodes[0]["changes"].as_object().unwrap();
        // Every field of the stored row, the id and the creation time included (a null one is
        // no change from nothing, so not listed).
        for (field, value) in stored.as_object().unwrap() {
            let after = changes.get(field).map_or(Value::Null, |change| change["after"].clone());
            assert_eq!(&after, value, "{field}");
        }
        assert!(changes.contains_key("id") && changes.contains_key("created_at"), "{changes:?}");
    }
    assert_eq!(writes(&app).await, (2, 3), "two periods; the registration and two enrollments audited");
});

/// The audit entries of a coverage period, newest first.
async fn coverage_audit(app: &TestApp, id: &str) -> Vec<Value> {
    let query = "query($c: ID!) { auditLog(entityType: COVERAGE, entityId: $c) {
        nodes { operation entityType entityId apiKeyName changes } } }";
    let response = app.gql_as(&app.admin, query, json!({ "c": id })).await;
    data(&response)["auditLog"]["nodes"].as_array().unwrap().clone()
}

async fn worker_row(app: &TestApp, id: i64) -> jaminan::entities::worker::Model {
    use sea_orm::EntityTrait;
    jaminan::entities::worker::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap()
}

/// PostgreSQL's `xmin` of the worker's row: the transaction that wrote this version of it.
async fn row_version(app: &TestApp, id: i64) -> Option<i64> {
    let postgres = app.state.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let sql = format!("SELECT xmin::text::int8 AS n FROM worker WHERE id = {id}");
    if postgres { Some(TestApp::count(&app.state.db, &sql).await) } else { None }
}

backend_test!(a_death_racing_an_enrollment_never_leaves_coverage_past_it, |app: TestApp| async move {
    // Whichever runs first, no period may extend past the death afterwards.
    for serial in 1..=5 {
        let w = worker(&app, serial).await;
        let (a, b) = (app.clone(), app.clone());
        let (w1, w2) = (w.clone(), w.clone());
        let enrolling = tokio::spawn(async move { enroll(&a, enrollment(&w1, "36.03", "2024-01-01", None)).await });
        let dying = tokio::spawn(async move { death(&b, &w2, "2024-05-01").await });
        let (enrolled, died) = (enrolling.await.unwrap(), dying.await.unwrap());
        data(&died);
        if enrolled.get("errors").is_some() {
            assert_eq!(error_field(&enrolled), "endsOn", "{enrolled}");
        }
        let shown = coverages(&app, &w).await;
        assert_eq!(shown["status"], "DECEASED");
        for c in shown["coverages"].as_array().unwrap() {
            assert_eq!((c["endsOn"].as_str(), c["endReason"].as_str()), (Some("2024-05-01"), Some("DECEASED")));
        }
    }
});
