//! Batched loading of relations: one `IN (...)` query per relation and request, whatever the
//! number of parents. Areas need none: they are held in memory.
use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::AppState;
use crate::entities::{coverage, coverage_target, payout, worker};
use crate::error::AppError;
use crate::services;

pub struct Loaders {
    state: AppState,
}

impl Loaders {
    pub fn new(state: AppState) -> Self {
        Loaders { state }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerId(pub i64);

/// The coverage periods of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoveragesOf(pub i64);

/// The payouts of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayoutsOf(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoverageId(pub i64);

/// The target of one regency for one year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetOf(pub String, pub i32);

impl Loader<WorkerId> for Loaders {
    type Value = worker::Model;
    type Error = AppError;

    async fn load(&self, keys: &[WorkerId]) -> Result<HashMap<WorkerId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = services::workers::get_many(&self.state, &ids).await?;
        Ok(rows.into_iter().map(|w| (WorkerId(w.id), w)).collect())
    }
}

impl Loader<CoveragesOf> for Loaders {
    type Value = Vec<coverage::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[CoveragesOf]) -> Result<HashMap<CoveragesOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut grouped: HashMap<CoveragesOf, Vec<coverage::Model>> = keys.iter().map(|k| (*k, vec![])).collect();
        for row in services::coverage::of_workers(&self.state, &ids).await? {
            grouped.entry(CoveragesOf(row.worker_id)).or_default().push(row);
        }
        Ok(grouped)
    }
}

impl Loader<TargetOf> for Loaders {
    type Value = coverage_target::Model;
    type Error = AppError;

    async fn load(&self, keys: &[TargetOf]) -> Result<HashMap<TargetOf, Self::Value>, Self::Error> {
        let pairs: Vec<(String, i32)> = keys.iter().map(|k| (k.0.clone(), k.1)).collect();
        let rows = services::targets::get_many(&self.state, &pairs).await?;
        Ok(rows.into_iter().map(|t| (TargetOf(t.regency_code.clone(), t.year), t)).collect())
    }
}

impl Loader<PayoutsOf> for Loaders {
    type Value = Vec<payout::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[PayoutsOf]) -> Result<HashMap<PayoutsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut grouped: HashMap<PayoutsOf, Vec<payout::Model>> = keys.iter().map(|k| (*k, vec![])).collect();
        for row in services::payouts::of_workers(&self.state, &ids).await? {
            grouped.entry(PayoutsOf(row.worker_id)).or_default().push(row);
        }
        Ok(grouped)
    }
}

impl Loader<CoverageId> for Loaders {
    type Value = coverage::Model;
    type Error = AppError;

    async fn load(&self, keys: &[CoverageId]) -> Result<HashMap<CoverageId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = services::coverage::get_many(&self.state, &ids).await?;
        Ok(rows.into_iter().map(|c| (CoverageId(c.id), c)).collect())
    }
}
