//! Opening the database (PostgreSQL or the embedded SQLite default) and the few SQL fragments
//! that differ between the two.
pub mod backup;
pub mod copy_text;
pub mod replica;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};

use crate::config::DatabaseArgs;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{self, Connection, PgConnection};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityName,
    EntityTrait, IdenStatic, Iterable, Statement, Value,
};

/// Runs the pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Opens the transaction that holds the advisory lock while one process migrates a PostgreSQL
/// database (1835624306: "migr"), without a statement timeout (another instance's migration may
/// take minutes). A simple query: nothing to prepare, as a pooler may not keep prepared statements.
const LOCK_MIGRATIONS: &str = "BEGIN; SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(1835624306)";

/// Runs `work` (the migrations and what they ask for) while no other process does it on this
/// database: instances started together would each find the same migrations pending, and all but
/// the first fail on what it created (or run its rebuild again). PostgreSQL: a transaction-scoped
/// advisory lock, in a transaction held open on a connection of its own outside the pool (the
/// migrations use the pool, and a pool of one would wait on itself). Transaction-scoped, not the
/// session's: behind PgBouncer in transaction mode a session lock would stay on whichever server
/// connection took it after ours is gone; this one ends with the transaction, or with the
/// connection if the process dies. SQLite: one process.
pub async fn one_migration_at_a_time<T>(
    db: &DatabaseConnection,
    work: impl Future<Output = Result<T, DbErr>>,
) -> Result<T, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return work.await;
    }
    let options = db.get_postgres_connection_pool().connect_options();
    let mut holder = PgConnection::connect_with(&options).await.map_err(sqlx_error)?;
    sqlx::raw_sql(LOCK_MIGRATIONS).execute(&mut holder).await.map_err(sqlx_error)?;
    let done = work.await;
    // The lock ends with the transaction; closing the connection would end both anyway.
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.ok();
    holder.close().await.ok();
    done
}

/// An error of sqlx used directly (a connection of our own, outside sea-orm), as sea-orm reports
/// its own: so that `AppError` tells a lost database (503) from the rest the same way.
pub fn sqlx_error(err: sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)))
}

/// A pool with the default settings and this statement timeout.
pub async fn connect(url: &str, statement_timeout_secs: u64) -> Result<DatabaseConnection, DbErr> {
    connect_with(&DatabaseArgs { statement_timeout_secs, ..DatabaseArgs::for_url(url) }).await
}

/// PostgreSQL connections by default: twice the cores, at least 4. More connections than
/// PostgreSQL has cores to run them only add context switches: on this project's 2-core machine
/// a pool of 4 served a worker page 1.4x and a worker detail 1.5x faster than a pool of 16.
pub fn default_max_connections() -> u32 {
    (2 * cores()).max(4)
}

fn cores() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32)
}

/// PostgreSQL connections for mutations by default (`--db-max-write-connections`): four times
/// the cores, at least 8. Most of a write's time is spent waiting (round trips, the commit's
/// flush), not running: 16 clients enrolling at 10 million workers on 2 cores went from 435-467/s
/// with 4 connections to 602-616/s with 8.
pub fn default_max_write_connections() -> u32 {
    (4 * cores()).max(8)
}

pub async fn connect_with(args: &DatabaseArgs) -> Result<DatabaseConnection, DbErr> {
    Database::connect(options(args)?).await
}

/// A pool that connects on first use: a read replica that is down at start is left out until
/// it answers, instead of keeping the server from starting.
pub async fn connect_lazily(args: &DatabaseArgs) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(args)?;
    options.connect_lazy(true);
    Database::connect(options).await
}

fn options(args: &DatabaseArgs) -> Result<ConnectOptions, DbErr> {
    let (url, statement_timeout_secs, max_connections) =
        (args.database_url.as_str(), args.statement_timeout_secs, args.db_max_connections);
    let mut options = ConnectOptions::new(url);
    // Ping a pooled connection only when it sat idle for a while (a server or firewall may have
    // dropped it): pinging on every checkout doubled the round trips of every request.
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_millis(args.db_acquire_timeout_ms))
        .test_before_acquire_if_idle_for(Duration::from_secs(10));
    // sqlx reports every acquire (at TRACE, which no log shows): how `/metrics` counts the
    // operations waiting for a connection (`pool_waits`).
    options
        .map_sqlx_postgres_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace))
        .map_sqlx_sqlite_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace));
    if url.starts_with("sqlite:") {
        create_sqlite_folder(url)?;
        // WAL lets readers run beside the single writer; writers wait for the write lock instead
        // of failing at once, for as long as PostgreSQL lets a statement run (SQLite has no
        // statement timeout; a statement waiting for a lock is what runs long here).
        let busy_timeout = Duration::from_secs(if statement_timeout_secs == 0 { 3600 } else { statement_timeout_secs });
        options.max_connections(max_connections.unwrap_or(8)).map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
        });
    } else {
        let timeout = format!("{}s", statement_timeout_secs);
        // Our statements are prepared once per connection with parameters, and with the default
        // plan cache mode PostgreSQL re-planned a worker page on every execution: a LIMIT or an
        // area code as a parameter makes the generic plan's estimate look worse than the custom
        // plans, so it never switched. Every statement here is an index lookup or range whose
        // best plan does not depend on the values, so the generic plan is planned once.
        options.max_connections(max_connections.unwrap_or_else(default_max_connections)).map_sqlx_postgres_opts(
            move |o| o.options([("statement_timeout", timeout.as_str()), ("plan_cache_mode", "force_generic_plan")]),
        );
    }
    Ok(options)
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

/// One write of a transaction that nothing in it reads back: SQL with `?` placeholders (an INSERT,
/// UPDATE or DELETE without RETURNING) and its values.
pub struct Write {
    pub sql: String,
    pub values: Vec<Value>,
}

/// The INSERT of `row` into its table as a `Write`, writing exactly `columns`. Each must be set in
/// `row`: one left `NotSet` is an error here, not a row written without it.
pub fn insert_write<A: ActiveModelTrait>(
    row: &A,
    columns: impl IntoIterator<Item = <A::Entity as EntityTrait>::Column>,
) -> Result<Write, DbErr> {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for column in columns {
        let value = row.get(column).into_value().ok_or_else(|| {
            DbErr::Custom(format!("{} row without its {}", A::Entity::default().table_name(), column.as_str()))
        })?;
        names.push(column.as_str());
        values.push(value);
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        A::Entity::default().table_name(),
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    Ok(Write { sql, values })
}

/// Runs `writes` in order, on PostgreSQL as few statements as the binds allow: each statement is
/// the last write of its group with the others before it as data-modifying WITH queries
/// (`WITH w0 AS (INSERT ...) INSERT ...`). Every statement is a round trip and a statement's
/// fixed costs on both sides, so the appends that end a mutation (its audit entry, its summary
/// rows) go as one. PostgreSQL does not promise an order between the parts of one statement; it
/// runs the last one, then the WITH queries, the same for every statement of one shape, so that
/// writers sending the same kinds of writes still take row locks in one order (and a deadlock
/// would be detected and refused, not waited on). Two writes of one statement must not touch the
/// same row. SQLite, in process: one after the other.
pub async fn execute_together<C: ConnectionTrait>(db: &C, writes: Vec<Write>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        for write in writes {
            db.execute_raw(statement(backend, &write.sql, write.values)).await?;
        }
        return Ok(());
    }
    let mut group: Vec<Write> = Vec::new();
    let mut binds = 0;
    for write in writes {
        if !group.is_empty() && binds + write.values.len() > binds_per_insert(backend) {
            execute_as_one(db, std::mem::take(&mut group)).await?;
            binds = 0;
        }
        binds += write.values.len();
        group.push(write);
    }
    if !group.is_empty() {
        execute_as_one(db, group).await?;
    }
    Ok(())
}

async fn execute_as_one<C: ConnectionTrait>(db: &C, group: Vec<Write>) -> Result<(), DbErr> {
    let Some(Write { sql, values }) = joined(group) else { return Ok(()) };
    db.execute_raw(statement(DbBackend::Postgres, &sql, values)).await?;
    Ok(())
}

/// `writes` as one statement: the last one, with the others as WITH queries before it, the
/// values in the order of their placeholders (None for no writes).
fn joined(mut writes: Vec<Write>) -> Option<Write> {
    let last = writes.pop()?;
    let mut sql = String::new();
    let mut values = Vec::new();
    for (n, write) in writes.into_iter().enumerate() {
        sql.push_str(if n == 0 { "WITH " } else { ", " });
        sql.push_str(&format!("w{n} AS ({})", write.sql));
        values.extend(write.values);
    }
    if !sql.is_empty() {
        sql.push(' ');
    }
    sql.push_str(&last.sql);
    values.extend(last.values);
    Some(Write { sql, values })
}

/// Bind parameters per multi-row INSERT.
pub fn binds_per_insert(backend: DbBackend) -> usize {
    match backend {
        // In process, fewer and bigger statements are faster; SQLite allows 32,766 parameters.
        DbBackend::Sqlite => 30_000,
        // Over the network, keep each statement under ~16 KB. sqlx 0.9.0 does not set TCP_NODELAY,
        // and a bigger message (several TLS records or TCP segments) often waits ~40 ms for a
        // delayed ACK: 1,000-row chunks took 5-7 s here, some sizes 20-50 s. Big prepared
        // statements also stay cached on the pooled server connection (78 MB at 30,000 binds).
        _ => 1_000,
    }
}

/// Inserts rows with multi-row INSERTs (on PostgreSQL ~80 workers or ~90 coverages each, on
/// SQLite ~2,300 or ~2,700); returns how many were inserted.
pub async fn insert_in_chunks<A, C: ConnectionTrait>(txn: &C, rows: impl IntoIterator<Item = A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
{
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    let rows_per_insert = binds_per_insert(txn.get_database_backend()) / columns;
    let mut rows = rows.into_iter();
    let mut inserted = 0;
    loop {
        let chunk: Vec<A> = rows.by_ref().take(rows_per_insert).collect();
        if chunk.is_empty() {
            return Ok(inserted);
        }
        // insert_many of an empty list executes nothing, but we never get here with one.
        inserted += A::Entity::insert_many(chunk).exec_without_returning(txn).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(sql: &str, values: &[i64]) -> Write {
        Write { sql: sql.to_owned(), values: values.iter().map(|v| Value::from(*v)).collect() }
    }

    #[test]
    fn writes_are_joined_as_with_queries_of_the_last_with_their_values_in_order() {
        let one = joined(vec![
            write("INSERT INTO a VALUES (?)", &[1]),
            write("INSERT INTO b VALUES (?, ?)", &[2, 3]),
            write("INSERT INTO c VALUES (?)", &[4]),
        ])
        .unwrap();
        assert_eq!(
            one.sql,
            "WITH w0 AS (INSERT INTO a VALUES (?)), w1 AS (INSERT INTO b VALUES (?, ?)) INSERT INTO c VALUES (?)"
        );
        assert_eq!(one.values, [1i64, 2, 3, 4].map(Value::from).to_vec());
        assert_eq!(joined(vec![write("INSERT INTO c VALUES (?)", &[4])]).unwrap().sql, "INSERT INTO c VALUES (?)");
        assert!(joined(Vec::new()).is_none());
    }
}
