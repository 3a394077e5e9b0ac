//! Reading an enrollment file: the header, then every row checked against the rules that need no
//! database (registerWorker's and enrollWorker's, the caller's scope, duplicates within the file).
//! Runs on a blocking thread and hands the good rows on in chunks while it reads, so a file of any
//! size streams through bounded memory.
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::ActiveEnum;
use sha2::{Digest, Sha256};

use super::lines::LineStarts;
use super::report::{ColumnNames, RowError, row_error};
use crate::areas::{Areas, District};
use crate::auth::Actor;
use crate::domain::cells::{self, NameTable, name_key};
use crate::domain::excel_damage::{ExcelDamage, IdentityCells, excel_damage, looks_scientific};
use crate::domain::nik::Nik;
use crate::domain::types::{FundingSource, Gender, Occupation, Program};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::services::coverage::Terms;
use crate::services::sheet::{self, COLUMNS};
use crate::services::workers::{check_membership_number, check_name, check_nik};
use crate::stats::tally::{Period, Profile, Tally};

/// Good rows handed on at a time.
pub const CHUNK_ROWS: usize = 4_096;

/// One good row: a worker as registerWorker would register it and the period enrollWorker would
/// create for the import's regency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub line: u64,
    pub nik: String,
    pub full_name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub occupation: Occupation,
    /// Domicile, from the district.
    pub regency_code: String,
    pub district_code: String,
    pub membership_number: Option<String>,
    pub funding_source: FundingSource,
    pub terms: Terms,
}

impl Enrollment {
    /// What the row adds to the statistics as a new worker with this one period.
    pub fn add_to(&self, tally: &mut Tally, paying_regency: &str, sign: i64) {
        let profile =
            Profile { district_code: Some(&self.district_code), occupation: self.occupation, gender: self.gender };
        let period = Period {
            regency_code: paying_regency,
            starts_on: self.terms.starts_on,
            ends_on: self.terms.ends_on,
            monthly_premium: self.terms.monthly_premium(),
        };
        tally.add_worker(profile, &[period], sign);
    }
}

/// What reading the file found, besides the good rows it handed on.
#[derive(Debug, Default)]
pub struct Reading {
    pub rows_read: u64,
    /// The first `keep_errors` errors, in line order (a row may have several).
    pub errors: Vec<RowError>,
    pub rows_in_error: u64,
    /// What the file calls its columns.
    pub columns: ColumnNames,
    /// The good rows' statistics as if every one registered a new worker.
    pub tally: Tally,
    pub sha256: String,
}

/// Who imports, into which regency.
pub struct Context {
    pub areas: Arc<Areas>,
    pub actor: Actor,
    pub regency_code: String,
}

/// A file as it arrives: hashed (the audit names it by its SHA-256) and, for CSV, its line starts
/// noted (error rows name their line), with a buffer to look at its first bytes.
pub type Source<R> = BufReader<Hashing<R>>;

/// Wraps what is read so that it is hashed as it passes.
pub fn source<R: Read>(inner: R) -> Source<R> {
    BufReader::with_capacity(1 << 16, Hashing { inner, hasher: Sha256::new(), lines: Some(LineStarts::default()) })
}

/// One row of the file as text cells, wherever it came from (a CSV record, a worksheet's row).
#[derive(Debug, Default)]
pub struct Record {
    /// Line of the file where the row starts (a worksheet's row number), the header being 1.
    pub line: u64,
    pub cells: csv::ByteRecord,
    /// Positions of the cells a worksheet holds as numbers rather than text (a NIK there has been
    /// through Excel's 15 digits).
    pub numbers: Vec<usize>,
}

/// Where the rows of a file come from: CSV (below) or a workbook's first sheet (`xlsx`).
pub trait Records {
    /// Fills `record` with the next row; false at the end of the file.
    fn next(&mut self, record: &mut Record) -> AppResult<bool>;
}

/// Reads the whole file as CSV, sending good rows to `send` in chunks (it returns false when the
/// receiver is gone: the import was abandoned). A file that cannot be read as an enrollment list
/// (header, I/O, NIKs damaged by Excel) is an error for the whole file.
pub fn read_csv<R: Read>(
    mut source: Source<R>,
    context: &Context,
    keep_errors: usize,
    send: impl FnMut(Vec<Enrollment>) -> bool,
    progress: impl FnMut(u64),
) -> AppResult<Reading> {
    let (delimiter, skipped) = sniff_delimiter(&mut source)?;
    let csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(source);
    let mut records = CsvRecords { csv, skipped };
    let mut reading = read_records(&mut records, context, keep_errors, send, progress)?;
    reading.sha256 = records.csv.into_inner().into_inner().sha256();
    Ok(reading)
}

/// The records of a CSV file, with the line each starts on.
struct CsvRecords<R> {
    csv: csv::Reader<Source<R>>,
    /// Bytes before the first record (a byte-order mark).
    skipped: u64,
}

impl<R: Read> Records for CsvRecords<R> {
    fn next(&mut self, record: &mut Record) -> AppResult<bool> {
        if !self.csv.read_byte_record(&mut record.cells).map_err(file_error)? {
            return Ok(false);
        }
        let offset = record.cells.position().map_or(0, |p| p.byte()) + self.skipped;
        record.line = self.csv.get_mut().get_mut().lines.as_mut().map_or(0, |lines| lines.line_at(offset));
        Ok(true)
    }
}

/// Reads the header and every row of `records`: the rules shared by every kind of file.
pub fn read_records(
    records: &mut impl Records,
    context: &Context,
    keep_errors: usize,
    mut send: impl FnMut(Vec<Enrollment>) -> bool,
    mut progress: impl FnMut(u64),
) -> AppResult<Reading> {
    let mut record = Record::default();
    if !records.next(&mut record)? {
        return Err(AppError::bad_input("file", Msg::FileEmpty));
    }
    let header = Header::parse(&record.cells)?;
    let lookups = Lookups::new(context);
    let mut reading = Reading { columns: header.names.clone(), ..Reading::default() };
    let mut seen = Seen::default();
    let mut errors = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    while records.next(&mut record)? {
        if record.cells.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
            continue; // Blank lines and the empty rows spreadsheets leave at the end.
        }
        reading.rows_read += 1;
        let mut row = Row { header: &header, record: &record, line: record.line, errors: &mut errors };
        match row.parse(context, &lookups, &mut seen) {
            Some(enrollment) => {
                enrollment.add_to(&mut reading.tally, &context.regency_code, 1);
                chunk.push(enrollment);
                if chunk.len() == CHUNK_ROWS {
                    if !send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS))) {
                        return Err(abandoned());
                    }
                    progress(reading.rows_read);
                }
            }
            None => {
                reading.rows_in_error += 1;
                let room = keep_errors.saturating_sub(reading.errors.len());
                reading.errors.extend(errors.drain(..).take(room));
                errors.clear();
            }
        }
    }
    if let Some(damage) = excel_damage(&seen.identity) {
        return Err(AppError::bad_input("file", excel_message(damage, seen.scientific_example)));
    }
    if !chunk.is_empty() && !send(chunk) {
        return Err(abandoned());
    }
    progress(reading.rows_read);
    Ok(reading)
}

fn excel_message(damage: ExcelDamage, example: Option<(u64, String, String)>) -> Msg {
    match damage {
        ExcelDamage::Scientific { cells } => {
            let (line, column, value) = example.unwrap_or_default();
            Msg::ExcelScientific { cells, line, column, value }
        }
        ExcelDamage::Truncated { ending_in_zero, niks } => Msg::ExcelTruncated { ending_in_zero, niks },
    }
}

/// Hashes what passes through (the audit names the file by its SHA-256) and notes where lines
/// start (error rows name their line), until told the file has no lines (a workbook).
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    lines: Option<LineStarts>,
}

impl<R> Hashing<R> {
    /// Stops noting line starts: the file is no text.
    pub fn without_lines(&mut self) {
        self.lines = None;
    }

    /// The SHA-256 (hex) of what passed.
    pub fn sha256(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(lines) = &mut self.lines {
            lines.see(&buf[..n]);
        }
        Ok(n)
    }
}

fn file_error(err: csv::Error) -> AppError {
    match err.kind() {
        csv::ErrorKind::Io(io) => AppError::bad_input("file", Msg::FileUnreadableToTheEnd { detail: io.to_string() }),
        _ => AppError::bad_input("file", Msg::NotCsv { detail: err.to_string() }),
    }
}

/// Skips a UTF-8 byte-order mark and picks `;` (spreadsheets set to Indonesian) or `,`, whichever
/// the header line has more of. Returns the delimiter and the bytes skipped.
fn sniff_delimiter<R: Read>(source: &mut BufReader<R>) -> AppResult<(u8, u64)> {
    let buffer =
        source.fill_buf().map_err(|e| AppError::bad_input("file", Msg::FileUnreadable { detail: e.to_string() }))?;
    let mut skipped = 0;
    if buffer.starts_with(b"\xEF\xBB\xBF") {
        source.consume(3);
        skipped = 3;
    }
    let buffer =
        source.fill_buf().map_err(|e| AppError::bad_input("file", Msg::FileUnreadable { detail: e.to_string() }))?;
    let header = buffer.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |delimiter: u8| header.iter().filter(|b| **b == delimiter).count();
    Ok((if count(b';') > count(b',') { b';' } else { b',' }, skipped))
}

/// The columns by their index in `COLUMNS`.
const NIK: usize = 0;
const FULL_NAME: usize = 1;
const OCCUPATION: usize = 2;
const DISTRICT: usize = 3;
const STARTS_ON: usize = 4;
const ENDS_ON: usize = 5;
const FUNDING_SOURCE: usize = 6;
const PROGRAMS: usize = 7;
const INCOME: usize = 8;
const MEMBERSHIP_NUMBER: usize = 9;
const REQUIRED: [usize; 5] = [NIK, FULL_NAME, OCCUPATION, DISTRICT, STARTS_ON];

/// The Indonesian name of each column, in the order of `COLUMNS`: what the template's header
/// says (each is one of `INDONESIAN`, checked by a test).
pub const HEADERS_ID: [&str; 10] = [
    "NIK",
    "Nama Lengkap",
    "Pekerjaan",
    "Kecamatan",
    "Tanggal Mulai",
    "Tanggal Selesai",
    "Sumber Dana",
    "Program",
    "Penghasilan",
    "No KPJ",
];

/// The Indonesian names clerks give the columns, besides `COLUMNS` (compared by `name_key`:
/// without case, spaces or punctuation).
const INDONESIAN: [(&str, usize); 13] = [
    ("NIK", NIK),
    ("Nama", FULL_NAME),
    ("Nama Lengkap", FULL_NAME),
    ("Pekerjaan", OCCUPATION),
    ("Kecamatan", DISTRICT),
    ("Kode Kecamatan", DISTRICT),
    ("Tanggal Mulai", STARTS_ON),
    ("Tanggal Selesai", ENDS_ON),
    ("Sumber Dana", FUNDING_SOURCE),
    ("Program", PROGRAMS),
    ("Penghasilan", INCOME),
    ("No KPJ", MEMBERSHIP_NUMBER),
    ("Nomor KPJ", MEMBERSHIP_NUMBER),
];

/// Columns of row numbers, which the import ignores.
const ROW_NUMBERS: [&str; 3] = ["No", "Nomor", "No Urut"];

/// The column a header cell names, if any; `Err(())` for a column of row numbers.
fn column_named(text: &str) -> Option<Result<usize, ()>> {
    let key = name_key(text);
    if ROW_NUMBERS.iter().any(|n| name_key(n) == key) {
        return Some(Err(()));
    }
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i))
        .chain(INDONESIAN)
        .find(|(name, _)| name_key(name) == key)
        .map(|(_, i)| Ok(i))
}

/// Every name the header may give, for the message about one it may not.
fn known_columns() -> String {
    let indonesian: Vec<&str> = INDONESIAN.iter().map(|(n, _)| *n).chain(ROW_NUMBERS.iter().take(1).copied()).collect();
    format!("{} / {}", COLUMNS.join(", "), indonesian.join(", "))
}

/// Where each known column is in the file, and what the file calls it.
struct Header {
    positions: [Option<usize>; COLUMNS.len()],
    names: ColumnNames,
    /// Cells from here on are under no name (the empty column Excel often leaves at the end):
    /// they must be empty.
    named_width: usize,
}

impl Header {
    fn parse(record: &csv::ByteRecord) -> AppResult<Header> {
        let mut texts = Vec::with_capacity(record.len());
        for raw in record {
            let text = std::str::from_utf8(raw).map_err(|_| AppError::bad_input("file", Msg::HeaderNotUtf8))?;
            texts.push(text.trim());
        }
        let named_width = texts.iter().rposition(|t| !t.is_empty()).map_or(0, |last| last + 1);
        let mut header = Header { positions: [None; COLUMNS.len()], names: ColumnNames::default(), named_width };
        for (position, text) in texts.iter().take(named_width).enumerate() {
            let column = match column_named(text) {
                Some(Ok(column)) => column,
                Some(Err(())) => continue,
                None => {
                    return Err(AppError::bad_input(
                        "file",
                        Msg::UnknownColumn { name: (*text).to_owned(), columns: known_columns() },
                    ));
                }
            };
            if header.positions[column].is_some() {
                return Err(AppError::bad_input("file", Msg::ColumnTwice { column: (*text).to_owned() }));
            }
            header.positions[column] = Some(position);
            header.names.0[column] = Some((*text).to_owned());
        }
        let missing: Vec<&str> =
            REQUIRED.iter().filter(|c| header.positions[**c].is_none()).map(|c| COLUMNS[*c]).collect();
        if !missing.is_empty() {
            return Err(AppError::bad_input("file", Msg::MissingColumns { columns: missing.join(", ") }));
        }
        Ok(header)
    }

    /// The column as the file names it.
    fn name(&self, column: usize) -> &str {
        self.names.0[column].as_deref().unwrap_or(COLUMNS[column])
    }
}

/// What rows are compared with, built once per import: looking a cell up allocates nothing.
struct Lookups {
    occupations: Choices<Occupation>,
    funding_sources: Choices<FundingSource>,
    programs: Choices<Program>,
    /// The districts of the import's regency, by name.
    districts: NameTable<Arc<District>>,
    regency_name: String,
    /// The template's example row, by its name's key.
    example_name: String,
}

/// Other names of funding sources, as clerks write them.
const FUNDING_SOURCE_NAMES: [(&str, FundingSource); 4] = [
    ("SELF", FundingSource::SelfFunded),
    ("Mandiri", FundingSource::SelfFunded),
    ("APBD Provinsi", FundingSource::ApbdProvince),
    ("ABT", FundingSource::ApbdPerubahan),
];

impl Lookups {
    fn new(context: &Context) -> Lookups {
        let regency = context.areas.regency(&context.regency_code);
        let districts = regency
            .map(|r| context.areas.districts_of(r).map(|d| (d.name.as_str(), d.clone())).collect::<Vec<_>>())
            .unwrap_or_default();
        let occupations = cells::occupations();
        let occupation_names =
            cells::OCCUPATION_NAMES_ID.iter().map(|(o, id)| format!("{} ({id})", o.to_value())).collect::<Vec<_>>();
        Lookups {
            occupations: Choices { table: occupations, names: occupation_names.join(", ") },
            funding_sources: Choices::of(&FUNDING_SOURCE_NAMES, sheet::funding_source_name),
            programs: Choices::of(&[], |p: Program| p.to_value()),
            districts: NameTable::new(districts),
            regency_name: regency.map_or_else(|| context.regency_code.clone(), |r| format!("{} ({})", r.name, r.code)),
            example_name: name_key(sheet::EXAMPLE_NAME),
        }
    }
}

/// The values of an enum by name (any case, spaces or underscores), and the names listed in the
/// message about a cell that is none of them.
struct Choices<T> {
    table: NameTable<T>,
    names: String,
}

impl<T: ActiveEnum<Value = String> + sea_orm::Iterable + Copy> Choices<T> {
    /// By stored name (`street_vendor` is STREET_VENDOR) and by `others`; listed as `shown`.
    fn of(others: &[(&str, T)], shown: impl Fn(T) -> String) -> Choices<T> {
        let stored: Vec<(String, T)> = T::iter().map(|v| (v.to_value(), v)).collect();
        let table = NameTable::new(stored.iter().map(|(name, v)| (name.as_str(), *v)).chain(others.iter().copied()));
        let names: Vec<String> = T::iter().map(shown).collect();
        Choices { table, names: names.join(", ") }
    }
}

impl<T: Clone> Choices<T> {
    fn find(&self, text: &str) -> Result<T, Msg> {
        self.table.find(text).ok_or_else(|| Msg::NotOneOf { text: text.to_owned(), names: self.names.clone() })
    }
}

/// What was met so far: NIKs and membership numbers (a second occurrence is an error on its
/// line), and what Excel may have done to them.
#[derive(Default)]
struct Seen {
    niks: HashSet<u64>,
    membership_numbers: HashSet<u128>,
    identity: IdentityCells,
    /// The first cell in scientific notation: line, column, value.
    scientific_example: Option<(u64, String, String)>,
}

/// One row being read: its cells by column (trimmed, restored from an export's neutralisation;
/// empty ones absent) and every error found in it.
struct Row<'a> {
    header: &'a Header,
    record: &'a Record,
    line: u64,
    errors: &'a mut Vec<RowError>,
}

impl<'a> Row<'a> {
    /// The cell's text; `Err` when it is not UTF-8 (reported).
    fn cell(&mut self, column: usize) -> Result<Option<&'a str>, ()> {
        let Some(raw) = self.header.positions[column].and_then(|p| self.record.cells.get(p)) else {
            return Ok(None);
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            let value = String::from_utf8_lossy(raw).trim().to_owned();
            self.fail(column, Some(&value), "BAD_USER_INPUT", Msg::CellNotUtf8);
            return Err(());
        };
        // A cell an export made inert ("'=...") is read as it was stored, so an export imports
        // back exactly; a name that then starts like a formula is refused by the name's rule.
        Ok(Some(sheet::restore(text.trim())).filter(|t| !t.is_empty()))
    }

    /// The cell's text; `Err` when it is empty or not UTF-8 (reported).
    fn required(&mut self, column: usize) -> Result<&'a str, ()> {
        match self.cell(column)? {
            Some(text) => Ok(text),
            None => {
                let name = self.header.name(column).to_owned();
                self.fail(column, None, "BAD_USER_INPUT", Msg::CellRequired { column: name });
                Err(())
            }
        }
    }

    fn fail(&mut self, column: usize, value: Option<&str>, code: &'static str, message: Msg) {
        self.errors.push(RowError {
            line: self.line,
            column: Some(self.header.name(column).to_owned()),
            value: value.map(str::to_owned),
            code,
            message,
        });
    }

    /// A rule's own error, reported against `column` (or the column its field names).
    fn broken(&mut self, column: Option<usize>, value: Option<&str>, err: &AppError) {
        let column = column.or_else(|| column_of_field(err));
        let mut error = row_error(self.line, None, err);
        if let Some(column) = column {
            error.column = Some(self.header.name(column).to_owned());
            error.value = value.map(str::to_owned);
        }
        self.errors.push(error);
    }

    /// The row as an enrollment, or None with every error it has in `errors`.
    fn parse(&mut self, context: &Context, lookups: &Lookups, seen: &mut Seen) -> Option<Enrollment> {
        let (width, named_width) = (self.record.cells.len(), self.header.named_width);
        let unnamed = self.record.cells.iter().skip(named_width).any(|c| !c.iter().all(u8::is_ascii_whitespace));
        if width < named_width || unnamed {
            // The cells are not where the header says: any other error would be noise.
            let message = Msg::RowWidth { cells: width, header: named_width };
            self.errors.push(RowError { line: self.line, column: None, value: None, code: "BAD_USER_INPUT", message });
            return None;
        }
        let nik = self.nik(context, seen);
        let full_name = self.required(FULL_NAME).ok().and_then(|text| match check_name(text) {
            Ok(_) if name_key(text) == lookups.example_name => {
                self.fail(FULL_NAME, Some(text), "BAD_USER_INPUT", Msg::ExampleRow);
                None
            }
            Ok(name) => Some(name),
            Err(err) => {
                self.broken(Some(FULL_NAME), Some(text), &err);
                None
            }
        });
        let occupation = self.required(OCCUPATION).ok().and_then(|text| match lookups.occupations.find(text) {
            Ok(occupation) => Some(occupation),
            Err(message) => {
                self.fail(OCCUPATION, Some(text), "BAD_USER_INPUT", message);
                None
            }
        });
        let district = self.required(DISTRICT).ok().and_then(|text| {
            let found = context.areas.district(text).cloned().or_else(|| lookups.districts.find(text));
            if found.is_none() {
                let regency = lookups.regency_name.clone();
                self.fail(DISTRICT, Some(text), "BAD_USER_INPUT", Msg::NoDistrictNamed { regency });
            }
            found
        });
        let membership_number = self.membership_number(seen);
        let funding_source =
            self.optional(FUNDING_SOURCE, FundingSource::Apbd, |text| lookups.funding_sources.find(text));
        let programs = self.programs(&lookups.programs);
        let income = match self.cell(INCOME) {
            Ok(None) => Ok(None),
            Ok(Some(text)) => cells::parse_rupiah(text)
                .map(Some)
                .ok_or_else(|| self.fail(INCOME, Some(text), "BAD_USER_INPUT", Msg::IncomeNotWhole)),
            Err(()) => Err(()),
        };
        let starts_on = self.required(STARTS_ON).ok().and_then(|text| self.date(STARTS_ON, text));
        let ends_on = match self.cell(ENDS_ON) {
            Ok(None) => Ok(None),
            Ok(Some(text)) => self.date(ENDS_ON, text).map(Some).ok_or(()),
            Err(()) => Err(()),
        };
        let terms = match (programs, income, starts_on, ends_on) {
            (Ok(programs), Ok(income), Some(starts_on), Ok(ends_on)) => {
                self.terms(programs.as_deref(), income, starts_on, ends_on)
            }
            _ => None,
        };
        let (Some((nik_text, nik)), Some(terms)) = (nik, terms) else { return None };
        if let Err(err) = terms.check_birth(nik.birth_date) {
            let text = self.cell(STARTS_ON).ok().flatten();
            self.broken(Some(STARTS_ON), text, &err);
            return None;
        }
        let (Some(full_name), Some(occupation), Some(district), Ok(membership_number), Ok(funding_source)) =
            (full_name, occupation, district, membership_number, funding_source)
        else {
            return None;
        };
        if !self.errors.is_empty() {
            return None;
        }
        Some(Enrollment {
            line: self.line,
            nik: nik_text.to_owned(),
            full_name,
            gender: nik.gender,
            birth_date: nik.birth_date,
            occupation,
            regency_code: district.regency_code.clone(),
            district_code: district.code.clone(),
            membership_number,
            funding_source,
            terms,
        })
    }

    fn nik(&mut self, context: &Context, seen: &mut Seen) -> Option<(&'a str, Nik)> {
        let text = self.required(NIK).ok()?;
        if self.held_as_number(NIK, text) {
            return None;
        }
        seen.identity.nik(text);
        let nik = match check_nik(&context.areas, text) {
            Ok(nik) => nik,
            Err(err) => {
                self.note_scientific(NIK, text, seen);
                self.broken(Some(NIK), Some(text), &err);
                return None;
            }
        };
        // A NIK is 16 digits: as a number it fits a u64.
        if !seen.niks.insert(text.parse().unwrap_or_default()) {
            self.fail(NIK, Some(text), "CONFLICT", Msg::NikOnEarlierLine);
            return None;
        }
        Some((text, nik))
    }

    fn membership_number(&mut self, seen: &mut Seen) -> Result<Option<String>, ()> {
        let Some(text) = self.cell(MEMBERSHIP_NUMBER)? else { return Ok(None) };
        if self.held_as_number(MEMBERSHIP_NUMBER, text) {
            return Err(());
        }
        let number = match check_membership_number(text) {
            Ok(number) => number,
            Err(err) => {
                seen.identity.membership_number(text);
                self.note_scientific(MEMBERSHIP_NUMBER, text, seen);
                self.broken(Some(MEMBERSHIP_NUMBER), Some(text), &err);
                return Err(());
            }
        };
        if !seen.membership_numbers.insert(number.parse().unwrap_or_default()) {
            self.fail(MEMBERSHIP_NUMBER, Some(text), "CONFLICT", Msg::MembershipNumberOnEarlierLine);
            return Err(());
        }
        Ok(Some(number))
    }

    /// Whether the worksheet holds the cell as a number where digits must be text (a NIK, a
    /// membership number): Excel keeps 15 digits of a number, so it cannot be trusted. Reported
    /// as the row's error, with the value as Excel shows it.
    fn held_as_number(&mut self, column: usize, text: &str) -> bool {
        let number = self.header.positions[column].is_some_and(|p| self.record.numbers.contains(&p));
        if number {
            let name = self.header.name(column).to_owned();
            self.fail(column, Some(text), "BAD_USER_INPUT", Msg::CellIsNumber { column: name });
        }
        number
    }

    fn note_scientific(&self, column: usize, text: &str, seen: &mut Seen) {
        if seen.scientific_example.is_none() && looks_scientific(text) {
            seen.scientific_example = Some((self.line, self.header.name(column).to_owned(), text.to_owned()));
        }
    }

    fn optional<T>(&mut self, column: usize, default: T, parse: impl FnOnce(&str) -> Result<T, Msg>) -> Result<T, ()> {
        match self.cell(column)? {
            None => Ok(default),
            Some(text) => parse(text).map_err(|message| self.fail(column, Some(text), "BAD_USER_INPUT", message)),
        }
    }

    fn programs(&mut self, choices: &Choices<Program>) -> Result<Option<Vec<Program>>, ()> {
        let Some(text) = self.cell(PROGRAMS)? else { return Ok(None) };
        let parsed = text
            .split(|c: char| c == '|' || c == ',' || c == ';' || c == '+' || c == '/' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(|p| choices.find(p))
            .collect::<Result<Vec<_>, _>>();
        parsed.map(Some).map_err(|message| self.fail(PROGRAMS, Some(text), "BAD_USER_INPUT", message))
    }

    fn date(&mut self, column: usize, text: &str) -> Option<NaiveDate> {
        let date = cells::parse_date(text);
        if date.is_none() {
            let name = self.header.name(column).to_owned();
            self.fail(column, Some(text), "BAD_USER_INPUT", Msg::DateFormat { column: name, text: text.to_owned() });
        }
        date
    }

    /// enrollWorker's terms, with every one of their errors: after each, the input at fault is
    /// set aside (its default) and the terms are checked again.
    fn terms(
        &mut self,
        programs: Option<&[Program]>,
        income: Option<i64>,
        starts_on: NaiveDate,
        ends_on: Option<NaiveDate>,
    ) -> Option<Terms> {
        let (mut programs, mut income, mut ends_on) = (programs, income, ends_on);
        let mut failed = false;
        for _ in 0..4 {
            match Terms::check(programs, income, starts_on, ends_on) {
                Ok(terms) => return (!failed).then_some(terms),
                Err(err) => {
                    failed = true;
                    let column = column_of_field(&err);
                    let value = column.and_then(|c| self.cell(c).ok().flatten());
                    self.broken(column, value, &err);
                    match column {
                        Some(PROGRAMS) if programs.is_some() => programs = None,
                        Some(INCOME) if income.is_some() => income = None,
                        Some(ENDS_ON) if ends_on.is_some() => ends_on = None,
                        _ => return None,
                    }
                }
            }
        }
        None
    }
}

/// The column of a rule's input field ("startsOn" is starts_on).
fn column_of_field(err: &AppError) -> Option<usize> {
    match err {
        AppError::BadInput { field, .. } => COLUMNS.iter().position(|c| c.replace('_', "") == field.to_lowercase()),
        _ => None,
    }
}

const ABANDONED: &str = "the import was abandoned while reading";

/// The rows had nowhere to go: the staging stopped (and has the error that says why).
fn abandoned() -> AppError {
    AppError::Internal(ABANDONED.into())
}

pub fn is_abandoned(err: &AppError) -> bool {
    matches!(err, AppError::Internal(message) if message == ABANDONED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(line: &str) -> AppResult<Header> {
        let mut reader = csv::ReaderBuilder::new().delimiter(b';').has_headers(false).from_reader(line.as_bytes());
        let mut record = csv::ByteRecord::new();
        reader.read_byte_record(&mut record).unwrap();
        Header::parse(&record)
    }

    #[test]
    fn headers_in_indonesian_and_english_any_case_and_spacing() {
        for (text, column) in [
            ("nik", Some(Ok(NIK))),
            ("NIK", Some(Ok(NIK))),
            ("Nama", Some(Ok(FULL_NAME))),
            (" nama  lengkap ", Some(Ok(FULL_NAME))),
            ("Full Name", Some(Ok(FULL_NAME))),
            ("KODE KECAMATAN", Some(Ok(DISTRICT))),
            ("Tanggal Selesai", Some(Ok(ENDS_ON))),
            ("No. KPJ", Some(Ok(MEMBERSHIP_NUMBER))),
            ("No", Some(Err(()))),
            ("no.", Some(Err(()))),
            ("Alamat", None),
        ] {
            assert_eq!(column_named(text), column, "{text:?}");
        }
    }

    #[test]
    fn a_trailing_empty_column_is_no_column_but_an_empty_one_inside_is_refused() {
        let parsed = header("No;NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai;;").unwrap();
        assert_eq!((parsed.named_width, parsed.positions[NIK], parsed.name(STARTS_ON)), (6, Some(1), "Tanggal Mulai"));
        assert_eq!(parsed.name(ENDS_ON), "ends_on", "absent: its canonical name");
        let refused = header("NIK;;Nama;Pekerjaan;Kecamatan;Tanggal Mulai").err().unwrap();
        assert!(matches!(refused.message(), Msg::UnknownColumn { name, .. } if name.is_empty()));
        let twice = header("NIK;Nama;full_name;Pekerjaan;Kecamatan;Tanggal Mulai").err().unwrap();
        assert_eq!(twice.message(), Msg::ColumnTwice { column: "full_name".into() });
    }

    #[test]
    fn the_templates_headers_name_their_columns() {
        for (i, header) in HEADERS_ID.iter().enumerate() {
            assert_eq!(column_named(header), Some(Ok(i)), "{header}");
        }
    }
}
