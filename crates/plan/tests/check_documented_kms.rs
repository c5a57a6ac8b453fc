//! Which KMS permissions a copy needs: AWS documents the set EBS encryption requires, not the calls
//! EC2 makes. So the preflight checks, on every key a copy uses, "kms:CreateGrant, kms:Decrypt,
//! kms:DescribeKey, kms:GenerateDataKeyWithoutPlainText, kms:ReEncrypt" (EBS User Guide, "Requirements
//! for Amazon EBS encryption",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions>;
//! `kms:ReEncrypt` is ReEncryptFrom and ReEncryptTo), and for a key of another account also
//! GenerateDataKey ("Share the KMS key used to encrypt a shared Amazon EBS snapshot",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html>). What AWS leaves out (the
//! request EC2 sends: caller, kms:ViaService Region, aws:ebs:id) is marked inferred, and counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::{check, CheckReport, Outcome, RequestCheck};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Mode, PlanRequest, EBS_ENCRYPTION_OPERATIONS, SHARED_KEY_OPERATIONS};
use custody_plan::report::text as render_text;
use serde_json::json;
use std::path::Path;

const REQUIREMENTS: &str =
    "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions";
const SHARE_KEY: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html";
const SOURCE_KEY_6: &str = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";

fn example(file: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(file);
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn checked(inv: &Inventory, instance: &str) -> CheckReport {
    let request = PlanRequest { mode: Mode::Auto, case_id: "C1".into(), ..PlanRequest::new(instance) };
    check(inv, &plan(inv, &request).unwrap())
}

/// The KMS requests of the copy steps on `key`, by the forensic role.
fn copy_requests_on<'a>(report: &'a CheckReport, key: &str) -> Vec<&'a RequestCheck> {
    report
        .steps
        .iter()
        .filter(|s| s.id.starts_with("copy"))
        .flat_map(|s| &s.requests)
        .filter(|r| r.resource == key && r.action.starts_with("kms:"))
        .collect()
}

fn operations(requests: &[&RequestCheck]) -> Vec<String> {
    let mut ops: Vec<String> = requests.iter().map(|r| r.action.trim_start_matches("kms:").to_string()).collect();
    ops.sort();
    ops.dedup();
    ops
}

fn sorted(ops: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    v.sort();
    v
}

#[test]
fn a_key_of_another_account_is_checked_for_the_shared_key_set_and_one_of_the_callers_own_for_the_ebs_set() {
    // Path 6: the forensic role copies from the source account's key into its own account's key.
    let report = checked(&example("6-cross-account-direct.json"), "i-06f6f6f6f6f6f6f6f");
    assert!(report.all_pass(), "{}", render_text(&report));
    let source = copy_requests_on(&report, SOURCE_KEY_6);
    assert_eq!(operations(&source), sorted(&SHARED_KEY_OPERATIONS));
    let gdk = source.iter().find(|r| r.action == "kms:GenerateDataKey").unwrap();
    assert_eq!(gdk.page, SHARE_KEY, "GenerateDataKey is in the shared-key list only");
    let forensic = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
    assert_eq!(operations(&copy_requests_on(&report, forensic)), sorted(&EBS_ENCRYPTION_OPERATIONS));
}

#[test]
fn a_key_policy_that_gives_only_what_custody_once_checked_is_refused_the_rest_of_the_documented_set() {
    let mut inv = example("6-cross-account-direct.json");
    let key = inv.keys.iter_mut().find(|k| k.arn == SOURCE_KEY_6).unwrap();
    let statements = key.policy.as_mut().unwrap()["Statement"].as_array_mut().unwrap();
    let use_key = statements.iter_mut().find(|s| s["Sid"] == "Allow required KMS permissions").unwrap();
    // What custody checked on a source key before: DescribeKey, CreateGrant (its own statement),
    // Decrypt and ReEncryptFrom.
    use_key["Action"] = json!(["kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"]);
    let report = checked(&inv, "i-06f6f6f6f6f6f6f6f");
    let source = copy_requests_on(&report, SOURCE_KEY_6);
    let refused: Vec<&RequestCheck> = source.iter().copied().filter(|r| r.outcome == Outcome::Denied).collect();
    assert_eq!(operations(&refused), ["GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptTo"]);
    for r in &refused {
        let page = if r.action == "kms:GenerateDataKey" { SHARE_KEY } else { REQUIREMENTS };
        assert_eq!(r.page, page, "{}", r.action);
        assert!(r.why.contains("whether EC2 calls it here is not documented"), "{}", r.why);
        // The fixes offered add the refused operation, nothing that administers the key.
        for f in r.fixes.iter().filter(|f| f.verified) {
            let text = serde_json::to_string(&f.changes).unwrap();
            assert!(!text.contains("kms:Put") && !text.contains("kms:ScheduleKeyDeletion"), "{text}");
        }
    }
    assert!(source.iter().filter(|r| r.outcome != Outcome::Denied).all(|r| r.outcome == Outcome::Allowed));
}

#[test]
fn every_kms_request_ec2_makes_for_a_copy_is_marked_inferred_and_the_verdict_counts_them() {
    let report = checked(&example("5-cross-account-grant-only.json"), "i-05e5e5e5e5e5e5e5e");
    let all: Vec<&RequestCheck> = report.steps.iter().flat_map(|s| &s.requests).collect();
    let on_behalf: Vec<&&RequestCheck> =
        all.iter().filter(|r| r.call == "ec2:CopySnapshot" && r.action.starts_with("kms:")).collect();
    assert!(!on_behalf.is_empty());
    for r in &on_behalf {
        let why =
            r.inferred.as_deref().unwrap_or_else(|| panic!("{} on {} is not marked inferred", r.action, r.resource));
        assert!(why.contains("kms:ViaService") && why.contains("aws:ebs:id"), "{why}");
    }
    // What AWS documents as asked is not marked: assuming the source role, the snapshot's own EC2 call.
    assert!(all.iter().any(|r| r.action == "sts:AssumeRole" && r.inferred.is_none()));
    let inferred = all.iter().filter(|r| r.inferred.is_some()).count();
    assert_eq!(report.summary.requests_inferred, inferred);
    assert_eq!(report.summary.requests_documented, all.len() - inferred);
    let text = render_text(&report);
    let verdict = text.lines().last().unwrap();
    assert!(
        verdict.ends_with(&format!("{} documented by AWS, {inferred} inferred", all.len() - inferred)),
        "{verdict}"
    );
    // Each copy step says, once per reason, which of its requests rest on inference.
    let source_key = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
    let line = format!(
        "inferred for kms:DescribeKey, kms:Decrypt, kms:GenerateDataKey, kms:GenerateDataKeyWithoutPlaintext, \
         kms:ReEncryptFrom, kms:ReEncryptTo on {source_key}; kms:DescribeKey, kms:CreateGrant"
    );
    assert!(text.contains(&format!("      {line}")), "{text}");
    let html = custody_plan::report::html(&report);
    assert!(html.contains(&format!("<p class=\"inferred\">{line}")), "{html}");
    let assume_role = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html";
    // The AWS page is a link.
    assert!(
        html.contains(&format!(
            "<li><span class=\"label\">documented:</span> <a href=\"{assume_role}\">{assume_role}</a></li>"
        )),
        "{html}"
    );
    let md = custody_plan::report::markdown(&report);
    assert!(md.contains("## What rests on inference"), "{md}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"]["requests_inferred"], inferred);
}

// The grant EC2 creates for itself during a copy. AWS documents that EC2 calls CreateGrant as the
// caller, for an AWS resource (KMS condition keys, kms:GrantIsForAWSResource,
// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource>),
// not the grantee, operations or retiring principal of that grant. And a principal whose CreateGrant
// permission comes from a grant can create only grants with a subset of its operations and
// constraints at least as strict (KMS Developer Guide, "Granting CreateGrant permission",
// <https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant>).
// So a decision that rests on what EC2's grant holds is unknown, and one that rests on a grant
// listing every documented operation is allowed, marked inferred.

const GRANT_FROM_GRANT: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant";

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
