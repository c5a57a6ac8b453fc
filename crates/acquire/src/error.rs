//! Why an acquisition (or one of its steps) stopped.

use custody_cloud::CloudError;
use custody_journal::{Journal, JournalError};
use std::error::Error;
use std::fmt;

/// Why an acquisition, an instance or a volume stopped.
///
/// Every message is whole on its own (the reports keep `to_string()` of a volume's or a step's
/// error), and a cause is given as [`Error::source`] only where the message does not already say it:
/// printed as a chain (the CLI does), nothing appears twice.
#[derive(Debug)]
pub enum AcquireError {
    /// The journal could not be written or read: the run stops at once, since a resource it could
    /// not record is one cleanup could miss.
    Journal(Box<JournalError>),
    /// An AWS call failed; `explained` says what it means for this step (for an access denial: the
    /// requests of the call and what the preflight said of them). The message carries AWS's error;
    /// the error's own causes (why AWS could not be reached) are its source.
    Call { step: String, error: Box<CloudError>, explained: Option<String> },
    /// Something AWS reported that makes the step impossible (a terminated instance, a snapshot in
    /// `error`, a key pending deletion), in words.
    Refused { step: String, why: String },
    /// A snapshot did not complete within the wait timeout.
    Timeout { step: String, snapshot: String, state: String, seconds: u64 },
    /// The plan does not hold together (a placeholder no step creates, a snapshot it does not list):
    /// a bug in the planner, or a journaled plan edited by hand.
    Plan { step: String, why: String },
    /// What the user asked for cannot be done as asked (a snapshot to discard that is not the case's);
    /// nothing was changed.
    Input { why: String },
    /// Ctrl-C, or another stop request.
    Interrupted { step: String },
    /// A bug in custody itself, neither the plan's nor AWS's: a task of the run panicked or was
    /// cancelled. `journal`: the journal file, for the report the message asks for.
    Bug { step: String, case_id: String, journal: String, what: String },
}

impl AcquireError {
    /// True when the run must stop everything at once (no cleanup calls either): the journal is gone.
    pub fn is_journal(&self) -> bool {
        matches!(self, AcquireError::Journal(_))
    }

    /// True for a request the user must change (exit status 2).
    pub fn is_input(&self) -> bool {
        matches!(self, AcquireError::Input { .. })
    }

    /// A task of case `case_id` that did not end (it panicked, or was cancelled) while it did `step`.
    pub(crate) fn bug(journal: &Journal, case_id: &str, step: &str, e: &tokio::task::JoinError) -> AcquireError {
        let what = if e.is_panic() { "a task panicked" } else { "a task was cancelled" };
        AcquireError::Bug {
            step: step.to_string(),
            case_id: case_id.to_string(),
            journal: journal.path().map_or_else(|| "an in-memory journal".to_string(), |p| p.display().to_string()),
            what: what.to_string(),
        }
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Journal(_) => write!(f, "the journal failed"),
            AcquireError::Call { step, error, explained } => {
                write!(f, "step `{step}`: {error}")?;
                if let Some(e) = explained {
                    write!(f, "\n{e}")?;
                }
                Ok(())
            }
            AcquireError::Refused { step, why } => write!(f, "step `{step}`: {why}"),
            AcquireError::Timeout { step, snapshot, state, seconds } => write!(
                f,
                "step `{step}`: {snapshot} is still {state} after {seconds} s (the wait timeout); resume later with \
                 `custody acquire --resume`"
            ),
            AcquireError::Plan { step, why } => write!(f, "step `{step}`: the plan is inconsistent: {why}"),
            AcquireError::Input { why } => write!(f, "{why}"),
            AcquireError::Interrupted { step } => write!(f, "interrupted before step `{step}`"),
            AcquireError::Bug { step, case_id, journal, what } => write!(
                f,
                "{step}: {what}. This is a bug in custody, not a fault of the plan or of AWS: please report it with \
                 the case id ({case_id}), the output of `custody --version` and the journal file ({journal}). What \
                 was done is journaled: `custody acquire --resume {case_id}` goes on from there, and `custody cleanup \
                 --case {case_id}` removes what the run left"
            ),
        }
    }
}

impl Error for AcquireError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            AcquireError::Journal(e) => Some(e.as_ref()),
            // AWS's error is in the message already: its own cause (a network failure) is next.
            AcquireError::Call { error, .. } => error.source(),
            _ => None,
        }
    }
}

impl From<JournalError> for AcquireError {
    fn from(e: JournalError) -> Self {
        AcquireError::Journal(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_cloud::error::ApiError;
    // The message and every source, as the CLI prints them.
    use custody_cloud::error::error_chain as chain;

    #[test]
    fn a_call_error_shows_aws_error_once() {
        let aws = ApiError::new("kms", "CreateGrant", "AccessDeniedException", "not authorized to CreateGrant");
        let e = AcquireError::Call {
            step: "create-grant:vol-1".to_string(),
            error: Box::new(CloudError::AccessDenied(aws)),
            explained: Some("AWS evaluates 1 authorization request(s) for this call".to_string()),
        };
        let shown = chain(&e);
        assert_eq!(shown.matches("not authorized to CreateGrant").count(), 1, "{shown}");
        assert_eq!(shown.matches("AccessDeniedException").count(), 1, "{shown}");
        assert!(e.to_string().contains("not authorized to CreateGrant"), "the message is whole on its own");
        assert!(shown.contains("AWS evaluates 1 authorization request(s)"), "{shown}");
    }

    #[test]
    fn a_call_that_never_reached_aws_keeps_its_cause() {
        let cause: Box<dyn Error + Send + Sync> = "dns error: no such host".into();
        let e = AcquireError::Call {
            step: "discover".to_string(),
            error: Box::new(CloudError::Unreachable { service: "ec2", operation: "DescribeInstances", source: cause }),
            explained: None,
        };
        let shown = chain(&e);
        assert_eq!(shown.matches("did not reach AWS").count(), 1, "{shown}");
        assert_eq!(shown.matches("no such host").count(), 1, "{shown}");
    }

    #[test]
    fn a_journal_error_is_the_source() {
        let e = AcquireError::from(JournalError::UnknownCase("IR-1".to_string()));
        assert!(e.source().is_some());
        assert!(chain(&e).contains("IR-1"));
    }
}
