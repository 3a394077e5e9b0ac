//! `coverage` table.
#[allow(unused_imports)]
use crate::domain::types::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "coverage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub worker_id: i64,
    /// The regency whose program pays; statistics count the worker there.
    pub regency_code: String,
    pub funding_source: FundingSource,
    /// Comma-separated program names, e.g. "JKK,JKM" (see domain::coverage_period::Programs).
    pub programs: String,
    pub declared_monthly_income: i64,
    pub monthly_premium: i64,
    pub starts_on: Date,
    /// Inclusive; None = open-ended.
    pub ends_on: Option<Date>,
    pub end_reason: Option<CoverageEndReason>,
    pub created_at: DateTimeUtc,
    /// When the period was cancelled before it started (None: it stands). A cancelled period
    /// stays visible, for auditors, and counts nowhere: figures, premiums, reach, exports.
    pub cancelled_at: Option<DateTimeUtc>,
    /// Why: the operator's words, or the date of death for a period `recordDeath` cancelled.
    pub cancel_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the period was cancelled before it started (and so counts nowhere).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled_at.is_some()
    }

    /// Whether the period covers `day` (both ends inclusive); a cancelled period covers none.
    pub fn includes(&self, day: Date) -> bool {
        !self.is_cancelled() && crate::domain::coverage_period::overlaps(self.starts_on, self.ends_on, day, Some(day))
    }
}
