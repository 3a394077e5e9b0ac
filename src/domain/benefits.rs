//! Benefit amounts as data with validity dates: the amount is the one in force on the incident
//! date. Amounts are whole rupiah.
use chrono::NaiveDate;

/// One version of the JKM death benefit (death not caused by work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JkmDeathBenefit {
    /// First incident date this version applies to (inclusive).
    pub valid_from: NaiveDate,
    pub lump_sum: i64,
    /// The periodic benefit, paid at once.
    pub periodic: i64,
    pub funeral: i64,
}

impl JkmDeathBenefit {
    pub fn total(&self) -> i64 {
        self.lump_sum + self.periodic + self.funeral
    }
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

/// JKM death benefit versions, oldest first. PP 82/2019 raised it from 2019-12-02.
pub const JKM_DEATH: &[JkmDeathBenefit] = &[
    JkmDeathBenefit { valid_from: date(2015, 7, 1), lump_sum: 16_200_000, periodic: 4_800_000, funeral: 3_000_000 },
    JkmDeathBenefit { valid_from: date(2019, 12, 2), lump_sum: 20_000_000, periodic: 12_000_000, funeral: 10_000_000 },
];

/// JKK death (work accident): 48 x declared monthly income + funeral + periodic benefit.
pub const JKK_DEATH_INCOME_MONTHS: i64 = 48;
pub const JKK_DEATH_FUNERAL: i64 = 10_000_000;
pub const JKK_DEATH_PERIODIC: i64 = 12_000_000;
/// The right to claim a work-accident benefit lapses this many years after the accident.
pub const WORK_ACCIDENT_CLAIM_YEARS: i32 = 5;
/// Scholarships: at most this many children per deceased worker ...
pub const SCHOLARSHIP_MAX_CHILDREN: usize = 2;
/// ... and, after a JKM (non-work) death, only with this many months of contributions.
pub const SCHOLARSHIP_JKM_MIN_MONTHS: i64 = 36;
/// Client-supplied amounts (treatment costs, scholarships) above this are typing errors.
pub const MAX_CLAIMED_AMOUNT: i64 = 10_000_000_000;
/// JKM death benefits are due within this many working days of a complete claim.
pub const JKM_PAYMENT_WORKING_DAYS: i64 = 3;

/// The JKM death benefit in force on the incident date; None before the program existed here.
pub fn jkm_death_amount(incident_on: NaiveDate) -> Option<i64> {
    JKM_DEATH.iter().rev().find(|b| b.valid_from <= incident_on).map(JkmDeathBenefit::total)
}

pub fn jkk_death_amount(declared_monthly_income: i64) -> i64 {
    JKK_DEATH_INCOME_MONTHS * declared_monthly_income + JKK_DEATH_FUNERAL + JKK_DEATH_PERIODIC
}

/// Monday to Friday between two dates (exclusive of `from`, inclusive of `to`); public holidays
/// are not modelled.
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    use chrono::{Datelike, Weekday};
    let mut days = 0;
    let mut day = from;
    while day < to {
        day = day.succ_opt().unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            days += 1;
        }
        if day == NaiveDate::MAX {
            break;
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jkm_death_amount_follows_the_regulation_in_force() {
        assert_eq!(jkm_death_amount(date(2023, 6, 1)), Some(42_000_000));
        assert_eq!(jkm_death_amount(date(2019, 12, 2)), Some(42_000_000));
        assert_eq!(jkm_death_amount(date(2019, 12, 1)), Some(24_000_000));
        assert_eq!(jkm_death_amount(date(2010, 1, 1)), None);
    }

    #[test]
    fn jkk_death_is_48_months_of_income_plus_funeral_and_periodic() {
        assert_eq!(jkk_death_amount(1_000_000), 70_000_000);
        assert_eq!(jkk_death_amount(2_500_000), 142_000_000);
    }

    #[test]
    fn working_days_skip_weekends() {
        // Friday 2023-06-16 -> Wednesday 2023-06-21: Mon, Tue, Wed.
        assert_eq!(working_days_between(date(2023, 6, 16), date(2023, 6, 21)), 3);
        assert_eq!(working_days_between(date(2023, 6, 19), date(2023, 6, 19)), 0);
        assert_eq!(working_days_between(date(2023, 6, 17), date(2023, 6, 18)), 0);
    }
}
