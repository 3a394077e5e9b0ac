//! `jaminan` command line: serve, migrate, export-schema, seed, stats, audit, import, export, backup,
//! api-key.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jaminan::auth::{self, Role};
use jaminan::config::{DatabaseArgs, ServeArgs};
use jaminan::seed::SeedOptions;
use jaminan::server::Stopped;
use jaminan::services::export;
use jaminan::services::import::{self, ImportOptions};
use jaminan::stats::publication::Publications;
use jaminan::trusted_documents::{TrustedDocuments, TrustedMode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use jaminan::telemetry::{self, LogFormat};
use jaminan::{AppState, db, demo, graphql};

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
        #[arg(long, default_value_t = jaminan::seed::DEFAULT_SEED)]
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
    /// Create a key; it is printed once, as the last line.
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
    /// Revoke a key by id; it stops working at once.
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
    let result = run(command).await;
    telemetry::shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::ExportSchema => {
            print!("{}", graphql::schema::sdl());
            Ok(())
        }
        Command::Migrate { db } => {
            db::open(&db).await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::ApiKey { db, command } => api_key(&db, command).await,
        Command::Backup { db, file } => {
            let started = std::time::Instant::now();
            let db = db::open(&db).await.map_err(|e| e.to_string())?;
            db::backup::backup(&db, &file).await?;
            println!("backup written to {} in {:.1}s", file.display(), started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Import { command: ImportCommand::Enrollments { db, file, regency, dry_run, partial } } => {
            import_enrollments(&db, &file, &regency, ImportOptions { dry_run, partial, keep_errors: usize::MAX }).await
        }
        Command::Export { command: ExportCommand::Enrollments { db, regency, year, file } } => {
            export_enrollments(&db, &regency, year, file).await
        }
        Command::Stats { db, command } => stats(&db, command).await,
        Command::Audit { db, command: AuditCommand::Verify { expect_head } } => {
            audit_verify(&db, expect_head.as_deref()).await
        }
        Command::Seed { db, workers, seed, tsv } => seed_database(&db, SeedOptions { workers, seed }, tsv).await,
        Command::Serve { db, serve } => serve_app(&db, &serve).await,
    }
}

/// The trusted documents the settings name (none: mode off, unless a mode asks for a manifest).
fn trusted_documents(args: &ServeArgs) -> Result<TrustedDocuments, String> {
    match (&args.trusted_documents, args.trusted_documents_mode) {
        (None, None | Some(TrustedMode::Off)) => Ok(TrustedDocuments::default()),
        (None, Some(_)) => Err("--trusted-documents-mode needs --trusted-documents FILE".into()),
        (Some(file), mode) => {
            let trusted = TrustedDocuments::load(file, mode.unwrap_or(TrustedMode::Allowed))?;
            println!("Trusted documents: {} from {} ({:?})", trusted.len(), file.display(), trusted.mode);
            Ok(trusted)
        }
    }
}

async fn serve_app(db_args: &DatabaseArgs, args: &ServeArgs) -> Result<(), String> {
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    if args.demo {
        let started = std::time::Instant::now();
        if demo::load_if_empty(&db).await.map_err(|e| e.to_string())? {
            println!(
                "Demo data loaded in {:.1}s: Kabupaten Tangerang (36.03), 2022-2023.",
                started.elapsed().as_secs_f64()
            );
        } else {
            println!("Database already has workers: demo data not loaded again.");
        }
    }
    let mut state = AppState::new(db).await.map_err(|e| e.to_string())?;
    state.limits = args.limits.clone();
    state.throttle = Arc::new(jaminan::throttle::Throttle::new(&args.rate_limits));
    state.browser = args.browser.clone();
    state.trusted = Arc::new(trusted_documents(args)?);
    state.publications = Arc::new(Publications::new(
        args.disclosure.min_public_count,
        Duration::from_secs(args.disclosure.public_stats_refresh_secs),
    ));
    if let Some(url) = &args.listen_database_url {
        state.live = jaminan::live::Live::listening_at(state.db.clone(), Some(url.clone()));
    }
    if let Some(url) = &args.read_database_url {
        if !url.starts_with("postgres") || !db_args.database_url.starts_with("postgres") {
            return Err("--read-database-url needs PostgreSQL, for the primary and the replica".into());
        }
        // No migrations: a replica is read-only, and follows the primary's schema.
        let replica = db::connect_lazily(&DatabaseArgs { database_url: url.clone(), ..db_args.clone() })
            .await
            .map_err(|e| format!("cannot connect to the read replica: {e}"))?;
        state.replica = Some(jaminan::db::replica::ReadReplica::new(replica));
        println!("Queries read from the replica while it answers; mutations go to the primary.");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    // /metrics on its own address (not the public one), or on the main listener.
    if let Some(address) = args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
        state.metrics_on_main = false;
        jaminan::server::spawn_metrics(metrics_listener, state.clone());
        println!("Metrics: http://{address}/metrics");
    }
    println!("GraphiQL: open http://{}/graphql in a browser", args.listen);
    println!("Worker data and mutations need an API key: jaminan api-key create --name you --role admin");
    println!("  (from the source tree: cargo run --release -- api-key create --name you --role admin)");
    println!("  then, in GraphiQL's Headers tab: {{\"Authorization\": \"Bearer <key>\"}}");
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let stopped = jaminan::server::run(listener, state.clone(), jaminan::server::shutdown_signal(), grace)
        .await
        .map_err(|e| e.to_string())?;
    // The last second of personal-data reads, before the process goes.
    if let Err(err) = state.reads.flush(&state.db).await {
        eprintln!("error: the last personal-data reads could not be audited: {err:?}");
    }
    match stopped {
        Stopped::Drained => {
            state.db.close().await.ok();
            println!("stopped: every request finished");
            Ok(())
        }
        Stopped::GraceExpired => {
            // Exit at once: the requests left hold connections (and may wait on blocking
            // threads) that a pool close or the runtime's shutdown would wait for. Their
            // transactions end with the connections, uncommitted.
            eprintln!(
                "error: requests still running after the {}s grace period were cut (their changes rolled back)",
                args.shutdown_grace_secs
            );
            telemetry::shutdown().await;
            std::process::exit(1)
        }
    }
}

async fn seed_database(
    db_args: &DatabaseArgs,
    options: SeedOptions,
    tsv: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    if let Some(dir) = tsv {
        jaminan::seed::write_files(&db, options, &dir).await.map_err(|e| e.to_string())?;
        println!("rows written to {}", dir.display());
        return Ok(());
    }
    let report = jaminan::seed::seed(&db, options).await.map_err(|e| e.to_string())?;
    println!(
        "seeded {} workers, {} coverage periods, {} payouts, {} targets in {:.1}s ({:.0} workers/s)",
        report.workers,
        report.coverages,
        report.payouts,
        report.targets,
        report.elapsed.as_secs_f64(),
        report.workers_per_second()
    );
    Ok(())
}

async fn stats(db_args: &DatabaseArgs, command: StatsCommand) -> Result<(), String> {
    // No statement timeout: a recomputation reads every coverage period in one statement.
    let db =
        db::open(&DatabaseArgs { statement_timeout_secs: 0, ..db_args.clone() }).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    match command {
        StatsCommand::Rebuild => {
            jaminan::stats::rebuild::rebuild(&db).await.map_err(|e| e.to_string())?;
            println!("summaries rebuilt in {:.1}s", started.elapsed().as_secs_f64());
        }
        StatsCommand::Verify => {
            let differences = jaminan::stats::rebuild::verify(&db).await.map_err(|e| e.to_string())?;
            for difference in &differences {
                println!("{difference}");
            }
            if !differences.is_empty() {
                return Err(format!(
                    "{} figures differ from a recomputation: run `jaminan stats rebuild`",
                    differences.len()
                ));
            }
            println!("summaries match a recomputation ({:.1}s)", started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

async fn audit_verify(db_args: &DatabaseArgs, expect_head: Option<&str>) -> Result<(), String> {
    let expected = expect_head
        .map(|head| {
            let (id, hash) = head.split_once(':').ok_or("--expect-head takes ID:HASH, as `audit verify` prints it")?;
            let id: i64 = id.trim().parse().map_err(|_| format!("--expect-head: {id:?} is not an entry id"))?;
            Ok::<_, String>((id, hash.trim().to_owned()))
        })
        .transpose()?;
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut report = jaminan::services::audit::verify(&db).await.map_err(|e| e.message())?;
    if let (None, Some((id, hash))) = (&report.broken, &expected) {
        report.broken = jaminan::services::audit::check_recorded_head(&db, *id, hash).await.map_err(|e| e.message())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(broken) = &report.broken {
        println!("{broken}");
        return Err(format!(
            "audit log broken at entry {}: {} entries checked in {elapsed:.3}s",
            broken.id(),
            report.checked
        ));
    }
    println!("audit log intact: {} entries checked in {elapsed:.3}s", report.checked);
    match &report.head {
        Some((id, hash)) => {
            println!("head: entry {id}, hash {hash}");
            println!("  (keep it: deleting the newest entries shows only with --expect-head {id}:{hash})")
        }
        None => println!("head: none (the log is empty)"),
    }
    Ok(())
}

async fn import_enrollments(
    db_args: &DatabaseArgs,
    path: &Path,
    regency: &str,
    options: ImportOptions,
) -> Result<(), String> {
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
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
    .map_err(|e| e.message());
    progress.finish_and_clear();
    let report = report?;
    println!("rows read:            {}", report.rows_read);
    println!("workers registered:   {}", report.workers_registered);
    println!("workers already known: {}", report.workers_known);
    println!("coverages created:    {}", report.coverages_created);
    println!("rows already imported: {}", report.rows_skipped);
    println!("rows in error:        {}", report.rows_in_error);
    let errors_path = errors_file(path);
    if report.errors.is_empty() {
        // An error file of an earlier run would describe rows that are now fine.
        let _ = std::fs::remove_file(&errors_path);
    } else {
        write_errors(&errors_path, &report.errors)
            .map_err(|e| format!("cannot write {}: {e}", errors_path.display()))?;
        println!("error rows written to {}", errors_path.display());
    }
    if report.written {
        println!("written (file SHA-256 {})", report.file_sha256);
    } else if options.dry_run {
        println!("dry run: nothing written");
    } else if report.rows_in_error > 0 && !options.partial {
        println!("nothing written: fix the error rows and import again, or use --partial");
    } else {
        println!("nothing to write: every good row was imported before");
    }
    if report.rows_in_error > 0 {
        return Err(format!("{} rows in error", report.rows_in_error));
    }
    Ok(())
}

/// `list.csv` -> `list.errors.csv`, in the same folder.
fn errors_file(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    path.with_file_name(format!("{stem}.errors.csv"))
}

fn write_errors(path: &Path, errors: &[import::RowError]) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(["line", "column", "code", "message"])?;
    for error in errors {
        out.write_record([error.line.to_string().as_str(), error.column.unwrap_or(""), error.code, &error.message])?;
    }
    out.flush()?;
    Ok(())
}

async fn export_enrollments(
    db_args: &DatabaseArgs,
    regency: &str,
    year: i32,
    file: Option<PathBuf>,
) -> Result<(), String> {
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    let state = AppState::new(db).await.map_err(|e| e.to_string())?;
    let rows = match &file {
        Some(path) => {
            let out = std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            export::enrollments(&state.db, &state.areas, regency, year, std::io::BufWriter::new(out)).await
        }
        None => export::enrollments(&state.db, &state.areas, regency, year, std::io::stdout().lock()).await,
    }
    .map_err(|e| e.message())?;
    if let Some(path) = file {
        println!("{rows} coverage periods written to {}", path.display());
    }
    Ok(())
}

async fn api_key(db_args: &DatabaseArgs, command: ApiKeyCommand) -> Result<(), String> {
    let db = db::open(db_args).await.map_err(|e| e.to_string())?;
    match command {
        ApiKeyCommand::Create { name, role, scope } => {
            let state = AppState::new(db.clone()).await.map_err(|e| e.to_string())?;
            if role == Role::Admin && scope.is_some() {
                return Err("an admin key reaches every regency: create it without --scope".into());
            }
            if let Some(code) = &scope
                && state.areas.province(code).is_none()
                && state.areas.regency(code).is_none()
            {
                return Err(format!("scope {code:?} is neither a province nor a regency code"));
            }
            let (key, row) = auth::create_key(&db, &name, role, scope).await.map_err(|e| e.message())?;
            println!(
                "Created API key {} ({}, role {}). Send it as `Authorization: Bearer <key>`; it is shown only now:",
                row.id, row.name, row.role
            );
            println!("{key}");
        }
        ApiKeyCommand::List => {
            for key in auth::list_keys(&db).await.map_err(|e| e.message())? {
                let status = key.revoked_at.map_or("active".to_owned(), |t| format!("revoked {}", t.to_rfc3339()));
                println!("{}\t{}\t{}\t{}\t{}", key.id, key.name, key.role, key.scope.as_deref().unwrap_or("-"), status);
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if !auth::revoke_key(&db, id).await.map_err(|e| e.message())? {
                return Err(format!("no active key with id {id}"));
            }
            println!("revoked key {id}");
        }
    }
    Ok(())
}
