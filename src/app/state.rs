//! What every request needs, built once at start and shared.
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use crate::areas::Areas;
use crate::auth::keys::KeyCache;
use crate::auth::throttle::Throttle;
use crate::config::{ApiLimits, BrowserSettings};
use crate::graphql::admission::trusted_documents::TrustedDocuments;
use crate::live::Live;
use crate::services::personal_data::ReadLog;
use crate::stats::publication::Publications;

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
    pub replica: Option<Arc<crate::db::replica::ReadReplica>>,
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
