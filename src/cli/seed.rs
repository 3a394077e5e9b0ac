//! `jaminan seed`: the national benchmark dataset.
use crate::config::DatabaseArgs;
use crate::datasets::seed::SeedOptions;
use crate::i18n::{Lang, Line};

pub(super) async fn run(
    db_args: &DatabaseArgs,
    workers: u64,
    seed: u64,
    tsv: Option<std::path::PathBuf>,
    lang: Lang,
) -> Result<(), String> {
    let options = SeedOptions { workers, seed };
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    if let Some(dir) = tsv {
        crate::datasets::seed::write_files(&db, options, &dir).await.map_err(|e| e.to_string())?;
        super::out::say(Line::RowsWrittenTo { path: dir.display().to_string() }.text(lang))?;
        return Ok(());
    }
    let report = crate::datasets::seed::seed(&db, options).await.map_err(|e| e.to_string())?;
    let seeded = Line::Seeded {
        workers: report.workers,
        coverages: report.coverages,
        payouts: report.payouts,
        targets: report.targets,
        secs: report.elapsed.as_secs_f64(),
        per_second: report.workers_per_second(),
    };
    super::out::say(seeded.text(lang))?;
    Ok(())
}
