//! `jaminan backup FILE`: a consistent copy of the embedded SQLite database while the server runs.
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::i18n::Line;

/// Writes a copy of the database to `path` with `VACUUM INTO`: one read transaction, so the copy
/// is the database as of one instant (writers carry on meanwhile; WAL keeps them apart), compacted,
/// and a valid database file that `serve` opens as it is. PostgreSQL has its own tools.
/// Errors are the command line's messages, in no language yet.
pub async fn backup(db: &DatabaseConnection, path: &std::path::Path) -> Result<(), Line> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Err(Line::BackupNotSqlite);
    }
    let shown = path.display().to_string();
    if path.exists() {
        return Err(Line::BackupExists { path: shown });
    }
    let target = path.to_str().ok_or_else(|| Line::PathNotUtf8 { path: shown.clone() })?;
    // A string literal, not a parameter: SQLite does not bind VACUUM INTO's file name everywhere.
    db.execute_unprepared(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .await
        .map_err(|e| Line::CannotWrite { path: shown, detail: e.to_string() })?;
    Ok(())
}
