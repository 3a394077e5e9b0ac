//! A coverage can be cancelled before it starts (`cancelCoverage`, or `recordDeath` for the
//! periods that start after the death): the row stays, for auditors, and counts nowhere.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter().table("coverage").add_column(timestamp_with_time_zone_null("cancelled_at")).to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table("coverage").add_column(text_null("cancel_reason")).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["cancel_reason", "cancelled_at"] {
            manager.alter_table(Table::alter().table("coverage").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
