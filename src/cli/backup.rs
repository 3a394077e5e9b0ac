//! `jaminan backup`: a consistent copy of the SQLite database.
use std::path::Path;

use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};

pub(super) async fn run(db_args: &DatabaseArgs, file: &Path, lang: Lang) -> Result<(), String> {
    let started = std::time::Instant::now();
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    crate::db::backup::backup(&db, file).await.map_err(|e| e.text(lang))?;
    let secs = started.elapsed().as_secs_f64();
    super::out::say(Line::BackupWritten { path: file.display().to_string(), secs }.text(lang))?;
    Ok(())
}
