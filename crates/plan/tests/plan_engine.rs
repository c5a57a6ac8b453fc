//! The plan's requests through the engine: each translates 1:1 into a `custody authz` case request,
//! and the grants and temporary key the plan creates authorize what the plan says they do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, to_case_request, AuthzRequest, Mode, Plan, PlanRequest, Step};
use custody_policy::{evaluate, Case, DecisionKind};
use serde_json::{json, Value};

fn estate() -> Inventory {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan/estate.json")).unwrap();
    parse_inventory(&text).unwrap()
}

fn source_plan() -> Plan {
    plan(&estate(), &PlanRequest { case_id: "C1".into(), ..PlanRequest::new("i-0123456789abcdef0") }).unwrap()
}

fn step<'a>(p: &'a Plan, id: &str) -> &'a Step {
    p.steps.iter().find(|s| s.id == id).unwrap()
}

fn find<'a>(s: &'a Step, action: &str, resource: &str) -> &'a AuthzRequest {
    s.calls.iter().flat_map(|c| &c.requests).find(|r| r.action == action && r.resource == resource).unwrap()
}

fn key_policy(inv: &Inventory, arn: &str) -> Value {
    inv.keys.iter().find(|k| k.arn == arn).unwrap().policy.clone().unwrap()
}

fn decide(req: &AuthzRequest, rest: Value) -> DecisionKind {
    let mut case = rest;
    case["request"] = to_case_request(req);
    evaluate(&Case::from_json(&case).unwrap()).kind
}

fn allow(actions: &[&str], resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]})
}

#[test]
fn every_request_translates_into_a_case_request() {
    let inv = estate();
    for instance in ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"] {
        for mode in [Mode::Auto, Mode::DirectRead] {
            let p = plan(&inv, &PlanRequest { mode, triage: true, ..PlanRequest::new(instance) }).unwrap();
            for r in p.steps.iter().flat_map(|s| &s.calls).flat_map(|c| &c.requests) {
                let value = to_case_request(r);
                let case = Case::from_json(&json!({"request": value})).unwrap_or_else(|e| panic!("{value}: {e}"));
                assert_eq!(&*case.request.principal, r.principal);
                assert_eq!(&*case.request.action, r.action);
                assert_eq!(&*case.request.resource, r.resource);
                assert_eq!(case.request.grant_id.as_deref(), r.grant_id.as_deref());
                for key in r.context.keys() {
                    assert!(case.request.context.get(key).is_some(), "{key}");
                }
                assert!(value.get("why").is_none() && value.get("scope").is_none());
            }
        }
    }
}

#[test]
fn the_planned_grant_lets_the_forensic_role_decrypt_the_volume_snapshot_and_retire_it() {
    // Grants authorize cross-account on their own
    // (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html); the constraint holds because
    // the source snapshot's context is the volume ID
    // (https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context).
    let inv = estate();
    let p = source_plan();
    let key = "arn:aws:kms:eu-west-3:222222222222:key/cccccccc-cccc-4ccc-8ccc-cccccccccccc";
    let grant = step(&p, "create-grant:vol-0000000000000000c").creates_grants[0].grant.clone();
    let copy = step(&p, "copy-to-forensic:vol-0000000000000000c");
    let no_kms = allow(&["ec2:*"], "*");
    let rest = json!({"identity_policies": [no_kms], "resource_policy": key_policy(&inv, key), "grants": [grant]});
    for action in ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"] {
        assert_eq!(decide(find(copy, action, key), rest.clone()), DecisionKind::Allowed, "{action}");
    }
    // Without the grant, the key policy (account 222222222222 only) refuses the forensic role.
    let bare = json!({"identity_policies": [allow(&["kms:*"], "*")], "resource_policy": key_policy(&inv, key)});
    assert_eq!(decide(find(copy, "kms:Decrypt", key), bare), DecisionKind::ImplicitDeny);
    // A constraint written for the snapshot ID would not hold (map §13).
    let mut wrong = rest.clone();
    wrong["grants"][0]["constraints"]["encryption_context_subset"]["aws:ebs:id"] =
        json!("snap-source-0000000000000000c");
    assert_eq!(decide(find(copy, "kms:Decrypt", key), wrong), DecisionKind::ImplicitDeny);

    let retire = step(&p, "retire-grant:vol-0000000000000000c");
    assert_eq!(decide(find(retire, "kms:RetireGrant", key), rest), DecisionKind::Allowed);
}

#[test]
fn aws_ebs_admits_its_own_account_through_ec2_and_never_the_forensic_account() {
    // The aws/ebs key policy: Principal "*" with kms:CallerAccount = owner and kms:ViaService = ec2.<r>
    // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account).
    let inv = estate();
    let p = source_plan();
    let ebs = "arn:aws:kms:eu-west-3:222222222222:key/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
    let to_temp = step(&p, "copy-to-temp-key:vol-0000000000000000b");
    let rest = json!({"identity_policies": [allow(&["kms:*"], "*")], "resource_policy": key_policy(&inv, ebs)});
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt", "kms:ReEncryptFrom"] {
        assert_eq!(decide(find(to_temp, action, ebs), rest.clone()), DecisionKind::Allowed, "{action}");
    }
    // The same Decrypt by the forensic role (what a direct cross-account copy would ask) is refused.
    let mut theirs = find(to_temp, "kms:Decrypt", ebs).clone();
    theirs.principal = "arn:aws:sts::111111111111:assumed-role/CustodyResponse/custody-C1".into();
    theirs.context.insert("kms:CallerAccount".into(), custody_plan::plan::ContextEntry::Single("111111111111".into()));
    assert_eq!(decide(&theirs, rest), DecisionKind::ImplicitDeny);
}

#[test]
fn the_temporary_key_policy_allows_exactly_the_planned_requests() {
    let p = source_plan();
    let v = "vol-0000000000000000b";
    let create = step(&p, &format!("create-temp-key:{v}"));
    let key = &create.creates_keys[0];
    let with_key = |identity: Value| json!({"identity_policies": [identity], "resource_policy": key.policy});
    let source_iam = allow(&["kms:*"], "*");
    // The lockout check (PutKeyPolicy by the creator) and the key side of CreateAlias/DeleteAlias.
    assert_eq!(decide(find(create, "kms:PutKeyPolicy", &key.arn), with_key(source_iam.clone())), DecisionKind::Allowed);
    assert_eq!(decide(find(create, "kms:CreateAlias", &key.arn), with_key(source_iam.clone())), DecisionKind::Allowed);
    let cleanup = step(&p, &format!("delete-temp-key:{v}"));
    for action in ["kms:DeleteAlias", "kms:ScheduleKeyDeletion"] {
        assert_eq!(decide(find(cleanup, action, &key.arn), with_key(source_iam.clone())), DecisionKind::Allowed);
    }
    // The re-encryption under the temporary key, by the source role through EC2.
    let to_temp = step(&p, &format!("copy-to-temp-key:{v}"));
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo"] {
        assert_eq!(
            decide(find(to_temp, action, &key.arn), with_key(source_iam.clone())),
            DecisionKind::Allowed,
            "{action}"
        );
    }
    // The forensic copy: the forensic role through EC2 (its IAM policy must allow it too).
    let to_forensic = step(&p, &format!("copy-to-forensic:{v}"));
    let forensic_iam =
        allow(&["kms:Decrypt", "kms:ReEncryptFrom", "kms:DescribeKey", "kms:CreateGrant"], "arn:aws:kms:*:*:key/*");
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt", "kms:ReEncryptFrom"] {
        assert_eq!(
            decide(find(to_forensic, action, &key.arn), with_key(forensic_iam.clone())),
            DecisionKind::Allowed,
            "{action}"
        );
    }
    // ... and only through EC2: the same Decrypt called directly is refused.
    let mut direct = find(to_forensic, "kms:Decrypt", &key.arn).clone();
    direct.context.remove("kms:ViaService");
    assert_eq!(decide(&direct, with_key(forensic_iam)), DecisionKind::ImplicitDeny);
}

#[test]
fn the_direct_path_key_policy_admits_the_planned_requests() {
    // Seed 000 option 2: the key policy names the forensic role; CreateGrant only for AWS resources.
    let inv = estate();
    let p = source_plan();
    let key = "arn:aws:kms:eu-west-3:222222222222:key/dddddddd-dddd-4ddd-8ddd-dddddddddddd";
    let copy = step(&p, "copy-to-forensic:vol-0000000000000000d");
    let rest = json!({"identity_policies": [allow(&["kms:*"], key)], "resource_policy": key_policy(&inv, key)});
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt", "kms:ReEncryptFrom"] {
        assert_eq!(decide(find(copy, action, key), rest.clone()), DecisionKind::Allowed, "{action}");
    }
}

/// The executor journals the plan it runs and resumes from the journaled copy: a plan must come back
/// from its JSON unchanged, with every action the executor runs by.
#[test]
fn plans_round_trip_through_json_with_their_actions() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventories");
    let mut seen = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let inventory = custody_plan::inventory::parse_inventory(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for instance in &inventory.instances {
            for mode in [Mode::Auto, Mode::Direct, Mode::DirectRead] {
                let request = PlanRequest { mode, triage: true, ..PlanRequest::new(instance.id.clone()) };
                let Ok(p) = plan(&inventory, &request) else { continue };
                let json = serde_json::to_value(&p).unwrap();
                let back: Plan = serde_json::from_value(json).unwrap();
                assert_eq!(back, p, "{}", path.display());
                assert!(p.steps.iter().all(|s| !s.id.is_empty()));
                seen += 1;
            }
        }
    }
    assert!(seen >= 13, "only {seen} plans");
}
