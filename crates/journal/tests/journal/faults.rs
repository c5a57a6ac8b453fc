//! Fault injection: after N writes nothing more is stored, as if the process had been killed.

use custody_journal::{Journal, JournalError, Outcome, ResourceKind};
use serde_json::json;

use crate::support::{case, evidence, intent, resource};

#[test]
fn writes_after_the_crash_point_fail_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    journal.create_case(&case("IR-1")).unwrap();
    journal.add_acquisition("IR-1", "i-1", &json!({})).unwrap();
    assert_eq!(journal.writes(), 2);

    journal.crash_after_writes(2);
    let snapshot = journal.intend(&intent("IR-1", "snapshot", "ec2:CreateSnapshot")).unwrap();
    let copy = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    // The process "dies" here: the copy's outcome and everything after is lost.
    let ok = Outcome::Ok { result: json!({"SnapshotId": "snap-2"}), request_id: None };
    assert!(matches!(journal.record_outcome(copy, &ok), Err(JournalError::Injected)));
    assert!(matches!(
        journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-2", true)),
        Err(JournalError::Injected)
    ));
    assert!(matches!(journal.record_evidence(&evidence("IR-1", "vol-1", "snap-2")), Err(JournalError::Injected)));
    assert!(matches!(journal.create_case(&case("IR-2")), Err(JournalError::Injected)));
    assert!(matches!(journal.set_case_status("IR-1", custody_journal::Status::Failed), Err(JournalError::Injected)));
    assert_eq!(journal.writes(), 4);
    drop(journal);

    let journal = Journal::open(dir.path()).unwrap();
    let entries = journal.entries("IR-1").unwrap();
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), [snapshot, copy]);
    assert!(entries.iter().all(|e| e.outcome.is_none()));
    assert!(journal.resources("IR-1").unwrap().is_empty());
    assert!(journal.evidence("IR-1").unwrap().is_empty());
    assert!(journal.case("IR-2").unwrap().is_none());
    assert_eq!(journal.case("IR-1").unwrap().unwrap().status, custody_journal::Status::Running);
}

#[test]
fn crash_after_zero_writes_refuses_the_next_one() {
    let journal = Journal::open_in_memory().unwrap();
    journal.crash_after_writes(0);
    assert!(matches!(journal.create_case(&case("IR-1")), Err(JournalError::Injected)));
    assert_eq!(journal.cases().unwrap(), [], "reads still work");
}

#[test]
fn refused_writes_do_not_bring_the_crash_point_nearer() {
    let journal = Journal::open_in_memory().unwrap();
    journal.crash_after_writes(1);
    assert!(matches!(journal.intend(&intent("IR-9", "copy", "ec2:CopySnapshot")), Err(JournalError::UnknownCase(_))));
    journal.create_case(&case("IR-1")).unwrap();
    assert!(matches!(journal.create_case(&case("IR-2")), Err(JournalError::Injected)));
}

#[test]
fn clear_fault_lets_writes_through_again() {
    let journal = Journal::open_in_memory().unwrap();
    journal.crash_after_writes(0);
    assert!(journal.create_case(&case("IR-1")).is_err());
    journal.clear_fault();
    journal.create_case(&case("IR-1")).unwrap();
    assert_eq!(journal.writes(), 1);
}

#[test]
fn the_injected_error_says_it_is_simulated() {
    assert_eq!(JournalError::Injected.to_string(), "write refused: the journal simulates a crash (fault injection)");
}
