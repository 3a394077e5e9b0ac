//! `payout` table: one benefit claim and its walk to payment.
use sea_orm::entity::prelude::*;

use crate::domain::types::{Benefit, PayoutStatus, Relationship};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "payout")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub worker_id: i64,
    pub coverage_id: i64,
    /// The coverage's regency: where the payout counts.
    pub regency_code: String,
    pub benefit: Benefit,
    pub amount: i64,
    pub status: PayoutStatus,
    pub beneficiary_name: String,
    pub beneficiary_relationship: Relationship,
    pub incident_on: Date,
    pub submitted_at: DateTimeUtc,
    /// API key ids of who did each step (four-eyes and audit).
    pub submitted_by: i64,
    pub verified_at: Option<DateTimeUtc>,
    pub verified_by: Option<i64>,
    pub approved_at: Option<DateTimeUtc>,
    pub approved_by: Option<i64>,
    pub paid_at: Option<DateTimeUtc>,
    pub paid_by: Option<i64>,
    /// The day the heir was paid; statistics count the payout in its year.
    pub paid_on: Option<Date>,
    pub payment_reference: Option<String>,
    pub rejected_at: Option<DateTimeUtc>,
    pub rejected_by: Option<i64>,
    pub rejection_reason: Option<String>,
    pub idempotency_key: Option<String>,
    /// The people behind the steps four-eyes compares (a token's subject or the key's owner;
    /// None for a key of no one's, whose id is then its person, and for payouts from before).
    pub submitted_by_person: Option<String>,
    pub verified_by_person: Option<String>,
    pub approved_by_person: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The payout as it was when it reached `status`, from the row as it is now, further along its
    /// workflow: the fields of the later steps cleared. Exact because each step only sets its own
    /// fields (see `services::payouts::transition`) and the workflow never goes back. Subscribers receive each step of a
    /// payout that has since moved on.
    pub fn as_of(&self, status: PayoutStatus) -> Model {
        use PayoutStatus::*;
        let mut then = self.clone();
        then.status = status;
        if matches!(status, Submitted) {
            (then.verified_at, then.verified_by, then.verified_by_person) = (None, None, None);
        }
        if matches!(status, Submitted | Verified) {
            (then.approved_at, then.approved_by, then.approved_by_person) = (None, None, None);
        }
        if status != Paid {
            (then.paid_at, then.paid_by, then.paid_on, then.payment_reference) = (None, None, None, None);
        }
        if status != Rejected {
            (then.rejected_at, then.rejected_by, then.rejection_reason) = (None, None, None);
        }
        then
    }
}
