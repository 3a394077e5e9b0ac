//! API keys and the caller they identify. Keys are random, shown once, stored as SHA-256 hashes
//! (a 256-bit random key needs no slow hash), and looked up on every request so that revoking
//! a key takes effect at once.
use chrono::Utc;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};

use crate::entities::api_key;
use crate::error::{AppError, AppResult};

/// What a key may do, each role including the ones before it (services::access applies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Role {
    Viewer,
    Operator,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Operator => "OPERATOR",
            Role::Supervisor => "SUPERVISOR",
            Role::Admin => "ADMIN",
        }
    }

    fn parse(stored: &str) -> Option<Role> {
        [Role::Viewer, Role::Operator, Role::Supervisor, Role::Admin].into_iter().find(|r| r.as_str() == stored)
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key_id: i64,
    pub key_name: String,
    pub role: Role,
    /// A province or regency code, or None for the whole country.
    pub scope: Option<String>,
}

impl Actor {
    /// Whether the caller may see full NIKs (everyone with a key but viewers).
    pub fn sees_nik(&self) -> bool {
        self.role != Role::Viewer
    }
}

/// The caller of a request, if any; passed to every service call.
pub type Caller = Option<Actor>;

/// Resolves `Authorization: Bearer <key>`; an unknown or revoked key is UNAUTHENTICATED.
pub async fn authenticate(db: &DatabaseConnection, header: Option<&str>) -> AppResult<Caller> {
    let Some(header) = header else { return Ok(None) };
    let key = header.strip_prefix("Bearer ").map(str::trim).ok_or(AppError::Unauthenticated)?;
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash(key)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let role =
        Role::parse(&found.role).ok_or_else(|| AppError::Internal(format!("api key {} has unknown role", found.id)))?;
    Ok(Some(Actor { key_id: found.id, key_name: found.name, role, scope: found.scope }))
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key and returns it with its row; the key is not recoverable afterwards.
pub async fn create_key(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    scope: Option<String>,
) -> AppResult<(String, api_key::Model)> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::bad_input("name", "a key name has 1 to 100 characters"));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("jmn_{}", hex::encode(secret));
    let row = api_key::ActiveModel {
        name: Set(name.to_owned()),
        role: Set(role.as_str().to_owned()),
        scope: Set(scope),
        key_hash: Set(hash(&key)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((key, row))
}

pub async fn list_keys(db: &DatabaseConnection) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find().order_by_asc(api_key::Column::Id).all(db).await?)
}

/// Revokes a key; false when no active key has that id.
pub async fn revoke_key(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
