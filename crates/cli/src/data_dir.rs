//! `--data-dir`: where the journal lives, shared by every command that reads or writes it; and the
//! case lock every command that changes a case takes there first.

use crate::exit::{CliError, ErrorKind};
use custody_journal::{CaseLock, Journal};
use std::path::PathBuf;

/// The journal's directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArgs {
    /// The directory of the journal (`journal.sqlite3`) [default: journal.data_dir of custody.toml,
    /// else $XDG_DATA_HOME/custody, else ~/.local/share/custody]. Created private (0700); one that
    /// other users can open is reported, not changed.
    #[arg(long, value_name = "DIR", env = "CUSTODY_DATA_DIR", hide_env_values = true)]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    /// The directory, given or default.
    pub fn dir(&self) -> Result<PathBuf, CliError> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => Journal::default_dir().ok_or_else(|| {
                CliError::user("no data directory: pass --data-dir, or set CUSTODY_DATA_DIR, XDG_DATA_HOME or HOME")
            }),
        }
    }

    /// Opens (creating if needed) the journal; what opening found about its privacy is printed as
    /// warnings on standard error. A journal that cannot be opened is the user's to fix (exit 2).
    pub fn open(&self) -> Result<Journal, CliError> {
        let dir = self.dir()?;
        let journal = Journal::open(&dir)
            .map_err(|e| CliError::user(format!("{}: cannot open the journal", dir.display())).caused_by(&e))?;
        for notice in journal.notices() {
            // It quotes the path, which may hold anything.
            eprintln!("warning: {}", custody_plan::text::Safe(notice));
        }
        Ok(journal)
    }

    /// Takes the lock of `case_id` in the data directory, without opening the journal (for a
    /// command that has read it already); see [`lock_case`].
    pub fn lock_case(&self, case_id: &str) -> Result<CaseLock, CliError> {
        CaseLock::acquire(&self.dir()?, case_id).map_err(|e| CliError::from_error(ErrorKind::User, &e))
    }

    /// Opens the journal only if it exists (commands that only read it must not create it).
    pub fn open_existing(&self) -> Result<Option<Journal>, CliError> {
        let dir = self.dir()?;
        if !dir.join(custody_journal::FILE_NAME).exists() {
            return Ok(None);
        }
        self.open().map(Some)
    }
}

/// Takes the lock of `case_id` beside `journal`: one process per case (acquire, resume, cleanup,
/// image, triage). Held until the value is dropped. The error is the refusal: bad input (exit 2),
/// nothing was changed.
pub fn lock_case(journal: &Journal, case_id: &str) -> Result<CaseLock, CliError> {
    journal.lock_case(case_id).map_err(|e| CliError::from_error(ErrorKind::User, &e))
}

/// The clap value parser of every case id argument: the one rule of `custody_plan::CaseId`, checked
/// before anything is read, created or asked of AWS.
pub fn parse_case_id(text: &str) -> Result<String, String> {
    custody_plan::CaseId::parse(text).map(String::from).map_err(|e| e.to_string())
}
