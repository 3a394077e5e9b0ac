//! What an import is asked to do, and what it reports: its counts and its error rows.
use std::sync::Arc;

use serde::Serialize;

use crate::error::AppError;
use crate::i18n::Msg;
use crate::services::sheet::COLUMNS;

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
    /// The first `keep_errors` errors, in line order (a row may have several).
    #[serde(skip)]
    pub errors: Vec<RowError>,
    pub file_sha256: String,
}

/// One error of a row that was not imported (a row may have several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file where the row starts, the header being line 1.
    pub line: u64,
    /// The column as the file's header names it ("Tanggal Mulai", "starts_on"), when one cell is
    /// at fault.
    pub column: Option<String>,
    /// What that cell holds (trimmed), when one cell is at fault and it is not empty.
    pub value: Option<String>,
    /// An `extensions.code` of the API (BAD_USER_INPUT, CONFLICT, FORBIDDEN...).
    pub code: &'static str,
    /// In no language yet: the GraphQL report and the CLI render it in their reader's.
    pub message: Msg,
}

/// A rule's error as an error row: the column is `column` (a name of `COLUMNS`, until
/// `ColumnNames::relabel` gives it the file's name), or the rule's input field written as the
/// columns are ("startsOn" -> "starts_on").
pub(crate) fn row_error(line: u64, column: Option<&'static str>, err: &AppError) -> RowError {
    let column = column.or(match err {
        AppError::BadInput { field, .. } => {
            COLUMNS.iter().copied().find(|c| c.replace('_', "") == field.to_lowercase())
        }
        _ => None,
    });
    RowError {
        line,
        column: column.map(str::to_owned),
        value: None,
        code: err.code(),
        message: for_a_file(err.message()),
    }
}

/// A rule's message as a file's reader needs it: the API's messages that name its fields
/// ("endsOn is before startsOn") said without them, since a clerk's file has columns (which the
/// error's column names) and no fields.
fn for_a_file(message: Msg) -> Msg {
    match message {
        Msg::EndsBeforeStarts => Msg::EndDateBeforeStartDate,
        Msg::EndsAfterDeathEndIt => Msg::EndsAfterDeath,
        other => other,
    }
}

/// What the file calls each of `COLUMNS` (its header cell as written), where it has them.
#[derive(Debug, Clone, Default)]
pub struct ColumnNames(pub [Option<String>; COLUMNS.len()]);

impl ColumnNames {
    /// Gives an error named by one of `COLUMNS` the file's name for that column.
    pub fn relabel(&self, error: &mut RowError) {
        let Some(column) = &error.column else { return };
        if let Some(name) = COLUMNS.iter().position(|c| c == column).and_then(|i| self.0[i].as_ref()) {
            error.column = Some(name.clone());
        }
    }
}

/// Reports progress: rows read so far.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;
