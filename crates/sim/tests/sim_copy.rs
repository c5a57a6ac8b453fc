//! CopySnapshot and CreateVolume on the simulated cloud: sent to the destination Region, authorized
//! by EC2 on both snapshots (a refusal fails the call), and by KMS on the keys as the caller through
//! EC2 (a refusal, or a key that cannot be used, lets the copy start and end in `error`, as AWS
//! documents: "Given key ID is not accessible", EBS User Guide,
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-copy-snapshot.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::types::{CopySnapshotRequest, NewGrant, NewVolume, SnapshotQuery};
use custody_cloud::Cloud;
use custody_plan::inventory::parse_inventory;
use custody_sim::{SimSnapshot, SimWorld};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";
const FORENSIC_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
const KEY_5: &str = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
const REGION: &str = "eu-west-1";

fn example(name: &str) -> SimWorld {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    SimWorld::new(&parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
}

fn tags() -> BTreeMap<String, String> {
    [("CustodyCase".to_string(), "C1".to_string())].into()
}

fn copy_of(id: &str, region: &str, key: Option<&str>) -> CopySnapshotRequest {
    CopySnapshotRequest {
        source_snapshot_id: id.to_string(),
        source_region: region.to_string(),
        encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        description: "evidence".to_string(),
        tags: tags(),
    }
}

/// Polls DescribeSnapshots until the snapshot is no longer pending.
async fn settle(cloud: &Arc<dyn Cloud>, region: &str, id: &str) -> String {
    let query = SnapshotQuery { ids: vec![id.to_string()], ..Default::default() };
    for _ in 0..5 {
        let s = cloud.ec2(region).describe_snapshots(&query).await.unwrap().remove(0);
        if s.state != "pending" {
            return s.state;
        }
    }
    panic!("{id} stays pending")
}

/// The snapshots of `instance`, made by `cloud` and completed, by volume id.
async fn snapshot_instance(cloud: &Arc<dyn Cloud>, region: &str, instance: &str) -> BTreeMap<String, String> {
    let made = cloud.ec2(region).create_snapshots(instance, "d", &tags()).await.unwrap().value;
    let mut out = BTreeMap::new();
    for s in made {
        assert_eq!(settle(cloud, region, &s.id).await, "completed");
        out.insert(s.volume_id.unwrap(), s.id);
    }
    out
}

fn snapshot(w: &SimWorld, id: &str) -> SimSnapshot {
    w.snapshots().into_iter().find(|s| s.id == id).unwrap()
}

/// `(action, resource)` of the decisions of the last call of `api`.
fn decided(w: &SimWorld, api: &str) -> Vec<(String, String, bool)> {
    let calls = w.calls();
    let call = calls.iter().rev().find(|c| c.api == api).unwrap();
    call.decisions.iter().map(|d| (d.action.clone(), d.resource.clone(), d.allowed)).collect()
}

#[tokio::test]
async fn an_in_account_copy_under_the_forensic_key_completes_with_its_own_context() {
    let w = example("3-customer-key-same-account.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, REGION, "i-03c3c3c3c3c3c3c3c").await;
    let src = &snaps["vol-03c3c3c3c3c3c3c31"];
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(src, REGION, Some(FORENSIC_KEY))).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "completed");
    let copy = snapshot(&w, &id);
    assert_eq!(copy.kms_key_id.as_deref(), Some(FORENSIC_KEY));
    // A CopySnapshot product's aws:ebs:id is its own id (KMS Developer Guide, services-ebs.html#ebs-encryption-context).
    assert_eq!(copy.ebs_id.as_deref(), Some(id.as_str()));
    assert_eq!(copy.volume_id.as_deref(), Some("vol-ffffffff"));
    let d = decided(&w, "ec2:CopySnapshot");
    let source_key = "arn:aws:kms:eu-west-1:999999999999:key/3c3c3c3c-0000-4000-8000-000000000003";
    for (action, key) in [
        ("kms:Decrypt", source_key),
        ("kms:ReEncryptFrom", source_key),
        ("kms:GenerateDataKeyWithoutPlaintext", FORENSIC_KEY),
        ("kms:ReEncryptTo", FORENSIC_KEY),
    ] {
        assert!(d.contains(&(action.to_string(), key.to_string(), true)), "{action} on {key}: {d:#?}");
    }
    // DescribeKey on the default aws/ebs key, documented as required for an encrypted copy (ebs-copy-snapshot).
    let default = "arn:aws:kms:eu-west-1:999999999999:key/3b3b3b3b-0000-4000-8000-000000000003";
    assert!(d.contains(&("kms:DescribeKey".to_string(), default.to_string(), true)));
}

#[tokio::test]
async fn an_encrypted_copy_without_a_key_goes_under_the_default_ebs_key() {
    // "If this parameter is not specified, your KMS key for Amazon EBS is used" (EC2 API Reference,
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html).
    let w = example("3-customer-key-same-account.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, REGION, "i-03c3c3c3c3c3c3c3c").await;
    let id = forensic
        .ec2(REGION)
        .copy_snapshot(&copy_of(&snaps["vol-03c3c3c3c3c3c3c32"], REGION, None))
        .await
        .unwrap()
        .value;
    let copy = snapshot(&w, &id);
    assert!(copy.encrypted, "copies of encrypted snapshots remain encrypted");
    assert_eq!(
        copy.kms_key_id.as_deref(),
        Some("arn:aws:kms:eu-west-1:999999999999:key/3b3b3b3b-0000-4000-8000-000000000003")
    );
}

#[tokio::test]
async fn the_encryption_context_is_the_volume_id_for_a_first_generation_snapshot() {
    // A key policy pinned to aws:ebs:id = snap-* lets a copy be encrypted (context: its own snap- id)
    // but refuses to read a CreateSnapshots product (context: the vol- id) (map §13; KMS Developer
    // Guide, https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context).
    let key = "arn:aws:kms:eu-west-1:111111111111:key/11111111-0000-4000-8000-000000000001";
    let role = "arn:aws:iam::111111111111:role/Responder";
    let inventory = json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "111111111111", "forensic_region": "eu-west-1", "forensic_role_arn": role},
        "principals": [{"arn": role, "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:*", "kms:*"], "Resource": "*"}]}]}],
        "keys": [{"arn": key, "manager": "CUSTOMER", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": role}, "Action": ["kms:DescribeKey", "kms:CreateGrant"], "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": role}, "Action": ["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
             "Resource": "*", "Condition": {"StringLike": {"kms:EncryptionContext:aws:ebs:id": "snap-*"}}}]}}],
        "instances": [{"id": "i-0123456789abcdef0", "account": "111111111111", "region": "eu-west-1",
                       "volumes": [{"id": "vol-0123456789abcdef0", "size_gib": 8, "encrypted": true, "kms_key_arn": key},
                                   {"id": "vol-0123456789abcdef1", "size_gib": 8, "encrypted": false}]}]
    });
    let w = SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap();
    let cloud = w.cloud_as(role, "s");
    let snaps = snapshot_instance(&cloud, REGION, "i-0123456789abcdef0").await;
    let ec2 = cloud.ec2(REGION);
    let from_plain =
        ec2.copy_snapshot(&copy_of(&snaps["vol-0123456789abcdef1"], REGION, Some(key))).await.unwrap().value;
    assert_eq!(settle(&cloud, REGION, &from_plain).await, "completed");
    let from_encrypted =
        ec2.copy_snapshot(&copy_of(&snaps["vol-0123456789abcdef0"], REGION, Some(key))).await.unwrap().value;
    assert_eq!(settle(&cloud, REGION, &from_encrypted).await, "error");
    let message = snapshot(&w, &from_encrypted).state_message.unwrap();
    assert!(message.starts_with("Given key ID is not accessible") && message.contains("kms:Decrypt"), "{message}");
    // The copy of the copy reads a snap- context, which the key allows.
    let second = ec2.copy_snapshot(&copy_of(&from_plain, REGION, Some(key))).await.unwrap().value;
    assert_eq!(settle(&cloud, REGION, &second).await, "completed");
}

#[tokio::test]
async fn a_cross_region_copy_is_made_in_the_destination_region() {
    // "CopySnapshot sends the snapshot copy to the regional endpoint that you send the HTTP request to"
    // (EC2 API Reference, API_CopySnapshot.html).
    let w = example("4-cross-region-fixed.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, "eu-west-3", "i-04d4d4d4d4d4d4d4d").await;
    let src = &snaps["vol-04d4d4d4d4d4d4d41"];
    let wrong = forensic.ec2(REGION).copy_snapshot(&copy_of(src, REGION, Some(FORENSIC_KEY))).await;
    assert!(wrong.err().unwrap().is_code("InvalidSnapshot.NotFound"), "the snapshot is in eu-west-3");
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(src, "eu-west-3", Some(FORENSIC_KEY))).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "completed");
    let copy = snapshot(&w, &id);
    assert_eq!((copy.region.as_str(), copy.kms_key_id.as_deref()), (REGION, Some(FORENSIC_KEY)));
    let d = decided(&w, "ec2:CopySnapshot");
    assert!(d.contains(&("ec2:CopySnapshot".to_string(), format!("arn:aws:ec2:eu-west-3::snapshot/{src}"), true)));
    let source_key = "arn:aws:kms:eu-west-3:999999999999:key/4d4d4d4d-0000-4000-8000-000000000004";
    assert!(d.contains(&("kms:Decrypt".to_string(), source_key.to_string(), true)));
}

#[tokio::test]
async fn a_cross_region_copy_refused_by_the_key_policys_via_service_ends_in_error() {
    // 4-cross-region.json: the forensic key's policy names ec2.eu-west-3 only, but EC2 uses the key
    // through ec2.eu-west-1 (map §5.2).
    let w = example("4-cross-region.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, "eu-west-3", "i-04d4d4d4d4d4d4d4d").await;
    let request = copy_of(&snaps["vol-04d4d4d4d4d4d4d41"], "eu-west-3", Some(FORENSIC_KEY));
    let id = forensic.ec2(REGION).copy_snapshot(&request).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "error");
    let message = snapshot(&w, &id).state_message.unwrap();
    assert!(message.contains(FORENSIC_KEY), "{message}");
}

#[tokio::test]
async fn a_cross_account_copy_is_allowed_by_the_source_key_policy() {
    let w = example("6-cross-account-direct.json");
    let source = w.cloud_as(SOURCE, "s");
    let snaps = snapshot_instance(&source, REGION, "i-06f6f6f6f6f6f6f6f").await;
    let src = &snaps["vol-06f6f6f6f6f6f6f60"];
    source.ec2(REGION).modify_snapshot_share(src, "999999999999", true).await.unwrap();
    let forensic = w.cloud_as(FORENSIC, "s");
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(src, REGION, Some(FORENSIC_KEY))).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "completed");
    let copy = snapshot(&w, &id);
    assert_eq!(copy.account, "999999999999");
    let key_6 = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";
    assert!(decided(&w, "ec2:CopySnapshot").iter().any(|(a, r, ok)| a == "kms:CreateGrant" && r == key_6 && *ok));
}

#[tokio::test]
async fn a_cross_account_copy_without_access_to_the_source_key_ends_in_error_naming_the_request() {
    let w = example("5-cross-account-no-key-access.json");
    let source = w.cloud_as(SOURCE, "s");
    let snaps = snapshot_instance(&source, REGION, "i-05e5e5e5e5e5e5e5e").await;
    let src = &snaps["vol-05e5e5e5e5e5e5e50"];
    source.ec2(REGION).modify_snapshot_share(src, "999999999999", true).await.unwrap();
    let forensic = w.cloud_as(FORENSIC, "s");
    // EC2 accepts the copy: the KMS refusal is not synchronous.
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(src, REGION, Some(FORENSIC_KEY))).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "error");
    let message = snapshot(&w, &id).state_message.unwrap();
    assert!(message.starts_with("Given key ID is not accessible"), "{message}");
    assert!(message.contains("kms:DescribeKey") && message.contains(KEY_5), "{message}");
    let copy_call = w.calls().into_iter().rev().find(|c| c.api == "ec2:CopySnapshot").unwrap();
    assert!(copy_call.result.is_ok());
    assert!(copy_call.refusals().iter().all(|d| d.resource == KEY_5));
}

#[tokio::test]
async fn a_grant_lets_the_forensic_role_copy_until_it_is_retired() {
    // Path 5: the source role grants the forensic role the operations AWS lists for a shared key
    // (https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html); a grant authorizes without
    // any policy statement (KMS Developer Guide, https://docs.aws.amazon.com/kms/latest/developerguide/grants.html),
    // and RetireGrant by its retiring principal ends it (grant-manage.html#grant-delete).
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s");
    let snaps = snapshot_instance(&source, REGION, "i-05e5e5e5e5e5e5e5e").await;
    let src = snaps["vol-05e5e5e5e5e5e5e50"].clone();
    source.ec2(REGION).modify_snapshot_share(&src, "999999999999", true).await.unwrap();
    let forensic = w.cloud_as(FORENSIC, "s");
    let copy = |w: SimWorld, src: String| async move {
        let forensic = w.cloud_as(FORENSIC, "s");
        let id = forensic.ec2(REGION).copy_snapshot(&copy_of(&src, REGION, Some(FORENSIC_KEY))).await.unwrap().value;
        settle(&forensic, REGION, &id).await
    };
    assert_eq!(copy(w.clone(), src.clone()).await, "error", "no grant yet");
    let grant = NewGrant {
        key_id: KEY_5.to_string(),
        grantee_principal: FORENSIC.to_string(),
        retiring_principal: Some(FORENSIC.to_string()),
        operations: custody_plan::plan::COPY_GRANT_OPERATIONS.map(String::from).to_vec(),
        encryption_context_subset: Some([("aws:ebs:id".to_string(), "vol-05e5e5e5e5e5e5e50".to_string())].into()),
        name: Some("custody-C1-vol-05e5e5e5e5e5e5e50".to_string()),
    };
    let grant_id = source.kms(REGION).create_grant(&grant).await.unwrap().value;
    assert_eq!(grant_id.len(), 64);
    let key = w.keys().into_iter().find(|k| k.arn == KEY_5).unwrap();
    assert_eq!(key.grants[0].name.as_deref(), Some("custody-C1-vol-05e5e5e5e5e5e5e50"));
    assert_eq!(key.grants[0].issuing_account.as_deref(), Some("arn:aws:iam::111122223333:root"));
    assert_eq!(copy(w.clone(), src.clone()).await, "completed");
    // The grant's constraint pins the volume: another volume's snapshot is not covered.
    let other = snaps["vol-05e5e5e5e5e5e5e51"].clone();
    source.ec2(REGION).modify_snapshot_share(&other, "999999999999", true).await.unwrap();
    assert_eq!(copy(w.clone(), other).await, "error");
    forensic.kms(REGION).retire_grant(KEY_5, &grant_id).await.unwrap();
    assert_eq!(copy(w.clone(), src.clone()).await, "error", "the grant is retired");
    let again = forensic.kms(REGION).retire_grant(KEY_5, &grant_id).await.err().unwrap();
    assert!(again.is_code("NotFoundException") && again.is_not_found());
    assert!(w.leftovers("C1", &[], "custody-C1").iter().all(|l| !l.starts_with("grant")));
}

#[tokio::test]
async fn create_grant_is_idempotent_by_name_and_parameters() {
    // "you can retry a CreateGrant request with identical parameters; if the grant already exists, the
    // original GrantId is returned" (KMS API Reference, API_CreateGrant.html).
    let w = example("5-cross-account-grant-only.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let mut grant = NewGrant {
        key_id: KEY_5.to_string(),
        grantee_principal: FORENSIC.to_string(),
        retiring_principal: Some(FORENSIC.to_string()),
        operations: vec!["Decrypt".to_string()],
        encryption_context_subset: None,
        name: Some("custody-C1-x".to_string()),
    };
    let first = kms.create_grant(&grant).await.unwrap().value;
    assert_eq!(kms.create_grant(&grant).await.unwrap().value, first);
    grant.operations.push("DescribeKey".to_string());
    assert_ne!(kms.create_grant(&grant).await.unwrap().value, first, "other parameters: a new grant");
    grant.name = None;
    let a = kms.create_grant(&grant).await.unwrap().value;
    assert_ne!(kms.create_grant(&grant).await.unwrap().value, a, "no name: always a new grant");
    // Outside what CustodySource may grant (kms:GranteePrincipal): refused.
    grant.grantee_principal = "arn:aws:iam::444455556666:role/Stranger".to_string();
    assert!(kms.create_grant(&grant).await.err().unwrap().is_code("AccessDeniedException"));
}

#[tokio::test]
async fn a_copy_refused_by_ec2_fails_at_once_and_creates_nothing() {
    // CustodyForensic may copy only into eu-west-1 (Resource arn:aws:ec2:eu-west-1::snapshot/*).
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s");
    let snaps = snapshot_instance(&source, REGION, "i-05e5e5e5e5e5e5e5e").await;
    let src = &snaps["vol-05e5e5e5e5e5e5e52"];
    source.ec2(REGION).modify_snapshot_share(src, "999999999999", true).await.unwrap();
    let before = w.snapshots().len();
    let forensic = w.cloud_as(FORENSIC, "s");
    let err = forensic.ec2("eu-west-3").copy_snapshot(&copy_of(src, REGION, None)).await.err().unwrap();
    assert!(err.is_code("UnauthorizedOperation") && err.is_access_denied(), "{err}");
    assert_eq!(w.snapshots().len(), before);
}

#[tokio::test]
async fn a_snapshot_not_shared_cannot_be_copied_and_a_pending_one_is_in_the_wrong_state() {
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s");
    let made = source.ec2(REGION).create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &tags()).await.unwrap().value;
    let forensic = w.cloud_as(FORENSIC, "s");
    let err = forensic.ec2(REGION).copy_snapshot(&copy_of(&made[2].id, REGION, None)).await.err().unwrap();
    assert!(err.is_code("InvalidSnapshot.NotFound"));
    // "You can copy any accessible snapshots that have a completed status" (ebs-copy-snapshot).
    let err = source.ec2(REGION).copy_snapshot(&copy_of(&made[2].id, REGION, None)).await.err().unwrap();
    assert!(err.is_code("IncorrectState"), "{err}");
}

#[tokio::test]
async fn a_copy_under_a_disabled_key_ends_in_error() {
    // Key states: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
    let w = example("6-cross-account-direct.json");
    let source = w.cloud_as(SOURCE, "s");
    let snaps = snapshot_instance(&source, REGION, "i-06f6f6f6f6f6f6f6f").await;
    let src = &snaps["vol-06f6f6f6f6f6f6f60"];
    source.ec2(REGION).modify_snapshot_share(src, "999999999999", true).await.unwrap();
    w.disable_key(FORENSIC_KEY).unwrap();
    let forensic = w.cloud_as(FORENSIC, "s");
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(src, REGION, Some(FORENSIC_KEY))).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "error");
    assert!(snapshot(&w, &id).state_message.unwrap().contains("DisabledException"));
}

const RESPONDER: &str = "arn:aws:iam::111111111111:role/Responder";
const RESPONDER_KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/11111111-0000-4000-8000-000000000001";

/// One account whose role may do anything in EC2, and one instance with a volume under a key the
/// role may use through EC2.
fn responder_world() -> SimWorld {
    let (role, key) = (RESPONDER, RESPONDER_KEY);
    let inventory = json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "111111111111", "forensic_region": "eu-west-1", "forensic_role_arn": role},
        "principals": [{"arn": role, "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"}]}]}],
        "keys": [{"arn": key, "manager": "CUSTOMER", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}}]}}],
        "instances": [{"id": "i-0123456789abcdef0", "account": "111111111111", "region": "eu-west-1",
                       "volumes": [{"id": "vol-0123456789abcdef0", "size_gib": 8, "encrypted": true, "kms_key_arn": key}]}]
    });
    SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap()
}

#[tokio::test]
async fn create_volume_from_a_snapshot_asks_kms_through_ec2() {
    let key = RESPONDER_KEY;
    let w = responder_world();
    let cloud = w.cloud_as(RESPONDER, "s");
    let snaps = snapshot_instance(&cloud, REGION, "i-0123456789abcdef0").await;
    let ec2 = cloud.ec2(REGION);
    let bad_az = ec2.create_volume(&new_volume(&snaps["vol-0123456789abcdef0"], "eu-west-3a", "t0")).await;
    assert!(bad_az.err().unwrap().is_code("InvalidParameterValue"));
    let id = ec2.create_volume(&new_volume(&snaps["vol-0123456789abcdef0"], "eu-west-1b", "t1")).await.unwrap().value;
    assert!(id.starts_with("vol-"));
    let volume = ec2.describe_volumes(std::slice::from_ref(&id)).await.unwrap().remove(0);
    assert_eq!(volume.state.as_deref(), Some("available"));
    assert_eq!(volume.kms_key_id.as_deref(), Some(key));
    let d = decided(&w, "ec2:CreateVolume");
    assert!(d.contains(&("kms:CreateGrant".to_string(), key.to_string(), true)), "{d:#?}");
    assert!(d.contains(&(
        "ec2:CreateVolume".to_string(),
        "arn:aws:ec2:eu-west-1:111111111111:volume/*".to_string(),
        true
    )));
}

#[tokio::test]
async fn create_volume_without_permission_is_unauthorized() {
    let w = example("3-customer-key-same-account.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, REGION, "i-03c3c3c3c3c3c3c3c").await;
    let err = forensic.ec2(REGION).create_volume(&new_volume(&snaps["vol-03c3c3c3c3c3c3c31"], "eu-west-1a", "t")).await;
    assert!(err.err().unwrap().is_code("UnauthorizedOperation"));
}

fn new_volume(snapshot_id: &str, availability_zone: &str, client_token: &str) -> NewVolume {
    NewVolume {
        snapshot_id: snapshot_id.into(),
        availability_zone: availability_zone.into(),
        tags: tags(),
        client_token: client_token.into(),
    }
}

/// CreateVolume with a client token already used: the same parameters answer the first volume and
/// make no other; other parameters are IdempotentParameterMismatch ("Ensuring idempotency in Amazon
/// EC2 API requests", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
#[tokio::test]
async fn create_volume_with_a_client_token_used_before_answers_the_first_volume() {
    let w = responder_world();
    let cloud = w.cloud_as(RESPONDER, "s");
    let snaps = snapshot_instance(&cloud, REGION, "i-0123456789abcdef0").await;
    let snapshot = snaps["vol-0123456789abcdef0"].clone();
    let ec2 = cloud.ec2(REGION);
    let first = ec2.create_volume(&new_volume(&snapshot, "eu-west-1a", "custody-token")).await.unwrap().value;
    let again = ec2.create_volume(&new_volume(&snapshot, "eu-west-1a", "custody-token")).await.unwrap().value;
    assert_eq!(first, again);
    let other = ec2.create_volume(&new_volume(&snapshot, "eu-west-1b", "custody-token")).await;
    assert!(other.err().unwrap().is_code("IdempotentParameterMismatch"));
    let fresh = ec2.create_volume(&new_volume(&snapshot, "eu-west-1a", "another-token")).await.unwrap().value;
    assert_ne!(first, fresh);
}

/// Example 1 (unencrypted volumes, forensic account) with EBS encryption by default on under the
/// forensic key.
fn encrypted_by_default() -> SimWorld {
    let path = format!("{}/../../examples/inventories/1-unencrypted.json", env!("CARGO_MANIFEST_DIR"));
    let mut inv = parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap();
    inv.ebs_encryption_by_default = vec![custody_plan::inventory::EbsEncryptionDefault {
        account: "999999999999".into(),
        region: REGION.into(),
        enabled: true,
        kms_key_arn: Some(FORENSIC_KEY.into()),
    }];
    // Reading the settings is its own permission (the collect role's; read-only roles have it).
    let role = inv.principals.iter_mut().find(|p| p.arn == FORENSIC).unwrap();
    role.identity_policies.push(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId"], "Resource": "*"}]}));
    SimWorld::new(&inv).unwrap()
}

#[tokio::test]
async fn with_encryption_by_default_on_a_copy_of_an_unencrypted_snapshot_is_encrypted_under_the_default_key() {
    // CopySnapshot's `Encrypted` is needed "to encrypt a copy of an unencrypted snapshot if encryption
    // by default is not enabled" (EC2 API Reference,
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html): with it enabled,
    // the copy is encrypted under the default key.
    let w = encrypted_by_default();
    let forensic = w.cloud_as(FORENSIC, "s");
    let snaps = snapshot_instance(&forensic, REGION, "i-01a1a1a1a1a1a1a1a").await;
    let source = &snaps["vol-01a1a1a1a1a1a1a10"];
    assert!(!snapshot(&w, source).encrypted, "a snapshot of an unencrypted volume stays unencrypted");
    let id = forensic.ec2(REGION).copy_snapshot(&copy_of(source, REGION, None)).await.unwrap().value;
    assert_eq!(settle(&forensic, REGION, &id).await, "completed");
    let copy = snapshot(&w, &id);
    assert!(copy.encrypted);
    assert_eq!(copy.kms_key_id.as_deref(), Some(FORENSIC_KEY));
    let d = decided(&w, "ec2:CopySnapshot");
    assert!(d.contains(&("kms:GenerateDataKeyWithoutPlaintext".to_string(), FORENSIC_KEY.to_string(), true)));
    // The settings, as GetEbsEncryptionByDefault and GetEbsDefaultKmsKeyId answer them.
    let ec2 = forensic.ec2(REGION);
    assert!(ec2.ebs_encryption_by_default().await.unwrap());
    assert_eq!(ec2.ebs_default_kms_key_id().await.unwrap(), FORENSIC_KEY);
    let unreadable = example("1-unencrypted.json").cloud_as(FORENSIC, "s").ec2(REGION);
    let refused = unreadable.ebs_encryption_by_default().await.unwrap_err();
    assert!(refused.is_code("UnauthorizedOperation"), "{refused}");
}

#[tokio::test]
async fn collect_reads_encryption_by_default_and_lists_its_key() {
    let w = encrypted_by_default();
    let request = custody_acquire::collect::CollectRequest {
        instance_ids: vec!["i-01a1a1a1a1a1a1a1a".into()],
        region: REGION.into(),
        forensic_role_arn: Some(FORENSIC.into()),
        ..Default::default()
    };
    let collected = custody_acquire::collect::collect(w.cloud_as(FORENSIC, "s"), &request).await.unwrap();
    let inv = &collected.inventory;
    let [setting] = inv.ebs_encryption_by_default.as_slice() else { panic!("{:?}", inv.ebs_encryption_by_default) };
    assert!(setting.enabled);
    assert_eq!(setting.kms_key_arn.as_deref(), Some(FORENSIC_KEY));
    assert!(inv.keys.iter().any(|k| k.arn == FORENSIC_KEY), "the default key is listed for the preflight");
    assert!(parse_inventory(&serde_json::to_string(inv).unwrap()).is_ok());
}
