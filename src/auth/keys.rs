//! API keys. Keys are random, shown once, stored as SHA-256 hashes (a 256-bit random key needs
//! no slow hash). Each server holds the active keys in memory (`KeyCache`), so a request costs no
//! database round trip for its key, and re-reads them at most every half second, so a key revoked
//! on any instance (or by the CLI) stops working everywhere within a second. Making and revoking
//! keys as people do it, with their audit entries, is `services::api_keys`.
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use super::{Actor, Caller, Role};
use crate::entities::api_key;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// How stale the keys in memory may get: a revocation takes effect within this on every instance.
pub const KEY_REFRESH: Duration = Duration::from_millis(500);

/// A key's last use is written at most this often per key and instance: the uses are noted in
/// memory and written with the next refresh of the keys (one UPDATE for all of them), so a
/// request costs no statement of its own for it.
pub const LAST_USE_PRECISION: Duration = Duration::from_secs(60);

/// The active API keys by hash, as last read from the database.
#[derive(Debug)]
pub struct KeyCache {
    refresh: Duration,
    keys: RwLock<HashMap<String, ActiveKey>>,
    /// The last reads of the keys. Refreshes are serialized by this lock, so concurrent requests
    /// after the deadline cause one read, not one each.
    reads: tokio::sync::Mutex<Reads>,
    /// A copy of `read_at` that requests check without waiting on a refresh in progress.
    fresh_until: RwLock<Option<Instant>>,
    /// The keys' last uses: noted by requests, written by refreshes.
    uses: std::sync::Mutex<Uses>,
}

/// A key not revoked: who it makes the caller, and until when.
#[derive(Debug, Clone)]
struct ActiveKey {
    actor: Actor,
    expires_at: Option<chrono::DateTime<Utc>>,
}

impl ActiveKey {
    /// The caller, unless the key has expired (refused with a message that says so: the holder
    /// needs a new key, not to check the one they typed).
    fn caller(self) -> AppResult<Actor> {
        match self.expires_at {
            Some(at) if at <= Utc::now() => Err(AppError::Refused(Msg::KeyExpired)),
            _ => Ok(self.actor),
        }
    }
}

#[derive(Debug, Default)]
struct Uses {
    /// Keys used since their last use was written, and when.
    pending: HashMap<i64, chrono::DateTime<Utc>>,
    /// When this instance last wrote each key's last use.
    written: HashMap<i64, Instant>,
}

#[derive(Debug, Default)]
struct Reads {
    /// When the keys were last read in full (None: never).
    read_at: Option<Instant>,
    /// When the last read failed, and why.
    failed: Option<(Instant, AppError)>,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(KEY_REFRESH)
    }
}

impl KeyCache {
    pub fn new(refresh: Duration) -> Self {
        KeyCache {
            refresh,
            keys: RwLock::new(HashMap::new()),
            reads: tokio::sync::Mutex::default(),
            fresh_until: RwLock::new(None),
            uses: std::sync::Mutex::default(),
        }
    }

    /// Resolves `Authorization: Bearer <key>`; an unknown or revoked key is `UnknownKey`, an
    /// expired one `Refused(KeyExpired)`.
    pub async fn authenticate(&self, db: &DatabaseConnection, header: Option<&str>) -> AppResult<Caller> {
        self.authenticate_with(db, header, async { Ok(()) }).await
    }

    /// The same; `before_lookup` may refuse (with its error) a key that is not in memory before
    /// the database is asked for it (a future: it runs only for such a key).
    pub async fn authenticate_with(
        &self,
        db: &DatabaseConnection,
        header: Option<&str>,
        before_lookup: impl Future<Output = AppResult<()>>,
    ) -> AppResult<Caller> {
        let Some(header) = header else { return Ok(None) };
        let key = bearer_key(header).ok_or(AppError::UnknownKey)?;
        let hash = hash(key);
        self.refresh_if_stale(db).await?;
        if let Some(active) = self.keys.read().ok().and_then(|keys| keys.get(&hash).cloned()) {
            let actor = active.caller()?;
            self.note_use(actor.key_id);
            return Ok(Some(actor));
        }
        // Not active at the last read: created since (look it up once), or no key at all.
        before_lookup.await?;
        let active = find_active(db, &hash).await?.ok_or(AppError::UnknownKey)?;
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(hash, active.clone());
        }
        let actor = active.caller()?;
        self.note_use(actor.key_id);
        Ok(Some(actor))
    }

    /// Notes a use of the key, for the next refresh to write.
    fn note_use(&self, key_id: i64) {
        if let Ok(mut uses) = self.uses.lock() {
            uses.pending.insert(key_id, Utc::now());
        }
    }

    /// Writes the last uses noted since the last write of each key, at most once per
    /// `LAST_USE_PRECISION` per key, in a task of its own: a write that hangs or fails (the
    /// database going away) holds up and fails no request; the key's next use is written a
    /// minute later.
    fn write_uses(&self, db: &DatabaseConnection) {
        let due: Vec<(i64, chrono::DateTime<Utc>)> = {
            let Ok(mut uses) = self.uses.lock() else { return };
            let Uses { pending, written } = &mut *uses;
            let due: Vec<_> = pending
                .iter()
                .filter(|(id, _)| written.get(id).is_none_or(|at| at.elapsed() >= LAST_USE_PRECISION))
                .map(|(id, at)| (*id, *at))
                .collect();
            for (id, _) in &due {
                pending.remove(id);
                written.insert(*id, Instant::now());
            }
            due
        };
        let Some(latest) = due.iter().map(|(_, at)| *at).max() else { return };
        let update = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, sea_orm::sea_query::Expr::value(latest))
            .filter(api_key::Column::Id.is_in(due.iter().map(|(id, _)| *id)));
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(err) = update.exec(&db).await {
                tracing::debug!(error = %err, "last use of keys not written");
            }
        });
    }

    async fn refresh_if_stale(&self, db: &DatabaseConnection) -> AppResult<()> {
        let now = Instant::now();
        if self.fresh_until.read().ok().and_then(|t| *t).is_some_and(|until| now < until) {
            return Ok(());
        }
        let mut reads = self.reads.lock().await;
        if reads.read_at.is_some_and(|at| at.elapsed() < self.refresh) {
            return Ok(()); // another request refreshed while this one waited
        }
        // A read that ended while this request waited failed (the database is away): share its
        // answer. Trying again, one request after the other, each for as long as the pool waits
        // for a connection, kept requests in line for the whole outage.
        if let Some((failed_at, err)) = &reads.failed
            && *failed_at >= now
        {
            return Err(err.clone());
        }
        let started = Instant::now();
        let rows = match api_key::Entity::find().filter(api_key::Column::RevokedAt.is_null()).all(db).await {
            Ok(rows) => rows,
            Err(err) => {
                let err = AppError::from(err);
                reads.failed = Some((Instant::now(), err.clone()));
                return Err(err);
            }
        };
        let keys: HashMap<String, ActiveKey> =
            rows.into_iter().filter_map(|row| Some((row.key_hash.clone(), active_key(row).ok()?))).collect();
        if let Ok(mut current) = self.keys.write() {
            *current = keys;
        }
        reads.read_at = Some(started);
        reads.failed = None;
        if let Ok(mut until) = self.fresh_until.write() {
            *until = Some(started + self.refresh);
        }
        self.write_uses(db);
        Ok(())
    }
}

/// The key of an `Authorization: Bearer <key>` header: the scheme is case-insensitive and one or
/// more spaces follow it (RFC 9110 §11.1, §11.4).
pub fn bearer_key(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

async fn find_active(db: &DatabaseConnection, hash: &str) -> AppResult<Option<ActiveKey>> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    found.map(active_key).transpose()
}

fn active_key(row: api_key::Model) -> AppResult<ActiveKey> {
    let role =
        Role::parse(&row.role).ok_or_else(|| AppError::Internal(format!("api key {} has unknown role", row.id)))?;
    let actor = Actor { key_id: row.id, key_name: row.name, role, scope: row.scope, person: row.owner };
    Ok(ActiveKey { actor, expires_at: row.expires_at })
}

/// Who answers for a new key and when it ends (both None: a test fixture's key, for ever).
#[derive(Debug, Clone, Default)]
pub struct KeyTerms {
    pub owner: Option<String>,
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key and returns it with its row; the key is not recoverable afterwards. No audit
/// entry: for test fixtures. What people run (`jaminan api-key create`) goes through
/// `services::api_keys::create`.
pub async fn create_key(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    scope: Option<String>,
) -> AppResult<(String, api_key::Model)> {
    insert_key(db, name, role, scope, KeyTerms::default()).await
}

/// The same with an owner and an expiry (fixtures of the tests of those).
pub async fn create_key_with(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    scope: Option<String>,
    terms: KeyTerms,
) -> AppResult<(String, api_key::Model)> {
    insert_key(db, name, role, scope, terms).await
}

/// Writes a new key's row (in `db`, a transaction of the caller's when it audits the key).
pub async fn insert_key<C: ConnectionTrait>(
    db: &C,
    name: &str,
    role: Role,
    scope: Option<String>,
    terms: KeyTerms,
) -> AppResult<(String, api_key::Model)> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::bad_input("name", Msg::KeyNameLength));
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
        last_used_at: Set(None),
        owner: Set(terms.owner),
        expires_at: Set(terms.expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((key, row))
}

pub async fn list_keys(db: &DatabaseConnection) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find().order_by_asc(api_key::Column::Id).all(db).await?)
}

/// Revokes a key; false when no active key has that id. No audit entry: for tests. What people
/// run (`jaminan api-key revoke`) goes through `services::api_keys::revoke`.
pub async fn revoke_key(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    Ok(mark_revoked(db, id).await?.is_some())
}

/// Sets `revoked_at` on the active key `id`; its row as it is now, None when there was none.
pub async fn mark_revoked<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<api_key::Model>> {
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    Ok(api_key::Entity::find_by_id(id).one(db).await?)
}
