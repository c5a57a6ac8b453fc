//! The grant EC2 creates for itself during a copy. AWS documents that EC2 calls CreateGrant as the
//! caller, for an AWS resource (KMS condition keys, kms:GrantIsForAWSResource,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource>),
//! not the grantee, operations or retiring principal of that grant. And a principal whose CreateGrant
//! permission comes from a grant can create only grants with a subset of its operations and
//! constraints at least as strict (KMS Developer Guide, "Granting CreateGrant permission",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant>).
//! So a decision that rests on what EC2's grant holds is unknown, and one that rests on a grant
//! listing every documented operation is allowed, marked inferred.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use custody_plan::check::{check, CheckReport, Outcome, RequestCheck};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Mode, PlanRequest};
use serde_json::json;
use std::path::Path;

const GRANT_FROM_GRANT: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant";

fn example(file: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(file);
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn checked(inv: &Inventory, instance: &str) -> CheckReport {
    let request = PlanRequest { mode: Mode::Auto, case_id: "C1".into(), ..PlanRequest::new(instance) };
    check(inv, &plan(inv, &request).unwrap())
}

/// EC2's CreateGrant requests on `key` in the copy steps (there is at least one).
fn ec2_create_grants<'a>(report: &'a CheckReport, key: &str) -> Vec<&'a RequestCheck> {
    let found: Vec<&RequestCheck> = report
        .steps
        .iter()
        .filter(|s| s.id.starts_with("copy"))
        .flat_map(|s| &s.requests)
        .filter(|r| r.call == "ec2:CopySnapshot" && r.action == "kms:CreateGrant" && r.resource == key)
        .collect();
    assert!(!found.is_empty(), "no CreateGrant by EC2 on {key}");
    found
}

#[test]
fn ec2s_grant_under_custodys_grant_is_allowed_and_says_it_rests_on_inference() {
    let report = checked(&example("5-cross-account-grant-only.json"), "i-05e5e5e5e5e5e5e5e");
    let key = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
    let requests = ec2_create_grants(&report, key);
    assert_eq!(requests.len(), 2, "one per encrypted volume");
    for r in requests {
        assert_eq!(r.outcome, Outcome::Allowed);
        assert!(r.deciding.iter().any(|d| d.policy.starts_with("grants[")), "{:?}", r.deciding);
        let inferred = r.inferred.as_deref().unwrap();
        assert!(inferred.contains("through grant custody-grant-") && inferred.contains(GRANT_FROM_GRANT), "{inferred}");
    }
}

#[test]
fn ec2s_grant_under_an_owner_grant_that_lists_fewer_operations_is_unknown() {
    let mut inv = example("7-cross-account-owner-grants.json");
    let key = inv.keys.iter_mut().find(|k| !k.grants.is_empty()).unwrap();
    let key_arn = key.arn.clone();
    // What the key owner's grant used to list.
    key.grants[0]["operations"] = json!(["Decrypt", "DescribeKey", "CreateGrant", "ReEncryptFrom"]);
    let report = checked(&inv, "i-07a7a7a7a7a7a7a7a");
    let requests = ec2_create_grants(&report, &key_arn);
    for r in requests {
        assert_eq!(r.outcome, Outcome::Unknown, "{:?}", r.unknown);
        let why = r.unknown.join(" ");
        assert!(
            why.contains("does not list GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptTo")
                && why.contains(GRANT_FROM_GRANT),
            "{why}"
        );
    }
}

#[test]
fn a_key_policy_that_conditions_ec2s_grant_on_its_grantee_or_operations_leaves_it_unknown() {
    let key_arn = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";
    let edit = |f: &dyn Fn(&mut Vec<serde_json::Value>)| {
        let mut inv = example("6-cross-account-direct.json");
        let key = inv.keys.iter_mut().find(|k| k.arn == key_arn).unwrap();
        f(key.policy.as_mut().unwrap()["Statement"].as_array_mut().unwrap());
        checked(&inv, "i-06f6f6f6f6f6f6f6f")
    };
    // An Allow that names the grantee: refused on the guess that EC2's grantee is another one.
    let report = edit(&|statements| {
        let attach = statements.iter_mut().find(|s| s["Sid"] == "Allow attachment of persistent resources").unwrap();
        attach["Condition"]["StringEquals"] = json!({"kms:GranteePrincipal": "ec2.amazonaws.com"});
    });
    for r in ec2_create_grants(&report, key_arn) {
        assert_eq!(r.outcome, Outcome::Unknown);
        assert!(r.unknown.iter().any(|u| u.contains("conditions on kms:GranteePrincipal")), "{:?}", r.unknown);
    }
    // A Deny on the grant's operations: allowed on the guess that EC2 asks for none of them.
    let report = edit(&|statements| {
        statements.push(json!({"Sid": "NoEncryptGrants", "Effect": "Deny", "Principal": "*", "Action": "kms:Create*",
            "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"kms:GrantOperations": ["Encrypt"]}}}));
    });
    for r in ec2_create_grants(&report, key_arn) {
        assert_eq!(r.outcome, Outcome::Unknown);
        assert!(r.unknown.iter().any(|u| u.contains("(Sid `NoEncryptGrants`)")), "{:?}", r.unknown);
    }
    // Custody's own statements condition EC2's grants on kms:GrantIsForAWSResource only: allowed.
    let report = edit(&|_| {});
    assert!(ec2_create_grants(&report, key_arn).iter().all(|r| r.outcome == Outcome::Allowed));
}
