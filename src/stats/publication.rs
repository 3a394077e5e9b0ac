//! The published figures: what callers outside an area's scope (anonymous dashboards, keys of
//! other regencies) receive. One publication per year covers every area at once, because whether a
//! district's count is withheld depends on its siblings, its parent and its breakdowns
//! (`disclosure`); computing it from every area's summary rows takes one read, so a publication is
//! kept for `refresh` and then recomputed. Exact figures for keys in scope never come from here.
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use tokio::sync::Mutex;

use super::disclosure::{self, Cell, Tree};
use super::figures::{self, FigureGroups, Figures, StatsFigure};
use super::tally;
use crate::error::AppResult;
use crate::services::areas::Areas;

/// The default k: no published figure is made of fewer workers or payouts than this.
pub const DEFAULT_MIN_COUNT: i64 = 10;

/// Years kept at once (each is a few MB: every area's figures).
const KEPT_YEARS: usize = 16;

/// Years read from the database in one statement when several are missing (a trend).
const YEARS_PER_READ: i32 = 10;

pub struct Publications {
    /// k: counts from 1 to k - 1 are withheld.
    pub min_count: i64,
    /// How long a publication is served before it is recomputed (0: every request).
    pub refresh: Duration,
    /// Held while a missing year is computed, so a burst of requests computes it once.
    years: Mutex<HashMap<i32, (Instant, Arc<YearPublication>)>>,
}

impl Default for Publications {
    fn default() -> Self {
        Publications::new(DEFAULT_MIN_COUNT, Duration::from_secs(30))
    }
}

impl Publications {
    pub fn new(min_count: i64, refresh: Duration) -> Self {
        Publications { min_count: min_count.max(1), refresh, years: Mutex::default() }
    }

    /// The publications of `years` and of the year before the first (for previousYearCovered).
    pub async fn get<C: ConnectionTrait>(
        &self,
        db: &C,
        areas: &Areas,
        years: RangeInclusive<i32>,
    ) -> AppResult<Published> {
        let wanted = (*years.start() - 1)..=*years.end();
        let mut kept = self.years.lock().await;
        let now = Instant::now();
        kept.retain(|_, (at, _)| now.duration_since(*at) < self.refresh);
        let missing: Vec<i32> = wanted.clone().filter(|y| !kept.contains_key(y)).collect();
        let mut fresh = HashMap::new();
        for chunk in missing.chunks(YEARS_PER_READ as usize) {
            let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
            for (year, publication) in compute(db, areas, first..=last, self.min_count).await? {
                if chunk.contains(&year) {
                    fresh.insert(year, Arc::new(publication));
                }
            }
        }
        let mut published = Published { years: HashMap::new() };
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

/// One year's published figures of every area.
pub struct YearPublication {
    figures: HashMap<String, Figures>,
}

/// The publications a request needs.
pub struct Published {
    years: HashMap<i32, Arc<YearPublication>>,
}

impl Published {
    /// An area's published figures in `year` (zero figures for an area without any).
    pub fn figures(&self, area: &str, year: i32) -> Figures {
        let own = self.years.get(&year).and_then(|p| p.figures.get(area)).cloned();
        let mut figures = own.unwrap_or_else(|| zero_figures(&[]));
        // previousYearCovered is last year's coveredWorkers, withheld exactly when that one was.
        let last_year_withheld = self
            .years
            .get(&(year - 1))
            .and_then(|p| p.figures.get(area))
            .is_some_and(|f| f.is_withheld(StatsFigure::CoveredWorkers));
        if last_year_withheld {
            if let Some(c) = figures.coverage.as_mut() {
                c.previous_year_covered = 0;
            }
            withhold_figures(&mut figures, &[StatsFigure::PreviousYearCovered, StatsFigure::GrowthRate]);
        }
        figures
    }
}

fn zero_figures(withheld: &[StatsFigure]) -> Figures {
    Figures {
        coverage: Some(Default::default()),
        targets: Some(Default::default()),
        premium_cost: Some(0),
        payouts: Some(Default::default()),
        by_occupation: Some(Vec::new()),
        withheld: withheld.to_vec(),
    }
}

fn withhold_figures(figures: &mut Figures, names: &[StatsFigure]) {
    figures.withheld.extend_from_slice(names);
    figures.withheld.sort();
    figures.withheld.dedup();
}

/// Every area in a fixed order (nation, provinces, regencies, districts) with its summary key.
fn hierarchy(areas: &Areas) -> (Tree, Vec<String>) {
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
    (tree, keys)
}

async fn compute<C: ConnectionTrait>(
    db: &C,
    areas: &Areas,
    years: RangeInclusive<i32>,
    min_count: i64,
) -> AppResult<Vec<(i32, YearPublication)>> {
    let (tree, keys) = hierarchy(areas);
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut read = figures::read(db, &key_refs, years.clone(), FigureGroups::ALL).await?;
    let cells = Cell::count();
    let mut publications = Vec::new();
    for year in years {
        let exact: Vec<Figures> =
            keys.iter().map(|key| read.remove(&(key.clone(), year)).unwrap_or_else(|| zero_figures(&[]))).collect();
        let mut values = vec![0i64; keys.len() * cells];
        for (area, f) in exact.iter().enumerate() {
            let row = &mut values[area * cells..(area + 1) * cells];
            let c = f.coverage.unwrap_or_default();
            let p = f.payouts.unwrap_or_default();
            row[Cell::Covered.index()] = c.covered;
            row[Cell::NewlyCovered.index()] = c.newly_covered;
            row[Cell::PayoutsPaid.index()] = p.paid;
            row[Cell::PayoutsPending.index()] = p.pending;
            row[Cell::Male.index()] = c.male;
            row[Cell::Female.index()] = c.female;
            for &(occupation, n) in f.by_occupation.iter().flatten() {
                row[Cell::Occupation(occupation).index()] = n;
            }
        }
        let withheld = disclosure::withhold(&tree, &values, min_count);
        let figures = keys
            .iter()
            .zip(exact)
            .enumerate()
            .map(|(area, (key, f))| (key.clone(), coarsen(f, &withheld[area * cells..(area + 1) * cells])))
            .collect();
        publications.push((year, YearPublication { figures }));
    }
    Ok(publications)
}

/// An area's figures with its withheld cells zeroed (or left out of the breakdowns) and named.
fn coarsen(mut f: Figures, withheld: &[bool]) -> Figures {
    let is = |cell: Cell| withheld[cell.index()];
    let mut names = Vec::new();
    if let Some(c) = f.coverage.as_mut() {
        if is(Cell::Covered) {
            c.covered = 0;
            f.premium_cost = Some(0);
            names.extend([
                StatsFigure::CoveredWorkers,
                StatsFigure::PremiumCost,
                StatsFigure::GrowthRate,
                StatsFigure::TargetProgress,
                StatsFigure::CoverageRate,
            ]);
        }
        if is(Cell::NewlyCovered) {
            c.newly_covered = 0;
            names.push(StatsFigure::NewlyCovered);
        }
        if is(Cell::Male) {
            c.male = 0;
            names.push(StatsFigure::ByGender);
        }
        if is(Cell::Female) {
            c.female = 0;
            names.push(StatsFigure::ByGender);
        }
    }
    if let Some(p) = f.payouts.as_mut() {
        if is(Cell::PayoutsPaid) {
            (p.paid, p.paid_amount) = (0, 0);
            names.extend([StatsFigure::PayoutsPaid, StatsFigure::PayoutsPaidAmount]);
        }
        if is(Cell::PayoutsPending) {
            p.pending = 0;
            names.push(StatsFigure::PayoutsPending);
        }
    }
    if let Some(cells) = f.by_occupation.as_mut() {
        let before = cells.len();
        cells.retain(|&(occupation, _)| !is(Cell::Occupation(occupation)));
        if cells.len() < before {
            names.push(StatsFigure::ByOccupation);
        }
    }
    withhold_figures(&mut f, &names);
    f
}
