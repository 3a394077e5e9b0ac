//! Writing the enrollment file as an Excel workbook (.xlsx), shared by the export and the
//! template: identity numbers (NIK, membership number) as text cells in columns formatted as Text,
//! so that Excel never turns them into numbers of 15 digits; dates as real dates shown ISO; money
//! as numbers. A cell that starts like a formula is a text cell with Excel's quote prefix: shown
//! as it is, never run, and still text when someone edits it.
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::sheet;
use crate::error::{AppError, AppResult};

/// A cell of a row to write.
pub enum Cell<'a> {
    Text(&'a str),
    Date(NaiveDate),
    Number(i64),
    Empty,
}

/// One sheet being written, row after row.
pub struct SheetOut {
    workbook: Workbook,
    text: Format,
    quoted: Format,
    date: Format,
    header: Format,
    next_row: u32,
}

impl SheetOut {
    /// A workbook of one sheet named `name`, its columns of identity numbers (`text_columns`)
    /// formatted as Text. `constant_memory`: rows go to a temporary file as they are written
    /// (an export of any size), at the price of a few features a template needs.
    pub fn new(name: &str, text_columns: &[u16], constant_memory: bool) -> AppResult<SheetOut> {
        let mut workbook = Workbook::new();
        let text = Format::new().set_num_format("@");
        let worksheet = if constant_memory {
            workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?
        } else {
            workbook.add_worksheet()
        };
        worksheet.set_name(name).map_err(xlsx_error)?;
        for column in text_columns {
            worksheet.set_column_format(*column, &text).map_err(xlsx_error)?;
        }
        Ok(SheetOut {
            workbook,
            quoted: text.clone().set_quote_prefix(),
            text,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            header: Format::new().set_bold(),
            next_row: 0,
        })
    }

    /// The sheet, for what only a template adds (widths, validations).
    pub fn sheet(&mut self) -> AppResult<&mut Worksheet> {
        self.workbook.worksheet_from_index(0).map_err(xlsx_error)
    }

    pub fn workbook(&mut self) -> &mut Workbook {
        &mut self.workbook
    }

    /// The header row, bold, and frozen above the rows.
    pub fn header<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> AppResult<()> {
        let header = self.header.clone();
        let sheet = self.sheet()?;
        for (column, name) in names.into_iter().enumerate() {
            sheet.write_string_with_format(0, column_number(column)?, name, &header).map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        self.next_row = 1;
        Ok(())
    }

    pub fn write_row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) -> AppResult<()> {
        let row = self.next_row;
        let (text, quoted, date) = (self.text.clone(), self.quoted.clone(), self.date.clone());
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        for (column, cell) in cells.into_iter().enumerate() {
            let column = column_number(column)?;
            match cell {
                Cell::Text("") | Cell::Empty => continue,
                Cell::Text(value) => {
                    let (value, formula_like) = sheet::for_workbook(value);
                    let format = if formula_like { &quoted } else { &text };
                    sheet.write_string_with_format(row, column, value.as_ref(), format)
                }
                Cell::Date(day) => sheet.write_datetime_with_format(row, column, excel_date(day)?, &date),
                Cell::Number(n) => sheet.write_number(row, column, n as f64),
            }
            .map_err(xlsx_error)?;
        }
        self.next_row += 1;
        Ok(())
    }

    /// The workbook's bytes.
    pub fn finish(mut self) -> AppResult<Vec<u8>> {
        self.workbook.save_to_buffer().map_err(xlsx_error)
    }
}

fn column_number(column: usize) -> AppResult<u16> {
    u16::try_from(column).map_err(|_| AppError::Internal(format!("workbook column {column}")))
}

pub fn excel_date(day: NaiveDate) -> AppResult<ExcelDateTime> {
    let (year, month, date) = (u16::try_from(day.year()).unwrap_or(0), day.month() as u8, day.day() as u8);
    ExcelDateTime::from_ymd(year, month, date).map_err(xlsx_error)
}

pub fn xlsx_error(err: XlsxError) -> AppError {
    AppError::Internal(format!("workbook: {err}"))
}
