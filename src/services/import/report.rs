//! What an import is asked to do, and what it reports: its counts and its error rows.
use std::sync::Arc;

use serde::Serialize;

use crate::error::AppError;
use crate::i18n::Msg;

/// How many error rows a GraphQL caller gets back (their total is always given).
pub const ERRORS_RETURNED: usize = 1_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check everything, write nothing (not even the audit entry).
    pub dry_run: bool,
    /// Write the good rows even when others are in error.
    pub partial: bool,
    /// Error rows kept in the report (the first ones by line).
    pub keep_errors: usize,
}

/// What an import did (or, when `written` is false, would have done).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows_read: u64,
    pub workers_registered: u64,
    /// Rows whose NIK was already registered: the worker was enrolled, not registered again.
    pub workers_known: u64,
    pub coverages_created: u64,
    /// Rows already imported (same worker, regency and start).
    pub rows_skipped: u64,
    pub rows_in_error: u64,
    pub written: bool,
    /// The first `keep_errors` error rows, in line order.
    #[serde(skip)]
    pub errors: Vec<RowError>,
    pub file_sha256: String,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file, the header being line 1.
    pub line: u64,
    /// The file's column name, when one cell is at fault.
    pub column: Option<&'static str>,
    /// An `extensions.code` of the API (BAD_USER_INPUT, CONFLICT, FORBIDDEN...).
    pub code: &'static str,
    /// In no language yet: the GraphQL report and the CLI render it in their reader's.
    pub message: Msg,
}

/// A rule's error as an error row: the column is `column`, or the rule's input field written as
/// the file names it ("startsOn" -> "starts_on").
pub(crate) fn row_error(line: u64, column: Option<&'static str>, err: &AppError) -> RowError {
    let column = column.or(match err {
        AppError::BadInput { field, .. } => {
            crate::services::sheet::COLUMNS.iter().copied().find(|c| c.replace('_', "") == field.to_lowercase())
        }
        _ => None,
    });
    RowError { line, column, code: err.code(), message: err.message() }
}

/// Reports progress: rows read so far.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;
