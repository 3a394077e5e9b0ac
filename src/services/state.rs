//! What the use cases share, built once at start: the database, the reference areas, the API keys
//! in memory, the rate budgets, the publication of public figures, the personal-data reads waiting
//! to be audited, and the hub of committed changes.
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use crate::areas::Areas;
use crate::auth::keys::KeyCache;
use crate::auth::throttle::Throttle;
use crate::live::Live;
use crate::services::personal_data::ReadLog;
use crate::stats::publication::Publications;

/// What every request needs: the database, the reference areas loaded at start, the API keys
/// held in memory and the budgets over time.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub areas: Arc<Areas>,
    pub keys: Arc<KeyCache>,
    pub throttle: Arc<Throttle>,
    /// The statistics that callers outside an area's scope receive (small counts withheld).
    pub publications: Arc<Publications>,
    /// Personal-data reads waiting to be appended to the audit log.
    pub reads: Arc<ReadLog>,
    /// Committed changes, for subscriptions (across instances on PostgreSQL).
    pub live: Arc<Live>,
}

impl AppState {
    pub async fn new(db: DatabaseConnection) -> Result<Self, DbErr> {
        let areas = Areas::load(&db).await?;
        let reads = Arc::new(ReadLog::default());
        ReadLog::spawn_flusher(&reads, db.clone());
        Ok(AppState {
            areas: Arc::new(areas),
            keys: Arc::default(),
            throttle: Arc::default(),
            publications: Arc::default(),
            reads,
            live: Live::new(db.clone()),
            db,
        })
    }
}
