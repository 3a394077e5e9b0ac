//! The payout workflow: SUBMITTED -> VERIFIED -> APPROVED -> PAID, or -> REJECTED from any state
//! before PAID. No other transition exists.
use super::types::PayoutStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutAction {
    Verify,
    Approve,
    MarkPaid,
    Reject,
}

impl PayoutAction {
    /// The state this action leads to from `from`, or None when the transition does not exist.
    pub fn next(self, from: PayoutStatus) -> Option<PayoutStatus> {
        use PayoutStatus::*;
        match (self, from) {
            (PayoutAction::Verify, Submitted) => Some(Verified),
            (PayoutAction::Approve, Verified) => Some(Approved),
            (PayoutAction::MarkPaid, Approved) => Some(Paid),
            (PayoutAction::Reject, Submitted | Verified | Approved) => Some(Rejected),
            _ => None,
        }
    }

    /// Verifying and approving need a second pair of eyes: not the submitter's (see `four_eyes`).
    pub fn needs_other_than_submitter(self) -> bool {
        matches!(self, PayoutAction::Verify | PayoutAction::Approve)
    }

    pub fn verb(self) -> &'static str {
        match self {
            PayoutAction::Verify => "verify",
            PayoutAction::Approve => "approve",
            PayoutAction::MarkPaid => "mark as paid",
            PayoutAction::Reject => "reject",
        }
    }
}

/// How far along the workflow a payout in `status` is: every transition goes one step or more
/// up, so a report of a payout at a step no higher than one already heard of is an old one
/// (notifications of two instances may arrive out of commit order).
pub fn step(status: PayoutStatus) -> u8 {
    use PayoutStatus::*;
    match status {
        Submitted => 0,
        Verified => 1,
        Approved => 2,
        Paid | Rejected => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::PayoutAction::*;
    use super::*;
    use PayoutStatus::*;

    #[test]
    fn only_the_documented_transitions_exist() {
        let all = [Submitted, Verified, Approved, Paid, Rejected];
        let mut allowed = vec![];
        for action in [Verify, Approve, MarkPaid, Reject] {
            for from in all {
                if let Some(to) = action.next(from) {
                    allowed.push((from, to));
                }
            }
        }
        assert_eq!(
            allowed,
            vec![
                (Submitted, Verified),
                (Verified, Approved),
                (Approved, Paid),
                (Submitted, Rejected),
                (Verified, Rejected),
                (Approved, Rejected)
            ]
        );
    }

    #[test]
    fn four_eyes_apply_to_verify_and_approve() {
        assert!(Verify.needs_other_than_submitter() && Approve.needs_other_than_submitter());
        assert!(!MarkPaid.needs_other_than_submitter() && !Reject.needs_other_than_submitter());
    }

    #[test]
    fn every_transition_goes_up_a_step() {
        let all = [Submitted, Verified, Approved, Paid, Rejected];
        for action in [Verify, Approve, MarkPaid, Reject] {
            for from in all {
                if let Some(to) = action.next(from) {
                    assert!(step(to) > step(from), "{from:?} -> {to:?}");
                }
            }
        }
    }
}
