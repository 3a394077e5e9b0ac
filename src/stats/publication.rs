//! The published figures: what callers outside an area's scope (anonymous dashboards, keys of
//! other regencies) receive. One publication per year covers every area at once, because whether a
//! district's count is withheld depends on its siblings, its parent and its breakdowns
//! (`disclosure`); computing it from every area's summary rows takes one read (0.2-0.5 s at 10
//! million workers).
//!
//! Readers never wait for a recomputation of a year that is kept: they take the publication in
//! place. A year is computed on a read only when none is kept (once, for every reader asking at
//! that moment); afterwards the server's refresher (`services::publishing`) recomputes the years
//! that changes touched and swaps them in (`refresh_years`), telling subscribers (`swaps`). With
//! a refresh of 0 nothing is recomputed in the background: a read recomputes the publication when
//! a change was committed since it was computed. Exact figures for keys in scope never come from
//! here.
use crate::config::DEFAULT_MIN_COUNT;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Iterable, StreamTrait};
use tokio::sync::{Mutex, broadcast};

use super::disclosure::{self, Cell, Tree};
use super::figures::{self, CoverageCounts, FigureGroups, Figures, PayoutCounts, StatsFigure, TargetSums};
use super::tally;
use crate::areas::Areas;
use crate::domain::types::Occupation;
use crate::error::{AppError, AppResult};

/// Years kept at once (each is about 4 MB: every area's figures), enough for a trend of a decade.
const KEPT_YEARS: usize = 12;

/// Years read from the database in one statement when several are missing (a trend).
const YEARS_PER_READ: usize = 4;

/// Swaps a subscriber may fall behind (it then reads anyway).
const SWAP_BACKLOG: usize = 64;

/// One year's publication in place.
struct Kept {
    publication: Arc<YearPublication>,
    computed_at: Instant,
    /// The hub's count of figure changes when it was computed (`Live::figure_changes`).
    changes: Option<u64>,
}

pub struct Publications {
    /// k: counts from 1 to k - 1 are withheld.
    pub min_count: i64,
    /// The longest a publication is served without a recomputation when no change notification
    /// arrives (0: recomputed on the first read after each change, and never in the background).
    pub refresh: Duration,
    /// The publications in place. The lock is held only to look up or replace an `Arc`, never
    /// while computing: readers do not wait for a recomputation.
    years: RwLock<HashMap<i32, Kept>>,
    /// Held while publications are computed: at most one computation at a time, and a burst of
    /// readers of a missing year computes it once.
    computing: Mutex<()>,
    /// The years whose new publication was just swapped in.
    swapped: broadcast::Sender<i32>,
    /// Whether a refresher has been started for these publications.
    refresher: AtomicBool,
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
        Publications {
            min_count: min_count.max(1),
            refresh,
            years: RwLock::default(),
            computing: Mutex::default(),
            swapped: broadcast::channel(SWAP_BACKLOG).0,
            refresher: AtomicBool::new(false),
            hierarchy: OnceLock::new(),
        }
    }

    /// The publications of `years` and of the year before the first (for previousYearCovered).
    /// `changes` is the hub's count of figure changes now (`Live::figure_changes`): with a refresh
    /// of 0 a publication computed before the last change is computed again.
    pub async fn get<C: ConnectionTrait + StreamTrait>(
        &self,
        db: &C,
        areas: &Areas,
        years: RangeInclusive<i32>,
        changes: Option<u64>,
    ) -> AppResult<Published> {
        let hierarchy = self.hierarchy(areas);
        let wanted: Vec<i32> = ((*years.start() - 1)..=*years.end()).collect();
        if let Some(published) = self.in_place(&hierarchy, &wanted, changes) {
            return Ok(published);
        }
        let _computing = self.computing.lock().await;
        // Another reader may have computed them meanwhile.
        let missing: Vec<i32> = {
            let kept = self.kept();
            wanted.iter().copied().filter(|y| !kept.get(y).is_some_and(|k| self.current(k, changes))).collect()
        };
        let mut fresh = HashMap::new();
        for chunk in missing.chunks(YEARS_PER_READ) {
            let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
            for (year, publication) in compute(db, &hierarchy, first..=last, self.min_count).await? {
                if chunk.contains(&year) {
                    fresh.insert(year, Arc::new(publication));
                }
            }
        }
        let mut published = Published { hierarchy, years: fresh.clone() };
        let mut kept = self.years.write().unwrap_or_else(PoisonError::into_inner);
        for year in wanted {
            if let Some(k) = kept.get(&year).filter(|_| !published.years.contains_key(&year)) {
                published.years.insert(year, k.publication.clone());
            }
        }
        if !self.refresh.is_zero() || changes.is_some() {
            for (year, publication) in fresh {
                keep(&mut kept, year, Kept { publication, computed_at: Instant::now(), changes });
            }
        }
        Ok(published)
    }

    /// The wanted years if every one is in place (and, with a refresh of 0, current).
    fn in_place(&self, hierarchy: &Arc<Hierarchy>, wanted: &[i32], changes: Option<u64>) -> Option<Published> {
        let kept = self.kept();
        let years = wanted
            .iter()
            .map(|y| kept.get(y).filter(|k| self.current(k, changes)).map(|k| (*y, k.publication.clone())))
            .collect::<Option<HashMap<_, _>>>()?;
        Some(Published { hierarchy: hierarchy.clone(), years })
    }

    /// Whether a kept publication may be served: always with a refresh (the refresher replaces
    /// it), and with a refresh of 0 while no change came after it.
    fn current(&self, kept: &Kept, changes: Option<u64>) -> bool {
        !self.refresh.is_zero() || (changes.is_some() && kept.changes == changes)
    }

    fn kept(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i32, Kept>> {
        self.years.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn hierarchy(&self, areas: &Areas) -> Arc<Hierarchy> {
        self.hierarchy.get_or_init(|| Arc::new(Hierarchy::of(areas))).clone()
    }

    /// Recomputes those of `years` that are kept (the others are computed when read) and swaps
    /// them in, then tells `swaps`' receivers; readers go on reading the old ones meanwhile.
    pub async fn refresh_years<C: ConnectionTrait + StreamTrait>(
        &self,
        db: &C,
        areas: &Areas,
        years: &[i32],
    ) -> AppResult<Vec<i32>> {
        let hierarchy = self.hierarchy(areas);
        let _computing = self.computing.lock().await;
        let mut kept_years: Vec<i32> = {
            let kept = self.kept();
            years.iter().copied().filter(|y| kept.contains_key(y)).collect()
        };
        kept_years.sort_unstable();
        kept_years.dedup();
        let mut swapped = Vec::new();
        // Years next to each other in one read, as a trend's.
        for run in kept_years.chunk_by(|a, b| b - a == 1) {
            for chunk in run.chunks(YEARS_PER_READ) {
                let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
                let computed = compute(db, &hierarchy, first..=last, self.min_count).await?;
                let mut kept = self.years.write().unwrap_or_else(PoisonError::into_inner);
                for (year, publication) in computed {
                    let publication = Arc::new(publication);
                    keep(&mut kept, year, Kept { publication, computed_at: Instant::now(), changes: None });
                    swapped.push(year);
                }
            }
        }
        metrics::counter!("jaminan_publication_refreshes_total").increment(swapped.len() as u64);
        for &year in &swapped {
            // No subscriber is not an error.
            let _ = self.swapped.send(year);
        }
        Ok(swapped)
    }

    /// The kept years computed longer than `refresh` ago (the refresher's fallback).
    pub fn expired_years(&self) -> Vec<i32> {
        let kept = self.kept();
        kept.iter().filter(|(_, k)| k.computed_at.elapsed() >= self.refresh).map(|(y, _)| *y).collect()
    }

    /// Every kept year (what a lost notification may have left stale).
    pub fn kept_years(&self) -> Vec<i32> {
        self.kept().keys().copied().collect()
    }

    /// The years of every publication swapped in from now on.
    pub fn swaps(&self) -> broadcast::Receiver<i32> {
        self.swapped.subscribe()
    }

    pub fn has_refresher(&self) -> bool {
        self.refresher.load(Ordering::SeqCst)
    }

    /// True for the first caller only: whoever starts the refresher of these publications.
    pub fn claim_refresher(&self) -> bool {
        !self.refresher.swap(true, Ordering::SeqCst)
    }
}

/// Keeps a year's publication, making room by dropping the one computed longest ago.
fn keep(kept: &mut HashMap<i32, Kept>, year: i32, publication: Kept) {
    if !kept.contains_key(&year)
        && kept.len() >= KEPT_YEARS
        && let Some(oldest) = kept.iter().min_by_key(|(_, k)| k.computed_at).map(|(y, _)| *y)
    {
        kept.remove(&oldest);
    }
    kept.insert(year, publication);
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
    hierarchy: &Arc<Hierarchy>,
    years: RangeInclusive<i32>,
    min_count: i64,
) -> AppResult<Vec<(i32, YearPublication)>> {
    let keys: Vec<&str> = hierarchy.keys.iter().map(String::as_str).collect();
    let mut read = figures::read(db, &keys, years.clone(), FigureGroups::ALL).await?;
    // Withholding takes 16-80 ms of CPU for two years at 10 million workers: on a blocking thread,
    // so that the requests waiting for this runtime worker meanwhile are not held up.
    let hierarchy = hierarchy.clone();
    let withhold = move || {
        let mut publications = Vec::new();
        for year in years {
            let mut areas: Vec<AreaFigures> = hierarchy
                .keys
                .iter()
                .map(|key| read.remove(&(key.clone(), year)).map(|f| AreaFigures::from_figures(&f)).unwrap_or_default())
                .collect();
            publish(&hierarchy.tree, &mut areas, min_count);
            publications.push((year, YearPublication { areas }));
        }
        publications
    };
    tokio::task::spawn_blocking(withhold).await.map_err(|e| AppError::Internal(format!("publication: {e}")))
}

/// Withholds from one year's figures of every area (in the tree's order) what disclosure decides.
fn publish(tree: &Tree, areas: &mut [AreaFigures], min_count: i64) {
    let cells = Cell::count();
    let mut values = vec![0i64; areas.len() * cells];
    for (f, row) in areas.iter().zip(values.chunks_mut(cells)) {
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
    let withheld = disclosure::withhold(tree, &values, min_count);
    for (f, withheld) in areas.iter_mut().zip(withheld.chunks(cells)) {
        coarsen(f, withheld);
    }
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
    use async_graphql::resolver_utils::EnumType;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    use super::*;
    use crate::domain::types::Gender;

    #[test]
    fn every_occupation_has_its_place() {
        assert_eq!(Occupation::iter().count(), OCCUPATIONS);
    }

    const K: i64 = 10;
    /// A year of one worker's premium, and one death benefit.
    const PREMIUM: i64 = 12 * 16_800;
    const BENEFIT: i64 = 42_000_000;
    /// An upper bound no count reaches: what the attacker starts from for a withheld cell.
    const UNBOUNDED: i64 = 1 << 40;

    /// A district's figures: covered workers split by gender and among six occupations, none, some
    /// or all of them newly covered, and payouts.
    fn district() -> impl Strategy<Value = AreaFigures> {
        // Ones often: a withheld count is at least 1, so a 1 is what a bound pins first.
        prop_oneof![Just(1), 0i64..30].prop_flat_map(|covered| {
            let occupations = prop::collection::vec(0..6usize, covered as usize);
            let newly = prop_oneof![Just(0), Just(covered), 0..=covered];
            (0..=covered, newly, 0i64..40, occupations, 0i64..15, 0i64..15).prop_map(
                move |(male, newly_covered, previous_year_covered, occupations, paid, pending)| {
                    let coverage =
                        CoverageCounts { covered, previous_year_covered, newly_covered, male, female: covered - male };
                    let payouts = PayoutCounts { paid, paid_amount: paid * BENEFIT, pending };
                    let mut f =
                        AreaFigures { coverage, premium_cost: covered * PREMIUM, payouts, ..Default::default() };
                    for o in occupations {
                        f.occupations[o] += 1;
                    }
                    f
                },
            )
        })
    }

    fn add(into: &mut AreaFigures, f: &AreaFigures) {
        let (c, d) = (&mut into.coverage, f.coverage);
        (c.covered, c.previous_year_covered, c.newly_covered) = (
            c.covered + d.covered,
            c.previous_year_covered + d.previous_year_covered,
            c.newly_covered + d.newly_covered,
        );
        (c.male, c.female) = (c.male + d.male, c.female + d.female);
        let sum = |a: Option<i64>, b: Option<i64>| a.zip(b).map(|(a, b)| a + b).or(a).or(b);
        into.targets.target_workers = sum(into.targets.target_workers, f.targets.target_workers);
        into.targets.eligible_workers = sum(into.targets.eligible_workers, f.targets.eligible_workers);
        into.premium_cost += f.premium_cost;
        let (p, q) = (&mut into.payouts, f.payouts);
        (p.paid, p.paid_amount, p.pending) = (p.paid + q.paid, p.paid_amount + q.paid_amount, p.pending + q.pending);
        for (n, m) in into.occupations.iter_mut().zip(f.occupations) {
            *n += m;
        }
    }

    /// Nation, provinces, regencies (each with a target) and their districts, summed up; each
    /// area's children.
    struct Country {
        tree: Tree,
        children: Vec<Vec<usize>>,
        figures: Vec<AreaFigures>,
    }

    impl Country {
        fn of(provinces: &[Vec<Vec<AreaFigures>>]) -> Country {
            let mut country = Country { tree: Tree::default(), children: Vec::new(), figures: Vec::new() };
            let nation = country.add(None, true, AreaFigures::default());
            for regencies in provinces {
                let province = country.add(Some(nation), true, AreaFigures::default());
                for districts in regencies {
                    let targets = TargetSums { target_workers: Some(100), eligible_workers: Some(300) };
                    let regency = country.add(Some(province), false, AreaFigures { targets, ..Default::default() });
                    for district in districts {
                        country.add(Some(regency), false, district.clone());
                    }
                }
            }
            // Children come after their parents.
            for area in (0..country.figures.len()).rev() {
                for child in country.children[area].clone() {
                    let f = country.figures[child].clone();
                    add(&mut country.figures[area], &f);
                }
            }
            country
        }

        fn add(&mut self, parent: Option<usize>, children_shared: bool, figures: AreaFigures) -> usize {
            let area = self.tree.add(parent, children_shared);
            self.children.push(Vec::new());
            self.figures.push(figures);
            if let Some(parent) = parent {
                self.children[parent].push(area);
            }
            area
        }

        /// The areas a key of `area` reads exactly: it and every area below it.
        fn scope(&self, area: usize) -> Vec<usize> {
            let mut scope = vec![area];
            for &child in &self.children[area] {
                scope.extend(self.scope(child));
            }
            scope
        }

        /// The sums a reader can subtract: (parent cell, children cells).
        fn families(&self) -> Vec<(usize, Vec<usize>)> {
            let cells = Cell::count();
            let cell = |area: usize, c: usize| area * cells + c;
            let mut families = Vec::new();
            for (area, children) in self.children.iter().enumerate() {
                if !children.is_empty() {
                    families
                        .extend((0..cells).map(|c| (cell(area, c), children.iter().map(|&a| cell(a, c)).collect())));
                }
                let of = |cs: Vec<Cell>| -> Vec<usize> { cs.into_iter().map(|c| cell(area, c.index())).collect() };
                families.push((cell(area, 0), of(vec![Cell::Male, Cell::Female])));
                families.push((cell(area, 0), of(Occupation::iter().map(Cell::Occupation).collect())));
            }
            families
        }
    }

    /// Each cell of a published area as a reader outside its scope sees it: Some(count), or None
    /// when withheld (a gender or occupation left out while named in `withheld` may be 0 too).
    fn read(f: &Figures) -> Vec<Option<i64>> {
        let shown = |figure: StatsFigure, n: i64| (!f.is_withheld(figure)).then_some(n);
        let listed = |figure: StatsFigure, n: Option<i64>| n.or_else(|| shown(figure, 0));
        let (c, p) = (f.coverage.unwrap_or_default(), f.payouts.unwrap_or_default());
        let genders = f.by_gender().unwrap_or_default();
        let gender = |g: Gender| listed(StatsFigure::ByGender, genders.iter().find(|x| x.0 == g).map(|x| x.1));
        let occupations = f.by_occupation.clone().unwrap_or_default();
        let mut cells = vec![None; Cell::count()];
        cells[Cell::Covered.index()] = shown(StatsFigure::CoveredWorkers, c.covered);
        cells[Cell::NewlyCovered.index()] = shown(StatsFigure::NewlyCovered, c.newly_covered);
        cells[Cell::PayoutsPaid.index()] = shown(StatsFigure::PayoutsPaid, p.paid);
        cells[Cell::PayoutsPending.index()] = shown(StatsFigure::PayoutsPending, p.pending);
        cells[Cell::Male.index()] = gender(Gender::Male);
        cells[Cell::Female.index()] = gender(Gender::Female);
        for o in Occupation::iter() {
            let n = occupations.iter().find(|x| x.0 == o).map(|x| x.1);
            cells[Cell::Occupation(o).index()] = listed(StatsFigure::ByOccupation, n);
        }
        cells
    }

    /// What a reader can tell of every cell: (least, most), from the cells it reads, the sums of the
    /// families and newly covered <= covered, tightened until nothing changes.
    fn bounds(families: &[(usize, Vec<usize>)], read: &[Option<i64>]) -> Vec<(i64, i64)> {
        let cells = Cell::count();
        let (covered, newly) = (Cell::Covered.index(), Cell::NewlyCovered.index());
        let mut bounds: Vec<(i64, i64)> = read
            .iter()
            .enumerate()
            .map(|(i, n)| match n {
                Some(n) => (*n, *n),
                // Withheld counts are not 0, except those withheld with their area's count.
                None if i % cells == covered || (i % cells < Cell::Male.index() && read[i - i % cells].is_some()) => {
                    (1, UNBOUNDED)
                }
                None => (0, UNBOUNDED),
            })
            .collect();
        let tighten = |bounds: &mut [(i64, i64)], i: usize, least: i64, most: i64| {
            let (l, m) = bounds[i];
            bounds[i] = (l.max(least), m.min(most));
            bounds[i] != (l, m)
        };
        loop {
            let mut changed = false;
            for (parent, children) in families {
                let (least, most) = children.iter().fold((0, 0), |(l, m), &c| (l + bounds[c].0, m + bounds[c].1));
                let (pl, pm) = bounds[*parent];
                changed |= tighten(&mut bounds, *parent, least, most);
                for &c in children {
                    let (l, m) = bounds[c];
                    changed |= tighten(&mut bounds, c, pl - (most - m), pm - (least - l));
                }
            }
            for area in (0..bounds.len()).step_by(cells) {
                let (c, n) = (bounds[area + covered], bounds[area + newly]);
                changed |= tighten(&mut bounds, area + newly, 0, c.1);
                changed |= tighten(&mut bounds, area + covered, n.0, UNBOUNDED);
            }
            if !changed {
                return bounds;
            }
        }
    }

    /// Every published field of one area: a withheld figure reads 0 (a rate None, a cell left
    /// out), any other reads the truth; a published count is 0 or at least k; an area whose covered
    /// workers are withheld shows none of its figures.
    fn check_fields(truth: &Figures, published: &Figures) -> Result<(), TestCaseError> {
        let is = |figure| published.is_withheld(figure);
        let shown = |figure, n: i64| if is(figure) { 0 } else { n };
        let (t, p) = (truth.coverage.unwrap_or_default(), published.coverage.unwrap_or_default());
        let (tp, pp) = (truth.payouts.unwrap_or_default(), published.payouts.unwrap_or_default());
        let counts = [
            (StatsFigure::CoveredWorkers, p.covered, t.covered),
            (StatsFigure::NewlyCovered, p.newly_covered, t.newly_covered),
            (StatsFigure::PayoutsPaid, pp.paid, tp.paid),
            (StatsFigure::PayoutsPending, pp.pending, tp.pending),
        ];
        for (figure, published, truth) in counts {
            prop_assert_eq!(published, shown(figure, truth), "{:?}", figure);
            prop_assert!(published == 0 || published >= K, "{:?} = {} published", figure, published);
        }
        prop_assert_eq!(p.previous_year_covered, shown(StatsFigure::PreviousYearCovered, t.previous_year_covered));
        prop_assert_eq!(published.premium_cost, Some(shown(StatsFigure::PremiumCost, truth.premium_cost.unwrap_or(0))));
        prop_assert_eq!(pp.paid_amount, shown(StatsFigure::PayoutsPaidAmount, tp.paid_amount));
        let rates = [
            (StatsFigure::GrowthRate, published.growth_rate(), truth.growth_rate()),
            (StatsFigure::TargetProgress, published.target_progress(), truth.target_progress()),
            (StatsFigure::CoverageRate, published.coverage_rate(), truth.coverage_rate()),
        ];
        for (figure, published, truth) in rates {
            prop_assert_eq!(published, truth.filter(|_| !is(figure)), "{:?}", figure);
        }
        breakdown(is(StatsFigure::ByGender), published.by_gender(), truth.by_gender())?;
        breakdown(is(StatsFigure::ByOccupation), published.by_occupation.clone(), truth.by_occupation.clone())?;
        if is(StatsFigure::CoveredWorkers) {
            prop_assert_eq!(published.withheld.len(), StatsFigure::items().len(), "{:?}", published.withheld);
        }
        Ok(())
    }

    /// The cells of a breakdown that are published are true and at least k; the others are left
    /// out, named in `withheld` when not 0.
    fn breakdown<T: PartialEq + std::fmt::Debug>(
        named: bool,
        published: Option<Vec<(T, i64)>>,
        truth: Option<Vec<(T, i64)>>,
    ) -> Result<(), TestCaseError> {
        let (published, truth) = (published.unwrap_or_default(), truth.unwrap_or_default());
        for cell in &published {
            prop_assert!(truth.contains(cell) && cell.1 >= K, "{:?} published", cell);
        }
        prop_assert!(named || published == truth, "{:?} left out without being named", truth);
        Ok(())
    }

    /// No withheld count of fewer than k is given back exactly, to a reader outside every scope
    /// or to a key of a province or regency, which reads its own areas exactly (and so, above
    /// them, only learns what the other areas add).
    fn check_recovery(country: &Country, truth: &[i64], published: &[Option<i64>]) -> Result<(), TestCaseError> {
        let cells = Cell::count();
        let families = country.families();
        let owners = (1..country.figures.len()).filter(|&a| !country.children[a].is_empty());
        for owner in std::iter::once(None).chain(owners.map(Some)) {
            let mut read = published.to_vec();
            // What the key knows itself of each cell.
            let mut own = vec![0; truth.len()];
            if let Some(owner) = owner {
                for area in country.scope(owner) {
                    for i in area * cells..(area + 1) * cells {
                        read[i] = Some(truth[i]);
                    }
                }
                for area in (0..country.figures.len()).filter(|&a| country.scope(a).contains(&owner)) {
                    for c in 0..cells {
                        own[area * cells + c] = truth[owner * cells + c];
                    }
                }
            }
            for (i, (least, most)) in bounds(&families, &read).into_iter().enumerate() {
                prop_assert!(least <= truth[i] && truth[i] <= most, "the bounds of cell {} are wrong", i);
                let others = truth[i] - own[i];
                prop_assert!(
                    read[i].is_some() || others == 0 || others >= K || least < most,
                    "cell {} of area {} (= {}) recovered by the key of {:?}",
                    i % cells,
                    i / cells,
                    truth[i],
                    owner
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, rng_seed: RngSeed::Fixed(21), ..ProptestConfig::default() })]

        /// Random countries through the publication: every published field of every area.
        #[test]
        fn no_published_figure_is_small_or_recoverable(
            provinces in prop::collection::vec(prop::collection::vec(prop::collection::vec(district(), 1..5), 1..4), 1..3)
        ) {
            let country = Country::of(&provinces);
            let mut published = country.figures.clone();
            publish(&country.tree, &mut published, K);
            let (mut truth_cells, mut published_cells) = (Vec::new(), Vec::new());
            for (truth, published) in country.figures.iter().zip(&published) {
                let (truth, published) = (truth.to_figures(), published.to_figures());
                check_fields(&truth, &published)?;
                truth_cells.extend(read(&truth).into_iter().map(|n| n.unwrap_or(0)));
                published_cells.extend(read(&published));
            }
            check_recovery(&country, &truth_cells, &published_cells)?;
        }
    }
}
