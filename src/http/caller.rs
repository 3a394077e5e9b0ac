//! Who is asking: the client's address (through trusted proxies), its language, and its API key
//! checked within the rate budgets. The same for a POST, a GET and a WebSocket's connection_init.
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};

use super::state::HttpState;
use crate::auth::Caller;
use crate::auth::throttle::{self, Throttle};
use crate::error::AppError;
use crate::i18n::Lang;

/// The connection's peer address (absent when the router is driven without a listener).
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// The language the request's reader prefers: its `Accept-Language`, English without one.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::En, Lang::from_accept_language)
}

/// The client's address: the peer's, or the one a trusted proxy forwarded.
pub fn client_address(throttle: &Throttle, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
    // Every line, in order (RFC 9110 §5.3): a proxy may add a line of its own rather than extend
    // the client's, and the first line alone is whatever the client chose to send. A line that is
    // not text stays in place as a hop that does not parse (the peer is then the client).
    let lines: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().map(|line| line.to_str().unwrap_or("invalid")).collect();
    let forwarded = (!lines.is_empty()).then(|| lines.join(","));
    throttle::client_address(peer, forwarded.as_deref(), &throttle.trusted_proxies)
}

/// The caller, within the rate limits: a key's requests per minute, an address's requests
/// without a key, and an address's wrong keys (past that budget, unknown keys from the address
/// are refused unchecked until it refills).
pub async fn authenticate(http: &HttpState, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Caller, AppError> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    authenticate_with(http, headers, peer, authorization).await
}

/// `authenticate` with the `Authorization` given apart (a WebSocket's comes in connection_init).
pub async fn authenticate_with(
    http: &HttpState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    authorization: Option<&str>,
) -> Result<Caller, AppError> {
    let throttle = &http.app.throttle;
    let address = client_address(throttle, headers, peer);
    // The wrong-key budget stops unknown keys only. Offices sit behind one NAT address: refusing
    // every key from an address that spent it locked every colleague out for one mistyped
    // dashboard. A valid key is found in memory (the cache re-reads all active keys every half
    // second), so it always passes; a key not there costs a database lookup, which an address
    // past its budget may not make the server do at the speed of its requests: refused first.
    let not_blocked = async {
        match address {
            Some(address) => throttle.check_not_blocked(address).await,
            None => Ok(()),
        }
    };
    let caller = match http.app.authenticate_with(authorization, not_blocked).await {
        // A refused token or expired key counts as a wrong key: a forged token costs no lookup,
        // but guessing must not go on at the speed of the answers either.
        Err(refused @ (AppError::UnknownKey | AppError::Refused(_))) => {
            if let Some(address) = address {
                throttle.failed_key(address).await?;
            }
            return Err(refused);
        }
        other => other?,
    };
    match (&caller, address) {
        (Some(actor), _) => throttle.key_request(actor.key_id).await?,
        (None, Some(address)) => throttle.anonymous_request(address).await?,
        (None, None) => {}
    }
    Ok(caller)
}
