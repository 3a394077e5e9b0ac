//! Serving the app on a listener until told to stop, then draining: the one `run` that `main`
//! and the tests use (as in tokio's mini-redis).
use std::future::Future;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use super::App;
use crate::http;
use crate::observability::metrics::Scraper;

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight finished.
    Drained,
    /// Requests were still running when the grace period ended. The process should exit now:
    /// their transactions end with its connections, uncommitted (none is committed halfway).
    GraceExpired,
}

/// Serves until `shutdown` completes, then stops accepting connections and lets the requests in
/// flight finish, for at most `grace`.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<Stopped> {
    // TCP_NODELAY, as request/response servers do: with Nagle's algorithm the last segment of a
    // response can wait for the client's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    // WebSockets (subscriptions) never end by themselves: they are told to close.
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let App { state, mut http } = app;
    http.stopping = closing_rx;
    // The peer address reaches the handlers for the per-address rate limits.
    let router = http::router(state, http).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!(grace_secs = grace.as_secs_f64(), "shutting down: no new connections, draining requests");
        let _ = stopping_tx.send(());
        let _ = closing_tx.send(true);
    });
    // The grace period starts with the shutdown, not with the server.
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served.map(|()| Stopped::Drained),
        () = deadline => Ok(Stopped::GraceExpired),
    }
}

/// Serves `/metrics` alone on `listener` (`--metrics-listen`), until the process ends: a scrape is
/// a read of memory and of one count, nothing to drain.
pub fn spawn_metrics(listener: TcpListener, scraper: Scraper) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, crate::observability::metrics::routes(scraper)).await {
            tracing::error!(%err, "the metrics listener stopped");
        }
    })
}

/// Completes on SIGTERM (what systemd, Docker and Kubernetes send) or Ctrl-C.
///
/// The handlers are installed by this call, before the listener serves anything, not when the
/// future is first polled: axum polls it from a task of its own, and a SIGTERM that came between
/// the first answered request and that poll took the default action and killed the process.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers =
            signal(SignalKind::terminate()).and_then(|terminate| Ok((terminate, signal(SignalKind::interrupt())?)));
        async move {
            match handlers {
                Ok((mut terminate, mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot listen for SIGTERM or Ctrl-C; the server stops only when killed");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
