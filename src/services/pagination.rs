//! Relay-style keyset pagination: opaque cursors over (sort key, id), both directions, fetching
//! one row more than asked to know whether another page exists. No OFFSET anywhere, so page
//! 1,000 costs what page 1 costs.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, Condition, Value};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// How many times a page's selection counts in the complexity budget: the rows it can return.
/// Complexity weight of the statements of a connection resolved once per parent (a regency's
/// workers under a list of regencies or districts): each is a round trip of its own, not a batch.
pub const QUERY_COST: usize = 100;

pub fn page_cost(first: Option<i32>, last: Option<i32>) -> usize {
    first.or(last).map_or(DEFAULT_PAGE_SIZE, |n| n.clamp(1, MAX_PAGE_SIZE as i32) as u64) as usize
}

/// The arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// The position of one row: its sort key (as text) and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which ordering the cursor belongs to, so a cursor is not replayed under another one.
    #[serde(rename = "o")]
    pub ordering: String,
    #[serde(rename = "k")]
    pub key: String,
    #[serde(rename = "i")]
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str, ordering: &str, field: &'static str) -> AppResult<Cursor> {
        let invalid = || AppError::bad_input(field, Msg::InvalidCursor);
        if text.len() > 1024 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.ordering != ordering {
            return Err(AppError::bad_input(field, Msg::CursorOfAnotherOrdering));
        }
        Ok(cursor)
    }
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct Window {
    /// Rows to return.
    pub limit: u64,
    /// True for `last`/`before`: read in reverse order, then flip.
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl Window {
    pub fn new(args: &PageArgs, ordering: &str) -> AppResult<Window> {
        let size = |value: Option<i32>, field: &'static str| -> AppResult<Option<u64>> {
            match value {
                None => Ok(None),
                Some(n) if (0..=MAX_PAGE_SIZE as i32).contains(&n) => Ok(Some(n as u64)),
                Some(_) => Err(AppError::bad_input(field, Msg::PageSizeBetween { field, max: MAX_PAGE_SIZE })),
            }
        };
        let first = size(args.first, "first")?;
        let last = size(args.last, "last")?;
        let (limit, backward) = match (first, last) {
            (Some(_), Some(_)) => return Err(AppError::bad_input("last", Msg::FirstOrLast)),
            (Some(n), None) => (n, false),
            (None, Some(n)) => (n, true),
            (None, None) => (DEFAULT_PAGE_SIZE, args.before.is_some() && args.after.is_none()),
        };
        Ok(Window {
            limit,
            backward,
            after: args.after.as_deref().map(|c| Cursor::decode(c, ordering, "after")).transpose()?,
            before: args.before.as_deref().map(|c| Cursor::decode(c, ordering, "before")).transpose()?,
        })
    }
}

/// Rows strictly beyond a position in (sort key, id) order: greater when `greater`, else smaller.
pub fn beyond<C: ColumnTrait>(sort: C, key: Value, id_column: C, id: i64, greater: bool) -> Condition {
    let (key_beyond, id_beyond) =
        if greater { (sort.gt(key.clone()), id_column.gt(id)) } else { (sort.lt(key.clone()), id_column.lt(id)) };
    Condition::any().add(key_beyond).add(Condition::all().add(sort.eq(key)).add(id_beyond))
}

/// One page of rows with their cursors.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// The same page with each row transformed.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        let mut f = f;
        Page {
            rows: self.rows.into_iter().map(|(cursor, row)| (cursor, f(row))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }

    /// Builds the page from rows fetched in window order with limit + 1 rows at most.
    pub fn from_fetched(window: &Window, mut fetched: Vec<(Cursor, T)>) -> Page<T> {
        let more = fetched.len() as u64 > window.limit;
        fetched.truncate(window.limit as usize);
        if window.backward {
            fetched.reverse();
            Page { rows: fetched, has_next_page: window.before.is_some(), has_previous_page: more }
        } else {
            Page { rows: fetched, has_next_page: more, has_previous_page: window.after.is_some() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_other_orderings() {
        let cursor = Cursor { ordering: "NAME_ASC".into(), key: "Siti".into(), id: 7 };
        assert_eq!(Cursor::decode(&cursor.encode(), "NAME_ASC", "after").unwrap(), cursor);
        assert!(Cursor::decode(&cursor.encode(), "NAME_DESC", "after").is_err());
        assert!(Cursor::decode("not a cursor", "NAME_ASC", "after").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let args = |first, last| PageArgs { first, last, ..Default::default() };
        assert_eq!(Window::new(&args(None, None), "x").unwrap().limit, 20);
        assert_eq!(Window::new(&args(Some(100), None), "x").unwrap().limit, 100);
        assert!(Window::new(&args(Some(101), None), "x").is_err());
        assert!(Window::new(&args(Some(-1), None), "x").is_err());
        assert!(Window::new(&args(Some(1), Some(1)), "x").is_err());
        assert!(Window::new(&args(None, Some(5)), "x").unwrap().backward);
    }
}
