//! `audit_log` table: append-only record of every mutation. Nothing updates or deletes rows.
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
