//! What a seed is asked to load, and what it reports.
use std::time::Duration;

/// What `jaminan seed` loads.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub workers: u64,
    /// Another seed gives other names, NIKs, dates and stories (same sizes).
    pub seed: u64,
}

pub const DEFAULT_SEED: u64 = 20_230_620;

/// What was loaded, and how fast.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub workers: u64,
    pub coverages: u64,
    pub payouts: u64,
    pub targets: u64,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn workers_per_second(&self) -> f64 {
        self.workers as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}
