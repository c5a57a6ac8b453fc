//! A 50-volume acquisition across three accounts: every step is checked, a refusal is reported where
//! it happens (not again downstream), and every refusal gets a fix. How fast that is, is measured by
//! the `preflight` benchmark (`cargo bench -p custody-plan --bench preflight`), not here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::{check, Outcome};
use serde_json::{json, Value};

const SS: &str = "arn:aws:sts::222222222222:assumed-role/CustodySource/CASE";
const K_FOR: &str = "arn:aws:kms:eu-west-1:111111111111:key/2222bbbb-2222-3333-4444-555566667777";

/// Volume `i`'s key: K_SRC for two volumes in three, else a key of the third account 333333333333.
fn key_of(i: usize) -> String {
    if i % 3 == 2 {
        format!("arn:aws:kms:eu-west-3:333333333333:key/{i:08x}-0000-0000-0000-000000000000")
    } else {
        K_SRC.to_string()
    }
}

fn req(principal: &str, action: &str, resource: &str, context: Value) -> Value {
    json!({"principal": principal, "action": action, "resource": resource, "context": context})
}

fn volume_steps(i: usize) -> Vec<Value> {
    let vol = format!("vol-{i:017x}");
    let key = key_of(i);
    let via_src = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com", "kms:GrantIsForAWSResource": "true"});
    let ctx_src = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com", "kms:EncryptionContext:aws:ebs:id": vol});
    let ctx_dst = json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com", "kms:GrantIsForAWSResource": "true"});
    let grant = format!("custody-grant-{vol}");
    vec![
        json!({"id": format!("snapshot:{vol}"), "title": "Snapshot", "phase": "snapshot", "calls": [{"api": "ec2:CreateSnapshot", "requests": [
            req(SS, "ec2:CreateSnapshot", &format!("arn:aws:ec2:eu-west-3:222222222222:volume/{vol}"), json!({})),
            req(SS, "ec2:CreateSnapshot", "arn:aws:ec2:eu-west-3::snapshot/*", json!({})),
            req(SS, "kms:CreateGrant", &key, via_src.clone()),
            req(SS, "kms:GenerateDataKeyWithoutPlaintext", &key, ctx_src.clone())]}]}),
        json!({"id": format!("create-grant:{vol}"), "title": "Grant", "phase": "transfer", "calls": [{"api": "kms:CreateGrant", "requests": [
            req(SS, "kms:CreateGrant", &key, json!({"kms:GranteePrincipal": FR}))]}],
            "creates_grants": [{"key_arn": key, "grant": {"grant_id": grant, "grantee_principal": FR,
                "operations": ["Decrypt", "ReEncryptFrom", "DescribeKey", "CreateGrant"], "retiring_principal": SR}}]}),
        json!({"id": format!("copy:{vol}"), "title": "Copy", "phase": "transfer", "calls": [{"api": "ec2:CopySnapshot", "requests": [
            req(FS, "ec2:CopySnapshot", "arn:aws:ec2:eu-west-1::snapshot/*", json!({})),
            req(FS, "kms:ReEncryptFrom", &key, ctx_src),
            req(FS, "kms:DescribeKey", &key, json!({})),
            req(FS, "kms:CreateGrant", &key, via_src),
            req(FS, "kms:GenerateDataKeyWithoutPlaintext", K_FOR, json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com"})),
            req(FS, "kms:CreateGrant", K_FOR, ctx_dst)]}]}),
        json!({"id": format!("read:{vol}"), "title": "Read", "phase": "read", "calls": [{"api": "ebs:GetSnapshotBlock", "requests": [
            req(FS, "kms:Decrypt", K_FOR, json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com"})),
            req(FS, "ec2:DescribeSnapshots", "*", json!({}))]}]}),
        json!({"id": format!("cleanup:{vol}"), "title": "Clean up", "phase": "cleanup", "calls": [{"api": "kms:RetireGrant", "requests": [
            {"principal": SS, "action": "kms:RetireGrant", "resource": key, "grant_id": grant},
            req(SS, "ec2:DeleteSnapshot", "arn:aws:ec2:eu-west-3::snapshot/snap-source-1", json!({}))]}]}),
    ]
}

#[test]
fn fifty_volumes_across_three_accounts_are_all_checked() {
    let mut inv = inventory_json();
    principal_mut(&mut inv, SR)["identity_policies"][0]["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "CustodyCreateGrantForCustodyResponse", "Effect": "Allow", "Action": "kms:CreateGrant",
        "Resource": "arn:aws:kms:*:*:key/*", "Condition": {"StringEquals": {"kms:GranteePrincipal": FR}}}));
    let mut volumes = Vec::new();
    for i in 0..50 {
        let key = key_of(i);
        if i % 3 == 2 {
            inv["keys"].as_array_mut().unwrap().push(json!({"arn": key, "manager": "CUSTOMER", "policy": {
                "Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "kms:*", "Resource": "*"}]}}));
        }
        volumes.push(json!({"id": format!("vol-{i:017x}"), "size_gib": 8, "encrypted": true, "kms_key_arn": key}));
    }
    inv["instances"][0]["volumes"] = Value::Array(volumes);
    let inventory = load(&inv);
    let plan = plan_from_json(&json!({"steps": (0..50).flat_map(volume_steps).collect::<Vec<_>>()}));
    let requests: usize = plan.steps.iter().flat_map(|s| &s.calls).map(|c| c.requests.len()).sum();

    let report = check(&inventory, &plan);
    assert_eq!(requests, 50 * 15);

    assert_eq!(report.steps.len(), 250);
    // Volumes under K_SRC pass end to end. For the 16 under the third account's key, whose policy names
    // only its own account, the source role's grants are refused (snapshot and create-grant steps) and
    // get fixes, which costs the most; later steps use the planned grant, so a failure is reported
    // where it happens, not again downstream.
    assert_eq!(report.summary.failed, 16 * 2, "{:?}", report.summary);
    let refused = report.steps.iter().flat_map(|s| &s.requests).filter(|r| r.outcome == Outcome::Denied);
    assert!(refused.clone().all(|r| !r.fixes.is_empty()));
}
