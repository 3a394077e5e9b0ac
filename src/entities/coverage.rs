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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the period covers `day` (both ends inclusive).
    pub fn includes(&self, day: Date) -> bool {
        crate::domain::coverage_period::overlaps(self.starts_on, self.ends_on, day, Some(day))
    }
}
