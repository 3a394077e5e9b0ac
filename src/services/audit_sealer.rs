//! The audit sealer (PostgreSQL): write transactions insert their audit entries without hashes,
//! and this one task per database chains the committed ones, in id order, so that no writer
//! waits for another's audit entry (SQLite chains inline: it has one writer anyway).
//!
//! The order must be one that no transaction still running can jump: an entry may be sealed only
//! once no lower id can still be committed. Every entry's id is drawn after its transaction got
//! its transaction id (the id's default, see the migration `sealer_unsealed_entries`), so a mark
//! taken now, the sequence's last value then the transaction ids running in this database, says:
//! once none of those transactions runs any more, every entry up to that last value is committed
//! or rolled back for good. A round seals up to the mark of the round before, so an entry is
//! sealed about two rounds after its commit, or when the longest transaction that ran beside it
//! ends. The running transactions are this database's (`pg_stat_activity`), not the cluster's (a
//! snapshot's xmin): a long transaction in another database on the same server holds nothing
//! back. They are compared by their 32-bit ids, which cannot come round again while they run.
//!
//! One sealer at a time: a round seals under a transaction-scoped advisory lock it only tries
//! (another instance sealing: this one skips the round). A transaction-scoped lock rather than a
//! session's needs no connection held aside, and a dead instance's lock goes with its connection.
use std::time::{Duration, Instant};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, TransactionTrait, Value,
};

use super::audit::content_of;
use crate::domain::audit_chain;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};

/// The advisory lock that lets one round seal at a time ("seal").
const SEAL_LOCK: i64 = 0x7365_616c;

/// Entries hashed and written per statement.
const PAGE: u64 = 1000;

/// Every id up to `last_id` was handed out to a transaction that had ended, or was one of
/// `running`, when the mark was taken.
#[derive(Debug, Clone)]
struct Mark {
    last_id: i64,
    running: Vec<i64>,
}

/// The rounds of one sealing task; it remembers the mark it took in the round before.
#[derive(Debug, Default)]
pub struct Sealer {
    pending: Option<Mark>,
}

impl Sealer {
    /// Seals what the previous round's mark allows, if no transaction that could still commit an
    /// entry below it runs, then takes a new mark. Returns the entries sealed.
    pub async fn round(&mut self, db: &DatabaseConnection) -> AppResult<u64> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(0);
        }
        let mut sealed = 0;
        if let Some(mark) = &self.pending
            && !any_running(db, &mark.running).await?
            && let Some(count) = seal_through(db, mark.last_id).await?
        {
            sealed = count;
            self.pending = None;
        }
        if self.pending.is_none() {
            self.pending = Some(take_mark(db).await?);
        }
        Ok(sealed)
    }
}

/// Seals every entry committed before the call, waiting at most `wait` for the transactions
/// running beside them to end: at startup (what was committed before a crash) and in tests.
/// None: a transaction still running after `wait` holds the sealing back.
pub async fn seal_committed(db: &DatabaseConnection, wait: Duration) -> AppResult<Option<u64>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Some(0));
    }
    let mark = take_mark(db).await?;
    let started = Instant::now();
    loop {
        if !any_running(db, &mark.running).await?
            && let Some(count) = seal_through(db, mark.last_id).await?
        {
            return Ok(Some(count));
        }
        if started.elapsed() >= wait {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The sealing task of `serve`: a round every `every`, until the process ends. A failed round
/// (the database away) is logged and the next one tries again: nothing is lost, the entries wait.
pub async fn run(db: DatabaseConnection, every: Duration) {
    let mut sealer = Sealer::default();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sealer.round(&db).await {
            Ok(0) => {}
            Ok(sealed) => tracing::debug!(sealed, "audit entries sealed"),
            Err(err) => tracing::warn!(error = ?err, "audit entries not sealed this round"),
        }
    }
}

async fn scalar(db: &impl ConnectionTrait, sql: &str) -> AppResult<i64> {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
    let value: Option<i64> = row.map(|row| row.try_get("", "v")).transpose()?;
    value.ok_or_else(|| AppError::Internal(format!("no value from {sql}")))
}

/// This database's transactions that hold a transaction id (the sealer's own statements hold
/// none).
const RUNNING: &str = "SELECT backend_xid::text::int8 AS xid FROM pg_stat_activity \
                       WHERE datname = current_database() AND backend_xid IS NOT NULL";

/// The sequence's last value first, the transactions running after: an id up to that value
/// belongs to a transaction that had its transaction id before the second statement.
async fn take_mark(db: &DatabaseConnection) -> AppResult<Mark> {
    let last_id = scalar(db, "SELECT COALESCE(pg_sequence_last_value('audit_log_entry_seq'), 0) AS v").await?;
    Ok(Mark { last_id, running: running(db).await? })
}

async fn running(db: &DatabaseConnection) -> AppResult<Vec<i64>> {
    let rows = db.query_all_raw(Statement::from_string(DbBackend::Postgres, RUNNING)).await?;
    Ok(rows.iter().map(|row| row.try_get::<i64>("", "xid")).collect::<Result<_, _>>()?)
}

/// Whether any of `xids` still runs.
async fn any_running(db: &DatabaseConnection, xids: &[i64]) -> AppResult<bool> {
    if xids.is_empty() {
        return Ok(false);
    }
    Ok(running(db).await?.iter().any(|xid| xids.contains(xid)))
}

/// Chains the unsealed entries up to `last_id` after the newest sealed one, in id order, in one
/// transaction. None: another instance is sealing.
async fn seal_through(db: &DatabaseConnection, last_id: i64) -> AppResult<Option<u64>> {
    let txn = db.begin().await?;
    if scalar(&txn, &format!("SELECT pg_try_advisory_xact_lock({SEAL_LOCK})::int::int8 AS v")).await? == 0 {
        return Ok(None);
    }
    let head: Option<(i64, Option<String>)> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Id)
        .column(audit_log::Column::EntryHash)
        .filter(audit_log::Column::EntryHash.is_not_null())
        .order_by_desc(audit_log::Column::Id)
        .limit(1)
        .into_tuple()
        .one(&txn)
        .await?;
    let (mut after_id, mut previous) = match head {
        Some((id, hash)) => (id, hash.unwrap_or_default()),
        None => (i64::MIN, audit_chain::GENESIS.to_owned()),
    };
    let mut sealed = 0u64;
    loop {
        // The entries after the sealed head, by the primary key. One left without hashes below
        // the head (inserted out of turn, or its hashes removed: not through the server) is not
        // sealed after it, which would hide it: `audit verify` names it.
        let page = audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after_id))
            .filter(audit_log::Column::Id.lte(last_id))
            .filter(audit_log::Column::EntryHash.is_null())
            .order_by_asc(audit_log::Column::Id)
            .limit(PAGE)
            .all(&txn)
            .await?;
        let Some(last) = page.last() else { break };
        after_id = last.id;
        let mut rows = Vec::with_capacity(page.len());
        let mut values: Vec<Value> = Vec::with_capacity(page.len() * 3);
        for entry in &page {
            let hash = audit_chain::entry_hash(&previous, &content_of(entry));
            let n = values.len();
            rows.push(format!("(${}::int8, ${}, ${})", n + 1, n + 2, n + 3));
            values.extend([entry.id.into(), std::mem::replace(&mut previous, hash.clone()).into(), hash.into()]);
        }
        let sql = format!(
            "UPDATE audit_log AS a SET previous_hash = v.previous_hash, entry_hash = v.entry_hash \
             FROM (VALUES {}) AS v(id, previous_hash, entry_hash) WHERE a.id = v.id",
            rows.join(", ")
        );
        txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
        sealed += page.len() as u64;
    }
    txn.commit().await?;
    Ok(Some(sealed))
}
