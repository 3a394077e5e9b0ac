//! The audit log's hashing rule. It is defined in the migration crate, which had to seal the
//! entries stored before the chain existed and cannot depend on the server: one rule, used by the
//! migration, by `services::audit::record` and by `jaminan audit verify`.
pub use migration::audit_chain::*;
