//! Resources (idempotent, removal, open temporaries across cases) and evidence (idempotent).

use custody_journal::{JournalError, ResourceKind};
use serde_json::json;

use crate::support::{case, evidence, journal_with_case, resource};

#[test]
fn recording_a_resource_twice_keeps_one_row_and_the_first_details() {
    let (_dir, journal) = journal_with_case();
    journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-1", true)).unwrap();
    let first = journal.resources("IR-1").unwrap();
    let mut again = resource("IR-1", ResourceKind::Snapshot, "snap-1", true);
    again.detail = json!({"other": true});
    journal.record_resource(&again).unwrap();
    assert_eq!(journal.resources("IR-1").unwrap(), first);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].detail, json!({"shared_with": "111122223333"}));
    assert_eq!((first[0].removed_at.as_ref(), first[0].removal.as_ref()), (None, None));
}

#[test]
fn the_same_id_in_another_kind_account_or_region_is_another_resource() {
    let (_dir, journal) = journal_with_case();
    journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-1", true)).unwrap();
    journal.record_resource(&resource("IR-1", ResourceKind::Share, "snap-1", true)).unwrap();
    let mut elsewhere = resource("IR-1", ResourceKind::Snapshot, "snap-1", true);
    elsewhere.region = "eu-west-1".to_string();
    journal.record_resource(&elsewhere).unwrap();
    elsewhere.account = "111122223333".to_string();
    journal.record_resource(&elsewhere).unwrap();
    assert_eq!(journal.resources("IR-1").unwrap().len(), 4);
}

#[test]
fn a_removal_is_recorded_once_and_closes_the_temporary() {
    let (_dir, journal) = journal_with_case();
    let grant = resource("IR-1", ResourceKind::Grant, "grant-1", true);
    journal.record_resource(&grant).unwrap();
    assert_eq!(journal.open_temporaries(Some("IR-1")).unwrap().len(), 1);

    let remove =
        |how| journal.resource_removed("IR-1", ResourceKind::Grant, "grant-1", "444455556666", "us-east-1", how);
    remove("kms:RevokeGrant").unwrap();
    remove("already gone").unwrap();
    let record = &journal.resources("IR-1").unwrap()[0];
    assert!(record.removed_at.is_some());
    assert_eq!(record.removal.as_deref(), Some("kms:RevokeGrant"), "the first removal stands");
    assert!(journal.open_temporaries(Some("IR-1")).unwrap().is_empty());
}

#[test]
fn removing_an_unknown_resource_is_refused() {
    let (_dir, journal) = journal_with_case();
    let err = journal
        .resource_removed("IR-1", ResourceKind::Key, "k-1", "444455556666", "us-east-1", "kms:ScheduleKeyDeletion")
        .unwrap_err();
    assert!(matches!(err, JournalError::UnknownResource { .. }), "{err:?}");
    assert_eq!(err.to_string(), "case `IR-1` has no key `k-1` in account `444455556666`, region `us-east-1`");
}

#[test]
fn a_removed_resource_recorded_again_was_created_anew_and_is_open_again() {
    let (_dir, journal) = journal_with_case();
    journal.record_resource(&resource("IR-1", ResourceKind::Alias, "alias/custody-IR-1", true)).unwrap();
    journal
        .resource_removed(
            "IR-1",
            ResourceKind::Alias,
            "alias/custody-IR-1",
            "444455556666",
            "us-east-1",
            "kms:DeleteAlias",
        )
        .unwrap();
    journal.record_resource(&resource("IR-1", ResourceKind::Alias, "alias/custody-IR-1", true)).unwrap();
    let open = journal.open_temporaries(Some("IR-1")).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].removed_at.as_ref(), open[0].removal.as_ref()), (None, None));
}

#[test]
fn open_temporaries_spans_cases_and_leaves_out_evidence_and_removed() {
    let (_dir, journal) = journal_with_case();
    journal.create_case(&case("IR-2")).unwrap();
    journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-tmp", true)).unwrap();
    journal.record_resource(&resource("IR-1", ResourceKind::Snapshot, "snap-evidence", false)).unwrap();
    journal.record_resource(&resource("IR-2", ResourceKind::Grant, "grant-1", true)).unwrap();
    journal.record_resource(&resource("IR-2", ResourceKind::Share, "snap-9", true)).unwrap();
    journal
        .resource_removed(
            "IR-2",
            ResourceKind::Share,
            "snap-9",
            "444455556666",
            "us-east-1",
            "ec2:ModifySnapshotAttribute",
        )
        .unwrap();

    let ids = |case: Option<&str>| -> Vec<(String, String)> {
        journal.open_temporaries(case).unwrap().into_iter().map(|r| (r.case_id, r.id)).collect()
    };
    let pair = |c: &str, id: &str| (c.to_string(), id.to_string());
    assert_eq!(ids(None), [pair("IR-1", "snap-tmp"), pair("IR-2", "grant-1")]);
    assert_eq!(ids(Some("IR-2")), [pair("IR-2", "grant-1")]);
    assert!(ids(Some("IR-9")).is_empty());
    assert_eq!(journal.resources("IR-1").unwrap().len(), 2, "evidence stays in the resources");
}

#[test]
fn a_resource_needs_a_known_case() {
    let (_dir, journal) = journal_with_case();
    let err = journal.record_resource(&resource("IR-9", ResourceKind::Key, "k-1", true)).unwrap_err();
    assert!(matches!(err, JournalError::UnknownCase(_)), "{err:?}");
}

#[test]
fn evidence_is_idempotent_and_the_journal_sets_the_time() {
    let (_dir, journal) = journal_with_case();
    let mut item = evidence("IR-1", "vol-1", "snap-1");
    item.recorded_at = "1970-01-01T00:00:00Z".to_string();
    journal.record_evidence(&item).unwrap();
    let mut changed = item.clone();
    changed.path = "1 (same-account)".to_string();
    journal.record_evidence(&changed).unwrap();
    journal.record_evidence(&evidence("IR-1", "vol-2", "snap-2")).unwrap();

    let stored = journal.evidence("IR-1").unwrap();
    assert_eq!(stored.len(), 2);
    assert_ne!(stored[0].recorded_at, "1970-01-01T00:00:00Z");
    assert_eq!(stored[0], custody_journal::Evidence { recorded_at: stored[0].recorded_at.clone(), ..item });
    assert_eq!(stored[1].volume_id, "vol-2");
}

#[test]
fn evidence_without_key_and_tags_round_trips() {
    let (_dir, journal) = journal_with_case();
    let mut item = evidence("IR-1", "vol-1", "snap-1");
    item.key_arn = None;
    item.tags.clear();
    journal.record_evidence(&item).unwrap();
    let stored = journal.evidence("IR-1").unwrap().remove(0);
    assert_eq!((stored.key_arn, stored.tags.len()), (None, 0));
}
