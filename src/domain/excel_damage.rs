//! What Excel does to long numbers typed into cells that are not formatted as Text: it keeps 15
//! significant digits, so a 16-digit NIK loses its last digit (…769001 becomes …769000), and a
//! narrow column shows (and a CSV saved from it keeps) `3,60313E+15`. A file with such cells is
//! refused as a whole: its NIKs cannot be trusted, even those that look valid.
//!
//! The rule is one function of counts taken while the file is read (`excel_damage`), so a file
//! of any size is judged in constant memory.

/// What was seen of the identity cells of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityCells {
    /// NIK cells of 16 digits.
    pub niks: u64,
    /// Of those, the ones ending in 0.
    pub niks_ending_in_zero: u64,
    /// NIK or membership-number cells written in scientific notation.
    pub scientific: u64,
}

impl IdentityCells {
    /// Counts one NIK cell (as written, trimmed).
    pub fn nik(&mut self, text: &str) {
        if super::nik::is_nik_shaped(text) {
            self.niks += 1;
            self.niks_ending_in_zero += u64::from(text.ends_with('0'));
        } else if looks_scientific(text) {
            self.scientific += 1;
        }
    }

    /// Counts one membership-number cell (as written, trimmed).
    pub fn membership_number(&mut self, text: &str) {
        if looks_scientific(text) {
            self.scientific += 1;
        }
    }
}

/// How Excel damaged a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcelDamage {
    /// Cells in scientific notation (`3,60313E+15`).
    Scientific { cells: u64 },
    /// Far more NIKs end in 0 than chance allows: the 16th digit was replaced by 0.
    Truncated { ending_in_zero: u64, niks: u64 },
}

/// Files with at least this many NIKs are judged by the share ending in 0.
pub const TRUNCATION_SAMPLE: u64 = 20;
/// Smaller files are refused only when every NIK, at least this many, ends in 0.
pub const TRUNCATION_ALL_OF: u64 = 6;

/// The rule. A NIK ends in its serial number, whose last digit is 0 for about one NIK in ten
/// (serials start at 0001, so fewer in practice): more than half of 20 or more ending in 0 has a
/// chance below one in a million (binomial, p = 0.1), and so has every one of 6 or more.
pub fn excel_damage(cells: &IdentityCells) -> Option<ExcelDamage> {
    if cells.scientific > 0 {
        return Some(ExcelDamage::Scientific { cells: cells.scientific });
    }
    let (niks, zeros) = (cells.niks, cells.niks_ending_in_zero);
    let truncated = (niks >= TRUNCATION_SAMPLE && zeros * 2 > niks) || (niks >= TRUNCATION_ALL_OF && zeros == niks);
    truncated.then_some(ExcelDamage::Truncated { ending_in_zero: zeros, niks })
}

/// A number as Excel writes one too long for its cell: digits, an optional decimal part after a
/// `.` or `,` (Indonesian settings), then `E`, an optional sign and the exponent (`3,60313E+15`,
/// `3.60313E+15`, `3.6E15`).
pub fn looks_scientific(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.trim().split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction) && all_digits(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn judge(niks: &[&str], memberships: &[&str]) -> Option<ExcelDamage> {
        let mut cells = IdentityCells::default();
        niks.iter().for_each(|n| cells.nik(n));
        memberships.iter().for_each(|m| cells.membership_number(m));
        excel_damage(&cells)
    }

    #[test]
    fn scientific_notation_is_excel() {
        for text in ["3,60313E+15", "3.60313E+15", "3.6E15", "3E+15", "3,60313e+15", " 3,60313E+15 ", "1.2E-3"] {
            assert!(looks_scientific(text), "{text:?}");
        }
        for text in ["3603121505850001", "E+15", "3,E+15", "3.60313E", "3.60313E+", "Budi E+15", "3,6,0E+15", ""] {
            assert!(!looks_scientific(text), "{text:?}");
        }
        assert_eq!(judge(&["3603121505850001", "3,60313E+15"], &[]), Some(ExcelDamage::Scientific { cells: 1 }));
        assert_eq!(judge(&["3603121505850001"], &["1,23457E+19"]), Some(ExcelDamage::Scientific { cells: 1 }));
    }

    #[test]
    fn truncation_shows_in_the_last_digits() {
        let zero = "3603121505850010";
        let one = "3603121505850011";
        // 11 of 20 end in 0: refused; 10 of 20 is not "more than half".
        let mut niks = vec![zero; 11];
        niks.extend([one; 9]);
        assert_eq!(judge(&niks, &[]), Some(ExcelDamage::Truncated { ending_in_zero: 11, niks: 20 }));
        let mut niks = vec![zero; 10];
        niks.extend([one; 10]);
        assert_eq!(judge(&niks, &[]), None);
        // Small files: all of 6 or more.
        assert_eq!(judge(&[zero; 6], &[]), Some(ExcelDamage::Truncated { ending_in_zero: 6, niks: 6 }));
        assert_eq!(judge(&[zero; 5], &[]), None);
        let mut niks = vec![zero; 18];
        niks.push(one);
        assert_eq!(judge(&niks, &[]), None, "19 NIKs, not all ending in 0");
        // Cells that are not NIK-shaped do not count.
        assert_eq!(judge(&["360312150585000", "123"], &[]), None);
    }

    proptest! {
        // Fixed: a genuine file refused is a one-in-a-million draw, not to be met at random in CI.
        #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(23), ..ProptestConfig::default() })]

        /// Real NIKs (serials spread over their last digit) are never refused, however many.
        #[test]
        fn genuine_files_pass(serials in prop::collection::vec(1u32..10_000, 0..400)) {
            let niks: Vec<String> = serials.iter().map(|s| format!("360312150585{s:04}")).collect();
            let mut cells = IdentityCells::default();
            niks.iter().for_each(|n| cells.nik(n));
            prop_assert_eq!(excel_damage(&cells), None);
        }

        /// A file Excel truncated (every NIK's last digit replaced by 0) is refused from 6 rows on,
        /// whatever else it holds in up to a third of its rows.
        #[test]
        fn truncated_files_are_refused(serials in prop::collection::vec(1u32..10_000, 20..400), others in 0usize..6) {
            let mut niks: Vec<String> = serials.iter().map(|s| format!("360312150585{:04}", s / 10 * 10)).collect();
            for (i, nik) in niks.iter_mut().enumerate().take(others.min(serials.len() / 3)) {
                nik.replace_range(15..16, &((i % 9) + 1).to_string());
            }
            let mut cells = IdentityCells::default();
            niks.iter().for_each(|n| cells.nik(n));
            let truncated = matches!(excel_damage(&cells), Some(ExcelDamage::Truncated { .. }));
            prop_assert!(truncated, "{:?}", cells);
        }
    }
}
