//! Trusted documents: the operations a frontend was built with, loaded from the manifest its
//! build wrote (the JSON map of hash -> document that GraphQL Code Generator's client preset and
//! Relay produce). A request may name one by `documentId` instead of sending `query` (also
//! Apollo's automatic persisted queries, `extensions.persistedQuery.sha256Hash`). In `only` mode
//! every key below ADMIN (and anonymous callers) may run nothing else, so a leaked key or an
//! attacker's browser cannot send expensive or probing documents; admins in GraphiQL keep
//! arbitrary queries.
use crate::config::TrustedMode;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::i18n::Msg;
use sha2::{Digest, Sha256};

/// The reference dashboard's GraphQL documents, by operation name: trusted in every mode, so
/// that `/dashboard` works wherever the server runs.
pub const DASHBOARD_DOCUMENTS: &[(&str, &str)] = &[
    ("DashboardRegencies", include_str!("../../../assets/dashboard/Regencies.graphql")),
    ("Dashboard", include_str!("../../../assets/dashboard/Dashboard.graphql")),
    ("DashboardPayouts", include_str!("../../../assets/dashboard/Payouts.graphql")),
    ("DashboardLive", include_str!("../../../assets/dashboard/Live.graphql")),
];

/// The operators' import page's documents (`/import`), trusted in every mode like the dashboard's.
pub const IMPORT_DOCUMENTS: &[(&str, &str)] = &[
    ("ImportRegencies", include_str!("../../../assets/import/Regencies.graphql")),
    ("ImportEnrollments", include_str!("../../../assets/import/Import.graphql")),
];

/// Why a request was refused before its document was even looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The id names no trusted document (Apollo clients then resend with the query, where allowed).
    NotFound(String),
    /// An arbitrary document where only trusted ones are accepted.
    OnlyTrusted,
    /// `documentId` (or a persisted query) while trusted documents are off.
    NotEnabled,
    /// Both a query and an id, and they disagree.
    Mismatch,
}

impl Refused {
    pub fn code(&self) -> &'static str {
        match self {
            Refused::NotFound(_) => "PERSISTED_QUERY_NOT_FOUND",
            Refused::OnlyTrusted => "TRUSTED_DOCUMENTS_ONLY",
            Refused::NotEnabled => "PERSISTED_QUERY_NOT_SUPPORTED",
            Refused::Mismatch => "BAD_USER_INPUT",
        }
    }

    pub fn message(&self) -> Msg {
        match self {
            Refused::NotFound(id) => Msg::PersistedQueryNotFound { id: shorten(id) },
            Refused::OnlyTrusted => Msg::OnlyTrustedDocuments,
            Refused::NotEnabled => Msg::TrustedDocumentsOff,
            Refused::Mismatch => Msg::DocumentMismatch,
        }
    }
}

#[derive(Debug)]
pub struct TrustedDocuments {
    pub mode: TrustedMode,
    /// By hash, without a `sha256:` prefix; the server's own dashboard's documents always.
    documents: HashMap<String, Arc<str>>,
}

impl Default for TrustedDocuments {
    fn default() -> Self {
        TrustedDocuments::new(TrustedMode::Off, HashMap::new())
    }
}

impl TrustedDocuments {
    /// The manifest's documents and the server's pages' (`/dashboard` and `/import` run in every mode).
    fn new(mode: TrustedMode, mut documents: HashMap<String, Arc<str>>) -> Self {
        for (_, text) in DASHBOARD_DOCUMENTS.iter().chain(IMPORT_DOCUMENTS) {
            documents.insert(sha256_hex(text), Arc::from(*text));
        }
        TrustedDocuments { mode, documents }
    }

    /// Reads a manifest: a JSON object of id -> document. Ids that are SHA-256 hex must be the
    /// hash of their document (a manifest edited by hand, or of another build, is refused).
    pub fn load(path: &Path, mode: TrustedMode) -> Result<TrustedDocuments, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text, mode).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(manifest: &str, mode: TrustedMode) -> Result<TrustedDocuments, String> {
        let entries: HashMap<String, String> =
            serde_json::from_str(manifest).map_err(|e| format!("not a JSON map of id to document: {e}"))?;
        let mut documents = HashMap::new();
        for (id, document) in entries {
            let id = bare(&id).to_owned();
            if is_sha256(&id) && sha256_hex(&document) != id.to_ascii_lowercase() {
                return Err(format!("document {id} does not hash to its id"));
            }
            documents.insert(id.to_ascii_lowercase(), Arc::from(document));
        }
        Ok(TrustedDocuments::new(mode, documents))
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// The document a request runs: the trusted one its id names, or its own query where that is
    /// allowed. `admin`: the caller is an ADMIN key. Decided before anything is parsed.
    pub fn resolve(&self, id: Option<&str>, query: &str, admin: bool) -> Result<Option<Arc<str>>, Refused> {
        let Some(id) = id else {
            return match self.mode {
                TrustedMode::Only if !admin => Err(Refused::OnlyTrusted),
                _ => Ok(None),
            };
        };
        let key = bare(id).to_ascii_lowercase();
        if self.mode == TrustedMode::Off && !self.documents.contains_key(&key) {
            return Err(Refused::NotEnabled);
        }
        match self.documents.get(&key) {
            Some(document) if query.is_empty() || query == &**document => Ok(Some(document.clone())),
            Some(_) => Err(Refused::Mismatch),
            // Apollo's persisted queries resend the query with its hash after a miss: run it
            // where arbitrary documents are allowed, once the hash is checked.
            None if !query.is_empty() && (self.mode == TrustedMode::Allowed || admin) => {
                if sha256_hex(query) == key {
                    Ok(None)
                } else {
                    Err(Refused::Mismatch)
                }
            }
            None => Err(Refused::NotFound(id.to_owned())),
        }
    }
}

fn bare(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

fn is_sha256(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn shorten(id: &str) -> String {
    id.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "query Regency { regency(code: \"36.03\") { name } }";

    fn manifest(mode: TrustedMode) -> TrustedDocuments {
        let text = serde_json::json!({ sha256_hex(DOC): DOC, "relay-1": "{ provinces { code } }" }).to_string();
        TrustedDocuments::parse(&text, mode).unwrap()
    }

    #[test]
    fn ids_resolve_with_or_without_prefix() {
        let trusted = manifest(TrustedMode::Only);
        let id = sha256_hex(DOC);
        assert_eq!(trusted.resolve(Some(&id), "", false).unwrap().as_deref(), Some(DOC));
        assert_eq!(trusted.resolve(Some(&format!("sha256:{id}")), "", false).unwrap().as_deref(), Some(DOC));
        assert_eq!(trusted.resolve(Some("relay-1"), "", false).unwrap().as_deref(), Some("{ provinces { code } }"));
        assert_eq!(trusted.resolve(Some(&id), DOC, false).unwrap().as_deref(), Some(DOC));
        assert_eq!(trusted.resolve(Some(&id), "{ provinces { code } }", false), Err(Refused::Mismatch));
    }

    #[test]
    fn modes_decide_about_arbitrary_documents() {
        let other = "{ provinces { name } }";
        assert_eq!(manifest(TrustedMode::Only).resolve(None, other, false), Err(Refused::OnlyTrusted));
        assert_eq!(manifest(TrustedMode::Only).resolve(None, other, true), Ok(None));
        assert_eq!(manifest(TrustedMode::Allowed).resolve(None, other, false), Ok(None));
        let unknown = sha256_hex(other);
        assert!(matches!(manifest(TrustedMode::Only).resolve(Some(&unknown), "", false), Err(Refused::NotFound(_))));
        // Apollo's retry with the query: allowed mode runs it, only mode refuses it.
        assert_eq!(manifest(TrustedMode::Allowed).resolve(Some(&unknown), other, false), Ok(None));
        assert!(matches!(manifest(TrustedMode::Only).resolve(Some(&unknown), other, false), Err(Refused::NotFound(_))));
        assert_eq!(manifest(TrustedMode::Off).resolve(Some(&unknown), "", false), Err(Refused::NotEnabled));
    }

    #[test]
    fn a_manifest_whose_hashes_do_not_match_is_refused() {
        let text = serde_json::json!({ sha256_hex("{ a }"): "{ b }" }).to_string();
        assert!(TrustedDocuments::parse(&text, TrustedMode::Only).unwrap_err().contains("does not hash"));
    }
}
