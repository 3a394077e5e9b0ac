//! Values as PostgreSQL COPY text fields (tab-separated, `\N` for NULL, backslash escapes), for
//! the seed and the import's staging table.
use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};

/// Appends one field and its separator (a tab, or the line end after the last field).
pub trait Field {
    fn put(&self, out: &mut String);
}

impl Field for &str {
    fn put(&self, out: &mut String) {
        for c in self.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}

impl Field for String {
    fn put(&self, out: &mut String) {
        self.as_str().put(out);
    }
}

impl Field for i64 {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Field for i32 {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Field for NaiveDate {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Field for DateTime<Utc> {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{}+00", self.naive_utc());
    }
}

impl<T: Field> Field for Option<T> {
    fn put(&self, out: &mut String) {
        match self {
            Some(value) => value.put(out),
            None => out.push_str("\\N"),
        }
    }
}

/// Appends one row: its fields, tab-separated, and a line end.
pub fn line(out: &mut String, fields: &[&dyn Field]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        field.put(out);
    }
    out.push('\n');
}
