//! The HTTP surface: /graphql (POST, GET, WebSocket, GraphiQL for browsers), the pages, the
//! downloads (exports, the template), /healthz, /readyz and /metrics.
pub mod browser;
mod caller;
mod downloads;
mod graphql;
pub mod pages;
pub mod request_id;
mod responses;
mod state;
pub mod websocket;

pub use state::{HttpSettings, MetricsOnMain};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::ConnectionTrait;
use sha2::Digest;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::auth::Role;
use crate::error::AppError;
use crate::graphql::admission::Admission;
use crate::graphql::schema;
use crate::i18n::Msg;
use crate::observability::metrics;
use crate::services::AppState;
use caller::{authenticate, lang_of, peer_of};
use responses::{error_response, with_retry_after};
use state::HttpState;

pub fn router(app: AppState, settings: HttpSettings) -> Router {
    let schema = schema::build(app.clone(), &settings.limits);
    let admission = Arc::new(Admission::new(settings.trusted.clone(), settings.limits.clone()));
    let browser = settings.browser.clone();
    let mut router = Router::new()
        // Nothing from /graphql is kept by a shared cache unless it says so (public figures).
        .route(
            "/graphql",
            get(graphql::graphql_get)
                .post(graphql::graphql_post)
                .layer(middleware::map_response(browser::private_by_default))
                .layer(middleware::from_fn(metrics::observe)),
        )
        .route("/exports/enrollments", get(downloads::enrollments))
        .route("/templates/enrollments.xlsx", get(downloads::template))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    // GraphiQL needs introspection: where it is off, keyed callers keep it (see `admission`).
    let sign_in = settings.sign_in.clone();
    router = router
        .merge(pages::graphiql::routes(sign_in.clone()))
        .merge(pages::dashboard::routes(sign_in.clone()))
        .merge(pages::import::routes(sign_in))
        .merge(pages::signin::routes());
    let http = HttpState { app, settings, schema, admission };
    // Here unless a separate address serves it (`--metrics-listen`), and only for an ADMIN key
    // or the metrics token; not logged (Prometheus scrapes every few seconds).
    let metrics_gate = match &http.settings.metrics {
        MetricsOnMain::ForAdmins { token } => Some(MetricsGate {
            http: http.clone(),
            token: token.clone(),
            scraper: metrics::Scraper::new(http.app.db.clone(), http.settings.writes.clone()),
        }),
        MetricsOnMain::Elsewhere => None,
    };
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
    http: HttpState,
    token: Option<Arc<str>>,
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
    if let (Some(token), Some(presented)) = (&gate.token, presented)
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

/// Ready while the primary answers; with a read replica, says how the replica is too (a replica
/// that does not answer leaves the instance ready: its queries read from the primary), and with
/// shared budgets, whether Redis holds them now.
async fn readyz(State(http): State<HttpState>) -> Response {
    // Within a second: load balancers probe often and must learn of an outage fast.
    let ping = http.app.db.execute_unprepared("SELECT 1");
    let primary = matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Ok(_)));
    let replica = match &http.settings.replica {
        None => String::new(),
        Some(replica) if replica.answers().await => "\nprimary: ok\nreplica: ok".to_owned(),
        Some(_) => "\nprimary: ok\nreplica: unreachable (queries read from the primary)".to_owned(),
    };
    // With --redis-url: whether the budgets are shared now (without Redis the instance still
    // serves, counting its own, so it stays ready).
    let budgets = match http.app.throttle.shared_available() {
        None => "",
        Some(true) => "\nbudgets: shared (redis)",
        Some(false) => "\nbudgets: this instance's own (redis unreachable)",
    };
    if primary {
        (StatusCode::OK, format!("ready{replica}{budgets}")).into_response()
    } else {
        with_retry_after((StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response())
    }
}
