//! The enrollment template: an Excel workbook a regency's clerks fill in and import as it is.
//! Indonesian headers (the import's Indonesian names), the NIK and membership-number columns
//! formatted as Text before anyone types into them (Excel keeps 15 digits of a number), drop-downs
//! for the occupation (the names the dashboard shows) and for the regency's kecamatan, the funding
//! source and dates checked as they are typed, and one example row, which the import refuses by
//! its name (a template sent back as it is registers nobody).
//!
//! It holds no personal data (area names, occupations and a made-up example): anyone may have it.
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DataValidation, DataValidationErrorStyle, Formula};

use super::export::TEXT_COLUMNS;
use super::import::file::HEADERS_ID;
use super::sheet::EXAMPLE_NAME;
use super::workbook::{Cell, SheetOut, xlsx_error};
use crate::areas::Areas;
use crate::domain::cells::OCCUPATION_NAMES_ID;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// The sheet of the lists the drop-downs offer (hidden: a list written into the validation
/// itself may not pass 255 characters, and a regency may have 40 kecamatan).
const LISTS: &str = "Daftar";

/// The rows the drop-downs and checks cover: Excel's whole sheet below the header.
const LAST_ROW: u32 = 1_048_575;

/// Funding sources as the import reads them, as offered in the drop-down.
const FUNDING_SOURCES: [&str; 4] = ["APBD", "APBD Provinsi", "ABT", "Mandiri"];

/// The template for `regency_code`, as the bytes of an .xlsx file; `today` gives the example's
/// year.
pub fn enrollments(areas: &Areas, regency_code: &str, today: NaiveDate) -> AppResult<Vec<u8>> {
    let regency = areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regency", Msg::UnknownRegency))?;
    let districts: Vec<&str> = areas.districts_of(regency).map(|d| d.name.as_str()).collect();
    let first =
        areas.districts_of(regency).next().ok_or_else(|| AppError::bad_input("regency", Msg::UnknownRegency))?;
    let mut sheet = SheetOut::new("Peserta", &TEXT_COLUMNS, false)?;
    sheet.header(HEADERS_ID)?;
    let year = today.year();
    let (starts_on, ends_on) = (day(year, 1, 1)?, day(year, 12, 31)?);
    // A NIK of the first kecamatan, born 1 January 1990, serial 0001: a NIK as the import checks it.
    let example_nik = format!("{}0101900001", first.code.replace('.', ""));
    sheet.write_row([
        Cell::Text(&example_nik),
        Cell::Text(EXAMPLE_NAME),
        Cell::Text("Petani"),
        Cell::Text(&first.name),
        Cell::Date(starts_on),
        Cell::Date(ends_on),
        Cell::Text("APBD"),
        Cell::Text("JKK|JKM"),
        Cell::Number(1_000_000),
        Cell::Empty,
    ])?;
    lists(&mut sheet, &districts)?;
    let validations = validations(districts.len())?;
    let main = sheet.sheet()?;
    for (column, width) in
        [(0, 20.0), (1, 30.0), (2, 22.0), (3, 22.0), (4, 14.0), (5, 14.0), (6, 14.0), (7, 14.0), (8, 14.0), (9, 16.0)]
    {
        main.set_column_width(column, width).map_err(xlsx_error)?;
    }
    for (column, validation) in validations {
        main.add_data_validation(1, column, LAST_ROW, column, &validation).map_err(xlsx_error)?;
    }
    sheet.finish()
}

fn day(year: i32, month: u32, date: u32) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, date)
        .ok_or_else(|| AppError::Internal(format!("no date {year}-{month}-{date}")))
}

/// The hidden sheet: occupations in column A, the regency's kecamatan in B.
fn lists(sheet: &mut SheetOut, districts: &[&str]) -> AppResult<()> {
    let lists = sheet.workbook().add_worksheet();
    lists.set_name(LISTS).map_err(xlsx_error)?;
    for (row, (_, name)) in (0u32..).zip(OCCUPATION_NAMES_ID.iter()) {
        lists.write_string(row, 0, *name).map_err(xlsx_error)?;
    }
    for (row, name) in (0u32..).zip(districts) {
        lists.write_string(row, 1, *name).map_err(xlsx_error)?;
    }
    lists.set_hidden(true);
    Ok(())
}

/// What each column accepts, by column number.
fn validations(districts: usize) -> AppResult<Vec<(u16, DataValidation)>> {
    let list = |range: String, title: &str, message: &str| -> AppResult<DataValidation> {
        DataValidation::new()
            .allow_list_formula(Formula::new(range))
            .set_error_title(title)
            .and_then(|v| v.set_error_message(message))
            .map_err(xlsx_error)
    };
    let occupations =
        list(format!("={LISTS}!$A$1:$A${}", OCCUPATION_NAMES_ID.len()), "Pekerjaan", "Pilih pekerjaan dari daftar.")?;
    let kecamatan =
        list(format!("={LISTS}!$B$1:$B${}", districts.max(1)), "Kecamatan", "Pilih kecamatan dari daftar.")?;
    // The import also reads codes and other names: a warning, not a refusal.
    let funding = DataValidation::new()
        .allow_list_strings(&FUNDING_SOURCES)
        .map_err(xlsx_error)?
        .set_error_style(DataValidationErrorStyle::Warning);
    Ok(vec![(2, occupations), (3, kecamatan.set_error_style(DataValidationErrorStyle::Warning)), (6, funding)])
}
