//! Benefit payouts (claims walked to payment) and the append-only audit log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("payout")
                    .col(big_pk_auto("id"))
                    .col(big_integer("worker_id"))
                    .col(big_integer("coverage_id"))
                    // The coverage's regency, kept on the payout: statistics and scoping read it.
                    .col(string_len("regency_code", 5))
                    .col(string_len("benefit", 24))
                    .col(big_integer("amount"))
                    .col(string_len("status", 16))
                    .col(string_len("beneficiary_name", 200))
                    .col(string_len("beneficiary_relationship", 16))
                    .col(date("incident_on"))
                    .col(timestamp_with_time_zone("submitted_at"))
                    .col(big_integer("submitted_by"))
                    .col(timestamp_with_time_zone_null("verified_at"))
                    .col(big_integer_null("verified_by"))
                    .col(timestamp_with_time_zone_null("approved_at"))
                    .col(big_integer_null("approved_by"))
                    .col(timestamp_with_time_zone_null("paid_at"))
                    .col(big_integer_null("paid_by"))
                    .col(date_null("paid_on"))
                    .col(string_len_null("payment_reference", 200))
                    .col(timestamp_with_time_zone_null("rejected_at"))
                    .col(big_integer_null("rejected_by"))
                    .col(string_len_null("rejection_reason", 1000))
                    .col(string_len_null("idempotency_key", 200))
                    .foreign_key(ForeignKey::create().from("payout", "worker_id").to("worker", "id"))
                    .foreign_key(ForeignKey::create().from("payout", "coverage_id").to("coverage", "id"))
                    .foreign_key(ForeignKey::create().from("payout", "regency_code").to("regency", "code"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX idx_payout_worker ON payout (worker_id)",
            "CREATE INDEX idx_payout_submitted ON payout (submitted_at, id)",
            "CREATE INDEX idx_payout_regency_submitted ON payout (regency_code, submitted_at, id)",
            "CREATE INDEX idx_payout_regency_paid ON payout (regency_code, paid_on)",
            "CREATE INDEX idx_payout_status ON payout (status, benefit)",
            // A retried submission finds the first one; a racing duplicate fails here.
            "CREATE UNIQUE INDEX uq_payout_idempotency ON payout (submitted_by, idempotency_key)",
            // One death benefit per worker unless the earlier one was rejected, even under races.
            "CREATE UNIQUE INDEX uq_payout_one_death ON payout (worker_id) \
             WHERE benefit IN ('DEATH', 'WORK_ACCIDENT_DEATH') AND status <> 'REJECTED'",
        ] {
            db.execute_unprepared(sql).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(big_integer("api_key_id"))
                    .col(string_len("api_key_name", 100))
                    .col(string_len("operation", 64))
                    .col(string_len("entity_type", 32))
                    .col(big_integer("entity_id"))
                    // JSON object: field -> {"before": ..., "after": ...}; NIKs masked.
                    .col(text("changes"))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("CREATE INDEX idx_audit_entity ON audit_log (entity_type, entity_id, id)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_log", "payout"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
