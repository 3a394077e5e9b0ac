//! Opening the database (PostgreSQL or the embedded SQLite default) and the few SQL fragments
//! that differ between the two.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, Statement, Value};

/// A statement running longer on PostgreSQL is cancelled (the request gets a clear error).
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 10;

/// Connects, creating the SQLite file's folder when needed, and runs pending migrations.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    open(url, DEFAULT_STATEMENT_TIMEOUT_SECS).await
}

/// As `connect_and_migrate`, with the PostgreSQL statement timeout in seconds. Summaries a
/// migration asked to rebuild are rebuilt before the database is used.
pub async fn open(url: &str, statement_timeout_secs: u64) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url, statement_timeout_secs).await?;
    Migrator::up(&db, None).await?;
    crate::stats::rebuild::rebuild_if_requested(&db).await?;
    Ok(db)
}

pub async fn connect(url: &str, statement_timeout_secs: u64) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false).connect_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        create_sqlite_folder(url)?;
        // WAL lets readers run beside the single writer; writers wait instead of failing at once.
        options.max_connections(8).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    } else {
        let timeout = format!("{}s", statement_timeout_secs);
        options
            .max_connections(16)
            .map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", timeout.as_str())]));
    }
    Database::connect(options).await
}

fn create_sqlite_folder(url: &str) -> Result<(), DbErr> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// A raw statement written with `?` placeholders, numbered `$n` for PostgreSQL.
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(ch);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
