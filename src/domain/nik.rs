//! NIK (Nomor Induk Kependudukan): 16 digits `PP RR SS DDMMYY NNNN` = province, regency and
//! district of first registration, birth day (+40 for women), month, 2-digit year, serial.
//! There is no check digit; a NIK says nothing about where its holder lives now.
use chrono::{Datelike, NaiveDate};

use super::types::Gender;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nik {
    /// Province of first registration, e.g. "36".
    pub province_code: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
}

/// Why a string is not a valid NIK; the message is safe to show (it never repeats the NIK).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    #[error("a NIK has exactly 16 digits")]
    Format,
    #[error("the NIK's serial number 0000 is never issued")]
    Serial,
    #[error("the NIK does not encode a real birth date")]
    BirthDate,
}

pub fn is_nik_shaped(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a NIK given today's date (the century is the latest one that puts the birth date not in
/// the future). Whether the province code exists is checked against the reference areas by the
/// caller.
pub fn parse(text: &str, today: NaiveDate) -> Result<Nik, NikError> {
    if !is_nik_shaped(text) {
        return Err(NikError::Format);
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().map_err(|_| NikError::Format);
    if &text[12..16] == "0000" {
        return Err(NikError::Serial);
    }
    let raw_day = number(6..8)?;
    let (gender, day) = if raw_day > 40 { (Gender::Female, raw_day - 40) } else { (Gender::Male, raw_day) };
    let month = number(8..10)?;
    let yy = number(10..12)? as i32;
    let this_century = today.year() - today.year().rem_euclid(100);
    let birth_date = [this_century + yy, this_century - 100 + yy]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| *date <= today)
        .ok_or(NikError::BirthDate)?;
    Ok(Nik { province_code: text[0..2].to_owned(), gender, birth_date })
}

/// What callers without the right to see a NIK get: first 6 and last 4 digits kept.
pub fn mask(nik: &str) -> String {
    match (nik.get(..6), nik.get(nik.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if nik.len() == 16 => format!("{head}******{tail}"),
        _ => "*".repeat(nik.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn parses_a_man_born_in_the_previous_century() {
        let nik = parse("3603121505850001", day(2026, 11, 24)).unwrap();
        assert_eq!(nik.province_code, "36");
        assert_eq!(nik.gender, Gender::Male);
        assert_eq!(nik.birth_date, day(1985, 5, 15));
    }

    #[test]
    fn day_plus_forty_is_a_woman() {
        let nik = parse("3603125505010002", day(2026, 11, 24)).unwrap();
        assert_eq!(nik.gender, Gender::Female);
        assert_eq!(nik.birth_date, day(2001, 5, 15));
    }

    #[test]
    fn century_is_the_latest_not_in_the_future() {
        // 24-12-26 is after "today" in 2026, so it must be 1926.
        assert_eq!(parse("3603122412260001", day(2026, 11, 24)).unwrap().birth_date, day(1926, 12, 24));
        assert_eq!(parse("3603122411260001", day(2026, 11, 24)).unwrap().birth_date, day(2026, 11, 24));
    }

    #[test]
    fn rejects_bad_shapes_dates_and_serials() {
        let today = day(2026, 11, 24);
        assert_eq!(parse("360312150585000", today), Err(NikError::Format));
        assert_eq!(parse("36031215058500011", today), Err(NikError::Format));
        assert_eq!(parse("36031215058500a1", today), Err(NikError::Format));
        assert_eq!(parse("３６03121505850001", today), Err(NikError::Format));
        assert_eq!(parse("3603121505850000", today), Err(NikError::Serial));
        assert_eq!(parse("3603123202850001", today), Err(NikError::BirthDate)); // 32 Feb
        assert_eq!(parse("3603127102850001", today), Err(NikError::BirthDate)); // 31+40 Feb
        assert_eq!(parse("3603120013850001", today), Err(NikError::BirthDate)); // month 13
        assert_eq!(parse("3603120001850001", today), Err(NikError::BirthDate)); // day 0
        assert_eq!(parse("3603122902010001", today), Err(NikError::BirthDate)); // 29 Feb 2001 / 1901
        assert!(parse("3603122902000001", today).is_ok()); // 29 Feb 2000
    }

    #[test]
    fn masks_all_but_first_six_and_last_four() {
        assert_eq!(mask("3603121505850001"), "360312******0001");
        assert_eq!(mask("123"), "***");
    }
}
