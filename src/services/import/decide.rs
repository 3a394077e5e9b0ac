//! The rules of a row that depend on what the database holds: a NIK already registered enrolls
//! that worker (if the caller may see it and the file agrees with its record), a coverage already
//! there is skipped, and a membership number can belong to one worker only.
use std::collections::BTreeMap;

use sea_orm::{ActiveEnum, DatabaseTransaction};

use super::file::Enrollment;
use super::staging::{self, Action, Known};
use super::{RowError, row_error};
use crate::error::{AppError, AppResult};
use crate::i18n::{Msg, Noun};
use crate::services::access::{reaches, scope_of};
use crate::services::import::file::Context;
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
}

/// What happens to one row whose NIK is registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Enroll,
    /// Its coverage is already there (same regency and start): imported before.
    Skip,
    Error(RowError),
}

/// Rules on the staged rows against the database, and turns `tally` (every good row counted as
/// a new worker) into the change the import really makes.
pub async fn against_database(
    txn: &DatabaseTransaction,
    context: &Context,
    tally: &mut Tally,
    keep_errors: usize,
) -> AppResult<Decided> {
    let mut decided = Decided::default();
    let mut taken: BTreeMap<u64, Enrollment> =
        staging::taken_membership_numbers(txn).await?.into_iter().map(|row| (row.line, row)).collect();
    let mut errors = Vec::new();
    staging::each_known(txn, |known| {
        // A known worker's own number was checked against its record: not someone else's.
        taken.remove(&known.row.line);
        known.row.add_to(tally, &context.regency_code, -1);
        let line = known.row.line;
        match decide(context, &known) {
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
            Decision::Error(error) => {
                errors.push(error);
                decided.decisions.push((line, Action::Exclude));
            }
        }
        Ok(())
    })
    .await?;
    // New workers: registerWorker's rules of scope (first) and membership numbers.
    let mut refused: BTreeMap<u64, (Enrollment, RowError)> = BTreeMap::new();
    if let Some(scope) = scope_of(&context.actor) {
        for row in staging::new_outside_scope(txn, scope).await? {
            let err = AppError::Forbidden(Msg::OutsideScope { regency: row.regency_code.clone() });
            refused.insert(row.line, (row.clone(), row_error(row.line, Some("district_code"), &err)));
        }
    }
    for (line, row) in taken {
        let err = AppError::Conflict(Msg::MembershipNumberTaken);
        refused.entry(line).or_insert_with(|| (row, row_error(line, Some("membership_number"), &err)));
    }
    for (line, (row, error)) in refused {
        row.add_to(tally, &context.regency_code, -1);
        errors.push(error);
        decided.decisions.push((line, Action::Exclude));
    }
    errors.sort_by_key(|e| e.line);
    decided.errors_total = errors.len() as u64;
    errors.truncate(keep_errors);
    decided.errors = errors;
    decided.decisions.sort_by_key(|(line, _)| *line);
    Ok(decided)
}

/// The rules for a row whose NIK is registered.
pub fn decide(context: &Context, known: &Known) -> Decision {
    let (row, worker, regency_code) = (&known.row, &known.worker, context.regency_code.as_str());
    let error = |column: &'static str, err: AppError| Decision::Error(row_error(row.line, Some(column), &err));
    // As registerWorker answers for a NIK registered out of the caller's sight.
    let visible = reaches(&context.actor, &worker.regency_code)
        || known.coverages.iter().any(|c| reaches(&context.actor, &c.regency_code));
    if !visible {
        return error("nik", AppError::Conflict(Msg::NikRegistered));
    }
    if known.coverages.iter().any(|c| c.regency_code == regency_code && c.starts_on == row.terms.starts_on) {
        return Decision::Skip;
    }
    // The file never overwrites a registered worker: a difference is for updateWorker to settle.
    let differs = |what: Noun, registered: &str| {
        AppError::Conflict(Msg::RegisteredWith { what, registered: registered.to_owned() })
    };
    if normalized(&row.full_name) != normalized(&worker.full_name) {
        return error("full_name", differs(Noun::Name, &worker.full_name));
    }
    if row.occupation != worker.occupation {
        return error("occupation", differs(Noun::Occupation, &worker.occupation.to_value()));
    }
    if worker.district_code.as_deref() != Some(row.district_code.as_str()) {
        return error("district_code", differs(Noun::District, worker.district_code.as_deref().unwrap_or("(none)")));
    }
    if row.membership_number.is_some() && row.membership_number != worker.membership_number {
        return error(
            "membership_number",
            differs(Noun::MembershipNumber, worker.membership_number.as_deref().unwrap_or("(none)")),
        );
    }
    match row.terms.check_for(worker, &known.coverages, regency_code) {
        Ok(()) => Decision::Enroll,
        Err(err) => Decision::Error(row_error(row.line, None, &err)),
    }
}

/// Names compare without case and runs of spaces ("SITI  aminah" is "Siti Aminah").
fn normalized(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn new_period(known: &Known, regency_code: &str) -> crate::entities::coverage::Model {
    let terms = &known.row.terms;
    crate::entities::coverage::Model {
        id: 0,
        worker_id: known.worker.id,
        regency_code: regency_code.to_owned(),
        funding_source: known.row.funding_source,
        programs: terms.programs.to_column(),
        declared_monthly_income: terms.declared_monthly_income,
        monthly_premium: terms.monthly_premium(),
        starts_on: terms.starts_on,
        ends_on: terms.ends_on,
        end_reason: None,
        created_at: chrono::Utc::now(),
    }
}
