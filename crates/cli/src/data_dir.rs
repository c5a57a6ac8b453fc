//! `--data-dir`: where the journal lives, shared by every command that reads or writes it.

use custody_journal::Journal;
use std::path::PathBuf;

/// The journal's directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArgs {
    /// The directory of the journal (`journal.sqlite3`) [default: $CUSTODY_DATA_DIR, else
    /// $XDG_DATA_HOME/custody, else ~/.local/share/custody].
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

    /// Opens (creating if needed) the journal.
    pub fn open(&self) -> Result<Journal, String> {
        let dir = self.dir()?;
        Journal::open(&dir).map_err(|e| format!("{}: cannot open the journal: {}", dir.display(), error_chain(&e)))
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
