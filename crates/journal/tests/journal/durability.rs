//! What survives the process: reopening, the file on disk, the schema version, a second opener.

use custody_journal::{Journal, JournalError, Outcome, ResourceKind, Status, FILE_NAME, SCHEMA_VERSION};
use serde_json::json;

use crate::support::{case, evidence, intent, resource};

#[test]
fn everything_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (id, entries, resources, evidence_items, acquisitions, cases) = {
        let journal = Journal::open(dir.path()).unwrap();
        journal.create_case(&case("IR-1")).unwrap();
        journal.add_acquisition("IR-1", "i-1", &json!({"plan": 1})).unwrap();
        let done = journal.intend(&intent("IR-1", "snapshot", "ec2:CreateSnapshot")).unwrap();
        journal
            .record_outcome(done, &Outcome::Ok { result: json!({"SnapshotId": "snap-1"}), request_id: None })
            .unwrap();
        let pending = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
        journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-1", true)).unwrap();
        journal.record_evidence(&evidence("IR-1", "vol-1", "snap-2")).unwrap();
        journal.set_acquisition_status("IR-1", "i-1", Status::Interrupted, Some("killed")).unwrap();
        let snapshot = (
            pending,
            journal.entries("IR-1").unwrap(),
            journal.resources("IR-1").unwrap(),
            journal.evidence("IR-1").unwrap(),
            journal.acquisitions("IR-1").unwrap(),
            journal.cases().unwrap(),
        );
        drop(journal);
        snapshot
    };

    let journal = Journal::open(dir.path()).unwrap();
    assert_eq!(journal.entries("IR-1").unwrap(), entries);
    assert_eq!(journal.resources("IR-1").unwrap(), resources);
    assert_eq!(journal.evidence("IR-1").unwrap(), evidence_items);
    assert_eq!(journal.acquisitions("IR-1").unwrap(), acquisitions);
    assert_eq!(journal.cases().unwrap(), cases);
    let pending = journal.last_entry("IR-1", "i-1", "copy", "ec2:CopySnapshot").unwrap().unwrap();
    assert_eq!((pending.id, pending.outcome), (id, None), "resume sees the intent without outcome");
    assert_eq!(journal.writes(), 0, "the count is of this value's writes");
}

#[test]
fn open_creates_the_directory_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/custody");
    let journal = Journal::open(&nested).unwrap();
    assert_eq!(journal.path(), Some(nested.join(FILE_NAME).as_path()));
    assert!(nested.join(FILE_NAME).is_file());
}

#[test]
fn open_names_a_directory_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Journal::open(&file.join("sub")).err().unwrap();
    assert!(matches!(err, JournalError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir/sub"), "{err}");
}

#[test]
fn the_file_is_in_wal_mode_at_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let _journal = Journal::open(dir.path()).unwrap();
    let raw = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let version: i64 = raw.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), version), ("wal", SCHEMA_VERSION));
}

#[test]
fn an_intent_is_committed_before_intend_returns() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    journal.create_case(&case("IR-1")).unwrap();
    let id = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    // Another connection (another process, in effect) sees it while the journal is still open.
    let raw = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
    let step: String = raw.query_row("SELECT step_id FROM entries WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(step, "copy");
}

#[test]
fn a_newer_schema_is_refused_with_the_path_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    drop(Journal::open(dir.path()).unwrap());
    let path = dir.path().join(FILE_NAME);
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let err = Journal::open(dir.path()).err().unwrap();
    assert!(matches!(err, JournalError::NewerSchema { found: 99, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "journal `{}` has schema version 99, newer than the {SCHEMA_VERSION} this custody supports: use a newer custody",
            path.display()
        )
    );
}

#[test]
fn a_file_that_is_not_a_database_is_an_sqlite_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Journal::open(dir.path()).err().unwrap();
    assert!(matches!(err, JournalError::Sqlite { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("journal `{}`: cannot ", path.display())), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn two_openers_of_one_file_both_write() {
    let dir = tempfile::tempdir().unwrap();
    let first = Journal::open(dir.path()).unwrap();
    let second = Journal::open(dir.path()).unwrap();
    first.create_case(&case("IR-1")).unwrap();
    second.intend(&intent("IR-1", "snapshot", "ec2:CreateSnapshot")).unwrap();
    first.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    let steps: Vec<String> = second.entries("IR-1").unwrap().into_iter().map(|e| e.intent.step_id).collect();
    assert_eq!(steps, ["snapshot", "copy"]);
}
