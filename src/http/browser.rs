//! What browsers and HTTP caches need from the API: CORS for dashboards served from another
//! origin, compressed responses, and cacheable public figures (anonymous GETs of areas and
//! statistics) with validators, while everything else stays out of shared caches.
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::BrowserSettings;

/// Responses smaller than this go uncompressed: below about a kilobyte the headers and the
/// CPU cost more than the bytes saved.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// How long a browser may reuse a preflight's answer before asking again.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// What every response that is not public says: keys, mutations, errors, personal data.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");

/// CORS (only for the configured origins), preflights answered 204, compression by
/// `Accept-Encoding` (br, gzip).
pub fn layers(router: Router, settings: &BrowserSettings) -> Router {
    let mut router = router;
    if !settings.cors_origins.is_empty() {
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(settings.cors_origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("x-request-id")])
            .expose_headers([header::ETAG, header::RETRY_AFTER, crate::http::request_id::HEADER])
            .max_age(PREFLIGHT_MAX_AGE);
        router = router.layer(cors).layer(middleware::from_fn(preflight_no_content));
    }
    let worth_compressing = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC);
    router.layer(CompressionLayer::new().br(true).gzip(true).compress_when(worth_compressing))
}

/// tower-http answers a preflight 200 with an empty body; 204 says "no content" as the Fetch
/// standard's examples do.
async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// A file compiled into the binary (GraphiQL's, the dashboard's), by name, or 404.
pub fn vendored_asset(assets: &[(&str, &str, &'static [u8])], file: &str, cache_control: &'static str) -> Response {
    match assets.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, cache_control)], *bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What the server's own pages (GraphiQL, the dashboard) may load and where they may appear:
/// scripts, styles and connections to this server only (its assets are compiled in), and never
/// inside another site's frame, where a look-alike page could make a signed-in admin click.
/// Styles also inline: GraphiQL's editor sets some on elements it creates.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One of the server's HTML pages, with its security headers (`X-Frame-Options` for browsers
/// that predate `frame-ancestors`).
pub fn page(html: String) -> Response {
    page_connecting(html, None)
}

/// A page that may also connect to `origin` (the OpenID provider the page signs in at: its
/// discovery and token endpoints are fetched from the page).
pub fn page_connecting(html: String, origin: Option<&str>) -> Response {
    let policy = match origin {
        Some(origin) => PAGE_POLICY.replace("connect-src 'self'", &format!("connect-src 'self' {origin}")),
        None => PAGE_POLICY.to_owned(),
    };
    let headers = [
        (header::CONTENT_SECURITY_POLICY, policy.as_str()),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, axum::response::Html(html)).into_response()
}

/// `private, no-store` unless the handler said otherwise.
pub async fn private_by_default(mut response: Response) -> Response {
    response.headers_mut().entry(header::CACHE_CONTROL).or_insert(PRIVATE);
    response
}

/// How a successful response may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Anonymous GET of a query: the same for everyone, for this many seconds.
    Public {
        max_age_secs: u64,
    },
    Private,
}

/// Adds the cache headers of a GraphQL response with `body` to `response`; returns the 304 to
/// send instead when the request's `If-None-Match` already names this body.
pub fn cache_headers(caching: Caching, request: &HeaderMap, body: &[u8], response: &mut HeaderMap) -> Option<Response> {
    let Caching::Public { max_age_secs } = caching else {
        response.insert(header::CACHE_CONTROL, PRIVATE);
        return None;
    };
    let etag = etag_of(body);
    let control = HeaderValue::from_str(&format!("public, max-age={max_age_secs}")).unwrap_or(PRIVATE);
    if request.get_all(header::IF_NONE_MATCH).iter().any(|value| names(value, &etag)) {
        let mut not_modified = Response::new(axum::body::Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        let headers = not_modified.headers_mut();
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, control);
        headers.insert(header::VARY, HeaderValue::from_static("accept"));
        return Some(not_modified);
    }
    response.insert(header::ETAG, etag);
    response.insert(header::CACHE_CONTROL, control);
    // The body is the same JSON whichever media type is asked for, but the Content-Type is not.
    response.insert(header::VARY, HeaderValue::from_static("accept"));
    None
}

/// A weak validator (the body compressed or not is the same resource): a SHA-256 prefix of the
/// JSON with its object keys in one order. async-graphql writes a query's fields in the order they
/// finish, so the same figures may come back in another order when a publication is in memory
/// rather than computed.
fn etag_of(body: &[u8]) -> HeaderValue {
    let mut hasher = Sha256::new();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => hash_canonical(&value, &mut hasher),
        Err(_) => hasher.update(body),
    }
    let digest = hasher.finalize();
    HeaderValue::from_str(&format!("W/\"{}\"", hex::encode(&digest[..16])))
        .unwrap_or(HeaderValue::from_static("W/\"\""))
}

/// Feeds `value` to `hasher` with every object's keys sorted.
fn hash_canonical(value: &serde_json::Value, hasher: &mut Sha256) {
    match value {
        serde_json::Value::Object(fields) => {
            let mut sorted: Vec<_> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            hasher.update(b"{");
            for (key, field) in sorted {
                hasher.update(serde_json::Value::String(key.clone()).to_string().as_bytes());
                hasher.update(b":");
                hash_canonical(field, hasher);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        serde_json::Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                hash_canonical(item, hasher);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        other => hasher.update(other.to_string().as_bytes()),
    }
}

/// Whether an `If-None-Match` value (`*` or a list of tags, weak or strong) names `etag`,
/// compared weakly as RFC 9110 asks for If-None-Match.
fn names(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(value) = if_none_match.to_str() else { return false };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag.to_str().unwrap_or_default());
    value.split(',').any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let etag = etag_of(b"{}");
        let opaque = etag.to_str().unwrap().trim_start_matches("W/").to_owned();
        for header in [etag.to_str().unwrap().to_owned(), opaque.clone(), format!("\"x\", {opaque}"), "*".into()] {
            assert!(names(&HeaderValue::from_str(&header).unwrap(), &etag), "{header}");
        }
        assert!(!names(&HeaderValue::from_static("\"other\""), &etag));
    }
}
