//! One process per case: the lock, its refusal, and a running case whose process died.
//!
//! flock(2) locks belong to an open file, so two `CaseLock`s in one process conflict as two
//! processes would; the tests that need a second process re-run this test binary as a holder
//! ([`hold_the_lock_when_asked`]) and kill it with SIGKILL.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

use custody_journal::lock::{lock_path, probe};
use custody_journal::{Activity, CaseLock, Journal, LockError, Status};

use crate::support::{case, journal, journal_with_case};

/// The environment variable that makes [`hold_the_lock_when_asked`] hold `<dir>|<case>`.
const HOLD: &str = "CUSTODY_TEST_HOLD_LOCK";
/// What the holder prints once it holds the lock (the test harness may print on the same line).
const LOCKED: &str = "<holder has the lock>";

/// Not a test: the holder process. Run by [`holder`] with `HOLD` set; does nothing otherwise.
#[test]
#[ignore = "a helper process for the lock tests, run by them"]
fn hold_the_lock_when_asked() {
    let Ok(what) = std::env::var(HOLD) else { return };
    let (dir, case) = what.split_once('|').unwrap();
    let _lock = CaseLock::acquire(std::path::Path::new(dir), case).unwrap();
    println!("{LOCKED}");
    std::thread::sleep(std::time::Duration::from_secs(120));
}

/// A child process holding the lock of `case` in `dir`, once it says so.
fn holder(dir: &std::path::Path, case: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "locks::hold_the_lock_when_asked", "--nocapture", "--test-threads=1"])
        .env(HOLD, format!("{}|{case}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap().contains(LOCKED) {
            return child;
        }
    }
    let status = child.wait().unwrap();
    panic!("the holder process exited ({status}) without taking the lock");
}

#[test]
fn a_second_lock_of_the_same_case_is_refused_naming_the_holder() {
    let (dir, journal) = journal();
    let _first = journal.lock_case("IR-1").unwrap();
    let err = journal.lock_case("IR-1").unwrap_err();
    let LockError::Busy { case, holder: Some(holder), .. } = &err else { panic!("{err:?}") };
    assert_eq!(case, "IR-1");
    assert_eq!(holder.pid, std::process::id());
    assert!(!holder.host.is_empty());
    assert!(chrono::DateTime::parse_from_rfc3339(&holder.since).is_ok(), "{}", holder.since);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("case `IR-1` is being worked by pid {} on {} since ", holder.pid, holder.host)),
        "{message}"
    );
    // Another case is not held up.
    let _other = journal.lock_case("IR-2").unwrap();
    assert!(lock_path(dir.path(), "IR-1").unwrap().starts_with(dir.path().join("locks")));
}

#[test]
fn the_lock_is_free_again_once_dropped() {
    let (_dir, journal) = journal();
    let lock = journal.lock_case("IR-1").unwrap();
    assert!(matches!(journal.activity("IR-1").unwrap(), Activity::Worked(Some(h)) if h.pid == std::process::id()));
    drop(lock);
    assert_eq!(journal.activity("IR-1").unwrap(), Activity::Idle);
    let _again = journal.lock_case("IR-1").unwrap();
}

#[test]
fn a_probe_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(probe(dir.path(), "IR-1").unwrap(), Activity::Idle);
    assert!(!dir.path().join("locks").exists());
}

#[test]
fn a_lock_held_by_another_process_is_refused_until_that_process_is_killed() {
    let (dir, journal) = journal();
    let mut child = holder(dir.path(), "IR-1");
    let err = journal.lock_case("IR-1").unwrap_err();
    assert!(
        matches!(&err, LockError::Busy { holder: Some(h), .. } if h.pid == child.id()),
        "the refusal names the other process: {err:?}"
    );
    child.kill().unwrap(); // SIGKILL: no destructor runs, the lock file keeps its text
    child.wait().unwrap();
    assert!(std::fs::metadata(lock_path(dir.path(), "IR-1").unwrap()).unwrap().len() > 0);
    // The kernel released the lock with the process.
    assert_eq!(journal.activity("IR-1").unwrap(), Activity::Idle);
    let _mine = journal.lock_case("IR-1").unwrap();
}

#[test]
fn a_running_case_whose_process_was_killed_reads_as_interrupted_and_is_not_rewritten() {
    let (dir, journal) = journal_with_case();
    let mut child = holder(dir.path(), "IR-1");
    let record = journal.case("IR-1").unwrap().unwrap();
    assert_eq!(journal.case_status_now(&record).unwrap(), Status::Running, "worked by a live process");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(journal.case_status_now(&record).unwrap(), Status::Interrupted);
    let acquisition = &journal.acquisitions("IR-1").unwrap()[0];
    assert_eq!(journal.status_now("IR-1", acquisition.status), Status::Interrupted);
    // Computed when read: the journal still has what was recorded.
    assert_eq!(journal.case("IR-1").unwrap().unwrap().status, Status::Running);
    assert_eq!(journal.acquisitions("IR-1").unwrap()[0].status, Status::Running);
}

#[test]
fn a_running_case_never_locked_reads_as_interrupted() {
    // A journal written before cases were locked, or by a process killed before it locked.
    let (_dir, journal) = journal_with_case();
    let record = journal.case("IR-1").unwrap().unwrap();
    assert_eq!(journal.case_status_now(&record).unwrap(), Status::Interrupted);
}

#[test]
fn statuses_other_than_running_and_cases_without_acquisitions_read_as_recorded() {
    let (_dir, journal) = journal();
    journal.create_case(&case("T-1")).unwrap(); // a triage-only case: nothing to resume
    let record = journal.case("T-1").unwrap().unwrap();
    assert_eq!(journal.case_status_now(&record).unwrap(), Status::Running);
    for status in [Status::Succeeded, Status::Failed, Status::Interrupted, Status::CleanedUp] {
        assert_eq!(journal.status_now("T-1", status), status);
    }
}

#[test]
fn a_journal_in_memory_has_nothing_to_lock_and_reads_as_recorded() {
    let journal = Journal::open_in_memory().unwrap();
    journal.create_case(&case("IR-1")).unwrap();
    journal.add_acquisition("IR-1", "i-1", &serde_json::json!({})).unwrap();
    let _a = journal.lock_case("IR-1").unwrap();
    let _b = journal.lock_case("IR-1").unwrap();
    let record = journal.case("IR-1").unwrap().unwrap();
    assert_eq!(journal.case_status_now(&record).unwrap(), Status::Running);
}

#[test]
fn lock_files_are_private() {
    let (dir, journal) = journal();
    let _lock = journal.lock_case("IR-1").unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("locks")), 0o700);
    assert_eq!(mode(&lock_path(dir.path(), "IR-1").unwrap()), 0o600);
}
