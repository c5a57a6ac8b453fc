//! Seed 000 option 1 in one account: "You may choose to forgo giving all the permissions and only
//! provide kms:CreateGrant … Grants will be created and retired as required by the platform". When a
//! key of the forensic account lets the forensic role create a grant but not use the key through EC2,
//! the planner has the role grant itself the operations AWS lists for EBS encryption (EBS User Guide,
//! "Requirements for Amazon EBS encryption",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions>),
//! constrained to the volume, and retire it after. A grant gives its grantee the operations it lists
//! with no key-policy statement (KMS Developer Guide, "Grants in AWS KMS",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>), and the key policy alone can
//! allow a principal of the key's account (KMS Developer Guide, "Key policies",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::check;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Action, Mode, Path, Plan, PlanRequest, EBS_ENCRYPTION_OPERATIONS};
use custody_plan::report::text as render_text;
use serde_json::{json, Value};

const INSTANCE: &str = "i-03c3c3c3c3c3c3c3c";
const APP_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/3c3c3c3c-0000-4000-8000-000000000003";
const FORENSIC_ROLE: &str = "arn:aws:iam::999999999999:role/CustodyForensic";

fn example_3() -> Value {
    let path = format!("{}/../../examples/inventories/3-customer-key-same-account.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Example 3 with alias/app-data's key policy set up as option 1: its administrators and the
/// application may use it; CustodyForensic may only create grants, for itself, with the EBS operations.
fn option_1_key() -> Inventory {
    let mut inv = example_3();
    let key = inv["keys"].as_array_mut().unwrap().iter_mut().find(|k| k["arn"] == APP_KEY).unwrap();
    key["policy"] = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Key administrators", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::999999999999:role/KeyAdmin"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::999999999999:role/AppServer"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "CustodyForensic creates its own grants", "Effect": "Allow",
         "Principal": {"AWS": FORENSIC_ROLE}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"StringEquals": {"kms:GranteePrincipal": FORENSIC_ROLE},
                       "ForAllValues:StringEquals": {"kms:GrantOperations": EBS_ENCRYPTION_OPERATIONS}}}
    ]});
    parse_inventory(&inv.to_string()).unwrap()
}

fn planned(inv: &Inventory, mode: Mode) -> Plan {
    plan(inv, &PlanRequest { mode, case_id: "C1".into(), ..PlanRequest::new(INSTANCE) }).unwrap()
}

#[test]
fn a_key_that_lets_the_forensic_role_only_create_grants_is_used_through_a_grant_it_gives_itself() {
    let inv = option_1_key();
    let plan = planned(&inv, Mode::Auto);
    let grants: Vec<&Action> = plan
        .steps
        .iter()
        .map(|s| &s.action)
        .filter(|a| matches!(a, Action::CreateGrant { key_arn, .. } if key_arn == APP_KEY))
        .collect();
    assert_eq!(grants.len(), 2, "one grant per volume under alias/app-data");
    let Action::CreateGrant { grantee, retiring_principal, operations, encryption_context_subset, .. } = grants[0]
    else {
        unreachable!()
    };
    assert_eq!((grantee.as_str(), retiring_principal.as_str()), (FORENSIC_ROLE, FORENSIC_ROLE));
    let mut expected: Vec<String> = EBS_ENCRYPTION_OPERATIONS.iter().map(|o| o.to_string()).collect();
    let mut got = operations.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "the same-account set: no GenerateDataKey, which only a shared key needs");
    assert!(encryption_context_subset.contains_key("aws:ebs:id"));
    assert!(plan.steps.iter().any(|s| matches!(&s.action, Action::RetireGrant { key_arn, .. } if key_arn == APP_KEY)));
    let on_app_key: Vec<_> = plan.volumes.iter().filter(|v| v.path == Path::CustomerKeySameAccount).collect();
    assert_eq!(on_app_key.len(), 2);
    let report = check(&inv, &plan);
    assert!(report.all_pass(), "{}", render_text(&report));
}

#[test]
fn the_bundled_option_2_key_is_used_directly_and_grant_only_can_be_asked_for() {
    // Example 3's key policy names the role among the key users: no grant.
    let inv = parse_inventory(&example_3().to_string()).unwrap();
    let plan = planned(&inv, Mode::Auto);
    assert!(!plan.steps.iter().any(|s| matches!(s.action, Action::CreateGrant { .. })));
    // --mode grant-only in one account: the role grants itself the operations all the same, on the
    // customer key (a grant on aws/ebs cannot be asked for: the volume under it is refused by name).
    let refused = custody_plan::plan::plan(
        &inv,
        &PlanRequest { mode: Mode::GrantOnly, case_id: "C1".into(), ..PlanRequest::new(INSTANCE) },
    );
    assert!(refused.unwrap_err().to_string().contains("vol-03c3c3c3c3c3c3c30"));
    let mut customer_only = example_3();
    customer_only["instances"][0]["volumes"].as_array_mut().unwrap().retain(|v| v["kms_key_arn"] == APP_KEY);
    let forced = planned(&parse_inventory(&customer_only.to_string()).unwrap(), Mode::GrantOnly);
    assert_eq!(forced.steps.iter().filter(|s| matches!(s.action, Action::CreateGrant { .. })).count(), 2);
    assert!(forced.volumes.iter().any(|v| v.reason.starts_with("forced by --mode grant-only")));
}

#[test]
fn without_the_grant_the_same_key_is_refused() {
    // What the preflight says of the option 1 key when the plan copies without a grant: the
    // decrypting requests are refused, which is why the planner grants first.
    let inv = option_1_key();
    let mut plan = planned(&inv, Mode::Auto);
    plan.steps.retain(|s| !matches!(s.action, Action::CreateGrant { .. } | Action::RetireGrant { .. }));
    let report = check(&inv, &plan);
    assert!(!report.all_pass());
}

const SOURCE_KEY_6: &str = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";

/// Example 6 with its key policy naming only the source account's role (seed 000 option 2 as a key
/// owner might read "Give required permissions to CadoResponseRole directly" for the role custody
/// assumes in the source account), CreateGrant only for AWS resources.
fn option_2_source_role_only() -> Inventory {
    let path = format!("{}/../../examples/inventories/6-cross-account-direct.json", env!("CARGO_MANIFEST_DIR"));
    let mut inv: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let key = inv["keys"].as_array_mut().unwrap().iter_mut().find(|k| k["arn"] == SOURCE_KEY_6).unwrap();
    for statement in key["policy"]["Statement"].as_array_mut().unwrap() {
        if let Some(names) = statement["Principal"]["AWS"].as_array_mut() {
            names.retain(|n| n != FORENSIC_ROLE);
        }
    }
    parse_inventory(&inv.to_string()).unwrap()
}

#[test]
fn a_key_only_the_source_role_may_use_is_re_encrypted_under_a_temporary_key_before_it_is_shared() {
    // Seed 002: "When … performs a cross-account import of KMS-encrypted EC2 instances, it re-encrypts the
    // snapshot to a temporary key used for cross-account transfer … scoped using an alias with a …
    // prefix, and both the alias and key are scheduled for deletion". Before, the planner chose the
    // grant path, whose CreateGrant the key policy refuses (it allows CreateGrant only for AWS
    // resources: KMS Developer Guide, kms:GrantIsForAWSResource,
    // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
    let inv = option_2_source_role_only();
    let plan =
        plan(&inv, &PlanRequest { mode: Mode::Auto, case_id: "C1".into(), ..PlanRequest::new("i-06f6f6f6f6f6f6f6f") })
            .unwrap();
    assert!(plan.volumes.iter().all(|v| v.path == Path::CrossAccountTempKey), "{:?}", plan.volumes);
    assert!(plan.volumes[0].reason.contains("temporary customer managed key (alias/custody-C1-"));
    assert!(plan.steps.iter().any(|s| matches!(s.action, Action::CreateKey { .. })));
    assert!(!plan.steps.iter().any(|s| matches!(s.action, Action::CreateGrant { .. })));
    let report = check(&inv, &plan);
    assert!(report.all_pass(), "{}", render_text(&report));
}
