//! One process per case: an exclusive lock on `<data dir>/locks/<case>.lock`.
//!
//! Two processes working the same case (two `custody acquire --resume`, or a cleanup while an
//! acquisition runs) would each take the other's snapshots for leftovers. So every command that
//! changes a case (acquire, resume, cleanup, image, triage) first takes the case's lock, and a second
//! one is refused, told who holds it.
//!
//! - The lock is `flock(2)` (through [`std::fs::File::try_lock`]): the kernel releases it when the
//!   holder exits, however it exits (SIGKILL, a power cut on a local disk), so a dead holder never
//!   leaves a stale lock that someone must remove by hand. That is also what lets a reader tell a
//!   case whose process died from one still being worked: [`probe`].
//! - The file records the holder (pid, host name, start time in UTC) for the refusal message. It is
//!   only informative: the lock decides, the text may lag (the holder writes it just after it takes
//!   the lock, and leaves it behind when it is killed).
//! - The file is never deleted: deleting a lock file while another process waits on it would let a
//!   third process lock a new file of the same name, and two would hold "the" lock.
//! - A case id that is not safe as a file name (a journal from an older custody) is escaped
//!   (`%XX`), so the file is always inside `locks/`.
//! - Files are created 0600 and the directories 0700: the lock names the case.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The directory of the lock files, inside the data directory.
pub const LOCK_DIR: &str = "locks";

/// How long a lock attempt retries before it reports the case busy: long enough to ride out a reader
/// that probes the lock ([`probe`] holds it for an instant), short enough not to look hung.
const RETRY_FOR: Duration = Duration::from_millis(500);
const RETRY_EVERY: Duration = Duration::from_millis(25);

/// The most of a lock file read back (what a holder writes is a few dozen bytes).
const MAX_HOLDER_BYTES: u64 = 4096;

/// The process that holds a case's lock, as it recorded itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// When it took the lock: UTC, RFC 3339.
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {} since {}", self.pid, self.host, self.since)
    }
}

/// Whether a process works a case now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Its lock is held; by whom, if the holder has recorded itself.
    Worked(Option<Holder>),
    /// No process holds its lock.
    Idle,
}

/// An error taking or probing a case's lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "case `{case}` is being worked by {}; wait for it to finish, or stop it{}: the lock is released the \
         moment that process exits, however it exits, so there is no lock file to remove",
        holder.as_ref().map(ToString::to_string).unwrap_or_else(|| "another custody process".into()),
        holder.as_ref().map(|h| format!(" (`kill {}` on {})", h.pid, h.host)).unwrap_or_default()
    )]
    Busy { case: String, holder: Option<Holder>, path: PathBuf },
    /// The lock file or its directory could not be created, opened or written.
    #[error("lock file `{}`: cannot {action}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The case id cannot name a file, even escaped (it is far too long).
    #[error("case id `{}` is too long to name a lock file", case.escape_default())]
    BadCaseId { case: String },
}

/// A case's lock, held until the value is dropped (or the process exits).
#[derive(Debug)]
pub struct CaseLock {
    /// `None` for a journal in memory: nothing on disk to share, so nothing to lock.
    file: Option<File>,
    path: PathBuf,
}

impl CaseLock {
    /// Takes the lock of `case_id` in the data directory `dir` (creating `dir` and `dir/locks` 0700
    /// if needed), and records this process in it. Fails with [`LockError::Busy`] when another
    /// process holds it.
    pub fn acquire(dir: &Path, case_id: &str) -> Result<CaseLock, LockError> {
        let path = lock_path(dir, case_id)?;
        let locks = dir.join(LOCK_DIR);
        create_private_dir(&locks).map_err(|source| LockError::Io {
            path: locks.clone(),
            action: "create its directory",
            source,
        })?;
        let io = |action| {
            let path = path.clone();
            move |source| LockError::Io { path, action, source }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io("open it"))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if started.elapsed() < RETRY_FOR => std::thread::sleep(RETRY_EVERY),
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Busy { case: case_id.to_string(), holder: read_holder(&mut file), path })
                }
                Err(TryLockError::Error(source)) => return Err(LockError::Io { path, action: "lock it", source }),
            }
        }
        let me = Holder { pid: std::process::id(), host: host_name(), since: crate::now() };
        let text = serde_json::to_string(&me).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{text}\n").as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(io("record the holder in it"))?;
        Ok(CaseLock { file: Some(file), path })
    }

    /// A lock that locks nothing, for a journal in memory (no other process can see it).
    pub fn in_memory() -> CaseLock {
        CaseLock { file: None, path: PathBuf::new() }
    }

    /// The lock file (empty in memory).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CaseLock {
    fn drop(&mut self) {
        // Cleared while still held, so that a reader never takes a finished holder for the current
        // one; the kernel releases the lock when the file is closed, right after.
        if let Some(file) = &self.file {
            let _ = file.set_len(0);
        }
    }
}

/// Whether a process holds the lock of `case_id` in `dir` now, without waiting and without creating
/// anything.
pub fn probe(dir: &Path, case_id: &str) -> Result<Activity, LockError> {
    let path = lock_path(dir, case_id)?;
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Activity::Idle),
        Err(source) => return Err(LockError::Io { path, action: "open it", source }),
    };
    // A shared lock is refused only while someone holds the exclusive one, and two probes do not
    // refuse each other.
    match file.try_lock_shared() {
        Ok(()) => Ok(Activity::Idle),
        Err(TryLockError::WouldBlock) => Ok(Activity::Worked(read_holder(&mut file))),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, action: "probe it", source }),
    }
}

/// `<dir>/locks/<case>.lock`, the case escaped unless it is made of letters, digits, `-` and `_`.
pub fn lock_path(dir: &Path, case_id: &str) -> Result<PathBuf, LockError> {
    let mut name = String::with_capacity(case_id.len());
    for b in case_id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    // Most file systems allow 255 bytes in a name.
    if name.is_empty() || name.len() > 250 {
        return Err(LockError::BadCaseId { case: case_id.to_string() });
    }
    Ok(dir.join(LOCK_DIR).join(format!("{name}.lock")))
}

/// Creates `dir` and its missing parents, each 0700 (an existing directory is left as it is).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The holder a lock file records, if it can be read.
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(MAX_HOLDER_BYTES).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// This machine's name (the kernel's node name), for the refusal another machine sharing the data
/// directory would print.
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().into_owned();
    if name.is_empty() {
        "this host".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_names_stay_inside_the_lock_directory() {
        let dir = Path::new("/d");
        assert_eq!(lock_path(dir, "IR-7").unwrap(), Path::new("/d/locks/IR-7.lock"));
        assert_eq!(lock_path(dir, "../x").unwrap(), Path::new("/d/locks/%2E%2E%2Fx.lock"));
        assert_eq!(lock_path(dir, "IR.7").unwrap(), Path::new("/d/locks/IR%2E7.lock"));
        assert!(matches!(lock_path(dir, ""), Err(LockError::BadCaseId { .. })));
        assert!(matches!(lock_path(dir, &"é".repeat(100)), Err(LockError::BadCaseId { .. })));
    }

    #[test]
    fn the_refusal_names_the_holder_and_what_to_do() {
        let holder = Holder { pid: 4242, host: "forensics-1".into(), since: "2026-01-01T00:00:00.000000Z".into() };
        let err = LockError::Busy { case: "IR-7".into(), holder: Some(holder), path: PathBuf::from("/d/l") };
        assert_eq!(
            err.to_string(),
            "case `IR-7` is being worked by pid 4242 on forensics-1 since 2026-01-01T00:00:00.000000Z; wait for it \
             to finish, or stop it (`kill 4242` on forensics-1): the lock is released the moment that process \
             exits, however it exits, so there is no lock file to remove"
        );
        let err = LockError::Busy { case: "IR-7".into(), holder: None, path: PathBuf::from("/d/l") };
        assert!(err.to_string().starts_with("case `IR-7` is being worked by another custody process; wait"));
    }
}
