//! Business rules with no I/O: unit-tested here, enforced by the services.
pub mod audit_chain;
pub mod benefits;
pub mod cells;
pub mod coverage_period;
pub mod excel_damage;
pub mod four_eyes;
pub mod nik;
pub mod payout_state;
pub mod types;
