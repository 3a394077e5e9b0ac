//! `jaminan serve`: the HTTP server, until SIGTERM or Ctrl-C, then a graceful drain.
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};

use crate::app::App;
use crate::app::server::{self, Stopped};
use crate::config::{DatabaseArgs, ServeArgs};
use crate::datasets::demo;
use crate::http::MetricsOnMain;
use crate::i18n::{Lang, Line};
use crate::observability::metrics::Scraper;
use crate::observability::telemetry;
use crate::services::audit_sealer;

pub(super) async fn run(db_args: &DatabaseArgs, args: &ServeArgs, lang: Lang) -> Result<(), String> {
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    if args.demo {
        let started = std::time::Instant::now();
        if demo::load_if_empty(&db).await.map_err(|e| e.to_string())? {
            super::out::say(Line::DemoLoaded { secs: started.elapsed().as_secs_f64() }.text(lang))?;
        } else {
            super::out::say(Line::DemoNotLoaded.text(lang))?;
        }
    }
    let (mut app, notes) = App::configured(db, db_args, args, lang).await?;
    for note in notes {
        super::out::say(note)?;
    }
    let sealer = start_sealer(&app.state.db, args.audit_seal_millis, lang).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Line::CannotListen { address: args.listen.to_string(), detail: e.to_string() }.text(lang))?;
    // /metrics on its own address (not the public one), or on the main listener.
    if let Some(address) = args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
            Line::CannotListenForMetrics { address: address.to_string(), detail: e.to_string() }.text(lang)
        })?;
        app.http.metrics = MetricsOnMain::Elsewhere;
        server::spawn_metrics(metrics_listener, Scraper::new(app.state.db.clone(), app.http.writes.clone()));
        super::out::say(Line::MetricsAt { address: address.to_string() }.text(lang))?;
    }
    super::out::say(Line::GraphiqlAt { address: args.listen.to_string() }.text(lang))?;
    super::out::say(Line::KeyHint.text(lang))?;
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let state = app.state.clone();
    let stopped = server::run(listener, app, server::shutdown_signal(), grace).await.map_err(|e| e.to_string())?;
    // The notifications of the last commits, for the subscribers of the other instances.
    state.live.flush(Duration::from_secs(2)).await;
    // The last second of personal-data reads, before the process goes.
    if let Err(err) = state.reads.flush(&state.db).await {
        let message = Line::ReadsNotAudited { detail: format!("{err:?}") }.text(lang);
        eprintln!("{}", Line::Failed { message }.text(lang));
    }
    if let Some(sealer) = sealer {
        sealer.abort();
    }
    match stopped {
        Stopped::Drained => {
            state.db.close().await.ok();
            super::out::say(Line::StoppedDrained.text(lang))?;
            Ok(())
        }
        Stopped::GraceExpired => {
            // Exit at once: the requests left hold connections (and may wait on blocking
            // threads) that a pool close or the runtime's shutdown would wait for. Their
            // transactions end with the connections, uncommitted.
            let message = Line::GraceExpired { secs: args.shutdown_grace_secs }.text(lang);
            eprintln!("{}", Line::Failed { message }.text(lang));
            telemetry::shutdown().await;
            std::process::exit(1)
        }
    }
}

/// The audit sealer (PostgreSQL): first what was committed before this start (a crash leaves
/// entries unsealed), then a round every `millis`.
async fn start_sealer(
    db: &DatabaseConnection,
    millis: u64,
    lang: Lang,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    if millis == 0 || db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    // A transaction left running (a long import) holds the sealing back: the rounds catch up.
    let sealed = audit_sealer::seal_committed(db, Duration::from_secs(5)).await.map_err(|e| e.text(lang))?;
    if let Some(count) = sealed.filter(|count| *count > 0) {
        super::out::say(Line::AuditSealedAtStart { count }.text(lang))?;
    }
    Ok(Some(tokio::spawn(audit_sealer::run(db.clone(), Duration::from_millis(millis)))))
}
