//! `X-Request-Id`: taken from the client (or a proxy in front) when it is a plain token, made up
//! otherwise; echoed in the response, recorded on the request's log span and put in the
//! extensions of its errors, so that a user's report, the log lines and the server meet.
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The id of the request being served, where one is (errors built while serving it).
pub fn current() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let given = request.headers().get(&HEADER).and_then(|v| v.to_str().ok()).filter(|id| plain(id));
    let id: Arc<str> = match given {
        Some(id) => Arc::from(id),
        None => Arc::from(uuid::Uuid::new_v4().to_string()),
    };
    // A plain token is always a valid header value.
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid"));
    request.headers_mut().insert(HEADER, value.clone());
    let mut response = CURRENT.scope(id, next.run(request)).await;
    response.headers_mut().insert(HEADER, value);
    response
}

/// Letters, digits and `-_.:`, at most 128: anything else (a log-injection attempt, a megabyte)
/// is replaced by a fresh id.
fn plain(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_tokens_are_kept() {
        assert!(super::plain("4bf92f3577b34da6-a3ce929d0e0e4736"));
        for bad in ["", "a b", "x\ny", &"a".repeat(129), "ç"] {
            assert!(!super::plain(bad), "{bad:?}");
        }
    }
}
