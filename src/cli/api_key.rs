//! `jaminan api-key`: create, list and revoke API keys.
use clap::Subcommand;

use crate::auth::{Actor, Role, keys};
use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};
use crate::services::AppState;

#[derive(Subcommand)]
pub(super) enum ApiKeyCommand {
    /// Create a key; it is printed once, as the last line. Audited (never the key).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Limit the key to a province ("36") or regency ("36.03").
        #[arg(long)]
        scope: Option<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; it stops working on every server within a second. Audited.
    Revoke { id: i64 },
}

pub(super) async fn run(db_args: &DatabaseArgs, command: ApiKeyCommand, lang: Lang) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    match command {
        ApiKeyCommand::Create { name, role, scope } => {
            let state = AppState::new(db.clone()).await.map_err(|e| e.to_string())?;
            if role == Role::Admin && scope.is_some() {
                return Err(Line::AdminKeyWithScope.text(lang));
            }
            if let Some(code) = &scope
                && state.areas.province(code).is_none()
                && state.areas.regency(code).is_none()
            {
                return Err(Line::UnknownScope { code: code.clone() }.text(lang));
            }
            let actor = Actor::command_line();
            let (key, row) =
                crate::services::api_keys::create(&db, &actor, &name, role, scope).await.map_err(|e| e.text(lang))?;
            super::out::say(Line::KeyCreated { id: row.id, name: row.name, role: row.role }.text(lang))?;
            super::out::say(key)?;
        }
        ApiKeyCommand::List => {
            let keys = keys::list_keys(&db).await.map_err(|e| e.text(lang))?;
            if !keys.is_empty() {
                super::out::say(Line::KeyListHeader.text(lang))?;
            }
            for key in keys {
                let status = match key.revoked_at {
                    None => Line::KeyActive.text(lang),
                    Some(at) => Line::KeyRevokedAt { at: moment(at, lang) }.text(lang),
                };
                let last_used = key.last_used_at.map_or_else(|| Line::KeyNeverUsed.text(lang), |at| moment(at, lang));
                let scope = key.scope.as_deref().unwrap_or("-");
                let created = moment(key.created_at, lang);
                super::out::say(format_args!(
                    "{}\t{}\t{}\t{scope}\t{status}\t{created}\t{last_used}",
                    key.id, key.name, key.role
                ))?;
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if !crate::services::api_keys::revoke(&db, &Actor::command_line(), id).await.map_err(|e| e.text(lang))? {
                return Err(Line::NoActiveKey { id }.text(lang));
            }
            super::out::say(Line::KeyRevoked { id }.text(lang))?;
        }
    }
    Ok(())
}

/// A moment for people, to the minute, in UTC: `2026-03-01 09:15 UTC`, `1 Maret 2026 09.15 UTC`.
fn moment(at: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    let time = match lang {
        Lang::En => at.format("%H:%M"),
        Lang::Id => at.format("%H.%M"),
    };
    format!("{} {time} UTC", crate::i18n::date(at.date_naive(), lang))
}
