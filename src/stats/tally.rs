//! What rows add to the maintained summaries, without I/O: the one definition of the figures that
//! the write side (deltas in each mutation's transaction), the rebuild, the verification and the
//! seed all share.
//!
//! The summaries hold, per area and year, counters from which every figure of docs/domain.md follows:
//!
//! - A worker's covered years in an area form runs of consecutive years (the years its periods
//!   paid by a regency of the area overlap). Each run adds 1 to `run_starts` of its first year and
//!   1 to `run_ends` of the year after its last, so that
//!   `covered(Y) = sum over y <= Y of (run_starts - run_ends)`, `newlyCovered(Y) = run_starts(Y)`
//!   and `previousYearCovered(Y) = covered(Y - 1)`. A worker counts once per area and year however
//!   many periods or regencies cover it, and an open-ended run has no end: it counts in every later
//!   year. The same runs are kept for men, and per occupation (in their own table).
//! - A period's premium is `premium` of its first and last (partial) years, and its full years in
//!   between, 12 x the monthly premium each, go in as a change of the yearly rate:
//!   `premium_rate_change` +12p from the first full year, -12p from its last year (none when
//!   open-ended), so `premiumCost(Y) = premium(Y) + sum over y <= Y of premium_rate_change`.
//! - Payouts count in the year they were paid (`paidOn`) or, while pending, submitted (WIB).
//! - Targets count in their year, with how many regencies set one (so that "no target" stays null).
//!
//! Areas: "" for the nation, "36" for a province, "36.03" for a regency, "36.03.01" for a district.
//! A period or payout of regency R counts in the nation, R's province, R, and the worker's domicile
//! district when that district lies in R.
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::domain::types::{Gender, Occupation, PayoutStatus};
use crate::entities::{coverage, coverage_target, payout, worker};

/// The area key of the nation.
pub const NATIONAL: &str = "";

/// An area code as a summary key: up to 8 bytes inline ("36.03.01" is the longest), so that
/// keying millions of counter updates allocates nothing. Orders as the text does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AreaCode([u8; 8]);

impl AreaCode {
    pub const NATIONAL: AreaCode = AreaCode([0; 8]);

    /// Reference area codes are ASCII and at most 8 bytes; anything longer is cut (never seen).
    pub fn new(code: &str) -> AreaCode {
        let mut bytes = [0; 8];
        for (slot, byte) in bytes.iter_mut().zip(code.bytes()) {
            *slot = byte;
        }
        AreaCode(bytes)
    }

    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|b| *b == 0).unwrap_or(8);
        std::str::from_utf8(&self.0[..len]).unwrap_or_default()
    }
}

impl std::fmt::Debug for AreaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// The counters of one area in one year (or a change to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub run_starts: i64,
    pub run_ends: i64,
    pub male_run_starts: i64,
    pub male_run_ends: i64,
    pub premium: i64,
    pub premium_rate_change: i64,
    pub payouts_paid: i64,
    pub payouts_paid_amount: i64,
    pub payouts_pending: i64,
    pub targets_set: i64,
    pub target_workers: i64,
    pub eligible_set: i64,
    pub eligible_workers: i64,
}

impl Counters {
    /// The columns of the summary table, in the order of `values`.
    pub const COLUMNS: [&'static str; 13] = [
        "run_starts",
        "run_ends",
        "male_run_starts",
        "male_run_ends",
        "premium",
        "premium_rate_change",
        "payouts_paid",
        "payouts_paid_amount",
        "payouts_pending",
        "targets_set",
        "target_workers",
        "eligible_set",
        "eligible_workers",
    ];

    pub fn values(&self) -> [i64; 13] {
        [
            self.run_starts,
            self.run_ends,
            self.male_run_starts,
            self.male_run_ends,
            self.premium,
            self.premium_rate_change,
            self.payouts_paid,
            self.payouts_paid_amount,
            self.payouts_pending,
            self.targets_set,
            self.target_workers,
            self.eligible_set,
            self.eligible_workers,
        ]
    }

    pub fn from_values(v: [i64; 13]) -> Self {
        Counters {
            run_starts: v[0],
            run_ends: v[1],
            male_run_starts: v[2],
            male_run_ends: v[3],
            premium: v[4],
            premium_rate_change: v[5],
            payouts_paid: v[6],
            payouts_paid_amount: v[7],
            payouts_pending: v[8],
            targets_set: v[9],
            target_workers: v[10],
            eligible_set: v[11],
            eligible_workers: v[12],
        }
    }

    fn add(&mut self, other: &Counters, sign: i64) {
        let mut values = self.values();
        for (value, change) in values.iter_mut().zip(other.values()) {
            *value += sign * change;
        }
        *self = Counters::from_values(values);
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// Covered-year runs of one occupation in one area and year (or a change to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Runs {
    pub starts: i64,
    pub ends: i64,
}

/// Summary counters keyed by area and year: the contents of the summary tables, or a change to
/// them that a mutation adds in its transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub totals: BTreeMap<(AreaCode, i32), Counters>,
    pub occupations: BTreeMap<(AreaCode, i32, Occupation), Runs>,
}

/// What of a worker the figures depend on.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    pub district_code: Option<&'a str>,
    pub occupation: Occupation,
    pub gender: Gender,
}

impl<'a> From<&'a worker::Model> for Profile<'a> {
    fn from(w: &'a worker::Model) -> Self {
        Profile { district_code: w.district_code.as_deref(), occupation: w.occupation, gender: w.gender }
    }
}

/// What of a coverage period the figures depend on.
#[derive(Debug, Clone, Copy)]
pub struct Period<'a> {
    pub regency_code: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub monthly_premium: i64,
}

impl<'a> From<&'a coverage::Model> for Period<'a> {
    fn from(c: &'a coverage::Model) -> Self {
        Period {
            regency_code: &c.regency_code,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            monthly_premium: c.monthly_premium,
        }
    }
}

/// What of a payout the figures depend on.
#[derive(Debug, Clone, Copy)]
pub struct CountedPayout<'a> {
    pub regency_code: &'a str,
    pub status: PayoutStatus,
    pub amount: i64,
    pub paid_on: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
}

impl<'a> From<&'a payout::Model> for CountedPayout<'a> {
    fn from(p: &'a payout::Model) -> Self {
        CountedPayout {
            regency_code: &p.regency_code,
            status: p.status,
            amount: p.amount,
            paid_on: p.paid_on,
            submitted_at: p.submitted_at,
        }
    }
}

/// A worker's covered years in one area: first year and last year (None = open-ended).
type YearSpan = (i32, Option<i32>);

/// A worker with the rows of it that the figures count. Rows that a change leaves as they are
/// may be left out of both sides of `Tally::change` (they cancel out): an enrollment passes no
/// payouts, a payout transition no coverage periods.
#[derive(Debug, Clone, Copy)]
pub struct WorkerRows<'a> {
    pub worker: &'a worker::Model,
    pub coverages: &'a [coverage::Model],
    pub payouts: &'a [payout::Model],
}

impl Tally {
    /// The change to the summaries when a worker goes from `before` to `after`.
    pub fn change(before: WorkerRows<'_>, after: WorkerRows<'_>) -> Tally {
        let mut change = Tally::default();
        change.add_worker_rows(after, 1);
        change.add_worker_rows(before, -1);
        change.without_zeros()
    }

    /// Adds (`sign` 1) or removes (-1) everything a worker's rows count. A cancelled coverage
    /// period counts nowhere.
    pub fn add_worker_rows(&mut self, rows: WorkerRows<'_>, sign: i64) {
        let periods: Vec<Period<'_>> = rows.coverages.iter().filter(|c| !c.is_cancelled()).map(Period::from).collect();
        self.add_worker(Profile::from(rows.worker), &periods, sign);
        for payout in rows.payouts {
            self.add_payout(rows.worker.district_code.as_deref(), CountedPayout::from(payout), sign);
        }
    }

    /// Adds (`sign` 1) or removes (-1) what one worker's coverage periods count: covered-year
    /// runs in every area they reach, by gender and occupation, and their premium.
    pub fn add_worker(&mut self, profile: Profile<'_>, periods: &[Period<'_>], sign: i64) {
        let mut spans: BTreeMap<AreaCode, Vec<YearSpan>> = BTreeMap::new();
        for period in periods {
            let span = (period.starts_on.year(), period.ends_on.map(|end| end.year()));
            for area in areas_of(period.regency_code, profile.district_code) {
                spans.entry(area).or_default().push(span);
                self.add_premium(area, period, sign);
            }
        }
        let male = i64::from(profile.gender == Gender::Male);
        for (area, spans) in spans {
            for (first, last) in runs(spans) {
                let start = self.counters(area, first);
                start.run_starts += sign;
                start.male_run_starts += sign * male;
                self.occupation_runs(area, first, profile.occupation).starts += sign;
                if let Some(last) = last {
                    let end = self.counters(area, last + 1);
                    end.run_ends += sign;
                    end.male_run_ends += sign * male;
                    self.occupation_runs(area, last + 1, profile.occupation).ends += sign;
                }
            }
        }
    }

    /// Adds (`sign` 1) or removes (-1) what one payout counts: paid in the year of paidOn, or
    /// pending in the year it was submitted (WIB); rejected payouts count nowhere.
    pub fn add_payout(&mut self, district_code: Option<&str>, claim: CountedPayout<'_>, sign: i64) {
        for area in areas_of(claim.regency_code, district_code) {
            match (claim.status, claim.paid_on) {
                (PayoutStatus::Paid, Some(paid_on)) => {
                    let counters = self.counters(area, paid_on.year());
                    counters.payouts_paid += sign;
                    counters.payouts_paid_amount += sign * claim.amount;
                }
                (PayoutStatus::Submitted | PayoutStatus::Verified | PayoutStatus::Approved, _) => {
                    self.counters(area, wib_year(claim.submitted_at)).payouts_pending += sign;
                }
                _ => {}
            }
        }
    }

    /// Adds (`sign` 1) or removes (-1) one regency's target for a year, in the regency, its
    /// province and the nation (districts have no targets).
    pub fn add_target(&mut self, target: &coverage_target::Model, sign: i64) {
        let (regency, province) = (target.regency_code.as_str(), province_of(&target.regency_code));
        for area in [NATIONAL, province, regency] {
            let counters = self.counters(AreaCode::new(area), target.year);
            counters.targets_set += sign;
            counters.target_workers += sign * target.target_workers;
            if let Some(eligible) = target.eligible_workers {
                counters.eligible_set += sign;
                counters.eligible_workers += sign * eligible;
            }
        }
    }

    /// Adds every counter of `other` times `sign`.
    pub fn merge(&mut self, other: &Tally, sign: i64) {
        for (key, counters) in &other.totals {
            self.totals.entry(*key).or_default().add(counters, sign);
        }
        for (key, runs) in &other.occupations {
            let mine = self.occupations.entry(*key).or_default();
            mine.starts += sign * runs.starts;
            mine.ends += sign * runs.ends;
        }
    }

    /// Drops entries that are all zero (a change that cancels out writes nothing).
    pub fn without_zeros(mut self) -> Tally {
        self.totals.retain(|_, c| !c.is_zero());
        self.occupations.retain(|_, r| r.starts != 0 || r.ends != 0);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty() && self.occupations.is_empty()
    }

    /// Workers covered in an area in a year (the seed sizes its targets by it).
    pub fn covered(&self, area: &str, year: i32) -> i64 {
        let area = AreaCode::new(area);
        let rows = self.totals.range((area, i32::MIN)..=(area, year));
        rows.map(|(_, c)| c.run_starts - c.run_ends).sum()
    }

    fn counters(&mut self, area: AreaCode, year: i32) -> &mut Counters {
        self.totals.entry((area, year)).or_default()
    }

    fn occupation_runs(&mut self, area: AreaCode, year: i32, occupation: Occupation) -> &mut Runs {
        self.occupations.entry((area, year, occupation)).or_default()
    }

    fn add_premium(&mut self, area: AreaCode, period: &Period<'_>, sign: i64) {
        let (p, first_year) = (sign * period.monthly_premium, period.starts_on.year());
        let first_month = i64::from(period.starts_on.month());
        match period.ends_on {
            None => {
                self.counters(area, first_year).premium += p * (13 - first_month);
                self.counters(area, first_year + 1).premium_rate_change += 12 * p;
            }
            Some(end) if end.year() == first_year => {
                self.counters(area, first_year).premium += p * (i64::from(end.month()) - first_month + 1);
            }
            Some(end) => {
                self.counters(area, first_year).premium += p * (13 - first_month);
                self.counters(area, end.year()).premium += p * i64::from(end.month());
                if end.year() > first_year + 1 {
                    self.counters(area, first_year + 1).premium_rate_change += 12 * p;
                    self.counters(area, end.year()).premium_rate_change -= 12 * p;
                }
            }
        }
    }
}

/// The areas a period or payout of `regency_code` counts in, for a worker living in `district_code`.
pub fn areas_of(regency_code: &str, district_code: Option<&str>) -> impl Iterator<Item = AreaCode> + use<> {
    let district = district_code.filter(|d| d.strip_prefix(regency_code).is_some_and(|rest| rest.starts_with('.')));
    let areas = [Some(NATIONAL), Some(province_of(regency_code)), Some(regency_code), district];
    areas.map(|area| area.map(AreaCode::new)).into_iter().flatten()
}

/// "36.03" -> "36".
pub fn province_of(regency_code: &str) -> &str {
    regency_code.get(..2).unwrap_or(regency_code)
}

/// Merges year spans into maximal runs of consecutive years.
fn runs(mut spans: Vec<YearSpan>) -> Vec<YearSpan> {
    spans.sort_unstable();
    let mut merged: Vec<YearSpan> = Vec::with_capacity(spans.len());
    for (first, last) in spans {
        match merged.last_mut() {
            // Open-ended, or reaching at least the year before: one run.
            Some((_, current_last)) if current_last.is_none_or(|l| first <= l + 1) => {
                *current_last = match (*current_last, last) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// The year of an instant in WIB (UTC+7), where the regencies' days begin.
fn wib_year(at: DateTime<Utc>) -> i32 {
    (at + chrono::Duration::hours(7)).year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn period(regency_code: &str, starts_on: NaiveDate, ends_on: Option<NaiveDate>) -> Period<'_> {
        Period { regency_code, starts_on, ends_on, monthly_premium: 16_800 }
    }

    const FISHER_MAN: Profile<'static> =
        Profile { district_code: Some("36.03.01"), occupation: Occupation::Fisher, gender: Gender::Male };

    /// covered(Y) as the read side computes it.
    fn covered(tally: &Tally, area: &str, year: i32) -> i64 {
        tally.covered(area, year)
    }

    fn premium(tally: &Tally, area: &str, year: i32) -> i64 {
        let area = AreaCode::new(area);
        let rate: i64 = tally.totals.range((area, i32::MIN)..=(area, year)).map(|(_, c)| c.premium_rate_change).sum();
        rate + tally.totals.get(&(area, year)).map_or(0, |c| c.premium)
    }

    #[test]
    fn runs_merge_overlapping_and_adjacent_years() {
        assert_eq!(runs(vec![(2022, Some(2022)), (2023, Some(2023))]), vec![(2022, Some(2023))]);
        assert_eq!(runs(vec![(2021, Some(2021)), (2023, None)]), vec![(2021, Some(2021)), (2023, None)]);
        assert_eq!(runs(vec![(2020, None), (2022, Some(2024))]), vec![(2020, None)]);
        assert_eq!(runs(vec![(2022, Some(2030)), (2023, Some(2024))]), vec![(2022, Some(2030))]);
    }

    #[test]
    fn a_worker_counts_once_per_area_and_year() {
        let mut tally = Tally::default();
        // Two regencies of one province in one year, and a gap year in 36.71.
        let periods = [
            period("36.03", date(2022, 1, 1), Some(date(2023, 6, 30))),
            period("36.71", date(2023, 7, 1), Some(date(2023, 12, 31))),
            period("36.71", date(2025, 1, 1), None),
        ];
        tally.add_worker(FISHER_MAN, &periods, 1);
        for year in [2022, 2023] {
            assert_eq!(covered(&tally, NATIONAL, year), 1);
            assert_eq!(covered(&tally, "36", year), 1);
        }
        assert_eq!(covered(&tally, "36.71", 2023), 1);
        assert_eq!(covered(&tally, "36.71", 2024), 0);
        assert_eq!(covered(&tally, "36", 2024), 0);
        // Open-ended: counted in every later year.
        assert_eq!(covered(&tally, "36", 2099), 1);
        // Newly covered in 36 in 2025, not in 2023.
        assert_eq!(tally.totals[&(AreaCode::new("36"), 2025)].run_starts, 1);
        assert!(
            !tally.totals.contains_key(&(AreaCode::new("36"), 2023))
                || tally.totals[&(AreaCode::new("36"), 2023)].run_starts == 0
        );
        // The district counts only periods paid by its own regency.
        assert_eq!(covered(&tally, "36.03.01", 2023), 1);
        assert_eq!(covered(&tally, "36.03.01", 2025), 0);
        assert!(tally.totals.keys().all(|(area, _)| !area.as_str().starts_with("36.71.")));
    }

    #[test]
    fn premium_counts_touched_months_and_full_years() {
        let mut tally = Tally::default();
        let periods = [period("36.03", date(2022, 7, 15), Some(date(2025, 2, 1)))];
        tally.add_worker(FISHER_MAN, &periods, 1);
        assert_eq!(premium(&tally, "36.03", 2021), 0);
        assert_eq!(premium(&tally, "36.03", 2022), 6 * 16_800);
        assert_eq!(premium(&tally, "36.03", 2023), 12 * 16_800);
        assert_eq!(premium(&tally, "36.03", 2024), 12 * 16_800);
        assert_eq!(premium(&tally, "36.03", 2025), 2 * 16_800);
        assert_eq!(premium(&tally, "36.03", 2026), 0);

        let mut open = Tally::default();
        open.add_worker(FISHER_MAN, &[period("36.03", date(2023, 3, 10), None)], 1);
        assert_eq!(premium(&open, "36.03", 2023), 10 * 16_800);
        assert_eq!(premium(&open, "36.03", 2030), 12 * 16_800);

        let mut short = Tally::default();
        short.add_worker(FISHER_MAN, &[period("36.03", date(2023, 3, 31), Some(date(2023, 4, 1)))], 1);
        assert_eq!(premium(&short, "36.03", 2023), 2 * 16_800);
    }

    #[test]
    fn removing_what_was_added_leaves_nothing() {
        let periods =
            [period("36.03", date(2022, 1, 1), None), period("32.01", date(2019, 5, 1), Some(date(2021, 2, 3)))];
        let mut tally = Tally::default();
        tally.add_worker(FISHER_MAN, &periods, 1);
        let claim = CountedPayout {
            regency_code: "36.03",
            status: PayoutStatus::Paid,
            amount: 42_000_000,
            paid_on: Some(date(2023, 6, 20)),
            submitted_at: Utc::now(),
        };
        tally.add_payout(Some("36.03.01"), claim, 1);
        let mut change = Tally::default();
        change.add_worker(FISHER_MAN, &periods, -1);
        change.add_payout(Some("36.03.01"), claim, -1);
        tally.merge(&change, 1);
        assert!(tally.without_zeros().is_empty());
    }

    #[test]
    fn payouts_count_paid_by_paid_on_and_pending_by_submission_in_wib() {
        let mut tally = Tally::default();
        // 2022-12-31 18:00 UTC is already 2023 in WIB.
        let submitted_at = date(2022, 12, 31).and_hms_opt(18, 0, 0).unwrap().and_utc();
        let pending = CountedPayout {
            regency_code: "36.03",
            status: PayoutStatus::Verified,
            amount: 1,
            paid_on: None,
            submitted_at,
        };
        tally.add_payout(Some("36.71.01"), pending, 1);
        assert_eq!(tally.totals[&(AreaCode::new("36.03"), 2023)].payouts_pending, 1);
        assert_eq!(tally.totals.len(), 3, "nation, province, regency; the district is another regency's");
        let rejected = CountedPayout { status: PayoutStatus::Rejected, ..pending };
        let mut none = Tally::default();
        none.add_payout(None, rejected, 1);
        assert!(none.without_zeros().is_empty());
    }
}
