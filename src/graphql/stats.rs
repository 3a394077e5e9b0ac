//! Coverage statistics: CoverageStats and the statistics queries. Each resolver reads only the
//! figure groups its selection asks for (look-ahead), from the maintained summaries.
use async_graphql::{Context, Lookahead, Object, Result, SimpleObject};

use super::admission::limits::repeated;
use super::scalars::Rupiah;
use super::{caller, state};
use crate::domain::types::{AreaLevel, Gender, Occupation};
use crate::error::AppError;
use crate::services::statistics::{self, AreaStats, CoverageRankField};
use crate::stats::{self, FigureGroups, StatsFigure};

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

/// The figure groups a CoverageStats selection needs.
pub fn selected_groups(selection: &Lookahead<'_>) -> FigureGroups {
    let any = |names: &[&str]| names.iter().any(|name| selection.field(name).exists());
    FigureGroups {
        coverage: any(&[
            "coveredWorkers",
            "newlyCovered",
            "previousYearCovered",
            "growthRate",
            "targetProgress",
            "coverageRate",
            "byGender",
        ]),
        targets: any(&["targetWorkers", "eligibleWorkers", "targetProgress", "coverageRate"]),
        premium: any(&["premiumCost"]),
        payouts: any(&["payoutsPaid", "payoutsPaidAmount", "payoutsPending"]),
        occupations: any(&["byOccupation"]),
    }
}

/// A group the look-ahead did not ask for; never expected, but never a silent zero either.
fn missing() -> AppError {
    AppError::Internal("a figure group was not loaded for this selection".into())
}

/// Coverage of one area in one calendar year. A worker is covered in year Y by a regency when one of its coverage periods with that regency overlaps Y; each worker counts once per area and year.
pub struct CoverageStats(AreaStats);

impl From<AreaStats> for CoverageStats {
    fn from(stats: AreaStats) -> Self {
        CoverageStats(stats)
    }
}

impl CoverageStats {
    fn coverage(&self) -> Result<stats::figures::CoverageCounts, AppError> {
        self.0.figures.coverage.ok_or_else(missing)
    }

    fn targets(&self) -> Result<stats::figures::TargetSums, AppError> {
        self.0.figures.targets.ok_or_else(missing)
    }

    fn payouts(&self) -> Result<stats::figures::PayoutCounts, AppError> {
        self.0.figures.payouts.ok_or_else(missing)
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

    async fn covered_workers(&self) -> Result<i64> {
        Ok(self.coverage()?.covered)
    }

    /// Covered in this year and not covered in the previous year.
    async fn newly_covered(&self) -> Result<i64> {
        Ok(self.coverage()?.newly_covered)
    }

    async fn previous_year_covered(&self) -> Result<i64> {
        Ok(self.coverage()?.previous_year_covered)
    }

    /// (covered - previous) / previous; null when previous is 0.
    async fn growth_rate(&self) -> Result<Option<f64>> {
        self.coverage()?;
        Ok(self.0.figures.growth_rate())
    }

    /// Sum of the targets of the regencies in the area for the year; null when none is set.
    async fn target_workers(&self) -> Result<Option<i64>> {
        Ok(self.targets()?.target_workers)
    }

    /// covered / target; null without a target.
    async fn target_progress(&self) -> Result<Option<f64>> {
        self.coverage()?;
        self.targets()?;
        Ok(self.0.figures.target_progress())
    }

    async fn eligible_workers(&self) -> Result<Option<i64>> {
        Ok(self.targets()?.eligible_workers)
    }

    /// covered / eligible; null without an estimate.
    async fn coverage_rate(&self) -> Result<Option<f64>> {
        self.coverage()?;
        self.targets()?;
        Ok(self.0.figures.coverage_rate())
    }

    /// Premium cost of the year: sum over coverage periods of monthlyPremium x covered months in the year.
    async fn premium_cost(&self) -> Result<Rupiah> {
        Ok(Rupiah(self.0.figures.premium_cost.ok_or_else(missing)?))
    }

    async fn payouts_paid(&self) -> Result<i64> {
        Ok(self.payouts()?.paid)
    }

    async fn payouts_paid_amount(&self) -> Result<Rupiah> {
        Ok(Rupiah(self.payouts()?.paid_amount))
    }

    async fn payouts_pending(&self) -> Result<i64> {
        Ok(self.payouts()?.pending)
    }

    async fn by_occupation(&self) -> Result<Vec<OccupationCount>> {
        let counts = self.0.figures.by_occupation.as_ref().ok_or_else(missing)?;
        Ok(counts
            .iter()
            .map(|&(occupation, covered_workers)| OccupationCount { occupation, covered_workers })
            .collect())
    }

    async fn by_gender(&self) -> Result<Vec<GenderCount>> {
        let counts = self.0.figures.by_gender().ok_or_else(missing)?;
        Ok(counts.into_iter().map(|(gender, covered_workers)| GenderCount { gender, covered_workers }).collect())
    }

    /// Figures withheld from this caller: outside a key's scope (and for anonymous callers) a figure
    /// made of fewer than k workers or payouts (10 by default) is withheld, with as many others as
    /// keep it from being recovered by subtraction; when coveredWorkers is withheld, so is every
    /// other figure of the area. A withheld count or amount reads 0, a withheld rate null, and
    /// withheld cells are left out of byOccupation and byGender.
    async fn withheld(&self) -> &[StatsFigure] {
        &self.0.figures.withheld
    }

    /// The same figures for each area one level down (provinces of the nation, regencies of a province, districts of a regency); empty for DISTRICT.
    #[graphql(complexity = "repeated(crate::services::statistics::CHILDREN_COST, child_complexity)")]
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<CoverageStats>> {
        let groups = selected_groups(&ctx.look_ahead());
        let children =
            statistics::children_stats(state(ctx), caller(ctx), self.0.code.as_deref(), self.0.year, groups).await?;
        Ok(children.into_iter().map(CoverageStats).collect())
    }
}

/// One area's figures for one year, as much of them as the current field selects.
pub async fn area_coverage(ctx: &Context<'_>, area_code: Option<&str>, year: i32) -> Result<CoverageStats> {
    let groups = selected_groups(&ctx.look_ahead());
    Ok(statistics::area_stats(state(ctx), caller(ctx), area_code, year, groups).await?.into())
}

/// A trend, as much of each year's figures as the current field selects.
pub async fn area_trend(
    ctx: &Context<'_>,
    area_code: Option<&str>,
    from_year: i32,
    to_year: i32,
) -> Result<Vec<CoverageStats>> {
    let groups = selected_groups(&ctx.look_ahead());
    let trend = statistics::trend(state(ctx), caller(ctx), area_code, from_year, to_year, groups).await?;
    Ok(trend.into_iter().map(CoverageStats).collect())
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// areaCode: null = national, "36" = province, "36.03" = regency, "36.03.01" = district. Unknown code: NOT_FOUND.
    async fn coverage_stats(&self, ctx: &Context<'_>, area_code: Option<String>, year: i32) -> Result<CoverageStats> {
        area_coverage(ctx, area_code.as_deref(), year).await
    }

    #[graphql(complexity = "repeated(crate::services::statistics::trend_years(from_year, to_year), child_complexity)")]
    async fn coverage_trend(
        &self,
        ctx: &Context<'_>,
        area_code: Option<String>,
        from_year: i32,
        to_year: i32,
    ) -> Result<Vec<CoverageStats>> {
        area_trend(ctx, area_code.as_deref(), from_year, to_year).await
    }

    /// Regencies (of one province, or all) ranked for a year, highest first; first defaults to 10 (at most 514).
    #[graphql(complexity = "repeated(crate::services::statistics::ranking_size(first), child_complexity)")]
    async fn coverage_ranking(
        &self,
        ctx: &Context<'_>,
        province_code: Option<String>,
        year: i32,
        by: CoverageRankField,
        first: Option<i32>,
    ) -> Result<Vec<CoverageStats>> {
        let groups = selected_groups(&ctx.look_ahead());
        let ranked =
            statistics::ranking(state(ctx), caller(ctx), province_code.as_deref(), year, by, first, groups).await?;
        Ok(ranked.into_iter().map(CoverageStats).collect())
    }
}
