//! A regency's coverage in a year as the import's file (full NIKs), so that the file imported
//! into an empty database gives the same coverage statistics for that regency and year: CSV
//! (`,`, or `;` for Excel set to Indonesian) or an Excel workbook. `jaminan export enrollments`
//! writes it for the operators of the database; `download` for OPERATOR keys and above in scope,
//! each worker's row audited as a personal-data read before the file leaves.
//! Written with `sheet::SheetWriter` or `workbook::SheetOut`, so that no cell runs as a formula
//! in a spreadsheet.
use std::io::{self, Write};

use futures_util::StreamExt;
use sea_orm::{ActiveEnum, DatabaseConnection, FromQueryResult, StreamTrait};

use super::AppState;
use super::access::{require_reach, require_role};
use super::personal_data::{self, PersonalRead};
use super::sheet::{COLUMNS, SheetWriter, funding_source_name, programs_text};
use super::workbook::{Cell, SheetOut};
use super::{check_year, year_bounds};
use crate::areas::Areas;
use crate::auth::{Caller, Role};
use crate::db::statement;
use crate::domain::coverage_period::Programs;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `,` or `;` (with a byte-order mark, as Excel writes it, for Excel set to Indonesian).
    Csv {
        delimiter: char,
    },
    Xlsx,
}

impl ExportFormat {
    pub const CSV: ExportFormat = ExportFormat::Csv { delimiter: ',' };

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv { .. } => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Csv { .. } => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// The columns of identity numbers: text, never numbers (Excel keeps 15 digits of a number).
pub const TEXT_COLUMNS: [u16; 2] = [0, 9];

#[derive(FromQueryResult)]
struct ExportRow {
    worker_id: i64,
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
    format: ExportFormat,
    out: impl Write,
) -> AppResult<u64> {
    write(db, areas, regency_code, year, format, out, |_, _| {}).await
}

/// An export over HTTP, as bytes.
pub struct Download {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

/// The export for a key: OPERATOR and above, the regency in its scope. Every worker in the file
/// is audited as a personal-data read (`exportEnrollments`), in the audit log before the file is
/// handed over: no audit, no file.
pub async fn download(
    state: &AppState,
    caller: &Caller,
    regency_code: &str,
    year: i32,
    format: ExportFormat,
) -> AppResult<Download> {
    let actor = require_role(caller, Role::Operator)?;
    let regency =
        state.areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regency", Msg::UnknownRegency))?;
    require_reach(actor, &regency.code)?;
    let mut bytes = Vec::new();
    let mut workers = Vec::new();
    let rows = write(&state.db, &state.areas, &regency.code, year, format, &mut bytes, |id, nik| {
        workers.push((id, nik.to_owned()));
    })
    .await?;
    personal_data::record_now(&state.db, actor, PersonalRead::Export, &workers).await?;
    Ok(Download { bytes, rows })
}

async fn write(
    db: &DatabaseConnection,
    areas: &Areas,
    regency_code: &str,
    year: i32,
    format: ExportFormat,
    out: impl Write,
    mut each: impl FnMut(i64, &str),
) -> AppResult<u64> {
    let regency = areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    let (first, last) = year_bounds(check_year("year", year)?);
    let sql = "SELECT w.id AS worker_id, w.nik, w.full_name, w.occupation, w.district_code, c.starts_on, c.ends_on, \
               c.funding_source, c.programs, c.declared_monthly_income, w.membership_number \
               FROM coverage c JOIN worker w ON w.id = c.worker_id \
               WHERE c.regency_code = ? AND c.cancelled_at IS NULL AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
               ORDER BY w.id, c.starts_on";
    let query = statement(db.get_database_backend(), sql, vec![regency.code.clone().into(), last.into(), first.into()]);
    let mut sink = match format {
        ExportFormat::Csv { delimiter } => {
            let mut csv = SheetWriter::with_delimiter(out, delimiter);
            if delimiter != ',' {
                csv.preamble(b"\xEF\xBB\xBF").map_err(write_error)?;
            }
            Sink::Csv(csv)
        }
        ExportFormat::Xlsx => Sink::Xlsx(Box::new(SheetOut::new("Peserta", &TEXT_COLUMNS, true)?), out),
    };
    sink.header()?;
    let mut rows = db.stream_raw(query).await?;
    let mut written = 0;
    while let Some(row) = rows.next().await {
        let row = ExportRow::from_query_result(&row?, "")?;
        each(row.worker_id, &row.nik);
        sink.row(&row)?;
        written += 1;
    }
    drop(rows);
    match sink {
        Sink::Csv(mut csv) => csv.flush().map_err(write_error)?,
        Sink::Xlsx(sheet, mut out) => {
            let bytes = sheet.finish()?;
            out.write_all(&bytes).map_err(write_error)?;
            out.flush().map_err(write_error)?;
        }
    }
    Ok(written)
}

/// Where the rows go.
enum Sink<W: Write> {
    Csv(SheetWriter<W>),
    Xlsx(Box<SheetOut>, W),
}

impl<W: Write> Sink<W> {
    fn header(&mut self) -> AppResult<()> {
        match self {
            Sink::Csv(csv) => csv.write_row(COLUMNS).map_err(write_error),
            Sink::Xlsx(sheet, _) => sheet.header(COLUMNS),
        }
    }

    fn row(&mut self, row: &ExportRow) -> AppResult<()> {
        let occupation = row.occupation.to_value();
        let funding_source = funding_source_name(row.funding_source);
        let programs = programs_text(Programs::from_column(&row.programs));
        let district = row.district_code.as_deref().unwrap_or_default();
        let membership_number = row.membership_number.as_deref().unwrap_or_default();
        match self {
            Sink::Csv(csv) => {
                let ends_on = row.ends_on.map(|d| d.to_string()).unwrap_or_default();
                csv.write_row([
                    row.nik.as_str(),
                    row.full_name.as_str(),
                    occupation.as_str(),
                    district,
                    row.starts_on.to_string().as_str(),
                    ends_on.as_str(),
                    funding_source.as_str(),
                    programs.as_str(),
                    row.declared_monthly_income.to_string().as_str(),
                    membership_number,
                ])
                .map_err(write_error)
            }
            Sink::Xlsx(sheet, _) => sheet.write_row([
                Cell::Text(&row.nik),
                Cell::Text(&row.full_name),
                Cell::Text(&occupation),
                Cell::Text(district),
                Cell::Date(row.starts_on),
                row.ends_on.map_or(Cell::Empty, Cell::Date),
                Cell::Text(&funding_source),
                Cell::Text(&programs),
                Cell::Number(row.declared_monthly_income),
                Cell::Text(membership_number),
            ]),
        }
    }
}

fn write_error(err: io::Error) -> AppError {
    AppError::Internal(format!("export: {err}"))
}
