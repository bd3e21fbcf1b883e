//! The review workflow as a pure rule: which action leads from which status to which.
//!
//! DRAFT → submit → SUBMITTED → accept → ACCEPTED, or return → RETURNED → edit/submit …
//! Edits happen only in DRAFT or RETURNED.
use super::{ServiceError, domain::SubmissionStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Accept,
    Return,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Accept => "accept",
            Action::Return => "return",
        }
    }
}

/// The status after `action`, or INVALID_TRANSITION.
pub fn next_status(
    from: SubmissionStatus,
    action: Action,
) -> Result<SubmissionStatus, ServiceError> {
    use SubmissionStatus::*;
    match (from, action) {
        (Draft | Returned, Action::Edit) => Ok(from),
        (Draft | Returned, Action::Submit) => Ok(Submitted),
        (Submitted, Action::Accept) => Ok(Accepted),
        (Submitted, Action::Return) => Ok(Returned),
        _ => Err(ServiceError::InvalidTransition {
            from: from.as_str().to_owned(),
            action: action.as_str().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_workflow_transitions_are_allowed() {
        use SubmissionStatus::*;
        let allowed = [
            (Draft, Action::Edit, Draft),
            (Returned, Action::Edit, Returned),
            (Draft, Action::Submit, Submitted),
            (Returned, Action::Submit, Submitted),
            (Submitted, Action::Accept, Accepted),
            (Submitted, Action::Return, Returned),
        ];
        for from in SubmissionStatus::ALL {
            for action in [Action::Edit, Action::Submit, Action::Accept, Action::Return] {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (next_status(*from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want),
                    (Err(ServiceError::InvalidTransition { .. }), None) => {}
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }
}
