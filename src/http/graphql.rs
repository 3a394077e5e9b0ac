//! GraphQL over HTTP on /graphql: POST (JSON, or a multipart upload for importEnrollments) and
//! GET (queries only; GraphiQL for a browser that asks without a query). A request goes: caller
//! (key and budgets) -> admission (trusted document, parsing, limits) -> the rules of HTTP
//! (subscriptions over WebSocket, mutations by POST, one mutation per request) -> execution, on
//! the read replica for queries -> the response.
use std::net::IpAddr;
use std::time::Duration;

use async_graphql::dataloader::HashMapCache;
use async_graphql::http::{MultipartOptions, parse_query_string};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, ParseRequestError};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures_util::TryStreamExt;

use super::browser::Caching;
use super::caller::{authenticate, lang_of, peer_of};
use super::responses::{app_error, error_answer, error_response, graphql_response, refusal, request_refused};
use super::state::HttpState;
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::graphql::admission::{Admitted, persisted_query_hash};
use crate::graphql::loaders::{Loaders, RequestLoader};
use crate::i18n::{Lang, Msg};
use crate::observability::metrics;
use crate::services::AppState;
use crate::services::access::require_role;

/// A request refused before execution with code BAD_USER_INPUT.
fn bad_request(message: Msg) -> async_graphql::ServerError {
    refusal(message, "BAD_USER_INPUT")
}

pub(super) async fn graphql_post(State(http): State<HttpState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let peer = peer_of(&parts.extensions);
    let lang = lang_of(&parts.headers);
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("multipart/form-data") {
        return graphql_multipart(&http, &parts.headers, peer, content_type, body).await;
    }
    // Bodies that are no GraphQL-over-HTTP request keep their 4xx whatever the media type.
    let headers = &parts.headers;
    let limits = &http.settings.limits;
    if !media_type.eq_ignore_ascii_case("application/json") {
        return error_answer(headers, StatusCode::UNSUPPORTED_MEDIA_TYPE, bad_request(Msg::NotJson), lang);
    }
    let Ok(bytes) = to_bytes(body, limits.max_body_bytes).await else {
        let error = bad_request(Msg::BodyTooLarge { max: limits.max_body_bytes });
        return error_answer(headers, StatusCode::PAYLOAD_TOO_LARGE, error, lang);
    };
    let request = match serde_json::from_slice::<BatchRequest>(&bytes) {
        Ok(BatchRequest::Single(request)) => request,
        Ok(BatchRequest::Batch(_)) => {
            return error_answer(headers, StatusCode::BAD_REQUEST, bad_request(Msg::BatchRefused), lang);
        }
        Err(err) => {
            let error = bad_request(Msg::NotAGraphqlBody { detail: err.to_string() });
            return error_answer(headers, StatusCode::BAD_REQUEST, error, lang);
        }
    };
    let parameters = serde_json::from_slice::<PostParameters>(&bytes).unwrap_or_default();
    // async-graphql reads a missing `query` as "": a syntax error, a 200 for application/json.
    // A body naming no document at all is no GraphQL request: 400 whatever the media type.
    if parameters.query.is_none() && parameters.document_id.is_none() && persisted_query_hash(&request).is_none() {
        let error = bad_request(Msg::NotAGraphqlBody { detail: "missing field `query`".into() });
        return error_answer(headers, StatusCode::BAD_REQUEST, error, lang);
    }
    let timeout = limits.request_timeout_secs;
    execute(&http, headers, peer, request, parameters.document_id, Method::POST, timeout).await
}

/// POST as a GraphQL multipart request (an upload for importEnrollments): the file is spooled to
/// a temporary file as it arrives, up to the upload limit, and the request gets the import's
/// longer timeout. Only a key that may import is read that far: anyone else is answered before
/// the body is read at all (an anonymous 60 MB upload was written to disk before any check).
async fn graphql_multipart(
    http: &HttpState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    content_type: &str,
    body: axum::body::Body,
) -> Response {
    let limits = &http.settings.limits;
    let lang = lang_of(headers);
    let caller = match authenticate(http, headers, peer).await {
        Ok(caller) => caller,
        Err(err) => return error_response(headers, err, lang),
    };
    if let Err(err) = require_role(&caller, Role::Operator) {
        return error_response(headers, err, lang);
    }
    let options = MultipartOptions::default().max_file_size(limits.max_upload_bytes).max_num_files(1);
    let body = body.into_data_stream().map_err(std::io::Error::other).into_async_read();
    match async_graphql::http::receive_body(Some(content_type), body, options).await {
        Ok(request) => execute_as(http, headers, caller, request, None, Method::POST, limits.import_timeout_secs).await,
        Err(ParseRequestError::PayloadTooLarge) => {
            let error = bad_request(Msg::UploadTooLarge { max: limits.max_upload_bytes });
            error_answer(headers, StatusCode::PAYLOAD_TOO_LARGE, error, lang)
        }
        Err(err) => {
            let error = bad_request(Msg::MultipartInvalid { detail: err.to_string() });
            error_answer(headers, StatusCode::BAD_REQUEST, error, lang)
        }
    }
}

/// A browser asking for /graphql without a query gets GraphiQL; a WebSocket upgrade goes to the
/// subscriptions; anything else is a GraphQL GET, which may only run queries.
pub(super) async fn graphql_get(State(http): State<HttpState>, request: Request) -> Response {
    if super::websocket::is_upgrade(request.headers()) {
        let peer = peer_of(request.extensions());
        return super::websocket::upgrade(http, peer, request).await;
    }
    let headers = request.headers();
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let query_string = request.uri().query().unwrap_or_default();
    let has_query = query_string.split('&').any(|p| p.starts_with("query=") || p.starts_with("documentId="));
    if wants_html && !has_query {
        return super::pages::graphiql::page(http.settings.sign_in.as_ref());
    }
    match parse_query_string(query_string) {
        Ok(graphql) => {
            let peer = peer_of(request.extensions());
            let document_id = axum::extract::Query::<DocumentId>::try_from_uri(request.uri())
                .map(|q| q.0.document_id)
                .unwrap_or_default();
            let timeout = http.settings.limits.request_timeout_secs;
            execute(&http, headers, peer, graphql, document_id, Method::GET, timeout).await
        }
        Err(err) => {
            let error = bad_request(Msg::QueryStringInvalid { detail: err.to_string() });
            error_answer(headers, StatusCode::BAD_REQUEST, error, lang_of(headers))
        }
    }
}

async fn execute(
    http: &HttpState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    request: async_graphql::Request,
    document_id: Option<String>,
    method: Method,
    timeout_secs: u64,
) -> Response {
    // Who asks comes first: where only trusted documents run, it decides whether anything else
    // may even be parsed.
    let caller = match authenticate(http, headers, peer).await {
        Ok(caller) => caller,
        Err(err) => return error_response(headers, err, lang_of(headers)),
    };
    execute_as(http, headers, caller, request, document_id, method, timeout_secs).await
}

/// `execute` for a caller already authenticated (and counted).
async fn execute_as(
    http: &HttpState,
    headers: &HeaderMap,
    caller: Caller,
    mut request: async_graphql::Request,
    document_id: Option<String>,
    method: Method,
    timeout_secs: u64,
) -> Response {
    let lang = lang_of(headers);
    if let Some(actor) = &caller {
        let span = tracing::Span::current();
        span.record("key_id", actor.key_id);
        span.record("key_name", actor.key_name.as_str());
    }
    let admitted = match http.admission.admit(&mut request, document_id.as_deref(), &caller) {
        Ok(admitted) => admitted,
        // Introspection asked for without a key where it is off: 401, as a missing key is.
        Err(refused) if refused.code == "UNAUTHENTICATED" => {
            let error = refusal(refused.message, refused.code);
            return error_answer(headers, StatusCode::UNAUTHORIZED, error, lang);
        }
        Err(refused) => return request_refused(headers, refusal(refused.message, refused.code), lang),
    };
    let operation_name = request.operation_name.clone();
    observe_operation(&admitted, operation_name.as_deref(), caller.is_some());
    if let Some(refused) = http_rules(headers, &admitted, operation_name.as_deref(), &method, &caller, lang) {
        return refused;
    }
    let write = admitted.kind(operation_name.as_deref()).is_some_and(|kind| kind != OperationType::Query);
    // Queries read from the replica while it answers; mutations, and what they read, stay on
    // the primary. A query the replica failed for want of the database runs again on the primary.
    let replica = if write { None } else { http.settings.replica.as_ref() };
    let on_replica = replica.and_then(|replica| replica.for_reads()).cloned();
    let retry = on_replica.is_some().then(|| replay(&request, admitted.document.as_deref()));
    let anonymous = caller.is_none();
    let running = async {
        let Some(db) = on_replica else {
            let app = match &http.settings.writes {
                Some(writes) if write => AppState { db: writes.clone(), ..http.app.clone() },
                _ => http.app.clone(),
            };
            return execute_with(http, app, request, caller, write, lang).await;
        };
        let on_replica = AppState { db, ..http.app.clone() };
        let response = execute_with(http, on_replica, request, caller.clone(), write, lang).await;
        match (replica, retry) {
            (Some(replica), Some(again)) if has_code(&response, AppError::UNAVAILABLE_CODE) => {
                replica.mark_down();
                execute_with(http, http.app.clone(), again, caller, write, lang).await
            }
            _ => response,
        }
    };
    let Ok(response) = tokio::time::timeout(Duration::from_secs(timeout_secs), running).await else {
        let error = app_error(&AppError::TooSlow(Msg::RequestTimeout { secs: timeout_secs }));
        return error_answer(headers, StatusCode::SERVICE_UNAVAILABLE, error, lang);
    };
    // An anonymous GET can only read public data (areas, statistics): the same for everyone.
    let caching = if method == Method::GET && anonymous && !write {
        Caching::Public { max_age_secs: http.settings.browser.public_max_age_secs }
    } else {
        Caching::Private
    };
    graphql_response(headers, response, caching, lang)
}

/// What HTTP adds to the admission: subscriptions run over WebSocket, mutations only by POST,
/// and one mutation per request unless the key is ADMIN (aliases of a mutation multiply guesses).
/// The refusal, if any.
fn http_rules(
    headers: &HeaderMap,
    admitted: &Admitted,
    operation_name: Option<&str>,
    method: &Method,
    caller: &Caller,
    lang: Lang,
) -> Option<Response> {
    match admitted.kind(operation_name) {
        Some(OperationType::Subscription) => {
            return Some(request_refused(headers, bad_request(Msg::SubscriptionNeedsWebSocket), lang));
        }
        Some(OperationType::Mutation) if method == Method::GET => {
            // 405 whatever the media type: GraphQL over HTTP requires it.
            let error = bad_request(Msg::MutationNeedsPost);
            let mut response = error_answer(headers, StatusCode::METHOD_NOT_ALLOWED, error, lang);
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Some(response);
        }
        _ => {}
    }
    let admin = caller.as_ref().is_some_and(|actor| actor.role == Role::Admin);
    (admitted.mutations(operation_name) > 1 && !admin)
        .then(|| request_refused(headers, bad_request(Msg::OneMutationPerRequest), lang))
}

/// Executes `request` with `app` (the primary's state, or the replica's for a query).
async fn execute_with(
    http: &HttpState,
    app: AppState,
    request: async_graphql::Request,
    caller: Caller,
    write: bool,
    lang: Lang,
) -> async_graphql::Response {
    let loaders = RequestLoader::with_cache(
        Loaders::new(app.clone(), caller.clone()),
        // The batch's statements belong to the resolver that asked (traces).
        |batch| tokio::spawn(tracing::Instrument::in_current_span(batch)),
        HashMapCache::default(),
    );
    loaders.enable_all_cache(!write);
    http.schema.execute(request.data(app).data(caller).data(loaders).data(lang)).await
}

/// The same query again (a query has no uploads, and its document is parsed already).
fn replay(request: &async_graphql::Request, document: Option<&ExecutableDocument>) -> async_graphql::Request {
    let mut again = async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
    again.operation_name = request.operation_name.clone();
    again.extensions = request.extensions.clone();
    if let Some(document) = document {
        again.set_parsed_query(document.clone());
    }
    again
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|e| {
        matches!(e.extensions.as_ref().and_then(|x| x.get("code")), Some(async_graphql::Value::String(c)) if c == code)
    })
}

/// The operation a request runs: its metrics label (bounded, see `metrics::OperationNames`), and
/// the request span's name for traces.
fn observe_operation(admitted: &Admitted, operation_name: Option<&str>, keyed: bool) {
    let Some((name, kind)) = admitted.operation(operation_name) else { return };
    let label = metrics::operation_names().label(name, admitted.trusted, keyed);
    let span = tracing::Span::current();
    let kind = match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    crate::observability::telemetry::rename(&span, format!("{kind} {label}"));
    span.record("graphql.operation.type", kind);
    if let Some(name) = name {
        span.record("graphql.operation.name", name.get(..64).unwrap_or(name));
    }
    metrics::note_operation(label);
}

/// `documentId` of a GET (GraphQL over HTTP's persisted documents), beside the fields
/// async-graphql reads.
#[derive(Debug, Default, serde::Deserialize)]
struct DocumentId {
    #[serde(rename = "documentId")]
    document_id: Option<String>,
}

/// What a POST body names: `documentId`, and whether it has a `query` (not read here).
#[derive(Default, serde::Deserialize)]
struct PostParameters {
    #[serde(rename = "documentId")]
    document_id: Option<String>,
    query: Option<serde::de::IgnoredAny>,
}
