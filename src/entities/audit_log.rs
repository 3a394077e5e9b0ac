//! `audit_log` table: append-only record of every mutation, hash-chained; triggers refuse UPDATE
//! and DELETE but the sealing of an entry's hashes (see `services::audit`, `services::audit_sealer`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub api_key_id: i64,
    pub api_key_name: String,
    /// The GraphQL mutation, e.g. "registerWorker".
    pub operation: String,
    /// "WORKER", "COVERAGE", "COVERAGE_TARGET" or "PAYOUT".
    pub entity_type: String,
    pub entity_id: i64,
    /// JSON object: field -> {"before": ..., "after": ...}; NIKs masked.
    pub changes: String,
    /// The `entry_hash` of the entry before (64 zeros for the first); None until the entry is
    /// sealed (PostgreSQL: within a second of its commit).
    pub previous_hash: Option<String>,
    /// Hex SHA-256 of `previous_hash` and this entry's content (`domain::audit_chain`); None
    /// until sealed.
    pub entry_hash: Option<String>,
    /// The person who acted: an access token's subject, or the owner of the key (None: a key of
    /// no one's, the command line, or an entry from before entries named people).
    pub person: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
