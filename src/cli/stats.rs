//! `jaminan stats`: rebuild or verify the coverage summaries.
use clap::Subcommand;

use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};

#[derive(Subcommand)]
pub(super) enum StatsCommand {
    /// Replace the summaries with a recomputation from workers, coverage, payouts and targets
    /// (after loading rows with SQL or restoring a backup). Writes wait while it runs.
    Rebuild,
    /// Compare the summaries with a recomputation; list every difference and exit 1 if any.
    Verify,
}

pub(super) async fn run(db_args: &DatabaseArgs, command: StatsCommand, lang: Lang) -> Result<(), String> {
    // No statement timeout: a recomputation reads every coverage period in one statement.
    let db = crate::app::startup::open_database(&DatabaseArgs { statement_timeout_secs: 0, ..db_args.clone() })
        .await
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    match command {
        StatsCommand::Rebuild => {
            crate::stats::rebuild::rebuild(&db).await.map_err(|e| e.to_string())?;
            super::out::say(Line::SummariesRebuilt { secs: started.elapsed().as_secs_f64() }.text(lang))?;
        }
        StatsCommand::Verify => {
            let differences = crate::stats::rebuild::verify(&db).await.map_err(|e| e.to_string())?;
            for difference in &differences {
                super::out::say(difference)?;
            }
            if !differences.is_empty() {
                return Err(Line::FiguresDiffer { count: differences.len() }.text(lang));
            }
            super::out::say(Line::SummariesMatch { secs: started.elapsed().as_secs_f64() }.text(lang))?;
        }
    }
    Ok(())
}
