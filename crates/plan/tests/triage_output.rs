//! Triage output to S3 (`custody check --triage --output s3://…`): the SSM agent writes it with the
//! instance profile's role, custody reads it back, and the bucket policy must admit both when the
//! bucket is in another account. The instance profile "must grant access to an S3 bucket" for "the full
//! output of Run Command commands", with s3:PutObjectAcl for a bucket of another account (Systems
//! Manager User Guide,
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html#instance-profile-custom-s3-policy>);
//! a cross-account request needs an allow on both sides (IAM User Guide, "Cross-account policy
//! evaluation logic",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::{check, CheckReport, Outcome, RequestCheck};
use custody_plan::inventory::parse_inventory;
use custody_plan::plan::{plan, PlanRequest, TriageOutput};
use serde_json::{json, Value};
use std::path::Path;

const INSTANCE: &str = "i-0e7e7e7e7e7e7e7e7";
const APP_ROLE: &str = "arn:aws:iam::111122223333:role/web-app";
const READER: &str = "arn:aws:iam::111122223333:role/CustodySource";

fn example() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories/triage.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The triage example with an output bucket in the forensic account, the instance's profile role
/// allowed to write under `ir/`, and the reader allowed to list and read there; `bucket_policy` is
/// the bucket's.
fn with_output(bucket_policy: Option<Value>) -> Value {
    let mut inv = example();
    inv["instances"][0]["instance_profile_role_arn"] = json!(APP_ROLE);
    inv["principals"].as_array_mut().unwrap().push(json!({
        "arn": APP_ROLE,
        "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "arn:aws:s3:::ir-evidence/ir/*"}
        ]}]
    }));
    let reader = inv["principals"].as_array_mut().unwrap().iter_mut().find(|p| p["arn"] == READER).unwrap();
    reader["identity_policies"].as_array_mut().unwrap().push(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::ir-evidence",
         "Condition": {"StringLike": {"s3:prefix": "ir/*"}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ir-evidence/ir/*"}
    ]}));
    let mut bucket = json!({"name": "ir-evidence", "account": "999999999999"});
    if let Some(p) = bucket_policy {
        bucket["policy"] = p;
    }
    inv["buckets"] = json!([bucket]);
    inv
}

/// What `custody policy role --output-bucket` would have the bucket owner write: the source account's
/// writers and reader, under the prefix only.
fn admitting_bucket_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": APP_ROLE}, "Action": ["s3:PutObject", "s3:PutObjectAcl"],
         "Resource": "arn:aws:s3:::ir-evidence/ir/*"},
        {"Effect": "Allow", "Principal": {"AWS": READER}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::ir-evidence", "Condition": {"StringLike": {"s3:prefix": "ir/*"}}},
        {"Effect": "Allow", "Principal": {"AWS": READER}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::ir-evidence/ir/*"}
    ]})
}

fn checked(inv: &Value, output: &str) -> (CheckReport, Vec<String>) {
    let inv = parse_inventory(&inv.to_string()).unwrap();
    let request = PlanRequest {
        triage: true,
        triage_output: Some(TriageOutput::parse(output).unwrap()),
        case_id: "IR-7".into(),
        ..PlanRequest::new(INSTANCE)
    };
    let p = plan(&inv, &request).unwrap();
    (check(&inv, &p), p.notes.clone())
}

fn s3_requests(report: &CheckReport) -> Vec<&RequestCheck> {
    let triage = report.steps.iter().find(|s| s.id == "triage").unwrap();
    triage.requests.iter().filter(|r| r.action.starts_with("s3:")).collect()
}

fn outcome<'r>(requests: &[&'r RequestCheck], action: &str) -> &'r RequestCheck {
    requests.iter().find(|r| r.action == action).unwrap_or_else(|| panic!("no {action}"))
}

#[test]
fn the_agent_writes_and_custody_reads_under_the_prefix_and_the_bucket_admits_both() {
    let (report, _) = checked(&with_output(Some(admitting_bucket_policy())), "s3://ir-evidence/ir");
    let s3 = s3_requests(&report);
    let actions: Vec<&str> = s3.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["s3:PutObject", "s3:PutObjectAcl", "s3:ListBucket", "s3:GetObject"]);
    assert!(s3.iter().all(|r| r.outcome == Outcome::Allowed), "{s3:#?}");
    // The agent writes as the instance profile's role, in a session named after the instance.
    let put = outcome(&s3, "s3:PutObject");
    assert_eq!(put.principal, format!("arn:aws:sts::111122223333:assumed-role/web-app/{INSTANCE}"));
    assert_eq!(
        put.resource,
        format!("arn:aws:s3:::ir-evidence/ir/command-id/{INSTANCE}/awsrunShellScript/0.awsrunShellScript/stdout")
    );
    assert!(put.page.contains("setup-instance-profile.html"), "{}", put.page);
    assert!(put.inferred.is_some(), "the agent's request is not documented: {put:?}");
    let list = outcome(&s3, "s3:ListBucket");
    assert!(list.principal.contains(":assumed-role/CustodySource/"), "{}", list.principal);
    assert_eq!(list.resource, "arn:aws:s3:::ir-evidence");
    assert!(report.all_pass());
}

#[test]
fn a_bucket_of_another_account_without_a_policy_refuses_the_writer_and_the_reader() {
    let (report, _) = checked(&with_output(None), "s3://ir-evidence/ir");
    let s3 = s3_requests(&report);
    for action in ["s3:PutObject", "s3:PutObjectAcl", "s3:ListBucket", "s3:GetObject"] {
        assert_eq!(outcome(&s3, action).outcome, Outcome::Denied, "{action}");
    }
    assert!(!report.all_pass());
}

#[test]
fn a_prefix_outside_what_the_policies_allow_is_refused() {
    let (report, _) = checked(&with_output(Some(admitting_bucket_policy())), "s3://ir-evidence/elsewhere");
    let s3 = s3_requests(&report);
    assert!(s3.iter().all(|r| r.outcome == Outcome::Denied), "{s3:#?}");
}

#[test]
fn a_bucket_the_inventory_does_not_list_is_unknown_never_allowed() {
    let mut inv = with_output(Some(admitting_bucket_policy()));
    inv["buckets"] = json!([]);
    let (report, notes) = checked(&inv, "s3://ir-evidence/ir");
    let s3 = s3_requests(&report);
    assert!(s3.iter().all(|r| r.outcome == Outcome::Unknown), "{s3:#?}");
    assert!(notes.iter().any(|n| n.contains("ir-evidence is not in the inventory")), "{notes:?}");
}

#[test]
fn an_instance_without_an_instance_profile_is_said_to_have_no_writer() {
    let mut inv = with_output(Some(admitting_bucket_policy()));
    inv["instances"][0].as_object_mut().unwrap().remove("instance_profile_role_arn");
    let (report, notes) = checked(&inv, "s3://ir-evidence/ir");
    let actions: Vec<&str> = s3_requests(&report).iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["s3:ListBucket", "s3:GetObject"]);
    assert!(notes.iter().any(|n| n.contains("has no instance profile")), "{notes:?}");
    // Unreadable is said so, not taken as absent.
    inv["instances"][0]["unknown"] = json!(["instance_profile_role_arn"]);
    let (_, notes) = checked(&inv, "s3://ir-evidence/ir");
    assert!(notes.iter().any(|n| n.contains("instance profile of i-0e7e7e7e7e7e7e7e7 could not be read")), "{notes:?}");
}

#[test]
fn buckets_and_instance_profiles_are_checked_with_their_paths() {
    let refused = |inv: Value, path: &str| {
        let e = parse_inventory(&inv.to_string()).unwrap_err().to_string();
        assert!(e.contains(path), "{e}");
    };
    let mut inv = with_output(None);
    inv["buckets"][0]["name"] = json!("IR_Evidence");
    refused(inv, "buckets[0].name");
    let mut inv = with_output(None);
    inv["buckets"] =
        json!([{"name": "ir-evidence", "account": "999999999999"}, {"name": "ir-evidence", "account": "999999999999"}]);
    refused(inv, "buckets[1].name");
    let mut inv = with_output(None);
    inv["buckets"][0]["policy"] = json!({"Statement": "nope"});
    refused(inv, "buckets[0].policy");
    let mut inv = with_output(None);
    inv["instances"][0]["instance_profile_role_arn"] = json!("arn:aws:iam::999999999999:role/web-app");
    refused(inv, "instances[0].instance_profile_role_arn");
    assert!(TriageOutput::parse("s3://ir-evidence/ir/").is_ok_and(|o| o.prefix == "ir"));
    assert!(TriageOutput::parse("https://ir-evidence").is_err());
    assert!(TriageOutput::parse("s3://-bad-").is_err());
}

/// `custody policy role --features acquire,cleanup,triage --output-bucket s3://ir-evidence/ir`: the
/// source role's reads, the instance profile's policy and the bucket policy it prints are exactly
/// what the preflight then finds allowed, and nothing wider: another prefix stays refused.
#[test]
fn the_generated_policies_let_the_agent_write_and_custody_read_under_the_prefix_only() {
    use custody_plan::generate::{role_policies, Feature, RoleOptions};
    let options = RoleOptions {
        features: [Feature::Acquire, Feature::Cleanup, Feature::Triage].into_iter().collect(),
        forensic_account: Some("999999999999".into()),
        forensic_region: Some("eu-west-1".into()),
        source_accounts: vec!["111122223333".into()],
        regions: vec!["eu-west-1".into()],
        output_bucket: Some(TriageOutput::parse("s3://ir-evidence/ir").unwrap()),
        ..RoleOptions::default()
    };
    options.validate().unwrap();
    let g = role_policies(&options);
    let profile = g.instance_profile.clone().unwrap().policy.unwrap();
    let bucket_policy = g.output_bucket_policy.clone().unwrap();
    let reads: Vec<Value> = g.source_role.policy.clone().unwrap()["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Sid"].as_str().unwrap().ends_with("Output"))
        .cloned()
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    let mut inv = with_output(Some(bucket_policy));
    let principals = inv["principals"].as_array_mut().unwrap();
    principals.iter_mut().find(|p| p["arn"] == APP_ROLE).unwrap()["identity_policies"] = json!([profile]);
    let reader = principals.iter_mut().find(|p| p["arn"] == READER).unwrap();
    let policies = reader["identity_policies"].as_array_mut().unwrap();
    policies.pop();
    policies.push(json!({"Version": "2012-10-17", "Statement": reads}));
    let (report, _) = checked(&inv, "s3://ir-evidence/ir");
    let s3 = s3_requests(&report);
    assert!(s3.iter().all(|r| r.outcome == Outcome::Allowed), "{s3:#?}");
    let (report, _) = checked(&inv, "s3://ir-evidence/other");
    assert!(s3_requests(&report).iter().all(|r| r.outcome == Outcome::Denied));
    // Without the triage feature, an output bucket is refused.
    let wrong = RoleOptions { features: [Feature::Acquire].into_iter().collect(), ..options };
    assert!(wrong.validate().unwrap_err().to_string().contains("triage"));
}
