//! Maintained coverage summaries (see the server's `stats` module): per area and year, counters
//! from which every figure follows, kept current by the mutations in their own transactions.
//! Rows are spread over a few shards per area and year so that concurrent writers do not queue
//! on one row; reads sum the shards.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Counter columns of `coverage_summary`, all BIGINT NOT NULL DEFAULT 0.
const COUNTERS: [&str; 13] = [
    "run_starts",
    "run_ends",
    "male_run_starts",
    "male_run_ends",
    "premium",
    "premium_rate_change",
    "payouts_paid",
    "payouts_paid_amount",
    "payouts_pending",
    "targets_set",
    "target_workers",
    "eligible_set",
    "eligible_workers",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let counters: Vec<String> = COUNTERS.iter().map(|c| format!("{c} BIGINT NOT NULL DEFAULT 0")).collect();
        db.execute_unprepared(&format!(
            "CREATE TABLE coverage_summary (area_code VARCHAR(8) NOT NULL, year INTEGER NOT NULL, \
             shard INTEGER NOT NULL, {}, PRIMARY KEY (area_code, year, shard))",
            counters.join(", ")
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TABLE coverage_summary_occupation (area_code VARCHAR(8) NOT NULL, year INTEGER NOT NULL, \
             occupation VARCHAR(32) NOT NULL, shard INTEGER NOT NULL, run_starts BIGINT NOT NULL DEFAULT 0, \
             run_ends BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (area_code, year, occupation, shard))",
        )
        .await?;
        // A row here asks the server to rebuild the summaries from the raw rows at its next start:
        // a database that already holds workers gets exact figures from its first start on.
        db.execute_unprepared("CREATE TABLE stats_rebuild_request (reason VARCHAR(200) NOT NULL)").await?;
        db.execute_unprepared("INSERT INTO stats_rebuild_request (reason) VALUES ('summaries created')").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["stats_rebuild_request", "coverage_summary_occupation", "coverage_summary"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
