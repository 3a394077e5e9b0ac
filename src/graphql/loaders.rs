//! Batched loading of relations: one `IN (...)` query per relation and request, whatever the
//! number of parents. Areas need none: they are held in memory.
//!
//! The DataLoader alone batches what its 1 ms window collects, and a busy server polling a page of
//! 100 rows can take longer than that, splitting one relation into many queries. So lists prime
//! their rows' relations at once (`prime_workers`, `prime_payouts`) when the query selects them,
//! and the per-row resolvers find them in the request's cache.
use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Lookahead};

use crate::auth::Caller;
use crate::entities::{coverage, coverage_target, payout, worker};
use crate::error::AppError;
use crate::services;
use crate::services::AppState;
use crate::services::workers::{Include, WorkerWith};

/// One per request (http.rs). Its cache is off for mutations, so that a later mutation of the
/// same document never reads rows cached before an earlier one changed them.
pub type RequestLoader = DataLoader<Loaders, HashMapCache>;

pub fn loader<'a>(ctx: &Context<'a>) -> &'a RequestLoader {
    ctx.data_unchecked::<RequestLoader>()
}

/// The relations a worker's selection reads, to fetch with the worker in one statement.
pub fn include_of(selection: &Lookahead<'_>) -> Include {
    Include {
        coverages: selection.field("coverages").exists() || selection.field("coveredOn").exists(),
        payouts: selection.field("payouts").exists(),
    }
}

/// For a list of workers: puts the workers in the request's cache (for their coverages' and
/// payouts' `worker`), loads the relations `selection` (one worker's selection set) asks for that
/// were not read with the workers, and primes the payouts' own relations.
pub async fn prime_workers(
    ctx: &Context<'_>,
    selection: Lookahead<'_>,
    workers: &[&WorkerWith],
) -> Result<(), AppError> {
    let loader = loader(ctx);
    loader.feed_many(workers.iter().map(|w| (WorkerId(w.worker.id), w.worker.clone()))).await;
    let needs = include_of(&selection);
    if needs.coverages {
        let missing = workers.iter().filter(|w| w.coverages.is_none());
        loader.load_many(missing.map(|w| CoveragesOf(w.worker.id))).await?;
    }
    let payouts = selection.field("payouts");
    if payouts.exists() {
        let missing = workers.iter().filter(|w| w.payouts.is_none());
        let loaded = loader.load_many(missing.map(|w| PayoutsOf(w.worker.id))).await?;
        let read_with = workers.iter().filter_map(|w| w.payouts.as_ref()).flatten();
        let rows: Vec<&payout::Model> = loaded.values().flatten().chain(read_with).collect();
        prime_payouts(ctx, payouts, &rows).await?;
    }
    Ok(())
}

/// Loads, for a whole list of payouts, the worker and coverage `selection` asks for.
pub async fn prime_payouts(
    ctx: &Context<'_>,
    selection: Lookahead<'_>,
    payouts: &[&payout::Model],
) -> Result<(), AppError> {
    let loader = loader(ctx);
    if selection.field("worker").exists() {
        loader.load_many(payouts.iter().map(|p| WorkerId(p.worker_id))).await?;
    }
    if selection.field("coverage").exists() {
        loader.load_many(payouts.iter().map(|p| CoverageId(p.coverage_id))).await?;
    }
    Ok(())
}

/// Relations of rows the request may already see, so only the payouts of a worker (which may
/// count in another regency than the one that makes the worker visible) are scoped by `caller`.
pub struct Loaders {
    state: AppState,
    caller: Caller,
}

impl Loaders {
    pub fn new(state: AppState, caller: Caller) -> Self {
        Loaders { state, caller }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerId(pub i64);

/// The coverage periods of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoveragesOf(pub i64);

/// The payouts of one worker that the request's caller may see.
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
        for row in services::payouts::of_workers(&self.state, &self.caller, &ids).await? {
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
