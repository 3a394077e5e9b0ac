//! Reads of personal data, audited: UU PDP (Law 27/2022) gives a worker the right to know who
//! processed their data. Exact-NIK lookups and every full NIK or birth date shown to a key leave an
//! audit entry (`PERSONAL_DATA_READ`: the key, the worker, the operation, when).
//!
//! A page of 100 workers shows 100 NIKs, so the read path only notes the read in memory; a
//! background task appends what accumulated once a second (or sooner past `FLUSH_AT`), one
//! transaction for all, the same key reading the same worker the same way counted once per batch.
//! If the database is away the notes wait for the next flush, up to `MAX_PENDING`; the server
//! flushes once more when it stops.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use tokio::sync::Notify;

use super::audit::{self, AuditEntity, BatchEntry};
use crate::auth::Actor;
use crate::domain::nik;
use crate::error::{AppError, AppResult};

/// How a key came to the personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonalRead {
    /// `workerByNik`, found or not (a NIK that names no worker is still someone's NIK).
    NikLookup,
    /// `workers(filter: { search: <16 digits> })`.
    NikSearch,
    /// `Worker.nik` in full.
    Nik,
    /// `Worker.birthDate`.
    BirthDate,
    /// A worker's row in an export downloaded over HTTP (full NIK, birth date within it).
    Export,
}

impl PersonalRead {
    pub fn operation(self) -> &'static str {
        match self {
            PersonalRead::NikLookup => "workerByNik",
            PersonalRead::NikSearch => "workers(search)",
            PersonalRead::Nik => "Worker.nik",
            PersonalRead::BirthDate => "Worker.birthDate",
            PersonalRead::Export => "exportEnrollments",
        }
    }
}

/// One batch's note of a key reading one worker's data one way.
#[derive(Debug, Clone)]
pub struct ReadNote {
    pub at: DateTime<Utc>,
    pub key_id: i64,
    pub key_name: String,
    /// The person behind the key or token (`Actor::person`).
    pub person: Option<String>,
    pub read: PersonalRead,
    /// 0 for a NIK lookup that found no worker.
    pub worker_id: i64,
    pub details: ReadDetails,
}

/// What the audit entry's `changes` hold: the masked NIK and how often in the batch.
#[derive(Debug, Clone, Serialize)]
pub struct ReadDetails {
    pub nik: String,
    pub reads: u64,
}

/// Appends the notes to the audit log, chained one after the other, in one transaction.
async fn record(db: &DatabaseConnection, notes: &[ReadNote]) -> AppResult<()> {
    let entries = notes
        .iter()
        .map(|note| {
            let changes = serde_json::to_string(&note.details)
                .map_err(|e| AppError::Internal(format!("audit serialization: {e}")))?;
            Ok(BatchEntry {
                at: note.at,
                api_key_id: note.key_id,
                api_key_name: &note.key_name,
                person: note.person.as_deref(),
                operation: note.read.operation(),
                entity: AuditEntity::PersonalDataRead,
                entity_id: note.worker_id,
                changes,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    audit::record_batch(db, &entries).await
}

/// Audits `workers` (id, full NIK) read one way now, not at the next flush: for reads that must
/// be in the audit log before the data leaves (an export file). A worker twice is one entry.
pub async fn record_now(
    db: &DatabaseConnection,
    actor: &Actor,
    read: PersonalRead,
    workers: &[(i64, String)],
) -> AppResult<()> {
    let at = Utc::now();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut notes: Vec<ReadNote> = Vec::new();
    for (worker_id, full_nik) in workers {
        if let Some(&i) = index.get(worker_id) {
            notes[i].details.reads += 1;
            continue;
        }
        index.insert(*worker_id, notes.len());
        notes.push(ReadNote {
            at,
            key_id: actor.key_id,
            key_name: actor.key_name.clone(),
            person: actor.person.clone(),
            read,
            worker_id: *worker_id,
            details: ReadDetails { nik: nik::mask(full_nik), reads: 1 },
        });
    }
    if notes.is_empty() {
        return Ok(());
    }
    record(db, &notes).await
}

/// Notes kept while the database is away; past this the oldest are dropped (and logged).
const MAX_PENDING: usize = 100_000;
/// A flush starts early once this many notes wait.
const FLUSH_AT: usize = 5_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct ReadLog {
    pending: Mutex<Pending>,
    wake: Notify,
}

#[derive(Default)]
struct Pending {
    notes: Vec<ReadNote>,
    /// (key, worker, read) -> index in `notes`.
    index: HashMap<(i64, i64, PersonalRead), usize>,
}

impl ReadLog {
    /// Notes a read; costs a lock and a map lookup, never a database round trip.
    pub fn note(&self, actor: &Actor, read: PersonalRead, worker_id: i64, full_nik: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (actor.key_id, worker_id, read);
        if let Some(&i) = pending.index.get(&key) {
            pending.notes[i].details.reads += 1;
            return;
        }
        if pending.notes.len() >= MAX_PENDING {
            // Only while the database has been away for long: say so rather than grow without end.
            tracing::error!(dropped = pending.notes.len(), "personal-data reads could not be audited");
            *pending = Pending::default();
        }
        let index = pending.notes.len();
        pending.index.insert(key, index);
        pending.notes.push(ReadNote {
            at: Utc::now(),
            key_id: actor.key_id,
            key_name: actor.key_name.clone(),
            person: actor.person.clone(),
            read,
            worker_id,
            details: ReadDetails { nik: nik::mask(full_nik), reads: 1 },
        });
        if pending.notes.len() == FLUSH_AT {
            self.wake.notify_one();
        }
    }

    /// Appends every pending note to the audit log; on failure they stay pending.
    pub async fn flush(&self, db: &DatabaseConnection) -> AppResult<usize> {
        let notes = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())).notes;
        if notes.is_empty() {
            return Ok(0);
        }
        match record(db, &notes).await {
            Ok(()) => Ok(notes.len()),
            Err(err) => {
                let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // Put them back in front of what arrived meanwhile (those are counted afresh).
                let arrived = std::mem::take(&mut pending.notes);
                pending.index.clear();
                for note in notes.into_iter().chain(arrived) {
                    let key = (note.key_id, note.worker_id, note.read);
                    if let Some(&i) = pending.index.get(&key) {
                        pending.notes[i].details.reads += note.details.reads;
                    } else {
                        let index = pending.notes.len();
                        pending.index.insert(key, index);
                        pending.notes.push(note);
                    }
                }
                Err(err)
            }
        }
    }

    /// Flushes every second (sooner when many wait) for as long as the log is in use.
    pub fn spawn_flusher(log: &Arc<ReadLog>, db: DatabaseConnection) {
        let log: Weak<ReadLog> = Arc::downgrade(log);
        tokio::spawn(async move {
            loop {
                let Some(wake) = log.upgrade() else { return };
                let _ = tokio::time::timeout(FLUSH_EVERY, wake.wake.notified()).await;
                drop(wake);
                let Some(log) = log.upgrade() else { return };
                if let Err(err) = log.flush(&db).await {
                    tracing::warn!(error = ?err, "personal-data reads not audited yet; retrying");
                }
            }
        });
    }
}
