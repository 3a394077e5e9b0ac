//! The audit log's hashing rule. It is defined in the migration crate, which had to seal the
//! entries stored before the chain existed and cannot depend on the server: one rule, used by the
//! migration, by `services::audit::record` and by `jaminan audit verify`.
use std::fmt;

pub use migration::audit_chain::*;

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry's content does not hash to its `entry_hash`.
    Edited { id: i64 },
    /// The entry's `previous_hash` is not the hash of the entry stored before it (`after`, or
    /// None for the start of the log).
    Unlinked { id: i64, after: Option<i64> },
    /// An entry without hashes below the newest sealed one: the sealer seals in id order, so it
    /// was inserted out of turn or its hashes were removed.
    Unsealed { id: i64 },
    /// A head recorded earlier is no longer in the log.
    HeadGone { id: i64 },
    /// A head recorded earlier has another hash now.
    HeadRewritten { id: i64 },
}

impl ChainBreak {
    pub fn id(&self) -> i64 {
        match self {
            ChainBreak::Edited { id }
            | ChainBreak::Unlinked { id, .. }
            | ChainBreak::Unsealed { id }
            | ChainBreak::HeadGone { id }
            | ChainBreak::HeadRewritten { id } => *id,
        }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Edited { id } => write!(f, "entry {id} was edited: its content does not match its hash"),
            ChainBreak::Unlinked { id, after: Some(after) } => write!(
                f,
                "entry {id} does not follow entry {after}: entries between were deleted or entries were reordered"
            ),
            ChainBreak::Unsealed { id } => write!(
                f,
                "entry {id} has no hashes but entries after it are sealed: it was inserted out of turn or its hashes were removed"
            ),
            ChainBreak::HeadGone { id } => {
                write!(f, "entry {id}, the head recorded earlier, is gone: the newest entries were deleted")
            }
            ChainBreak::HeadRewritten { id } => write!(
                f,
                "entry {id} no longer has the hash recorded for it: it and the entries after it were rewritten"
            ),
            ChainBreak::Unlinked { id, after: None } => write!(
                f,
                "entry {id} does not follow the start of the log: entries before it were deleted or entries were reordered"
            ),
        }
    }
}
