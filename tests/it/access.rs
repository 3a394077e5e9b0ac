//! Roles and regency scope: who may read and change what (services::access), through the API.
//!
//! The cast, registered by an admin:
//! - `home`: lives in 36.03 (Kabupaten Tangerang), covered by 36.03;
//! - `city`: lives in 36.71 (Kota Tangerang, same province), covered by 36.71;
//! - `commuter`: lives in 32.73 (Kota Bandung), covered by 36.03 and by 32.73;
//! - `far`: lives in 32.73, covered by 32.73 only.
use crate::common;

use common::{TestApp, data, error_code};
use jaminan::auth::{self, Role};
use serde_json::{Value, json};

const HOME_NIK: &str = "3603121505850001";
const CITY_NIK: &str = "3671011505850002";
const COMMUTER_NIK: &str = "3273011505850003";
const FAR_NIK: &str = "3273011505850004";

struct Cast {
    home: String,
    city: String,
    commuter: String,
    far: String,
    /// The commuter's coverage paid by 32.73 (outside a 36 scope).
    commuter_bandung_coverage: String,
    city_coverage: String,
}

async fn cast(app: &TestApp) -> Cast {
    let home = app.register(HOME_NIK, "Siti Home", "36.03", None, "FISHER").await;
    let city = app.register(CITY_NIK, "Agus City", "36.71", None, "STREET_VENDOR").await;
    let commuter = app.register(COMMUTER_NIK, "Budi Commuter", "32.73", None, "MOTORCYCLE_TAXI").await;
    let far = app.register(FAR_NIK, "Dewi Far", "32.73", None, "FISHER").await;
    app.enroll(&home, "36.03", "2023-01-01", None).await;
    let city_coverage = app.enroll(&city, "36.71", "2023-01-01", None).await;
    app.enroll(&commuter, "36.03", "2023-01-01", Some("2023-06-30")).await;
    let commuter_bandung_coverage = app.enroll(&commuter, "32.73", "2023-07-01", None).await;
    app.enroll(&far, "32.73", "2023-01-01", None).await;
    Cast { home, city, commuter, far, commuter_bandung_coverage, city_coverage }
}

async fn key(app: &TestApp, role: Role, scope: Option<&str>) -> String {
    auth::keys::create_key(&app.state.db, &format!("{role:?} {scope:?}"), role, scope.map(str::to_owned))
        .await
        .unwrap()
        .0
}

/// Sorted worker ids and the totalCount a caller gets from `workers`.
async fn visible(app: &TestApp, key: &str, filter: Value) -> (Vec<String>, i64) {
    let response = app
        .gql_as(
            key,
            "query($f: WorkerFilter) { workers(first: 100, filter: $f) { totalCount nodes { id } } }",
            json!({ "f": filter }),
        )
        .await;
    let workers = &data(&response)["workers"];
    let mut ids: Vec<String> =
        workers["nodes"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    (ids, workers["totalCount"].as_i64().unwrap())
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}

async fn submit_death(app: &TestApp, key: &str, worker: &str) -> Value {
    app.gql_as(
        key,
        "mutation($input: SubmitPayoutInput!) { submitPayout(input: $input) { id status } }",
        json!({ "input": { "workerId": worker, "benefit": "DEATH", "incidentOn": "2023-08-01",
            "beneficiaryName": "Heir", "beneficiaryRelationship": "SPOUSE" } }),
    )
    .await
}

backend_test!(anonymous_callers_read_aggregates_only, |app: TestApp| async move {
    let cast = cast(&app).await;
    let worker_reads = [
        ("query($id: ID!) { worker(id: $id) { id } }", json!({ "id": cast.home })),
        ("query($n: String!) { workerByNik(nik: $n) { id } }", json!({ "n": HOME_NIK })),
        ("{ workers { totalCount } }", json!({})),
        (r#"{ regency(code: "36.03") { workers { totalCount } } }"#, json!({})),
        ("{ payouts { totalCount } }", json!({})),
        ("{ payout(id: 1) { id } }", json!({})),
        ("{ overduePayouts { id } }", json!({})),
        ("{ auditLog { nodes { id } } }", json!({})),
    ];
    for (query, variables) in worker_reads {
        let response = app.gql(query, variables).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{query}");
        assert!(!response.to_string().contains(HOME_NIK), "{query}");
    }
    let response = app
        .gql(
            r#"{ coverageStats(areaCode: "36.03", year: 2023) { coveredWorkers }
                 coverageRanking(year: 2023, by: COVERED_WORKERS, first: 1) { areaCode }
                 regency(code: "36.03") { name target(year: 2023) { targetWorkers } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data(&response)["coverageStats"]["coveredWorkers"], 2);
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850009", fullName: "X",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    assert_eq!(error_code(&app.gql(register, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(app.count_rows("worker").await, 4);
});

backend_test!(a_regency_viewer_sees_its_workers_only_with_masked_niks, |app: TestApp| async move {
    let cast = cast(&app).await;
    let viewer = key(&app, Role::Viewer, Some("36.03")).await;
    // Domicile (home) or a coverage paid by the regency (commuter), never the others.
    assert_eq!(visible(&app, &viewer, json!(null)).await, (sorted(&[&cast.home, &cast.commuter]), 2));
    // Filters and searches cannot reach past the scope either, in the page or in the count.
    assert_eq!(visible(&app, &viewer, json!({ "regencyCode": "32.73" })).await, (vec![cast.commuter.clone()], 1));
    assert_eq!(visible(&app, &viewer, json!({ "search": "Dewi" })).await, (vec![], 0));
    let response = app
        .gql_as(
            &viewer,
            r#"query($city: ID!, $far: ID!, $home: ID!) {
                city: worker(id: $city) { id } far: worker(id: $far) { id }
                home: worker(id: $home) { nik fullName }
                kota: regency(code: "36.71") { workers { totalCount } } }"#,
            json!({ "city": cast.city, "far": cast.far, "home": cast.home }),
        )
        .await;
    let d = data(&response);
    assert!(d["city"].is_null() && d["far"].is_null());
    assert_eq!(d["home"]["nik"], "360312******0001");
    assert_eq!(d["kota"]["workers"]["totalCount"], 0);
    assert!(!response.to_string().contains(HOME_NIK));
    // A viewer cannot look a worker up by NIK, not even its own: an answer would complete the
    // masked digits (see tests/it/privacy.rs).
    for nik in [HOME_NIK, CITY_NIK] {
        let by_nik =
            app.gql_as(&viewer, "query($n: String!) { workerByNik(nik: $n) { id } }", json!({ "n": nik })).await;
        assert_eq!(error_code(&by_nik), "FORBIDDEN", "{by_nik}");
        let search = app
            .gql_as(
                &viewer,
                "query($n: String!) { workers(filter: { search: $n }) { totalCount } }",
                json!({ "n": nik }),
            )
            .await;
        assert_eq!(error_code(&search), "FORBIDDEN", "{search}");
    }
    // Aggregates stay national: they reveal no rows.
    let response =
        app.gql_as(&viewer, r#"{ coverageStats(areaCode: "36.71", year: 2023) { coveredWorkers } }"#, json!({})).await;
    assert_eq!(data(&response)["coverageStats"]["coveredWorkers"], 1);
    // A viewer changes nothing.
    let response = app
        .gql_as(
            &viewer,
            "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2024-01-01\") { id } }",
            json!({ "w": cast.home }),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
});

backend_test!(a_province_scope_covers_its_regencies, |app: TestApp| async move {
    let cast = cast(&app).await;
    let viewer = key(&app, Role::Viewer, Some("36")).await;
    assert_eq!(visible(&app, &viewer, json!(null)).await, (sorted(&[&cast.home, &cast.city, &cast.commuter]), 3));
    let national = key(&app, Role::Viewer, None).await;
    assert_eq!(visible(&app, &national, json!(null)).await.1, 4);
    // "3" is not a prefix of "36.03": scopes match whole codes.
    let bandung = key(&app, Role::Viewer, Some("32")).await;
    assert_eq!(visible(&app, &bandung, json!(null)).await, (sorted(&[&cast.commuter, &cast.far]), 2));
});

backend_test!(operators_see_full_niks_and_write_in_scope_only, |app: TestApp| async move {
    let cast = cast(&app).await;
    let operator = key(&app, Role::Operator, Some("36.03")).await;
    let response =
        app.gql_as(&operator, "query($n: String!) { workerByNik(nik: $n) { nik } }", json!({ "n": HOME_NIK })).await;
    assert_eq!(data(&response)["workerByNik"]["nik"], HOME_NIK);

    let workers_before = app.count_rows("worker").await;
    let coverages_before = app.count_rows("coverage").await;
    let audit_before = app.count_rows("audit_log").await;
    let register = "mutation($r: String!) { registerWorker(input: { nik: \"3603121505850010\", fullName: \"New\",
        occupation: FISHER, regencyCode: $r }) { id } }";
    let response = app.gql_as(&operator, register, json!({ "r": "36.71" })).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    let checks = [
        // Invisible worker or coverage: NOT_FOUND, as if it did not exist.
        (
            "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"X\" }) { id } }",
            json!({ "id": cast.city }),
            "NOT_FOUND",
        ),
        (
            "mutation($id: ID!) { recordDeath(workerId: $id, diedOn: \"2024-01-01\") { id } }",
            json!({ "id": cast.far }),
            "NOT_FOUND",
        ),
        (
            "mutation($id: ID!) { enrollWorker(input: { workerId: $id, regencyCode: \"36.03\", fundingSource: APBD, startsOn: \"2024-01-01\" }) { id } }",
            json!({ "id": cast.city }),
            "NOT_FOUND",
        ),
        (
            "mutation($id: ID!) { endCoverage(id: $id, endsOn: \"2023-12-31\", reason: MOVED) { id } }",
            json!({ "id": cast.city_coverage }),
            "NOT_FOUND",
        ),
        // Visible, but the regency that pays is another's: FORBIDDEN.
        (
            "mutation($id: ID!) { endCoverage(id: $id, endsOn: \"2023-12-31\", reason: MOVED) { id } }",
            json!({ "id": cast.commuter_bandung_coverage }),
            "FORBIDDEN",
        ),
        (
            "mutation($id: ID!) { enrollWorker(input: { workerId: $id, regencyCode: \"36.71\", fundingSource: APBD, startsOn: \"2024-01-01\" }) { id } }",
            json!({ "id": cast.home }),
            "FORBIDDEN",
        ),
        (
            "mutation($id: ID!) { updateWorker(id: $id, input: { regencyCode: \"36.71\" }) { id } }",
            json!({ "id": cast.home }),
            "FORBIDDEN",
        ),
        // Seen through our coverage, but the profile belongs to the domicile regency (Bandung).
        (
            "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"X\" }) { id } }",
            json!({ "id": cast.commuter }),
            "FORBIDDEN",
        ),
        // A death while only Bandung covered the commuter is Bandung's to record.
        (
            "mutation($id: ID!) { recordDeath(workerId: $id, diedOn: \"2024-01-01\") { id } }",
            json!({ "id": cast.commuter }),
            "FORBIDDEN",
        ),
        // Targets need a supervisor.
        (
            "mutation { setCoverageTarget(input: { regencyCode: \"36.03\", year: 2024, targetWorkers: 5 }) { year } }",
            json!({}),
            "FORBIDDEN",
        ),
    ];
    for (query, variables, code) in checks {
        assert_eq!(error_code(&app.gql_as(&operator, query, variables).await), code, "{query}");
    }
    assert_eq!(app.count_rows("worker").await, workers_before);
    assert_eq!(app.count_rows("coverage").await, coverages_before);
    assert_eq!(app.count_rows("audit_log").await, audit_before, "refused writes leave no trace");

    // In scope, the same operations work.
    let response = app.gql_as(&operator, register, json!({ "r": "36.03" })).await;
    assert!(data(&response)["registerWorker"]["id"].is_string());
    let response = app
        .gql_as(
            &operator,
            "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"Siti H.\" }) { fullName } }",
            json!({ "id": cast.home }),
        )
        .await;
    assert_eq!(data(&response)["updateWorker"]["fullName"], "Siti H.");
    // A death benefit counts where the coverage on the incident date was paid: Bandung's, not ours.
    assert_eq!(error_code(&submit_death(&app, &operator, &cast.commuter).await), "FORBIDDEN");
    let response = submit_death(&app, &operator, &cast.home).await;
    assert_eq!(data(&response)["submitPayout"]["status"], "SUBMITTED");
    let payout = data(&response)["submitPayout"]["id"].clone();
    // Operators submit; deciding is a supervisor's job.
    let response =
        app.gql_as(&operator, "mutation($id: ID!) { verifyPayout(id: $id) { status } }", json!({ "id": payout })).await;
    assert_eq!(error_code(&response), "FORBIDDEN");
});

backend_test!(a_death_is_recorded_by_the_domicile_or_the_regency_covering_that_day, |app: TestApp| async move {
    // Lives in Bandung, covered by 36.03 since 2023: 36.03 pays the death benefit, so it may
    // record the death; Bandung may too; Kota Tangerang may not even see the worker.
    let worker = app.register("3273011505850005", "Eko Commuter", "32.73", None, "FISHER").await;
    let coverage = app.enroll(&worker, "36.03", "2023-01-01", None).await;
    // Enrolled in 2023, as it would have been (the test enrolls it today).
    enrolled_on(&app, &coverage, "2023-01-01").await;
    let record = "mutation($id: ID!, $on: Date!) { recordDeath(workerId: $id, diedOn: $on) { status diedOn } }";
    let operator = key(&app, Role::Operator, Some("36.03")).await;
    // Before the coverage began, 36.03 had nothing to do with the worker.
    let response = app.gql_as(&operator, record, json!({ "id": worker, "on": "2022-06-01" })).await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    let kota = key(&app, Role::Operator, Some("36.71")).await;
    assert_eq!(error_code(&app.gql_as(&kota, record, json!({ "id": worker, "on": "2024-01-01" })).await), "NOT_FOUND");
    let response = app.gql_as(&operator, record, json!({ "id": worker, "on": "2024-01-01" })).await;
    assert_eq!(data(&response)["recordDeath"]["status"], "DECEASED", "{response}");
});

backend_test!(payouts_are_seen_where_they_count_not_through_the_worker, |app: TestApp| async move {
    let cast = cast(&app).await;
    // The commuter died on 2023-08-01, when Bandung covered them: Bandung's payout.
    let payout = data(&submit_death(&app, &app.admin, &cast.commuter).await)["submitPayout"]["id"].clone();
    let query = r#"query($p: ID!, $w: ID!) { payout(id: $p) { id } worker(id: $w) { id payouts { id } }
        payouts { totalCount nodes { id } } }"#;
    let variables = json!({ "p": payout, "w": cast.commuter });
    // 36.03 sees the worker through its earlier coverage, not Bandung's payout.
    let ours = key(&app, Role::Viewer, Some("36.03")).await;
    let response = app.gql_as(&ours, query, variables.clone()).await;
    let d = data(&response);
    assert!(d["payout"].is_null(), "{response}");
    assert_eq!(d["worker"]["id"], cast.commuter);
    assert_eq!(d["worker"]["payouts"], json!([]));
    assert_eq!(d["payouts"]["totalCount"], 0);
    let bandung = key(&app, Role::Viewer, Some("32.73")).await;
    let response = app.gql_as(&bandung, query, variables).await;
    let d = data(&response);
    assert_eq!(d["payout"]["id"], payout);
    assert_eq!(d["worker"]["payouts"][0]["id"], payout);
    assert_eq!(d["payouts"]["totalCount"], 1);
});

backend_test!(supervisors_decide_payouts_and_targets_in_scope, |app: TestApp| async move {
    let cast = cast(&app).await;
    let operator = key(&app, Role::Operator, Some("36.03")).await;
    let supervisor = key(&app, Role::Supervisor, Some("36.03")).await;
    let other_supervisor = key(&app, Role::Supervisor, Some("36.71")).await;
    let ours = data(&submit_death(&app, &operator, &cast.home).await)["submitPayout"]["id"].clone();
    let theirs = data(&submit_death(&app, &app.admin, &cast.city).await)["submitPayout"]["id"].clone();

    let verify = "mutation($id: ID!) { verifyPayout(id: $id) { status } }";
    assert_eq!(error_code(&app.gql_as(&supervisor, verify, json!({ "id": theirs })).await), "NOT_FOUND");
    assert_eq!(error_code(&app.gql_as(&other_supervisor, verify, json!({ "id": ours })).await), "NOT_FOUND");
    let response = app.gql_as(&supervisor, verify, json!({ "id": ours })).await;
    assert_eq!(data(&response)["verifyPayout"]["status"], "VERIFIED");

    // Payout lists and counts hold only the scope's payouts.
    let list = "{ payouts { totalCount nodes { id } } overduePayouts { id } }";
    let response = app.gql_as(&supervisor, list, json!({})).await;
    assert_eq!(data(&response)["payouts"]["totalCount"], 1);
    assert_eq!(data(&response)["payouts"]["nodes"][0]["id"], ours);
    let response = app.gql_as(&app.admin, list, json!({})).await;
    assert_eq!(data(&response)["payouts"]["totalCount"], 2);
    let response = app.gql_as(&supervisor, "query($id: ID!) { payout(id: $id) { id } }", json!({ "id": theirs })).await;
    assert!(data(&response)["payout"].is_null());

    let target = "mutation($r: String!) { setCoverageTarget(input: { regencyCode: $r, year: 2024, targetWorkers: 5 }) { targetWorkers } }";
    assert_eq!(
        data(&app.gql_as(&supervisor, target, json!({ "r": "36.03" })).await)["setCoverageTarget"]["targetWorkers"],
        5
    );
    assert_eq!(error_code(&app.gql_as(&supervisor, target, json!({ "r": "36.71" })).await), "FORBIDDEN");
    // The audit log is the admins'.
    assert_eq!(error_code(&app.gql_as(&supervisor, "{ auditLog { nodes { id } } }", json!({})).await), "FORBIDDEN");
    let response = app.gql_as(&app.admin, "{ auditLog { nodes { id } } }", json!({})).await;
    assert!(!data(&response)["auditLog"]["nodes"].as_array().unwrap().is_empty());
});

backend_test!(audit_entries_name_the_key_but_never_hold_it, |app: TestApp| async move {
    let (operator, row) =
        auth::keys::create_key(&app.state.db, "desk 3", Role::Operator, Some("36.03".into())).await.unwrap();
    let register = r#"mutation { registerWorker(input: { nik: "3603121505850011", fullName: "Sari",
        occupation: FISHER, regencyCode: "36.03" }) { id } }"#;
    data(&app.gql_as(&operator, register, json!({})).await);
    let response =
        app.gql_as(&app.admin, "{ auditLog(first: 1) { nodes { apiKeyId apiKeyName operation } } }", json!({})).await;
    let entry = &data(&response)["auditLog"]["nodes"][0];
    assert_eq!(entry["apiKeyId"], row.id.to_string());
    assert_eq!(entry["apiKeyName"], "desk 3");
    assert!(!response.to_string().contains(&operator));
});

/// Sets when a coverage was enrolled (tests enroll today what the story enrolled earlier).
async fn enrolled_on(app: &TestApp, coverage: &str, day: &str) {
    use sea_orm::{ActiveModelTrait, Set};
    let at = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let row = jaminan::entities::coverage::ActiveModel {
        id: Set(coverage.parse().unwrap()),
        created_at: Set(at),
        ..Default::default()
    };
    row.update(&app.state.db).await.unwrap();
}
