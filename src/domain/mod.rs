//! Business rules with no I/O: unit-tested here, enforced by the services.
pub mod audit_chain;
pub mod benefits;
pub mod coverage_period;
pub mod nik;
pub mod payout_state;
pub mod types;
