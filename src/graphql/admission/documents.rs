//! Parsed documents, checked against the request limits once and kept by their text: dashboards
//! send the same few documents again and again, and parsing them (twice: for the limits, then in
//! the executor) was a tenth of a request's time.
use std::sync::Arc;

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::limits::{self, Refusal};
use crate::config::ApiLimits;

/// Bytes of document text kept in all (the parsed form takes a few times more).
const CACHE_BYTES: u64 = 2 << 20;
/// Longer documents are parsed every time rather than pushing many others out.
const MAX_CACHED_BYTES: usize = 16 << 10;

#[derive(Clone)]
struct TextWeighter;

impl Weighter<Arc<str>, Arc<ExecutableDocument>> for TextWeighter {
    fn weight(&self, query: &Arc<str>, _: &Arc<ExecutableDocument>) -> u64 {
        query.len() as u64 + 64
    }
}

pub struct Documents {
    cache: Cache<Arc<str>, Arc<ExecutableDocument>, TextWeighter>,
}

impl Default for Documents {
    fn default() -> Self {
        Documents { cache: Cache::with_weighter(1024, CACHE_BYTES, TextWeighter) }
    }
}

impl Documents {
    /// The parsed document of `query` if it stays within `limits`; `Ok(None)` when it does not
    /// parse (the executor then reports the syntax error where a client expects it).
    pub fn prepare(&self, query: &str, limits: &ApiLimits) -> Result<Option<Arc<ExecutableDocument>>, Refusal> {
        if let Some(document) = self.cache.get(query) {
            return Ok(Some(document));
        }
        // Counted before parsing, so that a flood of tokens never reaches the parser.
        limits::check_tokens(query, limits)?;
        let Ok(document) = parse_query(query) else { return Ok(None) };
        limits::check_aliases(&document, limits)?;
        let document = Arc::new(document);
        if query.len() <= MAX_CACHED_BYTES {
            self.cache.insert(Arc::from(query), document.clone());
        }
        Ok(Some(document))
    }
}
