//! The demo's benefit payouts: the 25 JKM death benefits the Regent handed to heirs on 20 June
//! 2023, and a few later claims in every earlier state of the workflow, so that dashboards and
//! GraphiQL show the whole walk (and an overdue list).
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::story::{ENTERED_AT, REGENCY};
use crate::datasets::synthetic::{SplitMix64, date, full_name, utc};
use crate::domain::benefits::jkm_death_amount;
use crate::domain::types::{Benefit, CoverageEndReason, Gender, PayoutStatus, Relationship, WorkerStatus};
use crate::entities::{api_key, coverage, payout, worker};

/// The ceremony: the day the heirs received the money.
const CEREMONY: NaiveDate = date(2023, 6, 20);
const CEREMONY_REFERENCE: &str = "Penyerahan santunan JKM oleh Bupati Tangerang, Pendopo Tigaraksa, 20 Juni 2023";
/// Claims walked to the ceremony were verified and approved the week before (09:00 WIB).
const VERIFIED_AT: DateTime<Utc> = utc(2023, 6, 15, 2);
const APPROVED_AT: DateTime<Utc> = utc(2023, 6, 16, 2);
const PAID_AT: DateTime<Utc> = utc(2023, 6, 20, 3);
const PAID_AT_LATER: DateTime<Utc> = utc(2023, 6, 20, 8);

/// A later claim and how far it got.
struct LaterClaim {
    benefit: Benefit,
    status: PayoutStatus,
    incident_on: NaiveDate,
    amount: Option<i64>,
}

const LATER_CLAIMS: [LaterClaim; 10] = [
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Submitted,
        incident_on: date(2023, 11, 20),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Submitted,
        incident_on: date(2023, 11, 28),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Submitted,
        incident_on: date(2023, 12, 4),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Verified,
        incident_on: date(2023, 10, 9),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Verified,
        incident_on: date(2023, 10, 30),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Approved,
        incident_on: date(2023, 9, 14),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Approved,
        incident_on: date(2023, 9, 25),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::Death,
        status: PayoutStatus::Rejected,
        incident_on: date(2023, 8, 17),
        amount: None,
    },
    LaterClaim {
        benefit: Benefit::WorkAccidentCare,
        status: PayoutStatus::Submitted,
        incident_on: date(2023, 11, 6),
        amount: Some(3_750_000),
    },
    LaterClaim {
        benefit: Benefit::WorkAccidentCare,
        status: PayoutStatus::Verified,
        incident_on: date(2023, 10, 23),
        amount: Some(12_400_000),
    },
];

/// The workers (by plan index) whose claims these are: spread over the 2022 cohort, which is
/// covered all of 2023.
fn claimant_index(claim: usize) -> usize {
    17 + claim * 1_499
}

/// Inserts the seed keys and the payouts; `ids` are the workers' ids in plan order.
pub(super) async fn insert_payouts(txn: &DatabaseTransaction, ids: &[i64], rng: &mut SplitMix64) -> Result<u64, DbErr> {
    let (operator, supervisor) = seed_keys(txn).await?;
    let mut inserted = 0;
    for claim in 0..25 {
        let worker_id = worker_id(ids, claim)?;
        let died_on =
            date(2023, 1, 6).checked_add_days(chrono::Days::new(claim as u64 * 5)).unwrap_or(date(2023, 5, 1));
        let worker = record_death(txn, worker_id, died_on).await?;
        let coverage_id = coverage_on(txn, worker_id, died_on).await?;
        let (name, relationship) = heir(rng, &worker);
        let submitted_at = utc_on(died_on, 14);
        payout::ActiveModel {
            worker_id: Set(worker_id),
            coverage_id: Set(coverage_id),
            regency_code: Set(REGENCY.to_owned()),
            benefit: Set(Benefit::Death),
            amount: Set(jkm_death_amount(died_on).unwrap_or_default()),
            status: Set(PayoutStatus::Paid),
            beneficiary_name: Set(name),
            beneficiary_relationship: Set(relationship),
            incident_on: Set(died_on),
            submitted_at: Set(submitted_at),
            submitted_by: Set(operator),
            verified_at: Set(Some(VERIFIED_AT)),
            verified_by: Set(Some(supervisor)),
            approved_at: Set(Some(APPROVED_AT)),
            approved_by: Set(Some(supervisor)),
            paid_at: Set(Some(if claim % 2 == 0 { PAID_AT } else { PAID_AT_LATER })),
            paid_by: Set(Some(operator)),
            paid_on: Set(Some(CEREMONY)),
            payment_reference: Set(Some(CEREMONY_REFERENCE.to_owned())),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        inserted += 1;
    }
    for (i, later) in LATER_CLAIMS.iter().enumerate() {
        let worker_id = worker_id(ids, 25 + i)?;
        let worker = if later.benefit == Benefit::Death {
            record_death(txn, worker_id, later.incident_on).await?
        } else {
            worker::Entity::find_by_id(worker_id).one(txn).await?.ok_or(DbErr::RecordNotFound("demo worker".into()))?
        };
        let coverage_id = coverage_on(txn, worker_id, later.incident_on).await?;
        let (name, relationship) = if later.benefit == Benefit::Death {
            heir(rng, &worker)
        } else {
            (worker.full_name.clone(), Relationship::Other)
        };
        let submitted_at = utc_on(later.incident_on, 10);
        let reached = |step: PayoutStatus| -> bool {
            matches!(
                (step, later.status),
                (PayoutStatus::Verified, PayoutStatus::Verified | PayoutStatus::Approved)
                    | (PayoutStatus::Approved, PayoutStatus::Approved)
            )
        };
        let rejected = later.status == PayoutStatus::Rejected;
        payout::ActiveModel {
            worker_id: Set(worker_id),
            coverage_id: Set(coverage_id),
            regency_code: Set(REGENCY.to_owned()),
            benefit: Set(later.benefit),
            amount: Set(later.amount.or_else(|| jkm_death_amount(later.incident_on)).unwrap_or_default()),
            status: Set(later.status),
            beneficiary_name: Set(name),
            beneficiary_relationship: Set(relationship),
            incident_on: Set(later.incident_on),
            submitted_at: Set(submitted_at),
            submitted_by: Set(operator),
            verified_at: Set(reached(PayoutStatus::Verified).then(|| utc_on(later.incident_on, 15))),
            verified_by: Set(reached(PayoutStatus::Verified).then_some(supervisor)),
            approved_at: Set(reached(PayoutStatus::Approved).then(|| utc_on(later.incident_on, 17))),
            approved_by: Set(reached(PayoutStatus::Approved).then_some(supervisor)),
            rejected_at: Set(rejected.then(|| utc_on(later.incident_on, 16))),
            rejected_by: Set(rejected.then_some(supervisor)),
            rejection_reason: Set(rejected.then(|| {
                "Ahli waris tidak tercantum di Kartu Keluarga; ajukan ulang dengan surat keterangan ahli waris"
                    .to_owned()
            })),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        inserted += 1;
    }
    Ok(inserted)
}

fn worker_id(ids: &[i64], claim: usize) -> Result<i64, DbErr> {
    ids.get(claimant_index(claim)).copied().ok_or(DbErr::RecordNotFound("demo claimant".into()))
}

/// 07:00 UTC (14:00 WIB) `days_after` days after `day`.
fn utc_on(day: NaiveDate, days_after: u64) -> DateTime<Utc> {
    let day = day.checked_add_days(chrono::Days::new(days_after)).unwrap_or(day);
    day.and_hms_opt(7, 0, 0).unwrap_or_default().and_utc()
}

/// The payouts were entered by an operator and checked by a supervisor (four-eyes). Their seed keys
/// are stored revoked, so nobody can use them; they only give the payouts coherent authors.
async fn seed_keys(txn: &DatabaseTransaction) -> Result<(i64, i64), DbErr> {
    let mut ids = vec![];
    for (name, role) in [("demo operator (seed)", "OPERATOR"), ("demo supervisor (seed)", "SUPERVISOR")] {
        let row = api_key::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role.to_owned()),
            scope: Set(Some(REGENCY.to_owned())),
            key_hash: Set(hex::encode(Sha256::digest(format!("revoked demo seed key: {name}")))),
            created_at: Set(ENTERED_AT),
            revoked_at: Set(Some(ENTERED_AT)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        ids.push(row.id);
    }
    Ok((ids[0], ids[1]))
}

/// Marks the worker deceased and ends its 2023 coverage at the death, as recordDeath does.
async fn record_death(txn: &DatabaseTransaction, worker_id: i64, died_on: NaiveDate) -> Result<worker::Model, DbErr> {
    coverage::Entity::update_many()
        .col_expr(coverage::Column::EndsOn, Expr::value(died_on))
        .col_expr(coverage::Column::EndReason, Expr::value(CoverageEndReason::Deceased))
        .filter(coverage::Column::WorkerId.eq(worker_id))
        .filter(coverage::Column::EndsOn.gt(died_on))
        .exec(txn)
        .await?;
    worker::Entity::update_many()
        .col_expr(worker::Column::Status, Expr::value(WorkerStatus::Deceased))
        .col_expr(worker::Column::DiedOn, Expr::value(died_on))
        .filter(worker::Column::Id.eq(worker_id))
        .exec(txn)
        .await?;
    worker::Entity::find_by_id(worker_id).one(txn).await?.ok_or(DbErr::RecordNotFound("demo worker".into()))
}

async fn coverage_on(txn: &DatabaseTransaction, worker_id: i64, day: NaiveDate) -> Result<i64, DbErr> {
    let held = coverage::Entity::find()
        .filter(coverage::Column::WorkerId.eq(worker_id))
        .filter(coverage::Column::StartsOn.lte(day))
        .filter(coverage::Column::EndsOn.gte(day))
        .one(txn)
        .await?;
    held.map(|c| c.id).ok_or(DbErr::RecordNotFound("demo coverage on the incident date".into()))
}

/// An heir in priority order: mostly the spouse, else a child or a parent.
fn heir(rng: &mut SplitMix64, worker: &worker::Model) -> (String, Relationship) {
    let relationship = match rng.below(10) {
        0..=5 => Relationship::Spouse,
        6..=8 => Relationship::Child,
        _ => Relationship::Parent,
    };
    let gender = match (relationship, worker.gender) {
        (Relationship::Spouse, Gender::Male) => Gender::Female,
        (Relationship::Spouse, Gender::Female) => Gender::Male,
        _ if rng.chance(50) => Gender::Female,
        _ => Gender::Male,
    };
    (full_name(rng, gender), relationship)
}
