//! Loading the seed into PostgreSQL the way PostgreSQL loads fastest, in one transaction: the
//! worker, coverage and payout tables lose their indexes and constraints, the rows stream in
//! with COPY while another thread generates them, then indexes and constraints are built again
//! (as the migrations defined them: their definitions are read back from the catalog first) and
//! the summaries are written with COPY as well.
use std::sync::Arc;

use indicatif::ProgressBar;
use sea_orm::DbErr;
use sea_orm::sqlx::{self, AssertSqlSafe, Connection, PgConnection, PgPool, Row};
use tokio::sync::mpsc;

use super::plan::{Authors, Plan};
use super::report::SeedReport;
use super::text;
use crate::stats::summary::occupation_name;
use crate::stats::tally::{Counters, Tally, WorkerRows};

const TABLES: &str = "'worker'::regclass, 'coverage'::regclass, 'payout'::regclass";
/// Text handed to COPY at a time.
const CHUNK_BYTES: usize = 1 << 20;

fn error(err: sqlx::Error) -> DbErr {
    DbErr::Custom(format!("seed: {err}"))
}

/// Settings for a bulk load, and the check that the database is empty.
async fn prepare(txn: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), DbErr> {
    // Index builds sort in memory instead of on disk; nothing here is a request to time out.
    sqlx::raw_sql(
        "SET LOCAL statement_timeout = 0; SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL work_mem = '256MB'; \
         SET LOCAL synchronous_commit = off",
    )
    .execute(&mut **txn)
    .await
    .map_err(error)?;
    let occupied: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM worker) OR EXISTS (SELECT 1 FROM coverage) OR EXISTS (SELECT 1 FROM payout) \
         OR EXISTS (SELECT 1 FROM coverage_target)",
    )
    .fetch_one(&mut **txn)
    .await
    .map_err(error)?;
    if occupied {
        return Err(DbErr::Custom("seed: the database already has workers or targets; seed an empty database".into()));
    }
    Ok(())
}

pub(super) async fn load(pool: &PgPool, plan: Arc<Plan>, progress: &ProgressBar) -> Result<SeedReport, DbErr> {
    let started = std::time::Instant::now();
    let mut connection = pool.acquire().await.map_err(error)?;
    let mut txn = connection.begin().await.map_err(error)?;
    prepare(&mut txn).await?;
    let authors = insert_authors(&mut txn).await?;
    let ddl = Ddl::read(&mut txn).await?;
    ddl.drop(&mut txn).await?;

    progress.set_message("workers");
    tracing::info!(phase = "workers", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    let people = plan.clone();
    let bar = progress.clone();
    let (workers, rx) = produce(move |send| {
        let mut buffer = String::with_capacity(CHUNK_BYTES + 4096);
        for (n, person) in people.people(authors).enumerate() {
            text::worker(&mut buffer, &person.worker);
            if buffer.len() >= CHUNK_BYTES {
                if !send(std::mem::take(&mut buffer)) {
                    return;
                }
                bar.set_position(n as u64 + 1);
            }
        }
        send(buffer);
    });
    let worker_rows = copy(&mut txn, "COPY worker FROM STDIN", rx).await?;
    workers.await.map_err(|e| DbErr::Custom(format!("seed: generator failed: {e}")))?;

    progress.set_message("coverage");
    tracing::info!(phase = "coverage", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    progress.set_position(0);
    let people = plan.clone();
    let bar = progress.clone();
    let (generated, rx) = produce(move |send| {
        let mut buffer = String::with_capacity(CHUNK_BYTES + 4096);
        let mut tally = Tally::default();
        let mut payouts = Vec::new();
        for (n, person) in people.people(authors).enumerate() {
            person.coverages.iter().for_each(|c| text::coverage(&mut buffer, c));
            let rows = WorkerRows { worker: &person.worker, coverages: &person.coverages, payouts: &person.payouts };
            tally.add_worker_rows(rows, 1);
            payouts.extend(person.payouts);
            if buffer.len() >= CHUNK_BYTES {
                if !send(std::mem::take(&mut buffer)) {
                    break;
                }
                bar.set_position(n as u64 + 1);
            }
        }
        send(buffer);
        (tally, payouts)
    });
    let coverage_rows = copy(&mut txn, "COPY coverage FROM STDIN", rx).await?;
    let (mut tally, payouts) = generated.await.map_err(|e| DbErr::Custom(format!("seed: generator failed: {e}")))?;
    progress.set_position(plan.workers());

    let mut buffer = String::new();
    payouts.iter().for_each(|p| text::payout(&mut buffer, p));
    let payout_rows = copy(&mut txn, "COPY payout FROM STDIN", single(buffer)).await?;
    let targets = plan.targets(&tally);
    let mut buffer = String::new();
    for target in &targets {
        text::target(&mut buffer, target);
        tally.add_target(target, 1);
    }
    copy(&mut txn, &format!("COPY coverage_target ({}) FROM STDIN", text::TARGET_COLUMNS), single(buffer)).await?;

    progress.set_message("indexes");
    tracing::info!(phase = "indexes", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    ddl.restore(&mut txn).await?;
    for table in ["worker", "coverage", "payout"] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        );
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *txn).await.map_err(error)?;
    }
    progress.set_message("summaries");
    tracing::info!(phase = "summaries", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    write_summaries(&mut txn, &tally.without_zeros()).await?;
    sqlx::query("DELETE FROM stats_rebuild_request").execute(&mut *txn).await.map_err(error)?;
    txn.commit().await.map_err(error)?;
    // Fresh statistics for the planner: the tables went from empty to millions of rows.
    progress.set_message("analyze");
    tracing::info!(phase = "analyze", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    sqlx::raw_sql("ANALYZE worker, coverage, payout, coverage_target, coverage_summary, coverage_summary_occupation")
        .execute(&mut *connection)
        .await
        .map_err(error)?;
    tracing::info!(phase = "done", elapsed_ms = started.elapsed().as_millis() as u64, "seed");
    Ok(SeedReport {
        workers: worker_rows,
        coverages: coverage_rows,
        payouts: payout_rows,
        targets: targets.len() as u64,
        ..SeedReport::default()
    })
}

/// Runs `generate` on a blocking thread; what it sends arrives in the receiver, a few chunks ahead
/// of the COPY that consumes them (so PostgreSQL and the generator work at the same time). The
/// send function returns false once the receiver is gone (the COPY failed): generation stops.
fn produce<T: Send + 'static>(
    generate: impl FnOnce(&mut dyn FnMut(String) -> bool) -> T + Send + 'static,
) -> (tokio::task::JoinHandle<T>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(4);
    let handle = tokio::task::spawn_blocking(move || generate(&mut |chunk| tx.blocking_send(chunk).is_ok()));
    (handle, rx)
}

fn single(text: String) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(text);
    rx
}

async fn copy(conn: &mut PgConnection, statement: &str, mut chunks: mpsc::Receiver<String>) -> Result<u64, DbErr> {
    let mut copy = conn.copy_in_raw(statement).await.map_err(error)?;
    while let Some(chunk) = chunks.recv().await {
        if chunk.is_empty() {
            continue;
        }
        if let Err(err) = copy.send(chunk.into_bytes()).await {
            let _ = copy.abort(err.to_string()).await;
            return Err(error(err));
        }
    }
    copy.finish().await.map_err(error)
}

/// The seeded payouts were entered by an operator and decided by a supervisor. Their keys are
/// stored revoked, so nobody can use them; they only give the payouts coherent authors.
async fn insert_authors(txn: &mut PgConnection) -> Result<Authors, DbErr> {
    let mut ids = Vec::new();
    for (name, role) in [("seed operator", "OPERATOR"), ("seed supervisor", "SUPERVISOR")] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_key (name, role, scope, key_hash, created_at, revoked_at) \
             VALUES ($1, $2, NULL, encode(sha256(convert_to('revoked seed key ' || $1 || ' ' || gen_random_uuid(), 'UTF8')), 'hex'), now(), now()) \
             RETURNING id",
        )
        .bind(name)
        .bind(role)
        .fetch_one(&mut *txn)
        .await
        .map_err(error)?;
        ids.push(id);
    }
    Ok(Authors { operator: ids[0], supervisor: ids[1] })
}

/// The indexes and constraints of the loaded tables, as the catalog defines them.
struct Ddl {
    /// (table, name, definition, kind: p primary key, u unique, f foreign key)
    constraints: Vec<(String, String, String, String)>,
    /// (name, CREATE INDEX statement) of the indexes that no constraint owns.
    indexes: Vec<(String, String)>,
}

impl Ddl {
    async fn read(txn: &mut PgConnection) -> Result<Ddl, DbErr> {
        let constraints = sqlx::query(AssertSqlSafe(format!(
            "SELECT conrelid::regclass::text AS tbl, conname::text AS name, pg_get_constraintdef(oid) AS def, contype::text AS kind \
             FROM pg_constraint WHERE contype IN ('p', 'u', 'f') AND (conrelid IN ({TABLES}) OR confrelid IN ({TABLES})) \
             ORDER BY conname"
        )))
        .fetch_all(&mut *txn)
        .await
        .map_err(error)?
        .into_iter()
        .map(|row| (row.get("tbl"), row.get("name"), row.get("def"), row.get("kind")))
        .collect();
        let indexes = sqlx::query(AssertSqlSafe(format!(
            "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index i \
             WHERE indrelid IN ({TABLES}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
             ORDER BY 1"
        )))
        .fetch_all(&mut *txn)
        .await
        .map_err(error)?
        .into_iter()
        .map(|row| (row.get("name"), row.get("def")))
        .collect();
        Ok(Ddl { constraints, indexes })
    }

    fn constraints_of(&self, foreign: bool) -> impl Iterator<Item = &(String, String, String, String)> {
        self.constraints.iter().filter(move |c| (c.3 == "f") == foreign)
    }

    async fn drop(&self, txn: &mut PgConnection) -> Result<(), DbErr> {
        let mut sql = Vec::new();
        for (table, name, _, _) in self.constraints_of(true).chain(self.constraints_of(false)) {
            sql.push(format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""));
        }
        sql.extend(self.indexes.iter().map(|(name, _)| format!("DROP INDEX {name}")));
        sqlx::raw_sql(AssertSqlSafe(sql.join(";\n"))).execute(&mut *txn).await.map_err(error)?;
        Ok(())
    }

    /// Keys and unique constraints first, then the other indexes, then the foreign keys (which
    /// check every row against the keys built just before).
    async fn restore(&self, txn: &mut PgConnection) -> Result<(), DbErr> {
        let add = |(table, name, def, _): &(String, String, String, String)| {
            format!("ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {def}")
        };
        let mut sql: Vec<String> = self.constraints_of(false).map(add).collect();
        sql.extend(self.indexes.iter().map(|(_, def)| def.clone()));
        sql.extend(self.constraints_of(true).map(add));
        for statement in sql {
            sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *txn).await.map_err(error)?;
        }
        Ok(())
    }
}

/// The summaries with COPY into the emptied summary tables (shard 0).
async fn write_summaries(txn: &mut PgConnection, tally: &Tally) -> Result<(), DbErr> {
    sqlx::raw_sql("DELETE FROM coverage_summary; DELETE FROM coverage_summary_occupation")
        .execute(&mut *txn)
        .await
        .map_err(error)?;
    let mut buffer = String::new();
    for ((area, year), counters) in &tally.totals {
        let mut numbers = vec![i64::from(*year), 0];
        numbers.extend(counters.values());
        text::values(&mut buffer, &[area.as_str()], &numbers);
    }
    let columns = ["area_code", "year", "shard"].into_iter().chain(Counters::COLUMNS).collect::<Vec<_>>().join(", ");
    copy(txn, &format!("COPY coverage_summary ({columns}) FROM STDIN"), single(buffer)).await?;
    let mut buffer = String::new();
    for ((area, year, occupation), runs) in &tally.occupations {
        text::values(
            &mut buffer,
            &[area.as_str(), occupation_name(*occupation).as_str()],
            &[i64::from(*year), 0, runs.starts, runs.ends],
        );
    }
    let columns = "area_code, occupation, year, shard, run_starts, run_ends";
    copy(txn, &format!("COPY coverage_summary_occupation ({columns}) FROM STDIN"), single(buffer)).await?;
    Ok(())
}
