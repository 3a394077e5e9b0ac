//! Benefit payouts: submission (coverage, amount and eligibility rules), idempotent retries, and
//! the walk SUBMITTED -> VERIFIED -> APPROVED -> PAID (or REJECTED), each step a compare-and-set
//! UPDATE so that concurrent requests produce exactly one transition.
use std::collections::HashSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::access::{reaches, require_reach, require_reader, require_role, require_visible_worker, visible_payouts};
use super::audit::{self, AuditEntity};
use super::coverage::{check_death_date, enrolled_by, lock_worker, record_death_in};
use super::pagination::{self, Cursor, Page, PageArgs, Window};
use super::probes;
use super::{check_date, clean_name, clean_text, today, wib_midnight};
use crate::auth::{Actor, Caller, Role};
use crate::domain::benefits::{
    JKM_PAYMENT_WORKING_DAYS, MAX_CLAIMED_AMOUNT, SCHOLARSHIP_JKM_MIN_MONTHS, SCHOLARSHIP_MAX_CHILDREN,
    WORK_ACCIDENT_CLAIM_YEARS, jkk_death_amount, jkm_death_amount, working_days_between,
};
use crate::domain::coverage_period::{Programs, months_between};
use crate::domain::four_eyes::{self, Breach, Hand};
use crate::domain::payout_state::PayoutAction;
use crate::domain::types::{Benefit, PayoutStatus, Program, Relationship, WorkerStatus};
use crate::entities::{api_key, coverage, payout, worker};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Changes;
use crate::services::AppState;
use crate::stats::tally::{Tally, WorkerRows};

/// A claim for a benefit, as the caller submits it (the worker is given apart).
#[derive(Debug, Clone)]
pub struct NewPayout {
    pub benefit: Benefit,
    pub incident_on: NaiveDate,
    pub beneficiary_name: String,
    pub beneficiary_relationship: Relationship,
    /// Required for WORK_ACCIDENT_CARE and SCHOLARSHIP; must be absent for DEATH and
    /// WORK_ACCIDENT_DEATH (the server computes those).
    pub amount: Option<i64>,
    /// A retry with the same key returns the payout created the first time.
    pub idempotency_key: Option<String>,
}

/// Which payouts a list holds (all of them within the caller's sight).
#[derive(Debug, Clone, Default)]
pub struct PayoutFilter {
    /// The regency of the coverage the payout is paid under.
    pub regency_code: Option<String>,
    pub status: Option<PayoutStatus>,
    pub benefit: Option<Benefit>,
    /// Submitted on or after this day (WIB).
    pub submitted_from: Option<NaiveDate>,
    /// Submitted on or before this day (WIB).
    pub submitted_to: Option<NaiveDate>,
}

/// Death benefits: one per worker unless the earlier one was rejected.
const DEATH_BENEFITS: [Benefit; 2] = [Benefit::Death, Benefit::WorkAccidentDeath];

/// A payout the caller may see; None when it does not exist or lies outside the caller's scope.
pub async fn get(state: &AppState, caller: &Caller, id: i64) -> AppResult<Option<payout::Model>> {
    let actor = require_reader(caller)?;
    Ok(payout::Entity::find_by_id(id).filter(visible_payouts(actor)).one(&state.db).await?)
}

/// The payouts of several workers the caller may see, oldest first (for batched loading).
pub async fn of_workers(state: &AppState, caller: &Caller, worker_ids: &[i64]) -> AppResult<Vec<payout::Model>> {
    Ok(payout::Entity::find()
        .filter(payout::Column::WorkerId.is_in(worker_ids.iter().copied()))
        .filter(visible_payouts(require_reader(caller)?))
        .order_by_asc(payout::Column::SubmittedAt)
        .order_by_asc(payout::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn submit(state: &AppState, caller: &Caller, worker_id: i64, input: NewPayout) -> AppResult<payout::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let idempotency_key = input.idempotency_key.as_deref().map(|k| clean_text("idempotencyKey", k, 200)).transpose()?;
    if let Some(key) = &idempotency_key
        && let Some(first) = find_by_idempotency_key(&state.db, actor, key, worker_id).await?
    {
        return Ok(first);
    }
    let claim = Submission::check(&input)?;
    let txn = state.db.begin().await?;
    let worker = lock_worker(&txn, worker_id).await?;
    require_visible_worker(&txn, actor, worker_id).await?;
    // Re-checked under the worker's lock: a racing retry waited for the first one to commit.
    if let Some(key) = &idempotency_key
        && let Some(first) = find_by_idempotency_key(&txn, actor, key, worker_id).await?
    {
        return Ok(first);
    }
    // A cancelled period holds no benefit and counts no contributions.
    let coverages = coverage::Entity::find()
        .filter(coverage::Column::WorkerId.eq(worker_id))
        .filter(coverage::Column::CancelledAt.is_null())
        .order_by_asc(coverage::Column::StartsOn)
        .order_by_asc(coverage::Column::Id)
        .all(&txn)
        .await?;
    let earlier = payout::Entity::find()
        .filter(payout::Column::WorkerId.eq(worker_id))
        .filter(payout::Column::Status.ne(PayoutStatus::Rejected))
        .all(&txn)
        .await?;
    let program = claim.program(&earlier);
    let holding = holding_coverage(actor, &worker, &coverages, program, claim.incident_on)?;
    let amount = claim.amount(holding, &worker, &coverages, &earlier)?;
    let mut change = Tally::default();
    if DEATH_BENEFITS.contains(&claim.benefit) {
        if let Some(other) = earlier.iter().find(|p| DEATH_BENEFITS.contains(&p.benefit)) {
            if reaches(actor, &other.regency_code) {
                return Err(AppError::Conflict(Msg::DeathBenefitExists));
            }
            // Under another regency's coverage: the rule still refuses, but says no more (not
            // its status, amount or regency) and the probe is audited and counted.
            txn.rollback().await?;
            let message = Msg::DeathBenefitBeingHandled;
            return Err(probes::refuse(state, actor, "submitPayout", &worker, message).await);
        }
        match worker.died_on {
            None => {
                check_death_date(&worker, claim.incident_on, "incidentOn")?;
                let (_, death) =
                    record_death_in(&txn, actor, "submitPayout", worker.clone(), claim.incident_on).await?;
                change.merge(&death, 1);
            }
            Some(died_on) if died_on != claim.incident_on => {
                return Err(AppError::bad_input("incidentOn", Msg::DeathRecordedOn { died_on }));
            }
            Some(_) => {}
        }
    }
    let row = payout::ActiveModel {
        worker_id: Set(worker_id),
        coverage_id: Set(holding.id),
        regency_code: Set(holding.regency_code.clone()),
        benefit: Set(claim.benefit),
        amount: Set(amount),
        status: Set(PayoutStatus::Submitted),
        beneficiary_name: Set(claim.beneficiary_name.clone()),
        beneficiary_relationship: Set(claim.relationship),
        incident_on: Set(claim.incident_on),
        submitted_at: Set(Utc::now()),
        submitted_by: Set(actor.key_id),
        submitted_by_person: Set(actor.person.clone()),
        idempotency_key: Set(idempotency_key.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let entry = audit::entry(actor, "submitPayout", AuditEntity::Payout, row.id, None, Some(&row))?;
    change.merge(
        &Tally::change(
            WorkerRows { worker: &worker, coverages: &[], payouts: &[] },
            WorkerRows { worker: &worker, coverages: &[], payouts: std::slice::from_ref(&row) },
        ),
        1,
    );
    audit::append_with_summary(&txn, entry, &change).await?;
    state.live.commit(txn, Changes::stats(&change).payout(&row)).await?;
    Ok(row)
}

/// The coverage a claim is paid under: one holding `program` on the incident day. Several
/// regencies may cover a worker on one day (a worker who moved, still enrolled where it lived),
/// and the payout counts where its coverage was paid: so one the caller reaches, and for a worker
/// living elsewhere one enrolled by the incident (reach is not manufactured afterwards); the
/// oldest such, as an admin gets the oldest. FORBIDDEN when none of them is the caller's.
fn holding_coverage<'a>(
    actor: &Actor,
    worker: &worker::Model,
    coverages: &'a [coverage::Model],
    program: Program,
    incident_on: NaiveDate,
) -> AppResult<&'a coverage::Model> {
    let on_the_day: Vec<&coverage::Model> = coverages
        .iter()
        .filter(|c| c.includes(incident_on) && Programs::from_column(&c.programs).list().contains(&program))
        .collect();
    let Some(oldest) = on_the_day.first() else {
        let program = format!("{program:?}").to_uppercase();
        return Err(AppError::NotCovered(Msg::NoCoverageWith { program, on: incident_on }));
    };
    let in_scope: Vec<&coverage::Model> =
        on_the_day.iter().copied().filter(|c| reaches(actor, &c.regency_code)).collect();
    if in_scope.is_empty() {
        return Err(AppError::Forbidden(Msg::OutsideScope { regency: oldest.regency_code.clone() }));
    }
    let lives_in_scope = reaches(actor, &worker.regency_code);
    in_scope
        .into_iter()
        .find(|c| lives_in_scope || enrolled_by(c, incident_on))
        .ok_or(AppError::Forbidden(Msg::ClaimEnrolledAfter { on: incident_on }))
}

/// The payout this key already submitted under `key`. A key reused for another worker is a
/// client bug, not a retry: CONFLICT rather than someone else's payout.
async fn find_by_idempotency_key<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    key: &str,
    worker_id: i64,
) -> AppResult<Option<payout::Model>> {
    let first = payout::Entity::find()
        .filter(payout::Column::SubmittedBy.eq(actor.key_id))
        .filter(payout::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?;
    match first {
        Some(first) if first.worker_id != worker_id => Err(AppError::Conflict(Msg::IdempotencyKeyReused)),
        first => Ok(first),
    }
}

/// A submission's own fields, checked before anything is read.
struct Submission {
    benefit: Benefit,
    incident_on: NaiveDate,
    beneficiary_name: String,
    relationship: Relationship,
    amount: Option<i64>,
}

impl Submission {
    fn check(input: &NewPayout) -> AppResult<Submission> {
        let incident_on = check_date("incidentOn", input.incident_on)?;
        if incident_on > today() {
            return Err(AppError::bad_input("incidentOn", Msg::IncidentInFuture));
        }
        let beneficiary_name = clean_name("beneficiaryName", &input.beneficiary_name, 200)?;
        let amount = input.amount;
        match input.benefit {
            Benefit::Death | Benefit::WorkAccidentDeath if amount.is_some() => {
                return Err(AppError::bad_input("amount", Msg::DeathBenefitComputed));
            }
            Benefit::WorkAccidentCare | Benefit::Scholarship
                if !amount.is_some_and(|a| (1..=MAX_CLAIMED_AMOUNT).contains(&a)) =>
            {
                return Err(AppError::bad_input("amount", Msg::AmountBetween { max: MAX_CLAIMED_AMOUNT }));
            }
            _ => {}
        }
        if matches!(input.benefit, Benefit::WorkAccidentDeath | Benefit::WorkAccidentCare) {
            let lapses = incident_on
                .with_year(incident_on.year() + WORK_ACCIDENT_CLAIM_YEARS)
                .unwrap_or(incident_on + Days::new(365 * 5 + 1));
            if today() > lapses {
                return Err(AppError::bad_input("incidentOn", Msg::ClaimLapsed));
            }
        }
        if input.benefit == Benefit::Scholarship && input.beneficiary_relationship != Relationship::Child {
            return Err(AppError::bad_input("beneficiaryRelationship", Msg::ScholarshipToChildren));
        }
        Ok(Submission {
            benefit: input.benefit,
            incident_on,
            beneficiary_name,
            relationship: input.beneficiary_relationship,
            amount,
        })
    }

    /// JKM for DEATH and for a scholarship after a JKM death; JKK for work-accident benefits and a
    /// scholarship after a work-accident death.
    fn program(&self, earlier: &[payout::Model]) -> Program {
        match self.benefit {
            Benefit::Death => Program::Jkm,
            Benefit::WorkAccidentDeath | Benefit::WorkAccidentCare => Program::Jkk,
            Benefit::Scholarship if earlier.iter().any(|p| p.benefit == Benefit::WorkAccidentDeath) => Program::Jkk,
            Benefit::Scholarship => Program::Jkm,
        }
    }

    fn amount(
        &self,
        holding: &coverage::Model,
        worker: &worker::Model,
        coverages: &[coverage::Model],
        earlier: &[payout::Model],
    ) -> AppResult<i64> {
        match self.benefit {
            Benefit::Death => jkm_death_amount(self.incident_on).ok_or(AppError::NotCovered(Msg::NoJkmDeathBenefit)),
            Benefit::WorkAccidentDeath => Ok(jkk_death_amount(holding.declared_monthly_income)),
            Benefit::WorkAccidentCare => self.amount.ok_or_else(|| AppError::bad_input("amount", Msg::AmountRequired)),
            Benefit::Scholarship => {
                self.check_scholarship(worker, coverages, earlier)?;
                self.amount.ok_or_else(|| AppError::bad_input("amount", Msg::AmountRequired))
            }
        }
    }

    /// Only after the worker's death (incidentOn = the death), for at most 2 children, and after a
    /// JKM death only with >= 3 years of contributions.
    fn check_scholarship(
        &self,
        worker: &worker::Model,
        coverages: &[coverage::Model],
        earlier: &[payout::Model],
    ) -> AppResult<()> {
        let Some(died_on) = worker.died_on.filter(|_| worker.status == WorkerStatus::Deceased) else {
            return Err(AppError::bad_input("benefit", Msg::ScholarshipAfterDeath));
        };
        if self.incident_on != died_on {
            return Err(AppError::bad_input("incidentOn", Msg::ScholarshipIncident { died_on }));
        }
        let after_work_accident = earlier.iter().any(|p| p.benefit == Benefit::WorkAccidentDeath);
        if !after_work_accident {
            let months: i64 = coverages
                .iter()
                .filter(|c| c.starts_on <= died_on)
                .map(|c| months_between(c.starts_on, c.ends_on.map_or(died_on, |end| end.min(died_on))))
                .sum();
            if months < SCHOLARSHIP_JKM_MIN_MONTHS {
                return Err(AppError::bad_input("benefit", Msg::ScholarshipContributions { months }));
            }
        }
        let mut children: HashSet<String> = earlier
            .iter()
            .filter(|p| p.benefit == Benefit::Scholarship)
            .map(|p| p.beneficiary_name.to_lowercase())
            .collect();
        children.insert(self.beneficiary_name.to_lowercase());
        if children.len() > SCHOLARSHIP_MAX_CHILDREN {
            return Err(AppError::Conflict(Msg::ScholarshipTwoChildren));
        }
        Ok(())
    }
}

/// What a transition records besides its status and timestamp.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetails {
    pub payment_reference: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub rejection_reason: Option<String>,
}

pub async fn transition(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: PayoutAction,
    details: TransitionDetails,
) -> AppResult<payout::Model> {
    let actor = require_role(caller, Role::Supervisor)?;
    let current = get(state, caller, id).await?.ok_or(AppError::NotFound(Msg::NoPayout { id }))?;
    require_reach(actor, &current.regency_code)?;
    let next = action.next(current.status).ok_or_else(|| invalid_state(action, current.status))?;
    check_four_eyes(state, actor, action, &current).await?;
    let now = Utc::now();
    let mut update = payout::Entity::update_many().col_expr(payout::Column::Status, Expr::value(next));
    update = match action {
        PayoutAction::Verify => update
            .col_expr(payout::Column::VerifiedAt, Expr::value(now))
            .col_expr(payout::Column::VerifiedBy, Expr::value(actor.key_id))
            .col_expr(payout::Column::VerifiedByPerson, Expr::value(actor.person.clone())),
        PayoutAction::Approve => update
            .col_expr(payout::Column::ApprovedAt, Expr::value(now))
            .col_expr(payout::Column::ApprovedBy, Expr::value(actor.key_id))
            .col_expr(payout::Column::ApprovedByPerson, Expr::value(actor.person.clone())),
        PayoutAction::MarkPaid => {
            let reference = clean_text("paymentReference", details.payment_reference.as_deref().unwrap_or(""), 200)?;
            let paid_on = check_date("paidOn", details.paid_on.unwrap_or_else(today))?;
            if paid_on > today() {
                return Err(AppError::bad_input("paidOn", Msg::PaidInFuture));
            }
            if paid_on < current.incident_on {
                return Err(AppError::bad_input("paidOn", Msg::PaidBeforeIncident));
            }
            update
                .col_expr(payout::Column::PaidAt, Expr::value(now))
                .col_expr(payout::Column::PaidBy, Expr::value(actor.key_id))
                .col_expr(payout::Column::PaidOn, Expr::value(paid_on))
                .col_expr(payout::Column::PaymentReference, Expr::value(reference))
        }
        PayoutAction::Reject => {
            let reason = clean_text("reason", details.rejection_reason.as_deref().unwrap_or(""), 1000)?;
            update
                .col_expr(payout::Column::RejectedAt, Expr::value(now))
                .col_expr(payout::Column::RejectedBy, Expr::value(actor.key_id))
                .col_expr(payout::Column::RejectionReason, Expr::value(reason))
        }
    };
    let txn = state.db.begin().await?;
    // The worker's lock orders this change to the summaries with any other change of the worker
    // (a move of its district moves its payouts' figures too).
    let worker = lock_worker(&txn, current.worker_id).await?;
    // Compare-and-set: of concurrent requests, only the first finds the state it expects.
    let result =
        update.filter(payout::Column::Id.eq(id)).filter(payout::Column::Status.eq(current.status)).exec(&txn).await?;
    if result.rows_affected != 1 {
        let now_status = payout::Entity::find_by_id(id).one(&txn).await?.map_or(current.status, |p| p.status);
        return Err(invalid_state(action, now_status));
    }
    let row =
        payout::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::Internal("payout vanished".into()))?;
    let operation = match action {
        PayoutAction::Verify => "verifyPayout",
        PayoutAction::Approve => "approvePayout",
        PayoutAction::MarkPaid => "markPayoutPaid",
        PayoutAction::Reject => "rejectPayout",
    };
    let entry = audit::entry(actor, operation, AuditEntity::Payout, id, Some(&current), Some(&row))?;
    // `current` was read before the lock, but the compare-and-set above proves the row was still
    // in that state, and every write to a payout changes its state.
    let change = Tally::change(
        WorkerRows { worker: &worker, coverages: &[], payouts: std::slice::from_ref(&current) },
        WorkerRows { worker: &worker, coverages: &[], payouts: std::slice::from_ref(&row) },
    );
    audit::append_with_summary(&txn, entry, &change).await?;
    state.live.commit(txn, Changes::stats(&change).payout(&row)).await?;
    Ok(row)
}

/// Four-eyes between people (`domain::four_eyes`). A step taken before steps recorded their
/// person has its key's owner as its person: a key's owner never changes.
async fn check_four_eyes(
    state: &AppState,
    actor: &Actor,
    action: PayoutAction,
    current: &payout::Model,
) -> AppResult<()> {
    if !action.needs_other_than_submitter() {
        return Ok(());
    }
    let submitter = person_of(state, current.submitted_by, current.submitted_by_person.clone()).await?;
    let verifier = match current.verified_by {
        Some(key_id) => Some((key_id, person_of(state, key_id, current.verified_by_person.clone()).await?)),
        None => None,
    };
    let checked = four_eyes::check(
        state.four_eyes,
        action,
        Hand { key_id: actor.key_id, person: actor.person.as_deref() },
        Hand { key_id: current.submitted_by, person: submitter.as_deref() },
        verifier.as_ref().map(|(key_id, person)| Hand { key_id: *key_id, person: person.as_deref() }),
    );
    match checked {
        Ok(()) => Ok(()),
        Err(Breach::Submitter) => Err(AppError::Forbidden(Msg::FourEyes { action })),
        Err(Breach::Verifier) => Err(AppError::Forbidden(Msg::FourEyesStrict)),
    }
}

/// The person recorded for a step, else the owner of the key that took it (tokens' numbers are
/// negative and have no key; the command line is 0).
async fn person_of(state: &AppState, key_id: i64, recorded: Option<String>) -> AppResult<Option<String>> {
    if recorded.is_some() || key_id <= 0 {
        return Ok(recorded);
    }
    let owner: Option<Option<String>> = api_key::Entity::find_by_id(key_id)
        .select_only()
        .column(api_key::Column::Owner)
        .into_tuple()
        .one(&state.db)
        .await?;
    Ok(owner.flatten())
}

fn invalid_state(action: PayoutAction, status: PayoutStatus) -> AppError {
    AppError::InvalidState(Msg::PayoutState { action, status: format!("{status:?}").to_uppercase() })
}

/// Working days a JKM death payout has waited beyond the 3-day deadline since it was verified
/// (complete), up to its payment or today; None for other benefits or before verification.
pub fn overdue_working_days(payout: &payout::Model) -> Option<i64> {
    if payout.benefit != Benefit::Death || payout.status == PayoutStatus::Rejected {
        return None;
    }
    let verified_on = wib_date(payout.verified_at?);
    let until = payout.paid_on.unwrap_or_else(today);
    let late = working_days_between(verified_on, until) - JKM_PAYMENT_WORKING_DAYS;
    Some(late.max(0))
}

fn wib_date(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(7)).date_naive()
}

fn filter_condition(filter: &PayoutFilter) -> AppResult<Condition> {
    let mut condition = Condition::all();
    if let Some(code) = &filter.regency_code {
        condition = condition.add(payout::Column::RegencyCode.eq(code.as_str()));
    }
    if let Some(status) = filter.status {
        condition = condition.add(payout::Column::Status.eq(status));
    }
    if let Some(benefit) = filter.benefit {
        condition = condition.add(payout::Column::Benefit.eq(benefit));
    }
    if let Some(from) = filter.submitted_from {
        condition = condition.add(payout::Column::SubmittedAt.gte(wib_midnight(check_date("submittedFrom", from)?)));
    }
    if let Some(to) = filter.submitted_to {
        let next_day = check_date("submittedTo", to)?.succ_opt().unwrap_or(to);
        condition = condition.add(payout::Column::SubmittedAt.lt(wib_midnight(next_day)));
    }
    Ok(condition)
}

/// Newest submissions first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &PayoutFilter,
    args: &PageArgs,
) -> AppResult<Page<payout::Model>> {
    const ORDERING: &str = "SUBMITTED_DESC";
    let window = Window::new(args, ORDERING)?;
    let mut condition = filter_condition(filter)?.add(visible_payouts(require_reader(caller)?));
    let beyond = |cursor: &Cursor, field: &'static str, greater: bool| -> AppResult<Condition> {
        let at =
            DateTime::parse_from_rfc3339(&cursor.key).map_err(|_| AppError::bad_input(field, Msg::InvalidCursor))?;
        let key = at.with_timezone(&Utc).into();
        Ok(pagination::beyond(payout::Column::SubmittedAt, key, payout::Column::Id, cursor.id, greater))
    };
    // In (submitted_at, id) descending order, "after" is smaller and "before" is larger.
    if let Some(after) = &window.after {
        condition = condition.add(beyond(after, "after", false)?);
    }
    if let Some(before) = &window.before {
        condition = condition.add(beyond(before, "before", true)?);
    }
    let direction = if window.backward { sea_orm::Order::Asc } else { sea_orm::Order::Desc };
    let rows = payout::Entity::find()
        .filter(condition)
        .order_by(payout::Column::SubmittedAt, direction.clone())
        .order_by(payout::Column::Id, direction)
        .limit(window.limit + 1)
        .all(&state.db)
        .await?;
    let fetched = rows
        .into_iter()
        .map(|row| (Cursor { ordering: ORDERING.into(), key: row.submitted_at.to_rfc3339(), id: row.id }, row))
        .collect();
    Ok(Page::from_fetched(&window, fetched))
}

pub async fn count(state: &AppState, caller: &Caller, filter: &PayoutFilter) -> AppResult<u64> {
    let condition = filter_condition(filter)?.add(visible_payouts(require_reader(caller)?));
    Ok(payout::Entity::find().filter(condition).count(&state.db).await?)
}

/// JKM death payouts verified or approved and still unpaid past the 3-working-day deadline,
/// longest waiting first.
pub async fn overdue(
    state: &AppState,
    caller: &Caller,
    regency_code: Option<&str>,
    first: Option<i32>,
) -> AppResult<Vec<payout::Model>> {
    let limit = match first {
        None => 20,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(AppError::bad_input("first", Msg::FirstBetween { max: 100 })),
    };
    // Three calendar days are never more than three working days: a cheap, index-friendly bound.
    let actor = require_reader(caller)?;
    let mut query = payout::Entity::find()
        .filter(visible_payouts(actor))
        .filter(payout::Column::Benefit.eq(Benefit::Death))
        .filter(payout::Column::Status.is_in([PayoutStatus::Verified, PayoutStatus::Approved]))
        .filter(payout::Column::VerifiedAt.lt(Utc::now() - chrono::Duration::days(JKM_PAYMENT_WORKING_DAYS)))
        .order_by_asc(payout::Column::VerifiedAt)
        .order_by_asc(payout::Column::Id);
    if let Some(code) = regency_code {
        query = query.filter(payout::Column::RegencyCode.eq(code));
    }
    let candidates = query.limit(10_000).all(&state.db).await?;
    Ok(candidates.into_iter().filter(|p| overdue_working_days(p).is_some_and(|d| d > 0)).take(limit).collect())
}
