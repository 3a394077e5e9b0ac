//! Workers, their coverage periods, yearly targets per regency, and API keys.
//! Indexes follow the hot paths: keyset pages over workers and per-area/year statistics.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("worker")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("nik", 16))
                    .col(string_len("full_name", 200))
                    .col(string_len("gender", 8))
                    .col(date("birth_date"))
                    .col(string_len("occupation", 32))
                    .col(string_len("regency_code", 5))
                    .col(string_len_null("district_code", 8))
                    .col(string_len("status", 16))
                    .col(date_null("died_on"))
                    .col(string_len_null("membership_number", 32).unique_key())
                    .col(timestamp_with_time_zone("registered_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(ForeignKey::create().from("worker", "regency_code").to("regency", "code"))
                    .foreign_key(ForeignKey::create().from("worker", "district_code").to("district", "code"))
                    .to_owned(),
            )
            .await?;
        // Keyset pagination: (sort key, id), globally and within a domicile regency.
        index(manager, "worker", "idx_worker_name", &["full_name", "id"]).await?;
        index(manager, "worker", "idx_worker_registered", &["registered_at", "id"]).await?;
        index(manager, "worker", "idx_worker_regency_name", &["regency_code", "full_name", "id"]).await?;
        index(manager, "worker", "idx_worker_regency_registered", &["regency_code", "registered_at", "id"]).await?;
        index(manager, "worker", "idx_worker_district", &["district_code"]).await?;

        manager
            .create_table(
                Table::create()
                    .table("coverage")
                    .col(big_pk_auto("id"))
                    .col(big_integer("worker_id"))
                    .col(string_len("regency_code", 5))
                    .col(string_len("funding_source", 24))
                    .col(string_len("programs", 32))
                    .col(big_integer("declared_monthly_income"))
                    .col(big_integer("monthly_premium"))
                    .col(date("starts_on"))
                    .col(date_null("ends_on"))
                    .col(string_len_null("end_reason", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("coverage", "worker_id").to("worker", "id"))
                    .foreign_key(ForeignKey::create().from("coverage", "regency_code").to("regency", "code"))
                    .to_owned(),
            )
            .await?;
        index(manager, "coverage", "idx_coverage_worker", &["worker_id", "starts_on"]).await?;
        // Statistics: one range scan per regency and year, covering the worker id.
        index(
            manager,
            "coverage",
            "idx_coverage_regency_period",
            &["regency_code", "starts_on", "ends_on", "worker_id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("coverage_target")
                    .col(big_pk_auto("id"))
                    .col(string_len("regency_code", 5))
                    .col(integer("year"))
                    .col(big_integer("target_workers"))
                    .col(big_integer_null("eligible_workers"))
                    .col(big_integer_null("budget"))
                    .col(string_len_null("funding_source", 24))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(ForeignKey::create().from("coverage_target", "regency_code").to("regency", "code"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_coverage_target_regency_year")
                    .table("coverage_target")
                    .col("regency_code")
                    .col("year")
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_key")
                    .col(big_pk_auto("id"))
                    .col(string_len("name", 100))
                    .col(string_len("role", 16))
                    .col(string_len_null("scope", 8))
                    .col(string_len_uniq("key_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["api_key", "coverage_target", "coverage", "worker"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn index(manager: &SchemaManager<'_>, table: &str, name: &str, columns: &[&str]) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(Alias::new(table));
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    manager.create_index(stmt).await
}
