//! The sealer's UPDATE stays on the entry's page (PostgreSQL): a heap-only (HOT) update, with no
//! new index entries, instead of a new row version elsewhere with an entry in every index.
//! - `idx_audit_unsealed` goes: its predicate is on `entry_hash`, which the sealing sets, so while
//!   it existed no sealing could be a HOT update; and every sealed entry left a dead entry in it
//!   that the sealer's next reads walked past until a vacuum (the sealer fell further behind the
//!   longer writes ran). The sealer now reads the entries after the sealed head by id.
//! - Pages of new entries are filled to half (`fillfactor`), so that the sealed version of each
//!   entry fits beside it: every entry is sealed once, so the table takes the space it took
//!   before (two versions per entry), on the same pages.
//!
//! SQLite chains each entry as it is inserted and never updates one.
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_audit_unsealed").await?;
        db.execute_unprepared("ALTER TABLE audit_log SET (fillfactor = 50)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE audit_log RESET (fillfactor)").await?;
        db.execute_unprepared("CREATE INDEX idx_audit_unsealed ON audit_log (id) WHERE entry_hash IS NULL").await?;
        Ok(())
    }
}
