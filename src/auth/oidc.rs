//! OpenID Connect access tokens beside API keys: people sign in at the region's identity
//! provider (Keycloak) and send its JWT access token as `Authorization: Bearer <token>`.
//!
//! A token is checked in memory, with no round trip to the provider: the provider's signing keys
//! (its JWKS, found through discovery at start) are held here and re-read every
//! `Settings::refresh` in the background, so a key the provider rotates in is picked up without a
//! restart. A token signed with a key not held triggers one re-read, at most once per
//! `Settings::unknown_kid_refetch` (a stream of forged `kid`s must not make the server hammer the
//! provider), and is refused and logged when the key is still unknown. While the provider is
//! down, the keys held stay in use: tokens signed with them keep working until they expire.
//!
//! The algorithm is the key's (RS256 or ES256, from the JWK), never the token's choice: a token
//! whose header names another (`none`, HS256 "signed" with the public key) is refused before
//! any signature is checked.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Actor, Role};
use crate::areas::Areas;
use crate::config::OidcArgs;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// Clock difference between provider and server forgiven on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The least time between two re-reads of the keys caused by tokens with an unknown `kid`.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(60);
/// How often the keys are re-read in the background.
pub const JWKS_REFRESH: Duration = Duration::from_secs(300);
/// A fetch from the provider gives up after this (an unknown `kid` waits for it).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Tokens verified and not expired, remembered by their hash: a signature check costs 20-100 µs
/// (RS256, ES256), as much as a whole cached read, and a dashboard sends the same token with
/// every request.
const VERIFIED_TOKENS: usize = 10_000;
/// The scope claim's value for the whole country (Indonesia's ISO 3166 code).
pub const NATIONAL: &str = "ID";

/// What the server checks tokens against.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub audience: String,
    /// The claim holding the role; dots separate nested objects (`realm_access.roles`).
    pub role_claim: String,
    pub scope_claim: String,
    pub leeway: Duration,
    pub unknown_kid_refetch: Duration,
    pub refresh: Duration,
}

impl Settings {
    /// The settings `serve`'s flags describe; None without an issuer (keys only).
    pub fn from_args(args: &OidcArgs) -> Option<Settings> {
        Some(Settings {
            issuer: args.oidc_issuer.clone()?,
            audience: args.oidc_audience.clone()?,
            role_claim: args.oidc_role_claim.clone(),
            scope_claim: args.oidc_scope_claim.clone(),
            leeway: LEEWAY,
            unknown_kid_refetch: UNKNOWN_KID_REFETCH,
            refresh: JWKS_REFRESH,
        })
    }
}

/// One of the provider's signing keys, with the checks a token signed by it must pass.
struct SigningKey {
    key: DecodingKey,
    validation: Validation,
}

/// The provider's keys held in memory, and the checks of its tokens.
pub struct AccessTokens {
    settings: Settings,
    client: reqwest::Client,
    /// The JWKS address, from discovery (None until the provider has answered once).
    jwks_uri: RwLock<Option<String>>,
    keys: RwLock<Arc<HashMap<String, Arc<SigningKey>>>>,
    /// When a token with an unknown `kid` last made the keys be re-read; held while re-reading,
    /// so that concurrent tokens wait for one fetch rather than make one each.
    unknown_kid_fetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
    /// SHA-256 of a token verified -> its caller and the second (Unix time, leeway included) it
    /// stops being valid. Emptied whenever the keys are read: a key the provider withdrew stops
    /// its tokens as if each were checked again.
    verified: quick_cache::sync::Cache<[u8; 32], (Actor, i64)>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

impl AccessTokens {
    /// Reads the provider's keys once (a provider that does not answer yet is logged and
    /// retried with every refresh: until then tokens are refused, keys work) and keeps them
    /// fresh in the background for as long as the returned value lives. Besides it, the number
    /// of keys read, or why none were.
    pub async fn start(settings: Settings) -> Result<(Arc<AccessTokens>, Result<usize, String>), String> {
        let refresh = settings.refresh;
        let tokens = Arc::new(AccessTokens {
            settings,
            client: http_client()?,
            jwks_uri: RwLock::new(None),
            keys: RwLock::default(),
            unknown_kid_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        });
        let first = tokens.fetch().await;
        if let Err(err) = &first {
            tracing::warn!(issuer = %tokens.settings.issuer, error = %err, "OpenID Connect provider not read");
        }
        let weak = Arc::downgrade(&tokens);
        tokio::spawn(refresh_keys(weak, refresh));
        Ok((tokens, first))
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// How many times the keys were read from the provider (discovery not counted).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The caller a token makes, or why it is refused (`AppError::Refused`).
    pub async fn authenticate(&self, token: &str, areas: &Areas) -> AppResult<Actor> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        match self.verified.get(&hash) {
            Some((actor, until)) if now < until => return Ok(actor),
            Some(_) => return Err(refused(Msg::TokenExpired)),
            None => {}
        }
        let actor = self.verify(token, areas).await?;
        // An `exp` that is not a whole number (allowed, and checked by `verify`) is not remembered.
        if let Some(exp) = claimed_expiry(token) {
            let leeway = i64::try_from(self.settings.leeway.as_secs()).unwrap_or(0);
            self.verified.insert(hash, (actor.clone(), exp.saturating_add(leeway)));
        }
        Ok(actor)
    }

    /// Every check of a token, against the keys held.
    async fn verify(&self, token: &str, areas: &Areas) -> AppResult<Actor> {
        let header = jsonwebtoken::decode_header(token).map_err(|err| match err.kind() {
            // A well-formed header naming an algorithm not in the list (`none`, say).
            ErrorKind::Json(_) if token.split('.').count() == 3 => refused(Msg::TokenSignature),
            _ => refused(Msg::TokenMalformed),
        })?;
        let kid = header.kid.ok_or_else(|| refused(Msg::TokenUnknownSigningKey))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => self.refetch_for(&kid).await.ok_or_else(|| {
                tracing::warn!(kid = %kid, issuer = %self.settings.issuer, "access token signed with an unknown key refused");
                refused(Msg::TokenUnknownSigningKey)
            })?,
        };
        // The key's algorithm, never the header's choice.
        if !key.validation.algorithms.contains(&header.alg) {
            return Err(refused(Msg::TokenSignature));
        }
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &key.validation)
            .map_err(|err| refused(fault(err.kind())))?
            .claims;
        self.actor_of(&claims, areas)
    }

    fn key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    /// Re-reads the keys for a `kid` not held, unless that was done within
    /// `unknown_kid_refetch`; the key, if the provider publishes it now.
    async fn refetch_for(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let mut last = self.unknown_kid_fetch.lock().await;
        if let Some(key) = self.key(kid) {
            return Some(key); // read while this request waited
        }
        if last.is_some_and(|at| at.elapsed() < self.settings.unknown_kid_refetch) {
            return None;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.fetch().await {
            tracing::warn!(issuer = %self.settings.issuer, error = %err, "OpenID Connect keys not re-read");
        }
        self.key(kid)
    }

    /// Discovery (until it has answered once), then the JWKS; the keys held are replaced only by
    /// a set that was read whole.
    async fn fetch(&self) -> Result<usize, String> {
        let known = self.jwks_uri.read().ok().and_then(|uri| uri.clone());
        let jwks_uri = match known {
            Some(uri) => uri,
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.settings.issuer.trim_end_matches('/'));
                let discovery: Discovery = self.get_json(&url).await?;
                // OpenID Connect Discovery §4.3: the document must name the issuer it was read from.
                if discovery.issuer != self.settings.issuer {
                    return Err(format!("{url} names the issuer {:?}", discovery.issuer));
                }
                if let Ok(mut uri) = self.jwks_uri.write() {
                    *uri = Some(discovery.jwks_uri.clone());
                }
                discovery.jwks_uri
            }
        };
        let set: KeySet = self.get_json(&jwks_uri).await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let keys: HashMap<String, Arc<SigningKey>> =
            set.keys.into_iter().filter_map(|jwk| self.signing_key(jwk)).collect();
        let count = keys.len();
        if let Ok(mut held) = self.keys.write() {
            *held = Arc::new(keys);
        }
        self.verified.clear();
        tracing::debug!(issuer = %self.settings.issuer, keys = count, "OpenID Connect keys read");
        Ok(count)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self.client.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        let response = response.error_for_status().map_err(|e| format!("{url}: {e}"))?;
        response.json().await.map_err(|e| format!("{url}: {e}"))
    }

    /// A JWK the server verifies with: a signing key with a `kid`, RS256 on RSA or ES256 on
    /// P-256 (others, such as Keycloak's RSA-OAEP encryption keys, are passed over).
    fn signing_key(&self, jwk: Value) -> Option<(String, Arc<SigningKey>)> {
        let jwk: Jwk = serde_json::from_value(jwk).ok()?;
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))) {
            return None;
        }
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => return None,
        };
        let kid = jwk.common.key_id.clone()?;
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        Some((kid, Arc::new(SigningKey { key, validation })))
    }

    /// The person a token's claims describe, with the role and area they carry.
    fn actor_of(&self, claims: &Map<String, Value>, areas: &Areas) -> AppResult<Actor> {
        let Settings { role_claim, scope_claim, issuer, .. } = &self.settings;
        let subject = claims.get("sub").and_then(Value::as_str).ok_or_else(|| refused(Msg::TokenMalformed))?;
        let role = roles_in(claim_at(claims, role_claim))
            .max()
            .ok_or_else(|| refused(Msg::TokenNoRole { claim: role_claim.clone() }))?;
        let bad_scope = || refused(Msg::TokenScope { claim: scope_claim.clone() });
        let scope = match claim_at(claims, scope_claim) {
            None | Some(Value::Null) if role == Role::Admin => None,
            None | Some(Value::Null) => return Err(bad_scope()),
            Some(Value::String(code)) => Some(code.as_str()),
            // Keycloak writes a multivalued attribute as a list: one value is one area.
            Some(Value::Array(values)) if values.len() == 1 => Some(values[0].as_str().ok_or_else(bad_scope)?),
            Some(_) => return Err(bad_scope()),
        };
        let scope = match scope {
            None | Some(NATIONAL) => None,
            Some(_) if role == Role::Admin => return Err(refused(Msg::TokenAdminWithScope)),
            Some(code) if areas.province(code).is_some() || areas.regency(code).is_some() => Some(code.to_owned()),
            Some(_) => return Err(bad_scope()),
        };
        let name = ["name", "preferred_username"]
            .iter()
            .find_map(|claim| claims.get(*claim).and_then(Value::as_str).filter(|name| !name.trim().is_empty()))
            .unwrap_or(subject);
        Ok(Actor {
            key_id: person_id(issuer, subject),
            key_name: name.chars().take(100).collect(),
            role,
            scope,
            person: Some(subject.to_owned()),
        })
    }
}

/// The `exp` of a token already verified (its payload is the second part).
fn claimed_expiry(token: &str) -> Option<i64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("exp")?.as_i64()
}

/// Whether a bearer value is a JWT rather than an API key: three parts joined by dots (keys are
/// `jmn_` and hex, without one).
pub fn looks_like_token(bearer: &str) -> bool {
    bearer.split('.').count() == 3
}

/// A person's number among callers: negative (keys count up from 1, the command line is 0) and
/// the same for the same subject of the same issuer on every server.
pub fn person_id(issuer: &str, subject: &str) -> i64 {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let magnitude = i64::from_be_bytes(first) & i64::MAX;
    -magnitude - 1
}

/// The value at a dotted path of claims (`realm_access.roles`); a claim whose own name has dots
/// is found too.
fn claim_at<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let (first, rest) = path.split_once('.')?;
    claim_at(claims.get(first)?.as_object()?, rest)
}

/// The roles a claim names: a string or a list of them, each matched without regard to case;
/// other roles (Keycloak's `offline_access`, `default-roles-…`) are not ours.
fn roles_in(claim: Option<&Value>) -> impl Iterator<Item = Role> + '_ {
    let names: Box<dyn Iterator<Item = &Value>> = match claim {
        Some(Value::Array(values)) => Box::new(values.iter()),
        Some(value) => Box::new(std::iter::once(value)),
        None => Box::new(std::iter::empty()),
    };
    names.filter_map(Value::as_str).filter_map(|name| Role::parse(&name.to_ascii_uppercase()))
}

fn refused(message: Msg) -> AppError {
    AppError::Refused(message)
}

/// What a failed check tells the caller.
fn fault(kind: &ErrorKind) -> Msg {
    match kind {
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => Msg::TokenExpired,
        ErrorKind::InvalidIssuer => Msg::TokenIssuer,
        ErrorKind::InvalidAudience => Msg::TokenAudience,
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => Msg::TokenSignature,
        _ => Msg::TokenMalformed,
    }
}

/// Re-reads the keys every `every` while the tokens are in use; a failed read keeps the keys
/// held (the provider may be down: tokens it signed keep working until they expire).
async fn refresh_keys(tokens: Weak<AccessTokens>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(tokens) = tokens.upgrade() else { return };
        if let Err(err) = tokens.fetch().await {
            tracing::warn!(issuer = %tokens.settings.issuer, error = %err, "OpenID Connect keys not re-read; the keys held stay in use");
        }
    }
}

/// An HTTP client for the provider (TLS by rustls with the Mozilla roots), with a time limit.
fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_ids_are_negative_and_stable() {
        let id = person_id("https://sso.example/realms/j", "a1");
        assert!(id < 0);
        assert_eq!(id, person_id("https://sso.example/realms/j", "a1"));
        assert_ne!(id, person_id("https://sso.example/realms/j", "a2"));
    }

    #[test]
    fn roles_come_from_nested_claims_in_any_case() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "realm_access": { "roles": ["offline_access", "operator", "Viewer"] }
        }))
        .unwrap();
        let roles: Vec<Role> = roles_in(claim_at(&claims, "realm_access.roles")).collect();
        assert_eq!(roles, vec![Role::Operator, Role::Viewer]);
        assert!(looks_like_token("a.b.c") && !looks_like_token("jmn_00ff"));
    }
}
