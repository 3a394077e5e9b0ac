//! The audit trail: every mutation appends, in its own transaction, who did what to which entity
//! and the fields it changed (before/after), with NIKs masked. Rows are never updated or deleted
//! (database triggers refuse it), and each entry carries the hash of its content and of the entry
//! before it, so that `verify` finds an entry edited, deleted or moved by other means.
//!
//! PostgreSQL: the entry is inserted without its hashes, and the sealer (`audit_sealer`) chains
//! the committed entries in id order within a second: writers no longer queue on one lock.
//! SQLite: one writer at a time already, so the entry is chained as it is inserted.

use async_graphql::Enum;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, Iterable, NotSet,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::Actor;
use crate::db::{self, Write};
use crate::domain::audit_chain::{self, ChainBreak, Content};
use crate::domain::nik;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};
use crate::stats::summary;
use crate::stats::tally::Tally;

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AuditEntity {
    Worker,
    Coverage,
    CoverageTarget,
    Payout,
    /// One entry per bulk import (its entity id is 0): the regency, the file's SHA-256, the counts.
    EnrollmentImport,
    /// A refused mutation that answered about a worker the key cannot see (a NIK or membership
    /// number registered elsewhere, a death benefit under another regency): the entity is that
    /// worker, the changes say what was refused and its masked NIK.
    Refusal,
    /// A key read a worker's personal data: an exact-NIK lookup or search, a full NIK or a birth
    /// date shown (see `personal_data`); the entity is the worker (0: a NIK lookup found none).
    PersonalDataRead,
    /// An API key created or revoked (`jaminan api-key`): its name, role and scope, never the key.
    ApiKey,
}

impl AuditEntity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuditEntity::Worker => "WORKER",
            AuditEntity::Coverage => "COVERAGE",
            AuditEntity::CoverageTarget => "COVERAGE_TARGET",
            AuditEntity::Payout => "PAYOUT",
            AuditEntity::EnrollmentImport => "ENROLLMENT_IMPORT",
            AuditEntity::Refusal => "REFUSAL",
            AuditEntity::PersonalDataRead => "PERSONAL_DATA_READ",
            AuditEntity::ApiKey => "API_KEY",
        }
    }
}

/// Appends one entry (chained to the newest one on SQLite, left to the sealer on PostgreSQL).
/// `before` is None for a creation, `after` None for a removal. It needs the transaction of the
/// change it records: the entry commits with the change or not at all.
pub async fn record<T: Serialize>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    operation: &str,
    entity: AuditEntity,
    entity_id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    append(txn, entry(actor, operation, entity, entity_id, before, after)?, Vec::new()).await
}

/// An entry made but not yet written (`append`).
#[derive(Debug, Clone)]
pub struct Entry {
    at: DateTime<Utc>,
    api_key_id: i64,
    api_key_name: String,
    operation: String,
    entity_type: &'static str,
    entity_id: i64,
    changes: String,
    person: Option<String>,
}

/// The entry `record` appends, for `append` to write with the mutation's last writes.
pub fn entry<T: Serialize>(
    actor: &Actor,
    operation: &str,
    entity: AuditEntity,
    entity_id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<Entry> {
    Ok(Entry {
        at: audit_chain::stored_time(Utc::now()),
        api_key_id: actor.key_id,
        api_key_name: actor.key_name.clone(),
        operation: operation.to_owned(),
        entity_type: entity.as_str(),
        entity_id,
        changes: diff(before.map(to_json).transpose()?, after.map(to_json).transpose()?).to_string(),
        person: actor.person.clone(),
    })
}

impl Entry {
    /// What the entry's hash covers (`domain::audit_chain`).
    fn content(&self) -> Content<'_> {
        Content {
            at: self.at,
            api_key_id: self.api_key_id,
            api_key_name: &self.api_key_name,
            operation: &self.operation,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            changes: &self.changes,
            person: self.person.as_deref(),
        }
    }

    /// The entry as a row, with its hashes (None on PostgreSQL: the sealer's).
    fn row(self, previous_hash: Option<String>, entry_hash: Option<String>) -> audit_log::ActiveModel {
        audit_log::ActiveModel {
            id: NotSet,
            at: Set(self.at),
            api_key_id: Set(self.api_key_id),
            api_key_name: Set(self.api_key_name),
            operation: Set(self.operation),
            entity_type: Set(self.entity_type.to_owned()),
            entity_id: Set(self.entity_id),
            changes: Set(self.changes),
            previous_hash: Set(previous_hash),
            entry_hash: Set(entry_hash),
            person: Set(self.person),
        }
    }
}

impl From<&BatchEntry<'_>> for Entry {
    fn from(entry: &BatchEntry<'_>) -> Self {
        Entry {
            at: audit_chain::stored_time(entry.at),
            api_key_id: entry.api_key_id,
            api_key_name: entry.api_key_name.to_owned(),
            operation: entry.operation.to_owned(),
            entity_type: entry.entity.as_str(),
            entity_id: entry.entity_id,
            changes: entry.changes.clone(),
            person: entry.person.map(str::to_owned),
        }
    }
}

/// Writes `entry` (chained to the newest one on SQLite, left to the sealer on PostgreSQL) and
/// then `then`, a mutation's writes that nothing reads back before its commit (its summary rows):
/// on PostgreSQL all in one statement (`db::execute_together`), a round trip fewer for each.
pub async fn append(txn: &DatabaseTransaction, entry: Entry, then: Vec<Write>) -> AppResult<()> {
    append_between(txn, Vec::new(), entry, then).await
}

/// `append` with `first` before the entry: the change it records, when nothing reads that back
/// before the commit either.
async fn append_between(txn: &DatabaseTransaction, first: Vec<Write>, entry: Entry, then: Vec<Write>) -> AppResult<()> {
    let (previous_hash, entry_hash) = match inline_chain_head(txn).await? {
        Some(previous_hash) => {
            let entry_hash = audit_chain::entry_hash(&previous_hash, &entry.content());
            (Some(previous_hash), Some(entry_hash))
        }
        None => (None, None),
    };
    let insert = insert_of(entry.row(previous_hash, entry_hash))?;
    db::execute_together(txn, first.into_iter().chain(std::iter::once(insert)).chain(then).collect()).await?;
    Ok(())
}

/// Appends `entry` and adds `change` to the summaries, in one statement on PostgreSQL: how a
/// mutation that moves the figures ends, just before its commit (`summary::add`).
pub async fn append_with_summary(txn: &DatabaseTransaction, entry: Entry, change: &Tally) -> AppResult<()> {
    append_with_summary_after(txn, Vec::new(), entry, change).await
}

/// `append_with_summary` after `first`, the change itself (an INSERT whose row the entry names and
/// nothing reads back before the commit): on PostgreSQL the three in one statement.
pub async fn append_with_summary_after(
    txn: &DatabaseTransaction,
    first: Vec<Write>,
    entry: Entry,
    change: &Tally,
) -> AppResult<()> {
    append_between(txn, first, entry, summary::additions(txn.get_database_backend(), change)).await
}

/// The columns an entry's INSERT writes: the entity's, every one but the id.
fn written_columns() -> impl Iterator<Item = audit_log::Column> {
    audit_log::Column::iter().filter(|column| !matches!(column, audit_log::Column::Id))
}

/// The INSERT of `row` with `?` placeholders, as `db::execute_together` joins it with others. The
/// columns are the entity's, every one but the id, so none is left out of the statement: a column
/// added to `audit_log` does not compile until `Entry::row` (which names every field) sets it, and
/// one left `NotSet` there is an error here, not an entry written without it.
fn insert_of(row: audit_log::ActiveModel) -> AppResult<Write> {
    Ok(db::insert_write(&row, written_columns())?)
}

/// SQLite: the newest entry's hash, to chain the new entry to. The transaction holds SQLite's one
/// write lock (it wrote the change it audits before; the probes' refusals begin IMMEDIATE for the
/// same reason), so no other writer can chain to the same entry.
/// PostgreSQL: None. A lock held from the append to the commit would make every write in the
/// country queue on it; the sealer chains committed entries instead (`audit_sealer`).
async fn inline_chain_head(txn: &DatabaseTransaction) -> AppResult<Option<String>> {
    if txn.get_database_backend() == DbBackend::Postgres {
        return Ok(None);
    }
    let head: Option<Option<String>> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::EntryHash)
        .order_by_desc(audit_log::Column::Id)
        .limit(1)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(Some(head.flatten().unwrap_or_else(|| audit_chain::GENESIS.to_owned())))
}

/// Entries read per query by `verify`: a log of millions is never in memory at once.
const VERIFY_PAGE: u64 = 5000;

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries read, up to and including the break if any.
    pub checked: u64,
    /// The last entry checked (id, entry_hash): the newest sealed one when the chain is intact.
    pub head: Option<(i64, String)>,
    pub broken: Option<ChainBreak>,
    /// Entries committed but not yet sealed into the chain (PostgreSQL; counted when intact).
    pub unsealed: u64,
}

/// Walks the sealed entries in id order and stops at the first one that does not chain to the one
/// before or whose content does not match its hash; then counts the entries the sealer has not
/// chained yet (it seals nothing itself). Deleting the newest entries leaves an intact, shorter
/// chain: only a head recorded elsewhere (id and hash) shows that.
pub async fn verify<C: ConnectionTrait>(db: &C) -> AppResult<ChainReport> {
    let mut report = ChainReport { checked: 0, head: None, broken: None, unsealed: 0 };
    loop {
        let after_id = report.head.as_ref().map_or(i64::MIN, |(id, _)| *id);
        let page = audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after_id))
            .filter(audit_log::Column::EntryHash.is_not_null())
            .order_by_asc(audit_log::Column::Id)
            .limit(VERIFY_PAGE)
            .all(db)
            .await?;
        if page.is_empty() {
            let unsealed = audit_log::Entity::find().filter(audit_log::Column::EntryHash.is_null());
            let head_id = report.head.as_ref().map_or(i64::MIN, |(id, _)| *id);
            let out_of_turn: Option<i64> = unsealed
                .clone()
                .filter(audit_log::Column::Id.lt(head_id))
                .select_only()
                .column(audit_log::Column::Id)
                .order_by_asc(audit_log::Column::Id)
                .into_tuple()
                .one(db)
                .await?;
            report.broken = out_of_turn.map(|id| ChainBreak::Unsealed { id });
            report.unsealed = unsealed.count(db).await?;
            return Ok(report);
        }
        for entry in page {
            report.checked += 1;
            let (previous_id, previous_hash) = match &report.head {
                Some((id, hash)) => (Some(*id), hash.as_str()),
                None => (None, audit_chain::GENESIS),
            };
            let stored_previous = entry.previous_hash.as_deref().unwrap_or_default();
            let stored_hash = entry.entry_hash.clone().unwrap_or_default();
            let broken = if stored_previous != previous_hash {
                Some(ChainBreak::Unlinked { id: entry.id, after: previous_id })
            } else if stored_hash != audit_chain::entry_hash(stored_previous, &content_of(&entry)) {
                Some(ChainBreak::Edited { id: entry.id })
            } else {
                None
            };
            report.head = Some((entry.id, stored_hash));
            if broken.is_some() {
                report.broken = broken;
                return Ok(report);
            }
        }
    }
}

/// Checks a head written down earlier against the log (after `verify` found the chain intact):
/// the entry must still be there with the same hash, or the newest entries were deleted (or
/// rewritten with their hashes recomputed), which the chain alone cannot show.
pub async fn check_recorded_head<C: ConnectionTrait>(db: &C, id: i64, hash: &str) -> AppResult<Option<ChainBreak>> {
    let stored: Option<Option<String>> = audit_log::Entity::find_by_id(id)
        .select_only()
        .column(audit_log::Column::EntryHash)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match stored {
        None => Some(ChainBreak::HeadGone { id }),
        Some(stored) if stored.as_deref() != Some(hash) => Some(ChainBreak::HeadRewritten { id }),
        Some(_) => None,
    })
}

pub(crate) fn content_of(entry: &audit_log::Model) -> Content<'_> {
    Content {
        at: entry.at,
        api_key_id: entry.api_key_id,
        api_key_name: &entry.api_key_name,
        operation: &entry.operation,
        entity_type: &entry.entity_type,
        entity_id: entry.entity_id,
        changes: &entry.changes,
        person: entry.person.as_deref(),
    }
}

fn to_json<T: Serialize>(value: &T) -> AppResult<Value> {
    let mut value = serde_json::to_value(value).map_err(|e| AppError::Internal(format!("audit serialization: {e}")))?;
    if let Some(Value::String(nik_text)) = value.get_mut("nik") {
        *nik_text = nik::mask(nik_text);
    }
    // The birth date is the masked part of the NIK (DDMMYY): keeping it would undo the mask.
    if let Some(fields) = value.as_object_mut() {
        fields.remove("birth_date");
    }
    Ok(value)
}

/// A transaction for entries that record no change of their own (refusals, reads). IMMEDIATE: on
/// SQLite it takes the write lock before it reads the chain's head, so no other writer can append
/// in between (PostgreSQL ignores it: the sealer chains the entries).
pub async fn begin_append(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    Ok(db.begin_with_options(options).await?)
}

/// Rows per INSERT when appending a batch (10 values each, well under SQLite's bind limit).
const ENTRIES_PER_INSERT: usize = 1000;

/// One entry of a batch: who, when, what, and its changes already written out.
#[derive(Debug, Clone)]
pub struct BatchEntry<'a> {
    pub at: DateTime<Utc>,
    pub api_key_id: i64,
    pub api_key_name: &'a str,
    pub operation: &'static str,
    pub entity: AuditEntity,
    pub entity_id: i64,
    pub changes: String,
    /// The person behind the key or token (`Actor::person`).
    pub person: Option<&'a str>,
}

/// Appends entries that record no change of their own (personal-data reads), in one transaction,
/// chained one after the other (SQLite) or left to the sealer (PostgreSQL).
pub async fn record_batch(db: &DatabaseConnection, entries: &[BatchEntry<'_>]) -> AppResult<()> {
    let txn = begin_append(db).await?;
    let mut previous_hash = inline_chain_head(&txn).await?;
    for batch in entries.chunks(ENTRIES_PER_INSERT) {
        let mut rows = Vec::with_capacity(batch.len());
        for entry in batch.iter().map(Entry::from) {
            let entry_hash =
                previous_hash.as_deref().map(|previous| audit_chain::entry_hash(previous, &entry.content()));
            rows.push(entry.row(std::mem::replace(&mut previous_hash, entry_hash.clone()), entry_hash));
        }
        // One statement inserts in the order given, so ids follow the chain (SQLite).
        audit_log::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Field -> {"before", "after"} for every top-level field that differs.
fn diff(before: Option<Value>, after: Option<Value>) -> Value {
    let empty = Map::new();
    let before_fields = before.as_ref().and_then(Value::as_object).unwrap_or(&empty);
    let after_fields = after.as_ref().and_then(Value::as_object).unwrap_or(&empty);
    let mut changes = Map::new();
    for key in before_fields.keys().chain(after_fields.keys()) {
        let (old, new) =
            (before_fields.get(key).unwrap_or(&Value::Null), after_fields.get(key).unwrap_or(&Value::Null));
        if old != new && !changes.contains_key(key) {
            changes.insert(key.clone(), json!({ "before": old, "after": new }));
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::IdenStatic;

    #[test]
    fn diff_lists_changed_fields_only() {
        let before = json!({ "a": 1, "b": "x", "nik": "1" });
        let after = json!({ "a": 2, "b": "x", "c": true, "nik": "1" });
        assert_eq!(
            diff(Some(before), Some(after)),
            json!({ "a": { "before": 1, "after": 2 }, "c": { "before": null, "after": true } })
        );
    }

    #[test]
    fn an_entry_is_inserted_with_every_column_of_the_table_but_its_id() {
        let actor = Actor::command_line();
        let entry = entry(&actor, "registerWorker", AuditEntity::Worker, 7, None, Some(&json!({ "a": 1 }))).unwrap();
        let changes = entry.changes.clone();
        let insert = insert_of(entry.row(None, None)).unwrap();
        let columns: Vec<&str> = written_columns().map(|c| c.as_str()).collect();
        assert_eq!(
            insert.sql,
            format!("INSERT INTO audit_log ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", columns.join(", "))
        );
        assert_eq!(insert.values.len(), columns.len());
        let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
        assert_eq!(insert.values[at("changes")], sea_orm::Value::from(changes));
        assert_eq!(insert.values[at("entity_id")], sea_orm::Value::from(7i64));
        assert_eq!(insert.values[at("entry_hash")], sea_orm::Value::from(None::<String>));
    }

    #[test]
    fn niks_are_masked() {
        let value = to_json(&json!({ "nik": "3603121505850001" })).unwrap();
        assert_eq!(value["nik"], "360312******0001");
    }
}
