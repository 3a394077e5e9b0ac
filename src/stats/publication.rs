//! The published figures: what callers outside an area's scope (anonymous dashboards, keys of
//! other regencies) receive. One publication per year covers every area at once, because whether a
//! district's count is withheld depends on its siblings, its parent and its breakdowns
//! (`disclosure`); computing it from every area's summary rows takes one read, so a publication is
//! kept for `refresh` and then recomputed. Exact figures for keys in scope never come from here.
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Iterable, StreamTrait};
use tokio::sync::Mutex;

use super::disclosure::{self, Cell, Tree};
use super::figures::{self, CoverageCounts, FigureGroups, Figures, PayoutCounts, StatsFigure, TargetSums};
use super::tally;
use crate::domain::types::Occupation;
use crate::error::AppResult;
use crate::services::areas::Areas;

/// The default k: no published figure is made of fewer workers or payouts than this.
pub const DEFAULT_MIN_COUNT: i64 = 10;

/// Years kept at once (each is about 4 MB: every area's figures), enough for a trend of a decade.
const KEPT_YEARS: usize = 12;

/// Years read from the database in one statement when several are missing (a trend).
const YEARS_PER_READ: usize = 4;

pub struct Publications {
    /// k: counts from 1 to k - 1 are withheld.
    pub min_count: i64,
    /// How long a publication is served before it is recomputed (0: every request).
    pub refresh: Duration,
    /// Held while a missing year is computed, so a burst of requests computes it once.
    years: Mutex<HashMap<i32, (Instant, Arc<YearPublication>)>>,
    /// The areas in publication order, built on first use (the areas never change while serving).
    hierarchy: OnceLock<Arc<Hierarchy>>,
}

impl Default for Publications {
    fn default() -> Self {
        Publications::new(DEFAULT_MIN_COUNT, Duration::from_secs(30))
    }
}

impl Publications {
    pub fn new(min_count: i64, refresh: Duration) -> Self {
        Publications { min_count: min_count.max(1), refresh, years: Mutex::default(), hierarchy: OnceLock::new() }
    }

    /// The publications of `years` and of the year before the first (for previousYearCovered).
    pub async fn get<C: ConnectionTrait + StreamTrait>(
        &self,
        db: &C,
        areas: &Areas,
        years: RangeInclusive<i32>,
    ) -> AppResult<Published> {
        let hierarchy = self.hierarchy.get_or_init(|| Arc::new(Hierarchy::of(areas))).clone();
        let wanted = (*years.start() - 1)..=*years.end();
        let mut kept = self.years.lock().await;
        let now = Instant::now();
        kept.retain(|_, (at, _)| now.duration_since(*at) < self.refresh);
        let missing: Vec<i32> = wanted.clone().filter(|y| !kept.contains_key(y)).collect();
        let mut fresh = HashMap::new();
        for chunk in missing.chunks(YEARS_PER_READ) {
            let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
            for (year, publication) in compute(db, &hierarchy, first..=last, self.min_count).await? {
                if chunk.contains(&year) {
                    fresh.insert(year, Arc::new(publication));
                }
            }
        }
        let mut published = Published { hierarchy, years: HashMap::new() };
        for year in wanted {
            let publication = match fresh.get(&year) {
                Some(p) => p.clone(),
                None => kept[&year].1.clone(),
            };
            published.years.insert(year, publication);
        }
        if !self.refresh.is_zero() {
            for (year, publication) in fresh {
                if kept.len() >= KEPT_YEARS
                    && let Some(oldest) = kept.iter().min_by_key(|(_, (at, _))| *at).map(|(y, _)| *y)
                {
                    kept.remove(&oldest);
                }
                kept.insert(year, (now, publication));
            }
        }
        Ok(published)
    }
}

/// Every area in a fixed order (nation, provinces, regencies, districts): the tree the
/// suppression works on and each area's summary key.
struct Hierarchy {
    tree: Tree,
    keys: Vec<String>,
    index: HashMap<String, usize>,
}

impl Hierarchy {
    fn of(areas: &Areas) -> Hierarchy {
        let mut tree = Tree::default();
        let mut keys = vec![tally::NATIONAL.to_owned()];
        let nation = tree.add(None, true);
        for province in areas.provinces() {
            let p = tree.add(Some(nation), true);
            keys.push(province.code.clone());
            for regency in areas.regencies(Some(&province.code), None) {
                let r = tree.add(Some(p), false);
                keys.push(regency.code.clone());
                for district in areas.districts_of(regency) {
                    tree.add(Some(r), false);
                    keys.push(district.code.clone());
                }
            }
        }
        let index = keys.iter().enumerate().map(|(i, key)| (key.clone(), i)).collect();
        Hierarchy { tree, keys, index }
    }
}

/// How many occupations there are (checked against the enum by a test).
const OCCUPATIONS: usize = 14;

/// One area's published figures, without heap allocations but for withheld names (rare): a year
/// holds 7,838 of them.
#[derive(Debug, Clone, Default)]
struct AreaFigures {
    coverage: CoverageCounts,
    targets: TargetSums,
    premium_cost: i64,
    payouts: PayoutCounts,
    /// Covered workers per occupation, in the enum's order.
    occupations: [i64; OCCUPATIONS],
    withheld: Vec<StatsFigure>,
}

impl AreaFigures {
    fn from_figures(f: &Figures) -> AreaFigures {
        let mut occupations = [0; OCCUPATIONS];
        for &(occupation, n) in f.by_occupation.iter().flatten() {
            occupations[occupation as usize] = n;
        }
        AreaFigures {
            coverage: f.coverage.unwrap_or_default(),
            targets: f.targets.unwrap_or_default(),
            premium_cost: f.premium_cost.unwrap_or_default(),
            payouts: f.payouts.unwrap_or_default(),
            occupations,
            withheld: Vec::new(),
        }
    }

    fn to_figures(&self) -> Figures {
        let mut by_occupation: Vec<(Occupation, i64)> =
            Occupation::iter().zip(self.occupations).filter(|&(_, n)| n > 0).collect();
        by_occupation.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Figures {
            coverage: Some(self.coverage),
            targets: Some(self.targets),
            premium_cost: Some(self.premium_cost),
            payouts: Some(self.payouts),
            by_occupation: Some(by_occupation),
            withheld: self.withheld.clone(),
        }
    }

    fn is_withheld(&self, figure: StatsFigure) -> bool {
        self.withheld.contains(&figure)
    }
}

/// One year's published figures of every area, in the hierarchy's order.
pub struct YearPublication {
    areas: Vec<AreaFigures>,
}

/// The publications a request needs.
pub struct Published {
    hierarchy: Arc<Hierarchy>,
    years: HashMap<i32, Arc<YearPublication>>,
}

impl Published {
    /// An area's published figures in `year` (zero figures for an area without any).
    pub fn figures(&self, area: &str, year: i32) -> Figures {
        let in_year = |year: i32| {
            let index = *self.hierarchy.index.get(area)?;
            self.years.get(&year).map(|p| &p.areas[index])
        };
        let mut figures = in_year(year).map_or_else(|| AreaFigures::default().to_figures(), AreaFigures::to_figures);
        // previousYearCovered is last year's coveredWorkers, withheld exactly when that one was.
        if in_year(year - 1).is_some_and(|f| f.is_withheld(StatsFigure::CoveredWorkers)) {
            if let Some(c) = figures.coverage.as_mut() {
                c.previous_year_covered = 0;
            }
            withhold(&mut figures.withheld, &[StatsFigure::PreviousYearCovered, StatsFigure::GrowthRate]);
        }
        figures
    }
}

fn withhold(withheld: &mut Vec<StatsFigure>, names: &[StatsFigure]) {
    withheld.extend_from_slice(names);
    withheld.sort();
    withheld.dedup();
}

async fn compute<C: ConnectionTrait + StreamTrait>(
    db: &C,
    hierarchy: &Hierarchy,
    years: RangeInclusive<i32>,
    min_count: i64,
) -> AppResult<Vec<(i32, YearPublication)>> {
    let keys: Vec<&str> = hierarchy.keys.iter().map(String::as_str).collect();
    let mut read = figures::read(db, &keys, years.clone(), FigureGroups::ALL).await?;
    let cells = Cell::count();
    let mut publications = Vec::new();
    for year in years {
        let mut areas: Vec<AreaFigures> = keys
            .iter()
            .map(|&key| read.remove(&(key.to_owned(), year)).map(|f| AreaFigures::from_figures(&f)).unwrap_or_default())
            .collect();
        let mut values = vec![0i64; keys.len() * cells];
        for (area, f) in areas.iter().enumerate() {
            let row = &mut values[area * cells..(area + 1) * cells];
            row[Cell::Covered.index()] = f.coverage.covered;
            row[Cell::NewlyCovered.index()] = f.coverage.newly_covered;
            row[Cell::PayoutsPaid.index()] = f.payouts.paid;
            row[Cell::PayoutsPending.index()] = f.payouts.pending;
            row[Cell::Male.index()] = f.coverage.male;
            row[Cell::Female.index()] = f.coverage.female;
            for (occupation, &n) in Occupation::iter().zip(&f.occupations) {
                row[Cell::Occupation(occupation).index()] = n;
            }
        }
        let withheld = disclosure::withhold(&hierarchy.tree, &values, min_count);
        for (area, f) in areas.iter_mut().enumerate() {
            coarsen(f, &withheld[area * cells..(area + 1) * cells]);
        }
        publications.push((year, YearPublication { areas }));
    }
    Ok(publications)
}

/// Zeroes an area's withheld cells and names what they withhold.
fn coarsen(f: &mut AreaFigures, withheld: &[bool]) {
    let is = |cell: Cell| withheld[cell.index()];
    let mut names = Vec::new();
    // Disclosure withholds every cell of an area whose covered workers it withholds; the figures
    // that are not cells go with them, so that nothing is read beside a withheld count.
    if is(Cell::Covered) {
        (f.coverage.covered, f.coverage.previous_year_covered, f.premium_cost) = (0, 0, 0);
        names.extend([
            StatsFigure::CoveredWorkers,
            StatsFigure::PreviousYearCovered,
            StatsFigure::PremiumCost,
            StatsFigure::GrowthRate,
            StatsFigure::TargetProgress,
            StatsFigure::CoverageRate,
        ]);
    }
    if is(Cell::NewlyCovered) {
        f.coverage.newly_covered = 0;
        names.push(StatsFigure::NewlyCovered);
    }
    for (cell, count) in [(Cell::Male, &mut f.coverage.male), (Cell::Female, &mut f.coverage.female)] {
        if is(cell) {
            *count = 0;
            names.push(StatsFigure::ByGender);
        }
    }
    if is(Cell::PayoutsPaid) {
        (f.payouts.paid, f.payouts.paid_amount) = (0, 0);
        names.extend([StatsFigure::PayoutsPaid, StatsFigure::PayoutsPaidAmount]);
    }
    if is(Cell::PayoutsPending) {
        f.payouts.pending = 0;
        names.push(StatsFigure::PayoutsPending);
    }
    for (occupation, count) in Occupation::iter().zip(f.occupations.iter_mut()) {
        if is(Cell::Occupation(occupation)) {
            *count = 0;
            names.push(StatsFigure::ByOccupation);
        }
    }
    if !names.is_empty() {
        withhold(&mut f.withheld, &names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occupation_has_its_place() {
        assert_eq!(Occupation::iter().count(), OCCUPATIONS);
    }
}
