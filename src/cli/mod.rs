//! The command line: `jaminan <command>`, one file per command. Each reads its arguments (clap),
//! does its work through the library, and prints for people in the chosen language.
mod api_key;
mod audit;
mod backup;
mod export;
mod import;
mod out;
mod seed;
mod serve;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::DatabaseArgs;
use crate::config::ServeArgs;
use crate::i18n::{Lang, Line};
use crate::observability::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "jaminan",
    version,
    about = "GraphQL API for regency-funded social-security coverage of vulnerable workers"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The database every command works on (global: accepted before or after the subcommand).
    #[command(flatten)]
    db: DatabaseArgs,
    /// Log lines as text, or as one JSON object per line (for log collectors).
    #[arg(long, global = true, env = "JAMINAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The language of what the commands print for people (English or Bahasa Indonesia; logs
    /// stay English).
    #[arg(long, global = true, env = "JAMINAN_LANG", value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default command).
    Serve {
        // Boxed: the serve settings outweigh every other command's.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL); schema.graphql is this output.
    ExportSchema,
    /// Load a deterministic national dataset (N workers over all regencies, with coverage,
    /// payouts, targets and summaries) into an empty database: the benchmark's data.
    Seed {
        /// How many workers.
        #[arg(long)]
        workers: u64,
        /// Another seed gives other names, NIKs, dates and stories.
        #[arg(long, default_value_t = crate::datasets::seed::DEFAULT_SEED)]
        seed: u64,
        /// Write the worker, coverage and payout rows as PostgreSQL COPY text files into this
        /// folder instead of loading them (the benchmark's bare-load baseline).
        #[arg(long, value_name = "DIR")]
        tsv: Option<std::path::PathBuf>,
    },
    /// Coverage summaries: recompute them from the raw rows, or compare them with a recomputation.
    Stats {
        #[command(subcommand)]
        command: stats::StatsCommand,
    },
    /// The tamper-evident audit log: check its hash chain.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Import a CSV file or an Excel workbook (.xlsx) into the database (see docs/import.md).
    Import {
        #[command(subcommand)]
        command: import::ImportCommand,
    },
    /// Export data as the files (CSV or .xlsx) that `import` reads, and the template to fill in.
    Export {
        #[command(subcommand)]
        command: export::ExportCommand,
    },
    /// Write a consistent copy of the SQLite database to FILE, also while the server runs
    /// (PostgreSQL: use pg_dump, see docs/operations.md).
    Backup {
        /// A new file; the copy opens as it is (`DATABASE_URL=sqlite://FILE`).
        file: PathBuf,
    },
    /// Manage API keys.
    ApiKey {
        #[command(subcommand)]
        command: api_key::ApiKeyCommand,
    },
}

/// Runs the command the line names (`serve` without one), then flushes the traces.
pub async fn run(cli: Cli) -> ExitCode {
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
    let result = dispatch(command, &cli.db, lang).await;
    telemetry::shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}", Line::Failed { message }.text(lang));
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, db: &DatabaseArgs, lang: Lang) -> Result<(), String> {
    match command {
        Command::ExportSchema => out::write_out(&crate::graphql::schema::sdl()),
        Command::Migrate => {
            crate::app::startup::open_database(db).await.map_err(|e| e.to_string())?;
            out::say(Line::MigrationsApplied.text(lang))
        }
        Command::ApiKey { command } => api_key::run(db, command, lang).await,
        Command::Backup { file } => backup::run(db, &file, lang).await,
        Command::Import { command } => import::run(db, command, lang).await,
        Command::Export { command } => export::run(db, command, lang).await,
        Command::Stats { command } => stats::run(db, command, lang).await,
        Command::Audit { command } => audit::run(db, command, lang).await,
        Command::Seed { workers, seed, tsv } => seed::run(db, workers, seed, tsv, lang).await,
        Command::Serve { serve } => serve::run(db, &serve, lang).await,
    }
}
