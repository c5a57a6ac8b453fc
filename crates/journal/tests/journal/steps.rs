//! Intents and outcomes: the round trip, the order, and what resume reads from `last_entry`.

use custody_journal::{JournalError, Outcome};
use serde_json::json;

use crate::support::{intent, journal, journal_with_case};

fn ok(snapshot: &str) -> Outcome {
    Outcome::Ok { result: json!({"SnapshotId": snapshot}), request_id: Some("req-1".to_string()) }
}

fn failed() -> Outcome {
    Outcome::Failed {
        code: Some("InvalidSnapshot.NotFound".to_string()),
        message: "the snapshot `snap-1` does not exist".to_string(),
        request_id: Some("req-2".to_string()),
    }
}

#[test]
fn an_intent_and_its_outcome_round_trip() {
    let (_dir, journal) = journal_with_case();
    let sent = intent("IR-1", "copy", "ec2:CopySnapshot");
    let id = journal.intend(&sent).unwrap();
    let entry = journal.entry_by_id(id).unwrap().unwrap();
    assert_eq!((entry.id, &entry.intent, &entry.outcome, &entry.finished_at), (id, &sent, &None, &None));

    journal.record_outcome(id, &ok("snap-2")).unwrap();
    let entry = journal.entry_by_id(id).unwrap().unwrap();
    assert_eq!(entry.intent, sent);
    assert_eq!(entry.outcome, Some(ok("snap-2")));
    let finished = entry.finished_at.unwrap();
    assert!(finished >= entry.intended_at, "{finished} < {}", entry.intended_at);
}

#[test]
fn a_failed_outcome_round_trips() {
    let (_dir, journal) = journal_with_case();
    let id = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    journal.record_outcome(id, &failed()).unwrap();
    assert_eq!(journal.entry_by_id(id).unwrap().unwrap().outcome, Some(failed()));
    let bare = Outcome::Failed { code: None, message: "connection reset".to_string(), request_id: None };
    let id = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    journal.record_outcome(id, &bare).unwrap();
    assert_eq!(journal.entry_by_id(id).unwrap().unwrap().outcome, Some(bare));
}

#[test]
fn entries_come_in_the_order_intended() {
    let (_dir, journal) = journal_with_case();
    let steps = ["snapshot", "copy", "share", "grant", "cleanup"];
    let ids: Vec<i64> = steps.iter().map(|s| journal.intend(&intent("IR-1", s, "ec2:Any")).unwrap()).collect();
    // Outcomes in another order do not change the order of the entries.
    for id in ids.iter().rev() {
        journal.record_outcome(*id, &ok("snap")).unwrap();
    }
    let entries = journal.entries("IR-1").unwrap();
    let got: Vec<(i64, &str)> = entries.iter().map(|e| (e.id, e.intent.step_id.as_str())).collect();
    let want: Vec<(i64, &str)> = ids.iter().copied().zip(steps).collect();
    assert_eq!(got, want);
}

#[test]
fn last_entry_is_none_before_the_step_starts() {
    let (_dir, journal) = journal_with_case();
    assert_eq!(journal.last_entry("IR-1", "i-1", "copy", "ec2:CopySnapshot").unwrap(), None);
}

#[test]
fn last_entry_tells_intended_ok_and_failed_apart_and_the_latest_wins() {
    let (_dir, journal) = journal_with_case();
    let last = || journal.last_entry("IR-1", "i-1", "copy", "ec2:CopySnapshot").unwrap().unwrap();

    let first = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    assert_eq!((last().id, last().outcome), (first, None), "intended, no outcome: may have happened");

    journal.record_outcome(first, &failed()).unwrap();
    assert_eq!((last().id, last().outcome), (first, Some(failed())));

    let retry = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    assert_eq!((last().id, last().outcome), (retry, None), "the retry, not the older failure");

    journal.record_outcome(retry, &ok("snap-2")).unwrap();
    assert_eq!((last().id, last().outcome), (retry, Some(ok("snap-2"))));
}

#[test]
fn last_entry_keeps_steps_apis_instances_and_cases_apart() {
    let (_dir, journal) = journal_with_case();
    journal.create_case(&crate::support::case("IR-2")).unwrap();
    let copy = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    journal.intend(&intent("IR-1", "copy", "ec2:CreateTags")).unwrap();
    journal.intend(&intent("IR-1", "share", "ec2:CopySnapshot")).unwrap();
    journal.intend(&intent("IR-2", "copy", "ec2:CopySnapshot")).unwrap();
    let mut other_instance = intent("IR-1", "copy", "ec2:CopySnapshot");
    other_instance.instance_id = "i-2".to_string();
    journal.intend(&other_instance).unwrap();

    assert_eq!(journal.last_entry("IR-1", "i-1", "copy", "ec2:CopySnapshot").unwrap().unwrap().id, copy);
    assert_eq!(journal.entries("IR-1").unwrap().len(), 4);
    assert_eq!(journal.entries("IR-2").unwrap().len(), 1);
}

#[test]
fn unfinished_lists_the_intents_without_outcome() {
    let (_dir, journal) = journal_with_case();
    let a = journal.intend(&intent("IR-1", "snapshot", "ec2:CreateSnapshot")).unwrap();
    let b = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    let c = journal.intend(&intent("IR-1", "share", "ec2:ModifySnapshotAttribute")).unwrap();
    journal.record_outcome(b, &ok("snap-2")).unwrap();
    let ids: Vec<i64> = journal.unfinished("IR-1").unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, [a, c]);
}

#[test]
fn an_outcome_is_never_rewritten() {
    let (_dir, journal) = journal_with_case();
    let id = journal.intend(&intent("IR-1", "copy", "ec2:CopySnapshot")).unwrap();
    journal.record_outcome(id, &ok("snap-2")).unwrap();
    let err = journal.record_outcome(id, &failed()).unwrap_err();
    assert!(matches!(err, JournalError::OutcomeRecorded(i) if i == id), "{err:?}");
    assert_eq!(journal.entry_by_id(id).unwrap().unwrap().outcome, Some(ok("snap-2")));
}

#[test]
fn an_outcome_for_an_unknown_entry_is_refused() {
    let (_dir, journal) = journal_with_case();
    let err = journal.record_outcome(42, &ok("snap-2")).unwrap_err();
    assert!(matches!(err, JournalError::UnknownEntry(42)), "{err:?}");
    assert_eq!(err.to_string(), "no journal entry 42");
}

#[test]
fn an_intent_needs_a_known_case() {
    let (_dir, journal) = journal();
    let err = journal.intend(&intent("IR-9", "copy", "ec2:CopySnapshot")).unwrap_err();
    assert!(matches!(&err, JournalError::UnknownCase(id) if id == "IR-9"), "{err:?}");
    assert_eq!(journal.writes(), 0, "a refused write is not counted");
}
