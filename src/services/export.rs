//! `jaminan export enrollments`: a regency's coverage in a year as the import's CSV (full NIKs:
//! for the operators of the database only), so that the file imported into an empty database
//! gives the same coverage statistics for that regency and year.
//! Written with `sheet::SheetWriter`, so that no cell runs as a formula in a spreadsheet.
use std::io::{self, Write};

use futures_util::StreamExt;
use sea_orm::{ActiveEnum, DatabaseConnection, FromQueryResult, StreamTrait};

use super::sheet::{COLUMNS, SheetWriter, funding_source_name, programs_text};
use super::{check_year, year_bounds};
use crate::areas::Areas;
use crate::db::statement;
use crate::domain::coverage_period::Programs;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

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
               WHERE c.regency_code = ? AND c.cancelled_at IS NULL AND c.starts_on <= ? AND (c.ends_on IS NULL OR c.ends_on >= ?) \
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
