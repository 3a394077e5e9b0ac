//! Small-count suppression, without I/O: which counts of one year's publication are withheld from
//! callers outside an area's scope, so that none of them learns a figure made of fewer than k
//! workers or payouts (one district's single accident claim names a person).
//!
//! Every count of every area is a cell; cells are tied by sums (families): an area's count is the
//! sum of its children's (nation = provinces, province = regencies, regency = districts), and an
//! area's covered workers are the sum of its gender cells and of its occupation cells. Withholding
//! a small cell alone is not enough: parent minus the visible children gives it back. So:
//!
//! 1. a cell with 0 < value < k is withheld (primary); zeros are published (they name no one);
//! 2. an area whose covered workers are withheld has all its other cells withheld, zeros included:
//!    its newly covered workers are some of the covered ones (12 newly covered beside a withheld
//!    count say it is at least 12, and the parent minus the published siblings then gives the
//!    other withheld sibling away), its gender and occupation cells are parts of it, its payouts
//!    are claims of those few workers; a published zero beside them would say where the rest is;
//! 3. in every family whose parent is withheld or that has a withheld child, the withheld children
//!    must add up to at least k; exceed what a reader can tell they are at least (their floors: a
//!    withheld count is at least 1, zeros being published, and at least what its own parts are at
//!    least, so ten withheld districts adding up to 10 are 1 each); and, under a published parent,
//!    be more than one (one alone is the parent minus its published siblings, however large, and
//!    gives back what it hides). Otherwise the next smallest children are withheld too
//!    (complementary); if none is left, the parent is withheld as well. Cells withheld by rule 2
//!    are protected so too, or subtraction would give their bound back;
//! 4. in families whose children belong to different keys (the provinces of the nation, the
//!    regencies of a province), each owner knows its own cell exactly, so rule 3 must hold even
//!    without any one of them;
//! 5. repeat until nothing changes (withholding only grows, so this ends).
//!
//! Newly covered workers withheld beside a published count are only bounded from above by it,
//! which names no one. A year is decided on its own: what figures of other years tell about it
//! (this year's count minus last year's is at most the newly covered) is not taken into account.
//! The rules look at one family at a time; the property test in `publication` attacks every
//! published figure at once, as an anonymous reader and as each province's and regency's key.
//!
//! Families are treated as exact sums even where a worker counted in two regencies makes the parent
//! smaller than the sum: protecting a sum that is not exact only errs on the safe side.
use sea_orm::Iterable;

use crate::domain::types::Occupation;

/// The counts of one area, each withheld on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Covered,
    NewlyCovered,
    PayoutsPaid,
    PayoutsPending,
    Male,
    Female,
    Occupation(Occupation),
}

const FIXED_CELLS: usize = 6;

impl Cell {
    /// How many cells each area has.
    pub fn count() -> usize {
        FIXED_CELLS + Occupation::iter().count()
    }

    pub fn index(self) -> usize {
        match self {
            Cell::Covered => 0,
            Cell::NewlyCovered => 1,
            Cell::PayoutsPaid => 2,
            Cell::PayoutsPending => 3,
            Cell::Male => 4,
            Cell::Female => 5,
            Cell::Occupation(occupation) => FIXED_CELLS + occupation as usize,
        }
    }
}

/// The area hierarchy as indexes: 0 is the nation, every other area has a parent.
#[derive(Debug, Default)]
pub struct Tree {
    children: Vec<Vec<usize>>,
    /// Whether the children of an area are owned by different keys (nation and provinces).
    shared: Vec<bool>,
}

impl Tree {
    /// Adds an area below `parent` (None for the nation) and returns its index.
    pub fn add(&mut self, parent: Option<usize>, children_shared: bool) -> usize {
        let index = self.children.len();
        self.children.push(Vec::new());
        self.shared.push(children_shared);
        if let Some(parent) = parent {
            self.children[parent].push(index);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// Cells whose parent is the sum of the children.
struct Family {
    parent: usize,
    children: Vec<usize>,
    shared: bool,
}

fn families(tree: &Tree) -> Vec<Family> {
    let cells = Cell::count();
    let cell = |area: usize, c: Cell| area * cells + c.index();
    let mut families = Vec::new();
    for (area, children) in tree.children.iter().enumerate() {
        if !children.is_empty() {
            for c in 0..cells {
                families.push(Family {
                    parent: area * cells + c,
                    children: children.iter().map(|&child| child * cells + c).collect(),
                    shared: tree.shared[area],
                });
            }
        }
        families.push(Family {
            parent: cell(area, Cell::Covered),
            children: vec![cell(area, Cell::Male), cell(area, Cell::Female)],
            shared: false,
        });
        families.push(Family {
            parent: cell(area, Cell::Covered),
            children: Occupation::iter().map(|o| cell(area, Cell::Occupation(o))).collect(),
            shared: false,
        });
    }
    families
}

/// Which cells to withhold. `values[area * Cell::count() + cell.index()]` is a cell's count.
pub fn withhold(tree: &Tree, values: &[i64], k: i64) -> Vec<bool> {
    debug_assert_eq!(values.len(), tree.len() * Cell::count());
    let mut withheld: Vec<bool> = values.iter().map(|&v| v > 0 && v < k).collect();
    let families = families(tree);
    loop {
        let mut changed = withhold_areas(&mut withheld);
        let floors = floors(&families, values, &withheld);
        for family in &families {
            changed |= protect(family, values, &floors, &mut withheld, k);
        }
        if !changed {
            return withheld;
        }
    }
}

/// Applies rule 2 to every area; true when it withheld something.
fn withhold_areas(withheld: &mut [bool]) -> bool {
    let mut changed = false;
    for area in withheld.chunks_mut(Cell::count()) {
        if area[Cell::Covered.index()] && area.contains(&false) {
            area.fill(true);
            changed = true;
        }
    }
    changed
}

/// Rule 3's floors: what a reader can tell each cell is at least once it is withheld. 1 unless it
/// is 0, and what its parts add up to at least: published ones as they are, withheld ones at their
/// own floors (newly covered workers are a part of the covered ones too).
fn floors(families: &[Family], values: &[i64], withheld: &[bool]) -> Vec<i64> {
    let mut floors: Vec<i64> = values.iter().map(|&v| v.min(1)).collect();
    let (cells, covered, newly) = (Cell::count(), Cell::Covered.index(), Cell::NewlyCovered.index());
    // Parts come after their whole in `families` and in the areas, so this takes a few rounds.
    loop {
        let shown = |floors: &[i64], c: usize| if withheld[c] { floors[c] } else { values[c] };
        let mut changed = false;
        for family in families {
            let parts = family.children.iter().map(|&c| shown(&floors, c)).sum::<i64>();
            if parts > floors[family.parent] {
                (floors[family.parent], changed) = (parts, true);
            }
        }
        for area in (0..floors.len()).step_by(cells) {
            let part = shown(&floors, area + newly);
            if part > floors[area + covered] {
                (floors[area + covered], changed) = (part, true);
            }
        }
        if !changed {
            break;
        }
    }
    // A whole that rule 3 withholds in this round has its own parts withheld in the next (by rule 2,
    // or by rule 3 on the families it is the parent of), so a reader will not tell it to the last
    // worker: complements are chosen counting on that. The last round withholds nothing, so what it
    // checks are the real floors.
    for family in families {
        let (i, v) = (family.parent, values[family.parent]);
        if !withheld[i] {
            floors[i] = floors[i].min(v - 1).max(v.min(1));
        }
    }
    floors
}

/// The withheld children of a family.
#[derive(Default)]
struct Hidden {
    n: i64,
    sum: i64,
    largest: i64,
    /// By how much they exceed their floors, in all and the most of one child.
    unknown: i64,
    most_unknown: i64,
}

/// Applies rule 3 (and 4) to one family; true when it withheld something.
fn protect(family: &Family, values: &[i64], floors: &[i64], withheld: &mut [bool], k: i64) -> bool {
    let hidden = |withheld: &[bool]| {
        family.children.iter().filter(|&&c| withheld[c]).fold(Hidden::default(), |h, &c| {
            let (v, unknown) = (values[c], values[c] - floors[c]);
            Hidden {
                n: h.n + 1,
                sum: h.sum + v,
                largest: h.largest.max(v),
                unknown: h.unknown + unknown,
                most_unknown: h.most_unknown.max(unknown),
            }
        })
    };
    if !withheld[family.parent] && hidden(withheld).sum == 0 {
        return false;
    }
    let mut changed = false;
    loop {
        let h = hidden(withheld);
        // The owner of a shared child knows it: the others must hold without any one of them.
        let (n, sum, unknown) = if family.shared {
            (h.n - 1, h.sum - h.largest, h.unknown - h.most_unknown)
        } else {
            (h.n, h.sum, h.unknown)
        };
        if sum >= k && unknown > 0 && (n >= 2 || withheld[family.parent]) {
            return changed;
        }
        // The smallest published child, first in order on ties, so the outcome is deterministic.
        let next = family.children.iter().filter(|&&c| !withheld[c] && values[c] > 0).min_by_key(|&&c| (values[c], c));
        match next {
            Some(&c) => withheld[c] = true,
            None => {
                // The children cannot hide their withheld part: the parent would give it away.
                if !withheld[family.parent] && values[family.parent] > 0 {
                    withheld[family.parent] = true;
                    return true;
                }
                return changed;
            }
        }
        changed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: i64 = 10;

    /// A district's cells: covered workers, the men among them (the others are women), the newly
    /// covered among them; all fishers.
    fn district(covered: i64, men: i64, newly: i64) -> Vec<(Cell, i64)> {
        let fishers = Cell::Occupation(Occupation::Fisher);
        vec![
            (Cell::Covered, covered),
            (Cell::Male, men),
            (Cell::Female, covered - men),
            (Cell::NewlyCovered, newly),
            (fishers, covered),
        ]
    }

    /// Districts of men covered since an earlier year.
    fn men(counts: &[i64]) -> Vec<Vec<(Cell, i64)>> {
        counts.iter().map(|&n| district(n, n, 0)).collect()
    }

    /// The nation with one province of `regencies.len()` regencies, each with its districts.
    fn tree_with(regencies: &[Vec<Vec<(Cell, i64)>>]) -> (Tree, Vec<i64>) {
        let mut tree = Tree::default();
        let nation = tree.add(None, true);
        let province = tree.add(Some(nation), true);
        let mut leaves = Vec::new();
        for districts in regencies {
            let regency = tree.add(Some(province), false);
            for cells in districts {
                leaves.push((tree.add(Some(regency), false), cells));
            }
        }
        let cells = Cell::count();
        let mut values = vec![0; tree.len() * cells];
        for (leaf, counts) in leaves {
            for &(cell, count) in counts {
                values[leaf * cells + cell.index()] = count;
            }
        }
        // Sum up (children are added after their parents, so walk backwards).
        for area in (0..tree.len()).rev() {
            for &child in &tree.children[area].clone() {
                for c in 0..cells {
                    values[area * cells + c] += values[child * cells + c];
                }
            }
        }
        (tree, values)
    }

    /// What a caller outside the scope reads of a cell.
    fn read(values: &[i64], withheld: &[bool], area: usize, cell: Cell) -> Option<i64> {
        let i = area * Cell::count() + cell.index();
        (!withheld[i]).then_some(values[i])
    }

    fn covered(values: &[i64], withheld: &[bool], area: usize) -> Option<i64> {
        read(values, withheld, area, Cell::Covered)
    }

    #[test]
    fn a_district_of_one_is_withheld_with_a_complement() {
        // Regency of districts 1, 30, 40: the 1 is withheld, and the 30 with it (1 + 30 >= k).
        let (tree, values) = tree_with(&[men(&[1, 30, 40])]);
        let withheld = withhold(&tree, &values, K);
        let districts: Vec<Option<i64>> = (3..6).map(|d| covered(&values, &withheld, d)).collect();
        assert_eq!(districts, [None, None, Some(40)]);
        assert_eq!(covered(&values, &withheld, 2), Some(71), "the regency stays published");
    }

    #[test]
    fn zeros_and_large_counts_are_published() {
        let (tree, values) = tree_with(&[men(&[0, 30, 40])]);
        assert!(withhold(&tree, &values, K).iter().all(|w| !w));
    }

    #[test]
    fn a_small_regency_among_regencies_needs_two_complements() {
        // Regencies of 3, 20, 25, 400 in one province: an owner of one complement knows its own count,
        // so withholding 3 and 20 is not enough; 25 goes too.
        let (tree, values) = tree_with(&[men(&[3]), men(&[20]), men(&[25]), men(&[400])]);
        let withheld = withhold(&tree, &values, K);
        let regencies: Vec<Option<i64>> = [2, 4, 6, 8].iter().map(|&r| covered(&values, &withheld, r)).collect();
        assert_eq!(regencies, [None, None, None, Some(400)]);
    }

    #[test]
    fn every_cell_of_a_withheld_count_is_withheld() {
        // Issue 21: Tigaraksa 1 and Kronjo 12, all of them new, withheld beside Balaraja's 30. Had
        // Kronjo's 12 newly covered been published, 43 - 30 - 12 would have given Tigaraksa's 1.
        let (tree, values) = tree_with(&[vec![district(1, 1, 0), district(12, 12, 12), district(30, 30, 0)]]);
        let withheld = withhold(&tree, &values, K);
        for area in [3, 4] {
            assert!(withheld[area * Cell::count()..(area + 1) * Cell::count()].iter().all(|&w| w), "district {area}");
        }
        assert_eq!((covered(&values, &withheld, 5), covered(&values, &withheld, 2)), (Some(30), Some(43)));
    }

    #[test]
    fn a_complement_is_never_alone_in_a_family() {
        // One man among 18 in a district, 22 among 38 in the other: the 22 hides the 1 among the
        // regency's 23 men, and would come back as 38 - 16 women if those were published.
        let (tree, values) = tree_with(&[vec![district(18, 1, 0), district(38, 22, 0)]]);
        let withheld = withhold(&tree, &values, K);
        assert_eq!(read(&values, &withheld, 4, Cell::Male), None);
        assert_eq!(read(&values, &withheld, 4, Cell::Female), None);
        assert_eq!(covered(&values, &withheld, 4), Some(38));
    }

    #[test]
    fn withheld_ones_are_not_hidden_by_their_number() {
        // Ten districts of 1: withheld, they add up to 10, but a reader knows each is at least 1.
        let (tree, values) = tree_with(&[men(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 40])]);
        let withheld = withhold(&tree, &values, K);
        assert_eq!(covered(&values, &withheld, 13), None, "the 40 is withheld with them");
        assert_eq!(covered(&values, &withheld, 2), Some(50));
    }
}
