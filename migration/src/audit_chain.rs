//! The audit log's hash chain: the one rule that turns an entry's content and the previous
//! entry's hash into the entry's hash. It lives in the migration crate because the migration that
//! introduced the chain must seal the entries that already existed, and the migration crate cannot
//! depend on the server; the server re-exports it (`jaminan::domain::audit_chain`).
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// The `previous_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry's hash covers: every column but the id (the chain itself orders the entries)
/// and the hashes.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub at: DateTime<Utc>,
    pub api_key_id: i64,
    pub api_key_name: &'a str,
    pub operation: &'a str,
    pub entity_type: &'a str,
    pub entity_id: i64,
    pub changes: &'a str,
    /// The person who acted (an access token's subject, or the owner of the key), None for a key
    /// of no one's and for every entry made before entries named people.
    pub person: Option<&'a str>,
}

/// PostgreSQL keeps microseconds: an entry's time is cut to them before it is stored, so that
/// what is read back hashes to what was hashed, on either database.
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Hex SHA-256 of a JSON array of the previous hash and the content (the time as RFC 3339 UTC
/// with microseconds): JSON quoting keeps field boundaries unambiguous. The person is appended
/// only when there is one: entries made before entries named people hash as they were sealed,
/// and an entry's person cannot be added or removed without breaking its hash (the array's
/// length changes).
pub fn entry_hash(previous_hash: &str, content: &Content) -> String {
    let mut canonical = serde_json::json!([
        previous_hash,
        stored_time(content.at).to_rfc3339_opts(SecondsFormat::Micros, true),
        content.api_key_id,
        content.api_key_name,
        content.operation,
        content.entity_type,
        content.entity_id,
        content.changes,
    ]);
    if let (Some(person), Some(fields)) = (content.person, canonical.as_array_mut()) {
        fields.push(person.into());
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(changes: &str) -> Content<'_> {
        Content {
            at: DateTime::parse_from_rfc3339("2026-11-26T01:02:03.123456789Z").unwrap().with_timezone(&Utc),
            api_key_id: 1,
            api_key_name: "admin",
            operation: "registerWorker",
            entity_type: "WORKER",
            entity_id: 7,
            changes,
            person: None,
        }
    }

    #[test]
    fn hash_covers_content_and_previous_hash() {
        let hash = entry_hash(GENESIS, &content("{}"));
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, entry_hash(GENESIS, &content("{}")));
        assert_ne!(hash, entry_hash(GENESIS, &content("{\"a\":1}")));
        assert_ne!(hash, entry_hash(&hash, &content("{}")));
    }

    #[test]
    fn a_person_is_hashed_only_when_there_is_one() {
        // The hash of an entry without a person is the one sealed before people were recorded.
        let before_people = {
            let c = content("{}");
            let canonical = serde_json::json!([
                GENESIS,
                stored_time(c.at).to_rfc3339_opts(SecondsFormat::Micros, true),
                c.api_key_id,
                c.api_key_name,
                c.operation,
                c.entity_type,
                c.entity_id,
                c.changes,
            ]);
            hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
        };
        assert_eq!(entry_hash(GENESIS, &content("{}")), before_people);
        let siti = Content { person: Some("siti"), ..content("{}") };
        let budi = Content { person: Some("budi"), ..content("{}") };
        assert_ne!(entry_hash(GENESIS, &siti), before_people);
        assert_ne!(entry_hash(GENESIS, &siti), entry_hash(GENESIS, &budi));
        // The empty subject is a person too, not "no person".
        assert_ne!(entry_hash(GENESIS, &Content { person: Some(""), ..content("{}") }), before_people);
    }

    #[test]
    fn nanoseconds_do_not_change_the_hash() {
        let mut stored = content("{}");
        stored.at = stored_time(stored.at);
        assert_eq!(entry_hash(GENESIS, &content("{}")), entry_hash(GENESIS, &stored));
    }
}
