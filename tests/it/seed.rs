//! `jaminan seed`: a deterministic national dataset, valid row by row, with exact summaries, on
//! both databases (PostgreSQL through COPY with its indexes and constraints rebuilt).
use crate::common;

use std::collections::HashSet;

use common::{Backend, TestApp, data, reference};
use jaminan::datasets::seed::plan::{Authors, Plan};
use jaminan::datasets::seed::{SeedOptions, seed};
use jaminan::domain::nik;
use jaminan::entities::{coverage, payout, worker};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::json;

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(app.state.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Indexes and constraints of the loaded tables, as the catalog lists them.
async fn schema_objects(app: &TestApp) -> i64 {
    match app.backend {
        Backend::Postgres => {
            scalar(
                app,
                "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE tablename IN ('worker', 'coverage', 'payout')) + \
                 (SELECT COUNT(*) FROM pg_constraint WHERE conrelid IN ('worker'::regclass, 'coverage'::regclass, 'payout'::regclass)) AS n",
            )
            .await
        }
        Backend::Sqlite => {
            scalar(app, "SELECT COUNT(*) AS n FROM sqlite_master WHERE tbl_name IN ('worker', 'coverage', 'payout')").await
        }
    }
}

backend_test!(the_seed_is_valid_deterministic_and_exactly_summarized, |app: TestApp| async move {
    let objects = schema_objects(&app).await;
    let options = SeedOptions { workers: 3_000, seed: 7 };
    let report = seed(&app.state.db, options).await.unwrap();
    assert_eq!(report.workers, 3_000);
    assert_eq!(app.count_rows("worker").await, 3_000);
    assert_eq!(app.count_rows("coverage").await as u64, report.coverages);
    assert!(report.coverages > 4_000 && report.payouts > 0 && report.targets > 0, "{report:?}");
    assert_eq!(schema_objects(&app).await, objects, "every index and constraint is back");

    // The same seed gives the same rows.
    let plan = std::sync::Arc::new(Plan::new(&app.state.areas, 3_000, 7));
    let authors = Authors { operator: 1, supervisor: 2 };
    let generated: Vec<_> = plan.people(authors).map(|p| p.worker.nik).collect();
    assert_eq!(generated, plan.people(authors).map(|p| p.worker.nik).collect::<Vec<_>>());
    let other: Vec<_> = Plan::new(&app.state.areas, 3_000, 8).people_once(authors).map(|p| p.worker.nik).collect();
    assert_ne!(generated, other, "another seed, other people");

    // Row by row: valid NIKs (region, date, +40 for women), unique; domicile districts in their
    // regency; periods, deaths and payouts consistent.
    let workers = worker::Entity::find().all(&app.state.db).await.unwrap();
    let stored: Vec<String> = workers.iter().map(|w| w.nik.clone()).collect();
    assert_eq!(stored.iter().collect::<HashSet<_>>().len(), 3_000, "NIKs are unique");
    assert_eq!(stored.iter().collect::<HashSet<_>>(), generated.iter().collect::<HashSet<_>>());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let regencies: HashSet<&str> = workers.iter().map(|w| w.regency_code.as_str()).collect();
    assert!(regencies.len() > 300, "workers spread over the country: {} regencies", regencies.len());
    for w in &workers {
        let parsed = nik::parse(&w.nik, today).unwrap();
        assert_eq!((parsed.gender, parsed.birth_date), (w.gender, w.birth_date));
        assert!(app.state.areas.province(&parsed.province_code).is_some());
        let district = app.state.areas.district(w.district_code.as_deref().unwrap()).unwrap();
        assert_eq!(district.regency_code, w.regency_code);
    }
    let periods = coverage::Entity::find().all(&app.state.db).await.unwrap();
    let payouts = payout::Entity::find().all(&app.state.db).await.unwrap();
    for w in workers.iter().filter(|w| w.died_on.is_some()) {
        let died_on = w.died_on.unwrap();
        let own: Vec<_> = periods.iter().filter(|c| c.worker_id == w.id).collect();
        assert!(own.iter().all(|c| c.starts_on <= died_on && c.ends_on.is_some_and(|end| end <= died_on)));
    }
    for p in &payouts {
        let held = periods.iter().find(|c| c.id == p.coverage_id).unwrap();
        assert!(held.worker_id == p.worker_id && held.regency_code == p.regency_code && held.includes(p.incident_on));
    }
    let states: HashSet<String> = payouts.iter().map(|p| format!("{:?}", p.status)).collect();
    assert_eq!(states.len(), 5, "payouts in every state: {states:?}");

    // The summaries are exact at every level, and ids go on after the seeded ones.
    assert!(jaminan::stats::rebuild::verify(&app.state.db).await.unwrap().is_empty());
    let w = &workers[0];
    let district = w.district_code.clone().unwrap();
    for area in [None, Some(&w.regency_code[..2]), Some(w.regency_code.as_str()), Some(district.as_str())] {
        for year in [2022, 2023, 2024] {
            let fields = "coveredWorkers previousYearCovered newlyCovered targetWorkers eligibleWorkers premiumCost \
                          payoutsPaid payoutsPaidAmount payoutsPending";
            let response = app
                .gql(
                    &format!("query($a: String) {{ coverageStats(areaCode: $a, year: {year}) {{ {fields} }} }}"),
                    json!({ "a": area }),
                )
                .await;
            let expected = reference::coverage_stats(&app.state, area, year).await;
            for field in fields.split_whitespace() {
                assert_eq!(data(&response)["coverageStats"][field], expected[field], "{area:?} {year} {field}");
            }
        }
    }
    let id = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    assert_eq!(id, "3001");

    // Only into an empty database: a second seed is refused and writes nothing.
    let again = seed(&app.state.db, options).await.unwrap_err();
    assert!(again.to_string().contains("empty database"), "{again}");
    assert_eq!(app.count_rows("worker").await, 3_001);
});
