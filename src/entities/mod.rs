//! sea-orm entities, one per table. Relations are joined explicitly in the services.
pub mod api_key;
pub mod audit_log;
pub mod coverage;
pub mod coverage_target;
pub mod district;
pub mod payout;
pub mod province;
pub mod regency;
pub mod worker;
