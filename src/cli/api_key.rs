//! `jaminan api-key`: create, list and revoke API keys.
use clap::Subcommand;

use crate::auth::keys::KeyTerms;
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
        /// Who answers for the key: their OpenID Connect subject (the `sub` of their tokens) for a
        /// person, or whatever names the one who runs a machine's key.
        #[arg(long, value_name = "SUBJECT")]
        owner: Option<String>,
        /// How long the key works: hours, days or weeks (`12h`, `90d`, `8w`), at most two years.
        #[arg(long, value_name = "DURATION", default_value = DEFAULT_EXPIRY, value_parser = parse_expiry)]
        expires_in: chrono::Duration,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; it stops working on every server within a second. Audited.
    Revoke { id: i64 },
}

pub(super) async fn run(db_args: &DatabaseArgs, command: ApiKeyCommand, lang: Lang) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    match command {
        ApiKeyCommand::Create { name, role, scope, owner, expires_in } => {
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
            let owner = owner.map(|o| o.trim().to_owned()).filter(|o| !o.is_empty());
            let terms = KeyTerms { owner, expires_at: Some(chrono::Utc::now() + expires_in) };
            let (key, row) = crate::services::api_keys::create(&db, &actor, &name, role, scope, terms)
                .await
                .map_err(|e| e.text(lang))?;
            let expires = row.expires_at.map_or_else(|| Line::KeyNeverExpires.text(lang), |at| moment(at, lang));
            super::out::say(Line::KeyCreated { id: row.id, name: row.name, role: row.role, expires }.text(lang))?;
            super::out::say(key)?;
        }
        ApiKeyCommand::List => {
            let keys = keys::list_keys(&db).await.map_err(|e| e.text(lang))?;
            if !keys.is_empty() {
                super::out::say(Line::KeyListHeader.text(lang))?;
            }
            for key in keys {
                let status = match (key.revoked_at, key.expires_at) {
                    (Some(at), _) => Line::KeyRevokedAt { at: moment(at, lang) }.text(lang),
                    (None, Some(at)) if at <= chrono::Utc::now() => Line::KeyExpired.text(lang),
                    (None, _) => Line::KeyActive.text(lang),
                };
                let last_used = key.last_used_at.map_or_else(|| Line::KeyNeverUsed.text(lang), |at| moment(at, lang));
                let expires = key.expires_at.map_or_else(|| Line::KeyNeverExpires.text(lang), |at| moment(at, lang));
                let scope = key.scope.as_deref().unwrap_or("-");
                let owner = key.owner.as_deref().unwrap_or("-");
                let created = moment(key.created_at, lang);
                super::out::say(format_args!(
                    "{}\t{}\t{}\t{scope}\t{owner}\t{status}\t{created}\t{expires}\t{last_used}",
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

/// How long a key works unless `--expires-in` says otherwise: a quarter, after which its holder
/// asks again (and an administrator sees whether the key is still needed).
pub const DEFAULT_EXPIRY: &str = "90d";

/// `12h`, `90d`, `8w`: a whole number and its unit, from an hour to two years.
fn parse_expiry(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (text.get(..split).unwrap_or(""), text.get(split..).unwrap_or(""));
    let n: i64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 12h, 90d or 8w"))?;
    let duration = match unit {
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        _ => return Err(format!("{text:?} is not a duration like 12h, 90d or 8w")),
    };
    if duration < chrono::Duration::hours(1) || duration > chrono::Duration::days(730) {
        return Err(format!("{text:?}: a key works from an hour to two years (730d)"));
    }
    Ok(duration)
}

/// A moment for people, to the minute, in UTC: `2026-03-01 09:15 UTC`, `1 Maret 2026 09.15 UTC`.
fn moment(at: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    let time = match lang {
        Lang::En => at.format("%H:%M"),
        Lang::Id => at.format("%H.%M"),
    };
    format!("{} {time} UTC", crate::i18n::date(at.date_naive(), lang))
}
