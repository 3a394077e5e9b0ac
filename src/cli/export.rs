//! `jaminan export enrollments`: a regency's coverage in a year, as the import reads it (CSV or
//! .xlsx); `jaminan export template`: the workbook to fill in for a regency.
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};
use crate::services::AppState;
use crate::services::export::{self, ExportFormat};
use crate::services::template;

#[derive(Subcommand)]
pub(super) enum ExportCommand {
    /// A regency's coverage in a year, in the import's format (with full NIKs), to FILE or stdout.
    Enrollments {
        #[arg(long)]
        regency: String,
        #[arg(long)]
        year: i32,
        /// csv, or xlsx (an Excel workbook: NIKs as text, dates as dates).
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// The CSV's separator: ',' or ';' (Excel set to Indonesian). Default: ';' with
        /// `--lang id`, else ','.
        #[arg(long)]
        delimiter: Option<String>,
        file: Option<PathBuf>,
    },
    /// The enrollment template (.xlsx) for a regency: Indonesian headers, NIK and membership
    /// columns as text, drop-downs of occupations and of the regency's kecamatan, an example row.
    Template {
        #[arg(long)]
        regency: String,
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    Csv,
    Xlsx,
}

pub(super) async fn run(db: &DatabaseArgs, command: ExportCommand, lang: Lang) -> Result<(), String> {
    match command {
        ExportCommand::Enrollments { regency, year, format, delimiter, file } => {
            let format = match format {
                Format::Xlsx => ExportFormat::Xlsx,
                Format::Csv => ExportFormat::Csv { delimiter: delimiter_of(delimiter.as_deref(), lang)? },
            };
            enrollments(db, &regency, year, format, file, lang).await
        }
        ExportCommand::Template { regency, file } => template(db, &regency, file, lang).await,
    }
}

fn delimiter_of(given: Option<&str>, lang: Lang) -> Result<char, String> {
    match given {
        None if lang == Lang::Id => Ok(';'),
        None => Ok(','),
        Some(",") => Ok(','),
        Some(";") => Ok(';'),
        Some(other) => Err(Line::DelimiterUnknown { given: other.to_owned() }.text(lang)),
    }
}

async fn enrollments(
    db_args: &DatabaseArgs,
    regency: &str,
    year: i32,
    format: ExportFormat,
    file: Option<PathBuf>,
    lang: Lang,
) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rows = match &file {
        Some(path) => {
            let out = std::fs::File::create(path).map_err(|e| {
                Line::CannotCreate { path: path.display().to_string(), detail: e.to_string() }.text(lang)
            })?;
            export::enrollments(&state.db, &state.areas, regency, year, format, out).await
        }
        None => {
            let out = std::io::BufWriter::new(super::out::Stdout { closed: closed.clone() });
            export::enrollments(&state.db, &state.areas, regency, year, format, out).await
        }
    };
    // A reader that took what it wanted and went (`| head`) ends the export quietly.
    if closed.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let rows = rows.map_err(|e| e.text(lang))?;
    if let Some(path) = file {
        super::out::say(Line::ExportWritten { rows, path: path.display().to_string() }.text(lang))?;
    }
    Ok(())
}

async fn template(db_args: &DatabaseArgs, regency: &str, path: PathBuf, lang: Lang) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let today = chrono::Local::now().date_naive();
    let bytes = template::enrollments(&state.areas, regency, today).map_err(|e| e.text(lang))?;
    std::fs::write(&path, bytes)
        .map_err(|e| Line::CannotWrite { path: path.display().to_string(), detail: e.to_string() }.text(lang))?;
    super::out::say(Line::TemplateWritten { path: path.display().to_string() }.text(lang))
}
