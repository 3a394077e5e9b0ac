//! The HTTP surface: /graphql (POST, GET, GraphiQL for browsers), /healthz, /readyz.
pub mod browser;
pub mod pages;
pub mod request_id;
pub mod websocket;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::HashMapCache;
use async_graphql::http::{MultipartOptions, parse_query_string};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, ErrorExtensionValues, ParseRequestError, ServerError};
use axum::Router;
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;
use sea_orm::ConnectionTrait;
use sha2::Digest;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::app::AppState;
use crate::auth::throttle;
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::graphql::admission::documents::Documents;
use crate::graphql::admission::limits;
use crate::graphql::loaders::{Loaders, RequestLoader};
use crate::graphql::schema::{self, JaminanSchema};
use crate::i18n::{Lang, Msg};
use crate::observability::metrics;
use crate::services::access::require_role;
use browser::Caching;

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

/// The media type GraphQL over HTTP defines for its answers.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) app: AppState,
    pub(crate) schema: JaminanSchema,
    pub(crate) documents: Arc<Documents>,
}

pub fn router(app: AppState) -> Router {
    let schema = schema::build(app.clone());
    let limits = app.limits.clone();
    let browser = app.browser.clone();
    let metrics_here = app.metrics_on_main.then(|| app.clone());
    let mut router = Router::new()
        // Nothing from /graphql is kept by a shared cache unless it says so (public figures).
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .layer(middleware::map_response(browser::private_by_default))
                .layer(middleware::from_fn(metrics::observe)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    // GraphiQL needs introspection: it is served only where introspection is on.
    if limits.introspection {
        router = router.merge(crate::http::pages::graphiql::routes());
    }
    router = router.merge(crate::http::pages::dashboard::routes());
    let http = Http { app, schema, documents: Arc::default() };
    // Here unless a separate address serves it (`--metrics-listen`), and only for an ADMIN key
    // or the metrics token; not logged (Prometheus scrapes every few seconds).
    let metrics_gate = metrics_here.map(|app| MetricsGate { http: http.clone(), scraper: metrics::Scraper::new(app) });
    let router = router
        // No body-limit layer: its 413 is plain text; `graphql_post` bounds the body itself and
        // answers with a GraphQL error. The other routes never read a body.
        .with_state(http)
        // Method and path only: query strings and bodies may carry NIKs. The API key's id and
        // name are added once the key is known (never the key itself).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request.headers().get(&request_id::HEADER).and_then(|v| v.to_str().ok());
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = request_id.unwrap_or_default(),
                        key_id = tracing::field::Empty,
                        key_name = tracing::field::Empty,
                        // For traces: renamed after the operation once it is known.
                        otel.kind = "server",
                        graphql.operation.type = tracing::field::Empty,
                        graphql.operation.name = tracing::field::Empty,
                    )
                })
                // One line per request at the default level: status and latency.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        // Outside the trace layer: the span records the id.
        .layer(middleware::from_fn(request_id::middleware));
    let router = match metrics_gate {
        Some(gate) => router.merge(Router::new().route("/metrics", get(gated_metrics)).with_state(gate)),
        None => router,
    };
    browser::layers(router, &browser)
}

/// `/metrics` on the main address, and who may read it there.
#[derive(Clone)]
struct MetricsGate {
    http: Http,
    scraper: metrics::Scraper,
}

/// The scrape, for an ADMIN key or `--metrics-token`: its payout counts are exact and national,
/// and the main address is the public one. A wrong token is a wrong key (counted as one).
async fn gated_metrics(State(gate): State<MetricsGate>, request: Request) -> Response {
    let headers = request.headers();
    let lang = lang_of(headers);
    let presented =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::auth::keys::bearer_key);
    // Compared as digests: equal lengths, and the time taken tells nothing of the token.
    let digest = |text: &str| sha2::Sha256::digest(text.as_bytes());
    if let (Some(token), Some(presented)) = (&gate.http.app.metrics_token, presented)
        && digest(token) == digest(presented)
    {
        return metrics::scrape(State(gate.scraper)).await;
    }
    match authenticate(&gate.http, headers, peer_of(request.extensions())).await {
        Ok(Some(actor)) if actor.role == Role::Admin => metrics::scrape(State(gate.scraper)).await,
        Ok(Some(_)) => {
            error_response(headers, AppError::Forbidden(Msg::NeedsRole { role: Role::Admin.as_str() }), lang)
        }
        Ok(None) => error_response(headers, AppError::Unauthenticated, lang),
        Err(err) => error_response(headers, err, lang),
    }
}

/// POST: one GraphQL request as `application/json` (batches are not accepted).
/// The connection's peer address (absent when the router is driven without a listener).
fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// The language the request's reader prefers: its `Accept-Language`, English without one.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::En, Lang::from_accept_language)
}

async fn graphql_post(State(http): State<Http>, request: Request) -> Response {
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
    if !media_type.eq_ignore_ascii_case("application/json") {
        return answer(headers, StatusCode::UNSUPPORTED_MEDIA_TYPE, request_error(Msg::NotJson, lang));
    }
    let bytes = match to_bytes(body, http.app.limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let error = request_error(Msg::BodyTooLarge { max: http.app.limits.max_body_bytes }, lang);
            return answer(headers, StatusCode::PAYLOAD_TOO_LARGE, error);
        }
    };
    let request = match serde_json::from_slice::<BatchRequest>(&bytes) {
        Ok(BatchRequest::Single(request)) => request,
        Ok(BatchRequest::Batch(_)) => {
            return answer(headers, StatusCode::BAD_REQUEST, request_error(Msg::BatchRefused, lang));
        }
        Err(err) => {
            let error = request_error(Msg::NotAGraphqlBody { detail: err.to_string() }, lang);
            return answer(headers, StatusCode::BAD_REQUEST, error);
        }
    };
    let parameters = serde_json::from_slice::<PostParameters>(&bytes).unwrap_or_default();
    // async-graphql reads a missing `query` as "": a syntax error, a 200 for application/json.
    // A body naming no document at all is no GraphQL request: 400 whatever the media type.
    if parameters.query.is_none() && parameters.document_id.is_none() && persisted_query_hash(&request).is_none() {
        let error = request_error(Msg::NotAGraphqlBody { detail: "missing field `query`".into() }, lang);
        return answer(headers, StatusCode::BAD_REQUEST, error);
    }
    let document_id = parameters.document_id;
    execute(&http, &parts.headers, peer, request, document_id, Method::POST, http.app.limits.request_timeout_secs).await
}

/// POST as a GraphQL multipart request (an upload for importEnrollments): the file is spooled to
/// a temporary file as it arrives, up to the upload limit, and the request gets the import's
/// longer timeout. Only a key that may import is read that far: anyone else is answered before
/// the body is read at all (an anonymous 60 MB upload was written to disk before any check).
async fn graphql_multipart(
    http: &Http,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    content_type: &str,
    body: axum::body::Body,
) -> Response {
    let limits = &http.app.limits;
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
            let error = request_error(Msg::UploadTooLarge { max: limits.max_upload_bytes }, lang);
            answer(headers, StatusCode::PAYLOAD_TOO_LARGE, error)
        }
        Err(err) => {
            let error = request_error(Msg::MultipartInvalid { detail: err.to_string() }, lang);
            answer(headers, StatusCode::BAD_REQUEST, error)
        }
    }
}

/// A browser asking for /graphql without a query gets GraphiQL; anything else is a GraphQL GET,
/// which may only run queries.
async fn graphql_get(State(http): State<Http>, request: Request) -> Response {
    if crate::http::websocket::is_upgrade(request.headers()) {
        let peer = peer_of(request.extensions());
        return crate::http::websocket::upgrade(http, peer, request).await;
    }
    let headers = request.headers();
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let query_string = request.uri().query().unwrap_or_default();
    let has_query = query_string.split('&').any(|p| p.starts_with("query=") || p.starts_with("documentId="));
    if wants_html && !has_query && http.app.limits.introspection {
        return crate::http::pages::graphiql::page().await.into_response();
    }
    match parse_query_string(query_string) {
        Ok(graphql) => {
            let peer = peer_of(request.extensions());
            let document_id = axum::extract::Query::<DocumentId>::try_from_uri(request.uri())
                .map(|q| q.0.document_id)
                .unwrap_or_default();
            execute(&http, headers, peer, graphql, document_id, Method::GET, http.app.limits.request_timeout_secs).await
        }
        Err(err) => {
            let error = request_error(Msg::QueryStringInvalid { detail: err.to_string() }, lang_of(headers));
            answer(headers, StatusCode::BAD_REQUEST, error)
        }
    }
}

async fn execute(
    http: &Http,
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
    http: &Http,
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
    let admin = caller.as_ref().is_some_and(|actor| actor.role == Role::Admin);
    let document_id = document_id.or_else(|| persisted_query_hash(&request));
    let trusted = match http.app.trusted.resolve(document_id.as_deref(), &request.query, admin) {
        Ok(Some(document)) => {
            request.query = document.to_string();
            true
        }
        Ok(None) => false,
        Err(refused) => return request_refused(headers, coded_request_error(refused.message(), refused.code(), lang)),
    };
    let limits = &http.app.limits;
    let document = match http.documents.prepare(&request.query, limits) {
        Ok(document) => document,
        Err(refusal) => return request_refused(headers, request_error(refusal.message(), lang)),
    };
    if let Some(document) = &document {
        observe_operation(document, request.operation_name.as_deref(), trusted, caller.is_some());
    }
    let write = document.as_ref().is_some_and(|d| limits::is_write(d, request.operation_name.as_deref()));
    let root_fields = match &document {
        Some(document) if write => limits::root_fields(document, request.operation_name.as_deref()),
        _ => 0,
    };
    if document.as_ref().is_some_and(|d| limits::is_subscription(d, request.operation_name.as_deref())) {
        return request_refused(headers, request_error(Msg::SubscriptionNeedsWebSocket, lang));
    }
    let parsed = document.clone();
    if let Some(document) = document {
        request.set_parsed_query(ExecutableDocument::clone(&document));
    }
    if method == Method::GET && write {
        // 405 whatever the media type: GraphQL over HTTP requires it.
        let mut response = answer(headers, StatusCode::METHOD_NOT_ALLOWED, request_error(Msg::MutationNeedsPost, lang));
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if write && root_fields > 1 && caller.as_ref().is_none_or(|actor| actor.role != Role::Admin) {
        return request_refused(headers, request_error(Msg::OneMutationPerRequest, lang));
    }
    let anonymous = caller.is_none();
    // Queries read from the replica while it answers; mutations, and what they read, stay on
    // the primary. A query the replica failed for want of the database runs again on the primary.
    let replica = if write { None } else { http.app.replica.as_ref() };
    let on_replica = replica.and_then(|replica| replica.for_reads()).cloned();
    let retry = on_replica.is_some().then(|| replay(&request, parsed.as_deref()));
    let running = async {
        let Some(db) = on_replica else { return run(http, http.app.clone(), request, caller, write, lang).await };
        let response = run(http, AppState { db, ..http.app.clone() }, request, caller.clone(), write, lang).await;
        match (replica, retry) {
            (Some(replica), Some(again)) if has_code(&response, AppError::UNAVAILABLE_CODE) => {
                replica.mark_down();
                run(http, http.app.clone(), again, caller, write, lang).await
            }
            _ => response,
        }
    };
    let Ok(mut response) = tokio::time::timeout(Duration::from_secs(timeout_secs), running).await else {
        let message = Msg::RequestTimeout { secs: timeout_secs };
        let body = serde_json::json!({ "errors": [error_body(&AppError::TooSlow(message), lang)] });
        return answer(headers, StatusCode::SERVICE_UNAVAILABLE, body);
    };
    for error in &mut response.errors {
        localize(error, lang);
        ensure_code(error);
    }
    // An anonymous GET can only read public data (areas, statistics): the same for everyone.
    let caching = if method == Method::GET && anonymous && !write {
        Caching::Public { max_age_secs: http.app.browser.public_max_age_secs }
    } else {
        Caching::Private
    };
    graphql_response(headers, response, caching, lang)
}

/// Executes `request` with `app` (the primary's state, or the replica's for a query).
async fn run(
    http: &Http,
    app: AppState,
    request: async_graphql::Request,
    caller: crate::auth::Caller,
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
fn observe_operation(document: &ExecutableDocument, operation_name: Option<&str>, trusted: bool, keyed: bool) {
    let Some((name, kind)) = limits::operation(document, operation_name) else { return };
    let label = metrics::operation_names().label(name, trusted, keyed);
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

/// The client's address: the peer's, or the one a trusted proxy forwarded.
pub(crate) fn client_address(
    throttle: &throttle::Throttle,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
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
pub(crate) async fn authenticate(http: &Http, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Caller, AppError> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    authenticate_with(http, headers, peer, authorization).await
}

/// `authenticate` with the `Authorization` given apart (a WebSocket's comes in connection_init).
pub(crate) async fn authenticate_with(
    http: &Http,
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
    let not_blocked = || address.map_or(Ok(()), |address| throttle.check_not_blocked(address));
    let caller = match http.app.keys.authenticate_with(&http.app.db, authorization, not_blocked).await {
        Err(AppError::UnknownKey) => {
            if let Some(address) = address {
                throttle.failed_key(address)?;
            }
            return Err(AppError::UnknownKey);
        }
        other => other?,
    };
    match (&caller, address) {
        (Some(actor), _) => throttle.key_request(actor.key_id)?,
        (None, Some(address)) => throttle.anonymous_request(address)?,
        (None, None) => {}
    }
    Ok(caller)
}

/// GraphQL over HTTP: a request that could not start executing (syntax, validation, limits,
/// unknown operation, bad variables) has no `data`, and is a 400 with
/// `application/graphql-response+json`, a 200 with `application/json` (see `MediaType`).
fn graphql_response(headers: &HeaderMap, response: async_graphql::Response, caching: Caching, lang: Lang) -> Response {
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
        let body =
            serde_json::json!({ "errors": [error_body(&AppError::Internal("response serialization".into()), lang)] });
        return answer(headers, StatusCode::INTERNAL_SERVER_ERROR, body);
    };
    // A spent budget and the database being away say "later", whatever was asked: 429 and 503,
    // so that proxies, load balancers and clients wait and retry.
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
fn with_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// One error of a request that never reached a field (so without locations or path).
fn error_body(err: &AppError, lang: Lang) -> serde_json::Value {
    let mut error = async_graphql::ErrorExtensions::extend(err);
    if let Some(async_graphql::Value::String(code)) = error.extensions.as_ref().and_then(|x| x.get("code")) {
        metrics::note_error(code);
    }
    if let Some(message) = error.source.as_ref().and_then(|source| source.downcast_ref::<Msg>()) {
        error.message = message.text(lang);
    }
    if let Some(id) = request_id::current() {
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("requestId", id.as_ref());
    }
    serde_json::json!({ "message": error.message, "extensions": error.extensions })
}

/// A request refused before execution, as a GraphQL error body with code BAD_USER_INPUT.
fn request_error(message: Msg, lang: Lang) -> serde_json::Value {
    coded_request_error(message, "BAD_USER_INPUT", lang)
}

fn coded_request_error(message: Msg, code: &str, lang: Lang) -> serde_json::Value {
    metrics::note_error(code);
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(id) = request_id::current() {
        extensions["requestId"] = id.as_ref().into();
    }
    serde_json::json!({ "errors": [{ "message": message.text(lang), "extensions": extensions }] })
}

/// A GraphQL error body with `status`, in the media type the request negotiated: every answer
/// from /graphql has the same content type for the same `Accept`, errors included.
fn answer(headers: &HeaderMap, status: StatusCode, body: serde_json::Value) -> Response {
    // A `Value` always serializes.
    let mut response = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, MediaType::of(headers).content_type());
    with_retry_after(response)
}

/// A well-formed request that could not start executing: 400, or 200 for `application/json`.
fn request_refused(headers: &HeaderMap, body: serde_json::Value) -> Response {
    answer(headers, MediaType::of(headers).request_error_status(), body)
}

/// Our errors (`AppError`) carry their message as a `Msg`: written out here in the reader's
/// language. async-graphql's own (syntax, validation, variables) have none and stay English.
pub(crate) fn localize(error: &mut ServerError, lang: Lang) {
    if let Some(message) = error.source::<Msg>() {
        error.message = message.text(lang);
    }
}

/// `documentId` of a request (GraphQL over HTTP's persisted documents), beside the fields
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

/// Apollo's automatic persisted queries: `extensions.persistedQuery.sha256Hash` (version 1).
pub(crate) fn persisted_query_hash(request: &async_graphql::Request) -> Option<String> {
    let persisted = serde_json::to_value(request.extensions.get("persistedQuery")?).ok()?;
    (persisted.get("version")?.as_i64()? == 1).then_some(())?;
    Some(persisted.get("sha256Hash")?.as_str()?.to_owned())
}

/// Errors raised by async-graphql itself (syntax, validation, argument values) carry no code:
/// they are the client's, so BAD_USER_INPUT, with the argument named when the message names it.
pub(crate) fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    if let Some(id) = request_id::current() {
        extensions.set("requestId", id.as_ref());
    }
    if let Some(async_graphql::Value::String(code)) = extensions.get("code") {
        metrics::note_error(code);
        return;
    }
    metrics::note_error("BAD_USER_INPUT");
    extensions.set("code", "BAD_USER_INPUT");
    if let Some(field) = argument_named(&error.message) {
        extensions.set("field", field);
    }
}

/// `Invalid value for argument "input.amount", ...` -> "amount".
fn argument_named(message: &str) -> Option<String> {
    let rest = message.split_once("argument \"")?.1;
    let path = rest.split_once('"')?.0;
    path.rsplit('.').next().map(str::to_owned)
}

/// A request-level failure (e.g. a bad API key) as a GraphQL response with the right status:
/// 401, 403, 429 and 503 whatever the media type (the spec allows them for authentication, rate
/// limits and outages; proxies and clients act on them).
pub(crate) fn error_response(headers: &HeaderMap, err: AppError, lang: Lang) -> Response {
    let retry_after = match &err {
        AppError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
        _ => None,
    };
    let status = match err {
        AppError::Unauthenticated | AppError::UnknownKey => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) | AppError::TooSlow(_) | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = answer(headers, status, serde_json::json!({ "errors": [error_body(&err, lang)] }));
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Ready while the primary answers; with a read replica, says how the replica is too (a replica
/// that does not answer leaves the instance ready: its queries read from the primary).
async fn readyz(State(http): State<Http>) -> Response {
    // Within a second: load balancers probe often and must learn of an outage fast.
    let ping = http.app.db.execute_unprepared("SELECT 1");
    let primary = matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Ok(_)));
    let replica = match &http.app.replica {
        None => String::new(),
        Some(replica) if replica.answers().await => "\nprimary: ok\nreplica: ok".to_owned(),
        Some(_) => "\nprimary: ok\nreplica: unreachable (queries read from the primary)".to_owned(),
    };
    if primary {
        (StatusCode::OK, format!("ready{replica}")).into_response()
    } else {
        with_retry_after((StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response())
    }
}
