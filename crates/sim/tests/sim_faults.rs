//! Faults, the call log, determinism and leftovers on the simulated cloud.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::types::{NewKey, SnapshotQuery};
use custody_cloud::CloudError;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_sim::{Faults, SimWorld};
use serde_json::json;
use std::collections::BTreeMap;

const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";
const REGION: &str = "eu-west-1";

fn inventory(name: &str) -> Inventory {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn example(name: &str) -> SimWorld {
    SimWorld::new(&inventory(name)).unwrap()
}

fn case_tags() -> BTreeMap<String, String> {
    [("CustodyCase".to_string(), "C1".to_string())].into()
}

#[tokio::test]
async fn throttling_fails_the_first_calls_then_lets_them_through() {
    // EC2 throttles with RequestLimitExceeded (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
    // KMS with ThrottlingException (https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html).
    let w = example("1-unencrypted.json");
    let mut faults = Faults::default();
    faults.throttle.insert("ec2:CreateSnapshots".to_string(), 2);
    faults.throttle.insert("kms:DescribeKey".to_string(), 1);
    w.set_faults(faults);
    let cloud = w.cloud_as(FORENSIC, "s");
    let ec2 = cloud.ec2(REGION);
    for _ in 0..2 {
        let err = ec2.create_snapshots("i-01a1a1a1a1a1a1a1a", "d", &case_tags()).await.err().unwrap();
        assert!(matches!(err, CloudError::Throttled(_)) && err.is_code("RequestLimitExceeded"), "{err}");
        assert!(err.request_id().is_some());
    }
    assert_eq!(ec2.create_snapshots("i-01a1a1a1a1a1a1a1a", "d", &case_tags()).await.unwrap().value.len(), 2);
    let kms = cloud.kms(REGION);
    let err = kms.describe_key("alias/custody-evidence").await.err().unwrap();
    assert!(err.is_code("ThrottlingException"));
    let calls = w.calls();
    assert!(calls[0].decisions.is_empty() && calls[1].decisions.is_empty(), "faults come before authorization");
    assert_eq!(calls[0].result.as_ref().unwrap_err(), "RequestLimitExceeded: Request limit exceeded.");
    assert!(!calls[2].decisions.is_empty());
}

#[tokio::test]
async fn a_permanent_fault_fails_every_call_with_its_code() {
    let w = example("1-unencrypted.json");
    let mut faults = Faults::default();
    faults.fail.insert("ec2:DescribeSnapshots".to_string(), ("InternalError".to_string(), "boom".to_string()));
    w.set_faults(faults);
    let ec2 = w.cloud_as(FORENSIC, "s").ec2(REGION);
    for _ in 0..3 {
        let err = ec2.describe_snapshots(&SnapshotQuery::default()).await.err().unwrap();
        assert!(matches!(err, CloudError::Api(_)) && err.is_code("InternalError"));
    }
    w.set_faults(Faults::default());
    assert!(ec2.describe_snapshots(&SnapshotQuery::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn ids_and_the_call_log_are_deterministic() {
    async fn run() -> (Vec<String>, Vec<custody_sim::SimCall>) {
        let w = example("8-cross-account-aws-managed.json");
        let source = w.cloud_as(SOURCE, "s");
        let made = source.ec2(REGION).create_snapshots("i-08b8b8b8b8b8b8b8b", "d", &case_tags()).await.unwrap();
        let key = NewKey {
            policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": SOURCE}, "Action": "kms:*", "Resource": "*"}]}),
            description: "t".to_string(),
            tags: case_tags(),
        };
        let meta = source.kms(REGION).create_key(&key).await.unwrap();
        let mut ids: Vec<String> = made.value.into_iter().map(|s| s.id).collect();
        ids.push(meta.value.arn);
        ids.push(meta.request_id.unwrap());
        (ids, w.calls())
    }
    let (a, log_a) = run().await;
    let (b, log_b) = run().await;
    assert_eq!(a, b);
    assert_eq!(log_a, log_b);
    assert_eq!(a[0], "snap-00000000000000001");
    assert_eq!(a[3], "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000001");
}

#[tokio::test]
async fn leftovers_name_what_custody_left_behind() {
    let w = example("8-cross-account-aws-managed.json");
    let source = w.cloud_as(SOURCE, "s");
    let ec2 = source.ec2(REGION);
    let made = ec2.create_snapshots("i-08b8b8b8b8b8b8b8b", "d", &case_tags()).await.unwrap().value;
    let plain = made.iter().find(|s| !s.encrypted).unwrap().id.clone();
    ec2.modify_snapshot_share(&plain, "999999999999", true).await.unwrap();
    let key = NewKey {
        policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": SOURCE}, "Action": "kms:*", "Resource": "*"}]}),
        description: "t".to_string(),
        tags: case_tags(),
    };
    let meta = source.kms(REGION).create_key(&key).await.unwrap().value;
    source.kms(REGION).create_alias("alias/custody-C1-x", &meta.arn).await.unwrap();
    let left = w.leftovers("C1", std::slice::from_ref(&plain), "custody-C1");
    assert_eq!(left.iter().filter(|l| l.starts_with("snapshot") && l.contains("is not evidence")).count(), 2);
    assert!(left.iter().any(|l| l.contains(&plain) && l.contains("still shared with 999999999999")), "{left:#?}");
    assert!(left.iter().any(|l| l.starts_with(&format!("key {}", meta.arn))), "{left:#?}");
    assert!(left.iter().any(|l| l.starts_with("alias alias/custody-C1-x")), "{left:#?}");
    assert_eq!(left.len(), 5, "{left:#?}");
    // Another case left nothing.
    assert!(w.leftovers("C2", &[], "custody-C2").iter().all(|l| l.contains("still shared")));
}

#[test]
fn an_inventory_whose_volume_key_is_not_listed_is_refused() {
    let mut inv = inventory("5-cross-account-grant-only.json");
    inv.keys.retain(|k| !k.arn.contains(":111122223333:"));
    let err = SimWorld::new(&inv).unwrap_err();
    assert!(err.contains("vol-05e5e5e5e5e5e5e50") && err.contains("does not list"), "{err}");
}

#[test]
fn the_aliases_an_inventory_starts_with_are_not_leftovers() {
    // The forensic key's alias/custody-evidence starts with the alias prefix `custody`.
    let w = example("5-cross-account-grant-only.json");
    assert!(w.leftovers("C1", &[], "custody").is_empty());
}
