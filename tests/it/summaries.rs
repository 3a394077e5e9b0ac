//! The maintained summaries stay exact. Random sequences of mutations go through the API on both
//! databases (register, enroll, enroll ahead of today, end coverage, cancel coverage, move
//! domicile, change occupation, deaths, late ones among them that cancel the coverage starting
//! after them, payouts through every state, targets; many of them refused by a rule, which must
//! change nothing), and
//! afterwards every area's figures at every level equal a from-scratch recomputation by grouped
//! SQL over the raw rows (tests/it/common/reference.rs), `stats verify` finds no difference, and a
//! rebuild changes no figure.
use crate::common;

use common::{Backend, TestApp, data, reference};
use jaminan::stats::publication::Publications;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// Domiciles (regency, district): two districts of 36.03, none given, and other regencies.
const HOMES: [(&str, Option<&str>); 5] = [
    ("36.03", Some("36.03.01")),
    ("36.03", Some("36.03.02")),
    ("36.03", None),
    ("36.71", Some("36.71.01")),
    ("32.01", Some("32.01.01")),
];
/// Regencies that pay coverage: two of Banten (one province) and one of Jawa Barat.
const PAYERS: [&str; 3] = ["36.03", "36.71", "32.01"];
const OCCUPATIONS: [&str; 4] = ["FISHER", "FARMER", "STREET_VENDOR", "OTHER"];
const BENEFITS: [&str; 3] = ["DEATH", "WORK_ACCIDENT_CARE", "WORK_ACCIDENT_DEATH"];
/// Areas compared at every level, and the years.
const AREAS: [Option<&str>; 10] = [
    None,
    Some("36"),
    Some("32"),
    Some("36.03"),
    Some("36.71"),
    Some("32.01"),
    Some("36.03.01"),
    Some("36.03.02"),
    Some("36.71.01"),
    Some("32.01.01"),
];
const YEARS: std::ops::RangeInclusive<i32> = 2019..=2027;

type Day = (i32, u32, u32);

#[derive(Debug, Clone)]
enum Op {
    Register {
        female: bool,
        occupation: usize,
        home: usize,
    },
    Enroll {
        worker: usize,
        payer: usize,
        starts: Day,
        ends: Option<Day>,
    },
    /// A period that starts `days` after today, open-ended or for a year (one that can be
    /// cancelled).
    EnrollAhead {
        worker: usize,
        payer: usize,
        days: u64,
        open: bool,
    },
    EndCoverage {
        worker: usize,
        period: usize,
        ends: Day,
    },
    /// cancelCoverage on one of the worker's periods (refused once it has started).
    Cancel {
        worker: usize,
        period: usize,
    },
    Move {
        worker: usize,
        home: usize,
    },
    ChangeOccupation {
        worker: usize,
        occupation: usize,
    },
    Death {
        worker: usize,
        on: Day,
    },
    /// A claim on one of the worker's periods, `days` into it.
    Submit {
        worker: usize,
        period: usize,
        benefit: usize,
        days: i64,
    },
    /// Moves a payout one step on (or rejects it); paid `days` after the incident, or today.
    Transition {
        payout: usize,
        reject: bool,
        days: Option<i64>,
    },
    Target {
        payer: usize,
        year: i32,
        target: i64,
        eligible: Option<i64>,
    },
}

fn day() -> impl Strategy<Value = Day> {
    (2020..=2025i32, 1..=12u32, 1..=28u32)
}

fn op() -> impl Strategy<Value = Op> {
    let w = 0..8usize;
    prop_oneof![
        2 => (any::<bool>(), 0..OCCUPATIONS.len(), 0..HOMES.len())
            .prop_map(|(female, occupation, home)| Op::Register { female, occupation, home }),
        5 => (w.clone(), 0..PAYERS.len(), day(), prop::option::weighted(0.7, day()))
            .prop_map(|(worker, payer, starts, ends)| Op::Enroll { worker, payer, starts, ends }),
        2 => (w.clone(), 0..PAYERS.len(), 1..400u64, any::<bool>())
            .prop_map(|(worker, payer, days, open)| Op::EnrollAhead { worker, payer, days, open }),
        1 => (w.clone(), 0..3usize, day()).prop_map(|(worker, period, ends)| Op::EndCoverage { worker, period, ends }),
        2 => (w.clone(), 0..4usize).prop_map(|(worker, period)| Op::Cancel { worker, period }),
        1 => (w.clone(), 0..HOMES.len()).prop_map(|(worker, home)| Op::Move { worker, home }),
        1 => (w.clone(), 0..OCCUPATIONS.len()).prop_map(|(worker, occupation)| Op::ChangeOccupation { worker, occupation }),
        2 => (w.clone(), day()).prop_map(|(worker, on)| Op::Death { worker, on }),
        4 => (w, 0..3usize, 0..BENEFITS.len(), 0..400i64)
            .prop_map(|(worker, period, benefit, days)| Op::Submit { worker, period, benefit, days }),
        5 => (0..6usize, prop::bool::weighted(0.15), prop::option::of(0..500i64))
            .prop_map(|(payout, reject, days)| Op::Transition { payout, reject, days }),
        1 => (0..PAYERS.len(), 2021..=2024i32, 0..50i64, prop::option::of(0..200i64))
            .prop_map(|(payer, year, target, eligible)| Op::Target { payer, year, target, eligible }),
    ]
}

fn day_of(value: &Value) -> chrono::NaiveDate {
    value.as_str().and_then(|d| d.parse().ok()).expect("a date")
}

fn date((y, m, d): Day) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// The ids the sequence has created so far.
#[derive(Default)]
struct Created {
    workers: Vec<String>,
    payouts: Vec<String>,
}

#[expect(clippy::too_many_lines, reason = "one arm per operation of the model, each a mutation through the API")]
async fn apply(app: &TestApp, created: &mut Created, op: &Op) {
    let pick = |list: &Vec<String>, i: usize| (!list.is_empty()).then(|| list[i % list.len()].clone());
    match op {
        Op::Register { female, occupation, home } => {
            let serial = created.workers.len() + 1;
            let nik = format!("360301{}0585{serial:04}", if *female { 55 } else { 15 });
            let (regency, district) = HOMES[*home];
            let id =
                app.register(&nik, &format!("Pekerja {serial}"), regency, district, OCCUPATIONS[*occupation]).await;
            created.workers.push(id);
        }
        Op::Enroll { worker, payer, starts, ends } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            let input = json!({ "workerId": worker, "regencyCode": PAYERS[*payer], "fundingSource": "APBD",
                                "startsOn": date(*starts), "endsOn": ends.map(date) });
            app.gql_as(
                &app.admin,
                "mutation($i: EnrollInput!) { enrollWorker(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await;
        }
        Op::EnrollAhead { worker, payer, days, open } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            let starts = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive() + chrono::Days::new(*days);
            let ends = (!open).then(|| (starts + chrono::Days::new(364)).to_string());
            let input = json!({ "workerId": worker, "regencyCode": PAYERS[*payer], "fundingSource": "APBD",
                                "startsOn": starts.to_string(), "endsOn": ends });
            app.gql_as(
                &app.admin,
                "mutation($i: EnrollInput!) { enrollWorker(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await;
        }
        Op::EndCoverage { worker, period, ends } => {
            let Some(coverage) = period_of(app, &pick(&created.workers, *worker), *period).await else { return };
            app.gql_as(
                &app.admin,
                "mutation($c: ID!, $d: Date!) { endCoverage(id: $c, endsOn: $d, reason: CANCELLED) { id } }",
                json!({ "c": coverage, "d": date(*ends) }),
            )
            .await;
        }
        Op::Cancel { worker, period } => {
            let Some(coverage) = period_of(app, &pick(&created.workers, *worker), *period).await else { return };
            app.gql_as(
                &app.admin,
                "mutation($c: ID!) { cancelCoverage(id: $c, reason: \"no longer eligible\") { id } }",
                json!({ "c": coverage }),
            )
            .await;
        }
        Op::Move { worker, home } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            let (regency, district) = HOMES[*home];
            app.gql_as(
                &app.admin,
                "mutation($w: ID!, $i: UpdateWorkerInput!) { updateWorker(id: $w, input: $i) { id } }",
                json!({ "w": worker, "i": { "regencyCode": regency, "districtCode": district } }),
            )
            .await;
        }
        Op::ChangeOccupation { worker, occupation } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            app.gql_as(
                &app.admin,
                "mutation($w: ID!, $i: UpdateWorkerInput!) { updateWorker(id: $w, input: $i) { id } }",
                json!({ "w": worker, "i": { "occupation": OCCUPATIONS[*occupation] } }),
            )
            .await;
        }
        Op::Death { worker, on } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            app.gql_as(
                &app.admin,
                "mutation($w: ID!, $d: Date!) { recordDeath(workerId: $w, diedOn: $d) { id } }",
                json!({ "w": worker, "d": date(*on) }),
            )
            .await;
        }
        Op::Submit { worker, period, benefit, days } => {
            let Some(worker) = pick(&created.workers, *worker) else { return };
            let response = app
                .gql_as(
                    &app.admin,
                    "query($w: ID!) { worker(id: $w) { coverages { startsOn endsOn } } }",
                    json!({ "w": worker }),
                )
                .await;
            let periods = data(&response)["worker"]["coverages"].as_array().cloned().unwrap_or_default();
            if periods.is_empty() {
                return;
            }
            let chosen = &periods[period % periods.len()];
            let mut on = day_of(&chosen["startsOn"]) + chrono::Days::new(*days as u64);
            if let Some(end) = chosen["endsOn"].as_str() {
                on = on.min(day_of(&json!(end)));
            }
            let benefit = BENEFITS[*benefit];
            let amount = (benefit == "WORK_ACCIDENT_CARE").then_some("1500000");
            let input = json!({ "workerId": worker, "benefit": benefit, "incidentOn": on.to_string(),
                                "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE", "amount": amount });
            let response = app
                .gql_as(
                    &app.admin,
                    "mutation($i: SubmitPayoutInput!) { submitPayout(input: $i) { id } }",
                    json!({ "i": input }),
                )
                .await;
            if let Some(id) = response["data"]["submitPayout"]["id"].as_str() {
                created.payouts.push(id.to_owned());
            }
        }
        Op::Transition { payout, reject, days } => {
            let Some(payout) = pick(&created.payouts, *payout) else { return };
            let response = app
                .gql_as(&app.admin, "query($p: ID!) { payout(id: $p) { status incidentOn } }", json!({ "p": payout }))
                .await;
            let current = &data(&response)["payout"];
            let paid_on = days.map(|d| (day_of(&current["incidentOn"]) + chrono::Days::new(d as u64)).to_string());
            // The second admin decides (four-eyes: the first one submitted).
            let (query, variables) = match (current["status"].as_str(), reject) {
                (_, true) => (
                    "mutation($p: ID!) { rejectPayout(id: $p, reason: \"incomplete\") { id } }",
                    json!({ "p": payout }),
                ),
                (Some("SUBMITTED"), _) => ("mutation($p: ID!) { verifyPayout(id: $p) { id } }", json!({ "p": payout })),
                (Some("VERIFIED"), _) => ("mutation($p: ID!) { approvePayout(id: $p) { id } }", json!({ "p": payout })),
                _ => (
                    "mutation($p: ID!, $d: Date) { markPayoutPaid(id: $p, paymentReference: \"TRF\", paidOn: $d) { id } }",
                    json!({ "p": payout, "d": paid_on }),
                ),
            };
            app.gql_as(&app.admin2, query, variables).await;
        }
        Op::Target { payer, year, target, eligible } => {
            let input = json!({ "regencyCode": PAYERS[*payer], "year": year, "targetWorkers": target, "eligibleWorkers": eligible });
            app.gql_as(
                &app.admin,
                "mutation($i: CoverageTargetInput!) { setCoverageTarget(input: $i) { year } }",
                json!({ "i": input }),
            )
            .await;
        }
    }
}

/// The id of one of the worker's coverage periods (cancelled ones included), if it has any.
async fn period_of(app: &TestApp, worker: &Option<String>, period: usize) -> Option<Value> {
    let worker = worker.as_ref()?;
    let response =
        app.gql_as(&app.admin, "query($w: ID!) { worker(id: $w) { coverages { id } } }", json!({ "w": worker })).await;
    let periods = data(&response)["worker"]["coverages"].as_array().cloned().unwrap_or_default();
    (!periods.is_empty()).then(|| periods[period % periods.len()]["id"].clone())
}

const FIGURES: &str = "coveredWorkers previousYearCovered newlyCovered growthRate targetWorkers targetProgress \
    eligibleWorkers coverageRate premiumCost payoutsPaid payoutsPaidAmount payoutsPending \
    byOccupation { occupation coveredWorkers } byGender { gender coveredWorkers }";

/// Every year of one area through the API, one request (an alias per year).
async fn api_years(app: &TestApp, key: Option<&str>, area: Option<&str>) -> Vec<Value> {
    let fields: Vec<String> =
        YEARS.map(|y| format!("y{y}: coverageStats(areaCode: $a, year: {y}) {{ {FIGURES} }}")).collect();
    let query = format!("query($a: String) {{ {} }}", fields.join(" "));
    let response = app.gql_with(key, &query, json!({ "a": area })).await;
    YEARS.map(|y| data(&response)[format!("y{y}")].clone()).collect()
}

/// Ratios rounded to 12 decimals: serde_json's float parsing (without `float_roundtrip`) may be
/// one ulp off the value the server printed.
fn rounded(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => json!((n.as_f64().unwrap() * 1e12).round() / 1e12),
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, rounded(v))).collect()),
        other => other,
    }
}

/// Compares every area at every level with the recomputation, as read by `key` (None: the
/// public, who read the publication; an ADMIN key: the summaries themselves); describes the first
/// difference.
async fn compare_with_reference(app: &TestApp, key: Option<&str>) -> Result<(), String> {
    // Nothing is written while comparing: the API reads a publication (k = 1, nothing withheld)
    // computed once per year for this comparison, rather than recomputed for every field of
    // every request (the test app's refresh is 0), which took most of this test's time.
    let mut state = app.state.clone();
    state.publications = std::sync::Arc::new(Publications::new(1, std::time::Duration::from_secs(3600)));
    let app = &app.with_state(state);
    let mut reference = reference::Reference::new(&app.state);
    for area in AREAS {
        for (api, year) in api_years(app, key, area).await.into_iter().zip(YEARS) {
            let (api, expected) = (rounded(api), rounded(reference.coverage_stats(area, year).await));
            if api != expected {
                return Err(format!("{area:?} {year}: API {api} but recomputed {expected}"));
            }
        }
    }
    // Children (one read for all children of a level), a trend (one read for all years), a ranking.
    for (area, year) in [(None, 2023), (Some("36"), 2022), (Some("36.03"), 2024)] {
        let response = app
            .gql_with(
                key,
                &format!("query($a: String) {{ coverageStats(areaCode: $a, year: {year}) {{ children {{ areaCode {FIGURES} }} }} }}"),
                json!({ "a": area }),
            )
            .await;
        for child in data(&response)["coverageStats"]["children"].as_array().unwrap() {
            let code = child["areaCode"].as_str().unwrap();
            let mut api = child.clone();
            api.as_object_mut().unwrap().remove("areaCode");
            let (api, expected) = (rounded(api), rounded(reference.coverage_stats(Some(code), year).await));
            if api != expected {
                return Err(format!("child {code} {year}: API {api} but recomputed {expected}"));
            }
        }
    }
    let response = app
        .gql_with(
            key,
            &format!("{{ coverageTrend(areaCode: \"36\", fromYear: 2019, toYear: 2027) {{ year {FIGURES} }} }}"),
            json!({}),
        )
        .await;
    for entry in data(&response)["coverageTrend"].as_array().unwrap() {
        let year = entry["year"].as_i64().unwrap() as i32;
        let mut api = entry.clone();
        api.as_object_mut().unwrap().remove("year");
        let (api, expected) = (rounded(api), rounded(reference.coverage_stats(Some("36"), year).await));
        if api != expected {
            return Err(format!("trend of 36 in {year}: API {api} but recomputed {expected}"));
        }
    }
    Ok(())
}

async fn run_case(backend: Backend, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let app = match backend {
        Backend::Sqlite => TestApp::spawn(backend).await,
        Backend::Postgres => TestApp::spawn_postgres().await,
    };
    let mut created = Created::default();
    for op in &ops {
        apply(&app, &mut created, op).await;
    }
    // Once as the public reads (the publication), and after a rebuild as an admin reads (the
    // summaries): each comparison computes a publication of every year it reads, the most
    // expensive part of a case.
    let compared = compare_with_reference(&app, None).await;
    let differences = jaminan::stats::rebuild::verify(&app.state.db).await.expect("verify");
    let rebuilt = if compared.is_ok() && differences.is_empty() {
        jaminan::stats::rebuild::rebuild(&app.state.db).await.expect("rebuild");
        compare_with_reference(&app, Some(&app.admin)).await.map_err(|e| format!("after a rebuild: {e}"))
    } else {
        Ok(())
    };
    app.cleanup().await;
    compared.map_err(TestCaseError::fail)?;
    prop_assert!(differences.is_empty(), "stats verify: {differences:?}");
    rebuilt.map_err(TestCaseError::fail)
}

fn check(backend: Backend, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = Config { cases, max_shrink_iters: 64, ..common::regressions_kept(file!()) };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(op(), 20..60), |ops| runtime.block_on(run_case(backend, ops)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn summaries_equal_a_recomputation_after_random_mutations_on_sqlite() {
    check(Backend::Sqlite, 12);
}

#[test]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
fn summaries_equal_a_recomputation_after_random_mutations_on_postgres() {
    check(Backend::Postgres, 8);
}

/// Concurrent writers on the same summary rows (every enrollment into 36.03 also changes Banten's
/// and the nation's): no change is lost, whichever shard each one lands in.
async fn concurrent_writers_lose_no_change(app: TestApp) {
    let mut workers = Vec::new();
    for serial in 1..=48u32 {
        let female = serial % 3 == 0;
        let nik = format!("360301{}0585{serial:04}", if female { 55 } else { 15 });
        let district = if serial % 2 == 0 { "36.03.01" } else { "36.03.02" };
        workers.push(app.register(&nik, &format!("Pekerja {serial}"), "36.03", Some(district), "FISHER").await);
    }
    let run = |query: &'static str, variables: Vec<Value>| {
        let tasks: Vec<_> = variables
            .into_iter()
            .map(|v| {
                let app = app.clone();
                tokio::spawn(async move { app.gql_as(&app.admin, query, v).await })
            })
            .collect();
        futures_util::future::join_all(tasks)
    };
    let enrollments = workers.iter().enumerate().map(|(i, w)| {
        let starts = if i % 2 == 0 { "2022-03-01" } else { "2023-01-01" };
        json!({ "i": { "workerId": w, "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": starts } })
    });
    for response in run("mutation($i: EnrollInput!) { enrollWorker(input: $i) { id } }", enrollments.collect()).await {
        data(&response.unwrap());
    }
    // At once: deaths of some, moves of others to another district or regency.
    let deaths = workers.iter().step_by(4).map(|w| json!({ "w": w, "d": "2023-06-01" }));
    let moves = workers.iter().skip(1).step_by(4).enumerate().map(|(i, w)| {
        let (regency, district) = if i % 2 == 0 { ("36.03", "36.03.03") } else { ("36.71", "36.71.01") };
        json!({ "w": w, "i": { "regencyCode": regency, "districtCode": district } })
    });
    let (died, moved) = tokio::join!(
        run("mutation($w: ID!, $d: Date!) { recordDeath(workerId: $w, diedOn: $d) { id } }", deaths.collect()),
        run("mutation($w: ID!, $i: UpdateWorkerInput!) { updateWorker(id: $w, input: $i) { id } }", moves.collect()),
    );
    for response in died.into_iter().chain(moved) {
        data(&response.unwrap());
    }
    // Supervisors setting one target at once: each change applies to what the other left.
    let targets = (1..=8).map(|n| {
        json!({ "i": { "regencyCode": "36.03", "year": 2024, "targetWorkers": n * 1000, "eligibleWorkers": n * 3000 } })
    });
    for response in
        run("mutation($i: CoverageTargetInput!) { setCoverageTarget(input: $i) { year } }", targets.collect()).await
    {
        data(&response.unwrap());
    }
    let differences = jaminan::stats::rebuild::verify(&app.state.db).await.unwrap();
    assert!(differences.is_empty(), "{differences:?}");
    let mut reference = reference::Reference::new(&app.state);
    for area in [None, Some("36"), Some("36.03"), Some("36.03.01"), Some("36.03.03"), Some("36.71")] {
        for (api, year) in api_years(&app, None, area).await.into_iter().zip(YEARS) {
            assert_eq!(rounded(api), rounded(reference.coverage_stats(area, year).await), "{area:?} {year}");
        }
    }
    let response = app.gql(r#"{ coverageStats(areaCode: "36.03", year: 2023) { coveredWorkers } }"#, json!({})).await;
    assert_eq!(data(&response)["coverageStats"]["coveredWorkers"], 48);
}

backend_test!(concurrent_enrollments_deaths_and_moves_keep_the_summaries_exact, concurrent_writers_lose_no_change);

/// A dashboard reads a few summary rows per area and year, and only the figure groups its query
/// selects: no statement for names alone, one per table otherwise, one for a whole trend. (Exact
/// figures, as a national key reads them; the publication for other callers reads every group.)
async fn queries_read_only_what_they_select(app: TestApp) {
    let worker = app.register("3603121505850001", "Siti", "36.03", Some("36.03.01"), "FISHER").await;
    app.enroll(&worker, "36.03", "2022-01-01", None).await;
    let statements = |query: &'static str| {
        let app = app.clone();
        async move {
            let before = app.query_count().await;
            let response = app.gql_as(&app.admin, query, json!({})).await;
            data(&response);
            (app.query_count().await - before, response)
        }
    };
    let (n, _) = statements(r#"{ coverageStats(areaCode: "36.03", year: 2023) { areaName level } }"#).await;
    assert_eq!(n, 0, "names need no figures");
    let (n, response) = statements(r#"{ coverageStats(areaCode: "36.03", year: 2023) { coveredWorkers } }"#).await;
    assert_eq!((n, &response["data"]["coverageStats"]["coveredWorkers"]), (1, &json!(1)));
    let (n, _) = statements(
        r#"{ coverageStats(areaCode: "36.03", year: 2023) { coveredWorkers byOccupation { occupation } } }"#,
    )
    .await;
    assert_eq!(n, 2, "occupations have their own table");
    let (n, response) = statements(
        r#"{ coverageStats(year: 2023) { coveredWorkers children { areaCode coveredWorkers premiumCost } } }"#,
    )
    .await;
    assert_eq!(n, 2, "the nation, then its 38 provinces in one statement");
    assert_eq!(response["data"]["coverageStats"]["children"].as_array().unwrap().len(), 38);
    let (n, response) = statements(
        r#"{ coverageTrend(areaCode: "36.03", fromYear: 2019, toYear: 2030) { year coveredWorkers premiumCost } }"#,
    )
    .await;
    assert_eq!(n, 1, "a trend reads its years at once");
    assert_eq!(response["data"]["coverageTrend"][11]["coveredWorkers"], 1, "open-ended: covered in 2030 too");
    let (n, _) = statements(r#"{ coverageRanking(year: 2023, by: TARGET_PROGRESS, first: 514) { areaCode } }"#).await;
    assert_eq!(n, 1, "514 regencies in one statement");
}

backend_test!(queries_read_only_the_figure_groups_they_select, queries_read_only_what_they_select);
