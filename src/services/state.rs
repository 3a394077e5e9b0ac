//! What the use cases share, built once at start: the database, the reference areas, the API keys
//! in memory, the rate budgets, the publication of public figures, the personal-data reads waiting
//! to be audited, and the hub of committed changes.
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use crate::areas::Areas;
use crate::auth::Caller;
use crate::auth::keys::{KeyCache, bearer_key};
use crate::auth::oidc::{AccessTokens, looks_like_token};
use crate::auth::throttle::Throttle;
use crate::config::FourEyes;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Live;
use crate::services::figure_feeds::registry::FigureFeeds;
use crate::services::personal_data::ReadLog;
use crate::stats::publication::Publications;

/// What every request needs: the database, the reference areas loaded at start, the API keys
/// held in memory and the budgets over time.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub areas: Arc<Areas>,
    pub keys: Arc<KeyCache>,
    /// People's access tokens, when an OpenID Connect issuer is configured.
    pub tokens: Option<Arc<AccessTokens>>,
    pub throttle: Arc<Throttle>,
    /// The statistics that callers outside an area's scope receive (small counts withheld).
    pub publications: Arc<Publications>,
    /// Personal-data reads waiting to be appended to the audit log.
    pub reads: Arc<ReadLog>,
    /// Committed changes, for subscriptions (across instances on PostgreSQL).
    pub live: Arc<Live>,
    /// Who may verify and approve payouts (`--four-eyes`).
    pub four_eyes: FourEyes,
    /// Figure subscribers of one area and class of caller, sharing one read per change.
    pub feeds: Arc<FigureFeeds>,
}

impl AppState {
    pub async fn new(db: DatabaseConnection) -> Result<Self, DbErr> {
        let areas = Areas::load(&db).await?;
        let reads = Arc::new(ReadLog::default());
        ReadLog::spawn_flusher(&reads, db.clone());
        Ok(AppState {
            areas: Arc::new(areas),
            keys: Arc::default(),
            tokens: None,
            throttle: Arc::default(),
            publications: Arc::default(),
            reads,
            live: Live::new(db.clone()),
            four_eyes: FourEyes::default(),
            feeds: Arc::default(),
            db,
        })
    }

    /// The caller an `Authorization` header names: a person's access token (a JWT), or an API key
    /// (`before_lookup` may refuse a key not held in memory before the database is asked).
    pub async fn authenticate_with(
        &self,
        authorization: Option<&str>,
        before_lookup: impl Future<Output = AppResult<()>>,
    ) -> AppResult<Caller> {
        if let Some(token) = authorization.and_then(bearer_key).filter(|value| looks_like_token(value)) {
            let tokens = self.tokens.as_ref().ok_or(AppError::Refused(Msg::TokensNotAccepted))?;
            return tokens.authenticate(token, &self.areas).await.map(Some);
        }
        self.keys.authenticate_with(&self.db, authorization, before_lookup).await
    }
}
