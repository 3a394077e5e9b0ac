//! `worker` table.
#[allow(unused_imports)]
use crate::domain::types::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "worker")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub nik: String,
    pub full_name: String,
    pub gender: Gender,
    pub birth_date: Date,
    pub occupation: Occupation,
    /// Domicile regency (where the worker lives now), not derived from the NIK.
    pub regency_code: String,
    pub district_code: Option<String>,
    pub status: WorkerStatus,
    pub died_on: Option<Date>,
    pub membership_number: Option<String>,
    pub registered_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
