//! Inventories are bounded: more instances, volumes per instance or statements per policy than any
//! real inventory has are refused with the JSON path and the limit, before anything is planned; at
//! the limit, they are accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{parse_inventory, MAX_INSTANCES, MAX_STATEMENTS, MAX_VOLUMES_PER_INSTANCE};
use serde_json::{json, Value};
use std::path::Path;

fn example() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories/1-unencrypted.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `i-` and 17 hex digits, distinct for each `n`.
fn instance_id(n: usize) -> String {
    format!("i-{n:017x}")
}

fn volume(n: usize) -> Value {
    json!({"id": format!("vol-{n:017x}"), "size_gib": 8, "encrypted": false})
}

fn with_instances(count: usize, volumes_each: usize) -> Value {
    let mut inv = example();
    let template = inv["instances"][0].clone();
    let instances: Vec<Value> = (0..count)
        .map(|i| {
            let mut inst = template.clone();
            inst["id"] = json!(instance_id(i));
            inst["volumes"] = Value::Array((0..volumes_each).map(|v| volume(i * volumes_each + v)).collect());
            inst
        })
        .collect();
    inv["instances"] = Value::Array(instances);
    inv
}

fn with_statements(count: usize) -> Value {
    let mut inv = example();
    let statement = json!({"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"});
    inv["principals"][0]["identity_policies"][0]["Statement"] = Value::Array(vec![statement; count]);
    inv
}

#[test]
fn more_instances_than_the_limit_are_refused_and_the_limit_is_accepted() {
    let err = parse_inventory(&with_instances(MAX_INSTANCES + 1, 1).to_string()).unwrap_err();
    assert_eq!(err.path, "instances");
    assert_eq!(
        err.expected,
        "at most 1000 items (an inventory lists the instances of one acquisition; split a larger one)"
    );
    assert_eq!(err.found.as_deref(), Some("1001 items"));
    assert!(parse_inventory(&with_instances(MAX_INSTANCES, 1).to_string()).is_ok());
}

#[test]
fn a_ten_thousand_volume_instance_is_refused_at_the_ec2_attachment_limit() {
    // 128: the most EBS volumes any instance type can have attached (EC2 User Guide, "Amazon EBS
    // volume limits for Amazon EC2 instances",
    // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/volume_limits.html).
    assert_eq!(MAX_VOLUMES_PER_INSTANCE, 128);
    let err = parse_inventory(&with_instances(1, 10_000).to_string()).unwrap_err();
    assert_eq!(err.path, "instances[0].volumes");
    assert_eq!(err.expected, "at most 128 items (no instance type can have more EBS volumes attached)");
    assert_eq!(err.found.as_deref(), Some("10000 items"));
    assert!(parse_inventory(&with_instances(1, MAX_VOLUMES_PER_INSTANCE).to_string()).is_ok());
}

#[test]
fn a_policy_with_more_statements_than_any_aws_accepts_is_refused() {
    // A key policy, the largest policy AWS stores, is at most 32 KB (KMS Developer Guide, "Quotas",
    // https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html): fewer than 1,000
    // statements of at least 45 characters.
    let err = parse_inventory(&with_statements(MAX_STATEMENTS + 1).to_string()).unwrap_err();
    assert_eq!(err.path, "principals[0].identity_policies[0].Statement");
    assert!(err.expected.starts_with("at most 1000 statements"), "{}", err.expected);
    assert_eq!(err.found.as_deref(), Some("1001 statements"));
    assert!(parse_inventory(&with_statements(MAX_STATEMENTS).to_string()).is_ok());
}
