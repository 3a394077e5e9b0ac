//! `jaminan export enrollments`: a regency's coverage in a year, as the import reads it.
use std::path::PathBuf;

use clap::Subcommand;

use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};
use crate::services::AppState;
use crate::services::export;

#[derive(Subcommand)]
pub(super) enum ExportCommand {
    /// A regency's coverage in a year, in the import's format (with full NIKs), to FILE or stdout.
    Enrollments {
        #[arg(long)]
        regency: String,
        #[arg(long)]
        year: i32,
        file: Option<PathBuf>,
    },
}

pub(super) async fn run(db: &DatabaseArgs, command: ExportCommand, lang: Lang) -> Result<(), String> {
    let ExportCommand::Enrollments { regency, year, file } = command;
    enrollments(db, &regency, year, file, lang).await
}

async fn enrollments(
    db_args: &DatabaseArgs,
    regency: &str,
    year: i32,
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
            export::enrollments(&state.db, &state.areas, regency, year, out).await
        }
        None => {
            let out = std::io::BufWriter::new(super::out::Stdout { closed: closed.clone() });
            export::enrollments(&state.db, &state.areas, regency, year, out).await
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
