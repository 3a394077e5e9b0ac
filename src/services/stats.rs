//! Coverage statistics, computed in the database with grouped SQL: a handful of queries per
//! area level whatever the number of workers, never rows loaded into the server. An area's own
//! figures and its children's each take one pass (distinct workers do not add up across areas).
//!
//! Definitions (domain.md): a worker is covered in year Y by regency R when one of its coverage
//! periods with R overlaps Y; each worker counts once per area and year. Districts are the
//! domicile districts of workers covered by the district's regency.
use std::collections::HashMap;

use async_graphql::Enum;
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, Value};

use super::areas::Area;
use super::{check_year, wib_midnight, year_bounds};
use crate::AppState;
use crate::db::{month_of, statement};
use crate::domain::types::{AreaLevel, Gender, Occupation};
use crate::error::{AppError, AppResult};

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

impl Figures {
    /// (covered - previous) / previous; None when previous is 0.
    pub fn growth_rate(&self) -> Option<f64> {
        ratio(self.covered - self.previous_year_covered, self.previous_year_covered)
    }

    /// covered / target; None without a (positive) target.
    pub fn target_progress(&self) -> Option<f64> {
        ratio(self.covered, self.target_workers?)
    }

    /// covered / eligible; None without a (positive) estimate.
    pub fn coverage_rate(&self) -> Option<f64> {
        ratio(self.covered, self.eligible_workers?)
    }
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// One area's figures for one year, with what it takes to compute its children later.
#[derive(Debug, Clone)]
pub struct AreaStats {
    pub level: AreaLevel,
    pub code: Option<String>,
    pub name: String,
    pub year: i32,
    pub figures: Figures,
}

impl AreaStats {
    fn new(area: &Area<'_>, year: i32, figures: Figures) -> Self {
        AreaStats {
            level: area.level(),
            code: area.code().map(str::to_owned),
            name: area.name().to_owned(),
            year,
            figures,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CoverageRankField {
    CoveredWorkers,
    CoverageRate,
    TargetProgress,
    GrowthRate,
}

/// The most years one trend request may span.
pub const MAX_TREND_YEARS: i32 = 50;

pub async fn area_stats(state: &AppState, area_code: Option<&str>, year: i32) -> AppResult<AreaStats> {
    let year = check_year("year", year)?;
    let area = state.areas.area(area_code)?;
    let mut figures = figures_by_group(state, &area, area.level(), year).await?;
    let own = figures.remove(group_key(&area)).unwrap_or_default();
    Ok(AreaStats::new(&area, year, own))
}

/// The same figures for each area one level down; empty for a district.
pub async fn children_stats(state: &AppState, area_code: Option<&str>, year: i32) -> AppResult<Vec<AreaStats>> {
    let area = state.areas.area(area_code)?;
    let children = state.areas.children(&area);
    let Some(child_level) = children.first().map(Area::level) else { return Ok(vec![]) };
    let mut figures = figures_by_group(state, &area, child_level, year).await?;
    Ok(children
        .iter()
        .map(|child| AreaStats::new(child, year, figures.remove(group_key(child)).unwrap_or_default()))
        .collect())
}

/// Complexity weights (see `ApiLimits::max_complexity`): how many entries a field can return.
pub const CHILDREN_COST: usize = 40;

pub fn trend_years(from_year: i32, to_year: i32) -> usize {
    (to_year.saturating_sub(from_year).saturating_add(1)).clamp(1, MAX_TREND_YEARS) as usize
}

pub fn ranking_size(first: Option<i32>) -> usize {
    first.map_or(10, |n| n.clamp(1, 514)) as usize
}

pub async fn trend(
    state: &AppState,
    area_code: Option<&str>,
    from_year: i32,
    to_year: i32,
) -> AppResult<Vec<AreaStats>> {
    check_year("fromYear", from_year)?;
    check_year("toYear", to_year)?;
    if to_year < from_year {
        return Err(AppError::bad_input("toYear", "toYear is before fromYear"));
    }
    if to_year - from_year >= MAX_TREND_YEARS {
        return Err(AppError::bad_input("toYear", format!("a trend spans at most {MAX_TREND_YEARS} years")));
    }
    let mut years = Vec::new();
    for year in from_year..=to_year {
        years.push(area_stats(state, area_code, year).await?);
    }
    Ok(years)
}

/// Regencies of one province (or all) ranked by a figure, highest first; regencies without the
/// figure (no target, no estimate, no previous year) come last, then by code.
pub async fn ranking(
    state: &AppState,
    province_code: Option<&str>,
    year: i32,
    by: CoverageRankField,
    first: Option<i32>,
) -> AppResult<Vec<AreaStats>> {
    let year = check_year("year", year)?;
    let limit = match first {
        None => 10,
        Some(n) if (1..=514).contains(&n) => n as usize,
        Some(_) => return Err(AppError::bad_input("first", "first must be between 1 and 514")),
    };
    let scope = match province_code {
        None => Area::National,
        Some(code) => match state.areas.province(code) {
            Some(p) => Area::Province(p),
            None => return Err(AppError::NotFound(format!("no province with code {}", shorten(code)))),
        },
    };
    let mut figures = figures_by_group(state, &scope, AreaLevel::Regency, year).await?;
    let mut ranked: Vec<AreaStats> = state
        .areas
        .regencies(province_code, None)
        .into_iter()
        .map(|r| AreaStats::new(&Area::Regency(r), year, figures.remove(&r.code).unwrap_or_default()))
        .collect();
    let score = |s: &AreaStats| match by {
        CoverageRankField::CoveredWorkers => Some(s.figures.covered as f64),
        CoverageRankField::CoverageRate => s.figures.coverage_rate(),
        CoverageRankField::TargetProgress => s.figures.target_progress(),
        CoverageRankField::GrowthRate => s.figures.growth_rate(),
    };
    ranked.sort_by(|a, b| {
        let order = match (score(a), score(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        order.then_with(|| a.code.cmp(&b.code))
    });
    ranked.truncate(limit);
    Ok(ranked)
}

/// Codes echoed in messages are cut short: a megabyte of input is not repeated back.
pub fn shorten(code: &str) -> String {
    code.chars().take(16).collect()
}

/// The key a group of rows carries for an area (areas at the national level share one key).
fn group_key<'a>(area: &'a Area<'_>) -> &'a str {
    area.code().unwrap_or(NATIONAL_KEY)
}

const NATIONAL_KEY: &str = "";

/// How rows of `coverage c` (joined to `worker w` for districts) are grouped at a level.
fn coverage_group_sql(level: AreaLevel) -> &'static str {
    match level {
        // A bare literal cannot be grouped by in PostgreSQL; this is the empty string everywhere.
        AreaLevel::National => "SUBSTR(c.regency_code, 1, 0)",
        AreaLevel::Province => "SUBSTR(c.regency_code, 1, 2)",
        AreaLevel::Regency => "c.regency_code",
        AreaLevel::District => "w.district_code",
    }
}

/// The WHERE condition that keeps the rows of `scope`, over a table aliased `alias` that has a
/// regency_code column, plus its bound values.
fn scope_sql(scope: &Area<'_>, alias: &str) -> (String, Vec<Value>) {
    match scope {
        Area::National => ("1 = 1".into(), vec![]),
        Area::Province(p) => {
            let marks = vec!["?"; p.regency_codes.len().max(1)].join(", ");
            let mut values: Vec<Value> = p.regency_codes.iter().map(|c| c.clone().into()).collect();
            if values.is_empty() {
                values.push("".into());
            }
            (format!("{alias}.regency_code IN ({marks})"), values)
        }
        Area::Regency(r) => (format!("{alias}.regency_code = ?"), vec![r.code.clone().into()]),
        Area::District(d) => (
            format!("{alias}.regency_code = ? AND w.district_code = ?"),
            vec![d.regency_code.clone().into(), d.code.clone().into()],
        ),
    }
}

/// All figures of the areas at `level` inside `scope`, keyed by area code (or the national key).
async fn figures_by_group(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<HashMap<String, Figures>> {
    let mut figures: HashMap<String, Figures> = HashMap::new();
    for (key, covered, previous, newly) in covered_counts(state, scope, level, year).await? {
        let f = figures.entry(key).or_default();
        (f.covered, f.previous_year_covered, f.newly_covered) = (covered, previous, newly);
    }
    for (key, cost) in premium_costs(state, scope, level, year).await? {
        figures.entry(key).or_default().premium_cost = cost;
    }
    for (key, occupation, gender, count) in covered_by_profile(state, scope, level, year).await? {
        let f = figures.entry(key).or_default();
        add_count(&mut f.by_occupation, occupation, count);
        add_count(&mut f.by_gender, gender, count);
    }
    for (key, paid, paid_amount, pending) in payout_counts(state, scope, level, year).await? {
        let f = figures.entry(key).or_default();
        (f.payouts_paid, f.payouts_paid_amount, f.payouts_pending) = (paid, paid_amount, pending);
    }
    if level != AreaLevel::District {
        for (key, target, eligible) in targets(state, scope, level, year).await? {
            let f = figures.entry(key).or_default();
            (f.target_workers, f.eligible_workers) = (target, eligible);
        }
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

/// Districts are workers' domicile districts: their levels need the worker row.
fn join_worker(level: AreaLevel, scope: &Area<'_>, alias: &str) -> String {
    if level == AreaLevel::District || matches!(scope, Area::District(_)) {
        format!("JOIN worker w ON w.id = {alias}.worker_id")
    } else {
        String::new()
    }
}

/// Covered in the year, covered in the year before, and covered now but not then; per group.
async fn covered_counts(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, i64, i64, i64)>> {
    let (first, last) = year_bounds(year);
    let (prev_first, prev_last) = year_bounds(year - 1);
    let (scope_where, scope_values) = scope_sql(scope, "c");
    let sql = format!(
        "SELECT g, SUM(in_year) AS covered, SUM(in_prev) AS previous, \
                SUM(CASE WHEN in_year = 1 AND in_prev = 0 THEN 1 ELSE 0 END) AS newly \
         FROM (SELECT {group} AS g, c.worker_id, \
                 MAX(CASE WHEN c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) THEN 1 ELSE 0 END) AS in_year, \
                 MAX(CASE WHEN c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) THEN 1 ELSE 0 END) AS in_prev \
               FROM coverage c {join} \
               WHERE {scope_where} AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
               GROUP BY {group}, c.worker_id) per_worker \
         WHERE g IS NOT NULL GROUP BY g",
        group = coverage_group_sql(level),
        join = join_worker(level, scope, "c"),
    );
    let mut values: Vec<Value> = vec![last.into(), first.into(), prev_last.into(), prev_first.into()];
    values.extend(scope_values);
    values.extend([last.into(), prev_first.into()]);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "g")?, sum(row, "covered")?, sum(row, "previous")?, sum(row, "newly")?)))
        .collect()
}

/// Sum over periods of monthly premium x months of the year the period touches; per group.
async fn premium_costs(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, i64)>> {
    let backend = state.db.get_database_backend();
    let (first, last) = year_bounds(year);
    let (scope_where, scope_values) = scope_sql(scope, "c");
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(c.monthly_premium * ( \
                 (CASE WHEN c.ends_on IS NULL OR c.ends_on > ? THEN 12 ELSE {end_month} END) \
               - (CASE WHEN c.starts_on < ? THEN 1 ELSE {start_month} END) + 1)) AS BIGINT) AS cost \
         FROM coverage c {join} \
         WHERE {scope_where} AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
         GROUP BY {group}",
        group = coverage_group_sql(level),
        join = join_worker(level, scope, "c"),
        end_month = month_of(backend, "c.ends_on"),
        start_month = month_of(backend, "c.starts_on"),
    );
    let mut values: Vec<Value> = vec![last.into(), first.into()];
    values.extend(scope_values);
    values.extend([last.into(), first.into()]);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .filter_map(|row| row.try_get::<Option<String>>("", "g").transpose().map(|g| Ok((g?, sum(row, "cost")?))))
        .collect()
}

/// Distinct covered workers per group, occupation and gender.
async fn covered_by_profile(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, Occupation, Gender, i64)>> {
    let (first, last) = year_bounds(year);
    let (scope_where, scope_values) = scope_sql(scope, "c");
    let sql = format!(
        "SELECT covered.g AS g, p.occupation AS occupation, p.gender AS gender, COUNT(*) AS n \
         FROM (SELECT DISTINCT {group} AS g, c.worker_id FROM coverage c {join} \
               WHERE {scope_where} AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?)) covered \
         JOIN worker p ON p.id = covered.worker_id \
         WHERE covered.g IS NOT NULL \
         GROUP BY covered.g, p.occupation, p.gender",
        group = coverage_group_sql(level),
        join = join_worker(level, scope, "c"),
    );
    let mut values = scope_values;
    values.extend([last.into(), first.into()]);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| {
            let occupation: String = row.try_get("", "occupation")?;
            let gender: String = row.try_get("", "gender")?;
            let bad = || AppError::Internal(format!("unknown stored occupation/gender {occupation}/{gender}"));
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
async fn payout_counts(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, i64, i64, i64)>> {
    let (first, last) = year_bounds(year);
    let (year_start, next_year_start) = (wib_midnight(first), wib_midnight(last) + chrono::Duration::days(1));
    let (scope_where, scope_values) = scope_sql(scope, "p");
    let sql = format!(
        "SELECT {group} AS g, \
                SUM(CASE WHEN p.status = 'PAID' AND p.paid_on >= ? AND p.paid_on <= ? THEN 1 ELSE 0 END) AS paid, \
                CAST(SUM(CASE WHEN p.status = 'PAID' AND p.paid_on >= ? AND p.paid_on <= ? THEN p.amount ELSE 0 END) AS BIGINT) AS paid_amount, \
                SUM(CASE WHEN p.status IN ('SUBMITTED', 'VERIFIED', 'APPROVED') AND p.submitted_at >= ? AND p.submitted_at < ? \
                         THEN 1 ELSE 0 END) AS pending \
         FROM payout p {join} \
         WHERE {scope_where} AND ((p.paid_on >= ? AND p.paid_on <= ?) OR (p.submitted_at >= ? AND p.submitted_at < ?)) \
         GROUP BY {group}",
        group = coverage_group_sql(level).replace("c.", "p."),
        join = join_worker(level, scope, "p"),
    );
    let mut values: Vec<Value> =
        vec![first.into(), last.into(), first.into(), last.into(), year_start.into(), next_year_start.into()];
    values.extend(scope_values);
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
async fn targets(
    state: &AppState,
    scope: &Area<'_>,
    level: AreaLevel,
    year: i32,
) -> AppResult<Vec<(String, Option<i64>, Option<i64>)>> {
    let group = coverage_group_sql(level).replace("c.", "t.");
    let (scope_where, scope_values) = scope_sql(scope, "t");
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(t.target_workers) AS BIGINT) AS target, \
                CAST(SUM(t.eligible_workers) AS BIGINT) AS eligible \
         FROM coverage_target t WHERE t.year = ? AND {scope_where} GROUP BY {group}"
    );
    let mut values: Vec<Value> = vec![year.into()];
    values.extend(scope_values);
    let rows = query(state, &sql, values).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "g")?, row.try_get("", "target")?, row.try_get("", "eligible")?)))
        .collect()
}

async fn query(state: &AppState, sql: &str, values: Vec<Value>) -> AppResult<Vec<sea_orm::QueryResult>> {
    let backend: DbBackend = state.db.get_database_backend();
    Ok(state.db.query_all_raw(statement(backend, sql, values)).await?)
}

/// Aggregates come back as BIGINT on PostgreSQL and INTEGER on SQLite; NULL sums are 0.
fn sum(row: &sea_orm::QueryResult, column: &str) -> AppResult<i64> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

fn parse_enum<E: ActiveEnum<Value = String>>(stored: &str) -> Option<E> {
    E::try_from_value(&stored.to_owned()).ok()
}
