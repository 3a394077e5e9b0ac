//! People, not shared keys: the person behind each audit entry (an access token's subject, or the
//! owner of the key used), and the person behind each step of a payout, so that four-eyes compares
//! people rather than keys. Entries and payouts made before stay without one (NULL): the chain
//! hashes a person only when there is one, so the entries sealed before still verify.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column) in the order they are added.
const COLUMNS: [(&str, &str); 4] = [
    ("audit_log", "person"),
    ("payout", "submitted_by_person"),
    ("payout", "verified_by_person"),
    ("payout", "approved_by_person"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        for (table, column) in COLUMNS {
            manager.alter_table(Table::alter().table(table).add_column(string_null(column)).to_owned()).await?;
        }
        // `auditLog(actor:)` finds a person's entries without reading the whole log.
        manager
            .create_index(Index::create().name("idx_audit_log_person").table("audit_log").col("person").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_audit_log_person").table("audit_log").to_owned()).await?;
        for (table, column) in COLUMNS.into_iter().rev() {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
