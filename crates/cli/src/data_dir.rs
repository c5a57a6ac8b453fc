//! `--data-dir`: where the journal lives, shared by every command that reads or writes it; and the
//! case lock every command that changes a case takes there first.

use custody_journal::{CaseLock, Journal};
use std::path::PathBuf;

/// The journal's directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArgs {
    /// The directory of the journal (`journal.sqlite3`) [default: $CUSTODY_DATA_DIR, else
    /// $XDG_DATA_HOME/custody, else ~/.local/share/custody]. Created private (0700); one that other
    /// users can open is reported, not changed.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    /// The directory, given or default.
    pub fn dir(&self) -> Result<PathBuf, String> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => Journal::default_dir().ok_or_else(|| {
                "no data directory: pass --data-dir, or set CUSTODY_DATA_DIR, XDG_DATA_HOME or HOME".to_string()
            }),
        }
    }

    /// Opens (creating if needed) the journal; what opening found about its privacy is printed as
    /// warnings on standard error.
    pub fn open(&self) -> Result<Journal, String> {
        let dir = self.dir()?;
        let journal = Journal::open(&dir)
            .map_err(|e| format!("{}: cannot open the journal: {}", dir.display(), error_chain(&e)))?;
        for notice in journal.notices() {
            // It quotes the path, which may hold anything.
            eprintln!("warning: {}", custody_plan::text::Safe(notice));
        }
        Ok(journal)
    }

    /// Takes the lock of `case_id` in the data directory, without opening the journal (for a
    /// command that has read it already); see [`lock_case`].
    pub fn lock_case(&self, case_id: &str) -> Result<CaseLock, String> {
        CaseLock::acquire(&self.dir()?, case_id).map_err(|e| custody_plan::text::safe(&error_chain(&e)).into_owned())
    }

    /// Opens the journal only if it exists (commands that only read it must not create it).
    pub fn open_existing(&self) -> Result<Option<Journal>, String> {
        let dir = self.dir()?;
        if !dir.join(custody_journal::FILE_NAME).exists() {
            return Ok(None);
        }
        self.open().map(Some)
    }
}

/// Takes the lock of `case_id` beside `journal`: one process per case (acquire, resume, cleanup,
/// image, triage). Held until the value is dropped. The error is the refusal to print; the caller
/// exits with status 2 (nothing was changed).
pub fn lock_case(journal: &Journal, case_id: &str) -> Result<CaseLock, String> {
    journal.lock_case(case_id).map_err(|e| custody_plan::text::safe(&error_chain(&e)).into_owned())
}

/// The clap value parser of every case id argument: the one rule of `custody_plan::CaseId`, checked
/// before anything is read, created or asked of AWS.
pub fn parse_case_id(text: &str) -> Result<String, String> {
    custody_plan::CaseId::parse(text).map(String::from).map_err(|e| e.to_string())
}

/// An error and its causes, `: `-separated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    out
}
