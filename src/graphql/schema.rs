//! Builds the schema from the per-area Query and Mutation objects.
use async_graphql::{MergedObject, Schema};

use super::areas::AreaQuery;
use super::coverage::CoverageMutation;
use super::imports::ImportMutation;
use super::live::LiveSubscription;
use super::payouts::{PayoutMutation, PayoutQuery};
use super::stats::StatsQuery;
use super::workers::{WorkerMutation, WorkerQuery};
use crate::config::ApiLimits;
use crate::services::AppState;

#[derive(MergedObject, Default)]
pub struct Query(AreaQuery, WorkerQuery, StatsQuery, PayoutQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(WorkerMutation, CoverageMutation, PayoutMutation, ImportMutation);

pub type JaminanSchema = Schema<Query, Mutation, LiveSubscription>;

/// The schema with the request limits (depth, complexity, directives, suggestions); token and
/// alias budgets are checked before execution (`admission`).
pub fn build(state: AppState, limits: &ApiLimits) -> JaminanSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), LiveSubscription)
        .data(state)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives);
    // Resolver spans only where traces are exported: any extension makes every field go
    // through it, which costs where nobody reads the spans.
    if crate::observability::telemetry::exporting() {
        builder = builder.extension(super::spans::ResolverSpans);
    }
    // Introspection off: refused to anonymous callers in `admission` (keyed callers keep it, and
    // GraphiQL with it); no field suggestions in errors for anyone.
    if !limits.introspection {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The SDL clients and the snapshot test compare against.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), LiveSubscription).finish().sdl()
}
