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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
