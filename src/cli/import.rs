//! `jaminan import enrollments`: a regency's list of workers, from a file.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::auth::Actor;
use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};
use crate::services::AppState;
use crate::services::import::{self, ImportOptions};

#[derive(Subcommand)]
pub(super) enum ImportCommand {
    /// A regency's list of workers to enroll: registers the new ones and enrolls everyone, all or
    /// nothing. Error rows are written to FILE's name with `.errors.csv`, next to it.
    Enrollments {
        file: PathBuf,
        /// The paying regency, e.g. 36.03.
        #[arg(long)]
        regency: String,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the good rows even when others are in error.
        #[arg(long)]
        partial: bool,
    },
}

pub(super) async fn run(db: &DatabaseArgs, command: ImportCommand, lang: Lang) -> Result<(), String> {
    let ImportCommand::Enrollments { file, regency, dry_run, partial } = command;
    let options = ImportOptions { dry_run, partial, keep_errors: usize::MAX };
    enrollments(db, &file, &regency, options, lang).await
}

async fn enrollments(
    db_args: &DatabaseArgs,
    path: &Path,
    regency: &str,
    options: ImportOptions,
    lang: Lang,
) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let file = std::fs::File::open(path)
        .map_err(|e| Line::CannotOpen { path: path.display().to_string(), detail: e.to_string() }.text(lang))?;
    // Drawn on a terminal only (indicatif hides itself otherwise).
    let progress = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {elapsed} {human_pos} rows read").map_err(|e| e.to_string())?,
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let bar = progress.clone();
    let caller = Some(Actor::command_line());
    let source = Box::new(std::io::BufReader::new(file));
    let report = import::import_enrollments(
        &state,
        &caller,
        regency,
        source,
        options,
        Arc::new(move |rows| bar.set_position(rows)),
    )
    .await
    .map_err(|e| e.text(lang));
    // The notification of the import's change, for the subscribers of the running servers: sent
    // after the commit by a task, which the process must not end before.
    state.live.flush(Duration::from_secs(5)).await;
    progress.finish_and_clear();
    let report = report?;
    let counts = Line::ImportCounts {
        read: report.rows_read,
        registered: report.workers_registered,
        known: report.workers_known,
        created: report.coverages_created,
        skipped: report.rows_skipped,
        in_error: report.rows_in_error,
    };
    super::out::say(counts.text(lang))?;
    let errors_path = errors_file(path);
    if report.errors.is_empty() {
        // An error file of an earlier run would describe rows that are now fine.
        let _ = std::fs::remove_file(&errors_path);
    } else {
        write_errors(&errors_path, &report.errors, lang).map_err(|e| {
            Line::CannotWrite { path: errors_path.display().to_string(), detail: e.to_string() }.text(lang)
        })?;
        super::out::say(Line::ErrorRowsWritten { path: errors_path.display().to_string() }.text(lang))?;
    }
    let outcome = if report.written {
        Line::ImportWritten { sha256: report.file_sha256.clone() }
    } else if options.dry_run {
        Line::DryRun
    } else if report.rows_in_error > 0 && !options.partial {
        Line::NothingWrittenErrors
    } else {
        Line::NothingToWrite
    };
    super::out::say(outcome.text(lang))?;
    if report.rows_in_error > 0 {
        return Err(Line::RowsInError { count: report.rows_in_error }.text(lang));
    }
    Ok(())
}

/// `list.csv` -> `list.errors.csv`, in the same folder.
fn errors_file(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    path.with_file_name(format!("{stem}.errors.csv"))
}

/// The header stays as it is (programs read the file); the messages are in `lang`. Messages
/// repeat what the rows held, so the file is written as exports are (formulas made inert).
fn write_errors(path: &Path, errors: &[import::RowError], lang: Lang) -> std::io::Result<()> {
    let mut out = crate::services::sheet::SheetWriter::new(std::fs::File::create(path)?);
    out.write_row(["line", "column", "value", "code", "message"])?;
    for error in errors {
        let message = error.message.text(lang);
        let (column, value) = (error.column.as_deref().unwrap_or(""), error.value.as_deref().unwrap_or(""));
        out.write_row([error.line.to_string().as_str(), column, value, error.code, &message])?;
    }
    out.flush()
}
