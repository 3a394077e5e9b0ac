//! The story's givens: the regency, its estimate of eligible workers, the day the rows were
//! entered, and the seed every generated value comes from.
use chrono::{DateTime, Utc};

use crate::datasets::synthetic::utc;

/// Kabupaten Tangerang: workers live here and its programs pay.
pub(super) const REGENCY: &str = "36.03";
/// BPJS's estimate of the regency's vulnerable workers (the denominator of the coverage rate).
pub(super) const ELIGIBLE_WORKERS: i64 = 248_000;
/// Changing the seed changes every generated name, NIK and date.
pub(super) const SEED: u64 = 0x3603_2023_0620;
/// When the demo rows were "entered": the morning of the Regent's report (10:00 WIB), after every
/// registration.
pub(super) const ENTERED_AT: DateTime<Utc> = utc(2023, 6, 20, 3);
