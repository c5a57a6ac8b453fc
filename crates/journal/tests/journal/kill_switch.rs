//! The test-only kill switch: the process dies by `abort` (no unwinding, no cleanup) at the journal
//! write the environment names, and the journal file holds exactly the writes before it.
//!
//! The process killed is this test binary itself, run again with only [`child_writes_cases`] and
//! the switch set: it creates cases, one write each, in a journal file the parent names.

use custody_journal::{Journal, NewCase};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

/// Where the child writes (set only in the child).
const CHILD_DIR: &str = "CUSTODY_TEST_KILL_SWITCH_CHILD_DIR";

/// SIGABRT, what `std::process::abort` raises.
const SIGABRT: i32 = 6;

fn case(n: u64) -> NewCase {
    NewCase {
        case_id: format!("K-{n}"),
        examiner: None,
        destination_account: "111111111111".to_string(),
        destination_region: "eu-west-1".to_string(),
        note: None,
        simulated: false,
    }
}

/// In the child: five cases, one write each. Run alone, it does nothing.
#[test]
fn child_writes_cases() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let journal = Journal::open(Path::new(&dir)).unwrap();
    for n in 1..=5 {
        journal.create_case(&case(n)).unwrap();
    }
}

/// Runs the child with `variable=n`: its exit signal and the cases its journal holds.
fn killed(variable: &str, n: u64) -> (Option<i32>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill_switch::child_writes_cases", "--test-threads", "1", "--quiet"])
        .env(CHILD_DIR, dir.path())
        .env(variable, n.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    (status.signal(), journal.cases().unwrap().len())
}

#[test]
fn abort_after_n_writes_leaves_exactly_n_writes_and_dies_by_sigabrt() {
    for n in 1..=5 {
        assert_eq!(killed("CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES", n), (Some(SIGABRT), n as usize), "n={n}");
    }
}

#[test]
fn abort_at_write_n_leaves_the_writes_before_it_and_dies_by_sigabrt() {
    for n in 1..=5 {
        assert_eq!(killed("CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE", n), (Some(SIGABRT), n as usize - 1), "n={n}");
    }
}

#[test]
fn without_the_switch_the_child_runs_to_the_end() {
    assert_eq!(killed("CUSTODY_TEST_UNRELATED", 1), (None, 5));
}
