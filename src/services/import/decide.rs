//! The rules of a row that depend on what the database holds: a NIK already registered enrolls
//! that worker (if the caller may see it and the file agrees with its record), a coverage already
//! there is skipped, and a membership number can belong to one worker only.
//!
//! A worker the caller cannot see is answered about no more than registerWorker answers: there,
//! every miss registers a worker (a write, audited, visible) and every hit is audited and counted
//! against the key's probe budget. So a dry run, which costs nothing, reads a hidden worker's row
//! as it would read a new NIK (one dry run of every birth date behind a masked NIK found the
//! person), and a real import reports the row and hands the worker back as `hidden`, for the
//! caller to audit and count.
use std::collections::{BTreeMap, HashSet};

use sea_orm::{ActiveEnum, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};

use super::file::Enrollment;
use super::report::{RowError, row_error};
use super::staging::{self, Action, Known};
use crate::entities::worker;
use crate::error::{AppError, AppResult};
use crate::i18n::{Msg, Noun};
use crate::services::access::{reaches, scope_of, visible_workers};
use crate::services::import::file::Context;
use crate::services::probes::HiddenWorker;
use crate::stats::tally::{Tally, WorkerRows};

/// The rows that are not simply new workers, and the counts.
#[derive(Debug, Default)]
pub struct Decided {
    /// By line: what to do instead of registering a new worker.
    pub decisions: Vec<(u64, Action)>,
    pub errors: Vec<RowError>,
    pub errors_total: u64,
    pub skipped: u64,
    pub enrolled_known: u64,
    /// Workers out of the caller's sight that rows of a real import met (by NIK or membership
    /// number), each reported as a CONFLICT row; always empty in a dry run.
    pub hidden: Vec<HiddenWorker>,
}

/// What happens to one row whose NIK is registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Enroll,
    /// Its coverage is already there (same regency and start): imported before.
    Skip,
    /// Every way the row contradicts the worker's record or its coverage.
    Error(Vec<RowError>),
    /// The worker is out of the caller's sight: a dry run reads the row as a new NIK.
    AsNew,
    /// The worker is out of the caller's sight: a real import refuses the row as registerWorker
    /// refuses the NIK (audited and counted by the caller).
    Hidden(RowError),
}

/// Rules on the staged rows against the database, and turns `tally` (every good row counted as
/// a new worker) into the change the import really makes.
pub async fn against_database(
    txn: &DatabaseTransaction,
    context: &Context,
    tally: &mut Tally,
    keep_errors: usize,
    dry_run: bool,
) -> AppResult<Decided> {
    let mut decided = Decided::default();
    let taken_rows = staging::taken_membership_numbers(txn).await?;
    let holders_hidden = hidden_among(txn, context, taken_rows.iter().map(|(_, holder)| holder.id)).await?;
    let mut taken: BTreeMap<u64, (Enrollment, worker::Model)> =
        taken_rows.into_iter().map(|(row, holder)| (row.line, (row, holder))).collect();
    let mut errors = Vec::new();
    staging::each_known(txn, |known| {
        let line = known.row.line;
        let decision = decide(context, &known, dry_run);
        if decision == Decision::AsNew {
            // Left to the rules of new workers below (scope, membership numbers).
            return Ok(());
        }
        // A known worker's own number was checked against its record: not someone else's.
        taken.remove(&line);
        known.row.add_to(tally, &context.regency_code, -1);
        match decision {
            Decision::Enroll => {
                let mut after = known.coverages.clone();
                after.push(new_period(&known, &context.regency_code));
                let (before, after) = (
                    WorkerRows { worker: &known.worker, coverages: &known.coverages, payouts: &[] },
                    WorkerRows { worker: &known.worker, coverages: &after, payouts: &[] },
                );
                tally.merge(&Tally::change(before, after), 1);
                decided.enrolled_known += 1;
                decided.decisions.push((line, Action::Enroll(known.worker.id)));
            }
            Decision::Skip => {
                decided.skipped += 1;
                decided.decisions.push((line, Action::Exclude));
            }
            Decision::Error(row_errors) => {
                errors.extend(row_errors);
                decided.errors_total += 1;
                decided.decisions.push((line, Action::Exclude));
            }
            Decision::Hidden(error) => {
                let refused = error.message.clone();
                errors.push(error);
                decided.errors_total += 1;
                decided.decisions.push((line, Action::Exclude));
                decided.hidden.push(HiddenWorker {
                    worker_id: known.worker.id,
                    nik: known.worker.nik.clone(),
                    refused,
                });
            }
            Decision::AsNew => {}
        }
        Ok(())
    })
    .await?;
    // New workers (and, in a dry run, rows of hidden workers): registerWorker's rules of scope
    // (first) and membership numbers.
    let mut refused: BTreeMap<u64, (Enrollment, RowError)> = BTreeMap::new();
    if let Some(scope) = scope_of(&context.actor) {
        for row in staging::new_outside_scope(txn, scope).await? {
            let err = AppError::Forbidden(Msg::OutsideScope { regency: row.regency_code.clone() });
            let error = with_value(&row, row_error(row.line, Some("district_code"), &err));
            refused.insert(row.line, (row.clone(), error));
        }
    }
    for (line, (row, holder)) in taken {
        if refused.contains_key(&line) {
            continue;
        }
        let hidden = holders_hidden.contains(&holder.id);
        if hidden && dry_run {
            continue; // as if the number were free: a dry run answers nothing about hidden workers
        }
        let message = Msg::MembershipNumberTaken;
        if hidden {
            decided.hidden.push(HiddenWorker {
                worker_id: holder.id,
                nik: holder.nik.clone(),
                refused: message.clone(),
            });
        }
        let err = AppError::Conflict(message);
        let error = with_value(&row, row_error(line, Some("membership_number"), &err));
        refused.insert(line, (row, error));
    }
    for (line, (row, error)) in refused {
        row.add_to(tally, &context.regency_code, -1);
        errors.push(error);
        decided.errors_total += 1;
        decided.decisions.push((line, Action::Exclude));
    }
    errors.sort_by_key(|e| e.line);
    errors.truncate(keep_errors);
    decided.errors = errors;
    decided.decisions.sort_by_key(|(line, _)| *line);
    Ok(decided)
}

/// The workers among `ids` that the caller cannot see.
async fn hidden_among(
    txn: &DatabaseTransaction,
    context: &Context,
    ids: impl Iterator<Item = i64>,
) -> AppResult<HashSet<i64>> {
    let ids: HashSet<i64> = ids.collect();
    if ids.is_empty() || scope_of(&context.actor).is_none() {
        return Ok(HashSet::new());
    }
    let visible: Vec<i64> = worker::Entity::find()
        .select_only()
        .column(worker::Column::Id)
        .filter(worker::Column::Id.is_in(ids.iter().copied()))
        .filter(visible_workers(&context.actor))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(ids.into_iter().filter(|id| !visible.contains(id)).collect())
}

/// The rules for a row whose NIK is registered.
pub fn decide(context: &Context, known: &Known, dry_run: bool) -> Decision {
    let (row, worker, regency_code) = (&known.row, &known.worker, context.regency_code.as_str());
    let error = |column: &'static str, err: AppError| with_value(row, row_error(row.line, Some(column), &err));
    let visible = reaches(&context.actor, &worker.regency_code)
        || known.coverages.iter().any(|c| !c.is_cancelled() && reaches(&context.actor, &c.regency_code));
    if !visible {
        // registerWorker checks the domicile's scope before it looks the NIK up.
        if !reaches(&context.actor, &row.regency_code) {
            let err = AppError::Forbidden(Msg::OutsideScope { regency: row.regency_code.clone() });
            return Decision::Error(vec![error("district_code", err)]);
        }
        if dry_run {
            return Decision::AsNew;
        }
        return Decision::Hidden(error("nik", AppError::Conflict(Msg::NikRegistered)));
    }
    // A cancelled period is no reason to skip: the file enrolls the worker again.
    if known
        .coverages
        .iter()
        .any(|c| !c.is_cancelled() && c.regency_code == regency_code && c.starts_on == row.terms.starts_on)
    {
        return Decision::Skip;
    }
    // The file never overwrites a registered worker: a difference is for updateWorker to settle.
    let differs = |what: Noun, registered: &str| {
        AppError::Conflict(Msg::RegisteredWith { what, registered: registered.to_owned() })
    };
    let mut errors = Vec::new();
    if normalized(&row.full_name) != normalized(&worker.full_name) {
        errors.push(error("full_name", differs(Noun::Name, &worker.full_name)));
    }
    if row.occupation != worker.occupation {
        errors.push(error("occupation", differs(Noun::Occupation, &worker.occupation.to_value())));
    }
    if worker.district_code.as_deref() != Some(row.district_code.as_str()) {
        let registered = worker.district_code.as_deref().unwrap_or("(none)");
        errors.push(error("district_code", differs(Noun::District, registered)));
    }
    if row.membership_number.is_some() && row.membership_number != worker.membership_number {
        let registered = worker.membership_number.as_deref().unwrap_or("(none)");
        errors.push(error("membership_number", differs(Noun::MembershipNumber, registered)));
    }
    if let Err(err) = row.terms.check_for(worker, &known.coverages, regency_code) {
        errors.push(with_value(row, row_error(row.line, None, &err)));
    }
    if errors.is_empty() { Decision::Enroll } else { Decision::Error(errors) }
}

/// The error with the value of its column in the row (as staged: an occupation by its API name).
fn with_value(row: &Enrollment, mut error: RowError) -> RowError {
    error.value = match error.column.as_deref() {
        Some("nik") => Some(row.nik.clone()),
        Some("full_name") => Some(row.full_name.clone()),
        Some("occupation") => Some(row.occupation.to_value()),
        Some("district_code") => Some(row.district_code.clone()),
        Some("starts_on") => Some(row.terms.starts_on.to_string()),
        Some("ends_on") => row.terms.ends_on.map(|d| d.to_string()),
        Some("membership_number") => row.membership_number.clone(),
        _ => None,
    };
    error
}

/// Names compare without case and runs of spaces ("SITI  aminah" is "Siti Aminah").
fn normalized(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn new_period(known: &Known, regency_code: &str) -> crate::entities::coverage::Model {
    known.row.terms.period(known.worker.id, regency_code, known.row.funding_source)
}
