//! jaminan: a GraphQL API for regency-funded BPJS Ketenagakerjaan coverage of vulnerable workers.
//!
//! Layers: `graphql` (thin resolvers) -> `services` (use cases, access, writes) and `stats`
//! (maintained coverage summaries) -> `domain` (rules without I/O) and `entities` (tables). `http`
//! serves the schema; `auth` turns API keys into callers.
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod domain;
pub mod entities;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod i18n;
pub mod live;
pub mod metrics;
pub mod pool_waits;
pub mod request_id;
pub mod seed;
pub mod server;
pub mod services;
pub mod stats;
mod synthetic;
pub mod telemetry;
pub mod throttle;
pub mod trusted_documents;
pub mod web;
pub mod websocket;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use auth::KeyCache;
use config::{ApiLimits, BrowserSettings};
use live::Live;
use services::areas::Areas;
use services::personal_data::ReadLog;
use stats::publication::Publications;
use throttle::Throttle;
use trusted_documents::TrustedDocuments;

/// What every request needs: the database, the reference areas loaded at start, the API keys
/// held in memory, the limits a request must stay within and the budgets over time.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub areas: Arc<Areas>,
    pub keys: Arc<KeyCache>,
    pub limits: ApiLimits,
    pub throttle: Arc<Throttle>,
    /// The statistics that callers outside an area's scope receive (small counts withheld).
    pub publications: Arc<Publications>,
    /// Personal-data reads waiting to be appended to the audit log.
    pub reads: Arc<ReadLog>,
    /// CORS origins and the caching of public figures.
    pub browser: BrowserSettings,
    /// The frontends' trusted documents and whether anything else may run.
    pub trusted: Arc<TrustedDocuments>,
    /// Committed changes, for subscriptions (across instances on PostgreSQL).
    pub live: Arc<Live>,
    /// Turns true when the server starts shutting down (long-lived WebSockets close then).
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Where queries read when a PostgreSQL replica is configured (`--read-database-url`).
    pub replica: Option<Arc<db::replica::ReadReplica>>,
    /// `/metrics` on the main router: true unless `--metrics-listen` serves it elsewhere.
    pub metrics_on_main: bool,
    /// Besides an ADMIN key, what opens `/metrics` on the main router (`--metrics-token`).
    pub metrics_token: Option<Arc<str>>,
}

impl AppState {
    pub async fn new(db: DatabaseConnection) -> Result<Self, DbErr> {
        let areas = Areas::load(&db).await?;
        let reads = Arc::new(ReadLog::default());
        ReadLog::spawn_flusher(&reads, db.clone());
        Ok(AppState {
            areas: Arc::new(areas),
            keys: Arc::default(),
            limits: ApiLimits::default(),
            throttle: Arc::default(),
            publications: Arc::default(),
            reads,
            browser: BrowserSettings::default(),
            trusted: Arc::default(),
            live: Live::new(db.clone()),
            replica: None,
            // No server yet: `server::run` gives the state its own signal.
            stopping: tokio::sync::watch::channel(false).1,
            metrics_on_main: true,
            metrics_token: None,
            db,
        })
    }
}

/// The whole HTTP app, as `main` serves it and tests drive it.
pub fn build_app(state: AppState) -> axum::Router {
    http::router(state)
}
