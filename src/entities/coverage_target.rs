//! `coverage_target` table.
#[allow(unused_imports)]
use crate::domain::types::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "coverage_target")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub regency_code: String,
    pub year: i32,
    pub target_workers: i64,
    pub eligible_workers: Option<i64>,
    pub budget: Option<i64>,
    pub funding_source: Option<FundingSource>,
    pub note: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
