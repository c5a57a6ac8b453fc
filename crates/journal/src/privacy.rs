//! The journal is private: it names the instances, accounts, roles and evidence of investigations.
//!
//! SQLite creates a database file with mode 0644 (less the umask), and its `-wal` and `-shm` files
//! with the mode of the database file. So the database file is created here first, 0600, and SQLite
//! then gives the other two the same mode. A journal written by an older custody may be 0644: its
//! files are made 0600 (they are custody's own) and the caller is told. The data directory is the
//! user's: when it is open to others it is only reported, never changed.

use std::fs::{OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The permission bits of the group and of others.
const NOT_OWNER: u32 = 0o077;

/// A sentence when `dir` can be read or entered by the group or others.
pub(crate) fn directory_notice(dir: &Path) -> Option<String> {
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & NOT_OWNER != 0).then(|| {
        format!(
            "the data directory `{}` is open to other users (mode {mode:04o}) and holds the journal of your \
             cases; custody leaves it as it is: `chmod 700 {}` makes it private",
            dir.display(),
            dir.display()
        )
    })
}

/// Creates the journal file 0600 if it does not exist; makes it, and its `-wal` and `-shm` files
/// when present, 0600 if they are open to others. Returns what was changed, one sentence each.
pub(crate) fn prepare_files(journal: &Path) -> io::Result<Vec<String>> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(journal) {
        Ok(_) => return Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mut notices = Vec::new();
    for path in [journal.to_path_buf(), sibling(journal, "-wal"), sibling(journal, "-shm")] {
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if mode & NOT_OWNER == 0 {
            continue;
        }
        notices.push(match std::fs::set_permissions(&path, Permissions::from_mode(0o600)) {
            Ok(()) => format!("made `{}` private: it was mode {mode:04o}, it is now 0600", path.display()),
            Err(e) => {
                format!("`{}` is open to other users (mode {mode:04o}) and cannot be made private: {e}", path.display())
            }
        });
    }
    Ok(notices)
}

/// `<journal><suffix>`: SQLite's name for the write-ahead log and the shared-memory file.
pub(crate) fn sibling(journal: &Path, suffix: &str) -> PathBuf {
    let mut name = journal.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}
