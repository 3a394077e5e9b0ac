//! `jaminan backup FILE`: a consistent copy of the embedded SQLite database while the server runs.
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// Writes a copy of the database to `path` with `VACUUM INTO`: one read transaction, so the copy
/// is the database as of one instant (writers carry on meanwhile; WAL keeps them apart), compacted,
/// and a valid database file that `serve` opens as it is. PostgreSQL has its own tools.
/// Errors are the command line's messages.
pub async fn backup(db: &DatabaseConnection, path: &std::path::Path) -> Result<(), String> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Err(
            "`backup` copies the embedded SQLite database; back up PostgreSQL with pg_dump (see the README's \"Backups\")"
                .into(),
        );
    }
    if path.exists() {
        return Err(format!("{} exists: choose a new file name", path.display()));
    }
    let target = path.to_str().ok_or_else(|| format!("{} is not valid UTF-8", path.display()))?;
    // A string literal, not a parameter: SQLite does not bind VACUUM INTO's file name everywhere.
    db.execute_unprepared(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
