//! Coverage statistics from maintained summaries: tables that every mutation keeps current in its
//! own transaction, so that a dashboard reads a few rows per area and year instead of scanning
//! workers and coverage periods (10 million workers answer like 10).
//!
//! - `tally`: what rows count, without I/O (the definitions of docs/domain.md, in one place);
//! - `summary`: the summary tables (changes, replacement, read-back);
//! - `figures`: the read side, only the figure groups a query selects;
//! - `rebuild`: recomputation from the raw rows, `stats rebuild` and `stats verify`.
//!
//! Definitions (docs/domain.md): a worker is covered in year Y by regency R when one of its coverage
//! periods with R overlaps Y; each worker counts once per area and year. Districts count the
//! covered workers whose domicile district it is, for the periods its own regency pays.
pub mod disclosure;
pub mod figures;
pub mod publication;
pub mod rebuild;
pub mod summary;
pub mod tally;

pub use figures::{FigureGroups, Figures, StatsFigure};

use sea_orm::{ActiveEnum, DbErr};

/// A stored enum value ("FARM_LABORER") back as the enum.
pub(crate) fn parse_stored<E: ActiveEnum<Value = String>>(stored: &str) -> Result<E, DbErr> {
    E::try_from_value(&stored.to_owned()).map_err(|_| DbErr::Custom(format!("unknown stored value {stored:?}")))
}
