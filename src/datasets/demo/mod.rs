//! The demo dataset: Kabupaten Tangerang (36.03) as its Regent reported it on 20 June 2023.
//!
//! - 50,000 vulnerable workers enrolled in December 2021, covered by the regency budget (APBD) for
//!   2022 and renewed for 2023;
//! - 36,000 more enrolled in June 2023, covered from July 2023 by the revised budget
//!   (APBD-Perubahan / ABT);
//! - so 86,000 covered in 2023 (+72%), against a target of 100,000 out of 248,000 eligible;
//! - 25 JKM death benefits (Rp42,000,000 each) paid to heirs at the ceremony of 20 June 2023, and
//!   a few later claims in every earlier state (see `payouts`).
//!
//! Every value comes from a fixed seed, so each run writes the same rows (only the auto-increment
//! ids may differ). Everything goes in one transaction with multi-row INSERTs, so either all of it is
//! loaded or nothing: about 3 s on SQLite and 6 s on PostgreSQL (release build), most of it the
//! database maintaining indexes and foreign keys.
use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};

mod payouts;
mod story;

use story::{ELIGIBLE_WORKERS, ENTERED_AT, REGENCY, SEED};

use crate::datasets::synthetic::{
    BORN_FROM, BORN_UNTIL, MALE_PERCENT, SplitMix64, date, full_name, membership_number, nik_prefix, occupations_of,
    pick_weighted, utc,
};

use crate::db::insert_in_chunks;
use crate::domain::coverage_period::{DEFAULT_DECLARED_MONTHLY_INCOME, Programs};
use crate::domain::types::{CoverageEndReason, FundingSource, Gender, Occupation, WorkerStatus};
use crate::entities::{coverage, coverage_target, district, worker};

/// A group of workers enrolled together and the coverage periods each of them gets.
struct Cohort {
    workers: usize,
    /// Registrations are spread evenly over `registration_days` days from this instant.
    registered_from: DateTime<Utc>,
    registration_days: i64,
    periods: &'static [Period],
}

struct Period {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    funding: FundingSource,
    end_reason: Option<CoverageEndReason>,
}

/// In this order: the first 50,000 workers inserted are the 2022 cohort.
const COHORTS: [Cohort; 2] = [
    // Enrolled in December 2021 (07:00 WIB on 1 Dec to the morning of 31 Dec WIB) for the 2022
    // budget year, then renewed for 2023.
    Cohort {
        workers: 50_000,
        registered_from: utc(2021, 12, 1, 0),
        registration_days: 30,
        periods: &[
            Period {
                starts_on: date(2022, 1, 1),
                ends_on: date(2022, 12, 31),
                funding: FundingSource::Apbd,
                end_reason: Some(CoverageEndReason::Expired),
            },
            Period {
                starts_on: date(2023, 1, 1),
                ends_on: date(2023, 12, 31),
                funding: FundingSource::Apbd,
                end_reason: None,
            },
        ],
    },
    // Enrolled in June 2023, before the report of 20 June, paid by the revised budget from July.
    Cohort {
        workers: 36_000,
        registered_from: utc(2023, 6, 1, 0),
        registration_days: 19,
        periods: &[Period {
            starts_on: date(2023, 7, 1),
            ends_on: date(2023, 12, 31),
            funding: FundingSource::ApbdPerubahan,
            end_reason: None,
        }],
    },
];

/// The regency's yearly targets (budget = target x premium x 12, as published).
struct Target {
    year: i32,
    target_workers: i64,
    funding: FundingSource,
    note: Option<&'static str>,
}

const TARGETS: [Target; 2] = [
    Target { year: 2022, target_workers: 50_000, funding: FundingSource::Apbd, note: None },
    Target {
        year: 2023,
        target_workers: 100_000,
        funding: FundingSource::ApbdPerubahan,
        note: Some("Target ABT 2023 (APBD-Perubahan)"),
    },
];

/// Regency schemes cover JKK + JKM only.
const PROGRAMS: Programs = Programs { jht: false };

/// Loads the demo dataset once, into a database with no workers. Returns false when workers exist
/// (nothing done).
pub async fn load_if_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let started = Instant::now();
    // The emptiness check runs inside the transaction, so a concurrent second load fails (unique
    // NIKs on PostgreSQL, the single writer on SQLite) and rolls back instead of doubling the data.
    let txn = db.begin().await?;
    let any_worker =
        worker::Entity::find().select_only().column(worker::Column::Id).into_tuple::<i64>().one(&txn).await?;
    if any_worker.is_some() {
        return Ok(false); // dropping the transaction rolls it back
    }

    let districts = district_codes(&txn).await?;
    let planned = plan_workers(&districts)?;
    let workers = insert_in_chunks(&txn, planned.iter().map(worker_row)).await?;
    let ids = worker_ids(&txn, &planned).await?;
    let coverages = insert_in_chunks(&txn, coverage_rows(&planned, &ids)).await?;
    let targets = insert_targets(&txn).await?;
    let payouts = payouts::insert_payouts(&txn, &ids, &mut SplitMix64(SEED.rotate_left(17))).await?;
    // The rows went in with SQL: the summaries are recomputed from them, in the same transaction.
    let summaries = crate::stats::rebuild::recompute(&txn).await?;
    crate::stats::summary::replace(&txn, &summaries).await?;
    txn.commit().await?;

    tracing::info!(
        regency = REGENCY,
        workers,
        coverages,
        targets,
        payouts,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo dataset loaded"
    );
    Ok(true)
}

/// The regency's district codes, from the reference tables the migrations load.
async fn district_codes(txn: &DatabaseTransaction) -> Result<Vec<String>, DbErr> {
    let codes: Vec<String> = district::Entity::find()
        .select_only()
        .column(district::Column::Code)
        .filter(district::Column::RegencyCode.eq(REGENCY))
        .order_by_asc(district::Column::Code)
        .into_tuple()
        .all(txn)
        .await?;
    if codes.is_empty() {
        return Err(DbErr::RecordNotFound(format!(
            "no districts of regency {REGENCY}: are the reference areas loaded?"
        )));
    }
    Ok(codes)
}

/// A worker to insert, before the database gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlannedWorker {
    cohort: usize,
    nik: String,
    full_name: String,
    gender: Gender,
    birth_date: NaiveDate,
    occupation: Occupation,
    district_code: String,
    membership_number: String,
    registered_at: DateTime<Utc>,
}

/// Generates every worker of every cohort, in insertion order. Pure: same districts, same workers.
fn plan_workers(districts: &[String]) -> Result<Vec<PlannedWorker>, DbErr> {
    let nik_prefixes = districts.iter().map(|code| nik_area_prefix(code)).collect::<Result<Vec<_>, _>>()?;
    let mut rng = SplitMix64(SEED);
    // Some districts are far more populous than others: up to 3 times the share of the smallest.
    let district_weights: Vec<(usize, u32)> = (0..districts.len()).map(|i| (i, 2 + rng.below(5) as u32)).collect();
    let born_days = (BORN_UNTIL - BORN_FROM).num_days() as u64 + 1;
    // Serials already issued per NIK prefix (area + birth date and gender); 0000 is never issued.
    let mut serials: HashMap<String, u32> = HashMap::new();
    let (men_jobs, women_jobs) = (occupations_of(Gender::Male), occupations_of(Gender::Female));

    let mut planned = Vec::with_capacity(COHORTS.iter().map(|c| c.workers).sum());
    for (cohort_index, cohort) in COHORTS.iter().enumerate() {
        for n in 0..cohort.workers {
            let gender = if rng.chance(MALE_PERCENT) { Gender::Male } else { Gender::Female };
            let birth_date = BORN_FROM + TimeDelta::days(rng.below(born_days) as i64);
            let district = pick_weighted(&mut rng, &district_weights);
            let occupation = pick_weighted(&mut rng, if gender == Gender::Male { &men_jobs } else { &women_jobs });
            let full_name = full_name(&mut rng, gender);

            let prefix = nik_prefix(&nik_prefixes[district], gender, birth_date);
            let serial = serials.entry(prefix.clone()).or_insert(0);
            *serial += 1;
            if *serial > 9_999 {
                // Never with 86,000 workers over 29 districts x 45 years x 2 genders; and no NIK in
                // the message, even a generated one.
                return Err(DbErr::Custom("demo data: more than 9,999 NIKs for one district and birth date".into()));
            }
            let nik = format!("{prefix}{serial:04}");

            let registration_span = cohort.registration_days * 86_400;
            let registered_at =
                cohort.registered_from + TimeDelta::seconds(registration_span * n as i64 / cohort.workers as i64);
            planned.push(PlannedWorker {
                cohort: cohort_index,
                nik,
                full_name,
                gender,
                birth_date,
                occupation,
                district_code: districts[district].clone(),
                membership_number: membership_number(planned.len() as u64),
                registered_at,
            });
        }
    }
    Ok(planned)
}

/// The NIK's first six digits for a district: "36.03.12" -> "360312" (PP RR SS).
fn nik_area_prefix(district_code: &str) -> Result<String, DbErr> {
    let digits: String = district_code.chars().filter(|c| *c != '.').collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DbErr::Custom(format!("district code {district_code:?} is not shaped like 36.03.12")));
    }
    Ok(digits)
}

fn worker_row(planned: &PlannedWorker) -> worker::ActiveModel {
    worker::ActiveModel {
        nik: Set(planned.nik.clone()),
        full_name: Set(planned.full_name.clone()),
        gender: Set(planned.gender),
        birth_date: Set(planned.birth_date),
        occupation: Set(planned.occupation),
        regency_code: Set(REGENCY.to_owned()),
        district_code: Set(Some(planned.district_code.clone())),
        status: Set(WorkerStatus::Alive),
        died_on: Set(None),
        membership_number: Set(Some(planned.membership_number.clone())),
        registered_at: Set(planned.registered_at),
        updated_at: Set(planned.registered_at),
        ..Default::default()
    }
}

/// The ids the database gave the planned workers, in plan order. Matched by NIK rather than
/// assuming ids follow insertion order or start at 1.
async fn worker_ids(txn: &DatabaseTransaction, planned: &[PlannedWorker]) -> Result<Vec<i64>, DbErr> {
    let rows: Vec<(i64, String)> = worker::Entity::find()
        .select_only()
        .column(worker::Column::Id)
        .column(worker::Column::Nik)
        .filter(worker::Column::RegencyCode.eq(REGENCY))
        .into_tuple()
        .all(txn)
        .await?;
    let id_by_nik: HashMap<String, i64> = rows.into_iter().map(|(id, nik)| (nik, id)).collect();
    planned
        .iter()
        .map(|w| {
            // Never name the NIK in an error: it is personal data (even generated).
            id_by_nik.get(&w.nik).copied().ok_or_else(|| DbErr::RecordNotFound("a demo worker just inserted".into()))
        })
        .collect()
}

/// Every coverage period of every planned worker, built lazily chunk by chunk.
fn coverage_rows<'a>(planned: &'a [PlannedWorker], ids: &'a [i64]) -> impl Iterator<Item = coverage::ActiveModel> + 'a {
    planned.iter().zip(ids).flat_map(|(worker, &worker_id)| {
        COHORTS[worker.cohort].periods.iter().map(move |period| coverage::ActiveModel {
            worker_id: Set(worker_id),
            regency_code: Set(REGENCY.to_owned()),
            funding_source: Set(period.funding),
            programs: Set(PROGRAMS.to_column()),
            declared_monthly_income: Set(DEFAULT_DECLARED_MONTHLY_INCOME),
            monthly_premium: Set(PROGRAMS.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME)),
            starts_on: Set(period.starts_on),
            ends_on: Set(Some(period.ends_on)),
            end_reason: Set(period.end_reason),
            created_at: Set(ENTERED_AT),
            ..Default::default()
        })
    })
}

/// The yearly targets; a target an admin already set for one of these years is kept as it is.
async fn insert_targets(txn: &DatabaseTransaction) -> Result<u64, DbErr> {
    let yearly_premium = PROGRAMS.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME) * 12;
    let rows = TARGETS.iter().map(|target| coverage_target::ActiveModel {
        regency_code: Set(REGENCY.to_owned()),
        year: Set(target.year),
        target_workers: Set(target.target_workers),
        eligible_workers: Set(Some(ELIGIBLE_WORKERS)),
        budget: Set(Some(target.target_workers * yearly_premium)),
        funding_source: Set(Some(target.funding)),
        note: Set(target.note.map(str::to_owned)),
        updated_at: Set(ENTERED_AT),
        ..Default::default()
    });
    use coverage_target::Column as C;
    coverage_target::Entity::insert_many(rows)
        .on_conflict(OnConflict::columns([C::RegencyCode, C::Year]).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::Datelike;

    use super::*;
    use crate::domain::nik;

    /// The 29 district codes of 36.03 in the reference data (sparse: no 21, 24, 25, 26).
    fn tangerang_districts() -> Vec<String> {
        [1..=20, 22..=23, 27..=33].into_iter().flatten().map(|n| format!("36.03.{n:02}")).collect()
    }

    #[test]
    fn plans_86000_valid_unique_workers_deterministically() {
        let districts = tangerang_districts();
        assert_eq!(districts.len(), 29);
        let planned = plan_workers(&districts).unwrap();
        assert_eq!(planned.len(), 86_000);
        assert_eq!(planned, plan_workers(&districts).unwrap(), "same seed, same workers");

        let today = date(2026, 11, 24);
        let mut niks = HashSet::new();
        let mut kpjs = HashSet::new();
        for worker in &planned {
            let parsed = nik::parse(&worker.nik, today).unwrap();
            assert_eq!(parsed.gender, worker.gender);
            assert_eq!(parsed.birth_date, worker.birth_date);
            assert!((1960..=2004).contains(&worker.birth_date.year()));
            assert_eq!(worker.nik[..6], worker.district_code.replace('.', ""));
            assert!(niks.insert(worker.nik.clone()), "NIKs are unique");
            assert_eq!(worker.membership_number.len(), 11);
            assert!(kpjs.insert(worker.membership_number.clone()), "KPJ numbers are unique");
        }
        let used_districts: HashSet<_> = planned.iter().map(|w| &w.district_code).collect();
        assert_eq!(used_districts.len(), 29);
        let men = planned.iter().filter(|w| w.gender == Gender::Male).count();
        assert!((45_000..49_600).contains(&men), "about 55% men: {men}");
    }

    #[test]
    fn cohorts_register_before_their_coverage_and_before_the_rows_are_entered() {
        let planned = plan_workers(&tangerang_districts()).unwrap();
        let (old, new): (Vec<_>, Vec<_>) = planned.iter().partition(|w| w.cohort == 0);
        assert_eq!((old.len(), new.len()), (50_000, 36_000));
        assert!(old.iter().all(|w| w.registered_at >= utc(2021, 12, 1, 0) && w.registered_at < utc(2021, 12, 31, 0)));
        assert!(new.iter().all(|w| w.registered_at >= utc(2023, 6, 1, 0) && w.registered_at < ENTERED_AT));
        assert!(planned.windows(2).all(|pair| pair[0].registered_at <= pair[1].registered_at));
    }

    #[test]
    fn budgets_match_the_published_figures() {
        let yearly = PROGRAMS.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME) * 12;
        assert_eq!(TARGETS[0].target_workers * yearly, 50_000 * 16_800 * 12);
        assert_eq!(TARGETS[1].target_workers * yearly, 100_000 * 16_800 * 12);
    }

    #[test]
    fn rejects_malformed_district_codes() {
        assert!(plan_workers(&["36.03.1".to_owned()]).is_err());
        assert_eq!(nik_area_prefix("36.03.12").unwrap(), "360312");
    }
}
