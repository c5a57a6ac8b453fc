//! Eventual consistency ([`SimWorld::set_lookup_lag`]): what a call creates is listed by
//! DescribeSnapshots without ids, ListKeys and ListAliases only once the lag has passed, while asking
//! for it by id finds it at once ("Eventual consistency in the Amazon EC2 API",
//! <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>; KMS API Reference,
//! ListAliases, "Eventual consistency",
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use super::SimWorld;
use custody_cloud::types::{NewKey, SnapshotQuery};
use custody_plan::inventory::parse_inventory;
use serde_json::json;
use std::collections::BTreeMap;

const ROLE: &str = "arn:aws:iam::111111111111:role/Responder";
const REGION: &str = "eu-west-1";

/// One account whose role may do anything, one instance with two volumes.
fn world() -> SimWorld {
    let inventory = json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "111111111111", "forensic_region": REGION, "forensic_role_arn": ROLE},
        "principals": [{"arn": ROLE, "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}]}],
        "instances": [{"id": "i-0123456789abcdef0", "account": "111111111111", "region": REGION,
                       "volumes": [{"id": "vol-0123456789abcdef0", "size_gib": 8, "encrypted": false},
                                   {"id": "vol-0123456789abcdef1", "size_gib": 8, "encrypted": false}]}]
    });
    SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap()
}

fn tags() -> BTreeMap<String, String> {
    [("CustodyCase".to_string(), "C1".to_string())].into()
}

/// DescribeSnapshots by tag, as a crash lookup asks: the ids listed.
async fn listed_by_tag(w: &SimWorld) -> Vec<String> {
    let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags: tags() };
    let found = w.cloud_as(ROLE, "s").ec2(REGION).describe_snapshots(&query).await.unwrap();
    found.into_iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn a_new_snapshot_is_listed_by_tag_only_once_the_lag_has_passed_but_found_by_id_at_once() {
    let w = world();
    w.set_lookup_lag(4);
    let made = w.cloud_as(ROLE, "s").ec2(REGION).create_snapshots("i-0123456789abcdef0", "d", &tags()).await.unwrap();
    let ids: Vec<String> = made.value.iter().map(|s| s.id.clone()).collect();
    // The first look-up comes one call after the creation: not yet listed.
    assert_eq!(listed_by_tag(&w).await, Vec::<String>::new());
    let by_id = SnapshotQuery { ids: ids.clone(), owned_by_caller: false, tags: BTreeMap::new() };
    let found = w.cloud_as(ROLE, "s").ec2(REGION).describe_snapshots(&by_id).await.unwrap();
    assert_eq!(found.len(), 2, "asked for by id, they are there");
    // Each call moves the clock on: a few calls later, both are listed.
    let mut tries = 0;
    while listed_by_tag(&w).await != ids {
        tries += 1;
        assert!(tries < 10, "never listed");
    }
}

#[tokio::test]
async fn without_a_lag_a_new_snapshot_is_listed_at_once() {
    let w = world();
    let made = w.cloud_as(ROLE, "s").ec2(REGION).create_snapshots("i-0123456789abcdef0", "d", &tags()).await.unwrap();
    let ids: Vec<String> = made.value.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed_by_tag(&w).await, ids);
}

#[tokio::test]
async fn a_new_key_and_its_alias_are_listed_only_once_the_lag_has_passed() {
    let w = world();
    w.set_lookup_lag(4);
    let kms = w.cloud_as(ROLE, "s").kms(REGION);
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]});
    let key = NewKey { policy, description: "temporary".to_string(), tags: tags() };
    let arn = kms.create_key(&key).await.unwrap().value.arn;
    kms.create_alias("alias/custody-C1", &arn).await.unwrap();
    // One call after the alias, two after the key: neither is listed yet.
    assert!(kms.list_aliases(None).await.unwrap().iter().all(|a| a.name != "alias/custody-C1"));
    assert!(!kms.list_keys().await.unwrap().contains(&arn));
    // DescribeKey by ARN finds the key at once.
    assert_eq!(kms.describe_key(&arn).await.unwrap().arn, arn);
    assert!(kms.list_keys().await.unwrap().contains(&arn));
    assert!(kms.list_aliases(None).await.unwrap().iter().any(|a| a.name == "alias/custody-C1"));
}
