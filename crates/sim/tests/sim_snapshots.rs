//! The simulated cloud's instances and snapshots: CreateSnapshots (authorized on the instance, each
//! volume and the new snapshots, tagged on create, the volume's key and encryption context kept),
//! the pending → completed life of a snapshot, who sees which snapshot, sharing (never under an AWS
//! managed key), and deletion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::types::SnapshotQuery;
use custody_cloud::{CloudError, SessionName};
use custody_plan::inventory::parse_inventory;
use custody_sim::{Faults, SimWorld};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";
const REGION: &str = "eu-west-1";

fn example(name: &str) -> SimWorld {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    SimWorld::new(&parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
}

/// The tags custody puts on what a run creates: the case and the run (the generated policies let the
/// roles delete only snapshots of custody's runs).
fn case_tags() -> BTreeMap<String, String> {
    [("CustodyCase".to_string(), "C1".to_string()), ("CustodyRun".to_string(), "r-1".to_string())].into()
}

/// One account, role `Responder` with `statements`, one instance in `state` with an encrypted and an
/// unencrypted volume.
fn one_account(statements: Value, state: &str) -> SimWorld {
    let key = "arn:aws:kms:eu-west-1:111111111111:key/11111111-0000-4000-8000-000000000001";
    let inventory = json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "111111111111", "forensic_region": "eu-west-1",
                   "forensic_role_arn": "arn:aws:iam::111111111111:role/Responder"},
        "principals": [{"arn": "arn:aws:iam::111111111111:role/Responder",
                        "identity_policies": [{"Version": "2012-10-17", "Statement": statements}]}],
        "keys": [{"arn": key, "manager": "CUSTOMER", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*",
             "Resource": "*"}]}}],
        "instances": [{"id": "i-0123456789abcdef0", "account": "111111111111", "region": "eu-west-1",
                       "state": state, "tags": {"Name": "web"},
                       "volumes": [{"id": "vol-0123456789abcdef0", "size_gib": 8, "encrypted": true,
                                    "kms_key_arn": key, "device": "/dev/xvda"},
                                   {"id": "vol-0123456789abcdef1", "size_gib": 20, "encrypted": false}]}]
    });
    SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap()
}

fn describe_only() -> Value {
    json!([{"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}])
}

#[tokio::test]
async fn create_snapshots_tags_each_snapshot_and_keeps_the_volume_key_and_context() {
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s");
    let made = source.ec2(REGION).create_snapshots("i-05e5e5e5e5e5e5e5e", "evidence", &case_tags()).await.unwrap();
    assert!(made.request_id.is_some());
    assert_eq!(made.value.len(), 3, "every EBS volume of the instance");
    assert!(made.value.iter().all(|s| s.state == "pending" && s.tags == case_tags()));
    let snaps = w.snapshots();
    let encrypted = snaps.iter().find(|s| s.volume_id.as_deref() == Some("vol-05e5e5e5e5e5e5e50")).unwrap();
    assert_eq!(
        encrypted.kms_key_id.as_deref(),
        Some("arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005")
    );
    // A snapshot made from a volume keeps aws:ebs:id = the volume id (KMS Developer Guide, "Amazon EBS
    // encryption context", https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context).
    assert_eq!(encrypted.ebs_id.as_deref(), Some("vol-05e5e5e5e5e5e5e50"));
    let plain = snaps.iter().find(|s| s.volume_id.as_deref() == Some("vol-05e5e5e5e5e5e5e52")).unwrap();
    assert!(!plain.encrypted && plain.ebs_id.is_none());
    // Authorized on the instance, each volume, the new snapshots, and CreateTags for tag-on-create
    // (EBS User Guide, https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html#iam-creating-snapshots).
    let resources: Vec<(String, String)> =
        w.calls()[0].decisions.iter().map(|d| (d.action.clone(), d.resource.clone())).collect();
    assert_eq!(
        resources,
        [
            ("ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1:111122223333:instance/i-05e5e5e5e5e5e5e5e"),
            ("ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1:111122223333:volume/vol-05e5e5e5e5e5e5e50"),
            ("ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1:111122223333:volume/vol-05e5e5e5e5e5e5e51"),
            ("ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1:111122223333:volume/vol-05e5e5e5e5e5e5e52"),
            ("ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1::snapshot/*"),
            ("ec2:CreateTags", "arn:aws:ec2:eu-west-1::snapshot/*"),
        ]
        .map(|(a, r)| (a.to_string(), r.to_string()))
    );
}

#[tokio::test]
async fn create_snapshots_without_permission_is_unauthorized_and_creates_nothing() {
    let w = one_account(describe_only(), "running");
    let ec2 = w.cloud_as("arn:aws:iam::111111111111:role/Responder", "s").ec2(REGION);
    let err = ec2.create_snapshots("i-0123456789abcdef0", "d", &case_tags()).await.err().unwrap();
    assert!(err.is_code("UnauthorizedOperation"), "{err}");
    assert!(err.to_string().contains("You are not authorized to perform this operation."));
    assert!(w.snapshots().is_empty());
}

#[tokio::test]
async fn snapshots_complete_after_the_configured_pending_polls() {
    let w = example("1-unencrypted.json");
    w.set_faults(Faults { pending_polls: 3, ..Faults::default() });
    let ec2 = w.cloud_as(FORENSIC, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-01a1a1a1a1a1a1a1a", "d", &case_tags()).await.unwrap().value;
    let query = SnapshotQuery { ids: vec![made[0].id.clone()], ..Default::default() };
    let mut states = Vec::new();
    for _ in 0..4 {
        states.push(ec2.describe_snapshots(&query).await.unwrap()[0].state.clone());
    }
    assert_eq!(states, ["pending", "pending", "pending", "completed"]);
}

#[tokio::test]
async fn describe_snapshots_filters_by_owner_and_tags() {
    let w = example("1-unencrypted.json");
    let ec2 = w.cloud_as(FORENSIC, "s").ec2(REGION);
    ec2.create_snapshots("i-01a1a1a1a1a1a1a1a", "d", &case_tags()).await.unwrap();
    let mine = SnapshotQuery { owned_by_caller: true, tags: case_tags(), ..Default::default() };
    assert_eq!(ec2.describe_snapshots(&mine).await.unwrap().len(), 2);
    let other = SnapshotQuery { tags: [("CustodyCase".to_string(), "C2".to_string())].into(), ..Default::default() };
    assert!(ec2.describe_snapshots(&other).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_accounts_snapshot_is_not_found_until_shared_with_the_caller() {
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = source.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &case_tags()).await.unwrap().value;
    let id = made[0].id.clone();
    let forensic = w.cloud_as(FORENSIC, "s").ec2(REGION);
    let query = SnapshotQuery { ids: vec![id.clone()], ..Default::default() };
    let err = forensic.describe_snapshots(&query).await.err().unwrap();
    // EC2 API Reference, "Error codes": https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
    assert!(matches!(err, CloudError::NotFound(_)) && err.is_code("InvalidSnapshot.NotFound"), "{err}");
    source.modify_snapshot_share(&id, "999999999999", true).await.unwrap();
    let shared = w.snapshots().into_iter().find(|s| s.id == id).unwrap().shared_with;
    assert_eq!(shared, ["999999999999"]);
    let seen = forensic.describe_snapshots(&query).await.unwrap();
    assert_eq!(seen[0].owner_account.as_deref(), Some("111122223333"));
    assert!(seen[0].tags.is_empty(), "tags stay with the owner account");
    let owned = SnapshotQuery { owned_by_caller: true, ..query.clone() };
    assert!(forensic.describe_snapshots(&owned).await.unwrap().is_empty());
    // The recipient can neither delete nor re-share it: no resource policy lets another account.
    assert!(forensic.delete_snapshot(&id).await.err().unwrap().is_code("UnauthorizedOperation"));
}

#[tokio::test]
async fn a_snapshot_encrypted_under_the_aws_managed_key_cannot_be_shared() {
    // "You can't share snapshots that are encrypted with the default AWS managed key" (EBS User Guide,
    // https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html); the
    // error as AWS returns it: hashicorp/packer#7410, DataDog/stratus-red-team#109.
    let w = example("8-cross-account-aws-managed.json");
    let ec2 = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-08b8b8b8b8b8b8b8b", "d", &case_tags()).await.unwrap().value;
    let managed = made.iter().find(|s| s.encrypted).unwrap();
    let err = ec2.modify_snapshot_share(&managed.id, "999999999999", true).await.err().unwrap();
    assert!(err.is_code("InvalidParameter"), "{err}");
    assert!(err.to_string().contains("Snapshots encrypted with the AWS Managed CMK can't be shared"));
    assert!(w.snapshots().iter().all(|s| s.shared_with.is_empty()));
    let plain = made.iter().find(|s| !s.encrypted).unwrap();
    ec2.modify_snapshot_share(&plain.id, "999999999999", true).await.unwrap();
}

#[tokio::test]
async fn removing_a_share_that_is_not_there_is_fine() {
    let w = example("5-cross-account-grant-only.json");
    let ec2 = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &case_tags()).await.unwrap().value;
    ec2.modify_snapshot_share(&made[0].id, "999999999999", false).await.unwrap();
    assert!(ec2.snapshot_shares(&made[0].id).await.is_err(), "CustodySource may not DescribeSnapshotAttribute");
}

#[tokio::test]
async fn sharing_is_decided_by_the_account_it_is_shared_with() {
    // CustodySource may share only with the forensic account (ec2:Add/userId, map §6).
    let w = example("5-cross-account-grant-only.json");
    let ec2 = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &case_tags()).await.unwrap().value;
    let err = ec2.modify_snapshot_share(&made[0].id, "444455556666", true).await.err().unwrap();
    assert!(err.is_code("UnauthorizedOperation"));
    let refused = &w.calls()[1].decisions[0];
    assert_eq!(refused.action, "ec2:ModifySnapshotAttribute");
    assert!(!refused.allowed);
}

#[tokio::test]
async fn a_deleted_snapshot_is_not_found() {
    let w = example("5-cross-account-grant-only.json");
    let ec2 = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &case_tags()).await.unwrap().value;
    ec2.delete_snapshot(&made[0].id).await.unwrap();
    let err = ec2.delete_snapshot(&made[0].id).await.err().unwrap();
    assert!(err.is_not_found() && err.is_code("InvalidSnapshot.NotFound"));
}

#[tokio::test]
async fn deleting_needs_the_case_tag_the_policy_asks_for() {
    // CleanupDeleteCustodySnapshots: only snapshots tagged CustodyCase (aws:ResourceTag, map §4).
    let w = example("5-cross-account-grant-only.json");
    let ec2 = w.cloud_as(SOURCE, "s").ec2(REGION);
    let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &BTreeMap::new()).await.unwrap().value;
    assert!(ec2.delete_snapshot(&made[0].id).await.err().unwrap().is_code("UnauthorizedOperation"));
}

#[tokio::test]
async fn a_terminated_instance_is_described_without_volumes_and_cannot_be_snapshotted() {
    // Terminated instances stay visible for a while (EC2 User Guide,
    // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html).
    let all = json!([{"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"}]);
    let w = one_account(all, "terminated");
    let ec2 = w.cloud_as("arn:aws:iam::111111111111:role/Responder", "s").ec2(REGION);
    let found = ec2.describe_instances(&["i-0123456789abcdef0".to_string()]).await.unwrap();
    assert_eq!(found[0].state.as_deref(), Some("terminated"));
    assert!(found[0].block_devices.is_empty());
    let err = ec2.create_snapshots("i-0123456789abcdef0", "d", &case_tags()).await.err().unwrap();
    assert!(err.is_code("IncorrectState"), "{err}");
}

#[tokio::test]
async fn describing_an_unknown_instance_or_volume_is_not_found() {
    let w = one_account(describe_only(), "running");
    let ec2 = w.cloud_as("arn:aws:iam::111111111111:role/Responder", "s").ec2(REGION);
    let info = ec2.describe_instances(&["i-0123456789abcdef0".to_string()]).await.unwrap();
    assert_eq!(info[0].block_devices.len(), 2);
    assert_eq!(info[0].block_devices[0].device_name, "/dev/xvda");
    let err = ec2.describe_instances(&["i-0fffffffffffffff0".to_string()]).await.err().unwrap();
    assert!(err.is_code("InvalidInstanceID.NotFound"));
    let volumes = ec2.describe_volumes(&["vol-0123456789abcdef0".to_string()]).await.unwrap();
    assert!(volumes[0].encrypted && volumes[0].size_gib == 8);
    assert!(ec2.describe_volumes(&["vol-0fffffffffffffff0".to_string()]).await.err().unwrap().is_not_found());
    // Another Region of the same account has none of them.
    let other = w.cloud_as("arn:aws:iam::111111111111:role/Responder", "s").ec2("eu-west-3");
    assert!(other.describe_instances(&["i-0123456789abcdef0".to_string()]).await.is_err());
}

#[tokio::test]
async fn a_session_from_assume_role_acts_in_the_roles_account() {
    let w = example("5-cross-account-grant-only.json");
    let forensic = w.cloud_as(FORENSIC, "custody-C1");
    let source = forensic.assume_role(SOURCE, &SessionName::new("C1", None)).await.unwrap();
    source.ec2(REGION).create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &case_tags()).await.unwrap();
    assert!(w.snapshots().iter().all(|s| s.account == "111122223333"));
    let calls = w.calls();
    assert_eq!(calls[1].principal, "arn:aws:sts::111122223333:assumed-role/CustodySource/custody-C1");
}
