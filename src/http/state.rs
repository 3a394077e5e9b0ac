//! What the HTTP handlers share: the settings of the surface, and the state they run with.
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::config::{ApiLimits, BrowserSettings};
use crate::db::replica::ReadReplica;
use crate::graphql::admission::Admission;
use crate::graphql::admission::trusted_documents::TrustedDocuments;
use crate::graphql::schema::JaminanSchema;
use crate::http::pages::signin::SignIn;
use crate::services::AppState;

/// How the HTTP surface is set up (from `serve`'s flags): what a request may ask, what browsers
/// may do, which documents are trusted, where queries read, where /metrics is served, and the
/// signal that the server is stopping.
#[derive(Clone)]
pub struct HttpSettings {
    pub limits: ApiLimits,
    pub browser: BrowserSettings,
    pub trusted: Arc<TrustedDocuments>,
    /// Where queries read when a PostgreSQL replica is configured (`--read-database-url`).
    pub replica: Option<Arc<ReadReplica>>,
    /// The primary's pool for mutations (`--db-max-write-connections`); None: the app's pool.
    pub writes: Option<DatabaseConnection>,
    pub metrics: MetricsOnMain,
    /// Turns true when the server starts shutting down (long-lived WebSockets close then).
    pub stopping: watch::Receiver<bool>,
    /// Where the pages sign people in (`--oidc-client-id`); None: they ask for an API key.
    pub sign_in: Option<SignIn>,
}

/// Whether the main router serves `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsOnMain {
    /// `--metrics-listen` serves it on an address of its own.
    Elsewhere,
    /// Here, for an ADMIN key or this token (`--metrics-token`).
    ForAdmins { token: Option<Arc<str>> },
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            limits: ApiLimits::default(),
            browser: BrowserSettings::default(),
            trusted: Arc::default(),
            replica: None,
            writes: None,
            metrics: MetricsOnMain::ForAdmins { token: None },
            // No server yet: `app::server::run` gives the settings its own signal.
            stopping: watch::channel(false).1,
            sign_in: None,
        }
    }
}

/// What the handlers share: the application, the HTTP settings, the schema, and the admission of
/// documents (with its parsed documents).
#[derive(Clone)]
pub(crate) struct HttpState {
    pub(crate) app: AppState,
    pub(crate) settings: HttpSettings,
    pub(crate) schema: JaminanSchema,
    pub(crate) admission: Arc<Admission>,
}
