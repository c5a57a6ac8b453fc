//! EBS encryption by default. "After you enable encryption by default, the EBS volumes that you
//! create are always encrypted, either using the default KMS key or the KMS key that you specified"
//! (EC2 API Reference, EnableEbsEncryptionByDefault,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableEbsEncryptionByDefault.html>), and
//! CopySnapshot's `Encrypted` is needed "to encrypt a copy of an unencrypted snapshot if encryption by
//! default is not enabled" (API_CopySnapshot,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html>): with it enabled the
//! copy is encrypted under the default key. So a copy of an unencrypted volume's snapshot into the
//! forensic account, or a volume made from unencrypted evidence, makes KMS requests on that key: the
//! planner names the key, the preflight checks it, and where the inventory does not say whether
//! encryption by default is on, the check says it assumed off instead of passing on a guess.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::{check, CheckReport, Outcome};
use custody_plan::inventory::{parse_inventory, EbsEncryptionDefault, Inventory};
use custody_plan::plan::{plan, ContextEntry, Mode, Plan, PlanRequest, EBS_ENCRYPTION_OPERATIONS};
use custody_plan::report::text as render_text;
use serde_json::{json, Value};
use std::path::Path;

const FORENSIC: &str = "999999999999";
const REGION: &str = "eu-west-1";
const FORENSIC_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
/// A customer managed key of the forensic account that only its administrators may use.
const OTHER_DEFAULT_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/0d0d0d0d-0000-4000-8000-00000000000d";

/// A bundled example, without the setting it records (off, as `custody collect` read it).
fn example(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(file);
    let mut inv: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(inv["ebs_encryption_by_default"], json!([{"account": FORENSIC, "region": REGION, "enabled": false}]));
    inv.as_object_mut().unwrap().remove("ebs_encryption_by_default");
    inv
}

/// Example 6 (cross-account, source key named in the key policy) with its instance's volumes made
/// unencrypted: the planner copies them into the forensic account without a key of their own.
fn unencrypted_cross_account() -> Value {
    let mut inv = example("6-cross-account-direct.json");
    for v in inv["instances"][0]["volumes"].as_array_mut().unwrap() {
        v["encrypted"] = json!(false);
        v.as_object_mut().unwrap().remove("kms_key_arn");
    }
    inv
}

fn with_default(mut inv: Value, enabled: bool, key: Option<&str>) -> Value {
    let mut setting = json!({"account": FORENSIC, "region": REGION, "enabled": enabled});
    if let Some(k) = key {
        setting["kms_key_arn"] = json!(k);
    }
    inv["ebs_encryption_by_default"] = json!([setting]);
    inv
}

fn load(inv: &Value) -> Inventory {
    parse_inventory(&inv.to_string()).unwrap()
}

fn planned(inv: &Inventory, volume_az: Option<&str>) -> Plan {
    let request = PlanRequest {
        mode: Mode::Auto,
        case_id: "C1".into(),
        volume_az: volume_az.map(str::to_string),
        ..PlanRequest::new(&inv.instances[0].id)
    };
    plan(inv, &request).unwrap()
}

fn checked(inv: &Inventory, volume_az: Option<&str>) -> CheckReport {
    check(inv, &planned(inv, volume_az))
}

/// The KMS operations the steps whose id starts with `step` request on `key`.
fn kms_operations(report: &CheckReport, step: &str, key: &str) -> Vec<String> {
    let mut ops: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.id.starts_with(step))
        .flat_map(|s| &s.requests)
        .filter(|r| r.resource == key && r.action.starts_with("kms:"))
        .map(|r| r.action.trim_start_matches("kms:").to_string())
        .collect();
    ops.sort();
    ops.dedup();
    ops
}

fn ebs_set() -> Vec<String> {
    let mut v: Vec<String> = EBS_ENCRYPTION_OPERATIONS.iter().map(|o| o.to_string()).collect();
    v.sort();
    v
}

/// What the requests of the steps starting with `step` say they infer about encryption by default.
fn assumptions(report: &CheckReport, step: &str) -> Vec<String> {
    report
        .steps
        .iter()
        .filter(|s| s.id.starts_with(step))
        .flat_map(|s| &s.requests)
        .filter_map(|r| r.inferred.clone())
        .filter(|i| i.contains("encryption by default"))
        .collect()
}

#[test]
fn a_copy_of_unencrypted_data_goes_under_the_default_key_and_the_preflight_checks_that_key() {
    let inv = load(&with_default(unencrypted_cross_account(), true, Some(FORENSIC_KEY)));
    let plan = planned(&inv, None);
    for volume in &plan.volumes {
        let evidence = volume.snapshots.iter().find(|s| s.evidence).unwrap();
        assert_eq!(evidence.key_arn.as_deref(), Some(FORENSIC_KEY), "{}: the evidence names its key", volume.volume_id);
    }
    let report = check(&inv, &plan);
    assert!(report.all_pass(), "{}", render_text(&report));
    assert_eq!(kms_operations(&report, "copy-to-forensic", FORENSIC_KEY), ebs_set());
    assert!(assumptions(&report, "copy").is_empty(), "nothing is assumed when the inventory says");
}

#[test]
fn a_default_key_the_forensic_role_may_not_use_is_refused_before_anything_is_copied() {
    let mut inv = with_default(unencrypted_cross_account(), true, Some(OTHER_DEFAULT_KEY));
    inv["keys"].as_array_mut().unwrap().push(json!({
        "arn": OTHER_DEFAULT_KEY,
        "manager": "CUSTOMER",
        "aliases": ["alias/ebs-default"],
        "policy": {"Version": "2012-10-17", "Statement": [{
            "Sid": "Administrators only", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:role/KeyAdmin"},
            "Action": "kms:*", "Resource": "*"
        }]},
        "grants": []
    }));
    let inv = load(&inv);
    let report = checked(&inv, None);
    assert!(!report.all_pass(), "a copy under a key the role cannot use would end in error on AWS");
    let refused: Vec<&str> = report
        .steps
        .iter()
        .flat_map(|s| &s.requests)
        .filter(|r| r.outcome != Outcome::Allowed)
        .map(|r| r.resource.as_str())
        .collect();
    assert!(!refused.is_empty() && refused.iter().all(|r| *r == OTHER_DEFAULT_KEY), "{refused:?}");
}

#[test]
fn with_encryption_by_default_off_the_copy_is_unencrypted_and_rests_on_no_assumption() {
    let inv = load(&with_default(unencrypted_cross_account(), false, None));
    let plan = planned(&inv, None);
    assert!(plan.volumes.iter().flat_map(|v| &v.snapshots).all(|s| s.key_arn.is_none()));
    let report = check(&inv, &plan);
    assert!(report.all_pass(), "{}", render_text(&report));
    assert!(kms_operations(&report, "copy", FORENSIC_KEY).is_empty());
    assert!(assumptions(&report, "copy").is_empty());
}

#[test]
fn where_the_inventory_does_not_say_the_copy_is_shown_to_rest_on_encryption_by_default_being_off() {
    // Not listed: an inventory written by hand.
    let report = checked(&load(&unencrypted_cross_account()), None);
    let said = assumptions(&report, "copy-to-forensic");
    assert_eq!(said.len(), 2, "one per volume: {said:?}");
    assert!(said[0].contains("is not in the inventory") && said[0].contains("assumes it is off"), "{}", said[0]);
    assert!(report.summary.requests_inferred > 0);
    // Listed as unreadable: collect tried.
    let mut inv = unencrypted_cross_account();
    inv["unknown"] = json!([format!("ebs_encryption_by_default:{FORENSIC}:{REGION}")]);
    let said = assumptions(&checked(&load(&inv), None), "copy-to-forensic");
    assert!(said[0].contains("could not be read"), "{}", said[0]);
    assert!(render_text(&checked(&load(&inv), None)).contains("encryption by default"));
}

#[test]
fn a_volume_made_from_unencrypted_evidence_is_encrypted_under_the_default_key_and_checked() {
    // Example 1: unencrypted volumes kept as evidence in the forensic account itself.
    let az = Some("eu-west-1a");
    let base = example("1-unencrypted.json");
    let inv = load(&with_default(base.clone(), true, Some(FORENSIC_KEY)));
    let plan = planned(&inv, az);
    let create = plan.steps.iter().find(|s| s.id.starts_with("create-volume")).unwrap();
    let on_new = create.calls[0].requests.iter().find(|r| r.resource.ends_with(":volume/*")).unwrap();
    assert_eq!(on_new.context["ec2:Encrypted"], ContextEntry::Single("true".into()));
    assert_eq!(on_new.context["ec2:KmsKeyId"], ContextEntry::Single(FORENSIC_KEY.into()));
    let report = check(&inv, &plan);
    let ops = kms_operations(&report, "create-volume", FORENSIC_KEY);
    assert!(ops.contains(&"GenerateDataKeyWithoutPlaintext".to_string()) && ops.contains(&"CreateGrant".into()));
    // Off: no key, nothing assumed. Not listed: the volume step says what it assumed.
    let off = load(&with_default(base.clone(), false, None));
    let report = checked(&off, az);
    assert!(kms_operations(&report, "create-volume", FORENSIC_KEY).is_empty());
    assert!(assumptions(&report, "create-volume").is_empty());
    assert_eq!(assumptions(&checked(&load(&base), az), "create-volume").len(), 2);
}

#[test]
fn a_setting_that_cannot_hold_is_refused_with_its_json_path() {
    let refused = |inv: Value| parse_inventory(&inv.to_string()).unwrap_err().to_string();
    let on_without_key = refused(with_default(unencrypted_cross_account(), true, None));
    assert!(on_without_key.contains("ebs_encryption_by_default[0].kms_key_arn"), "{on_without_key}");
    let unlisted = refused(with_default(unencrypted_cross_account(), true, Some(OTHER_DEFAULT_KEY)));
    assert!(unlisted.contains("listed in `keys`"), "{unlisted}");
    let other_account = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";
    let foreign = refused(with_default(unencrypted_cross_account(), true, Some(other_account)));
    assert!(foreign.contains("of account 999999999999 in eu-west-1"), "{foreign}");
    let mut twice = with_default(unencrypted_cross_account(), false, None);
    let first = twice["ebs_encryption_by_default"][0].clone();
    twice["ebs_encryption_by_default"].as_array_mut().unwrap().push(first);
    assert!(refused(twice).contains("ebs_encryption_by_default[1].region"));
    let mut both = with_default(unencrypted_cross_account(), false, None);
    both["unknown"] = json!([format!("ebs_encryption_by_default:{FORENSIC}:{REGION}")]);
    assert!(refused(both).contains("unknown[0]"));
    // Round trip: what is read is what is written.
    let inv = load(&with_default(unencrypted_cross_account(), true, Some(FORENSIC_KEY)));
    assert_eq!(
        inv.ebs_encryption_by_default,
        vec![EbsEncryptionDefault {
            account: FORENSIC.into(),
            region: REGION.into(),
            enabled: true,
            kms_key_arn: Some(FORENSIC_KEY.into())
        }]
    );
    assert_eq!(parse_inventory(&serde_json::to_string(&inv).unwrap()).unwrap(), inv);
}
