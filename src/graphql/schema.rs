//! Builds the schema from the per-area Query and Mutation objects.
use async_graphql::{EmptySubscription, MergedObject, Schema};

use super::areas::AreaQuery;
use super::coverage::CoverageMutation;
use super::payouts::{PayoutMutation, PayoutQuery};
use super::stats::StatsQuery;
use super::workers::{WorkerMutation, WorkerQuery};
use crate::AppState;

#[derive(MergedObject, Default)]
pub struct Query(AreaQuery, WorkerQuery, StatsQuery, PayoutQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(WorkerMutation, CoverageMutation, PayoutMutation);

pub type JaminanSchema = Schema<Query, Mutation, EmptySubscription>;

/// Depth cap: the deepest legitimate query (stats -> children -> children -> byOccupation, or
/// worker -> coverages -> worker -> regency -> ...) stays well below it.
pub const MAX_DEPTH: usize = 16;

pub fn build(state: AppState) -> JaminanSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).data(state).limit_depth(MAX_DEPTH).finish()
}

/// The SDL clients and the snapshot test compare against.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).finish().sdl()
}
