//! API keys as people make and withdraw them (`jaminan api-key`): each an entry of the audit
//! chain, written in the transaction that writes the key.
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;

use super::audit::{self, AuditEntity};
use crate::auth::keys::{KeyTerms, insert_key, mark_revoked};
use crate::auth::{Actor, Role};
use crate::entities::api_key;
use crate::error::AppResult;

/// Creates a key, with an audit entry by `actor` in the same transaction (the key row and its
/// entry both, or neither).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    role: Role,
    scope: Option<String>,
    terms: KeyTerms,
) -> AppResult<(String, api_key::Model)> {
    let txn = db.begin().await?;
    let (key, row) = insert_key(&txn, name, role, scope, terms).await?;
    // Inserted first: on SQLite the transaction holds the write lock before it reads the chain.
    audit::record(&txn, actor, "createApiKey", AuditEntity::ApiKey, row.id, None, Some(&KeyAudit::of(&row))).await?;
    txn.commit().await?;
    Ok((key, row))
}

/// What the audit log says of a key: never the key, nor its hash (which would let anyone holding
/// the log test guesses offline).
#[derive(Serialize)]
struct KeyAudit<'a> {
    name: &'a str,
    role: &'a str,
    scope: Option<&'a str>,
    /// Written only when set: the entries of keys made before keys had owners and ends read as
    /// they always did.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

impl<'a> KeyAudit<'a> {
    fn of(row: &'a api_key::Model) -> Self {
        KeyAudit {
            name: &row.name,
            role: &row.role,
            scope: row.scope.as_deref(),
            owner: row.owner.as_deref(),
            expires_at: row.expires_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// Revokes a key, with an audit entry by `actor` in the same transaction; false (and no entry)
/// when no active key has that id. The entry reads as the key's removal (its name, role and
/// scope before, nothing after): a revoked key never works again.
pub async fn revoke(db: &DatabaseConnection, actor: &Actor, id: i64) -> AppResult<bool> {
    let txn = db.begin().await?;
    let Some(row) = mark_revoked(&txn, id).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    audit::record(&txn, actor, "revokeApiKey", AuditEntity::ApiKey, id, Some(&KeyAudit::of(&row)), None).await?;
    txn.commit().await?;
    Ok(true)
}
