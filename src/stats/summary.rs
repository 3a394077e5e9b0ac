//! The summary tables: changes added in the transaction of the mutation that causes them, the
//! whole content replaced by a rebuild or a seed, and read back summed over shards.
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};

use super::tally::{AreaCode, Counters, Runs, Tally};
use crate::db::{Write, binds_per_insert, statement};
use crate::domain::types::Occupation;

/// On PostgreSQL a change goes to one of this many rows per area and year: every enrollment into
/// 36.03 also changes the rows of Banten and of the nation, and a row lock is held until commit
/// (a few ms of fsync here), so with a single row 16 concurrent writers would queue behind each
/// other (about 300 commits/s on this machine, against 4,000 with 8 shards). Reads sum the shards.
/// SQLite has one writer at a time: shard 0 only.
pub const SHARDS: i32 = 8;

/// The shard of this instance's next change. Taken in turn rather than at random: the writes in
/// flight at one time (a pool's worth) then land on different shards instead of a random pick
/// putting two of eight on one row more often than not. Each instance starts at a random shard.
fn next_shard() -> i32 {
    static NEXT: OnceLock<AtomicU32> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU32::new(rand::random_range(0..SHARDS as u32)));
    // The counter wraps at 2^32, a multiple of the shard count: the turn goes on unbroken.
    (next.fetch_add(1, Ordering::Relaxed) % SHARDS as u32) as i32
}

/// Adds `change` to the summaries, in the caller's transaction (call it last, just before the
/// commit, so that the summary rows stay locked as briefly as possible).
pub async fn add<C: ConnectionTrait>(db: &C, change: &Tally) -> Result<(), DbErr> {
    crate::db::execute_together(db, additions(db.get_database_backend(), change)).await
}

/// The writes `add` runs, for a caller that sends them with its own last writes in one statement
/// (`db::execute_together`). None for an empty change.
pub fn additions(backend: DbBackend, change: &Tally) -> Vec<Write> {
    if change.is_empty() {
        return Vec::new();
    }
    let shard = match backend {
        DbBackend::Postgres => next_shard(),
        _ => 0,
    };
    writes(backend, change, shard)
}

/// Replaces every summary row with `tally` (rebuild, seed).
pub async fn replace<C: ConnectionTrait>(db: &C, tally: &Tally) -> Result<(), DbErr> {
    db.execute_unprepared("DELETE FROM coverage_summary").await?;
    db.execute_unprepared("DELETE FROM coverage_summary_occupation").await?;
    crate::db::execute_together(db, writes(db.get_database_backend(), tally, 0)).await
}

/// Every summary row summed over shards, zero rows left out (what `stats verify` compares).
pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Tally, DbErr> {
    let backend = db.get_database_backend();
    let sums: Vec<String> = Counters::COLUMNS.iter().map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}")).collect();
    let sql = format!("SELECT area_code, year, {} FROM coverage_summary GROUP BY area_code, year", sums.join(", "));
    let mut tally = Tally::default();
    for row in db.query_all_raw(statement(backend, &sql, vec![])).await? {
        let mut values = [0i64; 13];
        for (value, column) in values.iter_mut().zip(Counters::COLUMNS) {
            *value = row.try_get::<Option<i64>>("", column)?.unwrap_or(0);
        }
        let area = AreaCode::new(&row.try_get::<String>("", "area_code")?);
        tally.totals.insert((area, row.try_get("", "year")?), Counters::from_values(values));
    }
    let sql = "SELECT area_code, year, occupation, CAST(SUM(run_starts) AS BIGINT) AS starts, \
               CAST(SUM(run_ends) AS BIGINT) AS ends FROM coverage_summary_occupation GROUP BY area_code, year, occupation";
    for row in db.query_all_raw(statement(backend, sql, vec![])).await? {
        let occupation = super::parse_stored::<Occupation>(&row.try_get::<String>("", "occupation")?)?;
        let runs = Runs {
            starts: row.try_get::<Option<i64>>("", "starts")?.unwrap_or(0),
            ends: row.try_get::<Option<i64>>("", "ends")?.unwrap_or(0),
        };
        let area = AreaCode::new(&row.try_get::<String>("", "area_code")?);
        tally.occupations.insert((area, row.try_get("", "year")?, occupation), runs);
    }
    Ok(tally.without_zeros())
}

/// INSERT ... ON CONFLICT DO UPDATE adding `tally` to the counters of shard `shard`, totals
/// first, each table in key order (so that concurrent transactions lock rows in the same order
/// and never deadlock).
fn writes(backend: DbBackend, tally: &Tally, shard: i32) -> Vec<Write> {
    let totals: Vec<Vec<Value>> = tally
        .totals
        .iter()
        .map(|((area, year), counters)| {
            let mut row: Vec<Value> = vec![area.as_str().into(), (*year).into(), shard.into()];
            row.extend(counters.values().map(Value::from));
            row
        })
        .collect();
    let mut columns = vec!["area_code", "year", "shard"];
    columns.extend(Counters::COLUMNS);
    let mut writes = upserts(backend, "coverage_summary", &columns, 3, totals);

    let occupations: Vec<Vec<Value>> = tally
        .occupations
        .iter()
        .map(|((area, year, occupation), runs)| {
            vec![
                area.as_str().into(),
                (*year).into(),
                occupation_name(*occupation).into(),
                shard.into(),
                runs.starts.into(),
                runs.ends.into(),
            ]
        })
        .collect();
    let columns = ["area_code", "year", "occupation", "shard", "run_starts", "run_ends"];
    writes.extend(upserts(backend, "coverage_summary_occupation", &columns, 4, occupations));
    writes
}

/// Multi-row upserts of `rows`; the first `key_columns` columns are the primary key, the others
/// counters added to what is there.
fn upserts(backend: DbBackend, table: &str, columns: &[&str], key_columns: usize, rows: Vec<Vec<Value>>) -> Vec<Write> {
    let row_marks = format!("({})", vec!["?"; columns.len()].join(", "));
    let updates: Vec<String> =
        columns[key_columns..].iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect();
    let rows_per_statement = (binds_per_insert(backend) / columns.len()).max(1);
    rows.chunks(rows_per_statement)
        .map(|chunk| Write {
            sql: format!(
                "INSERT INTO {table} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
                columns.join(", "),
                vec![row_marks.as_str(); chunk.len()].join(", "),
                columns[..key_columns].join(", "),
                updates.join(", "),
            ),
            values: chunk.concat(),
        })
        .collect()
}

/// The stored name of an occupation ("FARM_LABORER").
pub fn occupation_name(occupation: Occupation) -> String {
    use sea_orm::ActiveEnum;
    occupation.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_flight_together_take_different_shards() {
        let shards: std::collections::BTreeSet<i32> = (0..SHARDS).map(|_| next_shard()).collect();
        assert_eq!(shards, (0..SHARDS).collect());
    }
}
