//! The figures of docs/domain.md computed from scratch, by grouped SQL over workers, coverage
//! periods, payouts and targets (the way the server computed them before it kept summaries). Slow
//! at scale, but independent of the maintained summaries: tests compare the two.
use std::collections::HashMap;

use jaminan::areas::Area;
use jaminan::db::statement;
use jaminan::domain::types::{AreaLevel, Gender, Occupation};
use jaminan::services::AppState;
use jaminan::services::{wib_midnight, year_bounds};
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, Value};
use serde_json::json;

type AppResult<T> = Result<T, sea_orm::DbErr>;

/// The figures of one area in one year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub covered: i64,
    pub previous_year_covered: i64,
    pub newly_covered: i64,
    pub target_workers: Option<i64>,
    pub eligible_workers: Option<i64>,
    pub premium_cost: i64,
    pub payouts_paid: i64,
    pub payouts_paid_amount: i64,
    pub payouts_pending: i64,
    pub by_occupation: Vec<(Occupation, i64)>,
    pub by_gender: Vec<(Gender, i64)>,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// The recomputed figures, read one level and one year at a time: a handful of grouped
/// statements give every area of the level, kept for the areas asked for next. Make one after
/// the writes it is to see: it never reads a level and year again.
pub struct Reference<'s> {
    state: &'s AppState,
    read: HashMap<(AreaLevel, i32), HashMap<String, Figures>>,
}

impl<'s> Reference<'s> {
    pub fn new(state: &'s AppState) -> Reference<'s> {
        // A province's figures are grouped by the first two characters of the regency code: the
        // areas must say the same (a province's regencies are those whose code starts with its).
        for province in state.areas.provinces() {
            for regency in &province.regency_codes {
                assert_eq!(regency.get(..2), Some(province.code.as_str()), "regency {regency} of {}", province.code);
            }
        }
        for regency in state.areas.regencies(None, None) {
            let province = state.areas.province(&regency.code[..2]).expect("the regency's province");
            assert!(province.regency_codes.contains(&regency.code), "{} not among its province's", regency.code);
        }
        Reference { state, read: HashMap::new() }
    }

    /// An area's figures (None = national) as the API's CoverageStats fields.
    pub async fn coverage_stats(&mut self, area_code: Option<&str>, year: i32) -> serde_json::Value {
        let area = self.state.areas.area(area_code).expect("known area");
        let level = area.level();
        if !self.read.contains_key(&(level, year)) {
            let figures = figures_by_group(self.state, level, year).await.expect("reference figures");
            self.read.insert((level, year), figures);
        }
        let f = self.read[&(level, year)].get(group_key(&area)).cloned().unwrap_or_default();
        as_json(f)
    }
}

/// An area's figures (None = national) as the API's CoverageStats fields, read afresh.
pub async fn coverage_stats(state: &AppState, area_code: Option<&str>, year: i32) -> serde_json::Value {
    Reference::new(state).coverage_stats(area_code, year).await
}

fn as_json(f: Figures) -> serde_json::Value {
    let name = |o: &dyn std::fmt::Debug| o_name(&format!("{o:?}"));
    json!({
        "coveredWorkers": f.covered,
        "previousYearCovered": f.previous_year_covered,
        "newlyCovered": f.newly_covered,
        "growthRate": ratio(f.covered - f.previous_year_covered, f.previous_year_covered),
        "targetWorkers": f.target_workers,
        "targetProgress": f.target_workers.and_then(|t| ratio(f.covered, t)),
        "eligibleWorkers": f.eligible_workers,
        "coverageRate": f.eligible_workers.and_then(|e| ratio(f.covered, e)),
        "premiumCost": f.premium_cost.to_string(),
        "payoutsPaid": f.payouts_paid,
        "payoutsPaidAmount": f.payouts_paid_amount.to_string(),
        "payoutsPending": f.payouts_pending,
        "byOccupation": f.by_occupation.iter().map(|(o, n)| json!({ "occupation": name(o), "coveredWorkers": n })).collect::<Vec<_>>(),
        "byGender": f.by_gender.iter().map(|(g, n)| json!({ "gender": name(g), "coveredWorkers": n })).collect::<Vec<_>>(),
    })
}

/// "FarmLaborer" -> "FARM_LABORER".
fn o_name(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The key a group of rows carries for an area (areas at the national level share one key).
fn group_key<'a>(area: &'a Area<'_>) -> &'a str {
    area.code().unwrap_or(NATIONAL_KEY)
}

const NATIONAL_KEY: &str = "";

/// How rows of `coverage c` (joined to `worker w` for districts) are grouped at a level. A
/// district's figures are those of the workers living there whose coverage its own regency pays:
/// grouped by both, the pairs of another regency's district are left out (`district_key`).
fn coverage_group_sql(level: AreaLevel) -> &'static str {
    match level {
        // A bare literal cannot be grouped by in PostgreSQL; this is the empty string everywhere.
        AreaLevel::National => "SUBSTR(c.regency_code, 1, 0)",
        AreaLevel::Province => "SUBSTR(c.regency_code, 1, 2)",
        AreaLevel::Regency => "c.regency_code",
        AreaLevel::District => "c.regency_code || ' ' || w.district_code",
    }
}

/// The district of a group at the district level ("36.03 36.03.01"), None when the paying
/// regency is not the district's.
fn district_key(state: &AppState, group: &str) -> Option<String> {
    let (regency, district) = group.split_once(' ')?;
    (state.areas.district(district)?.regency_code == regency).then(|| district.to_owned())
}

/// All figures of the areas at `level`, keyed by area code (or the national key).
async fn figures_by_group(state: &AppState, level: AreaLevel, year: i32) -> AppResult<HashMap<String, Figures>> {
    let mut figures: HashMap<String, Figures> = HashMap::new();
    for (key, covered, previous, newly) in covered_counts(state, level, year).await? {
        let f = figures.entry(key).or_default();
        (f.covered, f.previous_year_covered, f.newly_covered) = (covered, previous, newly);
    }
    for (key, cost) in premium_costs(state, level, year).await? {
        figures.entry(key).or_default().premium_cost = cost;
    }
    for (key, occupation, gender, count) in covered_by_profile(state, level, year).await? {
        let f = figures.entry(key).or_default();
        add_count(&mut f.by_occupation, occupation, count);
        add_count(&mut f.by_gender, gender, count);
    }
    for (key, paid, paid_amount, pending) in payout_counts(state, level, year).await? {
        let f = figures.entry(key).or_default();
        (f.payouts_paid, f.payouts_paid_amount, f.payouts_pending) = (paid, paid_amount, pending);
    }
    if level != AreaLevel::District {
        for (key, target, eligible) in targets(state, level, year).await? {
            let f = figures.entry(key).or_default();
            (f.target_workers, f.eligible_workers) = (target, eligible);
        }
    }
    if level == AreaLevel::District {
        figures = figures.into_iter().filter_map(|(group, f)| Some((district_key(state, &group)?, f))).collect();
    }
    for f in figures.values_mut() {
        f.by_occupation.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        f.by_gender.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    Ok(figures)
}

fn add_count<K: PartialEq>(counts: &mut Vec<(K, i64)>, key: K, count: i64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 += count,
        None => counts.push((key, count)),
    }
}

/// Districts are workers' domicile districts: their level needs the worker row.
fn join_worker(level: AreaLevel, alias: &str) -> String {
    if level == AreaLevel::District { format!("JOIN worker w ON w.id = {alias}.worker_id") } else { String::new() }
}

/// Covered in the year, covered in the year before, and covered now but not then; per group.
async fn covered_counts(state: &AppState, level: AreaLevel, year: i32) -> AppResult<Vec<(String, i64, i64, i64)>> {
    let (first, last) = year_bounds(year);
    let (prev_first, prev_last) = year_bounds(year - 1);
    let sql = format!(
        "SELECT g, SUM(in_year) AS covered, SUM(in_prev) AS previous, \
                SUM(CASE WHEN in_year = 1 AND in_prev = 0 THEN 1 ELSE 0 END) AS newly \
         FROM (SELECT {group} AS g, c.worker_id, \
                 MAX(CASE WHEN c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) THEN 1 ELSE 0 END) AS in_year, \
                 MAX(CASE WHEN c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) THEN 1 ELSE 0 END) AS in_prev \
               FROM coverage c {join} \
               WHERE c.cancelled_at IS NULL AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
               GROUP BY {group}, c.worker_id) per_worker \
         WHERE g IS NOT NULL GROUP BY g",
        group = coverage_group_sql(level),
        join = join_worker(level, "c"),
    );
    let mut values: Vec<Value> = vec![last.into(), first.into(), prev_last.into(), prev_first.into()];
    values.extend([last.into(), prev_first.into()]);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "g")?, sum(row, "covered")?, sum(row, "previous")?, sum(row, "newly")?)))
        .collect()
}

/// Sum over periods of monthly premium x months of the year the period touches; per group.
async fn premium_costs(state: &AppState, level: AreaLevel, year: i32) -> AppResult<Vec<(String, i64)>> {
    let backend = state.db.get_database_backend();
    let (first, last) = year_bounds(year);
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(c.monthly_premium * ( \
                 (CASE WHEN c.ends_on IS NULL OR c.ends_on > ? THEN 12 ELSE {end_month} END) \
               - (CASE WHEN c.starts_on < ? THEN 1 ELSE {start_month} END) + 1)) AS BIGINT) AS cost \
         FROM coverage c {join} \
         WHERE c.cancelled_at IS NULL AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
         GROUP BY {group}",
        group = coverage_group_sql(level),
        join = join_worker(level, "c"),
        end_month = month_of(backend, "c.ends_on"),
        start_month = month_of(backend, "c.starts_on"),
    );
    let values: Vec<Value> = vec![last.into(), first.into(), last.into(), first.into()];
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .filter_map(|row| row.try_get::<Option<String>>("", "g").transpose().map(|g| Ok((g?, sum(row, "cost")?))))
        .collect()
}

/// Distinct covered workers per group, occupation and gender.
async fn covered_by_profile(
    state: &AppState,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, Occupation, Gender, i64)>> {
    let (first, last) = year_bounds(year);
    let sql = format!(
        "SELECT covered.g AS g, p.occupation AS occupation, p.gender AS gender, COUNT(*) AS n \
         FROM (SELECT DISTINCT {group} AS g, c.worker_id FROM coverage c {join} \
               WHERE c.cancelled_at IS NULL AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?)) covered \
         JOIN worker p ON p.id = covered.worker_id \
         WHERE covered.g IS NOT NULL \
         GROUP BY covered.g, p.occupation, p.gender",
        group = coverage_group_sql(level),
        join = join_worker(level, "c"),
    );
    let values: Vec<Value> = vec![last.into(), first.into()];
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| {
            let occupation: String = row.try_get("", "occupation")?;
            let gender: String = row.try_get("", "gender")?;
            let bad = || sea_orm::DbErr::Custom(format!("unknown stored occupation/gender {occupation}/{gender}"));
            Ok((
                row.try_get("", "g")?,
                parse_enum::<Occupation>(&occupation).ok_or_else(bad)?,
                parse_enum::<Gender>(&gender).ok_or_else(bad)?,
                sum(row, "n")?,
            ))
        })
        .collect()
}

/// Payouts PAID with paidOn in the year (count and amount), and payouts submitted in the year
/// (WIB) that are neither PAID nor REJECTED; counted in the area of the coverage they are paid under.
async fn payout_counts(state: &AppState, level: AreaLevel, year: i32) -> AppResult<Vec<(String, i64, i64, i64)>> {
    let (first, last) = year_bounds(year);
    let (year_start, next_year_start) = (wib_midnight(first), wib_midnight(last) + chrono::Duration::days(1));
    let sql = format!(
        "SELECT {group} AS g, \
                SUM(CASE WHEN p.status = 'PAID' AND p.paid_on >= ? AND p.paid_on <= ? THEN 1 ELSE 0 END) AS paid, \
                CAST(SUM(CASE WHEN p.status = 'PAID' AND p.paid_on >= ? AND p.paid_on <= ? THEN p.amount ELSE 0 END) AS BIGINT) AS paid_amount, \
                SUM(CASE WHEN p.status IN ('SUBMITTED', 'VERIFIED', 'APPROVED') AND p.submitted_at >= ? AND p.submitted_at < ? \
                         THEN 1 ELSE 0 END) AS pending \
         FROM payout p {join} \
         WHERE ((p.paid_on >= ? AND p.paid_on <= ?) OR (p.submitted_at >= ? AND p.submitted_at < ?)) \
         GROUP BY {group}",
        group = coverage_group_sql(level).replace("c.", "p."),
        join = join_worker(level, "p"),
    );
    let mut values: Vec<Value> =
        vec![first.into(), last.into(), first.into(), last.into(), year_start.into(), next_year_start.into()];
    values.extend([first.into(), last.into(), year_start.into(), next_year_start.into()]);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .filter_map(|row| {
            row.try_get::<Option<String>>("", "g")
                .transpose()
                .map(|g| Ok((g?, sum(row, "paid")?, sum(row, "paid_amount")?, sum(row, "pending")?)))
        })
        .collect()
}

/// Sum of the regencies' targets and eligible estimates; None where none is set.
async fn targets(state: &AppState, level: AreaLevel, year: i32) -> AppResult<Vec<(String, Option<i64>, Option<i64>)>> {
    let group = coverage_group_sql(level).replace("c.", "t.");
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(t.target_workers) AS BIGINT) AS target, \
                CAST(SUM(t.eligible_workers) AS BIGINT) AS eligible \
         FROM coverage_target t WHERE t.year = ? GROUP BY {group}"
    );
    let values: Vec<Value> = vec![year.into()];
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "g")?, row.try_get("", "target")?, row.try_get("", "eligible")?)))
        .collect()
}

async fn query(state: &AppState, sql: &str, values: Vec<Value>) -> AppResult<Vec<sea_orm::QueryResult>> {
    let backend: DbBackend = state.db.get_database_backend();
    state.db.query_all_raw(statement(backend, sql, values)).await
}

/// Aggregates come back as BIGINT on PostgreSQL and INTEGER on SQLite; NULL sums are 0.
fn sum(row: &sea_orm::QueryResult, column: &str) -> AppResult<i64> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

fn parse_enum<E: ActiveEnum<Value = String>>(stored: &str) -> Option<E> {
    E::try_from_value(&stored.to_owned()).ok()
}

/// SQL for the month (1-12) of a date column.
fn month_of(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(EXTRACT(MONTH FROM {column}) AS INTEGER)"),
        _ => format!("CAST(strftime('%m', {column}) AS INTEGER)"),
    }
}
