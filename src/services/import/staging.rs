//! The import's SQL: a temporary staging table filled while the file is read, the two questions
//! asked of the database about it, and the INSERT ... SELECT statements that write it.
//!
//! Staging rows carry the id their worker gets if it is new: on PostgreSQL a `nextval` taken as
//! the row arrives (the sequence is shared with registerWorker), on SQLite the highest worker id
//! under the write lock plus the line number. Coverage rows then need no second look-up by NIK.
use futures_util::StreamExt;
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, StreamTrait, Value};
use tokio::sync::mpsc;

use super::file::Enrollment;
use crate::db::copy_text::{Field, line};
use crate::db::{binds_per_insert, statement};
use crate::domain::coverage_period::Programs;
use crate::domain::types::WorkerStatus;
use crate::entities::{coverage, worker};
use crate::error::{AppError, AppResult};
use crate::services::AppState;
use crate::services::coverage::Terms;

/// The staged columns, in COPY order (`new_id` comes from its default on PostgreSQL).
const COLUMNS: [&str; 15] = [
    "line",
    "nik",
    "full_name",
    "gender",
    "birth_date",
    "occupation",
    "regency_code",
    "district_code",
    "membership_number",
    "funding_source",
    "programs",
    "declared_monthly_income",
    "monthly_premium",
    "starts_on",
    "ends_on",
];

fn create_tables(backend: DbBackend, worker_sequence: Option<&str>) -> String {
    let new_id = match worker_sequence {
        Some(sequence) => format!("new_id BIGINT NOT NULL DEFAULT nextval('{sequence}')"),
        None => "new_id BIGINT".into(),
    };
    let key = match backend {
        // INTEGER PRIMARY KEY is SQLite's rowid: lookups by line without another index.
        DbBackend::Sqlite => "INTEGER PRIMARY KEY",
        _ => "BIGINT PRIMARY KEY",
    };
    format!(
        "CREATE TEMP TABLE import_row (line BIGINT NOT NULL, {new_id}, nik TEXT NOT NULL, full_name TEXT NOT NULL, \
         gender TEXT NOT NULL, birth_date DATE NOT NULL, occupation TEXT NOT NULL, regency_code TEXT NOT NULL, \
         district_code TEXT NOT NULL, membership_number TEXT, funding_source TEXT NOT NULL, programs TEXT NOT NULL, \
         declared_monthly_income BIGINT NOT NULL, monthly_premium BIGINT NOT NULL, starts_on DATE NOT NULL, \
         ends_on DATE); \
         CREATE TEMP TABLE import_decision (line {key}, worker_id BIGINT, action TEXT NOT NULL)"
    )
}

/// PostgreSQL: a connection of the import's own, outside the pool that serves requests, so that the
/// staging table lives in its session and COPY can fill it. No statement timeout (the request's
/// own timeout bounds an import), and a vanished client is noticed within a second.
pub async fn postgres_session(state: &AppState) -> AppResult<PgPool> {
    let requests = state.db.get_postgres_connection_pool();
    let options = requests.connect_options().as_ref().clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        // An unreachable database fails the import as soon as it fails requests.
        .acquire_timeout(requests.options().get_acquire_timeout())
        .max_connections(1)
        .min_connections(0)
        .connect_with(options)
        .await
        .map_err(sqlx_error)?;
    sqlx::raw_sql(
        "SET statement_timeout = 0; SET client_connection_check_interval = '1s'; SET work_mem = '64MB'; \
         SET plan_cache_mode = auto",
    )
    .execute(&pool)
    .await
    .map_err(sqlx_error)?;
    Ok(pool)
}

/// As the pool's errors are: a lost connection is SERVICE_UNAVAILABLE, the rest internal.
fn sqlx_error(err: sqlx::Error) -> AppError {
    AppError::from(crate::db::sqlx_error(err))
}

/// Fills the staging table with COPY as the rows arrive.
pub async fn stage_postgres(pool: &PgPool, mut rows: mpsc::Receiver<Vec<Enrollment>>) -> AppResult<()> {
    let mut connection = pool.acquire().await.map_err(sqlx_error)?;
    let sequence: String = sqlx::query_scalar("SELECT pg_get_serial_sequence('worker', 'id')")
        .fetch_one(&mut *connection)
        .await
        .map_err(sqlx_error)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(create_tables(DbBackend::Postgres, Some(&sequence))))
        .execute(&mut *connection)
        .await
        .map_err(sqlx_error)?;
    let copy_statement = format!("COPY import_row ({}) FROM STDIN", COLUMNS.join(", "));
    let mut copy = connection.copy_in_raw(&copy_statement).await.map_err(sqlx_error)?;
    let mut text = String::new();
    while let Some(chunk) = rows.recv().await {
        text.clear();
        for row in &chunk {
            copy_row(&mut text, row);
        }
        if let Err(err) = copy.send(text.as_bytes()).await {
            let _ = copy.abort(err.to_string()).await;
            return Err(sqlx_error(err));
        }
    }
    copy.finish().await.map_err(sqlx_error)?;
    // Temporary tables get no automatic statistics; the planner needs them for the joins.
    sqlx::raw_sql("ANALYZE import_row").execute(&mut *connection).await.map_err(sqlx_error)?;
    Ok(())
}

fn copy_row(out: &mut String, row: &Enrollment) {
    let fields: [&dyn Field; 15] = [
        &(row.line as i64),
        &row.nik.as_str(),
        &row.full_name.as_str(),
        &row.gender.to_value(),
        &row.birth_date,
        &row.occupation.to_value(),
        &row.regency_code.as_str(),
        &row.district_code.as_str(),
        &row.membership_number,
        &row.funding_source.to_value(),
        &row.terms.programs.to_column(),
        &row.terms.declared_monthly_income,
        &row.terms.monthly_premium(),
        &row.terms.starts_on,
        &row.terms.ends_on,
    ];
    line(out, &fields);
}

/// SQLite: the staging table inside the import's transaction, filled with multi-row INSERTs.
pub async fn stage_sqlite(txn: &DatabaseTransaction, mut rows: mpsc::Receiver<Vec<Enrollment>>) -> AppResult<()> {
    // A temporary table outlives a transaction on its pooled connection: start clean.
    txn.execute_unprepared("DROP TABLE IF EXISTS temp.import_row; DROP TABLE IF EXISTS temp.import_decision").await?;
    txn.execute_unprepared(&create_tables(DbBackend::Sqlite, None)).await?;
    let rows_per_statement = binds_per_insert(DbBackend::Sqlite) / COLUMNS.len();
    let marks = format!("({})", vec!["?"; COLUMNS.len()].join(", "));
    while let Some(chunk) = rows.recv().await {
        for part in chunk.chunks(rows_per_statement) {
            let values: Vec<Value> = part.iter().flat_map(row_values).collect();
            let sql = format!(
                "INSERT INTO import_row ({}) VALUES {}",
                COLUMNS.join(", "),
                vec![marks.as_str(); part.len()].join(", ")
            );
            txn.execute_raw(statement(DbBackend::Sqlite, &sql, values)).await?;
        }
    }
    Ok(())
}

fn row_values(row: &Enrollment) -> [Value; 15] {
    [
        (row.line as i64).into(),
        row.nik.clone().into(),
        row.full_name.clone().into(),
        row.gender.to_value().into(),
        row.birth_date.into(),
        row.occupation.to_value().into(),
        row.regency_code.clone().into(),
        row.district_code.clone().into(),
        row.membership_number.clone().into(),
        row.funding_source.to_value().into(),
        row.terms.programs.to_column().into(),
        row.terms.declared_monthly_income.into(),
        row.terms.monthly_premium().into(),
        row.terms.starts_on.into(),
        row.terms.ends_on.into(),
    ]
}

/// Takes the locks the decisions rely on and returns the base of new worker ids (SQLite). On
/// SQLite a first write takes the database's write lock, so that nothing changes between the
/// decisions and the writes; on PostgreSQL the known workers are locked as they are read, and a
/// NIK registered meanwhile by someone else fails the import on the unique index (CONFLICT).
pub async fn lock_for_writes(txn: &DatabaseTransaction) -> AppResult<i64> {
    if backend(txn) != DbBackend::Sqlite {
        return Ok(0);
    }
    txn.execute_unprepared("UPDATE worker SET id = id WHERE id = -1").await?;
    let row = txn
        .query_one_raw(statement(DbBackend::Sqlite, "SELECT COALESCE(MAX(id), 0) AS base FROM worker", vec![]))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "base")).transpose()?.unwrap_or(0))
}

fn backend(txn: &DatabaseTransaction) -> DbBackend {
    ConnectionTrait::get_database_backend(txn)
}

/// The staged columns as `s_<column>`, for reading a staged row back.
fn staged_columns() -> String {
    COLUMNS.iter().map(|c| format!("s.{c} AS s_{c}")).collect::<Vec<_>>().join(", ")
}

fn prefixed<C: sea_orm::Iterable + sea_orm::IdenStatic>(table: &str, prefix: &str) -> String {
    C::iter().map(|c| format!("{table}.{0} AS {prefix}{0}", c.as_str())).collect::<Vec<_>>().join(", ")
}

/// Staged rows whose membership number belongs to a worker with another NIK, with that worker.
pub async fn taken_membership_numbers(txn: &DatabaseTransaction) -> AppResult<Vec<(Enrollment, worker::Model)>> {
    let sql = format!(
        "SELECT {}, {} FROM import_row s JOIN worker w ON w.membership_number = s.membership_number \
         WHERE s.membership_number IS NOT NULL AND w.nik <> s.nik ORDER BY s.line",
        staged_columns(),
        prefixed::<worker::Column>("w", "w_"),
    );
    let rows = txn.query_all_raw(statement(backend(txn), &sql, vec![])).await?;
    rows.iter()
        .map(|result| Ok((staged(result)?, sea_orm::FromQueryResult::from_query_result(result, "w_")?)))
        .collect()
}

/// Staged rows of new workers (NIK not registered) whose domicile lies outside `scope` (a
/// province or regency code): registerWorker's rule.
pub async fn new_outside_scope(txn: &DatabaseTransaction, scope: &str) -> AppResult<Vec<Enrollment>> {
    let sql = format!(
        "SELECT {} FROM import_row s WHERE s.regency_code <> ? AND s.regency_code NOT LIKE ? \
         AND NOT EXISTS (SELECT 1 FROM worker w WHERE w.nik = s.nik) ORDER BY s.line",
        staged_columns()
    );
    let values = vec![scope.into(), format!("{scope}.%").into()];
    let rows = txn.query_all_raw(statement(backend(txn), &sql, values)).await?;
    rows.iter().map(staged).collect()
}

/// A staged row whose NIK is registered, with the worker and all its coverage periods.
pub struct Known {
    pub row: Enrollment,
    pub worker: worker::Model,
    pub coverages: Vec<coverage::Model>,
}

/// Calls `each` with every staged row whose NIK is registered, in line order, streaming (a file
/// of known workers may be as long as the file). On PostgreSQL the workers are locked for the
/// transaction, as enrollWorker locks its worker.
pub async fn each_known(txn: &DatabaseTransaction, mut each: impl FnMut(Known) -> AppResult<()>) -> AppResult<()> {
    let backend = backend(txn);
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE OF w" } else { "" };
    let sql = format!(
        "SELECT {}, {}, {} FROM import_row s JOIN worker w ON w.nik = s.nik \
         LEFT JOIN coverage c ON c.worker_id = w.id ORDER BY s.line, c.starts_on, c.id{lock}",
        staged_columns(),
        prefixed::<worker::Column>("w", "w_"),
        prefixed::<coverage::Column>("c", "c_"),
    );
    let mut stream = txn.stream_raw(statement(backend, &sql, vec![])).await?;
    let mut current: Option<Known> = None;
    while let Some(result) = stream.next().await {
        let result = result?;
        let line = result.try_get::<i64>("", "s_line")? as u64;
        if current.as_ref().is_some_and(|k| k.row.line != line)
            && let Some(done) = current.take()
        {
            each(done)?;
        }
        let known = match current.as_mut() {
            Some(known) => known,
            None => current.insert(Known {
                row: staged(&result)?,
                worker: sea_orm::FromQueryResult::from_query_result(&result, "w_")?,
                coverages: Vec::new(),
            }),
        };
        if let Some(period) = <coverage::Model as sea_orm::FromQueryResult>::from_query_result_optional(&result, "c_")?
        {
            known.coverages.push(period);
        }
    }
    if let Some(done) = current {
        each(done)?;
    }
    Ok(())
}

/// A staged row read back.
fn staged(result: &QueryResult) -> AppResult<Enrollment> {
    let text = |column: &str| result.try_get::<String>("", &format!("s_{column}"));
    let terms = Terms {
        programs: Programs::from_column(&text("programs")?),
        declared_monthly_income: result.try_get("", "s_declared_monthly_income")?,
        starts_on: result.try_get("", "s_starts_on")?,
        ends_on: result.try_get("", "s_ends_on")?,
    };
    Ok(Enrollment {
        line: result.try_get::<i64>("", "s_line")? as u64,
        nik: text("nik")?,
        full_name: text("full_name")?,
        gender: result.try_get("", "s_gender")?,
        birth_date: result.try_get("", "s_birth_date")?,
        occupation: result.try_get("", "s_occupation")?,
        regency_code: text("regency_code")?,
        district_code: text("district_code")?,
        membership_number: result.try_get("", "s_membership_number")?,
        funding_source: result.try_get("", "s_funding_source")?,
        terms,
    })
}

/// What to do with a staged row that is not simply a new worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Enroll the registered worker with this id.
    Enroll(i64),
    /// Nothing: an error row, or already imported.
    Exclude,
}

/// Stores the decisions where the INSERT ... SELECT statements can join them.
pub async fn write_decisions(txn: &DatabaseTransaction, decisions: &[(u64, Action)]) -> AppResult<()> {
    let backend = backend(txn);
    for part in decisions.chunks(binds_per_insert(backend) / 3) {
        let values: Vec<Value> = part
            .iter()
            .flat_map(|(line, action)| {
                let (worker_id, action) = match action {
                    Action::Enroll(id) => (Some(*id), "ENROLL"),
                    Action::Exclude => (None, "EXCLUDE"),
                };
                [Value::from(*line as i64), worker_id.into(), action.into()]
            })
            .collect();
        let sql = format!(
            "INSERT INTO import_decision (line, worker_id, action) VALUES {}",
            vec!["(?, ?, ?)"; part.len()].join(", ")
        );
        txn.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

/// Registers the new workers and creates every coverage period; returns how many of each.
pub async fn insert_rows(txn: &DatabaseTransaction, regency_code: &str, base_id: i64) -> AppResult<(u64, u64)> {
    let backend = backend(txn);
    let now = chrono::Utc::now();
    let workers = "INSERT INTO worker (id, nik, full_name, gender, birth_date, occupation, regency_code, district_code, status, \
         membership_number, registered_at, updated_at) \
         SELECT COALESCE(s.new_id, ? + s.line), s.nik, s.full_name, s.gender, s.birth_date, s.occupation, \
         s.regency_code, s.district_code, ?, s.membership_number, ?, ? \
         FROM import_row s WHERE NOT EXISTS (SELECT 1 FROM import_decision d WHERE d.line = s.line)";
    let values = vec![base_id.into(), WorkerStatus::Alive.to_value().into(), now.into(), now.into()];
    let workers = txn.execute_raw(statement(backend, workers, values)).await?.rows_affected();
    let coverages = "INSERT INTO coverage (worker_id, regency_code, funding_source, programs, declared_monthly_income, \
         monthly_premium, starts_on, ends_on, created_at) \
         SELECT COALESCE(d.worker_id, s.new_id, ? + s.line), ?, s.funding_source, s.programs, \
         s.declared_monthly_income, s.monthly_premium, s.starts_on, s.ends_on, ? \
         FROM import_row s LEFT JOIN import_decision d ON d.line = s.line \
         WHERE d.line IS NULL OR d.action = 'ENROLL'";
    let values = vec![base_id.into(), regency_code.into(), now.into()];
    let coverages = txn.execute_raw(statement(backend, coverages, values)).await?.rows_affected();
    // On SQLite the temporary tables would outlive the commit on their pooled connection.
    txn.execute_unprepared("DROP TABLE import_row; DROP TABLE import_decision").await?;
    Ok((workers, coverages))
}
