//! A damaged row is reported as `Corrupt`, naming the table and column, never a panic.

use custody_journal::{Journal, JournalError, ResourceKind, FILE_NAME};

use crate::support::{evidence, intent, journal_with_case, resource};

/// Runs `sql` on the journal's file through a connection of its own, as someone editing it would.
fn tamper(journal: &Journal, sql: &str) {
    let raw = rusqlite::Connection::open(journal.path().unwrap()).unwrap();
    raw.execute_batch(sql).unwrap();
}

fn corrupt_message(result: Result<impl std::fmt::Debug, JournalError>) -> String {
    match result {
        Err(JournalError::Corrupt(message)) => message,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn bad_json_in_params_is_corrupt() {
    let (dir, journal) = journal_with_case();
    let id = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    tamper(&journal, "UPDATE entries SET params = '{not json'");
    let message = corrupt_message(journal.entries("IR-1"));
    let path = dir.path().join(FILE_NAME);
    assert!(
        message.starts_with(&format!("journal `{}`: `entries.params` of entry {id} is not valid: ", path.display())),
        "{message}"
    );
    corrupt_message(journal.last_entry("IR-1", "i-1", "copy", "ec2:CopySnapshot"));
}

#[test]
fn an_unknown_outcome_or_a_missing_result_is_corrupt() {
    let (_dir, journal) = journal_with_case();
    journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    tamper(&journal, "UPDATE entries SET outcome = 'maybe'");
    assert!(corrupt_message(journal.entries("IR-1")).contains("`entries.outcome`"));
    tamper(&journal, "UPDATE entries SET outcome = 'ok', result = NULL");
    assert!(corrupt_message(journal.entries("IR-1")).contains("`entries.result`"));
    tamper(&journal, "UPDATE entries SET outcome = 'failed'");
    assert!(corrupt_message(journal.entries("IR-1")).contains("`entries.error_message`"));
}

#[test]
fn an_unknown_status_is_corrupt() {
    let (_dir, journal) = journal_with_case();
    tamper(&journal, "UPDATE cases SET status = 'bogus'; UPDATE acquisitions SET status = 'bogus'");
    let message = corrupt_message(journal.cases());
    assert!(message.contains("`cases.status` of case `IR-1` is not valid: unknown status `bogus`"), "{message}");
    corrupt_message(journal.case("IR-1"));
    assert!(corrupt_message(journal.acquisitions("IR-1")).contains("`acquisitions.status`"));
}

#[test]
fn a_bad_plan_is_corrupt() {
    let (_dir, journal) = journal_with_case();
    tamper(&journal, "UPDATE acquisitions SET plan = ''");
    assert!(corrupt_message(journal.acquisitions("IR-1")).contains("`acquisitions.plan`"));
}

#[test]
fn a_bad_resource_kind_or_detail_is_corrupt() {
    let (_dir, journal) = journal_with_case();
    journal.record_resource(&resource("IR-1", ResourceKind::Grant, "g-1", true)).unwrap();
    tamper(&journal, "UPDATE resources SET kind = 'bucket'");
    assert!(corrupt_message(journal.resources("IR-1")).contains("`resources.kind`"));
    tamper(&journal, "UPDATE resources SET kind = 'grant', detail = '[1,'");
    assert!(corrupt_message(journal.open_temporaries(None)).contains("`resources.detail`"));
}

#[test]
fn tags_that_are_not_an_object_of_strings_are_corrupt() {
    let (_dir, journal) = journal_with_case();
    journal.record_evidence(&evidence("IR-1", "vol-1", "snap-1")).unwrap();
    tamper(&journal, "UPDATE evidence SET tags = '{\"a\": 1}'");
    assert!(corrupt_message(journal.evidence("IR-1")).contains("`evidence.tags`"));
}

#[test]
fn a_case_id_that_breaks_the_rule_is_corrupt() {
    let (_dir, journal) = journal_with_case();
    journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    journal.record_resource(&resource("IR-1", ResourceKind::Grant, "g-1", true)).unwrap();
    journal.record_evidence(&evidence("IR-1", "vol-1", "snap-1")).unwrap();
    // Foreign keys off, as a hand edit of one table would be.
    tamper(&journal, "PRAGMA foreign_keys = OFF; UPDATE cases SET case_id = 'IR 1'");
    let message = corrupt_message(journal.cases());
    assert!(
        message.contains("`cases.case_id` of case `IR 1` is not valid: case id `IR 1`: ` ` is not allowed"),
        "{message}"
    );
    tamper(
        &journal,
        "PRAGMA foreign_keys = OFF; UPDATE entries SET case_id = 'IR.1'; UPDATE acquisitions SET case_id = 'IR.1'; \
         UPDATE resources SET case_id = 'IR.1'; UPDATE evidence SET case_id = 'IR.1'",
    );
    assert!(corrupt_message(journal.entries("IR.1")).contains("`entries.case_id`"));
    assert!(corrupt_message(journal.acquisitions("IR.1")).contains("`acquisitions.case_id`"));
    assert!(corrupt_message(journal.resources("IR.1")).contains("`resources.case_id`"));
    assert!(corrupt_message(journal.evidence("IR.1")).contains("`evidence.case_id`"));
}
