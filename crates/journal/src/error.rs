//! What can go wrong with the journal.
//!
//! Every error that involves the database names the journal file (`:memory:` for an in-memory one), so
//! a user with two data directories knows which one is at fault. The SQLite error itself is the
//! `#[source]`, not repeated in the message.

use std::path::PathBuf;

use crate::EntryId;

/// An error of the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite refused or failed an operation (disk full, locked past the busy timeout, not a database).
    #[error("journal `{}`: cannot {action}", path.display())]
    Sqlite {
        path: PathBuf,
        /// What the journal was doing, as a verb phrase ("record the intent").
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// The journal's directory could not be created.
    #[error("cannot create the journal directory `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `create_case` for a case id that is already in the journal.
    #[error("case `{0}` already exists in the journal")]
    CaseExists(String),
    /// `add_acquisition` for an instance the case already acquires.
    #[error("case `{case}` already has an acquisition of instance `{instance}`")]
    AcquisitionExists { case: String, instance: String },
    /// A write names a case the journal does not have.
    #[error("no case `{0}` in the journal")]
    UnknownCase(String),
    /// `set_acquisition_status` for an instance the case does not acquire.
    #[error("case `{case}` has no acquisition of instance `{instance}`")]
    UnknownAcquisition { case: String, instance: String },
    /// `record_outcome` for an entry id the journal never handed out.
    #[error("no journal entry {0}")]
    UnknownEntry(EntryId),
    /// `record_outcome` for an entry that already has one: an outcome is a fact about a call that was
    /// made, and the journal never rewrites a fact.
    #[error("journal entry {0} already has an outcome")]
    OutcomeRecorded(EntryId),
    /// `set_triage_status` for a command the journal never recorded.
    #[error("no triage command `{command_id}` for instance `{instance_id}` in the journal")]
    UnknownTriageCommand { command_id: String, instance_id: String },
    /// `resource_removed` for a resource the journal never recorded.
    #[error("case `{case}` has no {kind} `{id}` in account `{account}`, region `{region}`")]
    UnknownResource { case: String, kind: &'static str, id: String, account: String, region: String },
    /// The file was written by a newer custody whose schema this one does not know.
    #[error(
        "journal `{}` has schema version {found}, newer than the {supported} this custody supports: use a newer custody",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },
    /// A stored value does not parse (JSON, or the text of an enum): the file was edited or damaged.
    #[error("{0}")]
    Corrupt(String),
    /// A thread panicked while it held the journal; what it was writing was rolled back, but the
    /// journal refuses to go on guessing.
    #[error("the journal is unusable: a thread panicked while using it")]
    Poisoned,
    /// Fault injection: the simulated crash point was reached, nothing was written.
    #[error("write refused: the journal simulates a crash (fault injection)")]
    Injected,
}

impl JournalError {
    /// A `Corrupt` error naming the file, the table and column, and the row.
    pub(crate) fn corrupt(
        path: &std::path::Path,
        table: &str,
        column: &str,
        row: &str,
        detail: impl std::fmt::Display,
    ) -> JournalError {
        JournalError::Corrupt(format!(
            "journal `{}`: `{table}.{column}` of {row} is not valid: {detail}",
            path.display()
        ))
    }
}
