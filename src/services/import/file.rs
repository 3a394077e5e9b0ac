//! Reading an enrollment file: the header, then every row checked against the rules that need no
//! database (registerWorker's and enrollWorker's, the caller's scope, duplicates within the file).
//! Runs on a blocking thread and hands the good rows on in chunks while it reads, so a file of any
//! size streams through bounded memory.
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::ActiveEnum;
use sha2::{Digest, Sha256};

use super::report::{RowError, row_error};
use crate::areas::Areas;
use crate::auth::Actor;
use crate::domain::types::{FundingSource, Gender, Occupation, Program};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::services::coverage::Terms;
use crate::services::sheet::{self, COLUMNS};
use crate::services::workers::{check_membership_number, check_name, check_nik};
use crate::stats::tally::{Period, Profile, Tally};

const REQUIRED: [&str; 5] = ["nik", "full_name", "occupation", "district_code", "starts_on"];
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
    /// The first `keep_errors` error rows, in line order.
    pub errors: Vec<RowError>,
    pub errors_total: u64,
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

/// Reads the whole file, sending good rows to `send` in chunks (it returns false when the
/// receiver is gone: the import was abandoned). A file that cannot be read as an enrollment list
/// (header, I/O) is an error for the whole file.
pub fn read(
    source: impl Read,
    context: &Context,
    keep_errors: usize,
    mut send: impl FnMut(Vec<Enrollment>) -> bool,
    mut progress: impl FnMut(u64),
) -> AppResult<Reading> {
    let mut source = BufReader::with_capacity(1 << 16, Hashing { inner: source, hasher: Sha256::new(), bytes: 0 });
    let delimiter = sniff_delimiter(&mut source)?;
    let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(source);
    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(file_error)? {
        return Err(AppError::bad_input("file", Msg::FileEmpty));
    }
    let header = Header::parse(&record)?;
    let mut reading = Reading::default();
    let mut seen = Seen::default();
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    while csv.read_byte_record(&mut record).map_err(file_error)? {
        if record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
            continue; // Blank lines and the empty rows spreadsheets leave at the end.
        }
        reading.rows_read += 1;
        let line = record.position().map_or(0, |p| p.line());
        match parse_row(&header, &record, line, context, &mut seen) {
            Ok(row) => {
                row.add_to(&mut reading.tally, &context.regency_code, 1);
                chunk.push(row);
                if chunk.len() == CHUNK_ROWS {
                    if !send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS))) {
                        return Err(abandoned());
                    }
                    progress(reading.rows_read);
                }
            }
            Err(error) => {
                reading.errors_total += 1;
                if reading.errors.len() < keep_errors {
                    reading.errors.push(error);
                }
            }
        }
    }
    if !chunk.is_empty() && !send(chunk) {
        return Err(abandoned());
    }
    progress(reading.rows_read);
    let hashing = csv.into_inner().into_inner();
    reading.sha256 = hex::encode(hashing.hasher.finalize());
    Ok(reading)
}

/// Hashes what passes through (the audit names the file by its SHA-256).
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
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
/// the header line has more of.
fn sniff_delimiter<R: Read>(source: &mut BufReader<R>) -> AppResult<u8> {
    let buffer =
        source.fill_buf().map_err(|e| AppError::bad_input("file", Msg::FileUnreadable { detail: e.to_string() }))?;
    if buffer.starts_with(b"\xEF\xBB\xBF") {
        source.consume(3);
    }
    let buffer =
        source.fill_buf().map_err(|e| AppError::bad_input("file", Msg::FileUnreadable { detail: e.to_string() }))?;
    let header = buffer.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |delimiter: u8| header.iter().filter(|b| **b == delimiter).count();
    Ok(if count(b';') > count(b',') { b';' } else { b',' })
}

/// Where each known column is in the file.
struct Header {
    positions: HashMap<&'static str, usize>,
    width: usize,
}

impl Header {
    fn parse(record: &csv::ByteRecord) -> AppResult<Header> {
        let mut positions = HashMap::new();
        for (position, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| AppError::bad_input("file", Msg::HeaderNotUtf8))?
                .trim()
                .to_lowercase();
            let Some(column) = COLUMNS.iter().find(|c| **c == name) else {
                return Err(AppError::bad_input(
                    "file",
                    Msg::UnknownColumn { name: name.clone(), columns: COLUMNS.join(", ") },
                ));
            };
            if positions.insert(*column, position).is_some() {
                return Err(AppError::bad_input("file", Msg::ColumnTwice { column }));
            }
        }
        let missing: Vec<&str> = REQUIRED.iter().filter(|c| !positions.contains_key(*c)).copied().collect();
        if !missing.is_empty() {
            return Err(AppError::bad_input("file", Msg::MissingColumns { columns: missing.join(", ") }));
        }
        Ok(Header { positions, width: record.len() })
    }
}

/// NIKs and membership numbers met so far: a second occurrence is an error on its line.
#[derive(Default)]
struct Seen {
    niks: HashSet<u64>,
    membership_numbers: HashSet<u128>,
}

/// One row's cells, by column name, trimmed and restored from an export's neutralisation; empty
/// cells are absent.
struct Cells<'a> {
    header: &'a Header,
    record: &'a csv::ByteRecord,
    line: u64,
}

impl Cells<'_> {
    fn get(&self, column: &'static str) -> Result<Option<&str>, RowError> {
        let Some(raw) = self.header.positions.get(column).and_then(|p| self.record.get(*p)) else {
            return Ok(None);
        };
        let text = std::str::from_utf8(raw).map_err(|_| RowError {
            line: self.line,
            column: Some(column),
            code: "BAD_USER_INPUT",
            message: Msg::CellNotUtf8,
        })?;
        // A cell an export made inert ("'=...") is read as it was stored, so an export imports
        // back exactly; a name that then starts like a formula is refused by the name's rule.
        Ok(Some(sheet::restore(text.trim())).filter(|t| !t.is_empty()))
    }

    fn required(&self, column: &'static str) -> Result<&str, RowError> {
        self.get(column)?.ok_or_else(|| self.error(column, Msg::CellRequired { column }))
    }

    fn error(&self, column: &'static str, message: Msg) -> RowError {
        RowError { line: self.line, column: Some(column), code: "BAD_USER_INPUT", message }
    }

    /// The rule's own error, reported against this row's column.
    fn broken(&self, column: &'static str, err: AppError) -> RowError {
        row_error(self.line, Some(column), &err)
    }
}

fn parse_row(
    header: &Header,
    record: &csv::ByteRecord,
    line: u64,
    context: &Context,
    seen: &mut Seen,
) -> Result<Enrollment, RowError> {
    let cells = Cells { header, record, line };
    if record.len() != header.width {
        return Err(RowError {
            line,
            column: None,
            code: "BAD_USER_INPUT",
            message: Msg::RowWidth { cells: record.len(), header: header.width },
        });
    }
    let nik_text = cells.required("nik")?;
    let nik = check_nik(&context.areas, nik_text).map_err(|e| cells.broken("nik", e))?;
    // A NIK is 16 digits: as a number it fits a u64.
    if !seen.niks.insert(nik_text.parse().unwrap_or_default()) {
        return Err(RowError { line, column: Some("nik"), code: "CONFLICT", message: Msg::NikOnEarlierLine });
    }
    let full_name = check_name(cells.required("full_name")?).map_err(|e| cells.broken("full_name", e))?;
    let occupation = parse_name::<Occupation>(&cells, "occupation", cells.required("occupation")?)?;
    let district_code = cells.required("district_code")?;
    let district =
        context.areas.district(district_code).ok_or_else(|| cells.error("district_code", Msg::UnknownDistrict))?;
    let membership_number = match cells.get("membership_number")? {
        None => None,
        Some(text) => {
            let number = check_membership_number(text).map_err(|e| cells.broken("membership_number", e))?;
            if !seen.membership_numbers.insert(number.parse().unwrap_or_default()) {
                return Err(RowError {
                    line,
                    column: Some("membership_number"),
                    code: "CONFLICT",
                    message: Msg::MembershipNumberOnEarlierLine,
                });
            }
            Some(number)
        }
    };
    let funding_source = match cells.get("funding_source")? {
        None => FundingSource::Apbd,
        Some(text) => parse_funding_source(&cells, text)?,
    };
    let programs = match cells.get("programs")? {
        None => None,
        Some(text) => Some(
            text.split(|c: char| c == '|' || c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .map(|p| parse_name::<Program>(&cells, "programs", p))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let income = match cells.get("declared_monthly_income")? {
        None => None,
        Some(text) => {
            Some(text.parse::<i64>().map_err(|_| cells.error("declared_monthly_income", Msg::IncomeNotWhole))?)
        }
    };
    let starts_on = parse_date(&cells, "starts_on", cells.required("starts_on")?)?;
    let ends_on = cells.get("ends_on")?.map(|text| parse_date(&cells, "ends_on", text)).transpose()?;
    let terms = Terms::check(programs.as_deref(), income, starts_on, ends_on).map_err(|e| row_error(line, None, &e))?;
    terms.check_birth(nik.birth_date).map_err(|e| row_error(line, None, &e))?;
    Ok(Enrollment {
        line,
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

fn parse_date(cells: &Cells<'_>, column: &'static str, text: &str) -> Result<NaiveDate, RowError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| cells.error(column, Msg::DateFormat { column, text: text.to_owned() }))
}

/// An enum by its stored name, case-insensitive ("street_vendor" is STREET_VENDOR).
fn parse_name<E: ActiveEnum<Value = String> + sea_orm::Iterable>(
    cells: &Cells<'_>,
    column: &'static str,
    text: &str,
) -> Result<E, RowError> {
    let wanted = text.to_uppercase().replace([' ', '-'], "_");
    E::iter().find(|value| value.to_value() == wanted).ok_or_else(|| {
        let names: Vec<String> = E::iter().map(|v| v.to_value()).collect();
        cells.error(column, Msg::NotOneOf { text: text.to_owned(), names: names.join(", ") })
    })
}

/// As the API names them: SELF is stored as SELF_FUNDED.
fn parse_funding_source(cells: &Cells<'_>, text: &str) -> Result<FundingSource, RowError> {
    if text.eq_ignore_ascii_case("SELF") {
        return Ok(FundingSource::SelfFunded);
    }
    parse_name::<FundingSource>(cells, "funding_source", text)
}

const ABANDONED: &str = "the import was abandoned while reading";

/// The rows had nowhere to go: the staging stopped (and has the error that says why).
fn abandoned() -> AppError {
    AppError::Internal(ABANDONED.into())
}

pub fn is_abandoned(err: &AppError) -> bool {
    matches!(err, AppError::Internal(message) if message == ABANDONED)
}
