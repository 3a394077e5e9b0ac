//! The audit log becomes tamper-evident: each entry carries its hash and the previous entry's
//! (see `audit_chain`), the entries already stored are sealed in id order, and the database
//! refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the table.
use sea_orm::DbBackend;
use sea_orm::prelude::DateTimeUtc;
use sea_orm_migration::prelude::*;

use crate::audit_chain::{self, Content};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Entries sealed per query: a deployed log need not fit in memory.
const PAGE: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // NOT NULL with an empty default for the rows already there; they are sealed just below,
        // and `jaminan audit verify` reports an empty hash like any other mismatch.
        for column in ["previous_hash", "entry_hash"] {
            db.execute_unprepared(&format!(
                "ALTER TABLE audit_log ADD COLUMN {column} VARCHAR(64) NOT NULL DEFAULT ''"
            ))
            .await?;
        }
        seal_existing(manager).await?;
        let refuse = "audit_log is append-only";
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for column in ["previous_hash", "entry_hash"] {
                    db.execute_unprepared(&format!("ALTER TABLE audit_log ALTER COLUMN {column} DROP DEFAULT")).await?;
                }
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION '{refuse}'; END $$"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {
                for (name, event) in [("audit_log_no_update", "UPDATE"), ("audit_log_no_delete", "DELETE")] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON audit_log \
                         BEGIN SELECT RAISE(ABORT, '{refuse}'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER audit_log_no_truncate ON audit_log").await?;
                db.execute_unprepared("DROP TRIGGER audit_log_no_change ON audit_log").await?;
                db.execute_unprepared("DROP FUNCTION audit_log_append_only()").await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER audit_log_no_update").await?;
                db.execute_unprepared("DROP TRIGGER audit_log_no_delete").await?;
            }
        }
        for column in ["entry_hash", "previous_hash"] {
            db.execute_unprepared(&format!("ALTER TABLE audit_log DROP COLUMN {column}")).await?;
        }
        Ok(())
    }
}

/// Chains the entries written before this migration, oldest first (before the triggers exist).
async fn seal_existing(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let mut previous = audit_chain::GENESIS.to_owned();
    let mut last_id = 0i64;
    loop {
        let page = Query::select()
            .columns(["id", "at", "api_key_id", "api_key_name", "operation", "entity_type", "entity_id", "changes"])
            .from("audit_log")
            .and_where(Expr::col("id").gt(last_id))
            .order_by("id", Order::Asc)
            .limit(PAGE)
            .to_owned();
        let rows = db.query_all(&page).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let (name, operation, entity_type, changes): (String, String, String, String) = (
                row.try_get("", "api_key_name")?,
                row.try_get("", "operation")?,
                row.try_get("", "entity_type")?,
                row.try_get("", "changes")?,
            );
            let at: DateTimeUtc = row.try_get("", "at")?;
            let hash = audit_chain::entry_hash(
                &previous,
                &Content {
                    at,
                    api_key_id: row.try_get("", "api_key_id")?,
                    api_key_name: &name,
                    operation: &operation,
                    entity_type: &entity_type,
                    entity_id: row.try_get("", "entity_id")?,
                    changes: &changes,
                    person: None,
                },
            );
            let seal = Query::update()
                .table("audit_log")
                .value("previous_hash", previous.as_str())
                .value("entry_hash", hash.as_str())
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            db.execute(&seal).await?;
            previous = hash;
            last_id = id;
        }
    }
}
