//! `jaminan audit verify`: walk the audit log's hash chain.
use clap::Subcommand;

use crate::config::DatabaseArgs;
use crate::i18n::{Lang, Line};

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Walk the hash chain oldest first; name the first entry edited, deleted or reordered and
    /// exit 1, else print the number of entries checked, the head (newest sealed id and hash) and
    /// how many entries the sealer has not chained yet (this command seals nothing).
    /// Deleting the newest entries leaves a shorter intact chain: write the head down outside the
    /// database, and pass it back with --expect-head.
    Verify {
        /// A head printed by an earlier run (`ID:HASH`): that entry must still be there with
        /// that hash, or the newest entries were deleted or rewritten.
        #[arg(long, value_name = "ID:HASH")]
        expect_head: Option<String>,
    },
}

pub(super) async fn run(db_args: &DatabaseArgs, command: AuditCommand, lang: Lang) -> Result<(), String> {
    match command {
        AuditCommand::Verify { expect_head } => verify(db_args, expect_head.as_deref(), lang).await,
    }
}

async fn verify(db_args: &DatabaseArgs, expect_head: Option<&str>, lang: Lang) -> Result<(), String> {
    let expected = expect_head
        .map(|head| {
            let (id, hash) = head.split_once(':').ok_or_else(|| Line::ExpectHeadFormat.text(lang))?;
            let id: i64 = id.trim().parse().map_err(|_| Line::ExpectHeadId { id: id.to_owned() }.text(lang))?;
            Ok::<_, String>((id, hash.trim().to_owned()))
        })
        .transpose()?;
    let db = crate::app::startup::open_database(db_args).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut report = crate::services::audit::verify(&db).await.map_err(|e| e.text(lang))?;
    if let (None, Some((id, hash))) = (&report.broken, &expected) {
        report.broken = crate::services::audit::check_recorded_head(&db, *id, hash).await.map_err(|e| e.text(lang))?;
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(broken) = &report.broken {
        super::out::say(Line::ChainBroken(broken.clone()).text(lang))?;
        return Err(Line::AuditBroken { id: broken.id(), checked: report.checked, secs }.text(lang));
    }
    super::out::say(Line::AuditIntact { checked: report.checked, secs }.text(lang))?;
    match &report.head {
        Some((id, hash)) => super::out::say(Line::Head { id: *id, hash: hash.clone() }.text(lang))?,
        None => super::out::say(Line::NoHead.text(lang))?,
    }
    if report.unsealed > 0 {
        super::out::say(Line::AuditUnsealed { count: report.unsealed }.text(lang))?;
    }
    Ok(())
}
