//! The read side: an area's figures for a range of years, from the summary rows of the areas asked
//! for (a few rows per area and year, summed over shards in SQL), never from workers or coverage.
//! Only the figure groups a query selects are read.
use std::collections::HashMap;
use std::ops::RangeInclusive;

use async_graphql::Enum;
use futures_util::TryStreamExt;
use sea_orm::{ConnectionTrait, DbErr, StreamTrait, Value};

use super::tally::Counters;
use crate::db::statement;
use crate::domain::types::{Gender, Occupation};

/// Which groups of figures to compute: each maps to its own columns or table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FigureGroups {
    /// coveredWorkers, newlyCovered, previousYearCovered, growthRate, byGender.
    pub coverage: bool,
    /// targetWorkers, eligibleWorkers (with coverage: targetProgress, coverageRate).
    pub targets: bool,
    pub premium: bool,
    pub payouts: bool,
    pub occupations: bool,
}

impl FigureGroups {
    pub const ALL: FigureGroups =
        FigureGroups { coverage: true, targets: true, premium: true, payouts: true, occupations: true };

    /// Groups whose figures sum every earlier year (covered-year runs, premium rates).
    fn needs_history(&self) -> bool {
        self.coverage || self.premium || self.occupations
    }
}

/// Covered workers of one area in one year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoverageCounts {
    pub covered: i64,
    pub previous_year_covered: i64,
    pub newly_covered: i64,
    pub male: i64,
    pub female: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetSums {
    /// Sum of the targets set in the area; None when no regency set one.
    pub target_workers: Option<i64>,
    /// Sum of the eligible estimates given; None when none was.
    pub eligible_workers: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayoutCounts {
    pub paid: i64,
    pub paid_amount: i64,
    pub pending: i64,
}

/// The figures of one area in one year; a group not asked for is None.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub coverage: Option<CoverageCounts>,
    pub targets: Option<TargetSums>,
    pub premium_cost: Option<i64>,
    pub payouts: Option<PayoutCounts>,
    /// Covered workers per occupation, most first; occupations with none are left out.
    pub by_occupation: Option<Vec<(Occupation, i64)>>,
    /// Figures withheld from this caller (small counts, see `disclosure`): their counts read 0,
    /// their cells are left out of the breakdowns and the rates built on them are None.
    pub withheld: Vec<StatsFigure>,
}

/// A figure of CoverageStats that can be withheld from a caller outside the area's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Enum)]
pub enum StatsFigure {
    CoveredWorkers,
    NewlyCovered,
    PreviousYearCovered,
    GrowthRate,
    TargetProgress,
    CoverageRate,
    PremiumCost,
    PayoutsPaid,
    PayoutsPaidAmount,
    PayoutsPending,
    ByOccupation,
    ByGender,
}

impl Figures {
    /// (covered - previous) / previous; None when previous is 0.
    pub fn growth_rate(&self) -> Option<f64> {
        if self.is_withheld(StatsFigure::GrowthRate) {
            return None;
        }
        let c = self.coverage?;
        ratio(c.covered - c.previous_year_covered, c.previous_year_covered)
    }

    /// covered / target; None without a (positive) target.
    pub fn target_progress(&self) -> Option<f64> {
        if self.is_withheld(StatsFigure::TargetProgress) {
            return None;
        }
        ratio(self.coverage?.covered, self.targets?.target_workers?)
    }

    /// covered / eligible; None without a (positive) estimate.
    pub fn coverage_rate(&self) -> Option<f64> {
        if self.is_withheld(StatsFigure::CoverageRate) {
            return None;
        }
        ratio(self.coverage?.covered, self.targets?.eligible_workers?)
    }

    pub fn is_withheld(&self, figure: StatsFigure) -> bool {
        self.withheld.contains(&figure)
    }

    /// Covered workers, None when withheld (what rankings sort by).
    pub fn covered(&self) -> Option<i64> {
        self.coverage.filter(|_| !self.is_withheld(StatsFigure::CoveredWorkers)).map(|c| c.covered)
    }

    /// Covered workers per gender, most first; genders with none are left out.
    pub fn by_gender(&self) -> Option<Vec<(Gender, i64)>> {
        let c = self.coverage?;
        let mut counts: Vec<(Gender, i64)> =
            [(Gender::Male, c.male), (Gender::Female, c.female)].into_iter().filter(|(_, n)| *n > 0).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(counts)
    }
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// Figures of each area in `areas` for each year of `years`, keyed by (area, year). Areas without
/// any summary row get zero figures.
pub async fn read<C: ConnectionTrait + StreamTrait>(
    db: &C,
    areas: &[&str],
    years: RangeInclusive<i32>,
    groups: FigureGroups,
) -> Result<HashMap<(String, i32), Figures>, DbErr> {
    let mut figures: HashMap<(String, i32), Figures> = HashMap::new();
    for area in areas {
        for year in years.clone() {
            figures.insert(((*area).to_owned(), year), Figures::default());
        }
    }
    if areas.is_empty() || years.is_empty() {
        return Ok(figures);
    }
    let first_row_year = if groups.needs_history() { 0 } else { *years.start() };
    if groups.coverage || groups.targets || groups.premium || groups.payouts {
        let rows = totals(db, areas, first_row_year, *years.end(), groups).await?;
        for (area, rows) in rows {
            for (year, f) in fold_totals(&rows, years.clone(), groups) {
                if let Some(entry) = figures.get_mut(&(area.clone(), year)) {
                    (entry.coverage, entry.targets, entry.premium_cost, entry.payouts) =
                        (f.coverage, f.targets, f.premium_cost, f.payouts);
                }
            }
        }
        // Areas without rows: zero figures in the groups asked for.
        for f in figures.values_mut() {
            fill_zeros(f, groups);
        }
    }
    if groups.occupations {
        let mut by_area = occupation_rows(db, areas, *years.end()).await?;
        for ((area, year), f) in figures.iter_mut() {
            let rows = by_area.entry(area.clone()).or_default();
            f.by_occupation = Some(occupations_in(rows, *year));
        }
    }
    Ok(figures)
}

fn fill_zeros(f: &mut Figures, groups: FigureGroups) {
    if groups.coverage {
        f.coverage.get_or_insert_default();
    }
    if groups.targets {
        f.targets.get_or_insert_default();
    }
    if groups.premium {
        f.premium_cost.get_or_insert(0);
    }
    if groups.payouts {
        f.payouts.get_or_insert_default();
    }
}

/// Summary rows of the areas, summed over shards, per area and year (ascending).
async fn totals<C: ConnectionTrait + StreamTrait>(
    db: &C,
    areas: &[&str],
    first_year: i32,
    last_year: i32,
    groups: FigureGroups,
) -> Result<HashMap<String, Vec<(i32, Counters)>>, DbErr> {
    let mut columns: Vec<&str> = Vec::new();
    if groups.coverage {
        columns.extend(["run_starts", "run_ends", "male_run_starts", "male_run_ends"]);
    }
    if groups.premium {
        columns.extend(["premium", "premium_rate_change"]);
    }
    if groups.payouts {
        columns.extend(["payouts_paid", "payouts_paid_amount", "payouts_pending"]);
    }
    if groups.targets {
        columns.extend(["targets_set", "target_workers", "eligible_set", "eligible_workers"]);
    }
    let sums: Vec<String> = columns.iter().map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}")).collect();
    let sql = format!(
        "SELECT area_code, year, {} FROM coverage_summary WHERE area_code IN ({}) AND year >= ? AND year <= ? \
         GROUP BY area_code, year ORDER BY area_code, year",
        sums.join(", "),
        marks(areas.len()),
    );
    let mut values: Vec<Value> = areas.iter().map(|a| (*a).into()).collect();
    values.extend([first_year.into(), last_year.into()]);
    let mut rows: HashMap<String, Vec<(i32, Counters)>> = HashMap::new();
    // Streamed: the publication reads every area at once, and materializing its rows first cost
    // 100 MB at 10 million workers.
    let backend = ConnectionTrait::get_database_backend(db);
    let mut stream = std::pin::pin!(db.stream_raw(statement(backend, &sql, values)).await?);
    while let Some(row) = stream.try_next().await? {
        // Rows already received are decoded without a pause: yielding now and then keeps the
        // publication's read (a quarter of a second at 10 million workers) from holding up the
        // requests waiting for this runtime worker (one read per change waited 0.2 s before).
        tokio::task::consume_budget().await;
        let mut values = [0i64; 13];
        for (i, name) in Counters::COLUMNS.iter().enumerate() {
            if columns.contains(name) {
                values[i] = row.try_get::<Option<i64>>("", name)?.unwrap_or(0);
            }
        }
        let (area, year): (String, i32) = (row.try_get("", "area_code")?, row.try_get("", "year")?);
        rows.entry(area).or_default().push((year, Counters::from_values(values)));
    }
    Ok(rows)
}

/// The figures of each year of `years` from one area's rows (ascending by year): running sums for
/// covered-year runs and premium rates, the year's own row for the rest.
pub(super) fn fold_totals(
    rows: &[(i32, Counters)],
    years: RangeInclusive<i32>,
    groups: FigureGroups,
) -> Vec<(i32, Figures)> {
    let (mut next, mut covered, mut male, mut rate) = (0, 0i64, 0i64, 0i64);
    years
        .map(|year| {
            while let Some((_, c)) = rows.get(next).filter(|(y, _)| *y <= year) {
                covered += c.run_starts - c.run_ends;
                male += c.male_run_starts - c.male_run_ends;
                rate += c.premium_rate_change;
                next += 1;
            }
            let own = rows.iter().find(|(y, _)| *y == year).map(|(_, c)| *c).unwrap_or_default();
            let figures = Figures {
                coverage: groups.coverage.then_some(CoverageCounts {
                    covered,
                    previous_year_covered: covered - own.run_starts + own.run_ends,
                    newly_covered: own.run_starts,
                    male,
                    female: covered - male,
                }),
                targets: groups.targets.then_some(TargetSums {
                    target_workers: (own.targets_set > 0).then_some(own.target_workers),
                    eligible_workers: (own.eligible_set > 0).then_some(own.eligible_workers),
                }),
                premium_cost: groups.premium.then_some(own.premium + rate),
                payouts: groups.payouts.then_some(PayoutCounts {
                    paid: own.payouts_paid,
                    paid_amount: own.payouts_paid_amount,
                    pending: own.payouts_pending,
                }),
                by_occupation: None,
                withheld: Vec::new(),
            };
            (year, figures)
        })
        .collect()
}

/// Net covered-year runs per occupation, per area: (year, occupation, starts - ends).
pub(super) type OccupationRows = Vec<(i32, Occupation, i64)>;

async fn occupation_rows<C: ConnectionTrait + StreamTrait>(
    db: &C,
    areas: &[&str],
    last_year: i32,
) -> Result<HashMap<String, OccupationRows>, DbErr> {
    let sql = format!(
        "SELECT area_code, year, occupation, CAST(SUM(run_starts - run_ends) AS BIGINT) AS net \
         FROM coverage_summary_occupation WHERE area_code IN ({}) AND year <= ? \
         GROUP BY area_code, year, occupation",
        marks(areas.len()),
    );
    let mut values: Vec<Value> = areas.iter().map(|a| (*a).into()).collect();
    values.push(last_year.into());
    let mut rows: HashMap<String, OccupationRows> = HashMap::new();
    let backend = ConnectionTrait::get_database_backend(db);
    let mut stream = std::pin::pin!(db.stream_raw(statement(backend, &sql, values)).await?);
    while let Some(row) = stream.try_next().await? {
        tokio::task::consume_budget().await; // as in `totals`
        let stored: String = row.try_get("", "occupation")?;
        let occupation = super::parse_stored::<Occupation>(&stored)?;
        let entry = (row.try_get("", "year")?, occupation, row.try_get::<Option<i64>>("", "net")?.unwrap_or(0));
        rows.entry(row.try_get("", "area_code")?).or_default().push(entry);
    }
    Ok(rows)
}

/// Covered workers per occupation in `year`, most first, then in the enum's order.
pub(super) fn occupations_in(rows: &OccupationRows, year: i32) -> Vec<(Occupation, i64)> {
    let mut counts: HashMap<Occupation, i64> = HashMap::new();
    for (row_year, occupation, net) in rows {
        if *row_year <= year {
            *counts.entry(*occupation).or_default() += net;
        }
    }
    let mut counts: Vec<(Occupation, i64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_rows_gives_covered_previous_newly_and_premium() {
        let c = |run_starts, run_ends, premium, premium_rate_change| Counters {
            run_starts,
            run_ends,
            premium,
            premium_rate_change,
            ..Default::default()
        };
        // 3 runs start in 2022; in 2023 one ends (counted from 2023) and 2 start; 2025 adds a rate.
        let rows = [(2022, c(3, 0, 100, 0)), (2023, c(2, 1, 50, 1200)), (2025, c(0, 0, 0, -1200))];
        let folded = fold_totals(&rows, 2021..=2025, FigureGroups::ALL);
        let covered: Vec<(i64, i64, i64)> = folded
            .iter()
            .map(|(_, f)| f.coverage.map(|c| (c.covered, c.previous_year_covered, c.newly_covered)).unwrap())
            .collect();
        assert_eq!(covered, [(0, 0, 0), (3, 0, 3), (4, 3, 2), (4, 4, 0), (4, 4, 0)]);
        let premium: Vec<i64> = folded.iter().map(|(_, f)| f.premium_cost.unwrap()).collect();
        assert_eq!(premium, [0, 100, 1250, 1200, 0]);
        assert_eq!(folded[2].1.targets, Some(TargetSums::default()));
    }
}
