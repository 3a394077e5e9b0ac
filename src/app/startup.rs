//! What the server and every command do first: open the database, bring its schema up to date,
//! and rebuild the coverage summaries when a migration asked for it.
use sea_orm::{DatabaseConnection, DbErr};

use crate::config::DatabaseArgs;
use crate::db;
use crate::stats::rebuild;

/// Connects as the command line says, runs pending migrations and the summaries' rebuild a
/// migration asked for, before the database is used; one process at a time.
pub async fn open_database(args: &DatabaseArgs) -> Result<DatabaseConnection, DbErr> {
    let connection = db::connect_with(args).await?;
    db::one_migration_at_a_time(&connection, async {
        db::migrate(&connection).await?;
        rebuild::rebuild_if_requested(&connection).await
    })
    .await?;
    Ok(connection)
}

/// `open_database` with the default settings (a SQLite file's folder is created when needed).
pub async fn open_url(url: &str) -> Result<DatabaseConnection, DbErr> {
    open_database(&DatabaseArgs::for_url(url)).await
}
