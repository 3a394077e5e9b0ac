//! An enrollment list as an Excel workbook (.xlsx), recognised by its content (a ZIP archive that
//! calamine opens as a workbook), never by its name. The first sheet's rows become the same text
//! cells a CSV file gives (`file::Record`), so every rule, message and report is the CSV's: the
//! header row names the columns, a row's line is its row number in Excel.
//!
//! What only a workbook has: a cell holds a number, a date or text. A NIK or membership number
//! held as a number has been through Excel's 15 digits and is an error row (`file` reports it);
//! a date cell is a date (written ISO for `cells::parse_date`); a whole number is written without
//! a decimal point (income).
//!
//! Memory: the workbook (compressed, at most the upload's size) is held while read, and its
//! shared strings; the sheet itself is streamed cell by cell, never loaded whole. Before anything
//! is unpacked, what the archive says it unpacks to is checked against `MAX_UNPACKED` (a ZIP bomb
//! is refused), and a sheet cannot have more rows or columns than Excel's own limits.
use std::io::{BufRead, Cursor, Read, Seek};

use calamine::{DataRef, Reader, Xlsx, XlsxError};

use super::file::{Record, Records, Source};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// How every ZIP archive (and so every .xlsx) starts.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// What a workbook may unpack to, all its parts together. The sheet of a million rows of ten
/// columns, each cell written as XML, is about 600 MB; a list that big is already past what an
/// upload may be as CSV.
pub const MAX_UNPACKED: u64 = 2 << 30;

/// What the workbook's shared strings (the text of its cells, once each, held in memory while the
/// sheet is read) may unpack to.
pub const MAX_SHARED_STRINGS: u64 = 512 << 20;

/// What a workbook itself may be: it is held in memory while it is read.
const MAX_PACKED: u64 = 1 << 30;

/// Excel's own limits of a sheet.
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLUMNS: u32 = 16_384;

/// Whether the file starts like a workbook (a ZIP archive): it is then read as one, or refused.
pub fn is_zip<R: Read>(source: &mut Source<R>) -> AppResult<bool> {
    let start =
        source.fill_buf().map_err(|e| AppError::bad_input("file", Msg::FileUnreadable { detail: e.to_string() }))?;
    Ok(start.starts_with(ZIP_MAGIC))
}

/// Reads the workbook in `source` (which `is_zip` said is a ZIP archive): `rows` gets its first
/// sheet's rows; returns what `rows` returned and the file's SHA-256.
pub fn read<R: Read, T>(
    mut source: Source<R>,
    rows: impl FnOnce(&mut SheetRows<'_, Cursor<Vec<u8>>>) -> AppResult<T>,
) -> AppResult<(T, String)> {
    source.get_mut().without_lines();
    let mut bytes = Vec::new();
    (&mut source)
        .take(MAX_PACKED + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AppError::bad_input("file", Msg::FileUnreadableToTheEnd { detail: e.to_string() }))?;
    if bytes.len() as u64 > MAX_PACKED {
        return Err(AppError::bad_input("file", Msg::WorkbookTooLarge { max: MAX_PACKED }));
    }
    let sha256 = source.into_inner().sha256();
    check_unpacked_size(&bytes, MAX_UNPACKED, MAX_SHARED_STRINGS)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let first = workbook.sheet_names().first().cloned().ok_or_else(|| not_a_workbook("no sheet"))?;
    let cells = workbook.worksheet_cells_reader(&first).map_err(not_a_workbook)?;
    let column_offset = cells.dimensions().start.1;
    let mut sheet = SheetRows { cells, column_offset, pending: None, done: false, width: 0 };
    let out = rows(&mut sheet)?;
    Ok((out, sha256))
}

/// What the archive's directory says its parts unpack to, against `MAX_UNPACKED` (and the shared
/// strings against `MAX_SHARED_STRINGS`). The zip crate holds each part to its declared size as
/// it unpacks it, so an archive cannot lie its way past this.
fn check_unpacked_size(bytes: &[u8], max_unpacked: u64, max_shared_strings: u64) -> AppResult<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(not_a_workbook)?;
        let shared_strings = part.name().is_ok_and(|name| name.eq_ignore_ascii_case("xl/sharedStrings.xml"));
        if shared_strings && part.size() > max_shared_strings {
            return Err(AppError::bad_input("file", Msg::WorkbookTooLarge { max: max_shared_strings }));
        }
        total = total.saturating_add(part.size());
    }
    if total > max_unpacked {
        return Err(AppError::bad_input("file", Msg::WorkbookTooLarge { max: max_unpacked }));
    }
    Ok(())
}

fn not_a_workbook(err: impl std::fmt::Display) -> AppError {
    AppError::bad_input("file", Msg::NotAWorkbook { detail: err.to_string() })
}

/// The rows of a sheet, streamed: each row's cells as text, in their columns.
pub struct SheetRows<'a, RS: Read + Seek> {
    cells: calamine::XlsxCellReader<'a, RS>,
    /// The sheet's first column (a list may start in column B): it is the file's first.
    column_offset: u32,
    /// The first cell of the next row, read ahead.
    pending: Option<calamine::Cell<DataRef<'a>>>,
    /// The sheet's last cell was read (calamine must not be asked again).
    done: bool,
    /// The header's width: a row's empty cells at the end are absent from the sheet, not missing.
    width: usize,
}

fn sheet_error(err: XlsxError) -> AppError {
    AppError::bad_input("file", Msg::NotAWorkbook { detail: err.to_string() })
}

impl<'a, RS: Read + Seek> Records for SheetRows<'a, RS> {
    fn next(&mut self, record: &mut Record) -> AppResult<bool> {
        record.cells.clear();
        record.numbers.clear();
        let first = match self.pending.take() {
            Some(cell) => cell,
            None if self.done => return Ok(false),
            None => match self.cells.next_cell().map_err(sheet_error)? {
                Some(cell) => cell,
                None => return Ok(false),
            },
        };
        let row = first.get_position().0;
        record.line = u64::from(row) + 1;
        let mut next = Some(first);
        while let Some(cell) = next {
            let (at, column) = cell.get_position();
            if at >= MAX_ROWS || column >= MAX_COLUMNS {
                return Err(AppError::bad_input("file", Msg::WorkbookTooLarge { max: MAX_UNPACKED }));
            }
            if at != row {
                self.pending = Some(cell);
                break;
            }
            put(record, column.saturating_sub(self.column_offset) as usize, cell.get_value());
            next = self.cells.next_cell().map_err(sheet_error)?;
            self.done = next.is_none();
        }
        if self.width == 0 {
            self.width = record.cells.len();
        }
        while record.cells.len() < self.width {
            record.cells.push_field(b"");
        }
        Ok(true)
    }
}

/// Puts a cell's text in its column (the columns before it, if absent, empty).
fn put(record: &mut Record, position: usize, value: &DataRef<'_>) {
    if position < record.cells.len() {
        return; // Cells come in column order; a second one for a column is none of ours.
    }
    while record.cells.len() < position {
        record.cells.push_field(b"");
    }
    let (text, number) = text(value);
    if number {
        record.numbers.push(position);
    }
    record.cells.push_field(text.as_bytes());
}

/// A cell as text, as the CSV would hold it, and whether the sheet holds it as a number.
pub fn text(value: &DataRef<'_>) -> (String, bool) {
    match value {
        DataRef::Int(n) => (n.to_string(), true),
        DataRef::Float(x) => (number_text(*x), true),
        DataRef::String(s) => (s.clone(), false),
        DataRef::SharedString(s) => ((*s).to_owned(), false),
        DataRef::Bool(b) => ((if *b { "TRUE" } else { "FALSE" }).to_owned(), false),
        DataRef::DateTime(when) if when.is_datetime() => {
            let (year, month, day, ..) = when.to_ymd_hms_milli();
            (format!("{year:04}-{month:02}-{day:02}"), false)
        }
        DataRef::DateTime(when) => (number_text(when.as_f64()), true),
        // `2023-07-01T00:00:00`: the date is what a row means.
        DataRef::DateTimeIso(s) => (s.split('T').next().unwrap_or_default().to_owned(), false),
        DataRef::DurationIso(s) => (s.clone(), false),
        DataRef::Error(e) => (e.to_string(), false),
        DataRef::Empty => (String::new(), false),
    }
}

/// A number as Excel shows it in a wide column: whole numbers without a decimal point (a NIK held
/// as a number shows its 16 digits, the last ones as Excel kept them).
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e17 { format!("{x:.0}") } else { x.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Archives whose parts unpack past the limits (here 1 and 2 MiB): refused before anything
    /// is unpacked, by what their directory declares.
    #[test]
    fn a_zip_bomb_is_refused_by_what_it_declares() {
        let bomb = |part: &str| {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            zip.start_file(part, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&vec![b'0'; 3 << 20]).unwrap();
            zip.finish().unwrap().into_inner()
        };
        let strings = bomb("xl/sharedStrings.xml");
        assert!(strings.len() < 64 << 10, "{} bytes", strings.len());
        let refused = check_unpacked_size(&strings, 4 << 20, 1 << 20).unwrap_err();
        assert_eq!(refused.message(), Msg::WorkbookTooLarge { max: 1 << 20 });
        let sheet = bomb("xl/worksheets/sheet1.xml");
        let refused = check_unpacked_size(&sheet, 2 << 20, 1 << 20).unwrap_err();
        assert_eq!(refused.message(), Msg::WorkbookTooLarge { max: 2 << 20 });
        assert!(check_unpacked_size(&sheet, 4 << 20, 1 << 20).is_ok());
    }

    #[test]
    fn numbers_are_written_as_excel_shows_them_in_a_wide_column() {
        assert_eq!(number_text(3_603_121_505_769_000.0), "3603121505769000");
        assert_eq!(number_text(1_500_000.0), "1500000");
        assert_eq!(number_text(1.5), "1.5");
        assert_eq!(text(&DataRef::Int(7)), ("7".to_owned(), true));
        assert_eq!(text(&DataRef::DateTimeIso("2023-07-01T00:00:00".into())), ("2023-07-01".to_owned(), false));
        let date = calamine::ExcelDateTime::new(45108.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&DataRef::DateTime(date)), ("2023-07-01".to_owned(), false));
    }
}
