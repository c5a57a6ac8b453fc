//! The acquisition calls of the SDK adapter against a real moto server of the test's own (127.0.0.1
//! only), seeded with [`seed_acquisition_incident`]: snapshots of an instance, their copy to the
//! forensic Region under the forensic key, sharing, deletion, a volume from a snapshot; a temporary
//! key's lifecycle and a grant's. Where moto answers differently from AWS, the test says so and checks
//! only what both agree on (the list of differences is on `seed_acquisition_incident`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::api::{Cloud, Ec2};
use custody_cloud::error::CloudError;
use custody_cloud::sdk::SdkCloud;
use custody_cloud::testing::Denying;
use custody_cloud::testing::{seed_acquisition_incident, AcquisitionIncident, Moto, MOTO_ACCOUNT};
use custody_cloud::types::{CopySnapshotRequest, KeyManager, NewGrant, NewKey, NewVolume, SnapshotInfo, SnapshotQuery};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REGION: &str = "us-east-1";
const FORENSIC_REGION: &str = "us-west-2";
/// Another account, to share with (moto has no second account to check it against).
const OTHER_ACCOUNT: &str = "210987654321";
/// Well-formed ids that do not exist.
const NO_SNAPSHOT: &str = "snap-0123456789abcdef0";

async fn moto_with_instance() -> (Moto, Arc<dyn Cloud>, AcquisitionIncident) {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let incident = seed_acquisition_incident(&config, FORENSIC_REGION).await.unwrap();
    (moto, Arc::new(SdkCloud::from_config(config)), incident)
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn case_tags() -> BTreeMap<String, String> {
    tags(&[("custody-case", "case-42"), ("CustodyEvidence", "true")])
}

/// Polls DescribeSnapshots until every snapshot is `completed` (moto completes them at once; AWS
/// takes minutes), failing on `error`.
async fn wait_completed(ec2: &dyn Ec2, ids: &[String]) -> Vec<SnapshotInfo> {
    let query = SnapshotQuery { ids: ids.to_vec(), owned_by_caller: true, ..SnapshotQuery::default() };
    for _ in 0..120 {
        let snapshots = ec2.describe_snapshots(&query).await.unwrap();
        assert!(snapshots.iter().all(|s| s.state != "error"), "{snapshots:#?}");
        if snapshots.len() == ids.len() && snapshots.iter().all(|s| s.state == "completed") {
            return snapshots;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("snapshots {ids:?} did not complete within a minute");
}

/// Snapshots the seeded instance: the snapshot of each volume, by volume id.
async fn snapshot_instance(ec2: &dyn Ec2, incident: &AcquisitionIncident) -> BTreeMap<String, SnapshotInfo> {
    let receipt = ec2.create_snapshots(&incident.instance_id, "custody case-42", &case_tags()).await.unwrap();
    let ids: Vec<String> = receipt.value.iter().map(|s| s.id.clone()).collect();
    wait_completed(ec2, &ids).await.into_iter().map(|s| (s.volume_id.clone().unwrap(), s)).collect()
}

fn not_found_code(err: &CloudError) -> &str {
    assert!(err.is_not_found(), "{err:?}");
    err.code().unwrap()
}

#[tokio::test]
async fn the_seeded_instance_has_its_root_under_aws_ebs_and_its_data_under_a_customer_key() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let [instance] = cloud
        .ec2(REGION)
        .describe_instances(std::slice::from_ref(&incident.instance_id))
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(instance.state.as_deref(), Some("running"));
    assert_eq!(instance.tags, incident.instance_tags);
    assert_eq!(instance.tags.get("CustodyTriage").map(String::as_str), Some("allowed"));
    let devices: BTreeMap<_, _> =
        instance.block_devices.iter().map(|d| (d.device_name.clone(), d.volume_id.clone())).collect();
    assert_eq!(devices.get(&incident.root_device), Some(&incident.root_volume_id));
    assert_eq!(devices.get(&incident.data_device), Some(&incident.data_volume_id));

    let ids = [incident.root_volume_id.clone(), incident.data_volume_id.clone()];
    let volumes = cloud.ec2(REGION).describe_volumes(&ids).await.unwrap();
    let keys: BTreeMap<_, _> = volumes.into_iter().map(|v| (v.id, v.kms_key_id)).collect();
    assert_eq!(keys[&incident.root_volume_id].as_deref(), Some(incident.ebs_key_arn.as_str()));
    assert_eq!(keys[&incident.data_volume_id].as_deref(), Some(incident.data_key_arn.as_str()));

    // A volume encrypted without a key is under the account's default key, aws/ebs (EC2 User Guide,
    // "How EBS encryption works"). moto reports that key as CUSTOMER managed, so the manager is not
    // checked for it.
    let kms = cloud.kms(REGION);
    assert_eq!(kms.describe_key("alias/aws/ebs").await.unwrap().arn, incident.ebs_key_arn);
    let data_key = kms.describe_key(&incident.data_key_arn).await.unwrap();
    assert_eq!(data_key.manager, KeyManager::Customer);
    assert_eq!(kms.get_key_policy(&incident.data_key_arn).await.unwrap(), incident.data_key_policy);
    let forensic_key = cloud.kms(FORENSIC_REGION).describe_key(&incident.forensic_key_arn).await.unwrap();
    assert!(forensic_key.arn.starts_with(&format!("arn:aws:kms:{FORENSIC_REGION}:")));
}

#[tokio::test]
async fn create_snapshots_makes_one_tagged_snapshot_per_volume() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let ec2 = cloud.ec2(REGION);
    let receipt = ec2.create_snapshots(&incident.instance_id, "custody case-42", &case_tags()).await.unwrap();
    assert!(receipt.request_id.is_some(), "the journal keeps the request id");
    let created = receipt.value;
    let mut volumes: Vec<_> = created.iter().map(|s| s.volume_id.clone().unwrap()).collect();
    volumes.sort();
    let mut expected = vec![incident.root_volume_id.clone(), incident.data_volume_id.clone()];
    expected.sort();
    assert_eq!(volumes, expected, "one snapshot per EBS volume, the root volume included");
    for snapshot in &created {
        assert!(snapshot.id.starts_with("snap-"));
        assert_eq!(snapshot.tags, case_tags());
        assert_eq!(snapshot.description.as_deref(), Some("custody case-42"));
        assert!(snapshot.encrypted);
        // CreateSnapshots' answer has no KmsKeyId (EC2 API reference, SnapshotInfo).
        assert_eq!(snapshot.kms_key_id, None);
    }

    let ids: Vec<String> = created.iter().map(|s| s.id.clone()).collect();
    let completed = wait_completed(ec2.as_ref(), &ids).await;
    for snapshot in &completed {
        assert_eq!(snapshot.owner_account.as_deref(), Some(MOTO_ACCOUNT));
        assert_eq!(snapshot.tags, case_tags());
        assert!(snapshot.encrypted);
        assert!(snapshot.start_time.as_deref().is_some_and(|t| t.ends_with('Z')), "{:?}", snapshot.start_time);
        // AWS reports the volume's key on each snapshot; moto leaves `KmsKeyId` out for snapshots
        // made from a volume, so only a key that is there is checked.
        let volume = snapshot.volume_id.as_deref().unwrap();
        let key = if volume == incident.root_volume_id { &incident.ebs_key_arn } else { &incident.data_key_arn };
        assert!(snapshot.kms_key_id.as_ref().is_none_or(|k| k == key), "{snapshot:?}");
    }
    let sizes: BTreeMap<_, _> = completed.iter().map(|s| (s.volume_id.clone().unwrap(), s.volume_size_gib)).collect();
    assert_eq!(sizes[&incident.data_volume_id], Some(10));
    assert_eq!(sizes[&incident.root_volume_id], Some(8));
}

#[tokio::test]
async fn describe_snapshots_finds_the_case_by_its_tags() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let ec2 = cloud.ec2(REGION);
    let taken = snapshot_instance(ec2.as_ref(), &incident).await;

    let by_tag = SnapshotQuery { owned_by_caller: true, tags: case_tags(), ..SnapshotQuery::default() };
    let mut found: Vec<String> = ec2.describe_snapshots(&by_tag).await.unwrap().into_iter().map(|s| s.id).collect();
    found.sort();
    let mut expected: Vec<String> = taken.values().map(|s| s.id.clone()).collect();
    expected.sort();
    assert_eq!(found, expected);

    // Every tag must match (one `tag:<key>` filter each, which EC2 ANDs).
    let other_case = SnapshotQuery {
        owned_by_caller: true,
        tags: tags(&[("custody-case", "case-43"), ("CustodyEvidence", "true")]),
        ..SnapshotQuery::default()
    };
    assert!(ec2.describe_snapshots(&other_case).await.unwrap().is_empty());
}

#[tokio::test]
async fn copy_snapshot_goes_to_the_forensic_region_under_the_forensic_key() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let taken = snapshot_instance(cloud.ec2(REGION).as_ref(), &incident).await;
    let source = &taken[&incident.data_volume_id];

    let forensic = cloud.ec2(FORENSIC_REGION);
    let copy_tags = tags(&[("custody-case", "case-42"), ("custody-source", &source.id)]);
    let receipt = forensic
        .copy_snapshot(&CopySnapshotRequest {
            source_snapshot_id: source.id.clone(),
            source_region: REGION.into(),
            encrypted: true,
            kms_key_id: Some(incident.forensic_key_arn.clone()),
            description: format!("custody case-42 copy of {}", source.id),
            tags: copy_tags.clone(),
        })
        .await
        .unwrap();
    assert!(receipt.request_id.is_some());
    let copy_id = receipt.value;
    assert_ne!(copy_id, source.id);

    let [copy] = wait_completed(forensic.as_ref(), std::slice::from_ref(&copy_id)).await.try_into().unwrap();
    assert!(copy.encrypted);
    assert_eq!(copy.kms_key_id.as_deref(), Some(incident.forensic_key_arn.as_str()));
    assert_eq!(copy.tags, copy_tags);
    assert_eq!(copy.description, Some(format!("custody case-42 copy of {}", source.id)));

    // The copy lives in the destination Region only.
    let in_source = SnapshotQuery { ids: vec![copy_id.clone()], ..SnapshotQuery::default() };
    let err = cloud.ec2(REGION).describe_snapshots(&in_source).await.unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound");
}

#[tokio::test]
async fn sharing_with_an_account_round_trips() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let ec2 = cloud.ec2(REGION);
    let taken = snapshot_instance(ec2.as_ref(), &incident).await;
    let snapshot = &taken[&incident.data_volume_id].id;
    assert!(ec2.snapshot_shares(snapshot).await.unwrap().is_empty(), "a new snapshot is private");

    let receipt = ec2.modify_snapshot_share(snapshot, OTHER_ACCOUNT, true).await.unwrap();
    assert!(receipt.request_id.is_some());
    assert_eq!(ec2.snapshot_shares(snapshot).await.unwrap(), vec![OTHER_ACCOUNT.to_string()]);

    ec2.modify_snapshot_share(snapshot, OTHER_ACCOUNT, false).await.unwrap();
    assert!(ec2.snapshot_shares(snapshot).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_snapshot_is_gone() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let ec2 = cloud.ec2(REGION);
    let taken = snapshot_instance(ec2.as_ref(), &incident).await;
    let snapshot = taken[&incident.root_volume_id].id.clone();

    let receipt = ec2.delete_snapshot(&snapshot).await.unwrap();
    assert!(receipt.request_id.is_some());
    // "InvalidSnapshot.NotFound: The specified snapshot does not exist."
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
    let query = SnapshotQuery { ids: vec![snapshot.clone()], ..SnapshotQuery::default() };
    let err = ec2.describe_snapshots(&query).await.unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound");
    let err = ec2.delete_snapshot(&snapshot).await.unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound", "deleting twice is an error, not a no-op");
    // The other snapshot is untouched.
    let other = SnapshotQuery { ids: vec![taken[&incident.data_volume_id].id.clone()], ..SnapshotQuery::default() };
    assert_eq!(ec2.describe_snapshots(&other).await.unwrap().len(), 1);
}

#[tokio::test]
async fn missing_snapshots_are_not_found() {
    let (_moto, cloud, _incident) = moto_with_instance().await;
    let forensic = cloud.ec2(FORENSIC_REGION);
    let err = forensic
        .copy_snapshot(&CopySnapshotRequest {
            source_snapshot_id: NO_SNAPSHOT.into(),
            source_region: REGION.into(),
            encrypted: true,
            kms_key_id: None,
            description: "copy of nothing".into(),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound");
    assert!(err.request_id().is_some(), "kept for CloudTrail");
    let err = cloud.ec2(REGION).delete_snapshot(NO_SNAPSHOT).await.unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound");
    let err = cloud.ec2(REGION).snapshot_shares(NO_SNAPSHOT).await.unwrap_err();
    assert_eq!(not_found_code(&err), "InvalidSnapshot.NotFound");
}

#[tokio::test]
async fn a_volume_is_created_from_a_snapshot_in_the_zone_asked() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let ec2 = cloud.ec2(REGION);
    let taken = snapshot_instance(ec2.as_ref(), &incident).await;
    let snapshot = &taken[&incident.data_volume_id].id;

    let volume = NewVolume {
        snapshot_id: snapshot.clone(),
        availability_zone: incident.availability_zone.clone(),
        tags: case_tags(),
        client_token: format!("custody-{snapshot}-{}", incident.availability_zone),
    };
    let receipt = ec2.create_volume(&volume).await.unwrap();
    assert!(receipt.request_id.is_some());
    let [volume] = ec2.describe_volumes(std::slice::from_ref(&receipt.value)).await.unwrap().try_into().unwrap();
    assert_eq!(volume.snapshot_id.as_deref(), Some(snapshot.as_str()));
    assert_eq!(volume.availability_zone.as_deref(), Some(incident.availability_zone.as_str()));
    assert_eq!(volume.size_gib, 10, "the snapshot's size");
    assert!(volume.encrypted, "a volume from an encrypted snapshot is encrypted");
}

#[tokio::test]
async fn a_temporary_key_is_created_aliased_and_scheduled_for_deletion() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let kms = cloud.kms(FORENSIC_REGION);
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Owner", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"}]});
    let key_tags = tags(&[("custody-case", "case-42"), ("custody-temporary", "true")]);
    let receipt = kms
        .create_key(&NewKey {
            policy: policy.clone(),
            description: "custody case-42 re-encryption".into(),
            tags: key_tags.clone(),
        })
        .await
        .unwrap();
    assert!(receipt.request_id.is_some());
    let key = receipt.value;
    assert_eq!(key.manager, KeyManager::Customer);
    assert_eq!(key.state.as_deref(), Some("Enabled"));
    assert_eq!(key.account.as_deref(), Some(MOTO_ACCOUNT));
    assert!(key.arn.starts_with(&format!("arn:aws:kms:{FORENSIC_REGION}:{MOTO_ACCOUNT}:key/")));
    assert_eq!(kms.get_key_policy(&key.arn).await.unwrap(), policy);
    assert_eq!(kms.list_resource_tags(&key.arn).await.unwrap(), key_tags);
    let keys = kms.list_keys().await.unwrap();
    assert!(keys.contains(&key.arn) && keys.contains(&incident.forensic_key_arn), "{keys:?}");

    let alias = "alias/custody-case-42-reencrypt";
    assert!(kms.create_alias(alias, &key.arn).await.unwrap().request_id.is_some());
    let aliases = kms.list_aliases(Some(&key.arn)).await.unwrap();
    let [found] = aliases.as_slice() else { panic!("{aliases:?}") };
    assert_eq!(found.name, alias);
    assert_eq!(found.target_key_id.as_deref(), Some(key.key_id.as_str()));
    // An alias can be deleted at once (KMS Developer Guide, "Deleting an alias").
    kms.delete_alias(alias).await.unwrap();
    assert!(kms.list_aliases(None).await.unwrap().iter().all(|a| a.name != alias));

    // 7 days, the shortest waiting period KMS allows (API reference, ScheduleKeyDeletion).
    // By key id: moto 5.2.1 fails (HTTP 500) on ScheduleKeyDeletion by key ARN, which AWS accepts.
    let receipt = kms.schedule_key_deletion(&key.key_id, 7).await.unwrap();
    assert!(receipt.request_id.is_some());
    let date = receipt.value.unwrap();
    let when = aws_sdk_kms::primitives::DateTime::from_str(&date, aws_sdk_kms::primitives::DateTimeFormat::DateTime)
        .unwrap()
        .secs();
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let days = (when - now) as f64 / 86_400.0;
    assert!((6.9..=7.1).contains(&days), "deletion date {date} is {days} days away");
    assert_eq!(kms.describe_key(&key.arn).await.unwrap().state.as_deref(), Some("PendingDeletion"));
}

#[tokio::test]
async fn a_grant_is_created_found_by_name_and_retired() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let kms = cloud.kms(REGION);
    let role = format!("arn:aws:iam::{MOTO_ACCOUNT}:role/CustodyAcquire");
    let subset = tags(&[("aws:ebs:id", "snap-0aaaaaaaaaaaaaaaa")]);
    let grant = NewGrant {
        key_id: incident.data_key_arn.clone(),
        grantee_principal: role.clone(),
        retiring_principal: Some(role.clone()),
        operations: vec!["Decrypt".into(), "ReEncryptFrom".into(), "DescribeKey".into(), "CreateGrant".into()],
        encryption_context_subset: Some(subset.clone()),
        name: Some("custody-case-42-copy".into()),
    };
    let receipt = kms.create_grant(&grant).await.unwrap();
    assert!(receipt.request_id.is_some());
    let grant_id = receipt.value;

    let grants = kms.list_grants(&incident.data_key_arn).await.unwrap();
    let found = grants.iter().find(|g| g.name.as_deref() == Some("custody-case-42-copy")).unwrap();
    assert_eq!(found.grant_id, grant_id);
    assert_eq!(found.grantee_principal.as_deref(), Some(role.as_str()));
    assert_eq!(found.retiring_principal.as_deref(), Some(role.as_str()));
    assert_eq!(found.operations, grant.operations);
    assert_eq!(found.encryption_context_subset.as_ref(), Some(&subset));

    assert!(kms.retire_grant(&incident.data_key_arn, &grant_id).await.unwrap().request_id.is_some());
    assert!(kms.list_grants(&incident.data_key_arn).await.unwrap().iter().all(|g| g.grant_id != grant_id));
    // Retiring it again, or a grant of a key that does not exist, is an error in AWS
    // (`NotFoundException` or `InvalidGrantIdException`: KMS API reference, RetireGrant "Errors").
    // moto 5.2.1 answers success for the first and HTTP 500 for the second, so neither is checked.
}

#[tokio::test]
async fn an_unknown_grant_operation_is_refused_before_anything_is_sent() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let kms = cloud.kms(REGION);
    // `ReEncrypt` is a policy wildcard's stem (`kms:ReEncrypt*`), not a grant operation: grants name
    // ReEncryptFrom and ReEncryptTo (KMS API reference, CreateGrant `Operations`).
    let grant = NewGrant {
        key_id: incident.data_key_arn.clone(),
        grantee_principal: format!("arn:aws:iam::{MOTO_ACCOUNT}:role/CustodyAcquire"),
        retiring_principal: None,
        operations: vec!["Decrypt".into(), "ReEncrypt".into()],
        encryption_context_subset: None,
        name: None,
    };
    let err = kms.create_grant(&grant).await.unwrap_err();
    assert!(matches!(err, CloudError::Api(_)), "{err:?}");
    assert!(err.is_code("ValidationException"));
    assert!(err.request_id().is_none(), "nothing was sent");
    assert!(err.to_string().contains("`ReEncrypt`"), "{err}");
    assert!(kms.list_grants(&incident.data_key_arn).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_acquisition_call_keeps_ec2s_code() {
    let (_moto, cloud, incident) = moto_with_instance().await;
    let denying = Denying { inner: cloud, deny: vec!["CreateSnapshots", "CreateGrant"] };
    let err = denying.ec2(REGION).create_snapshots(&incident.instance_id, "d", &case_tags()).await.unwrap_err();
    assert!(err.is_access_denied() && err.is_code("UnauthorizedOperation"), "{err:?}");
    let grant = NewGrant {
        key_id: incident.data_key_arn.clone(),
        grantee_principal: format!("arn:aws:iam::{MOTO_ACCOUNT}:role/CustodyAcquire"),
        retiring_principal: None,
        operations: vec!["Decrypt".into()],
        encryption_context_subset: None,
        name: None,
    };
    let err = denying.kms(REGION).create_grant(&grant).await.unwrap_err();
    assert!(err.is_access_denied() && err.is_code("AccessDeniedException"), "{err:?}");
    // Calls not refused go through.
    let shares = denying.ec2(REGION).describe_snapshots(&SnapshotQuery::default()).await;
    assert!(shares.is_ok());
}
