//! The audit trail: every mutation appends, in its own transaction, who did what to which entity
//! and the fields it changed (before/after), with NIKs masked. Rows are never updated or deleted.
use async_graphql::Enum;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::pagination::{Cursor, Page, PageArgs, Window};
use super::personal_data::ReadNote;
use crate::AppState;
use crate::auth::{Actor, Caller, Role};
use crate::domain::nik;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};

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
}

impl AuditEntity {
    fn as_str(self) -> &'static str {
        match self {
            AuditEntity::Worker => "WORKER",
            AuditEntity::Coverage => "COVERAGE",
            AuditEntity::CoverageTarget => "COVERAGE_TARGET",
            AuditEntity::Payout => "PAYOUT",
            AuditEntity::EnrollmentImport => "ENROLLMENT_IMPORT",
            AuditEntity::Refusal => "REFUSAL",
            AuditEntity::PersonalDataRead => "PERSONAL_DATA_READ",
        }
    }
}

/// Appends one entry. `before` is None for a creation, `after` None for a removal.
pub async fn record<C: ConnectionTrait, T: Serialize>(
    db: &C,
    actor: &Actor,
    operation: &str,
    entity: AuditEntity,
    entity_id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    let changes = diff(before.map(to_json).transpose()?, after.map(to_json).transpose()?);
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        api_key_id: Set(actor.key_id),
        api_key_name: Set(actor.key_name.clone()),
        operation: Set(operation.to_owned()),
        entity_type: Set(entity.as_str().to_owned()),
        entity_id: Set(entity_id),
        changes: Set(changes.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
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

/// Appends the notes of personal-data reads, one entry each, in one transaction.
pub async fn record_reads(db: &DatabaseConnection, notes: &[ReadNote]) -> AppResult<()> {
    let txn = db.begin().await?;
    for note in notes {
        let changes = serde_json::to_string(&note.details)
            .map_err(|e| AppError::Internal(format!("audit serialization: {e}")))?;
        audit_log::ActiveModel {
            at: Set(note.at),
            api_key_id: Set(note.key_id),
            api_key_name: Set(note.key_name.clone()),
            operation: Set(note.read.operation().to_owned()),
            entity_type: Set(AuditEntity::PersonalDataRead.as_str().to_owned()),
            entity_id: Set(note.worker_id),
            changes: Set(changes),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
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

/// Which entries `list` returns: of one entity type, one entity, one key (all when None).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<i64>,
    pub api_key_id: Option<i64>,
}

/// Entries newest first, for admins only.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: AuditFilter,
    args: &PageArgs,
) -> AppResult<Page<audit_log::Model>> {
    let actor = caller.as_ref().ok_or(AppError::Unauthenticated)?;
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden("only admins read the audit log".into()));
    }
    let window = Window::new(args, "AUDIT")?;
    let mut query = audit_log::Entity::find();
    if let Some(entity) = filter.entity {
        query = query.filter(audit_log::Column::EntityType.eq(entity.as_str()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(id));
    }
    if let Some(id) = filter.api_key_id {
        query = query.filter(audit_log::Column::ApiKeyId.eq(id));
    }
    // Newest first: "after" a cursor means smaller ids.
    if let Some(after) = &window.after {
        query = query.filter(audit_log::Column::Id.lt(after.id));
    }
    if let Some(before) = &window.before {
        query = query.filter(audit_log::Column::Id.gt(before.id));
    }
    let query = if window.backward {
        query.order_by_asc(audit_log::Column::Id)
    } else {
        query.order_by_desc(audit_log::Column::Id)
    };
    let rows = query.limit(window.limit + 1).all(&state.db).await?;
    let fetched = rows
        .into_iter()
        .map(|row| (Cursor { ordering: "AUDIT".into(), key: String::new(), id: row.id }, row))
        .collect();
    Ok(Page::from_fetched(&window, fetched))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn niks_are_masked() {
        let value = to_json(&json!({ "nik": "3603121505850001" })).unwrap();
        assert_eq!(value["nik"], "360312******0001");
    }
}
