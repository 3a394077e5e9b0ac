//! The HTTP surface: /graphql (POST, GET, GraphiQL for browsers), /healthz, /readyz.
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::{ErrorExtensionValues, ServerError};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::ConnectionTrait;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::graphql::schema::{self, JaminanSchema};

/// Largest request body accepted (a GraphQL document with variables is a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A request still running after this is answered with 408 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Http {
    app: AppState,
    schema: JaminanSchema,
}

pub fn router(app: AppState) -> Router {
    let schema = schema::build(app.clone());
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(crate::graphiql::routes())
        .with_state(Http { app, schema })
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        // Method and path only: query strings and bodies may carry NIKs.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
}

async fn graphql_post(State(http): State<Http>, headers: HeaderMap, request: GraphQLRequest) -> Response {
    execute(&http, &headers, request.into_inner()).await
}

/// A browser asking for /graphql without a query gets GraphiQL; anything else is a GraphQL GET.
async fn graphql_get(State(http): State<Http>, headers: HeaderMap, request: Request) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let has_query = request.uri().query().is_some_and(|q| q.split('&').any(|p| p.starts_with("query=")));
    if wants_html && !has_query {
        return crate::graphiql::page().await.into_response();
    }
    match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(request, &http).await {
        Ok(request) => execute(&http, &headers, request.into_inner()).await,
        Err(rejection) => rejection.into_response(),
    }
}

async fn execute(http: &Http, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match auth::authenticate(&http.app.db, authorization).await {
        Ok(caller) => caller,
        Err(err) => return error_response(err),
    };
    let loaders = DataLoader::new(Loaders::new(http.app.clone()), tokio::spawn);
    let mut response = http.schema.execute(request.data(caller).data(loaders)).await;
    response.errors.iter_mut().for_each(ensure_code);
    GraphQLResponse::from(response).into_response()
}

/// Errors raised by async-graphql itself (syntax, validation, argument values) carry no code:
/// they are the client's, so BAD_USER_INPUT, with the argument named when the message names it.
fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_some() {
        return;
    }
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

/// A request-level failure (e.g. a bad API key) as a GraphQL response with the right status.
fn error_response(err: AppError) -> Response {
    let status = match err {
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let error = async_graphql::ErrorExtensions::extend(&err).into_server_error(Default::default());
    (status, Json(serde_json::json!({ "errors": [error] }))).into_response()
}

async fn readyz(State(http): State<Http>) -> Response {
    let ping = http.app.db.execute_unprepared("SELECT 1");
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// Keeps `Html` in scope for the GraphiQL page type.
#[allow(dead_code)]
type Page = Html<&'static str>;
