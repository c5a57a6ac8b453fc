//! KMS on the simulated cloud: the temporary key of path 8 (CreateKey with tags and the lockout
//! safety check, CreateAlias/DeleteAlias, ScheduleKeyDeletion), reads of keys across accounts, and
//! grants that cannot be retired by just anyone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::types::{CopySnapshotRequest, KeyManager, NewGrant, NewKey, SnapshotQuery};
use custody_plan::inventory::parse_inventory;
use custody_sim::SimWorld;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";
const REGION: &str = "eu-west-1";

fn example(name: &str) -> SimWorld {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    SimWorld::new(&parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
}

fn case_tags() -> BTreeMap<String, String> {
    [("CustodyCase".to_string(), "C1".to_string())].into()
}

/// A key policy that lets `admin` administer the key and use it through EC2 in eu-west-1.
fn temp_key_policy(admin: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": admin},
         "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:CreateAlias", "kms:DeleteAlias",
                    "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "UseThroughEc2", "Effect": "Allow", "Principal": {"AWS": admin},
         "Action": ["kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo",
                    "kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}}]})
}

fn temp_key(tags: BTreeMap<String, String>) -> NewKey {
    NewKey { policy: temp_key_policy(SOURCE), description: "custody case C1: temporary key".to_string(), tags }
}

#[tokio::test]
async fn a_temporary_key_gets_an_alias_and_is_scheduled_for_deletion() {
    let w = example("8-cross-account-aws-managed.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let created = kms.create_key(&temp_key(case_tags())).await.unwrap();
    assert!(created.request_id.is_some());
    let meta = created.value;
    assert_eq!((meta.manager, meta.state.as_deref()), (KeyManager::Customer, Some("Enabled")));
    assert!(meta.arn.starts_with("arn:aws:kms:eu-west-1:111122223333:key/"));
    // CreateKey on "*" with the request tags, kms:TagResource by IAM alone, and the lockout check
    // on the new key's own policy (map §9.1).
    let actions: Vec<String> = w.calls()[0].decisions.iter().map(|d| d.action.clone()).collect();
    assert_eq!(actions, ["kms:CreateKey", "kms:TagResource", "kms:PutKeyPolicy"]);

    let alias = "alias/custody-C1-vol-08b8b8b8b8b8b8b80";
    kms.create_alias(alias, &meta.arn).await.unwrap();
    // Authorized on the alias and on the key (KMS Developer Guide,
    // https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html).
    let on: Vec<String> = w.calls()[1].decisions.iter().map(|d| d.resource.clone()).collect();
    assert_eq!(on, [format!("arn:aws:kms:eu-west-1:111122223333:{alias}"), meta.arn.clone()]);
    assert_eq!(kms.describe_key(alias).await.unwrap().arn, meta.arn, "resolved by alias");
    let again = kms.create_alias(alias, &meta.arn).await.err().unwrap();
    assert!(again.is_code("AlreadyExistsException"), "{again}");
    let key = w.keys().into_iter().find(|k| k.arn == meta.arn).unwrap();
    assert_eq!(key.aliases, [alias]);
    assert_eq!(key.tags, case_tags());
    assert_eq!(w.inventory().key(&meta.arn).unwrap().aliases, [alias], "kms:ResourceAliases sees it");

    // "must be between 7 and 30, inclusive" (KMS API Reference,
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).
    assert!(kms.schedule_key_deletion(&meta.arn, 6).await.err().unwrap().is_code("ValidationException"));
    let date = kms.schedule_key_deletion(&meta.arn, 7).await.unwrap().value.unwrap();
    assert!(date.starts_with("2025-01-08"), "{date}");
    assert_eq!(kms.describe_key(&meta.arn).await.unwrap().state.as_deref(), Some("PendingDeletion"));
    let twice = kms.schedule_key_deletion(&meta.arn, 7).await.err().unwrap();
    assert!(twice.is_code("KMSInvalidStateException"));
    assert!(w.leftovers("C1", &[], "custody-C1").iter().any(|l| l.starts_with("alias")), "the alias is still there");

    kms.delete_alias(alias).await.unwrap();
    assert!(kms.delete_alias(alias).await.err().unwrap().is_code("NotFoundException"));
    assert_eq!(w.leftovers("C1", &[], "custody-C1"), Vec::<String>::new());
}

#[tokio::test]
async fn a_key_pending_deletion_cannot_encrypt_a_copy() {
    let w = example("8-cross-account-aws-managed.json");
    let source = w.cloud_as(SOURCE, "s");
    let meta = source.kms(REGION).create_key(&temp_key(case_tags())).await.unwrap().value;
    let ec2 = source.ec2(REGION);
    let made = ec2.create_snapshots("i-08b8b8b8b8b8b8b8b", "d", &case_tags()).await.unwrap().value;
    let query = SnapshotQuery { ids: made.iter().map(|s| s.id.clone()).collect(), ..Default::default() };
    ec2.describe_snapshots(&query).await.unwrap();
    ec2.describe_snapshots(&query).await.unwrap();
    source.kms(REGION).schedule_key_deletion(&meta.arn, 7).await.unwrap();
    let request = CopySnapshotRequest {
        source_snapshot_id: made[0].id.clone(),
        source_region: REGION.to_string(),
        encrypted: true,
        kms_key_id: Some(meta.arn.clone()),
        description: "temp".to_string(),
        tags: case_tags(),
    };
    let id = ec2.copy_snapshot(&request).await.unwrap().value;
    let query = SnapshotQuery { ids: vec![id.clone()], ..Default::default() };
    ec2.describe_snapshots(&query).await.unwrap();
    let settled = ec2.describe_snapshots(&query).await.unwrap().remove(0);
    assert_eq!(settled.state, "error");
    assert!(settled.state_message.unwrap().contains("KMSInvalidStateException"));
}

#[tokio::test]
async fn create_key_without_the_case_tag_is_refused() {
    // CustodySource may create keys only with aws:RequestTag/CustodyCase (map §9.1).
    let w = example("8-cross-account-aws-managed.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let err = kms.create_key(&temp_key(BTreeMap::new())).await.err().unwrap();
    assert!(err.is_code("AccessDeniedException") && err.is_access_denied(), "{err}");
    assert!(err.to_string().contains("kms:CreateKey"));
    assert_eq!(w.keys().len(), 2, "nothing created");
}

#[tokio::test]
async fn the_lockout_safety_check_refuses_a_policy_that_locks_the_creator_out() {
    // "the key policy must allow the principal that is making the CreateKey request to make a
    // subsequent PutKeyPolicy request" (KMS API Reference,
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html).
    let w = example("8-cross-account-aws-managed.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let locked = NewKey { policy: temp_key_policy(FORENSIC), ..temp_key(case_tags()) };
    let err = kms.create_key(&locked).await.err().unwrap();
    assert!(err.is_code("MalformedPolicyDocumentException"), "{err}");
    assert!(err.to_string().contains("will not allow you to update the key policy in the future"));
    assert_eq!(w.keys().len(), 2, "nothing created");
    assert_eq!(w.inventory().keys.len(), 2);
    let lockout = w.calls()[0].decisions.last().cloned().unwrap();
    assert_eq!((lockout.action.as_str(), lockout.allowed), ("kms:PutKeyPolicy", false));
}

#[tokio::test]
async fn a_key_policy_the_engine_cannot_read_is_malformed() {
    let w = example("8-cross-account-aws-managed.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let no_principal =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
    let err = kms.create_key(&NewKey { policy: no_principal, ..temp_key(case_tags()) }).await.err().unwrap();
    assert!(err.is_code("MalformedPolicyDocumentException"), "{err}");
}

#[tokio::test]
async fn alias_names_are_checked_and_scoped_by_the_alias_arn() {
    let w = example("8-cross-account-aws-managed.json");
    let kms = w.cloud_as(SOURCE, "s").kms(REGION);
    let meta = kms.create_key(&temp_key(case_tags())).await.unwrap().value;
    // "The alias/aws/ prefix is reserved for AWS managed keys" (API_CreateAlias.html).
    assert!(kms.create_alias("alias/aws/mine", &meta.arn).await.err().unwrap().is_code("InvalidAliasNameException"));
    assert!(kms.create_alias("not-an-alias", &meta.arn).await.err().unwrap().is_code("InvalidAliasNameException"));
    // CustodySource may create aliases only under alias/custody-* (Resource, map §9.3).
    let err = kms.create_alias("alias/other", &meta.arn).await.err().unwrap();
    assert!(err.is_code("AccessDeniedException"), "{err}");
    assert!(kms.delete_alias("alias/custody-none").await.err().unwrap().is_not_found());
}

#[tokio::test]
async fn another_accounts_key_is_reached_by_arn_only_where_kms_allows_it() {
    let w = example("6-cross-account-direct.json");
    let key = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";
    let kms = w.cloud_as(FORENSIC, "s").kms(REGION);
    // DescribeKey works across accounts, but CustodyForensic may use the source key only through
    // EC2 (kms:ViaService), so its own direct call is refused.
    let err = kms.describe_key(key).await.err().unwrap();
    assert!(err.is_code("AccessDeniedException"), "{err}");
    assert_eq!(w.calls()[0].account, "111122223333", "logged in the key's account");
    // GetKeyPolicy: "Cross-account use: No" (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html).
    assert!(kms.get_key_policy(key).await.err().unwrap().is_code("NotFoundException"));
    // A key of another Region is not found in this one.
    let forensic_in_paris = w.cloud_as(FORENSIC, "s").kms("eu-west-3");
    let forensic_key = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
    assert!(forensic_in_paris.describe_key(forensic_key).await.err().unwrap().is_not_found());
}

#[tokio::test]
async fn reads_list_the_callers_own_keys_aliases_grants_and_tags() {
    let role = "arn:aws:iam::111111111111:role/Reader";
    let custom = "arn:aws:kms:eu-west-1:111111111111:key/11111111-0000-4000-8000-000000000001";
    let managed = "arn:aws:kms:eu-west-1:111111111111:key/22222222-0000-4000-8000-000000000002";
    let open = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]});
    let inventory = json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "111111111111", "forensic_region": "eu-west-1", "forensic_role_arn": role},
        "principals": [{"arn": role, "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}]}],
        "keys": [
            {"arn": custom, "manager": "CUSTOMER", "aliases": ["alias/app"], "policy": open,
             "grants": [{"grant_id": "g-1", "grantee_principal": role, "operations": ["Decrypt"]}]},
            {"arn": managed, "manager": "AWS", "aliases": ["alias/aws/ebs"], "policy": open}]
    });
    let w = SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap();
    let kms = w.cloud_as(role, "s").kms(REGION);
    assert_eq!(kms.list_keys().await.unwrap(), [custom, managed]);
    let aliases = kms.list_aliases(None).await.unwrap();
    let names: Vec<&str> = aliases.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["alias/app", "alias/aws/ebs"]);
    assert_eq!(aliases[0].target_key_id.as_deref(), Some("11111111-0000-4000-8000-000000000001"));
    assert_eq!(kms.list_aliases(Some(managed)).await.unwrap().len(), 1);
    assert_eq!(kms.describe_key("alias/aws/ebs").await.unwrap().manager, KeyManager::Aws);
    assert_eq!(kms.describe_key("11111111-0000-4000-8000-000000000001").await.unwrap().arn, custom);
    assert_eq!(kms.get_key_policy(custom).await.unwrap(), open);
    let grants = kms.list_grants(custom).await.unwrap();
    assert_eq!(grants[0].grant_id, "g-1");
    assert_eq!(grants[0].issuing_account.as_deref(), Some("arn:aws:iam::111111111111:root"));
    assert!(kms.list_resource_tags(custom).await.unwrap().is_empty());
    assert!(kms.describe_key("alias/none").await.err().unwrap().is_code("NotFoundException"));
    // ListKeys in another Region of the account: none there.
    assert!(w.cloud_as(role, "s").kms("eu-west-3").list_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_grant_is_retired_by_its_retiring_principal_not_by_the_issuer_without_permission() {
    // "A grant can be retired by an optional retiring principal … As a backup, the AWS account in
    // which the grant was created can retire the grant" — by IAM delegation, which CustodySource lacks
    // (KMS Developer Guide, https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete).
    let w = example("5-cross-account-grant-only.json");
    let key = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
    let source = w.cloud_as(SOURCE, "s").kms(REGION);
    let grant = NewGrant {
        key_id: key.to_string(),
        grantee_principal: FORENSIC.to_string(),
        retiring_principal: Some(FORENSIC.to_string()),
        operations: vec!["Decrypt".to_string()],
        encryption_context_subset: None,
        name: Some("custody-C1-vol".to_string()),
    };
    let id = source.create_grant(&grant).await.unwrap().value;
    assert!(w.leftovers("C1", &[], "custody-C1").iter().any(|l| l.contains("custody-C1-vol")));
    assert!(source.retire_grant(key, &id).await.err().unwrap().is_code("AccessDeniedException"));
    let unknown = w.cloud_as(FORENSIC, "s").kms(REGION).retire_grant(key, &"f".repeat(64)).await;
    assert!(unknown.err().unwrap().is_code("NotFoundException"));
    w.cloud_as(FORENSIC, "s").kms(REGION).retire_grant(key, &id).await.unwrap();
    assert!(w.keys().into_iter().find(|k| k.arn == key).unwrap().grants.is_empty());
    assert!(w.leftovers("C1", &[], "custody-C1").is_empty());
}

#[tokio::test]
async fn a_grant_operation_kms_does_not_know_is_refused() {
    let w = example("5-cross-account-grant-only.json");
    let grant = NewGrant {
        key_id: "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005".to_string(),
        grantee_principal: FORENSIC.to_string(),
        retiring_principal: None,
        operations: vec!["ReEncrypt".to_string()],
        encryption_context_subset: None,
        name: None,
    };
    let err = w.cloud_as(SOURCE, "s").kms(REGION).create_grant(&grant).await.err().unwrap();
    assert!(err.is_code("ValidationException"), "{err}");
}
