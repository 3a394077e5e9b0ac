//! Keys that belong to someone and end: the person answerable for a key (an OpenID Connect
//! subject, or whatever names them) and when it stops working. Keys made before stay without
//! either (they never expire, as they were made).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        manager.alter_table(Table::alter().table("api_key").add_column(string_null("owner")).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table("api_key").add_column(timestamp_with_time_zone_null("expires_at")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("api_key").drop_column("expires_at").to_owned()).await?;
        manager.alter_table(Table::alter().table("api_key").drop_column("owner").to_owned()).await
    }
}
