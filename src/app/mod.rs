//! The application as `main` and the tests run it: its state (the services' and the HTTP
//! surface's), startup, and the server.
pub mod server;
pub mod startup;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use crate::auth::oidc;
use crate::auth::shared_budgets::SharedBudgets;
use crate::auth::throttle::Throttle;
use crate::config::{DatabaseArgs, ServeArgs, TrustedMode};
use crate::db;
use crate::graphql::admission::trusted_documents::TrustedDocuments;
use crate::http::pages::signin::SignIn;
use crate::http::{HttpSettings, MetricsOnMain};
use crate::i18n::{Lang, Line};
use crate::live::Live;
use crate::services::AppState;
use crate::stats::publication::Publications;

/// Everything a running server holds: what the use cases share, and how HTTP is set up.
#[derive(Clone)]
pub struct App {
    pub state: AppState,
    pub http: HttpSettings,
}

impl App {
    /// The application on `db`, with the default settings.
    pub async fn new(db: DatabaseConnection) -> Result<App, DbErr> {
        Ok(App { state: AppState::new(db).await?, http: HttpSettings::default() })
    }

    /// The application as `serve`'s settings describe it, on the primary `db`; besides the app,
    /// the lines that say what was set up (for the command to print), or why it cannot start.
    pub async fn configured(
        db: DatabaseConnection,
        db_args: &DatabaseArgs,
        args: &ServeArgs,
        lang: Lang,
    ) -> Result<(App, Vec<String>), String> {
        let mut notes = Vec::new();
        let mut app = App::new(db).await.map_err(|e| e.to_string())?;
        let state = &mut app.state;
        state.throttle = Arc::new(throttle(args, lang, &mut notes)?);
        state.publications = Arc::new(Publications::new(
            args.disclosure.min_public_count,
            Duration::from_secs(args.disclosure.public_stats_refresh_secs),
        ));
        state.four_eyes = args.four_eyes;
        if let Some(url) = &args.listen_database_url {
            state.live = Live::listening_at(state.db.clone(), Some(url.clone()));
        }
        if let Some(settings) = oidc::Settings::from_args(&args.oidc) {
            let issuer = settings.issuer.clone();
            let (tokens, first) = oidc::AccessTokens::start(settings).await?;
            notes.push(match first {
                Ok(keys) => Line::TokensFrom { issuer, keys }.text(lang),
                Err(detail) => Line::TokenIssuerUnreachable { issuer, detail }.text(lang),
            });
            state.tokens = Some(tokens);
        }
        let http = &mut app.http;
        http.limits = args.limits.clone();
        http.browser = args.browser.clone();
        http.trusted = Arc::new(trusted_documents(args, lang, &mut notes)?);
        http.sign_in = SignIn::from_args(&args.oidc)?;
        if let Some(client_id) = &args.oidc.oidc_client_id {
            notes.push(Line::PagesSignIn { client_id: client_id.clone() }.text(lang));
        }
        http.metrics = MetricsOnMain::ForAdmins { token: args.metrics_token.as_deref().map(Arc::from) };
        let writers = args.db_max_write_connections.unwrap_or_else(db::default_max_write_connections);
        // SQLite has one writer at a time whatever the pool: its mutations keep the one pool.
        let on_postgres = app.state.db.get_database_backend() == DbBackend::Postgres;
        if on_postgres && writers > 0 {
            let pool = DatabaseArgs { db_max_connections: Some(writers), ..db_args.clone() };
            http.writes = Some(db::connect_lazily(&pool).await.map_err(|e| e.to_string())?);
        }
        if let Some(url) = &args.read_database_url {
            if !url.starts_with("postgres") || !on_postgres {
                return Err(Line::ReplicaNeedsPostgres.text(lang));
            }
            // No migrations: a replica is read-only, and follows the primary's schema.
            let replica = db::connect_lazily(&DatabaseArgs { database_url: url.clone(), ..db_args.clone() })
                .await
                .map_err(|e| Line::CannotConnectToReplica { detail: e.to_string() }.text(lang))?;
            http.replica = Some(db::replica::ReadReplica::new(replica));
            notes.push(Line::ReadsFromReplica.text(lang));
        }
        Ok((app, notes))
    }
}

/// The rate budgets: shared through Redis with `--redis-url` (connected in the background: an
/// instance starts while Redis is away), in memory otherwise.
fn throttle(args: &ServeArgs, lang: Lang, notes: &mut Vec<String>) -> Result<Throttle, String> {
    let Some(url) = &args.shared_budgets.redis_url else { return Ok(Throttle::new(&args.rate_limits)) };
    let prefix = &args.shared_budgets.redis_prefix;
    let shared = SharedBudgets::start(url, prefix).map_err(|detail| Line::InvalidRedisUrl { detail }.text(lang))?;
    notes.push(Line::SharedBudgets { prefix: prefix.clone() }.text(lang));
    Ok(Throttle::shared(&args.rate_limits, shared))
}

/// The trusted documents the settings name (none: mode off, unless a mode asks for a manifest).
fn trusted_documents(args: &ServeArgs, lang: Lang, notes: &mut Vec<String>) -> Result<TrustedDocuments, String> {
    match (&args.trusted_documents, args.trusted_documents_mode) {
        (None, None | Some(TrustedMode::Off)) => Ok(TrustedDocuments::default()),
        (None, Some(_)) => Err(Line::TrustedModeNeedsFile.text(lang)),
        (Some(file), mode) => {
            let trusted = TrustedDocuments::load(file, mode.unwrap_or(TrustedMode::Allowed))?;
            let (count, path, mode) = (trusted.len(), file.display().to_string(), format!("{:?}", trusted.mode));
            notes.push(Line::TrustedDocuments { count, path, mode }.text(lang));
            Ok(trusted)
        }
    }
}
