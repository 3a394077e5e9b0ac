//! Coverage arithmetic: programs and premium, period overlap, months of a year a period covers.
use chrono::{Datelike, NaiveDate};

use super::types::Program;

/// Regency schemes declare Rp1,000,000 a month unless told otherwise.
pub const DEFAULT_DECLARED_MONTHLY_INCOME: i64 = 1_000_000;
/// JKM premium: flat Rp6,800 a month.
pub const JKM_MONTHLY_PREMIUM: i64 = 6_800;
/// JHT add-on for non-wage members: Rp20,000 a month.
pub const JHT_MONTHLY_PREMIUM: i64 = 20_000;
/// A declared income above this is a typing error, not a vulnerable worker (Rp1 billion a month).
pub const MAX_DECLARED_MONTHLY_INCOME: i64 = 1_000_000_000;

/// The programs of one coverage period; JKK and JKM always together, JHT optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Programs {
    pub jht: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramsError {
    #[error("JKK and JKM are always required together")]
    MissingJkkOrJkm,
}

impl Programs {
    pub fn from_list(list: &[Program]) -> Result<Self, ProgramsError> {
        if !list.contains(&Program::Jkk) || !list.contains(&Program::Jkm) {
            return Err(ProgramsError::MissingJkkOrJkm);
        }
        Ok(Programs { jht: list.contains(&Program::Jht) })
    }

    pub fn list(self) -> Vec<Program> {
        let mut list = vec![Program::Jkk, Program::Jkm];
        if self.jht {
            list.push(Program::Jht);
        }
        list
    }

    /// Stored form: "JKK,JKM" or "JKK,JKM,JHT".
    pub fn to_column(self) -> String {
        if self.jht { "JKK,JKM,JHT".into() } else { "JKK,JKM".into() }
    }

    pub fn from_column(column: &str) -> Self {
        Programs { jht: column.split(',').any(|p| p == "JHT") }
    }

    /// JKK = 1% of declared income (rounded to the rupiah) + JKM flat (+ JHT flat).
    pub fn monthly_premium(self, declared_monthly_income: i64) -> i64 {
        let jkk = (declared_monthly_income + 50) / 100;
        jkk + JKM_MONTHLY_PREMIUM + if self.jht { JHT_MONTHLY_PREMIUM } else { 0 }
    }
}

/// Inclusive periods; `None` end = open-ended.
pub fn overlaps(a_start: NaiveDate, a_end: Option<NaiveDate>, b_start: NaiveDate, b_end: Option<NaiveDate>) -> bool {
    a_end.is_none_or(|end| end >= b_start) && b_end.is_none_or(|end| end >= a_start)
}

/// Months of `year` the period touches (a month counts when any of its days is covered).
pub fn months_in_year(start: NaiveDate, end: Option<NaiveDate>, year: i32) -> u32 {
    let first = if start.year() < year {
        1
    } else if start.year() == year {
        start.month()
    } else {
        return 0;
    };
    let last = match end {
        Some(end) if end.year() < year => return 0,
        Some(end) if end.year() == year => end.month(),
        _ => 12,
    };
    (last + 1).saturating_sub(first)
}

/// Months from `start` to `end` inclusive, any day counting for its month (0 when end < start).
pub fn months_between(start: NaiveDate, end: NaiveDate) -> i64 {
    if end < start {
        return 0;
    }
    (end.year() - start.year()) as i64 * 12 + end.month() as i64 - start.month() as i64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn premium_matches_published_budgets() {
        let base = Programs::from_list(&[Program::Jkk, Program::Jkm]).unwrap();
        assert_eq!(base.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME), 16_800);
        // 86,000 workers x 16,800 x 12 = Rp17,337,600,000 (the 2023 Tangerang budget).
        assert_eq!(86_000 * base.monthly_premium(1_000_000) * 12, 17_337_600_000);
        let with_jht = Programs::from_list(&[Program::Jht, Program::Jkm, Program::Jkk]).unwrap();
        assert_eq!(with_jht.monthly_premium(2_000_000), 20_000 + 6_800 + 20_000);
        assert_eq!(base.monthly_premium(1_234_567), 12_346 + 6_800);
    }

    #[test]
    fn jkk_and_jkm_are_required_together() {
        assert_eq!(Programs::from_list(&[Program::Jkk]), Err(ProgramsError::MissingJkkOrJkm));
        assert_eq!(Programs::from_list(&[Program::Jkm, Program::Jht]), Err(ProgramsError::MissingJkkOrJkm));
        assert_eq!(Programs::from_column("JKK,JKM,JHT").list(), vec![Program::Jkk, Program::Jkm, Program::Jht]);
        assert_eq!(Programs::from_column(&Programs { jht: false }.to_column()), Programs { jht: false });
    }

    #[test]
    fn overlap_is_inclusive_and_open_ended() {
        assert!(overlaps(day(2023, 1, 1), Some(day(2023, 12, 31)), day(2023, 12, 31), None));
        assert!(!overlaps(day(2023, 1, 1), Some(day(2023, 12, 30)), day(2023, 12, 31), None));
        assert!(overlaps(day(2020, 1, 1), None, day(2030, 1, 1), Some(day(2030, 1, 2))));
        assert!(!overlaps(day(2024, 1, 1), None, day(2022, 1, 1), Some(day(2023, 12, 31))));
    }

    #[test]
    fn months_between_counts_touched_months() {
        assert_eq!(months_between(day(2020, 1, 31), day(2022, 12, 1)), 36);
        assert_eq!(months_between(day(2020, 1, 1), day(2020, 1, 1)), 1);
        assert_eq!(months_between(day(2020, 2, 1), day(2020, 1, 1)), 0);
    }

    #[test]
    fn months_count_any_touched_month() {
        assert_eq!(months_in_year(day(2023, 1, 1), Some(day(2023, 12, 31)), 2023), 12);
        assert_eq!(months_in_year(day(2023, 7, 31), Some(day(2023, 8, 1)), 2023), 2);
        assert_eq!(months_in_year(day(2022, 3, 5), None, 2023), 12);
        assert_eq!(months_in_year(day(2022, 3, 5), Some(day(2023, 2, 1)), 2023), 2);
        assert_eq!(months_in_year(day(2022, 3, 5), Some(day(2022, 12, 31)), 2023), 0);
        assert_eq!(months_in_year(day(2024, 1, 1), None, 2023), 0);
        assert_eq!(months_in_year(day(2023, 6, 20), Some(day(2023, 6, 20)), 2023), 1);
    }
}
