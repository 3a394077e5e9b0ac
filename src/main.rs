//! `jaminan` command line: serve, migrate, export-schema, seed, stats, audit, import, export, backup,
//! api-key.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jaminan::app::server::Stopped;
use jaminan::auth::{self, Role};
use jaminan::config::TrustedMode;
use jaminan::config::{DatabaseArgs, ServeArgs};
use jaminan::datasets::seed::SeedOptions;
use jaminan::graphql::admission::trusted_documents::TrustedDocuments;
use jaminan::i18n::{Lang, Line};
use jaminan::services::export;
use jaminan::services::import::{self, ImportOptions};
use jaminan::stats::publication::Publications;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use jaminan::app::AppState;
use jaminan::datasets::demo;
use jaminan::observability::telemetry::{self, LogFormat};
use jaminan::{db, graphql};

#[derive(Parser)]
#[command(
    name = "jaminan",
    version,
    about = "GraphQL API for regency-funded social-security coverage of vulnerable workers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log lines as text, or as one JSON object per line (for log collectors).
    #[arg(long, global = true, env = "JAMINAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The language of what the commands print for people (English or Bahasa Indonesia; logs
    /// stay English).
    #[arg(long, global = true, env = "JAMINAN_LANG", value_enum, default_value_t = Lang::En)]
    lang: Lang,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default command).
    Serve {
        #[command(flatten)]
        db: DatabaseArgs,
        // Boxed: the serve settings outweigh every other command's.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Print the GraphQL schema (SDL); schema.graphql is this output.
    ExportSchema,
    /// Load a deterministic national dataset (N workers over all regencies, with coverage,
    /// payouts, targets and summaries) into an empty database: the benchmark's data.
    Seed {
        #[command(flatten)]
        db: DatabaseArgs,
        /// How many workers.
        #[arg(long)]
        workers: u64,
        /// Another seed gives other names, NIKs, dates and stories.
        #[arg(long, default_value_t = jaminan::datasets::seed::DEFAULT_SEED)]
        seed: u64,
        /// Write the worker, coverage and payout rows as PostgreSQL COPY text files into this
        /// folder instead of loading them (the benchmark's bare-load baseline).
        #[arg(long, value_name = "DIR")]
        tsv: Option<std::path::PathBuf>,
    },
    /// Coverage summaries: recompute them from the raw rows, or compare them with a recomputation.
    Stats {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// The tamper-evident audit log: check its hash chain.
    Audit {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Import a CSV file into the database (see the README's "Bulk enrollment").
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export data as the CSV files that `import` reads.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Write a consistent copy of the SQLite database to FILE, also while the server runs
    /// (PostgreSQL: use pg_dump, see the README).
    Backup {
        #[command(flatten)]
        db: DatabaseArgs,
        /// A new file; the copy opens as it is (`DATABASE_URL=sqlite://FILE`).
        file: PathBuf,
    },
    /// Manage API keys.
    ApiKey {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Replace the summaries with a recomputation from workers, coverage, payouts and targets
    /// (after loading rows with SQL or restoring a backup). Writes wait while it runs.
    Rebuild,
    /// Compare the summaries with a recomputation; list every difference and exit 1 if any.
    Verify,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain oldest first; name the first entry edited, deleted or reordered and
    /// exit 1, else print the number of entries checked and the head (newest id and hash).
    /// Deleting the newest entries leaves a shorter intact chain: write the head down outside the
    /// database, and pass it back with --expect-head.
    Verify {
        /// A head printed by an earlier run (`ID:HASH`): that entry must still be there with
        /// that hash, or the newest entries were deleted or rewritten.
        #[arg(long, value_name = "ID:HASH")]
        expect_head: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A regency's list of workers to enroll: registers the new ones and enrolls everyone, all or
    /// nothing. Error rows are written to FILE's name with `.errors.csv`, next to it.
    Enrollments {
        #[command(flatten)]
        db: DatabaseArgs,
        file: PathBuf,
        /// The paying regency, e.g. 36.03.
        #[arg(long)]
        regency: String,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the good rows even when others are in error.
        #[arg(long)]
        partial: bool,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// A regency's coverage in a year, in the import's format (with full NIKs), to FILE or stdout.
    Enrollments {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long)]
        regency: String,
        #[arg(long)]
        year: i32,
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key; it is printed once, as the last line. Audited (never the key).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Limit the key to a province ("36") or regency ("36.03").
        #[arg(long)]
        scope: Option<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; it stops working at once. Audited.
    Revoke { id: i64 },
}

/// mimalloc: a request allocates many small short-lived objects on two threads, where glibc's
/// malloc spent a fifth of the server's time (arena locks, consolidation) under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Log lines, and traces where OTEL_EXPORTER_OTLP_ENDPOINT names a collector.
    telemetry::init(cli.log_format);
    // No subcommand means `serve` with its defaults and environment fallbacks.
    let command = match cli.command {
        Some(command) => command,
        None => match Cli::parse_from(["jaminan", "serve"]).command {
            Some(command) => command,
            None => return ExitCode::FAILURE,
        },
    };
    let lang = cli.lang;
    let result = run(command, lang).await;
    telemetry::shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}", Line::Failed { message }.text(lang));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, lang: Lang) -> Result<(), String> {
    match command {
        Command::ExportSchema => {
            print!("{}", graphql::schema::sdl());
            Ok(())
        }
        Command::Migrate { db } => {
            jaminan::app::startup::open_database(&db).await.map_err(|e| e.to_string())?;
            println!("{}", Line::MigrationsApplied.text(lang));
            Ok(())
        }
        Command::ApiKey { db, command } => api_key(&db, command, lang).await,
        Command::Backup { db, file } => {
            let started = std::time::Instant::now();
            let db = jaminan::app::startup::open_database(&db).await.map_err(|e| e.to_string())?;
            db::backup::backup(&db, &file).await.map_err(|e| e.text(lang))?;
            let secs = started.elapsed().as_secs_f64();
            println!("{}", Line::BackupWritten { path: file.display().to_string(), secs }.text(lang));
            Ok(())
        }
        Command::Import { command: ImportCommand::Enrollments { db, file, regency, dry_run, partial } } => {
            let options = ImportOptions { dry_run, partial, keep_errors: usize::MAX };
            import_enrollments(&db, &file, &regency, options, lang).await
        }
        Command::Export { command: ExportCommand::Enrollments { db, regency, year, file } } => {
            export_enrollments(&db, &regency, year, file, lang).await
        }
        Command::Stats { db, command } => stats(&db, command, lang).await,
        Command::Audit { db, command: AuditCommand::Verify { expect_head } } => {
            audit_verify(&db, expect_head.as_deref(), lang).await
        }
        Command::Seed { db, workers, seed, tsv } => seed_database(&db, SeedOptions { workers, seed }, tsv, lang).await,
        Command::Serve { db, serve } => serve_app(&db, &serve, lang).await,
    }
}

/// The trusted documents the settings name (none: mode off, unless a mode asks for a manifest).
fn trusted_documents(args: &ServeArgs, lang: Lang) -> Result<TrustedDocuments, String> {
    match (&args.trusted_documents, args.trusted_documents_mode) {
        (None, None | Some(TrustedMode::Off)) => Ok(TrustedDocuments::default()),
        (None, Some(_)) => Err(Line::TrustedModeNeedsFile.text(lang)),
        (Some(file), mode) => {
            let trusted = TrustedDocuments::load(file, mode.unwrap_or(TrustedMode::Allowed))?;
            let (count, path, mode) = (trusted.len(), file.display().to_string(), format!("{:?}", trusted.mode));
            println!("{}", Line::TrustedDocuments { count, path, mode }.text(lang));
            Ok(trusted)
        }
    }
}

async fn serve_app(db_args: &DatabaseArgs, args: &ServeArgs, lang: Lang) -> Result<(), String> {
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    if args.demo {
        let started = std::time::Instant::now();
        if demo::load_if_empty(&db).await.map_err(|e| e.to_string())? {
            println!("{}", Line::DemoLoaded { secs: started.elapsed().as_secs_f64() }.text(lang));
        } else {
            println!("{}", Line::DemoNotLoaded.text(lang));
        }
    }
    let mut state = AppState::new(db).await.map_err(|e| e.to_string())?;
    state.limits = args.limits.clone();
    state.throttle = Arc::new(jaminan::auth::throttle::Throttle::new(&args.rate_limits));
    state.browser = args.browser.clone();
    state.trusted = Arc::new(trusted_documents(args, lang)?);
    state.publications = Arc::new(Publications::new(
        args.disclosure.min_public_count,
        Duration::from_secs(args.disclosure.public_stats_refresh_secs),
    ));
    if let Some(url) = &args.listen_database_url {
        state.live = jaminan::live::Live::listening_at(state.db.clone(), Some(url.clone()));
    }
    if let Some(url) = &args.read_database_url {
        if !url.starts_with("postgres") || !db_args.database_url.starts_with("postgres") {
            return Err(Line::ReplicaNeedsPostgres.text(lang));
        }
        // No migrations: a replica is read-only, and follows the primary's schema.
        let replica = db::connect_lazily(&DatabaseArgs { database_url: url.clone(), ..db_args.clone() })
            .await
            .map_err(|e| Line::CannotConnectToReplica { detail: e.to_string() }.text(lang))?;
        state.replica = Some(jaminan::db::replica::ReadReplica::new(replica));
        println!("{}", Line::ReadsFromReplica.text(lang));
    }
    state.metrics_token = args.metrics_token.as_deref().map(Arc::from);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Line::CannotListen { address: args.listen.to_string(), detail: e.to_string() }.text(lang))?;
    // /metrics on its own address (not the public one), or on the main listener.
    if let Some(address) = args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
            Line::CannotListenForMetrics { address: address.to_string(), detail: e.to_string() }.text(lang)
        })?;
        state.metrics_on_main = false;
        jaminan::app::server::spawn_metrics(metrics_listener, state.clone());
        println!("{}", Line::MetricsAt { address: address.to_string() }.text(lang));
    }
    println!("{}", Line::GraphiqlAt { address: args.listen.to_string() }.text(lang));
    println!("{}", Line::KeyHint.text(lang));
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let stopped = jaminan::app::server::run(listener, state.clone(), jaminan::app::server::shutdown_signal(), grace)
        .await
        .map_err(|e| e.to_string())?;
    // The last second of personal-data reads, before the process goes.
    if let Err(err) = state.reads.flush(&state.db).await {
        let message = Line::ReadsNotAudited { detail: format!("{err:?}") }.text(lang);
        eprintln!("{}", Line::Failed { message }.text(lang));
    }
    match stopped {
        Stopped::Drained => {
            state.db.close().await.ok();
            println!("{}", Line::StoppedDrained.text(lang));
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

async fn seed_database(
    db_args: &DatabaseArgs,
    options: SeedOptions,
    tsv: Option<std::path::PathBuf>,
    lang: Lang,
) -> Result<(), String> {
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    if let Some(dir) = tsv {
        jaminan::datasets::seed::write_files(&db, options, &dir).await.map_err(|e| e.to_string())?;
        println!("{}", Line::RowsWrittenTo { path: dir.display().to_string() }.text(lang));
        return Ok(());
    }
    let report = jaminan::datasets::seed::seed(&db, options).await.map_err(|e| e.to_string())?;
    let seeded = Line::Seeded {
        workers: report.workers,
        coverages: report.coverages,
        payouts: report.payouts,
        targets: report.targets,
        secs: report.elapsed.as_secs_f64(),
        per_second: report.workers_per_second(),
    };
    println!("{}", seeded.text(lang));
    Ok(())
}

async fn stats(db_args: &DatabaseArgs, command: StatsCommand, lang: Lang) -> Result<(), String> {
    // No statement timeout: a recomputation reads every coverage period in one statement.
    let db = jaminan::app::startup::open_database(&DatabaseArgs { statement_timeout_secs: 0, ..db_args.clone() })
        .await
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    match command {
        StatsCommand::Rebuild => {
            jaminan::stats::rebuild::rebuild(&db).await.map_err(|e| e.to_string())?;
            println!("{}", Line::SummariesRebuilt { secs: started.elapsed().as_secs_f64() }.text(lang));
        }
        StatsCommand::Verify => {
            let differences = jaminan::stats::rebuild::verify(&db).await.map_err(|e| e.to_string())?;
            for difference in &differences {
                println!("{difference}");
            }
            if !differences.is_empty() {
                return Err(Line::FiguresDiffer { count: differences.len() }.text(lang));
            }
            println!("{}", Line::SummariesMatch { secs: started.elapsed().as_secs_f64() }.text(lang));
        }
    }
    Ok(())
}

async fn audit_verify(db_args: &DatabaseArgs, expect_head: Option<&str>, lang: Lang) -> Result<(), String> {
    let expected = expect_head
        .map(|head| {
            let (id, hash) = head.split_once(':').ok_or_else(|| Line::ExpectHeadFormat.text(lang))?;
            let id: i64 = id.trim().parse().map_err(|_| Line::ExpectHeadId { id: id.to_owned() }.text(lang))?;
            Ok::<_, String>((id, hash.trim().to_owned()))
        })
        .transpose()?;
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut report = jaminan::services::audit::verify(&db).await.map_err(|e| e.text(lang))?;
    if let (None, Some((id, hash))) = (&report.broken, &expected) {
        report.broken =
            jaminan::services::audit::check_recorded_head(&db, *id, hash).await.map_err(|e| e.text(lang))?;
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(broken) = &report.broken {
        println!("{}", Line::ChainBroken(broken.clone()).text(lang));
        return Err(Line::AuditBroken { id: broken.id(), checked: report.checked, secs }.text(lang));
    }
    println!("{}", Line::AuditIntact { checked: report.checked, secs }.text(lang));
    match &report.head {
        Some((id, hash)) => println!("{}", Line::Head { id: *id, hash: hash.clone() }.text(lang)),
        None => println!("{}", Line::NoHead.text(lang)),
    }
    Ok(())
}

async fn import_enrollments(
    db_args: &DatabaseArgs,
    path: &Path,
    regency: &str,
    options: ImportOptions,
    lang: Lang,
) -> Result<(), String> {
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let file = std::fs::File::open(path)
        .map_err(|e| Line::CannotOpen { path: path.display().to_string(), detail: e.to_string() }.text(lang))?;
    // Drawn on a terminal only (indicatif hides itself otherwise).
    let progress = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {elapsed} {human_pos} rows read").map_err(|e| e.to_string())?,
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let bar = progress.clone();
    let caller = Some(import::cli_actor());
    let source = Box::new(std::io::BufReader::new(file));
    let report = import::import_enrollments(
        &state,
        &caller,
        regency,
        source,
        options,
        Arc::new(move |rows| bar.set_position(rows)),
    )
    .await
    .map_err(|e| e.text(lang));
    progress.finish_and_clear();
    let report = report?;
    let counts = Line::ImportCounts {
        read: report.rows_read,
        registered: report.workers_registered,
        known: report.workers_known,
        created: report.coverages_created,
        skipped: report.rows_skipped,
        in_error: report.rows_in_error,
    };
    println!("{}", counts.text(lang));
    let errors_path = errors_file(path);
    if report.errors.is_empty() {
        // An error file of an earlier run would describe rows that are now fine.
        let _ = std::fs::remove_file(&errors_path);
    } else {
        write_errors(&errors_path, &report.errors, lang).map_err(|e| {
            Line::CannotWrite { path: errors_path.display().to_string(), detail: e.to_string() }.text(lang)
        })?;
        println!("{}", Line::ErrorRowsWritten { path: errors_path.display().to_string() }.text(lang));
    }
    let outcome = if report.written {
        Line::ImportWritten { sha256: report.file_sha256.clone() }
    } else if options.dry_run {
        Line::DryRun
    } else if report.rows_in_error > 0 && !options.partial {
        Line::NothingWrittenErrors
    } else {
        Line::NothingToWrite
    };
    println!("{}", outcome.text(lang));
    if report.rows_in_error > 0 {
        return Err(Line::RowsInError { count: report.rows_in_error }.text(lang));
    }
    Ok(())
}

/// `list.csv` -> `list.errors.csv`, in the same folder.
fn errors_file(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    path.with_file_name(format!("{stem}.errors.csv"))
}

/// The header stays as it is (programs read the file); the messages are in `lang`. Messages
/// repeat what the rows held, so the file is written as exports are (formulas made inert).
fn write_errors(path: &Path, errors: &[import::RowError], lang: Lang) -> std::io::Result<()> {
    let mut out = jaminan::services::sheet::SheetWriter::new(std::fs::File::create(path)?);
    out.write_row(["line", "column", "code", "message"])?;
    for error in errors {
        let message = error.message.text(lang);
        out.write_row([error.line.to_string().as_str(), error.column.unwrap_or(""), error.code, &message])?;
    }
    out.flush()
}

async fn export_enrollments(
    db_args: &DatabaseArgs,
    regency: &str,
    year: i32,
    file: Option<PathBuf>,
    lang: Lang,
) -> Result<(), String> {
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let rows = match &file {
        Some(path) => {
            let out = std::fs::File::create(path).map_err(|e| {
                Line::CannotCreate { path: path.display().to_string(), detail: e.to_string() }.text(lang)
            })?;
            export::enrollments(&state.db, &state.areas, regency, year, out).await
        }
        None => export::enrollments(&state.db, &state.areas, regency, year, std::io::stdout().lock()).await,
    }
    .map_err(|e| e.text(lang))?;
    if let Some(path) = file {
        println!("{}", Line::ExportWritten { rows: rows as u64, path: path.display().to_string() }.text(lang));
    }
    Ok(())
}

async fn api_key(db_args: &DatabaseArgs, command: ApiKeyCommand, lang: Lang) -> Result<(), String> {
    let db = jaminan::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    match command {
        ApiKeyCommand::Create { name, role, scope } => {
            let state = AppState::new(db.clone()).await.map_err(|e| e.to_string())?;
            if role == Role::Admin && scope.is_some() {
                return Err(Line::AdminKeyWithScope.text(lang));
            }
            if let Some(code) = &scope
                && state.areas.province(code).is_none()
                && state.areas.regency(code).is_none()
            {
                return Err(Line::UnknownScope { code: code.clone() }.text(lang));
            }
            let actor = import::cli_actor();
            let (key, row) =
                jaminan::services::api_keys::create(&db, &actor, &name, role, scope).await.map_err(|e| e.text(lang))?;
            println!("{}", Line::KeyCreated { id: row.id, name: row.name, role: row.role }.text(lang));
            println!("{key}");
        }
        ApiKeyCommand::List => {
            for key in auth::keys::list_keys(&db).await.map_err(|e| e.text(lang))? {
                let status = match key.revoked_at {
                    None => Line::KeyActive.text(lang),
                    Some(at) => Line::KeyRevokedAt { at: at.to_rfc3339() }.text(lang),
                };
                println!("{}\t{}\t{}\t{}\t{}", key.id, key.name, key.role, key.scope.as_deref().unwrap_or("-"), status);
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if !jaminan::services::api_keys::revoke(&db, &import::cli_actor(), id).await.map_err(|e| e.text(lang))? {
                return Err(Line::NoActiveKey { id }.text(lang));
            }
            println!("{}", Line::KeyRevoked { id }.text(lang));
        }
    }
    Ok(())
}
