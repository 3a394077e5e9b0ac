//! Server configuration from flags with environment fallbacks.
use std::net::SocketAddr;

/// Where the embedded default database lives (created with its folder when missing).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/jaminan.db?mode=rwc";

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://user@host/db` or `sqlite://path?mode=rwc`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[arg(long, env = "JAMINAN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Load the deterministic demo dataset (Kabupaten Tangerang 2022-2023) into an empty database.
    #[arg(long)]
    pub demo: bool,
}
