//! Database schema and reference data, as sea-orm migrations shared by PostgreSQL and SQLite.
pub use sea_orm_migration::prelude::*;

pub mod audit_chain;

mod m20261124_000001_areas;
mod m20261124_000002_workers_coverage;
mod m20261124_000003_payouts_audit;
mod m20261125_000004_coverage_summary;
mod m20261126_000005_audit_chain;
mod m20261201_000006_coverage_cancelled;
mod m20261201_000007_api_key_last_used;
mod m20261210_000008_api_key_owner_expiry;
mod m20261220_000024_people_persons;
mod m20261220_000052_sealer_unsealed_entries;
mod m20261221_000053_sealing_in_place;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_areas::Migration),
            Box::new(m20261124_000002_workers_coverage::Migration),
            Box::new(m20261124_000003_payouts_audit::Migration),
            Box::new(m20261125_000004_coverage_summary::Migration),
            Box::new(m20261126_000005_audit_chain::Migration),
            Box::new(m20261201_000006_coverage_cancelled::Migration),
            Box::new(m20261201_000007_api_key_last_used::Migration),
            Box::new(m20261210_000008_api_key_owner_expiry::Migration),
            Box::new(m20261220_000024_people_persons::Migration),
            Box::new(m20261220_000052_sealer_unsealed_entries::Migration),
            Box::new(m20261221_000053_sealing_in_place::Migration),
        ]
    }
}
