//! `jaminan seed`: a deterministic national dataset (workers over all 514 regencies and their
//! districts, two coverage periods for most, deaths with payouts in every state, targets) loaded
//! into an empty database as fast as the database takes it, with its summaries. It is the
//! benchmark's data and a load-test fixture. The rules of the data are in `plan`; PostgreSQL
//! loads it with COPY (`postgres`), SQLite with multi-row INSERTs (`sqlite`).
pub mod plan;
mod postgres;
mod report;
mod sqlite;
pub mod text;

pub use report::{DEFAULT_SEED, SeedOptions, SeedReport};

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use crate::areas::Areas;
use plan::{Authors, Plan};

/// Loads the dataset into a database without workers, coverage or payouts (else an error, and
/// nothing written). All or nothing: one transaction.
pub async fn seed(db: &DatabaseConnection, options: SeedOptions) -> Result<SeedReport, DbErr> {
    if options.workers == 0 || options.workers > 100_000_000 {
        return Err(DbErr::Custom("--workers must be between 1 and 100,000,000".into()));
    }
    let started = Instant::now();
    let areas = Areas::load(db).await?;
    let plan = Arc::new(Plan::new(&areas, options.workers, options.seed));
    let progress = progress_bar(options.workers);
    let mut report = match db.get_database_backend() {
        DbBackend::Postgres => postgres::load(db.get_postgres_connection_pool(), plan, &progress).await?,
        _ => sqlite::load(db, plan, &progress).await?,
    };
    progress.finish_and_clear();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Writes the rows `seed` would load as PostgreSQL COPY text files (worker.tsv, coverage.tsv,
/// payout.tsv; payouts authored by API keys 1 and 2) for the benchmark's bare-load baseline.
pub async fn write_files(db: &DatabaseConnection, options: SeedOptions, dir: &Path) -> Result<(), DbErr> {
    let areas = Areas::load(db).await?;
    let plan = Arc::new(Plan::new(&areas, options.workers, options.seed));
    let io = |e: std::io::Error| DbErr::Custom(format!("cannot write to {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut files = [
        std::fs::File::create(dir.join("worker.tsv")).map_err(io)?,
        std::fs::File::create(dir.join("coverage.tsv")).map_err(io)?,
        std::fs::File::create(dir.join("payout.tsv")).map_err(io)?,
    ];
    let mut buffers = [String::new(), String::new(), String::new()];
    for person in plan.people(Authors { operator: 1, supervisor: 2 }) {
        text::worker(&mut buffers[0], &person.worker);
        person.coverages.iter().for_each(|c| text::coverage(&mut buffers[1], c));
        person.payouts.iter().for_each(|p| text::payout(&mut buffers[2], p));
        if buffers[0].len() > 1 << 20 {
            flush(&mut files, &mut buffers).map_err(io)?;
        }
    }
    flush(&mut files, &mut buffers).map_err(io)
}

fn flush(files: &mut [std::fs::File; 3], buffers: &mut [String; 3]) -> std::io::Result<()> {
    use std::io::Write;
    for (file, buffer) in files.iter_mut().zip(buffers.iter_mut()) {
        file.write_all(buffer.as_bytes())?;
        buffer.clear();
    }
    Ok(())
}

/// A bar on a terminal (hidden otherwise), counting workers.
fn progress_bar(workers: u64) -> ProgressBar {
    let bar = ProgressBar::new(workers);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} workers ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}
