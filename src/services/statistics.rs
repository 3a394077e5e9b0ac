//! Coverage statistics as callers read them: exact figures within a key's scope, the publication
//! (small counts withheld) outside it, for an area, its children, a trend and a ranking.
use std::collections::HashMap;
use std::ops::RangeInclusive;

use async_graphql::Enum;

use super::access;
use super::check_year;
use super::publishing;
use crate::areas::Area;
use crate::auth::Caller;
use crate::domain::types::AreaLevel;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::services::AppState;
use crate::stats::{FigureGroups, Figures, figures, tally};

/// One area's figures for one year.
#[derive(Debug, Clone)]
pub struct AreaStats {
    pub level: AreaLevel,
    pub code: Option<String>,
    pub name: String,
    pub year: i32,
    pub figures: Figures,
}

impl AreaStats {
    fn new(area: &Area<'_>, year: i32, figures: Figures) -> Self {
        AreaStats {
            level: area.level(),
            code: area.code().map(str::to_owned),
            name: area.name().to_owned(),
            year,
            figures,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CoverageRankField {
    CoveredWorkers,
    CoverageRate,
    TargetProgress,
    GrowthRate,
}

impl CoverageRankField {
    /// The figure groups the ranking figure needs.
    fn groups(self) -> FigureGroups {
        let targets = matches!(self, CoverageRankField::CoverageRate | CoverageRankField::TargetProgress);
        FigureGroups { coverage: true, targets, ..FigureGroups::default() }
    }
}

/// The most years one trend request may span.
pub const MAX_TREND_YEARS: i32 = 50;

/// Complexity weights (see `ApiLimits::max_complexity`): how many entries a field can return.
pub const CHILDREN_COST: usize = 40;

pub fn trend_years(from_year: i32, to_year: i32) -> usize {
    (to_year.saturating_sub(from_year).saturating_add(1)).clamp(1, MAX_TREND_YEARS) as usize
}

pub fn ranking_size(first: Option<i32>) -> usize {
    first.map_or(10, |n| n.clamp(1, 514)) as usize
}

/// The key of an area in the summaries ("" for the nation).
fn key<'a>(area: &'a Area<'_>) -> &'a str {
    area.code().unwrap_or(tally::NATIONAL)
}

/// Whether the caller receives the exact figures of an area: keys whose scope contains it. Everyone
/// else receives the publication, where small counts are withheld (`disclosure`).
fn sees_exact(caller: &Caller, area: &Area<'_>) -> bool {
    let Some(actor) = caller else { return false };
    match (access::scope_of(actor), area.code()) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(_), Some(code)) => access::reaches(actor, code),
    }
}

/// Whether the caller receives the exact figures of the area with this code (None = the nation).
pub fn sees_exact_code(state: &AppState, caller: &Caller, area_code: Option<&str>) -> AppResult<bool> {
    Ok(sees_exact(caller, &state.areas.area(area_code)?))
}

/// The figures of `areas` in `years` as this caller may see them: exact from the summaries for the
/// areas in its scope, from the publication for the others.
async fn figures_for(
    state: &AppState,
    caller: &Caller,
    areas: &[Area<'_>],
    years: RangeInclusive<i32>,
    groups: FigureGroups,
) -> AppResult<HashMap<(String, i32), Figures>> {
    let (exact, published): (Vec<&Area<'_>>, Vec<&Area<'_>>) = areas.iter().partition(|a| sees_exact(caller, a));
    let mut figures = exact_figures(state, &exact, years.clone(), groups).await?;
    figures.extend(published_figures(state, &published, years, groups).await?);
    Ok(figures)
}

async fn exact_figures(
    state: &AppState,
    areas: &[&Area<'_>],
    years: RangeInclusive<i32>,
    groups: FigureGroups,
) -> AppResult<HashMap<(String, i32), Figures>> {
    let keys: Vec<&str> = areas.iter().map(|a| key(a)).collect();
    Ok(figures::read(&state.db, &keys, years, groups).await?)
}

async fn published_figures(
    state: &AppState,
    areas: &[&Area<'_>],
    years: RangeInclusive<i32>,
    groups: FigureGroups,
) -> AppResult<HashMap<(String, i32), Figures>> {
    let mut figures = HashMap::new();
    // Names alone need no figures.
    if areas.is_empty() || groups == FigureGroups::default() {
        for area in areas {
            for year in years.clone() {
                figures.insert((key(area).to_owned(), year), Figures::default());
            }
        }
        return Ok(figures);
    }
    publishing::start_refresher(state).await;
    let changes = state.live.figure_changes();
    let publication = state.publications.get(&state.db, &state.areas, years.clone(), changes).await?;
    for area in areas {
        for year in years.clone() {
            figures.insert((key(area).to_owned(), year), publication.figures(key(area), year));
        }
    }
    Ok(figures)
}

/// An area's figures in `year` for a class of callers rather than one caller: exact (keys whose
/// scope holds it) or published (everyone else). What a subscription feed reads once for all of
/// its subscribers; each subscriber's access was checked when it subscribed.
pub async fn area_stats_for_class(
    state: &AppState,
    area_code: Option<&str>,
    year: i32,
    groups: FigureGroups,
    exact: bool,
) -> AppResult<AreaStats> {
    let area = state.areas.area(area_code)?;
    let areas = [&area];
    let mut figures = if exact {
        exact_figures(state, &areas, year..=year, groups).await?
    } else {
        published_figures(state, &areas, year..=year, groups).await?
    };
    let own = figures.remove(&(key(&area).to_owned(), year)).unwrap_or_default();
    Ok(AreaStats::new(&area, year, own))
}

pub async fn area_stats(
    state: &AppState,
    caller: &Caller,
    area_code: Option<&str>,
    year: i32,
    groups: FigureGroups,
) -> AppResult<AreaStats> {
    let year = check_year("year", year)?;
    let area = state.areas.area(area_code)?;
    let mut figures = figures_for(state, caller, &[area], year..=year, groups).await?;
    let own = figures.remove(&(key(&area).to_owned(), year)).unwrap_or_default();
    Ok(AreaStats::new(&area, year, own))
}

/// The same figures for each area one level down, in one statement per table; empty for a district.
pub async fn children_stats(
    state: &AppState,
    caller: &Caller,
    area_code: Option<&str>,
    year: i32,
    groups: FigureGroups,
) -> AppResult<Vec<AreaStats>> {
    let year = check_year("year", year)?;
    let area = state.areas.area(area_code)?;
    let children = state.areas.children(&area);
    let mut figures = figures_for(state, caller, &children, year..=year, groups).await?;
    Ok(children
        .iter()
        .map(|child| AreaStats::new(child, year, figures.remove(&(key(child).to_owned(), year)).unwrap_or_default()))
        .collect())
}

/// Every year of the span, from one read of the area's rows.
pub async fn trend(
    state: &AppState,
    caller: &Caller,
    area_code: Option<&str>,
    from_year: i32,
    to_year: i32,
    groups: FigureGroups,
) -> AppResult<Vec<AreaStats>> {
    check_year("fromYear", from_year)?;
    check_year("toYear", to_year)?;
    if to_year < from_year {
        return Err(AppError::bad_input("toYear", Msg::ToYearBeforeFromYear));
    }
    if to_year - from_year >= MAX_TREND_YEARS {
        return Err(AppError::bad_input("toYear", Msg::TrendTooLong { max: MAX_TREND_YEARS }));
    }
    let area = state.areas.area(area_code)?;
    let mut figures = figures_for(state, caller, &[area], from_year..=to_year, groups).await?;
    Ok((from_year..=to_year)
        .map(|year| AreaStats::new(&area, year, figures.remove(&(key(&area).to_owned(), year)).unwrap_or_default()))
        .collect())
}

/// Regencies of one province (or all) ranked by a figure, highest first; regencies without the
/// figure (no target, no estimate, no previous year) come last, then by code.
pub async fn ranking(
    state: &AppState,
    caller: &Caller,
    province_code: Option<&str>,
    year: i32,
    by: CoverageRankField,
    first: Option<i32>,
    groups: FigureGroups,
) -> AppResult<Vec<AreaStats>> {
    let year = check_year("year", year)?;
    let limit = match first {
        None => 10,
        Some(n) if (1..=514).contains(&n) => n as usize,
        Some(_) => return Err(AppError::bad_input("first", Msg::FirstBetween { max: 514 })),
    };
    if let Some(code) = province_code
        && state.areas.province(code).is_none()
    {
        return Err(AppError::NotFound(Msg::NoProvince { code: shorten(code) }));
    }
    let regencies: Vec<Area<'_>> =
        state.areas.regencies(province_code, None).into_iter().map(|r| Area::Regency(r)).collect();
    let groups = union(groups, by.groups());
    let mut figures = figures_for(state, caller, &regencies, year..=year, groups).await?;
    let mut ranked: Vec<AreaStats> = regencies
        .iter()
        .map(|r| AreaStats::new(r, year, figures.remove(&(key(r).to_owned(), year)).unwrap_or_default()))
        .collect();
    // A withheld figure ranks like a missing one: its place would tell its size.
    let score = |s: &AreaStats| match by {
        CoverageRankField::CoveredWorkers => s.figures.covered().map(|c| c as f64),
        CoverageRankField::CoverageRate => s.figures.coverage_rate(),
        CoverageRankField::TargetProgress => s.figures.target_progress(),
        CoverageRankField::GrowthRate => s.figures.growth_rate(),
    };
    ranked.sort_by(|a, b| {
        let order = match (score(a), score(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        order.then_with(|| a.code.cmp(&b.code))
    });
    ranked.truncate(limit);
    Ok(ranked)
}

fn union(a: FigureGroups, b: FigureGroups) -> FigureGroups {
    FigureGroups {
        coverage: a.coverage || b.coverage,
        targets: a.targets || b.targets,
        premium: a.premium || b.premium,
        payouts: a.payouts || b.payouts,
        occupations: a.occupations || b.occupations,
    }
}

/// Codes echoed in messages are cut short: a megabyte of input is not repeated back.
fn shorten(code: &str) -> String {
    code.chars().take(16).collect()
}
