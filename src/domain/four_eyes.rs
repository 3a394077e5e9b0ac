//! Four-eyes between people, not keys: a person may hold several keys and sign in with tokens
//! too, and one person with a key and a token is one person. A key's owner is the subject of its
//! holder's tokens; a key without an owner is a person of its own.
use super::payout_state::PayoutAction;
use crate::config::FourEyes;

/// Who took a step: the key (or, for a token, the person's number) and the person behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hand<'a> {
    pub key_id: i64,
    /// A token's subject or the key's owner; None for a key of no one's.
    pub person: Option<&'a str>,
}

impl Hand<'_> {
    /// The same key or token, or the same person behind two of them.
    pub fn same_person(&self, other: &Hand<'_>) -> bool {
        self.key_id == other.key_id || matches!((self.person, other.person), (Some(a), Some(b)) if a == b)
    }
}

/// Which earlier step's person may not take this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// The person who submitted the payout.
    Submitter,
    /// The person who verified it (`--four-eyes strict`).
    Verifier,
}

/// Whether `actor` may take `action` on a payout that `submitter` submitted and `verifier` (if
/// anyone yet) verified.
pub fn check(
    rule: FourEyes,
    action: PayoutAction,
    actor: Hand<'_>,
    submitter: Hand<'_>,
    verifier: Option<Hand<'_>>,
) -> Result<(), Breach> {
    if !action.needs_other_than_submitter() {
        return Ok(());
    }
    if actor.same_person(&submitter) {
        return Err(Breach::Submitter);
    }
    let verified_by_actor = verifier.is_some_and(|verifier| actor.same_person(&verifier));
    if rule == FourEyes::Strict && action == PayoutAction::Approve && verified_by_actor {
        return Err(Breach::Verifier);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PayoutAction::*;

    const SITI_KEY: Hand = Hand { key_id: 3, person: Some("siti") };
    const SITI_TOKEN: Hand = Hand { key_id: -42, person: Some("siti") };
    const BUDI_KEY: Hand = Hand { key_id: 4, person: Some("budi") };
    const SHARED_KEY: Hand = Hand { key_id: 5, person: None };
    const OTHER_SHARED_KEY: Hand = Hand { key_id: 6, person: None };

    #[test]
    fn one_person_with_a_key_and_a_token_is_one_person() {
        assert!(SITI_KEY.same_person(&SITI_TOKEN));
        assert!(!SITI_KEY.same_person(&BUDI_KEY));
        // Keys without owners: each its own person, and no owner-less key is anyone's.
        assert!(SHARED_KEY.same_person(&SHARED_KEY));
        assert!(!SHARED_KEY.same_person(&OTHER_SHARED_KEY));
        assert!(!SHARED_KEY.same_person(&SITI_KEY));
    }

    #[test]
    fn the_submitter_never_verifies_or_approves() {
        for rule in [FourEyes::Submitter, FourEyes::Strict] {
            assert_eq!(check(rule, Verify, SITI_TOKEN, SITI_KEY, None), Err(Breach::Submitter));
            assert_eq!(check(rule, Approve, SITI_KEY, SITI_TOKEN, Some(BUDI_KEY)), Err(Breach::Submitter));
            assert_eq!(check(rule, Verify, BUDI_KEY, SITI_KEY, None), Ok(()));
            // Rejecting and marking paid are not four-eyes steps.
            assert_eq!(check(rule, Reject, SITI_KEY, SITI_TOKEN, None), Ok(()));
            assert_eq!(check(rule, MarkPaid, SITI_KEY, SITI_TOKEN, Some(BUDI_KEY)), Ok(()));
        }
    }

    #[test]
    fn strict_also_keeps_the_verifier_from_approving() {
        assert_eq!(check(FourEyes::Submitter, Approve, BUDI_KEY, SITI_KEY, Some(BUDI_KEY)), Ok(()));
        assert_eq!(check(FourEyes::Strict, Approve, BUDI_KEY, SITI_KEY, Some(BUDI_KEY)), Err(Breach::Verifier));
        let budi_token = Hand { key_id: -7, person: Some("budi") };
        assert_eq!(check(FourEyes::Strict, Approve, budi_token, SITI_KEY, Some(BUDI_KEY)), Err(Breach::Verifier));
        assert_eq!(check(FourEyes::Strict, Approve, SHARED_KEY, SITI_KEY, Some(BUDI_KEY)), Ok(()));
    }
}
