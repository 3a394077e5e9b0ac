//! Provinces, regencies and districts (reference data held in memory).
use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::admission::limits::repeated;
use super::inputs::{WorkerFilterInput, WorkerOrderInput};
use super::loaders::{TargetOf, loader};
use super::stats::{CoverageStats, area_coverage, area_trend};
use super::workers::{WorkerConnection, list_workers};
use super::{scalars::Rupiah, state};
use crate::areas;
use crate::domain::types::{FundingSource, RegencyKind};
use crate::entities::coverage_target;
use crate::services;
use crate::services::pagination::PageArgs;
use crate::services::workers::{WorkerFilter, WorkerOrder};

pub struct Province(pub Arc<areas::Province>);
pub struct Regency(pub Arc<areas::Regency>);
pub struct District(pub Arc<areas::District>);

#[Object]
impl Province {
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    #[graphql(complexity = "repeated(crate::areas::LIST_COST, child_complexity)")]
    async fn regencies(&self, ctx: &Context<'_>) -> Vec<Regency> {
        state(ctx).areas.regencies(Some(&self.0.code), None).into_iter().map(|r| Regency(r.clone())).collect()
    }

    async fn coverage(&self, ctx: &Context<'_>, year: i32) -> Result<CoverageStats> {
        area_coverage(ctx, Some(&self.0.code), year).await
    }
}

#[Object]
impl Regency {
    /// "36.03"
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// "Kabupaten Tangerang"
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> RegencyKind {
        self.0.kind
    }

    async fn province(&self, ctx: &Context<'_>) -> Result<Province> {
        let province = state(ctx).areas.province(&self.0.province_code);
        Ok(Province(province.cloned().ok_or("regency without province")?))
    }

    #[graphql(complexity = "repeated(crate::areas::LIST_COST, child_complexity)")]
    async fn districts(&self, ctx: &Context<'_>) -> Vec<District> {
        state(ctx).areas.districts_of(&self.0).map(|d| District(d.clone())).collect()
    }

    async fn target(&self, ctx: &Context<'_>, year: i32) -> Result<Option<CoverageTarget>> {
        let loader = loader(ctx);
        Ok(loader.load_one(TargetOf(self.0.code.clone(), year)).await?.map(CoverageTarget))
    }

    async fn coverage(&self, ctx: &Context<'_>, year: i32) -> Result<CoverageStats> {
        area_coverage(ctx, Some(&self.0.code), year).await
    }

    #[graphql(complexity = "repeated(crate::services::statistics::trend_years(from_year, to_year), child_complexity)")]
    async fn coverage_trend(&self, ctx: &Context<'_>, from_year: i32, to_year: i32) -> Result<Vec<CoverageStats>> {
        area_trend(ctx, Some(&self.0.code), from_year, to_year).await
    }

    /// Workers whose domicile is this regency.
    #[graphql(
        complexity = "crate::services::pagination::QUERY_COST + repeated(crate::services::pagination::page_cost(first, last), child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn workers(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkerFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        order_by: Option<WorkerOrderInput>,
    ) -> Result<WorkerConnection> {
        let filter = WorkerFilter { regency_code: Some(self.0.code.clone()), ..filter.unwrap_or_default().into() };
        let order_by = order_by.map(WorkerOrder::from);
        Ok(list_workers(ctx, filter, PageArgs { first, after, last, before }, order_by).await?)
    }
}

#[Object]
impl District {
    /// "36.03.01"
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn regency(&self, ctx: &Context<'_>) -> Result<Regency> {
        let regency = state(ctx).areas.regency(&self.0.regency_code);
        Ok(Regency(regency.cloned().ok_or("district without regency")?))
    }
}

/// A regency's coverage target for one year.
pub struct CoverageTarget(pub coverage_target::Model);

#[Object]
impl CoverageTarget {
    async fn regency(&self, ctx: &Context<'_>) -> Result<Regency> {
        let regency = state(ctx).areas.regency(&self.0.regency_code);
        Ok(Regency(regency.cloned().ok_or("target without regency")?))
    }

    async fn year(&self) -> i32 {
        self.0.year
    }

    async fn target_workers(&self) -> i64 {
        self.0.target_workers
    }

    /// Estimated vulnerable workers in the regency: the denominator of coverageRate.
    async fn eligible_workers(&self) -> Option<i64> {
        self.0.eligible_workers
    }

    async fn budget(&self) -> Option<Rupiah> {
        self.0.budget.map(Rupiah)
    }

    async fn funding_source(&self) -> Option<FundingSource> {
        self.0.funding_source
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

#[derive(Default)]
pub struct AreaQuery;

#[Object]
impl AreaQuery {
    #[graphql(complexity = "repeated(crate::areas::LIST_COST, child_complexity)")]
    async fn provinces(&self, ctx: &Context<'_>) -> Vec<Province> {
        state(ctx).areas.provinces().iter().map(|p| Province(p.clone())).collect()
    }

    async fn province(&self, ctx: &Context<'_>, code: String) -> Option<Province> {
        state(ctx).areas.province(&code).map(|p| Province(p.clone()))
    }

    async fn regency(&self, ctx: &Context<'_>, code: String) -> Option<Regency> {
        state(ctx).areas.regency(&code).map(|r| Regency(r.clone()))
    }

    /// All 514 at most; filter by province or a case-insensitive name substring. inScope: only
    /// those the request's API key may act for (none for an anonymous caller), as /import offers.
    #[graphql(complexity = "repeated(regencies_cost(province_code.as_deref()), child_complexity)")]
    async fn regencies(
        &self,
        ctx: &Context<'_>,
        province_code: Option<String>,
        search: Option<String>,
        in_scope: Option<bool>,
    ) -> Result<Vec<Regency>> {
        let search = search.map(|s| services::clean_text("search", &s, 100)).transpose()?;
        let found = state(ctx).areas.regencies(province_code.as_deref(), search.as_deref());
        let caller = super::caller(ctx);
        let reached = |code: &str| match (in_scope, caller) {
            (Some(true), Some(actor)) => services::access::reaches(actor, code),
            (Some(true), None) => false,
            _ => true,
        };
        Ok(found.into_iter().filter(|r| reached(&r.code)).map(|r| Regency(r.clone())).collect())
    }
}

/// What the root `regencies` list counts for in the complexity limit: a province's at most, or
/// all 514.
fn regencies_cost(province_code: Option<&str>) -> usize {
    match province_code {
        Some(_) => crate::areas::LIST_COST,
        None => crate::areas::ALL_REGENCIES_COST,
    }
}
