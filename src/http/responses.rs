//! The one place that builds what /graphql answers: the media type negotiated from `Accept`, the
//! status, and every error body. Each error answered passes `finish_error`, which writes it in the
//! reader's language, gives it its `extensions.code` and the request id, and counts it in
//! `/metrics`.
use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ErrorExtensions, ServerError};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::browser::{self, Caching};
use super::request_id;
use crate::error::AppError;
use crate::i18n::{Lang, Msg};
use crate::observability::metrics;

/// The media type GraphQL over HTTP defines for its answers.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type of a GraphQL answer, negotiated from the request's `Accept` (GraphQL over
/// HTTP). It decides the status of a request refused before execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/graphql-response+json`: a request that cannot run is a 400.
    GraphqlResponse,
    /// `application/json`: every well-formed request is a 200, its errors in the body. Clients
    /// asking for it (Apollo Client 3 sends `*/*`) read any other status as a network error and
    /// never show the errors' codes.
    Json,
}

impl MediaType {
    /// `application/graphql-response+json` when the client lists it, with a weight at least that
    /// of `application/json`; otherwise (no Accept, `*/*`, `application/json`, or nothing this
    /// server writes) `application/json`, as the spec asks of servers before its watershed.
    fn of(headers: &HeaderMap) -> MediaType {
        let (mut graphql, mut json, mut wildcard) = (None::<f32>, None::<f32>, None::<f32>);
        let ranges = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
        for range in ranges {
            let mut parts = range.split(';');
            let media_range = parts.next().unwrap_or_default().trim();
            let weight = parts
                .filter_map(|p| p.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, q)| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            let slot = if media_range.eq_ignore_ascii_case(GRAPHQL_RESPONSE) {
                &mut graphql
            } else if media_range.eq_ignore_ascii_case("application/json") {
                &mut json
            } else if media_range == "*/*" || media_range.eq_ignore_ascii_case("application/*") {
                &mut wildcard
            } else {
                continue;
            };
            *slot = Some(slot.map_or(weight, |w| w.max(weight)));
        }
        let graphql = graphql.unwrap_or(0.0);
        if graphql > 0.0 && graphql >= json.or(wildcard).unwrap_or(0.0) {
            MediaType::GraphqlResponse
        } else {
            MediaType::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            MediaType::GraphqlResponse => HeaderValue::from_static(GRAPHQL_RESPONSE),
            MediaType::Json => HeaderValue::from_static("application/json"),
        }
    }

    /// The status of a well-formed request that could not start executing (syntax, validation,
    /// a limit, an unknown operation, variables of the wrong type, a trusted-documents refusal).
    fn request_error_status(self) -> StatusCode {
        match self {
            MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        }
    }
}

/// Makes `error` what clients read, and counts it: the message in `lang` (our errors carry a
/// `Msg`; async-graphql's own syntax and validation messages stay English), the request id, and
/// a code (async-graphql's own errors have none: they are the client's, so BAD_USER_INPUT, with
/// the argument named when the message names it).
pub fn finish_error(error: &mut ServerError, lang: Lang) {
    if let Some(message) = error.source::<Msg>() {
        error.message = message.text(lang);
    }
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    if !matches!(extensions.get("code"), Some(async_graphql::Value::String(_))) {
        extensions.set("code", "BAD_USER_INPUT");
        if let Some(field) = argument_named(&error.message) {
            extensions.set("field", field);
        }
    }
    if let Some(id) = request_id::current() {
        extensions.set("requestId", id.as_ref());
    }
    if let Some(async_graphql::Value::String(code)) = extensions.get("code") {
        metrics::note_error(code);
    }
}

/// `Invalid value for argument "input.amount", ...` -> "amount".
fn argument_named(message: &str) -> Option<String> {
    let rest = message.split_once("argument \"")?.1;
    let path = rest.split_once('"')?.0;
    path.rsplit('.').next().map(str::to_owned)
}

/// An error of ours that never reached a field (so without locations or path).
pub fn app_error(err: &AppError) -> ServerError {
    let error = err.extend();
    ServerError {
        message: error.message,
        source: error.source,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: error.extensions,
    }
}

/// A refusal before execution, with its code (BAD_USER_INPUT, TRUSTED_DOCUMENTS_ONLY...).
pub fn refusal(message: Msg, code: &str) -> ServerError {
    let mut error = ServerError::new(message.text(Lang::En), None);
    error.source = Some(Arc::new(message));
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    error
}

/// One finished error as a GraphQL body, with `status`, in the media type the request negotiated:
/// every answer from /graphql has the same content type for the same `Accept`, errors included.
pub fn error_answer(headers: &HeaderMap, status: StatusCode, mut error: ServerError, lang: Lang) -> Response {
    finish_error(&mut error, lang);
    let body = serde_json::to_vec(&serde_json::json!({ "errors": [error] })).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, MediaType::of(headers).content_type());
    with_retry_after(response)
}

/// A well-formed request that could not start executing: 400, or 200 for `application/json`.
pub fn request_refused(headers: &HeaderMap, error: ServerError, lang: Lang) -> Response {
    error_answer(headers, MediaType::of(headers).request_error_status(), error, lang)
}

/// A request-level failure (e.g. a bad API key) with the right status: 401, 403, 429 and 503
/// whatever the media type (the spec allows them for authentication, rate limits and outages;
/// proxies and clients act on them).
pub fn error_response(headers: &HeaderMap, err: AppError, lang: Lang) -> Response {
    let retry_after = match &err {
        AppError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
        _ => None,
    };
    let status = match err {
        AppError::Unauthenticated | AppError::UnknownKey | AppError::Refused(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) | AppError::TooSlow(_) | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = error_answer(headers, status, app_error(&err), lang);
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// An executed request's answer. GraphQL over HTTP: a request that could not start executing
/// (syntax, validation, limits, unknown operation, bad variables) has no `data`, and is a 400 with
/// `application/graphql-response+json`, a 200 with `application/json` (see `MediaType`). A spent
/// budget and the database being away are 429 and 503 whatever was asked.
pub fn graphql_response(
    headers: &HeaderMap,
    mut response: async_graphql::Response,
    caching: Caching,
    lang: Lang,
) -> Response {
    for error in &mut response.errors {
        finish_error(error, lang);
    }
    let media_type = MediaType::of(headers);
    let request_failed =
        response.data == async_graphql::Value::Null && response.errors.iter().all(|e| e.path.is_empty());
    let code_of = |e: &ServerError| match e.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(code)) => code.clone(),
        _ => String::new(),
    };
    let unavailable = response.errors.iter().any(|e| code_of(e) == AppError::UNAVAILABLE_CODE);
    let retry_after = response
        .errors
        .iter()
        .filter(|e| code_of(e) == AppError::RATE_LIMITED_CODE)
        .filter_map(|e| match e.extensions.as_ref().and_then(|x| x.get("retryAfter")) {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max();
    let (status, body) = if request_failed && !response.errors.is_empty() {
        // The GraphQL spec: an error raised before execution begins leaves `data` out.
        let mut body = serde_json::to_value(&response).unwrap_or_default();
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        (media_type.request_error_status(), serde_json::to_vec(&body))
    } else {
        // Straight to bytes: the response is serialized once.
        (StatusCode::OK, serde_json::to_vec(&response))
    };
    let Ok(body) = body else {
        let error = app_error(&AppError::Internal("response serialization".into()));
        return error_answer(headers, StatusCode::INTERNAL_SERVER_ERROR, error, lang);
    };
    // A spent budget and the database being away say "later": proxies, load balancers and
    // clients wait and retry.
    let status = match (retry_after, unavailable) {
        (Some(_), _) => StatusCode::TOO_MANY_REQUESTS,
        (None, true) => StatusCode::SERVICE_UNAVAILABLE,
        _ => status,
    };
    let caching = if status == StatusCode::OK && response.errors.is_empty() { caching } else { Caching::Private };
    let mut cache_headers = HeaderMap::new();
    if let Some(not_modified) = browser::cache_headers(caching, headers, &body, &mut cache_headers) {
        return not_modified;
    }
    let mut http_response = (status, body).into_response();
    http_response.headers_mut().extend(cache_headers);
    http_response.headers_mut().insert(header::CONTENT_TYPE, media_type.content_type());
    if let Some(secs) = retry_after {
        http_response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    with_retry_after(http_response)
}

/// A 503 says when to come back.
pub fn with_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}
