//! Use cases: each takes the app state and the caller, enforces the rules and access, and writes.
//! Resolvers only translate GraphQL to these calls.
pub mod access;
pub mod api_keys;
pub mod audit;
pub mod audit_log;
pub mod audit_sealer;
pub mod coverage;
pub mod export;
pub mod figure_feeds;
pub mod import;
pub mod pagination;
pub mod payouts;
pub mod personal_data;
pub mod probes;
pub mod publishing;
pub mod sheet;
mod state;
pub mod statistics;
pub mod subscriptions;
pub mod targets;
pub mod template;
pub mod workbook;
pub mod workers;

pub use state::AppState;

use chrono::{Datelike, NaiveDate, Utc};

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// Today in Indonesia's western time (WIB, UTC+7), where the regencies' days begin.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(7)).date_naive()
}

/// Dates the system stores must be plausible: 1900..=2100.
pub fn check_date(field: &'static str, date: NaiveDate) -> AppResult<NaiveDate> {
    if (1900..=2100).contains(&date.year()) { Ok(date) } else { Err(AppError::bad_input(field, Msg::DateRange)) }
}

/// Years that statistics and filters accept.
pub fn check_year(field: &'static str, year: i32) -> AppResult<i32> {
    if (1900..=2100).contains(&year) { Ok(year) } else { Err(AppError::bad_input(field, Msg::YearRange)) }
}

/// Trims a free-text input and bounds its length (in characters); control characters are refused.
pub fn clean_text(field: &'static str, text: &str, max_chars: usize) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(field, Msg::Empty { field }));
    }
    if text.chars().count() > max_chars {
        return Err(AppError::bad_input(field, Msg::TooLong { field, max: max_chars }));
    }
    if text.chars().any(char::is_control) {
        return Err(AppError::bad_input(field, Msg::ControlCharacters { field }));
    }
    Ok(text.to_owned())
}

/// A person's name (a worker's, an heir's): `clean_text`, and not starting like a spreadsheet
/// formula. Exports make such cells inert, but names also reach dashboards, which download their
/// own spreadsheets, and nobody's name starts with `=`, `+` or `@`. A leading `-` is left to the
/// exports (it is the one OWASP character a text may start with), tabs and carriage returns are
/// control characters.
pub fn clean_name(field: &'static str, text: &str, max_chars: usize) -> AppResult<String> {
    let text = clean_text(field, text, max_chars)?;
    if text.starts_with(['=', '+', '@']) {
        return Err(AppError::bad_input(field, Msg::FormulaStart { field }));
    }
    Ok(text)
}

/// The UTC instant at which `day` begins in WIB (UTC+7).
pub fn wib_midnight(day: NaiveDate) -> chrono::DateTime<Utc> {
    use chrono::TimeZone;
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()) - chrono::Duration::hours(7)
}

pub fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    // Years are checked to 1900..=2100 before they reach here, so both dates exist.
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
    (first, last)
}
