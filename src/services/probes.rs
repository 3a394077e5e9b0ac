//! Refusals that answer about a record the caller cannot see. Deduplication must say that a NIK
//! or membership number is taken, and one death benefit per worker must refuse a second, even when
//! the record belongs to another regency; but each such answer tells the caller something it may
//! not read (50 aliased registerWorker guesses per request listed the women of one district born
//! in 1974). So each is recorded in the audit log (who asked about which worker, NIK masked) and
//! counted against the key's budget (`--probes-per-hour`); past it the answer is RATE_LIMITED.
use serde::Serialize;

use super::access::visible_workers;
use super::audit::{self, AuditEntity};
use crate::auth::Actor;
use crate::entities::worker;
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Msg};
use crate::services::AppState;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// Whether the actor may see this worker (its domicile or a coverage in scope).
pub async fn can_see<C: ConnectionTrait>(db: &C, actor: &Actor, worker_id: i64) -> AppResult<bool> {
    Ok(worker::Entity::find_by_id(worker_id).filter(visible_workers(actor)).one(db).await?.is_some())
}

/// What the audit entry of a refusal holds.
#[derive(Serialize)]
struct Refused<'a> {
    refused: &'a str,
    nik: &'a str,
}

/// A worker the actor cannot see, and what it was told about it.
#[derive(Debug, Clone)]
pub struct HiddenWorker {
    pub worker_id: i64,
    pub nik: String,
    pub refused: Msg,
}

/// Records one REFUSAL entry per hidden worker in `txn` (NIKs masked by the audit log).
pub async fn record(
    txn: &DatabaseTransaction,
    actor: &Actor,
    operation: &str,
    hidden: &[HiddenWorker],
) -> AppResult<()> {
    for worker in hidden {
        // The audit log keeps English, as the logs do.
        let refused = worker.refused.text(Lang::En);
        let entry = Refused { refused: &refused, nik: &worker.nik };
        audit::record(txn, actor, operation, AuditEntity::Refusal, worker.worker_id, None, Some(&entry)).await?;
    }
    if !hidden.is_empty() {
        tracing::info!(
            key_id = actor.key_id,
            operation,
            count = hidden.len(),
            "refused: records outside the key's scope"
        );
    }
    Ok(())
}

/// `record` in a transaction of its own. Call it outside any transaction of the request (on SQLite
/// a write transaction would hold the lock the audit entry needs).
pub async fn record_alone(state: &AppState, actor: &Actor, operation: &str, hidden: &[HiddenWorker]) -> AppResult<()> {
    if hidden.is_empty() {
        return Ok(());
    }
    let txn = audit::begin_append(&state.db).await?;
    record(&txn, actor, operation, hidden).await?;
    txn.commit().await?;
    Ok(())
}

/// The CONFLICT `message` about `hidden` (a worker the actor cannot see), audited (in a
/// transaction of its own) and counted. Call it outside any transaction of the request; a
/// transaction that found the conflict must be rolled back first.
pub async fn refuse(
    state: &AppState,
    actor: &Actor,
    operation: &str,
    hidden: &worker::Model,
    message: Msg,
) -> AppError {
    let refusal = HiddenWorker { worker_id: hidden.id, nik: hidden.nik.clone(), refused: message.clone() };
    if let Err(err) = record_alone(state, actor, operation, &[refusal]).await {
        return err;
    }
    match state.throttle.probe(actor.key_id).await {
        Ok(()) => AppError::Conflict(message),
        Err(limited) => limited,
    }
}

/// CONFLICT `message` when the actor may see `other`, otherwise the audited, counted refusal.
pub async fn conflict_with(
    state: &AppState,
    actor: &Actor,
    operation: &str,
    other: &worker::Model,
    message: Msg,
) -> AppResult<AppError> {
    if can_see(&state.db, actor, other.id).await? {
        Ok(AppError::Conflict(message))
    } else {
        Ok(refuse(state, actor, operation, other, message).await)
    }
}
