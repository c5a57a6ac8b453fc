//! Builders for the records the tests write.

use std::collections::BTreeMap;

use custody_journal::{Evidence, Intent, Journal, NewCase, NewResource, ResourceKind};
use serde_json::json;
use tempfile::TempDir;

/// A journal in a fresh directory; keep the `TempDir` alive as long as the journal.
pub fn journal() -> (TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    (dir, journal)
}

pub fn case(id: &str) -> NewCase {
    NewCase {
        case_id: id.to_string(),
        examiner: Some("alice".to_string()),
        destination_account: "111122223333".to_string(),
        destination_region: "eu-west-1".to_string(),
        note: None,
        simulated: false,
    }
}

/// A journal with one case, `IR-1`, acquiring `i-1`.
pub fn journal_with_case() -> (TempDir, Journal) {
    let (dir, journal) = journal();
    journal.create_case(&case("IR-1")).unwrap();
    journal.add_acquisition("IR-1", "i-1", &json!({"steps": ["snapshot", "copy"]})).unwrap();
    (dir, journal)
}

pub fn intent(case: &str, step: &str, api: &str) -> Intent {
    Intent {
        case_id: case.to_string(),
        instance_id: "i-1".to_string(),
        step_id: step.to_string(),
        api: api.to_string(),
        account: "444455556666".to_string(),
        region: "us-east-1".to_string(),
        signer: "arn:aws:iam::444455556666:role/custody".to_string(),
        params: json!({"VolumeId": "vol-1", "TagSpecifications": [{"Key": "custody-case", "Value": case}]}),
    }
}

pub fn resource(case: &str, kind: ResourceKind, id: &str, temporary: bool) -> NewResource {
    NewResource {
        case_id: case.to_string(),
        instance_id: "i-1".to_string(),
        kind,
        id: id.to_string(),
        account: "444455556666".to_string(),
        region: "us-east-1".to_string(),
        temporary,
        detail: json!({"shared_with": "111122223333"}),
    }
}

pub fn evidence(case: &str, volume: &str, snapshot: &str) -> Evidence {
    Evidence {
        case_id: case.to_string(),
        instance_id: "i-1".to_string(),
        volume_id: volume.to_string(),
        snapshot_id: snapshot.to_string(),
        account: "111122223333".to_string(),
        region: "eu-west-1".to_string(),
        key_arn: Some("arn:aws:kms:eu-west-1:111122223333:key/k".to_string()),
        path: "8 (cross-account-aws-managed-key)".to_string(),
        tags: BTreeMap::from([("custody-case".to_string(), case.to_string())]),
        recorded_at: String::new(),
    }
}
