//! Bulk enrollment: a regency's yearly list of workers (CSV, see `file`, or an Excel workbook,
//! see `xlsx`, which gives `file` the same rows) registered and enrolled
//! in one transaction, with exactly the rules of registerWorker and enrollWorker per row.
//!
//! Set-based, never a round trip per row:
//! 1. `file` reads and checks each row on a blocking thread while the good rows stream into a
//!    staging table (COPY on PostgreSQL, multi-row INSERTs on SQLite);
//! 2. `staging` asks the database, in two statements, which NIKs are known (with their coverage)
//!    and which membership numbers are taken; `decide` rules on those rows;
//! 3. two INSERT ... SELECT statements write the new workers and the coverage, then one audit
//!    entry and the change to the statistics, in the same transaction.
//!
//! All or nothing unless `partial`: an error row rolls everything back. Nothing is half-written
//! whatever happens: the writes are one transaction, and the staging table is temporary.
mod decide;
pub mod file;
mod lines;
mod report;
mod staging;
mod xlsx;

pub use report::{ERRORS_RETURNED, ImportOptions, ImportReport, Progress, RowError};

use std::io::Read;
use std::sync::Arc;

use sea_orm::{DatabaseTransaction, DbBackend, TransactionTrait};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::auth::{Actor, Caller, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Changes;
use crate::services::AppState;
use crate::services::access::{require_reach, require_role};
use crate::services::audit::{self, AuditEntity};
use crate::services::probes::{self, HiddenWorker};
use crate::stats::summary;
use file::{Context, Enrollment, Reading};

/// Imports `source` (CSV or .xlsx) as enrollments paid by `regency_code`. The caller needs OPERATOR and
/// the regency in scope; each new worker's domicile must be in scope too (as for registerWorker).
pub async fn import_enrollments(
    state: &AppState,
    caller: &Caller,
    regency_code: &str,
    source: Box<dyn Read + Send>,
    options: ImportOptions,
    progress: Progress,
) -> AppResult<ImportReport> {
    let actor = require_role(caller, Role::Operator)?.clone();
    let regency =
        state.areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    require_reach(&actor, &regency.code)?;
    if !options.dry_run {
        state.throttle.check_probes_left(actor.key_id).await?;
    }
    let context = Arc::new(Context { areas: state.areas.clone(), actor, regency_code: regency.code.clone() });

    let (tx, rows) = mpsc::channel::<Vec<Enrollment>>(4);
    let reader_context = context.clone();
    let reader = tokio::task::spawn_blocking(move || {
        read_file(
            source,
            &reader_context,
            options.keep_errors,
            |chunk| tx.blocking_send(chunk).is_ok(),
            |n| progress(n),
        )
    });
    let read = async move { reader.await.map_err(|e| AppError::Internal(format!("import reader: {e}")))? };
    match state.db.get_database_backend() {
        DbBackend::Postgres => {
            let session = staging::postgres_session(state).await?;
            let staged = staging::stage_postgres(&session, rows).await;
            let reading = settle(read.await, staged)?;
            let db = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(session);
            let txn = db.begin().await?;
            let applied = apply(&txn, state, &context, reading, options).await;
            let report = finish(state, &context.actor, txn, applied).await;
            let _ = db.close().await;
            report
        }
        _ => {
            let txn = state.db.begin().await?;
            let staged = staging::stage_sqlite(&txn, rows).await;
            let reading = settle(read.await, staged)?;
            let applied = apply(&txn, state, &context, reading, options).await;
            finish(state, &context.actor, txn, applied).await
        }
    }
}

/// Reads the file as a workbook when it is one (by its content: a ZIP archive), else as CSV.
fn read_file(
    source: impl Read,
    context: &Context,
    keep_errors: usize,
    send: impl FnMut(Vec<Enrollment>) -> bool,
    progress: impl FnMut(u64),
) -> AppResult<Reading> {
    let mut source = file::source(source);
    if !xlsx::is_zip(&mut source)? {
        return file::read_csv(source, context, keep_errors, send, progress);
    }
    let (mut reading, sha256) =
        xlsx::read(source, |rows| file::read_records(rows, context, keep_errors, send, progress))?;
    reading.sha256 = sha256;
    Ok(reading)
}

/// The outcome of reading and staging together. The file's own error (header, I/O) explains a
/// failed staging best, unless the reader only stopped because the staging had (a lost database
/// connection, say).
fn settle(read: AppResult<file::Reading>, staged: AppResult<()>) -> AppResult<file::Reading> {
    match (read, staged) {
        (Ok(reading), Ok(())) => Ok(reading),
        (Err(err), Err(staging)) if file::is_abandoned(&err) => Err(staging),
        (Err(err), _) | (Ok(_), Err(err)) => Err(err),
    }
}

/// What `apply` decided and wrote (or would have written).
struct Applied {
    report: ImportReport,
    changes: Changes,
    /// Workers out of the caller's sight that rows met: audited whatever becomes of the import
    /// (in its transaction when it is written).
    hidden: Vec<HiddenWorker>,
    /// Set when the key's probe budget could not hold them: the whole import is refused.
    refused: Option<AppError>,
}

/// Commits what `apply` wrote, telling subscribers; anything else rolls back, and the hidden
/// workers the rows met are audited on their own.
async fn finish(
    state: &AppState,
    actor: &Actor,
    txn: DatabaseTransaction,
    applied: AppResult<Applied>,
) -> AppResult<ImportReport> {
    let Applied { report, changes, hidden, refused } = applied?;
    if report.written {
        state.live.commit(txn, changes).await?;
        return Ok(report);
    }
    txn.rollback().await?;
    probes::record_alone(state, actor, OPERATION, &hidden).await?;
    match refused {
        Some(err) => Err(err),
        None => Ok(report),
    }
}

/// The operation's name in the audit log.
const OPERATION: &str = "importEnrollments";

/// What the audit log keeps of an import: no row, no NIK, the file by its hash.
#[derive(Serialize)]
struct ImportAudit<'a> {
    regency_code: &'a str,
    partial: bool,
    #[serde(flatten)]
    report: &'a ImportReport,
}

/// Decides on the staged rows against the database and writes them (or rolls back).
async fn apply(
    txn: &DatabaseTransaction,
    state: &AppState,
    context: &Context,
    reading: Reading,
    options: ImportOptions,
) -> AppResult<Applied> {
    let Reading { rows_read, errors: file_errors, rows_in_error: file_errors_total, mut tally, sha256, columns } =
        reading;
    let base_id = staging::lock_for_writes(txn).await?;
    let mut decided = decide::against_database(txn, context, &mut tally, options.keep_errors, options.dry_run).await?;
    let hidden = std::mem::take(&mut decided.hidden);
    decided.errors.iter_mut().for_each(|error| columns.relabel(error));
    // Each row that met a hidden worker costs what registerWorker's refusal costs; past the
    // budget the import answers nothing about its rows.
    if let Err(limited) = state.throttle.probes(context.actor.key_id, hidden.len()).await {
        let report = ImportReport { rows_read, file_sha256: sha256, ..ImportReport::default() };
        return Ok(Applied { report, changes: Changes::default(), hidden, refused: Some(limited) });
    }
    let rows_in_error = file_errors_total + decided.errors_total;
    let mut report = ImportReport {
        rows_read,
        workers_known: decided.enrolled_known,
        rows_skipped: decided.skipped,
        rows_in_error,
        file_sha256: sha256,
        errors: merge_by_line(file_errors, decided.errors, options.keep_errors),
        ..ImportReport::default()
    };
    let staged = rows_read - file_errors_total;
    let enrolled = staged - decided.errors_total - decided.skipped;
    report.coverages_created = enrolled;
    report.workers_registered = enrolled - decided.enrolled_known;
    // Nothing to do (a file imported before) writes nothing, not even an audit entry.
    let nothing_to_do = report.coverages_created == 0;
    if options.dry_run || nothing_to_do || (rows_in_error > 0 && !options.partial) {
        return Ok(Applied { report, changes: Changes::default(), hidden, refused: None });
    }
    staging::write_decisions(txn, &decided.decisions).await?;
    let (workers, coverages) = staging::insert_rows(txn, &context.regency_code, base_id).await?;
    if (workers, coverages) != (report.workers_registered, report.coverages_created) {
        return Err(AppError::Internal(format!(
            "import wrote {workers} workers and {coverages} coverages, expected {} and {}",
            report.workers_registered, report.coverages_created
        )));
    }
    report.written = true;
    let audited = ImportAudit { regency_code: &context.regency_code, partial: options.partial, report: &report };
    audit::record(txn, &context.actor, OPERATION, AuditEntity::EnrollmentImport, 0, None, Some(&audited)).await?;
    probes::record(txn, &context.actor, OPERATION, &hidden).await?;
    let tally = tally.without_zeros();
    summary::add(txn, &tally).await?;
    Ok(Applied { report, changes: Changes::stats(&tally), hidden: Vec::new(), refused: None })
}

/// The first `keep` of two lists sorted by line, merged.
fn merge_by_line(a: Vec<RowError>, b: Vec<RowError>, keep: usize) -> Vec<RowError> {
    let mut all = a;
    all.extend(b);
    all.sort_by_key(|e| e.line);
    all.truncate(keep);
    all
}
