//! Why an acquisition (or one of its steps) stopped.

use custody_cloud::CloudError;
use custody_journal::JournalError;

/// Why an acquisition, an instance or a volume stopped.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    /// The journal could not be written or read: the run stops at once, since a resource it could
    /// not record is one cleanup could miss.
    #[error("the journal failed")]
    Journal(#[source] Box<JournalError>),
    /// An AWS call failed; `explained` says what it means for this step (for an access denial: the
    /// requests of the call and what the preflight said of them).
    #[error("step `{step}`: {error}{}", explained.as_deref().map(|e| format!("\n{e}")).unwrap_or_default())]
    Call {
        step: String,
        #[source]
        error: Box<CloudError>,
        explained: Option<String>,
    },
    /// Something AWS reported that makes the step impossible (a terminated instance, a snapshot in
    /// `error`, a key pending deletion), in words.
    #[error("step `{step}`: {why}")]
    Refused { step: String, why: String },
    /// A snapshot did not complete within the wait timeout.
    #[error("step `{step}`: {snapshot} is still {state} after {seconds} s (the wait timeout); resume later with `custody acquire --resume`")]
    Timeout { step: String, snapshot: String, state: String, seconds: u64 },
    /// The plan does not hold together (a placeholder no step creates, a snapshot it does not list):
    /// a bug in the planner, or a journaled plan edited by hand.
    #[error("step `{step}`: the plan is inconsistent: {why}")]
    Plan { step: String, why: String },
    /// What the user asked for cannot be done as asked (a snapshot to discard that is not the case's);
    /// nothing was changed.
    #[error("{why}")]
    Input { why: String },
    /// Ctrl-C, or another stop request.
    #[error("interrupted before step `{step}`")]
    Interrupted { step: String },
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
}

impl From<JournalError> for AcquireError {
    fn from(e: JournalError) -> Self {
        AcquireError::Journal(Box::new(e))
    }
}
