//! What can stop a triage.

use custody_cloud::triage::AwsError;
use custody_journal::JournalError;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// Bad input found before anything was sent (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Tag scoping refused instances before anything was sent (exit 2).
    #[error("{message}")]
    Refused { message: String, help: String },
    /// AWS refused ssm:SendCommand (explained in terms of the scoping tag and the policy).
    #[error("{message}")]
    AccessDenied { message: String, help: String },
    /// Any other AWS error.
    #[error("{call}: {source}")]
    Aws {
        call: &'static str,
        #[source]
        source: AwsError,
    },
    #[error("the journal")]
    Journal(#[from] JournalError),
}

impl TriageError {
    /// Nothing was sent: the input or the scope was wrong.
    pub fn is_refusal(&self) -> bool {
        matches!(self, TriageError::BadInput(_) | TriageError::Refused { .. })
    }

    /// The `help:` line, if any.
    pub fn help(&self) -> Option<&str> {
        match self {
            TriageError::Refused { help, .. } | TriageError::AccessDenied { help, .. } => Some(help),
            _ => None,
        }
    }
}
