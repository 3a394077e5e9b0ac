//! Recomputing the summaries from the raw rows: `jaminan stats rebuild` (after data loaded with
//! SQL, a restore, or the migration that introduced them) and `jaminan stats verify` (compares).
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, IsolationLevel, StreamTrait, TransactionTrait,
};

use super::figures::{FigureGroups, Figures, fold_totals, occupations_in};
use super::summary;
use super::tally::{AreaCode, CountedPayout, Counters, Period, Profile, Tally};
use crate::db::statement;
use crate::domain::types::{Gender, Occupation, PayoutStatus};
use crate::entities::coverage_target;

/// Recomputes every summary row from workers, coverage periods, payouts and targets. Reads the
/// periods in worker order, one worker at a time, so memory stays bounded by the number of areas.
pub async fn recompute<C: ConnectionTrait + StreamTrait>(db: &C) -> Result<Tally, DbErr> {
    let backend = ConnectionTrait::get_database_backend(db);
    let mut tally = Tally::default();

    // A stream holds the connection until it is dropped: one block per stream.
    {
        let sql = "SELECT c.worker_id, w.district_code, w.occupation, w.gender, c.regency_code, c.starts_on, \
                   c.ends_on, c.monthly_premium FROM coverage c JOIN worker w ON w.id = c.worker_id WHERE c.cancelled_at IS NULL \
                   ORDER BY c.worker_id";
        let mut rows = std::pin::pin!(db.stream_raw(statement(backend, sql, vec![])).await?);
        let mut current: Option<(i64, WorkerRow)> = None;
        let mut periods: Vec<PeriodRow> = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let worker_id: i64 = row.try_get("", "worker_id")?;
            if current.as_ref().is_some_and(|(id, _)| *id != worker_id) {
                if let Some((_, worker)) = current.take() {
                    add_worker(&mut tally, &worker, &periods);
                }
                periods.clear();
            }
            if current.is_none() {
                let worker = WorkerRow {
                    district_code: row.try_get("", "district_code")?,
                    occupation: super::parse_stored(&row.try_get::<String>("", "occupation")?)?,
                    gender: super::parse_stored(&row.try_get::<String>("", "gender")?)?,
                };
                current = Some((worker_id, worker));
            }
            periods.push((
                row.try_get("", "regency_code")?,
                row.try_get("", "starts_on")?,
                row.try_get("", "ends_on")?,
                row.try_get("", "monthly_premium")?,
            ));
        }
        if let Some((_, worker)) = current {
            add_worker(&mut tally, &worker, &periods);
        }
    }
    {
        let sql = "SELECT w.district_code, p.regency_code, p.status, p.amount, p.paid_on, p.submitted_at \
                   FROM payout p JOIN worker w ON w.id = p.worker_id";
        let mut rows = std::pin::pin!(db.stream_raw(statement(backend, sql, vec![])).await?);
        while let Some(row) = rows.try_next().await? {
            let district_code: Option<String> = row.try_get("", "district_code")?;
            let regency_code: String = row.try_get("", "regency_code")?;
            let status: PayoutStatus = super::parse_stored(&row.try_get::<String>("", "status")?)?;
            let submitted_at: DateTime<Utc> = row.try_get("", "submitted_at")?;
            let claim = CountedPayout {
                regency_code: &regency_code,
                status,
                amount: row.try_get("", "amount")?,
                paid_on: row.try_get("", "paid_on")?,
                submitted_at,
            };
            tally.add_payout(district_code.as_deref(), claim, 1);
        }
    }

    for target in coverage_target::Entity::find().all(db).await? {
        tally.add_target(&target, 1);
    }
    Ok(tally.without_zeros())
}

struct WorkerRow {
    district_code: Option<String>,
    occupation: Occupation,
    gender: Gender,
}

type PeriodRow = (String, NaiveDate, Option<NaiveDate>, i64);

fn add_worker(tally: &mut Tally, worker: &WorkerRow, periods: &[PeriodRow]) {
    let profile = Profile {
        district_code: worker.district_code.as_deref(),
        occupation: worker.occupation,
        gender: worker.gender,
    };
    let periods: Vec<Period<'_>> = periods
        .iter()
        .map(|(regency_code, starts_on, ends_on, monthly_premium)| Period {
            regency_code,
            starts_on: *starts_on,
            ends_on: *ends_on,
            monthly_premium: *monthly_premium,
        })
        .collect();
    tally.add_worker(profile, &periods, 1);
}

/// A transaction that sees one state of the raw rows while the summaries cannot change: on
/// PostgreSQL the summary tables are locked before the snapshot is taken, so a mutation either
/// committed before (and is in the snapshot) or waits at its summary write and adds its change
/// after; on SQLite the transaction holds the single write lock from its first statement.
async fn locked_transaction(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin_with_config(Some(IsolationLevel::RepeatableRead), None).await?;
            // A recomputation reads every coverage period: no request timeout applies to it.
            txn.execute_unprepared("SET LOCAL statement_timeout = 0").await?;
            txn.execute_unprepared("LOCK TABLE coverage_summary, coverage_summary_occupation IN EXCLUSIVE MODE")
                .await?;
            Ok(txn)
        }
        _ => {
            let txn = db.begin().await?;
            txn.execute_unprepared("DELETE FROM stats_rebuild_request").await?;
            Ok(txn)
        }
    }
}

/// Replaces the summaries with a recomputation. Writes wait while it runs.
pub async fn rebuild(db: &DatabaseConnection) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    let txn = locked_transaction(db).await?;
    let tally = recompute(&txn).await?;
    summary::replace(&txn, &tally).await?;
    txn.execute_unprepared("DELETE FROM stats_rebuild_request").await?;
    txn.commit().await?;
    tracing::info!(
        rows = tally.totals.len() + tally.occupations.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "coverage summaries rebuilt"
    );
    Ok(())
}

/// Rebuilds when asked to (the migration that creates the summaries asks, so that a database
/// holding workers from before gets exact figures at its first start).
pub async fn rebuild_if_requested(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let requested = db
        .query_one_raw(statement(db.get_database_backend(), "SELECT COUNT(*) AS n FROM stats_rebuild_request", vec![]))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if requested == 0 {
        return Ok(false);
    }
    rebuild(db).await?;
    Ok(true)
}

/// Every figure of every area and year where the summaries and a recomputation differ, as lines
/// such as `36.03 2023 coveredWorkers: summaries 86001, recomputed 86000`. Empty when they agree.
pub async fn verify(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin_with_config(Some(IsolationLevel::RepeatableRead), None).await?;
            txn.execute_unprepared("SET LOCAL statement_timeout = 0").await?;
            txn
        }
        _ => db.begin().await?,
    };
    let stored = summary::load(&txn).await?;
    let expected = recompute(&txn).await?;
    txn.rollback().await?;
    Ok(differences(&stored, &expected))
}

/// Compares the figures two tallies give, area by area, over the years where either has a row
/// (before them both give zeros, after them both keep their last values).
pub fn differences(stored: &Tally, expected: &Tally) -> Vec<String> {
    let mut years: BTreeMap<AreaCode, BTreeSet<i32>> = BTreeMap::new();
    for (area, year) in stored.totals.keys().chain(expected.totals.keys()) {
        years.entry(*area).or_default().insert(*year);
    }
    for (area, year, _) in stored.occupations.keys().chain(expected.occupations.keys()) {
        years.entry(*area).or_default().insert(*year);
    }
    let mut lines = Vec::new();
    for (area, years) in years {
        let (Some(first), Some(last)) = (years.first(), years.last()) else { continue };
        let ours = area_figures(stored, area, *first..=*last);
        let theirs = area_figures(expected, area, *first..=*last);
        let area = area.as_str();
        for ((year, a), (_, b)) in ours.iter().zip(&theirs) {
            let label = if area.is_empty() { "national".to_owned() } else { area.to_owned() };
            // After the last year with rows, running figures keep their last values.
            let later = if year == last { " (and every later year)" } else { "" };
            for (figure, x, y) in compare(a, b) {
                lines.push(format!("{label} {year} {figure}: summaries {x}, recomputed {y}{later}"));
            }
        }
    }
    lines
}

fn area_figures(tally: &Tally, area: AreaCode, years: std::ops::RangeInclusive<i32>) -> Vec<(i32, Figures)> {
    let rows: Vec<(i32, Counters)> =
        tally.totals.range((area, i32::MIN)..=(area, i32::MAX)).map(|((_, y), c)| (*y, *c)).collect();
    let (first, last) = ((area, i32::MIN, Occupation::Farmer), (area, i32::MAX, Occupation::Other));
    let occupation_rows: Vec<(i32, Occupation, i64)> =
        tally.occupations.range(first..=last).map(|((_, y, o), r)| (*y, *o, r.starts - r.ends)).collect();
    fold_totals(&rows, years, FigureGroups::ALL)
        .into_iter()
        .map(|(year, mut figures)| {
            figures.by_occupation = Some(occupations_in(&occupation_rows, year));
            (year, figures)
        })
        .collect()
}

/// (figure name, summaries' value, recomputed value) for each figure that differs.
fn compare(a: &Figures, b: &Figures) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut check = |name: &str, x: String, y: String| {
        if x != y {
            out.push((name.to_owned(), x, y));
        }
    };
    let (ca, cb) = (a.coverage.unwrap_or_default(), b.coverage.unwrap_or_default());
    check("coveredWorkers", ca.covered.to_string(), cb.covered.to_string());
    check("previousYearCovered", ca.previous_year_covered.to_string(), cb.previous_year_covered.to_string());
    check("newlyCovered", ca.newly_covered.to_string(), cb.newly_covered.to_string());
    check("byGender", format!("{:?}", a.by_gender()), format!("{:?}", b.by_gender()));
    check("byOccupation", format!("{:?}", a.by_occupation), format!("{:?}", b.by_occupation));
    check("premiumCost", format!("{:?}", a.premium_cost), format!("{:?}", b.premium_cost));
    let (pa, pb) = (a.payouts.unwrap_or_default(), b.payouts.unwrap_or_default());
    check("payoutsPaid", pa.paid.to_string(), pb.paid.to_string());
    check("payoutsPaidAmount", pa.paid_amount.to_string(), pb.paid_amount.to_string());
    check("payoutsPending", pa.pending.to_string(), pb.pending.to_string());
    let (ta, tb) = (a.targets.unwrap_or_default(), b.targets.unwrap_or_default());
    check("targetWorkers", format!("{:?}", ta.target_workers), format!("{:?}", tb.target_workers));
    check("eligibleWorkers", format!("{:?}", ta.eligible_workers), format!("{:?}", tb.eligible_workers));
    out
}
