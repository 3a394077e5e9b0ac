//! GraphQL over WebSocket on /graphql: `graphql-transport-ws` (what the graphql-ws client and
//! GraphiQL speak), and the older `graphql-ws` of subscriptions-transport-ws.
//!
//! Only subscriptions run here; queries and mutations go over HTTP, where the request limits,
//! caching and rate limits live. The API key comes in the `connection_init` payload
//! (`{"Authorization": "Bearer ..."}`, or the upgrade request's own header) and is checked like an
//! HTTP request's, failed keys counted against the address; an unknown or revoked key closes the
//! connection with 4401, a rate limit (or a database away) with 1013, try again later. Each
//! subscription document passes the same admission as an HTTP request's (`graphql::admission`):
//! trusted documents, token and alias budgets; then depth and complexity. The server pings;
//! silent connections are closed. A client renews its access token with a `ping` carrying
//! `{"authorization": "Bearer <token>"}` (`Renewal`).
use std::any::TypeId;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_graphql::dataloader::HashMapCache;
use async_graphql::futures_util::stream::{self, BoxStream};
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::{WebSocketProtocols as Protocols, WsMessage};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ErrorExtensions, Executor, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{FromRequestParts, Request, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::{SinkExt, StreamExt, future};

use super::caller::{authenticate_with, client_address, lang_of};
use super::responses::{error_response, finish_error, refusal};
use super::state::HttpState;
use crate::auth::Caller;
use crate::auth::throttle::{Holder, PendingWebSocket};
use crate::error::AppError;
use crate::graphql::live::ConnectionAuthorization;
use crate::graphql::loaders::{Loaders, RequestLoader};
use crate::i18n::{Lang, Msg};
use crate::services::subscriptions::Credential;

/// Subscriptions one connection may hold open at once: a dashboard needs a few, and each one
/// costs the server a task and a re-check of the key every half second.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;

/// The subscriptions open on one connection (in its session data).
#[derive(Default)]
struct OpenSubscriptions(AtomicUsize);

/// Holds one of a connection's subscription slots until its stream is dropped.
struct Slot(Arc<Data>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(open) = open_subscriptions(&self.0) {
            open.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn open_subscriptions(session: &Data) -> Option<&OpenSubscriptions> {
    session.get(&TypeId::of::<OpenSubscriptions>()).and_then(|data| data.downcast_ref::<OpenSubscriptions>())
}

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Accepts the upgrade when the client speaks one of the GraphQL WebSocket protocols.
pub(crate) async fn upgrade(http: HttpState, peer: Option<IpAddr>, request: Request) -> HttpResponse {
    let (mut parts, _body) = request.into_parts();
    // The first GraphQL subprotocol the client offers (as async-graphql-axum's extractor picks).
    let offered = parts.headers.get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(protocol) = offered.split(',').find_map(|p| Protocols::from_str(p.trim()).ok()) else {
        let message = "ask for the graphql-transport-ws WebSocket subprotocol (Sec-WebSocket-Protocol)";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let headers = parts.headers;
    // Until it says who it is, a socket counts among the pending ones, of its address and in all.
    let address = client_address(&http.app.throttle, &headers, peer);
    let pending = match http.app.throttle.admit_websocket(address).await {
        Ok(pending) => pending,
        Err(err) => return error_response(&headers, err, lang_of(&headers)),
    };
    // Small buffers: a connection mostly waits, and tungstenite's defaults (128 KiB to read and
    // to write) made a thousand idle subscribers cost 135 MiB. A subscribe message is bounded
    // like a request body.
    let max_message = http.settings.limits.max_body_bytes;
    let upgrade = upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max_message)
        .max_frame_size(max_message);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, http, protocol, headers, peer, pending))
}

/// Runs the protocol on one connection until the client leaves, goes silent, or the server shuts
/// down; then the connection is closed with 1001 (going away), so that clients reconnect to
/// another instance and draining never waits on an idle subscription.
async fn serve(
    socket: WebSocket,
    http: HttpState,
    protocol: Protocols,
    headers: HeaderMap,
    peer: Option<IpAddr>,
    pending: PendingWebSocket,
) {
    let (mut sink, stream) = socket.split();
    // When the client last sent anything (a pong included): a connection that goes quiet for
    // three pings is gone (a vanished client's TCP connection may never report an error).
    let last_heard = Arc::new(std::sync::Mutex::new(Instant::now()));
    let heard = last_heard.clone();
    let input = stream.take_while(|message| future::ready(message.is_ok())).filter_map(move |message| {
        *heard.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        future::ready(match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
            _ => None,
        })
    });
    let ping_every = Duration::from_secs(http.settings.limits.websocket_ping_secs.max(1));
    let mut stopping = http.settings.stopping.clone();
    let stopped = async move {
        // Settings without a server (tests driving the router) never stop.
        if stopping.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let initialized = Arc::new(AtomicBool::new(false));
    let connection = Connection { http, headers, peer, initialized: initialized.clone() };
    let output = connection.protocol(input, protocol, pending);
    let mut output = std::pin::pin!(output);
    let mut stopped = std::pin::pin!(stopped);
    // graphql-ws: no connection_init within the wait closes with 4408. Until then the
    // connection counts among the pending ones.
    let mut init_wait = std::pin::pin!(tokio::time::sleep(ping_every));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let closing = loop {
        tokio::select! {
            message = output.next() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            () = &mut stopped => break CloseFrame { code: 1001, reason: "the server is shutting down".into() },
            () = &mut init_wait, if !initialized.load(Ordering::Relaxed) => {
                break CloseFrame { code: 4408, reason: "Connection initialisation timeout".into() };
            }
            _ = ping.tick() => {
                let quiet = last_heard.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                if quiet > 3 * ping_every {
                    break CloseFrame { code: 1001, reason: "no answer to pings".into() };
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    };
    let _ = sink.send(Message::Close(Some(closing))).await;
}

/// One connection, before and after its connection_init.
struct Connection {
    http: HttpState,
    headers: HeaderMap,
    peer: Option<IpAddr>,
    initialized: Arc<AtomicBool>,
}

impl Connection {
    /// The protocol's messages to send, from the client's: async-graphql's state machine with this
    /// server's connection_init (the caller, checked as an HTTP request's) and close codes.
    ///
    /// async-graphql closes a refused connection_init with 1002 (protocol error), which the
    /// graphql-ws client takes as fatal. An unknown or revoked key closes with 4401
    /// (Unauthorized), which the client does not retry: it retried 4403 five times, each retry
    /// one more wrong key against the address's budget. 4403 (Forbidden, retried: access may be
    /// granted meanwhile) stays for a known key refused a right; nothing at connection_init
    /// refuses one today (roles and scopes refuse subscriptions, not connections). A rate limit
    /// or a database away closes with 1013 (try again later), which clients retry with backoff.
    fn protocol(
        self,
        input: impl futures_util::Stream<Item = axum::body::Bytes> + Send + Unpin + 'static,
        protocol: Protocols,
        pending: PendingWebSocket,
    ) -> impl futures_util::Stream<Item = Message> + Send {
        let lang = lang_of(&self.headers);
        let executor = LiveExecutor { http: self.http.clone(), lang };
        let refused_with = Arc::new(AtomicU16::new(0));
        let refusal = refused_with.clone();
        let refuse = move |err: AppError| {
            let code = match err.code() {
                AppError::RATE_LIMITED_CODE | AppError::UNAVAILABLE_CODE => 1013,
                "INTERNAL_SERVER_ERROR" => 1011,
                "UNAUTHENTICATED" => 4401,
                _ => 4403,
            };
            refusal.store(code, Ordering::Relaxed);
            err.extend()
        };
        let renewal = Renewal { http: self.http.clone(), headers: self.headers.clone(), peer: self.peer };
        let refuse_renewal = refuse.clone();
        async_graphql::http::WebSocket::new(executor, input, protocol)
            .on_connection_init(move |payload| async move {
                self.initialized.store(true, Ordering::Relaxed);
                // No longer pending: it counts against its key, or address, from here.
                drop(pending);
                self.introduce(&payload).await.map_err(refuse)
            })
            .on_ping(move |session, payload| {
                // What the renewal needs from the session, taken before the future (which must
                // not borrow it).
                let held = session.and_then(|data| {
                    let caller = data.get(&TypeId::of::<Caller>())?.downcast_ref::<Caller>()?.clone();
                    let credential = data.get(&TypeId::of::<ConnectionAuthorization>())?;
                    Some((caller, credential.downcast_ref::<ConnectionAuthorization>()?.0.clone()))
                });
                let fresh = payload.as_ref().and_then(authorization_of);
                async move {
                    let (Some(fresh), Some((caller, credential))) = (fresh, held) else { return Ok(None) };
                    renewal.renew(&caller, &credential, fresh).await.map_err(refuse_renewal)
                }
            })
            .map(move |message| match message {
                WsMessage::Text(text) => Message::Text(text.into()),
                WsMessage::Close(code, reason) => {
                    let code = match refused_with.load(Ordering::Relaxed) {
                        0 => code,
                        refused => refused,
                    };
                    Message::Close(Some(CloseFrame { code, reason: close_reason(reason).into() }))
                }
            })
    }

    /// connection_init: the caller (its key from the payload, or the upgrade request's header),
    /// counted against its key (or address) while the connection lasts.
    async fn introduce(&self, payload: &serde_json::Value) -> Result<Data, AppError> {
        let http = &self.http;
        let authorization = authorization_of(payload)
            .or_else(|| self.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned));
        let caller = authenticate_with(http, &self.headers, self.peer, authorization.as_deref()).await?;
        let holder = match &caller {
            Some(actor) => Some(Holder::Key(actor.key_id)),
            None => client_address(&http.app.throttle, &self.headers, self.peer).map(Holder::Address),
        };
        let mut data = Data::default();
        if let Some(holder) = holder {
            data.insert(http.app.throttle.open_websocket(holder).await?);
        }
        data.insert(caller);
        data.insert(ConnectionAuthorization(Credential::new(authorization)));
        data.insert(OpenSubscriptions::default());
        Ok(data)
    }
}

/// A fresh token for a connection (graphql-ws has no message for it): a `ping` whose payload is
/// `{"authorization": "Bearer <token>"}`. It must name the connection's caller (the same person or
/// key, role and area); then its subscriptions are checked against it from there on, and the
/// pong says `{"renewed": true}`. A credential refused closes the connection as connection_init
/// would (4401); one of another caller closes it too (4401: connect again as them).
#[derive(Clone)]
struct Renewal {
    http: HttpState,
    headers: HeaderMap,
    peer: Option<IpAddr>,
}

impl Renewal {
    async fn renew(
        &self,
        caller: &Caller,
        credential: &Credential,
        fresh: String,
    ) -> Result<Option<serde_json::Value>, AppError> {
        // Checked, and counted, as an HTTP request's credential (a refused one against the address).
        let renewed = authenticate_with(&self.http, &self.headers, self.peer, Some(&fresh)).await?;
        let same = match (caller, &renewed) {
            (Some(before), Some(now)) => {
                before.key_id == now.key_id && before.role == now.role && before.scope == now.scope
            }
            _ => false,
        };
        if !same {
            return Err(AppError::Refused(Msg::FreshTokenOtherCaller));
        }
        credential.renew(fresh);
        Ok(Some(serde_json::json!({ "renewed": true })))
    }
}

/// A close frame's reason: at most 123 bytes (a control frame carries 125, the code takes two),
/// cut at a character boundary; longer messages (an Indonesian one easily) would fail to send.
fn close_reason(mut reason: String) -> String {
    reason.truncate(reason.floor_char_boundary(123));
    reason
}

/// `Authorization` from a `connection_init` payload, whatever the case of its name.
fn authorization_of(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let (_, value) = object.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization"))?;
    value.as_str().map(str::to_owned)
}

/// Runs the subscriptions of one connection with the connection's caller.
#[derive(Clone)]
struct LiveExecutor {
    http: HttpState,
    /// The upgrade request's `Accept-Language`: the language of this connection's errors.
    lang: Lang,
}

impl LiveExecutor {
    /// The subscription's document after the same admission as an HTTP request's, or the refusal
    /// (finished: in this connection's language, with its code, counted).
    fn admit(&self, request: &mut async_graphql::Request, caller: &Caller) -> Result<(), ServerError> {
        let admitted = self.http.admission.admit(request, None, caller).map_err(|refused| {
            let mut error = refusal(refused.message, refused.code);
            finish_error(&mut error, self.lang);
            error
        })?;
        // Unparsable documents are left to the executor, which says where the syntax breaks.
        match admitted.kind(request.operation_name.as_deref()) {
            Some(OperationType::Subscription) | None => Ok(()),
            Some(_) => Err(self.refused(Msg::OnlySubscriptionsOverWebSocket, "BAD_USER_INPUT")),
        }
    }

    fn refused(&self, message: Msg, code: &str) -> ServerError {
        let mut error = refusal(message, code);
        finish_error(&mut error, self.lang);
        error
    }
}

impl Executor for LiveExecutor {
    async fn execute(&self, _request: async_graphql::Request) -> Response {
        Response::from_errors(vec![self.refused(Msg::OnlySubscriptionsOverWebSocket, "BAD_USER_INPUT")])
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let session = session.unwrap_or_default();
        let caller: Caller =
            session.get(&TypeId::of::<Caller>()).and_then(|data| data.downcast_ref::<Caller>()).cloned().flatten();
        if let Err(error) = self.admit(&mut request, &caller) {
            return stream::once(async move { Response::from_errors(vec![error]) }).boxed();
        }
        // A slot, released when the stream ends (completed by either side, or the connection gone).
        let open = open_subscriptions(&session).map(|open| open.0.fetch_add(1, Ordering::Relaxed));
        let slot = Slot(session.clone());
        if open.is_some_and(|open| open >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
            let error = self.refused(
                Msg::TooManySubscriptions { max: MAX_SUBSCRIPTIONS_PER_CONNECTION },
                AppError::RATE_LIMITED_CODE,
            );
            return stream::once(async move {
                drop(slot);
                Response::from_errors(vec![error])
            })
            .boxed();
        }
        let lang = self.lang;
        // Each event is resolved afresh: nothing is cached between events of a long subscription.
        let loaders = RequestLoader::with_cache(
            Loaders::new(self.http.app.clone(), caller),
            tokio::spawn,
            HashMapCache::default(),
        );
        loaders.enable_all_cache(false);
        self.http
            .schema
            .execute_stream_with_session_data(request.data(loaders).data(self.lang), session)
            .map(move |mut response| {
                let _held = &slot;
                for error in &mut response.errors {
                    finish_error(error, lang);
                }
                response
            })
            .boxed()
    }
}
