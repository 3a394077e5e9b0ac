//! Cancelled coverage: a death reported late cancels the coverage that starts after it, and
//! cancelCoverage cancels one that has not started. A cancelled period stays visible (cancelled,
//! cancelledAt, cancelReason) and counts nowhere: figures, premiums, scope, exports, coveredOn.
use crate::common;

use common::{TestApp, data, error_code, error_field};
use jaminan::auth::{self, Role};
use serde_json::{Value, json};

const DEATH: &str = "mutation($w: ID!, $d: Date!) { recordDeath(workerId: $w, diedOn: $d) {
    id status diedOn coverages { id startsOn endsOn endReason cancelled cancelledAt cancelReason } } }";

const CANCEL: &str = "mutation($id: ID!, $reason: String!) { cancelCoverage(id: $id, reason: $reason) {
    id startsOn endsOn endReason cancelled cancelledAt cancelReason } }";

const END: &str = "mutation($id: ID!, $endsOn: Date!) {
    endCoverage(id: $id, endsOn: $endsOn, reason: CANCELLED) { id } }";

const STATS: &str = "query($y: Int!) { coverageStats(areaCode: \"36.03\", year: $y) { coveredWorkers premiumCost } }";

async fn key(app: &TestApp, role: Role, scope: Option<&str>) -> String {
    auth::keys::create_key(&app.state.db, &format!("{role:?} {scope:?}"), role, scope.map(str::to_owned))
        .await
        .unwrap()
        .0
}

/// (coveredWorkers, premiumCost) of 36.03 in `year`, as an admin reads them.
async fn figures(app: &TestApp, year: i32) -> (i64, String) {
    let response = app.gql_as(&app.admin, STATS, json!({ "y": year })).await;
    let stats = &data(&response)["coverageStats"];
    (stats["coveredWorkers"].as_i64().unwrap(), stats["premiumCost"].as_str().unwrap().to_owned())
}

async fn writes(app: &TestApp) -> (i64, i64) {
    (app.count_rows("coverage").await, app.count_rows("audit_log").await)
}

/// Workers of 36.03's coverage in `year` as the export writes them (data rows, header aside).
async fn exported(app: &TestApp, year: i32) -> usize {
    let mut out = Vec::new();
    jaminan::services::export::enrollments(
        &app.state.db,
        &app.state.areas,
        "36.03",
        year,
        jaminan::services::export::ExportFormat::CSV,
        &mut out,
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap().lines().count() - 1
}

fn day(offset_days: i64) -> String {
    ((chrono::Utc::now() + chrono::Duration::hours(7)).date_naive() + chrono::Duration::days(offset_days))
        .format("%Y-%m-%d")
        .to_string()
}

// Issue 23: heirs report a death months later, after next year's list was enrolled.
backend_test!(a_late_death_cancels_the_coverage_that_starts_after_it, |app: TestApp| async move {
    let w = app.register("3603121505850001", "Budi Santoso", "36.03", None, "FISHER").await;
    let first = app.enroll(&w, "36.03", "2024-01-01", Some("2024-12-31")).await;
    let next = app.enroll(&w, "36.03", "2025-01-01", None).await;
    assert_eq!(figures(&app, 2025).await, (1, (16_800 * 12).to_string()));
    assert_eq!(exported(&app, 2025).await, 1);
    let audited = app.count_rows("audit_log").await;

    let response = app.gql_as(&app.admin, DEATH, json!({ "w": w, "d": "2024-08-15" })).await;
    let dead = &data(&response)["recordDeath"];
    assert_eq!((dead["status"].as_str(), dead["diedOn"].as_str()), (Some("DECEASED"), Some("2024-08-15")));
    let by_id = |id: &str| dead["coverages"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    let closed = by_id(&first);
    assert_eq!((closed["endsOn"].as_str(), closed["endReason"].as_str()), (Some("2024-08-15"), Some("DECEASED")));
    assert_eq!(closed["cancelled"], false);
    let cancelled = by_id(&next);
    assert_eq!(cancelled["cancelled"], true, "{cancelled}");
    assert!(cancelled["cancelledAt"].is_string(), "{cancelled}");
    assert_eq!(cancelled["cancelReason"], "DECEASED 2024-08-15");
    assert_eq!(
        (cancelled["startsOn"].as_str(), cancelled["endsOn"].as_str()),
        (Some("2025-01-01"), None),
        "kept as it was"
    );

    // 2025 no longer counts the worker, premiums included; 2024 counts January to August.
    assert_eq!(figures(&app, 2025).await, (0, "0".to_owned()));
    assert_eq!(figures(&app, 2024).await, (1, (16_800 * 8).to_string()));
    assert_eq!(exported(&app, 2025).await, 0);
    assert_eq!(exported(&app, 2024).await, 1);
    let covered = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { worker(id: $id) { coveredOn(date: \"2025-03-01\") } }",
            json!({ "id": w }),
        )
        .await;
    assert_eq!(data(&covered)["worker"]["coveredOn"], false);
    let listed = app.gql_as(&app.admin, "{ workers(filter: { coveredInYear: 2025 }) { totalCount } }", json!({})).await;
    assert_eq!(data(&listed)["workers"]["totalCount"], 0, "{listed}");
    assert_eq!(app.stats_differences().await, Vec::<String>::new());

    // Audited in the same transaction: both periods and the worker.
    assert_eq!(app.count_rows("audit_log").await, audited + 3);
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { auditLog(entityType: COVERAGE, entityId: $id, first: 1) { nodes { operation changes } } }",
            json!({ "id": next }),
        )
        .await;
    let entry = &data(&response)["auditLog"]["nodes"][0];
    assert_eq!(entry["operation"], "recordDeath", "{entry}");
    assert_eq!(entry["changes"]["cancel_reason"]["after"], "DECEASED 2024-08-15", "{entry}");

    // A cancelled period can be neither ended nor cancelled; the figures stay as they are.
    let before = writes(&app).await;
    let response = app.gql_as(&app.admin, END, json!({ "id": next, "endsOn": "2025-01-31" })).await;
    assert_eq!(error_code(&response), "INVALID_STATE", "{response}");
    let response = app.gql_as(&app.admin, CANCEL, json!({ "id": next, "reason": "again" })).await;
    assert_eq!(error_code(&response), "INVALID_STATE", "{response}");
    assert_eq!(writes(&app).await, before);
    assert_eq!(app.stats_differences().await, Vec::<String>::new());
});

backend_test!(cancel_coverage_cancels_only_what_has_not_started, |app: TestApp| async move {
    let operator = key(&app, Role::Operator, Some("36.03")).await;
    let elsewhere = key(&app, Role::Operator, Some("36.71")).await;
    let viewer = key(&app, Role::Viewer, Some("36.03")).await;
    let w = app.register("3603121505850002", "Siti Aminah", "36.03", None, "STREET_VENDOR").await;
    let started = app.enroll(&w, "36.03", "2024-01-01", Some(&day(0))).await;
    let (starts, ends) = (day(1), day(400));
    let planned = app.enroll(&w, "36.03", &starts, Some(&ends)).await;
    // The year after the planned period starts: only it covers the worker then.
    let year = starts[..4].parse::<i32>().unwrap() + 1;
    let before_figures = figures(&app, year).await;
    assert_eq!(before_figures.0, 1);

    // Refused, writing nothing: a viewer, an operator of another regency, no reason, a period
    // that has started (today's included: endCoverage's job), no such coverage.
    let before = writes(&app).await;
    let refusals = [
        (&viewer, &planned, "for the heirs", "FORBIDDEN", None),
        (&elsewhere, &planned, "for the heirs", "NOT_FOUND", None),
        (&operator, &planned, "   ", "BAD_USER_INPUT", Some("reason")),
        (&operator, &started, "wrong year", "INVALID_STATE", None),
        (&operator, &"999999".to_owned(), "gone", "NOT_FOUND", None),
    ];
    for (key, id, reason, code, field) in refusals {
        let response = app.gql_as(key, CANCEL, json!({ "id": id, "reason": reason })).await;
        assert_eq!(error_code(&response), code, "{id} {reason}: {response}");
        if let Some(field) = field {
            assert_eq!(error_field(&response), field, "{response}");
        }
        assert_eq!(writes(&app).await, before, "{response}");
    }
    let response = app.gql_as(&operator, CANCEL, json!({ "id": started, "reason": "wrong year" })).await;
    let message = response["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("endCoverage"), "says what to do instead: {message}");

    let response =
        app.gql_as(&operator, CANCEL, json!({ "id": planned, "reason": "  moved to Kota Tangerang " })).await;
    let row = &data(&response)["cancelCoverage"];
    assert_eq!(
        (row["cancelled"].as_bool(), row["cancelReason"].as_str()),
        (Some(true), Some("moved to Kota Tangerang"))
    );
    assert_eq!(
        (row["startsOn"].as_str(), row["endsOn"].as_str(), row["endReason"].as_str()),
        (Some(starts.as_str()), Some(ends.as_str()), None)
    );
    assert_eq!(writes(&app).await, (before.0, before.1 + 1), "one audit entry");
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { auditLog(entityType: COVERAGE, entityId: $id, first: 1) { nodes { operation } } }",
            json!({ "id": planned }),
        )
        .await;
    assert_eq!(data(&response)["auditLog"]["nodes"][0]["operation"], "cancelCoverage");
    assert_eq!(figures(&app, year).await, (0, "0".to_owned()));
    assert_eq!(app.stats_differences().await, Vec::<String>::new());
    // Still listed with the worker, for auditors.
    let shown = app
        .gql_as(&operator, "query($id: ID!) { worker(id: $id) { coverages { id cancelled } } }", json!({ "id": w }))
        .await;
    let listed = data(&shown)["worker"]["coverages"].as_array().unwrap().clone();
    assert!(listed.iter().any(|c| c["id"] == planned.as_str() && c["cancelled"] == true), "{shown}");

    // The days it held are free again.
    let again = app.enroll(&w, "36.03", &starts, Some(&ends)).await;
    assert_ne!(again, planned);
    assert_eq!(figures(&app, year).await, before_figures);
    assert_eq!(app.stats_differences().await, Vec::<String>::new());
});

backend_test!(a_cancelled_coverage_gives_no_scope, |app: TestApp| async move {
    // Domiciled in 36.03, enrolled ahead by 36.71, which then cancels: 36.71 no longer sees it.
    let kota = key(&app, Role::Operator, Some("36.71")).await;
    let w = app.register("3603121505850003", "Ahmad Fauzi", "36.03", None, "FARMER").await;
    let planned = app.enroll(&w, "36.71", &day(30), None).await;
    let read = "query($id: ID!) { worker(id: $id) { id } }";
    assert_eq!(data(&app.gql_as(&kota, read, json!({ "id": w })).await)["worker"]["id"], w.as_str());
    data(&app.gql_as(&kota, CANCEL, json!({ "id": planned, "reason": "budget cut" })).await);
    assert_eq!(data(&app.gql_as(&kota, read, json!({ "id": w })).await)["worker"], Value::Null);
});
