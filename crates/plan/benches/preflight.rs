//! Preflight of a 50-volume instance across three accounts: `plan` + `check` (+ the text report).
//!
//! ```console
//! $ cargo bench -p custody-plan --bench preflight
//! ```
//!
//! The inventory is the planner's test estate (`tests/fixtures/plan/estate.json`: source account
//! 222222222222, forensic account 111111111111) with instance `i-0123456789abcdef0` grown to 50
//! volumes that cycle through every key kind it knows (unencrypted, aws/ebs, grant-only, direct,
//! owner grants) plus customer keys of a third account, 333333333333. Before measuring, the bench
//! checks the plan covers 50 volumes across the three accounts and the preflight decides every
//! request, so it cannot measure a broken path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")] // a broken fixture stops the bench

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use custody_plan::check::check;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, PlanRequest};
use custody_plan::report::{render, Format};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const INSTANCE: &str = "i-0123456789abcdef0";
const THIRD_ACCOUNT: &str = "333333333333";

fn fifty_volume_inventory() -> Inventory {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan/estate.json");
    let mut inv: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let instance = inv["instances"].as_array_mut().unwrap().iter_mut().find(|i| i["id"] == INSTANCE).unwrap();
    let kinds: Vec<Value> = instance["volumes"].as_array().unwrap().iter().map(|v| v["kms_key_arn"].clone()).collect();
    let mut third_keys = Vec::new();
    let volumes: Vec<Value> = (0..50)
        .map(|i| {
            // Every sixth volume is under a key of the third account, which lets the source account
            // use it (a key shared across accounts, as seed 003 example 2 describes).
            let key = if i % 6 == 5 {
                let arn = format!("arn:aws:kms:eu-west-3:{THIRD_ACCOUNT}:key/{i:08x}-3333-4333-8333-333333333333");
                third_keys.push(arn.clone());
                Value::String(arn)
            } else {
                kinds[i % kinds.len()].clone()
            };
            let mut v = json!({"id": format!("vol-{i:017x}"), "size_gib": 8, "encrypted": !key.is_null()});
            if !key.is_null() {
                v["kms_key_arn"] = key;
            }
            v
        })
        .collect();
    instance["volumes"] = Value::Array(volumes);
    for arn in third_keys {
        inv["keys"].as_array_mut().unwrap().push(json!({"arn": arn, "manager": "CUSTOMER", "policy": {
            "Version": "2012-10-17", "Statement": [
                {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                 "Principal": {"AWS": format!("arn:aws:iam::{THIRD_ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Allow external account 222222222222 use of the customer managed key", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
                 "Resource": "*"}]}}));
    }
    parse_inventory(&inv.to_string()).unwrap()
}

fn preflight(c: &mut Criterion) {
    let inventory = fifty_volume_inventory();
    let request = PlanRequest::new(INSTANCE);
    let planned = plan(&inventory, &request).unwrap();
    assert_eq!(planned.volumes.len(), 50);
    let requests: Vec<_> = planned.steps.iter().flat_map(|s| &s.calls).flat_map(|c| &c.requests).collect();
    let accounts: BTreeSet<&str> =
        requests.iter().filter_map(|r| r.resource.split(':').nth(4).filter(|a| a.len() == 12)).collect();
    assert!(accounts.len() >= 3, "requests touch accounts {accounts:?}");
    let report = check(&inventory, &planned);
    let s = &report.summary;
    assert_eq!(s.requests_allowed + s.requests_denied + s.requests_unknown, requests.len());
    eprintln!(
        "preflight: {} steps, {} requests ({} allowed, {} denied, {} unknown), accounts {accounts:?}",
        planned.steps.len(),
        requests.len(),
        s.requests_allowed,
        s.requests_denied,
        s.requests_unknown
    );

    let mut group = c.benchmark_group("preflight-50-volumes");
    group.throughput(Throughput::Elements(1));
    group.bench_function("plan", |b| b.iter(|| plan(&inventory, &request).unwrap()));
    group.bench_function("plan+check", |b| b.iter(|| check(&inventory, &plan(&inventory, &request).unwrap())));
    group.bench_function("plan+check+text-report", |b| {
        b.iter(|| render(&check(&inventory, &plan(&inventory, &request).unwrap()), Format::Text))
    });
    group.finish();
}

criterion_group!(benches, preflight);
criterion_main!(benches);
