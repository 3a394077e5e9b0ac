//! `api_key` table.
#[allow(unused_imports)]
use crate::domain::types::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub role: String,
    /// A province ("36") or regency ("36.03") code, or None for the whole country.
    pub scope: Option<String>,
    /// SHA-256 of the key, hex. The key itself is never stored.
    pub key_hash: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// When the key was last used, to the minute (None: never).
    pub last_used_at: Option<DateTimeUtc>,
    /// Who answers for the key (an OpenID Connect subject for a person); None for keys made
    /// before keys had owners.
    pub owner: Option<String>,
    /// When the key stops working; None for keys made before keys expired.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
