//! Coverage statistics: CoverageStats and the statistics queries.
use async_graphql::{Context, Object, Result, SimpleObject};

use super::limits::repeated;
use super::scalars::Rupiah;
use super::state;
use crate::domain::types::{AreaLevel, Gender, Occupation};
use crate::services::stats::{self, AreaStats, CoverageRankField};

#[derive(SimpleObject)]
pub struct OccupationCount {
    occupation: Occupation,
    covered_workers: i64,
}

#[derive(SimpleObject)]
pub struct GenderCount {
    gender: Gender,
    covered_workers: i64,
}

/// Coverage of one area in one calendar year. A worker is covered in year Y by a regency when one of its coverage periods with that regency overlaps Y; each worker counts once per area and year.
pub struct CoverageStats(AreaStats);

impl From<AreaStats> for CoverageStats {
    fn from(stats: AreaStats) -> Self {
        CoverageStats(stats)
    }
}

#[Object]
impl CoverageStats {
    async fn level(&self) -> AreaLevel {
        self.0.level
    }

    /// null for NATIONAL.
    async fn area_code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    async fn area_name(&self) -> &str {
        &self.0.name
    }

    async fn year(&self) -> i32 {
        self.0.year
    }

    async fn covered_workers(&self) -> i64 {
        self.0.figures.covered
    }

    /// Covered in this year and not covered in the previous year.
    async fn newly_covered(&self) -> i64 {
        self.0.figures.newly_covered
    }

    async fn previous_year_covered(&self) -> i64 {
        self.0.figures.previous_year_covered
    }

    /// (covered - previous) / previous; null when previous is 0.
    async fn growth_rate(&self) -> Option<f64> {
        self.0.figures.growth_rate()
    }

    /// Sum of the targets of the regencies in the area for the year; null when none is set.
    async fn target_workers(&self) -> Option<i64> {
        self.0.figures.target_workers
    }

    /// covered / target; null without a target.
    async fn target_progress(&self) -> Option<f64> {
        self.0.figures.target_progress()
    }

    async fn eligible_workers(&self) -> Option<i64> {
        self.0.figures.eligible_workers
    }

    /// covered / eligible; null without an estimate.
    async fn coverage_rate(&self) -> Option<f64> {
        self.0.figures.coverage_rate()
    }

    /// Premium cost of the year: sum over coverage periods of monthlyPremium x covered months in the year.
    async fn premium_cost(&self) -> Rupiah {
        Rupiah(self.0.figures.premium_cost)
    }

    async fn payouts_paid(&self) -> i64 {
        self.0.figures.payouts_paid
    }

    async fn payouts_paid_amount(&self) -> Rupiah {
        Rupiah(self.0.figures.payouts_paid_amount)
    }

    async fn payouts_pending(&self) -> i64 {
        self.0.figures.payouts_pending
    }

    async fn by_occupation(&self) -> Vec<OccupationCount> {
        let counts = &self.0.figures.by_occupation;
        counts.iter().map(|&(occupation, covered_workers)| OccupationCount { occupation, covered_workers }).collect()
    }

    async fn by_gender(&self) -> Vec<GenderCount> {
        let counts = &self.0.figures.by_gender;
        counts.iter().map(|&(gender, covered_workers)| GenderCount { gender, covered_workers }).collect()
    }

    /// The same figures for each area one level down (provinces of the nation, regencies of a province, districts of a regency); empty for DISTRICT.
    #[graphql(complexity = "repeated(crate::services::stats::CHILDREN_COST, child_complexity)")]
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<CoverageStats>> {
        let children = stats::children_stats(state(ctx), self.0.code.as_deref(), self.0.year).await?;
        Ok(children.into_iter().map(CoverageStats).collect())
    }
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// areaCode: null = national, "36" = province, "36.03" = regency, "36.03.01" = district. Unknown code: NOT_FOUND.
    async fn coverage_stats(&self, ctx: &Context<'_>, area_code: Option<String>, year: i32) -> Result<CoverageStats> {
        Ok(stats::area_stats(state(ctx), area_code.as_deref(), year).await?.into())
    }

    #[graphql(complexity = "repeated(crate::services::stats::trend_years(from_year, to_year), child_complexity)")]
    async fn coverage_trend(
        &self,
        ctx: &Context<'_>,
        area_code: Option<String>,
        from_year: i32,
        to_year: i32,
    ) -> Result<Vec<CoverageStats>> {
        let trend = stats::trend(state(ctx), area_code.as_deref(), from_year, to_year).await?;
        Ok(trend.into_iter().map(CoverageStats).collect())
    }

    /// Regencies (of one province, or all) ranked for a year, highest first; first defaults to 10 (at most 514).
    #[graphql(complexity = "repeated(crate::services::stats::ranking_size(first), child_complexity)")]
    async fn coverage_ranking(
        &self,
        ctx: &Context<'_>,
        province_code: Option<String>,
        year: i32,
        by: CoverageRankField,
        first: Option<i32>,
    ) -> Result<Vec<CoverageStats>> {
        let ranked = stats::ranking(state(ctx), province_code.as_deref(), year, by, first).await?;
        Ok(ranked.into_iter().map(CoverageStats).collect())
    }
}
