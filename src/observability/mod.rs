//! What operators see of a running server: metrics, traces and log setup, pool waits.
pub mod metrics;
pub mod pool_waits;
pub mod telemetry;
