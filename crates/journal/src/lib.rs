//! # custody-journal: the crash-safe journal of acquisitions
//!
//! An acquisition is a sequence of AWS calls that change things: snapshot a volume, copy it, share
//! it, create a key, an alias, a grant, remove what was temporary. The process making them can be
//! killed between any two, or during one. The journal is what lets `custody acquire --resume CASE`
//! carry on without doing a step twice or forgetting one, lets `custody cleanup` find every temporary
//! resource, and lets `custody show` tell an examiner exactly what was done, by whom, and when.
//!
//! ## Schema
//!
//! One SQLite file, `<data dir>/journal.sqlite3` (see [`Journal::default_dir`]), whose version is kept
//! in `PRAGMA user_version` and migrated forward on open; a journal from a newer custody is refused
//! ([`JournalError::NewerSchema`]) rather than misread.
//!
//! - `cases`: one per investigation (id, examiner, destination account and region, status).
//! - `acquisitions`: one per instance of a case, with the plan (JSON) it runs and its status.
//! - `entries`: one per mutating AWS call — the *intent* (step, `service:Operation`, account, region,
//!   signing role, parameters as JSON) and, once known, the *outcome* (`ok` with a result JSON, or
//!   `failed` with code and message; the AWS request id either way).
//! - `resources`: every resource created, temporary (cleanup removes it) or evidence, and when and how
//!   it was removed.
//! - `evidence`: the evidence items, one snapshot per volume.
//! - `triage_commands`, `triage_artifacts` (schema 2): the SSM Run Command invocations of `custody
//!   triage`, their latest status, and every artifact fetched with its SHA-256 ([`triage`]).
//!
//! Times are UTC, RFC 3339 with microseconds, so that text order is time order.
//!
//! ## Durability
//!
//! - **Intent before the call.** The executor calls [`Journal::intend`] and only then AWS. If the
//!   process dies after the call, the journal still says the call may have happened; had the order
//!   been the other way round, a snapshot or grant could exist that nothing knows about, which for
//!   evidence handling is the one unacceptable outcome.
//! - **One transaction per write**, begun `IMMEDIATE` (the write lock is taken up front, so two
//!   processes never deadlock upgrading read locks). A write is there whole or not at all.
//! - **WAL with `synchronous = FULL`**: every commit is fsynced before `intend` returns, so "the intent
//!   is recorded" means on disk, not in a page cache that dies with the machine. That costs a sync per
//!   call; an acquisition makes tens of calls that each take seconds, so it is not worth saving. WAL
//!   lets `custody show` read while an acquisition writes, and a busy timeout makes a second writer
//!   wait instead of failing.
//! - Foreign keys are on: nothing can be recorded for a case that does not exist.
//!
//! ## Resume
//!
//! For each step of the plan the executor asks [`Journal::last_entry`] for the latest attempt:
//!
//! - none: the step never started; run it.
//! - outcome `ok`: done; reuse its result (the created ids) and do not call again.
//! - outcome `failed`: the call was answered with an error; the step may be retried.
//! - no outcome: the call was intended and the process died — it may or may not have taken effect.
//!   The executor must look in AWS (by the idempotency token or tags it put in the parameters) and
//!   record what it finds before going on.
//!
//! Outcomes are never rewritten ([`JournalError::OutcomeRecorded`]): a retry is a new entry, so the
//! journal keeps every attempt.
//!
//! ## Concurrency and faults
//!
//! [`Journal`] is `Send + Sync`: one connection behind a mutex (SQLite serializes writers anyway).
//! A thread that panics while holding it poisons it, and every later call returns
//! [`JournalError::Poisoned`] instead of panicking in turn. With the `fault-injection` feature,
//! `Journal::crash_after_writes` makes every write after the next N fail as if the process had been
//! killed there, for the executor's crash tests.
//!
//! ## The kill switch (for tests)
//!
//! The crash tests also kill the real `custody` binary, with no unwinding and no cleanup, at a chosen
//! journal write: two environment variables, read once per process, make it call
//! [`std::process::abort`] (SIGABRT) at a write to a journal file (a journal in memory is not counted):
//!
//! - `CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES=N`: right after the process's N-th write is committed
//!   (on disk): whatever the write announced (an intended AWS call) has not happened.
//! - `CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE=N`: when the process asks for its N-th write, before anything
//!   of it is written: the journal holds N - 1 writes, and what the process did since the last one
//!   (an AWS call whose answer write N was to record) has happened, unrecorded.
//!
//! Both exist for tests only (`crates/cli/tests/crash_*.rs`); a value that is not a number is ignored.

mod audit;
mod cases;
mod error;
pub mod lock;
mod model;
mod privacy;
mod resources;
mod schema;
mod steps;
pub mod triage;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use audit::AuditMatch;
pub use error::JournalError;
pub use lock::{Activity, CaseLock, Holder, LockError};
pub use model::{
    AcquisitionRecord, CaseRecord, Entry, EntryId, Evidence, Intent, NewCase, NewResource, Outcome, ResourceKind,
    ResourceRecord, Status, UnknownVariant,
};
pub use schema::SCHEMA_VERSION;

/// The journal file's name inside the data directory.
pub const FILE_NAME: &str = "journal.sqlite3";

/// How long a write waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The journal: a SQLite database of cases, their steps, resources and evidence.
pub struct Journal {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    /// What errors call the database: the path, or `:memory:`.
    label: PathBuf,
    /// Successful writes so far.
    writes: AtomicU64,
    /// Writes fail once `writes` reaches this (fault injection; `u64::MAX` when off).
    crash_at: AtomicU64,
    /// What opening found about the privacy of the data directory and the journal's files.
    notices: Vec<String>,
}

/// An error inside a read or write: SQLite's, to be given the path and the action by the wrapper, or
/// one of the journal's own. Lets the closures use `?` on both.
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Journal(JournalError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail::Sql(e)
    }
}

impl From<JournalError> for Fail {
    fn from(e: JournalError) -> Fail {
        Fail::Journal(e)
    }
}

impl Journal {
    /// Opens `<dir>/journal.sqlite3`, creating the directory and the file if needed, and brings its
    /// schema to this version.
    ///
    /// The journal is evidence records: the directory is created 0700 and the journal's files
    /// 0600. An existing directory open to the group or others is left as it is (it is the user's;
    /// custody may share it on purpose) and named in [`Journal::notices`]; the journal's own files
    /// found open to others are made 0600, and that is named there too.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let mut notices = Vec::new();
        if dir.is_dir() {
            notices.extend(privacy::directory_notice(dir));
        }
        lock::create_private_dir(dir).map_err(|source| JournalError::Io { path: dir.to_path_buf(), source })?;
        let path = dir.join(FILE_NAME);
        notices
            .extend(privacy::prepare_files(&path).map_err(|source| JournalError::Io { path: path.clone(), source })?);
        let conn = Connection::open(&path).map_err(|source| JournalError::Sqlite {
            path: path.clone(),
            action: "open the file",
            source,
        })?;
        let mut journal = Journal::setup(conn, Some(path))?;
        journal.notices = notices;
        Ok(journal)
    }

    /// What opening found about the privacy of the data directory and the journal's files, one
    /// sentence each (for the CLI to print as warnings).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The data directory (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.path.as_deref().and_then(Path::parent)
    }

    /// Takes the case's lock ([`lock`]): one process per case. A journal in memory locks nothing.
    pub fn lock_case(&self, case_id: &str) -> Result<CaseLock, LockError> {
        match self.dir() {
            Some(dir) => CaseLock::acquire(dir, case_id),
            None => Ok(CaseLock::in_memory()),
        }
    }

    /// Whether a process works the case now ([`lock::probe`]); in memory, only this process can.
    pub fn activity(&self, case_id: &str) -> Result<Activity, LockError> {
        match self.dir() {
            Some(dir) => lock::probe(dir, case_id),
            None => Ok(Activity::Worked(None)),
        }
    }

    /// A journal that lives in memory and dies with the value (for tests and dry runs).
    pub fn open_in_memory() -> Result<Journal, JournalError> {
        let conn = Connection::open_in_memory().map_err(|source| JournalError::Sqlite {
            path: PathBuf::from(":memory:"),
            action: "open an in-memory database",
            source,
        })?;
        Journal::setup(conn, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Journal, JournalError> {
        let label = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        let sql = |action| {
            let label = label.clone();
            move |source| JournalError::Sqlite { path: label, action, source }
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql("set the busy timeout"))?;
        // An in-memory database answers `memory`, and a file system without shared memory may keep the
        // rollback journal: both are still atomic and, with synchronous FULL, durable.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql("switch to write-ahead logging"))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql("set synchronous = FULL"))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(sql("enable foreign keys"))?;
        match schema::migrate(&mut conn).map_err(sql("create or migrate the schema"))? {
            schema::Migration::Current => {}
            schema::Migration::Newer(found) => {
                return Err(JournalError::NewerSchema { path: label, found, supported: SCHEMA_VERSION })
            }
            schema::Migration::Invalid(found) => {
                return Err(JournalError::Corrupt(format!(
                    "journal `{}` has schema version {found}, which no custody writes",
                    label.display()
                )))
            }
        }
        Ok(Journal {
            conn: Mutex::new(conn),
            path,
            label,
            writes: AtomicU64::new(0),
            crash_at: AtomicU64::new(u64::MAX),
            notices: Vec::new(),
        })
    }

    /// The journal file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The default data directory: `$CUSTODY_DATA_DIR`, else `$XDG_DATA_HOME/custody`, else
    /// `$HOME/.local/share/custody`; `None` if none of these is set.
    pub fn default_dir() -> Option<PathBuf> {
        default_dir_from(|name| std::env::var_os(name))
    }

    /// How many writes succeeded through this value so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// After `writes` more successful writes, every write fails with [`JournalError::Injected`]
    /// without writing anything, as if the process had been killed at that point.
    #[cfg(feature = "fault-injection")]
    pub fn crash_after_writes(&self, writes: u64) {
        // Under the lock, so that no write lands between reading the count and setting the limit.
        let _guard = self.conn.lock();
        self.crash_at.store(self.writes().saturating_add(writes), Ordering::SeqCst);
    }

    /// Lets writes through again.
    #[cfg(feature = "fault-injection")]
    pub fn clear_fault(&self) {
        self.crash_at.store(u64::MAX, Ordering::SeqCst);
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, JournalError> {
        self.conn.lock().map_err(|_| JournalError::Poisoned)
    }

    fn finish<T>(&self, action: &'static str, result: Result<T, Fail>) -> Result<T, JournalError> {
        result.map_err(|fail| match fail {
            Fail::Sql(source) => JournalError::Sqlite { path: self.label.clone(), action, source },
            Fail::Journal(e) => e,
        })
    }

    /// Runs `f` as one read.
    pub(crate) fn read<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, Fail>,
    ) -> Result<T, JournalError> {
        let conn = self.lock()?;
        self.finish(action, f(&conn))
    }

    /// Runs `f` in one transaction, committed (and, with synchronous FULL, on disk) before this returns.
    pub(crate) fn write<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Fail>,
    ) -> Result<T, JournalError> {
        let mut conn = self.lock()?;
        if self.writes() >= self.crash_at.load(Ordering::SeqCst) {
            return Err(JournalError::Injected);
        }
        let durable = self.path.is_some();
        if durable {
            kill_switch::before_write();
        }
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        let value = self.finish(action, result)?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        if durable {
            kill_switch::after_write();
        }
        Ok(value)
    }

    /// A [`JournalError::Corrupt`] naming this journal's file.
    pub(crate) fn corrupt(&self, table: &str, column: &str, row: &str, detail: impl std::fmt::Display) -> Fail {
        Fail::Journal(JournalError::corrupt(&self.label, table, column, row, detail))
    }

    /// Checks a case id read back from `table` ([`custody_ids::CaseId::parse`]): every case id enters
    /// custody through that parser, so one that breaks the rule was not written by custody, and the
    /// file was edited or damaged.
    pub(crate) fn case_id(&self, table: &str, row: &str, text: String) -> Result<String, Fail> {
        match custody_ids::CaseId::parse(&text) {
            Ok(_) => Ok(text),
            Err(e) => Err(self.corrupt(table, "case_id", row, e)),
        }
    }

    /// Parses a stored JSON column.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        column: &str,
        row: &str,
        text: &str,
    ) -> Result<T, Fail> {
        serde_json::from_str(text).map_err(|e| self.corrupt(table, column, row, e))
    }

    /// Parses a stored enum column.
    pub(crate) fn variant<T: std::str::FromStr<Err = UnknownVariant>>(
        &self,
        table: &str,
        column: &str,
        row: &str,
        text: &str,
    ) -> Result<T, Fail> {
        text.parse().map_err(|e| self.corrupt(table, column, row, e))
    }
}

/// The test-only kill switch (crate docs, "The kill switch"): the process's writes to journal files,
/// counted across every journal it opens, and the write to abort at.
mod kill_switch {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// Durable writes committed by this process.
    static WRITES: AtomicU64 = AtomicU64::new(0);

    /// `(abort after write N, abort at write N)`, from the environment, read once.
    fn limits() -> (Option<u64>, Option<u64>) {
        static LIMITS: OnceLock<(Option<u64>, Option<u64>)> = OnceLock::new();
        *LIMITS.get_or_init(|| {
            let read = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
            (read("CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES"), read("CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE"))
        })
    }

    /// Before a write: abort if it is the one to die at.
    pub(super) fn before_write() {
        if limits().1 == Some(WRITES.load(Ordering::SeqCst).saturating_add(1)) {
            std::process::abort();
        }
    }

    /// After a committed write: abort if it is the one to die after.
    pub(super) fn after_write() {
        let done = WRITES.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        if limits().0 == Some(done) {
            std::process::abort();
        }
    }
}

/// Fails with `UnknownCase` unless the case exists (so writes say which case, not "foreign key failed").
pub(crate) fn require_case(tx: &Transaction<'_>, case_id: &str) -> Result<(), Fail> {
    let found = tx.prepare_cached("SELECT 1 FROM cases WHERE case_id = ?1")?.exists([case_id])?;
    if found {
        Ok(())
    } else {
        Err(JournalError::UnknownCase(case_id.to_string()).into())
    }
}

/// Now, as stored: UTC, RFC 3339, microseconds (text order is time order).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// [`Journal::default_dir`] over any environment; empty variables count as unset, and
/// `XDG_DATA_HOME` must be absolute, as the XDG base directory specification says.
fn default_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("CUSTODY_DATA_DIR") {
        return Some(dir);
    }
    if let Some(xdg) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("custody"));
    }
    set("HOME").map(|home| home.join(".local/share/custody"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn default_dir_prefers_custody_then_xdg_then_home() {
        let all = [("CUSTODY_DATA_DIR", "/c"), ("XDG_DATA_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(default_dir_from(env(&all)), Some(PathBuf::from("/c")));
        assert_eq!(default_dir_from(env(&all[1..])), Some(PathBuf::from("/x/custody")));
        assert_eq!(default_dir_from(env(&all[2..])), Some(PathBuf::from("/h/.local/share/custody")));
        assert_eq!(default_dir_from(env(&[])), None);
    }

    #[test]
    fn default_dir_ignores_empty_and_relative_xdg() {
        let vars = [("CUSTODY_DATA_DIR", ""), ("XDG_DATA_HOME", "rel"), ("HOME", "/h")];
        assert_eq!(default_dir_from(env(&vars)), Some(PathBuf::from("/h/.local/share/custody")));
    }

    #[test]
    fn now_is_utc_rfc3339_with_microseconds() {
        let t = now();
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok(), "{t}");
        assert!(t.ends_with('Z') && t.len() == "2026-01-01T00:00:00.000000Z".len(), "{t}");
    }

    #[test]
    fn journal_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Journal>();
    }

    #[test]
    fn a_poisoned_lock_is_an_error_not_a_panic() {
        let journal = Journal::open_in_memory().unwrap();
        std::thread::scope(|s| {
            let _ = s
                .spawn(|| {
                    let _guard = journal.conn.lock();
                    panic!("a thread dies holding the journal");
                })
                .join();
        });
        assert!(matches!(journal.cases(), Err(JournalError::Poisoned)));
        let case = NewCase {
            case_id: "IR-1".to_string(),
            examiner: None,
            destination_account: "1".to_string(),
            destination_region: "r".to_string(),
            note: None,
            simulated: false,
        };
        assert!(matches!(journal.create_case(&case), Err(JournalError::Poisoned)));
    }

    #[test]
    fn in_memory_journal_is_at_the_current_schema() {
        let journal = Journal::open_in_memory().unwrap();
        assert_eq!(journal.path(), None);
        let version: i64 = journal.read("test", |c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
