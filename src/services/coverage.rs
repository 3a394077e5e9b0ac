//! Enrolling workers in a regency's program, ending and cancelling coverage, and recording deaths.
//!
//! Writes that depend on what a worker already has (overlap, death) run in one transaction that
//! starts by locking the worker (`lock_worker`): PostgreSQL then holds the row lock and SQLite the
//! write lock, so two concurrent enrollments of one worker are checked one after the other.
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, IntoActiveModel, Iterable, NotSet, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    TransactionTrait,
};

use super::access::{reaches, require_reach, require_role, require_visible_worker};
use super::audit::{self, AuditEntity};
use super::{check_date, clean_text, today};
use crate::auth::{Actor, Caller, Role};
use crate::db;
use crate::domain::audit_chain;
use crate::domain::coverage_period::{
    DEFAULT_DECLARED_MONTHLY_INCOME, MAX_DECLARED_MONTHLY_INCOME, Programs, overlaps,
};
use crate::domain::types::{CoverageEndReason, FundingSource, Program, WorkerStatus};
use crate::entities::{coverage, worker};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Changes;
use crate::services::AppState;
use crate::stats::summary;
use crate::stats::tally::{Tally, WorkerRows};

/// A coverage period to create for a worker, as the caller gives it.
#[derive(Debug, Clone)]
pub struct NewCoverage {
    pub regency_code: String,
    pub funding_source: FundingSource,
    /// Default [JKK, JKM]. JKK and JKM are always required together.
    pub programs: Option<Vec<Program>>,
    pub declared_monthly_income: Option<i64>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

/// The terms of a new coverage period, checked on their own (the rules of enrollWorker that do not
/// depend on the worker); `check_for` adds those that do. The import applies both per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub programs: Programs,
    pub declared_monthly_income: i64,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

impl Terms {
    /// Programs default to JKK and JKM, the declared income to Rp1,000,000.
    pub fn check(
        programs: Option<&[Program]>,
        declared_monthly_income: Option<i64>,
        starts_on: NaiveDate,
        ends_on: Option<NaiveDate>,
    ) -> AppResult<Terms> {
        let programs = Programs::from_list(programs.unwrap_or(&[Program::Jkk, Program::Jkm]))
            .map_err(|e| AppError::bad_input("programs", e))?;
        let income = declared_monthly_income.unwrap_or(DEFAULT_DECLARED_MONTHLY_INCOME);
        if !(1..=MAX_DECLARED_MONTHLY_INCOME).contains(&income) {
            return Err(AppError::bad_input(
                "declaredMonthlyIncome",
                Msg::IncomeBetween { max: MAX_DECLARED_MONTHLY_INCOME },
            ));
        }
        let starts_on = check_date("startsOn", starts_on)?;
        let ends_on = ends_on.map(|d| check_date("endsOn", d)).transpose()?;
        if ends_on.is_some_and(|end| end < starts_on) {
            return Err(AppError::bad_input("endsOn", Msg::EndsBeforeStarts));
        }
        Ok(Terms { programs, declared_monthly_income: income, starts_on, ends_on })
    }

    /// The period these terms make for the worker in the regency, not yet stored (its id 0),
    /// created now as the database keeps the time (to the microsecond).
    pub fn period(&self, worker_id: i64, regency_code: &str, funding_source: FundingSource) -> coverage::Model {
        coverage::Model {
            id: 0,
            worker_id,
            regency_code: regency_code.to_owned(),
            funding_source,
            programs: self.programs.to_column(),
            declared_monthly_income: self.declared_monthly_income,
            monthly_premium: self.monthly_premium(),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            end_reason: None,
            created_at: audit_chain::stored_time(Utc::now()),
            cancelled_at: None,
            cancel_reason: None,
        }
    }

    pub fn monthly_premium(&self) -> i64 {
        self.programs.monthly_premium(self.declared_monthly_income)
    }

    /// The rules that depend on the worker: not before birth, not past death, no overlap with
    /// another period paid by the same regency (`existing`: all the worker's periods).
    pub fn check_for(&self, worker: &worker::Model, existing: &[coverage::Model], regency_code: &str) -> AppResult<()> {
        self.check_for_life(worker)?;
        let same_regency = existing.iter().filter(|c| !c.is_cancelled() && c.regency_code == regency_code);
        if let Some(clash) =
            same_regency.clone().find(|c| overlaps(c.starts_on, c.ends_on, self.starts_on, self.ends_on))
        {
            return Err(AppError::Conflict(Msg::CoverageOverlaps {
                id: clash.id,
                starts_on: clash.starts_on,
                ends_on: clash.ends_on,
            }));
        }
        Ok(())
    }

    /// Not before the worker's birth date, not past its death.
    pub fn check_for_life(&self, worker: &worker::Model) -> AppResult<()> {
        self.check_birth(worker.birth_date)?;
        if let Some(died_on) = worker.died_on {
            if self.starts_on > died_on {
                return Err(AppError::bad_input("startsOn", Msg::StartsAfterDeath));
            }
            if self.ends_on.is_none_or(|end| end > died_on) {
                return Err(AppError::bad_input("endsOn", Msg::EndsAfterDeathEndIt));
            }
        }
        Ok(())
    }

    pub fn check_birth(&self, birth_date: NaiveDate) -> AppResult<()> {
        if self.starts_on < birth_date {
            return Err(AppError::bad_input("startsOn", Msg::StartsBeforeBirth));
        }
        Ok(())
    }
}

pub async fn get(state: &AppState, id: i64) -> AppResult<Option<coverage::Model>> {
    Ok(coverage::Entity::find_by_id(id).one(&state.db).await?)
}

pub async fn get_many(state: &AppState, ids: &[i64]) -> AppResult<Vec<coverage::Model>> {
    Ok(coverage::Entity::find().filter(coverage::Column::Id.is_in(ids.iter().copied())).all(&state.db).await?)
}

/// Coverage periods of several workers, oldest first (for batched loading).
pub async fn of_workers(state: &AppState, worker_ids: &[i64]) -> AppResult<Vec<coverage::Model>> {
    Ok(coverage::Entity::find()
        .filter(coverage::Column::WorkerId.is_in(worker_ids.iter().copied()))
        .order_by_asc(coverage::Column::StartsOn)
        .order_by_asc(coverage::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn enroll(
    state: &AppState,
    caller: &Caller,
    worker_id: i64,
    input: NewCoverage,
) -> AppResult<coverage::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let regency = state
        .areas
        .regency(&input.regency_code)
        .ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    require_reach(actor, &regency.code)?;
    let terms = Terms::check(input.programs.as_deref(), input.declared_monthly_income, input.starts_on, input.ends_on)?;
    let txn = state.db.begin().await?;
    let (worker, reserved_id) = lock_worker_reserving_coverage_id(&txn, worker_id).await?;
    require_visible_worker(&txn, actor, worker_id).await?;
    let existing = periods_of(&txn, worker_id).await?;
    terms.check_for(&worker, &existing, &regency.code)?;
    let new = coverage::Model {
        id: reserved_id.unwrap_or_default(),
        ..terms.period(worker_id, &regency.code, input.funding_source)
    };
    // PostgreSQL: the INSERT goes with the audit entry and the summary rows, one statement for
    // all three. SQLite: inserted here, where it takes its id.
    let (row, insert) = match reserved_id {
        Some(_) => (new.clone(), Some(db::insert_write(&new.into_active_model(), coverage::Column::iter())?)),
        None => (coverage::ActiveModel { id: NotSet, ..new.into_active_model() }.insert(&txn).await?, None),
    };
    let entry = audit::entry(actor, "enrollWorker", AuditEntity::Coverage, row.id, None, Some(&row))?;
    let after = [existing.as_slice(), std::slice::from_ref(&row)].concat();
    commit_periods(state, txn, &worker, (&existing, &after), insert.into_iter().collect(), entry).await?;
    Ok(row)
}

pub async fn end(
    state: &AppState,
    caller: &Caller,
    id: i64,
    ends_on: NaiveDate,
    reason: CoverageEndReason,
) -> AppResult<coverage::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let ends_on = check_date("endsOn", ends_on)?;
    let current = get(state, id).await?.ok_or(AppError::NotFound(Msg::NoCoverage { id }))?;
    require_visible_worker(&state.db, actor, current.worker_id)
        .await
        .map_err(|_| AppError::NotFound(Msg::NoCoverage { id }))?;
    require_reach(actor, &current.regency_code)?;
    if current.is_cancelled() {
        return Err(AppError::InvalidState(Msg::CoverageCancelled { id }));
    }
    if current.end_reason.is_some() {
        return Err(AppError::InvalidState(Msg::CoverageAlreadyEnded));
    }
    if ends_on < current.starts_on {
        return Err(AppError::bad_input("endsOn", Msg::EndsBeforeCoverageStarts));
    }
    if current.ends_on.is_some_and(|planned| ends_on > planned) {
        return Err(AppError::bad_input("endsOn", Msg::EndsAfterPlannedEnd));
    }
    let txn = state.db.begin().await?;
    let worker = lock_worker(&txn, current.worker_id).await?;
    if worker.died_on.is_some_and(|died_on| ends_on > died_on) {
        return Err(AppError::bad_input("endsOn", Msg::EndsAfterDeath));
    }
    let before = periods_of(&txn, worker.id).await?;
    // Compare-and-set: only a period nobody ended meanwhile is ended.
    let updated = coverage::Entity::update_many()
        .col_expr(coverage::Column::EndsOn, Expr::value(ends_on))
        .col_expr(coverage::Column::EndReason, Expr::value(reason))
        .filter(coverage::Column::Id.eq(id))
        .filter(coverage::Column::EndReason.is_null())
        .filter(coverage::Column::CancelledAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::InvalidState(Msg::CoverageAlreadyEnded));
    }
    let (after, row, entry) = period_change(&txn, actor, "endCoverage", &current).await?;
    commit_periods(state, txn, &worker, (&before, &after), Vec::new(), entry).await?;
    Ok(row)
}

/// The longest reason a cancellation may give.
pub const MAX_CANCEL_REASON_CHARS: usize = 500;

/// Cancels a coverage period that has not started yet (it starts after today, Indonesian western
/// time): the row stays, with when and why, and counts nowhere from then on. One that has started
/// is ended with `end` instead.
pub async fn cancel(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<coverage::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let reason = clean_text("reason", reason, MAX_CANCEL_REASON_CHARS)?;
    let current = get(state, id).await?.ok_or(AppError::NotFound(Msg::NoCoverage { id }))?;
    require_visible_worker(&state.db, actor, current.worker_id)
        .await
        .map_err(|_| AppError::NotFound(Msg::NoCoverage { id }))?;
    require_reach(actor, &current.regency_code)?;
    let today = today();
    check_cancellable(&current, today)?;
    let txn = state.db.begin().await?;
    let worker = lock_worker(&txn, current.worker_id).await?;
    let before = periods_of(&txn, worker.id).await?;
    // Compare-and-set: a period cancelled meanwhile is not cancelled twice.
    let updated = coverage::Entity::update_many()
        .col_expr(coverage::Column::CancelledAt, Expr::value(Utc::now()))
        .col_expr(coverage::Column::CancelReason, Expr::value(reason))
        .filter(coverage::Column::Id.eq(id))
        .filter(coverage::Column::CancelledAt.is_null())
        .filter(coverage::Column::StartsOn.gt(today))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        let now = before.iter().find(|c| c.id == id).unwrap_or(&current);
        check_cancellable(now, today)?;
        return Err(AppError::InvalidState(Msg::CoverageCancelled { id }));
    }
    let (after, row, entry) = period_change(&txn, actor, "cancelCoverage", &current).await?;
    commit_periods(state, txn, &worker, (&before, &after), Vec::new(), entry).await?;
    Ok(row)
}

/// INVALID_STATE for a period already cancelled, or one that has started (`end`'s job).
fn check_cancellable(period: &coverage::Model, today: NaiveDate) -> AppResult<()> {
    if period.is_cancelled() {
        return Err(AppError::InvalidState(Msg::CoverageCancelled { id: period.id }));
    }
    if period.starts_on <= today {
        return Err(AppError::InvalidState(Msg::CoverageStarted { id: period.id, starts_on: period.starts_on }));
    }
    Ok(())
}

/// Marks the worker DECEASED, cancels every period that starts after `died_on` (a death reported
/// late, after next year's list was enrolled) and closes every period still open after `died_on`
/// at `died_on`.
pub async fn record_death(
    state: &AppState,
    caller: &Caller,
    worker_id: i64,
    died_on: NaiveDate,
) -> AppResult<worker::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let died_on = check_date("diedOn", died_on)?;
    let txn = state.db.begin().await?;
    let worker = lock_worker(&txn, worker_id).await?;
    require_visible_worker(&txn, actor, worker_id).await?;
    require_death_reach(&txn, actor, &worker, died_on).await?;
    if worker.status == WorkerStatus::Deceased {
        return Err(AppError::InvalidState(Msg::DeathAlreadyRecorded));
    }
    check_death_date(&worker, died_on, "diedOn")?;
    let (row, change) = record_death_in(&txn, actor, "recordDeath", worker, died_on).await?;
    summary::add(&txn, &change).await?;
    state.live.commit(txn, Changes::stats(&change)).await?;
    Ok(row)
}

/// A death is recorded by the domicile regency or by a regency whose coverage includes that day
/// (the one that pays the death benefit, as submitPayout does); not by one that merely covered
/// the worker in another year.
async fn require_death_reach(
    txn: &DatabaseTransaction,
    actor: &Actor,
    worker: &worker::Model,
    died_on: NaiveDate,
) -> AppResult<()> {
    if reaches(actor, &worker.regency_code) {
        return Ok(());
    }
    let periods = coverage::Entity::find()
        .filter(coverage::Column::WorkerId.eq(worker.id))
        .filter(coverage::Column::CancelledAt.is_null())
        .all(txn)
        .await?;
    if periods.iter().any(|c| c.includes(died_on) && reaches(actor, &c.regency_code) && enrolled_by(c, died_on)) {
        Ok(())
    } else {
        Err(AppError::Forbidden(Msg::DeathOutsideScope { regency: worker.regency_code.clone(), died_on }))
    }
}

/// Whether a coverage was enrolled by the end of `day` (Indonesian western time). A coverage
/// lets a regency act for a worker who lives elsewhere only about events it covered when they
/// happened: one enrolled afterwards and backdated over the event would manufacture the reach
/// (a regency recorded the death of another regency's worker that way, closing its coverage).
pub(crate) fn enrolled_by(period: &coverage::Model, day: NaiveDate) -> bool {
    period.created_at < super::wib_midnight(day + chrono::Days::new(1))
}

/// A death date must follow the birth date and not be in the future. Periods that start after it
/// are no obstacle: `record_death_in` cancels them.
pub(crate) fn check_death_date(worker: &worker::Model, died_on: NaiveDate, field: &'static str) -> AppResult<()> {
    if died_on > today() {
        return Err(AppError::bad_input(field, Msg::DeathInFuture));
    }
    if died_on < worker.birth_date {
        return Err(AppError::bad_input(field, Msg::DeathBeforeBirth));
    }
    Ok(())
}

/// Inside a transaction that holds the worker's lock: cancels the periods that start after
/// `died_on` (reason `DECEASED <date>`), closes those open after `died_on` at `died_on` and marks
/// the worker DECEASED, auditing each change under `operation`. Returns the worker and the change
/// to the summaries, for the caller to add with its own before committing.
pub async fn record_death_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    operation: &str,
    worker: worker::Model,
    died_on: NaiveDate,
) -> AppResult<(worker::Model, Tally)> {
    let open_after = Condition::any().add(coverage::Column::EndsOn.is_null()).add(coverage::Column::EndsOn.gt(died_on));
    let before = periods_of(txn, worker.id).await?;
    coverage::Entity::update_many()
        .col_expr(coverage::Column::CancelledAt, Expr::value(Utc::now()))
        .col_expr(coverage::Column::CancelReason, Expr::value(format!("DECEASED {died_on}")))
        .filter(coverage::Column::WorkerId.eq(worker.id))
        .filter(coverage::Column::StartsOn.gt(died_on))
        .filter(coverage::Column::CancelledAt.is_null())
        .exec(txn)
        .await?;
    coverage::Entity::update_many()
        .col_expr(coverage::Column::EndsOn, Expr::value(died_on))
        .col_expr(coverage::Column::EndReason, Expr::value(CoverageEndReason::Deceased))
        .filter(coverage::Column::WorkerId.eq(worker.id))
        .filter(coverage::Column::CancelledAt.is_null())
        .filter(open_after)
        .exec(txn)
        .await?;
    let after = periods_of(txn, worker.id).await?;
    for (old, new) in before.iter().zip(&after).filter(|(old, new)| old != new) {
        audit::record(txn, actor, operation, AuditEntity::Coverage, old.id, Some(old), Some(new)).await?;
    }
    let mut row: worker::ActiveModel = worker.clone().into();
    row.status = Set(WorkerStatus::Deceased);
    row.died_on = Set(Some(died_on));
    row.updated_at = Set(Utc::now());
    let row = row.update(txn).await?;
    audit::record(txn, actor, operation, AuditEntity::Worker, row.id, Some(&worker), Some(&row)).await?;
    let change = Tally::change(
        WorkerRows { worker: &worker, coverages: &before, payouts: &[] },
        WorkerRows { worker: &row, coverages: &after, payouts: &[] },
    );
    Ok((row, change))
}

/// The worker's periods after `current` was updated in `txn`, the row it became, and the audit
/// entry of the change as `action`, with `current` as the state before.
async fn period_change(
    txn: &DatabaseTransaction,
    actor: &Actor,
    action: &str,
    current: &coverage::Model,
) -> AppResult<(Vec<coverage::Model>, coverage::Model, audit::Entry)> {
    let after = periods_of(txn, current.worker_id).await?;
    let row = after
        .iter()
        .find(|c| c.id == current.id)
        .cloned()
        .ok_or_else(|| AppError::Internal("coverage vanished".into()))?;
    let entry = audit::entry(actor, action, AuditEntity::Coverage, current.id, Some(current), Some(&row))?;
    Ok((after, row, entry))
}

/// Commits a change to a worker's periods: `first` (the change's own writes that nothing reads
/// back, if any), its audit entry and the summaries moved from what `before` counted to what
/// `after` counts, in one statement on PostgreSQL and in the same transaction; live subscribers
/// hear of it once it is committed.
async fn commit_periods(
    state: &AppState,
    txn: DatabaseTransaction,
    worker: &worker::Model,
    (before, after): (&[coverage::Model], &[coverage::Model]),
    first: Vec<db::Write>,
    entry: audit::Entry,
) -> AppResult<()> {
    let change = Tally::change(
        WorkerRows { worker, coverages: before, payouts: &[] },
        WorkerRows { worker, coverages: after, payouts: &[] },
    );
    audit::append_with_summary_after(&txn, first, entry, &change).await?;
    state.live.commit(txn, Changes::stats(&change)).await?;
    Ok(())
}

/// All coverage periods of a worker, oldest first (in id order for equal starts, so that two
/// reads in one transaction line up).
pub(crate) async fn periods_of(txn: &DatabaseTransaction, worker_id: i64) -> AppResult<Vec<coverage::Model>> {
    Ok(coverage::Entity::find()
        .filter(coverage::Column::WorkerId.eq(worker_id))
        .order_by_asc(coverage::Column::StartsOn)
        .order_by_asc(coverage::Column::Id)
        .all(txn)
        .await?)
}

/// `lock_worker`, and on PostgreSQL the id of the period about to be enrolled, drawn from its
/// sequence in the same round trip: knowing it before the INSERT, the entry that names it can be
/// written with the INSERT as one statement, a round trip fewer per enrollment. An id drawn for
/// an enrollment that is then refused is skipped, as a rolled-back INSERT's is. SQLite: None.
async fn lock_worker_reserving_coverage_id(
    txn: &DatabaseTransaction,
    worker_id: i64,
) -> AppResult<(worker::Model, Option<i64>)> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok((lock_worker(txn, worker_id).await?, None));
    }
    let query = worker::Entity::find_by_id(worker_id)
        .expr_as(Expr::cust("nextval('coverage_id_seq')"), "reserved_coverage_id")
        .lock(LockType::NoKeyUpdate)
        .build(DbBackend::Postgres);
    let row = txn.query_one_raw(query).await?.ok_or(AppError::NotFound(Msg::NoWorker { id: worker_id }))?;
    Ok((worker::Model::from_query_result(&row, "")?, Some(row.try_get("", "reserved_coverage_id")?)))
}

/// Takes the worker's row lock (PostgreSQL) / the write lock (SQLite) for the transaction and
/// reads the worker, leaving its row as it was. NOT_FOUND when there is no such worker.
///
/// PostgreSQL: `SELECT ... FOR NO KEY UPDATE`, the lock an UPDATE of the row takes, in one round
/// trip. It used to be an UPDATE of `updated_at`, which wrote a new version of the worker and an
/// entry in each of its eight indexes into the WAL on every enrollment, payout and death, for a
/// column no enrollment changes. SQLite: a write that changes nothing
/// (`SET updated_at = updated_at`) takes the database's one write lock before the reads, so that
/// two writers never both read and then wait on each other to write.
pub(crate) async fn lock_worker(txn: &DatabaseTransaction, worker_id: i64) -> AppResult<worker::Model> {
    let found = if txn.get_database_backend() == DbBackend::Postgres {
        worker::Entity::find_by_id(worker_id).lock(LockType::NoKeyUpdate).one(txn).await?
    } else if worker::Entity::update_many()
        .col_expr(worker::Column::UpdatedAt, Expr::col(worker::Column::UpdatedAt))
        .filter(worker::Column::Id.eq(worker_id))
        .exec(txn)
        .await?
        .rows_affected
        == 0
    {
        None
    } else {
        worker::Entity::find_by_id(worker_id).one(txn).await?
    };
    found.ok_or(AppError::NotFound(Msg::NoWorker { id: worker_id }))
}
