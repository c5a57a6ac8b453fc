//! Loading inventories: what is accepted, and for what is refused, the exact JSON path and what was
//! expected (the message `custody` prints before exiting with status 2).
//!
//! The bad inventories are the bundled examples with one element changed, so each case shows one rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{parse_inventory, Inventory, DEFAULT_ALIAS_PREFIX};
use serde_json::{json, Value};
use std::path::Path;

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(v: &Value) -> Result<Inventory, custody_policy::ParseError> {
    parse_inventory(&v.to_string())
}

/// Replaces the element at `pointer`, or adds it to the object that holds it.
fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
        return;
    }
    let (parent, last) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("bad pointer {pointer}"));
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => drop(m.insert(last.to_string(), new)),
        _ => panic!("no object at {parent}"),
    }
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("bad pointer {pointer}"));
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => drop(m.remove(last)),
        Some(Value::Array(a)) => drop(a.remove(last.parse::<usize>().unwrap_or_else(|e| panic!("{e}")))),
        _ => panic!("no {parent}"),
    }
}

fn push(v: &mut Value, pointer: &str, new: Value) {
    match v.pointer_mut(pointer) {
        Some(Value::Array(a)) => a.push(new),
        _ => panic!("no array at {pointer}"),
    }
}

fn copy(v: &Value, pointer: &str) -> Value {
    v.pointer(pointer).cloned().unwrap_or_else(|| panic!("no {pointer}"))
}

/// One refused inventory: an example, one change, where the error must point and what it must say.
struct Bad {
    name: &'static str,
    example: &'static str,
    change: fn(&mut Value),
    path: &'static str,
    says: &'static str,
}

const E3: &str = "3-customer-key-same-account.json";
const E5: &str = "5-cross-account-grant-only.json";
const E7: &str = "7-cross-account-owner-grants.json";
const ELSEWHERE: &str = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-00000000dead";

fn bad_cases() -> Vec<Bad> {
    vec![
        Bad {
            name: "wrong version",
            example: E5,
            change: |v| set(v, "/version", json!("custody-inventory/2")),
            path: "version",
            says: "`custody-inventory/1`",
        },
        Bad {
            name: "missing version",
            example: E5,
            change: |v| remove(v, "/version"),
            path: "version",
            says: "found nothing",
        },
        Bad {
            name: "unknown top-level field",
            example: E5,
            change: |v| set(v, "/colour", json!(1)),
            path: "colour",
            says: "a field of an inventory document",
        },
        Bad {
            name: "description not a string",
            example: E5,
            change: |v| set(v, "/description", json!(["x"])),
            path: "description",
            says: "a string",
        },
        Bad {
            name: "principals null",
            example: E5,
            change: |v| set(v, "/principals", Value::Null),
            path: "principals",
            says: "an array of principals",
        },
        Bad {
            name: "missing config",
            example: E5,
            change: |v| remove(v, "/config"),
            path: "config",
            says: "custody's configuration",
        },
        Bad {
            name: "unknown config field",
            example: E5,
            change: |v| set(v, "/config/region", json!("eu-west-1")),
            path: "config.region",
            says: "`forensic_region`",
        },
        Bad {
            name: "11-digit forensic account",
            example: E5,
            change: |v| set(v, "/config/forensic_account", json!("99999999999")),
            path: "config.forensic_account",
            says: "12-digit account id",
        },
        Bad {
            name: "forensic region malformed",
            example: E5,
            change: |v| set(v, "/config/forensic_region", json!("ireland")),
            path: "config.forensic_region",
            says: "Region name",
        },
        Bad {
            name: "forensic role is a user",
            example: E5,
            change: |v| set(v, "/config/forensic_role_arn", json!("arn:aws:iam::999999999999:user/alice")),
            path: "config.forensic_role_arn",
            says: "IAM role in account 999999999999",
        },
        Bad {
            name: "forensic role in another account",
            example: E5,
            change: |v| set(v, "/config/forensic_role_arn", json!("arn:aws:iam::111122223333:role/CustodyForensic")),
            path: "config.forensic_role_arn",
            says: "IAM role in account 999999999999",
        },
        Bad {
            name: "source role keyed by a non-account",
            example: E5,
            change: |v| set(v, "/config/source_role_arns/prod", json!("arn:aws:iam::111122223333:role/CustodySource")),
            path: "config.source_role_arns.prod",
            says: "12-digit account id as the key",
        },
        Bad {
            name: "source role in another account than its key",
            example: E5,
            change: |v| {
                set(v, "/config/source_role_arns/111122223333", json!("arn:aws:iam::444455556666:role/CustodySource"))
            },
            path: "config.source_role_arns.111122223333",
            says: "IAM role in account 111122223333",
        },
        Bad {
            name: "forensic key of another Region",
            example: E5,
            change: |v| {
                set(
                    v,
                    "/config/forensic_key_arns/eu-west-1",
                    json!("arn:aws:kms:eu-west-3:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff"),
                )
            },
            path: "config.forensic_key_arns.eu-west-1",
            says: "a key of the forensic account in eu-west-1",
        },
        Bad {
            name: "forensic key not listed",
            example: E5,
            change: |v| remove(v, "/keys/1"),
            path: "config.forensic_key_arns.eu-west-1",
            says: "customer managed key listed in `keys`",
        },
        Bad {
            name: "reserved alias prefix",
            example: E5,
            change: |v| set(v, "/config/alias_prefix", json!("aws/custody")),
            path: "config.alias_prefix",
            says: "not starting with `aws/`",
        },
        Bad {
            name: "ssm tag key reserved",
            example: "triage.json",
            change: |v| set(v, "/config/ssm_tag/key", json!("aws:ssm")),
            path: "config.ssm_tag.key",
            says: "not starting with `aws:`",
        },
        Bad {
            name: "ssm tag unknown field",
            example: "triage.json",
            change: |v| set(v, "/config/ssm_tag/values", json!(["True"])),
            path: "config.ssm_tag.values",
            says: "a field of a tag",
        },
        Bad {
            name: "principal unknown field",
            example: E5,
            change: |v| set(v, "/principals/0/path", json!("/")),
            path: "principals[0].path",
            says: "a field of a principal",
        },
        Bad {
            name: "principal given as a session",
            example: E5,
            change: |v| {
                set(v, "/principals/0/arn", json!("arn:aws:sts::999999999999:assumed-role/CustodyForensic/case-1"))
            },
            path: "principals[0].arn",
            says: "IAM role or user",
        },
        Bad {
            name: "identity policy with a Principal",
            example: E5,
            change: |v| set(v, "/principals/0/identity_policies/0/Statement/0/Principal", json!("*")),
            path: "principals[0].identity_policies[0].Statement[0].Principal",
            says: "",
        },
        Bad {
            name: "trust policy without a Principal",
            example: E5,
            change: |v| remove(v, "/principals/1/trust_policy/Statement/0/Principal"),
            path: "principals[1].trust_policy.Statement[0].Principal",
            says: "`Principal` or `NotPrincipal`",
        },
        Bad {
            name: "trust policy on a user",
            example: E5,
            change: |v| set(v, "/principals/1/arn", json!("arn:aws:iam::111122223333:user/custody")),
            path: "principals[1].trust_policy",
            says: "only roles have a trust policy",
        },
        Bad {
            name: "same role twice under two paths",
            example: E5,
            change: |v| {
                let mut p = copy(v, "/principals/1");
                p["arn"] = json!("arn:aws:iam::111122223333:role/ops/CustodySource");
                push(v, "/principals", p)
            },
            path: "principals[2].arn",
            says: "`principals[1]` names the same role",
        },
        Bad {
            name: "principal unknown names no field",
            example: E5,
            change: |v| set(v, "/principals/0/unknown", json!(["policies"])),
            path: "principals[0].unknown[0]",
            says: "`identity_policies`, `permissions_boundary`, `trust_policy`, `tags`",
        },
        Bad {
            name: "principal field both given and unknown",
            example: E5,
            change: |v| set(v, "/principals/0/unknown", json!(["trust_policy"])),
            path: "principals[0].unknown[0]",
            says: "`trust_policy` is given here",
        },
        Bad {
            name: "tag value not a string",
            example: E5,
            change: |v| set(v, "/principals/0/tags/team", json!(7)),
            path: "principals[0].tags.team",
            says: "a string",
        },
        Bad {
            name: "key unknown field",
            example: E5,
            change: |v| set(v, "/keys/0/colour", json!("blue")),
            path: "keys[0].colour",
            says: "a field of a KMS key",
        },
        Bad {
            name: "alias ARN instead of key ARN",
            example: E5,
            change: |v| set(v, "/keys/0/arn", json!("arn:aws:kms:eu-west-1:111122223333:alias/prod-ebs")),
            path: "keys[0].arn",
            says: "key/<key-id>",
        },
        Bad {
            name: "key id not a UUID",
            example: E5,
            change: |v| set(v, "/keys/0/arn", json!("arn:aws:kms:eu-west-1:111122223333:key/prod")),
            path: "keys[0].arn",
            says: "KMS key ARN",
        },
        Bad {
            name: "manager lower-case",
            example: E5,
            change: |v| set(v, "/keys/0/manager", json!("customer")),
            path: "keys[0].manager",
            says: "`CUSTOMER`",
        },
        Bad {
            name: "customer key with an aws/ alias",
            example: E5,
            change: |v| set(v, "/keys/0/aliases/0", json!("alias/aws/ebs")),
            path: "keys[0].aliases[0]",
            says: "reserved for AWS managed keys",
        },
        Bad {
            name: "alias without alias/",
            example: E5,
            change: |v| set(v, "/keys/0/aliases/0", json!("prod-ebs")),
            path: "keys[0].aliases[0]",
            says: "alias/<name>",
        },
        Bad {
            name: "same alias on two keys of an account and Region",
            example: E3,
            change: |v| set(v, "/keys/2/aliases/0", json!("alias/app-data")),
            path: "keys[2].aliases[0]",
            says: "`keys[0]` has it",
        },
        Bad {
            name: "same alias twice on a key",
            example: E5,
            change: |v| push(v, "/keys/0/aliases", json!("alias/prod-ebs")),
            path: "keys[0].aliases[1]",
            says: "an alias not listed twice",
        },
        Bad {
            name: "key listed twice",
            example: E5,
            change: |v| {
                let k = copy(v, "/keys/0");
                push(v, "/keys", k)
            },
            path: "keys[2].arn",
            says: "`keys[0]` has this ARN",
        },
        Bad {
            name: "key policy missing",
            example: E5,
            change: |v| remove(v, "/keys/0/policy"),
            path: "keys[0].policy",
            says: "list `policy` in `unknown`",
        },
        Bad {
            name: "key policy Effect",
            example: E5,
            change: |v| set(v, "/keys/0/policy/Statement/0/Effect", json!("Permit")),
            path: "keys[0].policy.Statement[0].Effect",
            says: "",
        },
        Bad {
            name: "key policy condition not an object",
            example: E5,
            change: |v| set(v, "/keys/0/policy/Statement/3/Condition/Bool", json!("yes")),
            path: "keys[0].policy.Statement[3].Condition.Bool",
            says: "",
        },
        Bad {
            name: "key policy string that is not JSON",
            example: E5,
            change: |v| set(v, "/keys/0/policy", json!("{\"Version\": ")),
            path: "keys[0].policy",
            says: "does not hold valid JSON",
        },
        Bad {
            name: "key unknown names no field",
            example: E5,
            change: |v| set(v, "/keys/0/unknown", json!(["key_policy"])),
            path: "keys[0].unknown[0]",
            says: "`policy`, `grants`, `aliases`",
        },
        Bad {
            name: "key policy both given and unknown",
            example: E5,
            change: |v| set(v, "/keys/0/unknown", json!(["policy"])),
            path: "keys[0].unknown[0]",
            says: "`policy` is given here",
        },
        Bad {
            name: "grant operation with a wildcard",
            example: E7,
            change: |v| set(v, "/keys/0/grants/0/operations/0", json!("Decrypt*")),
            path: "keys[0].grants[0].operations[0]",
            says: "a grant operation",
        },
        Bad {
            name: "grant without grantee",
            example: E7,
            change: |v| remove(v, "/keys/0/grants/0/grantee_principal"),
            path: "keys[0].grants[0].grantee_principal",
            says: "grantee",
        },
        Bad {
            name: "grant unknown field",
            example: E7,
            change: |v| set(v, "/keys/0/grants/0/name", json!("custody")),
            path: "keys[0].grants[0].name",
            says: "a field of a grant",
        },
        Bad {
            name: "grant constraint unknown field",
            example: E7,
            change: |v| set(v, "/keys/0/grants/0/constraints", json!({"encryption_context": {}})),
            path: "keys[0].grants[0].constraints.encryption_context",
            says: "`encryption_context_subset`",
        },
        Bad {
            name: "grant issuing account as root ARN",
            example: E7,
            change: |v| set(v, "/keys/0/grants/0/issuing_account", json!("arn:aws:iam::111122223333:root")),
            path: "keys[0].grants[0].issuing_account",
            says: "12-digit account id",
        },
        Bad {
            name: "grant id twice",
            example: E7,
            change: |v| {
                let g = copy(v, "/keys/0/grants/0");
                push(v, "/keys/0/grants", g)
            },
            path: "keys[0].grants[1].grant_id",
            says: "`grants[0]` has it",
        },
        Bad {
            name: "instance unknown field",
            example: E5,
            change: |v| set(v, "/instances/0/type", json!("m5.large")),
            path: "instances[0].type",
            says: "a field of an EC2 instance",
        },
        Bad {
            name: "instance id malformed",
            example: E5,
            change: |v| set(v, "/instances/0/id", json!("i-XYZ")),
            path: "instances[0].id",
            says: "`i-` and 8 or 17 hex digits",
        },
        Bad {
            name: "instance account malformed",
            example: E5,
            change: |v| set(v, "/instances/0/account", json!(111122223333u64)),
            path: "instances[0].account",
            says: "12-digit account id",
        },
        Bad {
            name: "instance region malformed",
            example: E5,
            change: |v| set(v, "/instances/0/region", json!("eu-west")),
            path: "instances[0].region",
            says: "Region name",
        },
        Bad {
            name: "instance platform",
            example: E5,
            change: |v| set(v, "/instances/0/platform", json!("macos")),
            path: "instances[0].platform",
            says: "`linux` or `windows`",
        },
        Bad {
            name: "instance state",
            example: E5,
            change: |v| set(v, "/instances/0/state", json!("sleeping")),
            path: "instances[0].state",
            says: "`running`",
        },
        Bad {
            name: "instance listed twice",
            example: E5,
            change: |v| {
                let i = copy(v, "/instances/0");
                push(v, "/instances", i)
            },
            path: "instances[1].id",
            says: "`instances[0]` has this id",
        },
        Bad {
            name: "instance unknown names no field",
            example: E5,
            change: |v| set(v, "/instances/0/unknown", json!(["state"])),
            path: "instances[0].unknown[0]",
            says: "`tags`, `volumes`",
        },
        Bad {
            name: "volume unknown field",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/1/iops", json!(3000)),
            path: "instances[0].volumes[1].iops",
            says: "a field of an EBS volume",
        },
        Bad {
            name: "volume id malformed",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/1/id", json!("vol-1")),
            path: "instances[0].volumes[1].id",
            says: "`vol-`",
        },
        Bad {
            name: "volume size zero",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/0/size_gib", json!(0)),
            path: "instances[0].volumes[0].size_gib",
            says: "from 1 to 65536",
        },
        Bad {
            name: "volume size fractional",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/0/size_gib", json!(1.5)),
            path: "instances[0].volumes[0].size_gib",
            says: "a whole number",
        },
        Bad {
            name: "volume size as a string",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/0/size_gib", json!("16")),
            path: "instances[0].volumes[0].size_gib",
            says: "a whole number",
        },
        Bad {
            name: "encrypted as a string",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/0/encrypted", json!("true")),
            path: "instances[0].volumes[0].encrypted",
            says: "`true` or `false`",
        },
        Bad {
            name: "encrypted volume without key",
            example: E5,
            change: |v| remove(v, "/instances/0/volumes/0/kms_key_arn"),
            path: "instances[0].volumes[0].kms_key_arn",
            says: "the KMS key the volume is encrypted under",
        },
        Bad {
            name: "unencrypted volume with a key",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/2/kms_key_arn", json!(ELSEWHERE)),
            path: "instances[0].volumes[2].kms_key_arn",
            says: "no key: the volume is not encrypted",
        },
        Bad {
            name: "volume key of another Region",
            example: E5,
            change: |v| {
                set(
                    v,
                    "/instances/0/volumes/1/kms_key_arn",
                    json!("arn:aws:kms:eu-west-3:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005"),
                )
            },
            path: "instances[0].volumes[1].kms_key_arn",
            says: "a key of its Region",
        },
        Bad {
            name: "volume key not listed",
            example: E5,
            change: |v| set(v, "/instances/0/volumes/1/kms_key_arn", json!(ELSEWHERE)),
            path: "instances[0].volumes[1].kms_key_arn",
            says: "a key listed in `keys`",
        },
        Bad {
            name: "volume listed twice in an instance",
            example: E5,
            change: |v| {
                let id = copy(v, "/instances/0/volumes/0/id");
                set(v, "/instances/0/volumes/2/id", id)
            },
            path: "instances[0].volumes[2].id",
            says: "`instances[0].volumes[0]` has this id",
        },
        Bad {
            name: "volume under two instances, described differently",
            example: E5,
            change: |v| {
                let mut i = copy(v, "/instances/0");
                i["id"] = json!("i-0123456789abcdef0");
                i["volumes"][0]["size_gib"] = json!(17);
                push(v, "/instances", i)
            },
            path: "instances[1].volumes[0].id",
            says: "Multi-Attach",
        },
        Bad {
            name: "SCPs keyed by a non-account",
            example: E5,
            change: |v| set(v, "/scps/prod", json!([])),
            path: "scps.prod",
            says: "12-digit account id as the key",
        },
        Bad {
            name: "SCP levels not arrays",
            example: E5,
            change: |v| set(v, "/scps/111122223333/1", json!({})),
            path: "scps.111122223333[1]",
            says: "the policies attached at this level",
        },
        Bad {
            name: "SCP with a Principal",
            example: E5,
            change: |v| set(v, "/scps/111122223333/0/1/Statement/0/Principal", json!("*")),
            path: "scps.111122223333[0][1].Statement[0].Principal",
            says: "",
        },
        Bad {
            name: "RCPs not an object",
            example: E5,
            change: |v| set(v, "/rcps", json!([])),
            path: "rcps",
            says: "an object of RCPs by account id",
        },
        Bad {
            name: "top-level unknown malformed",
            example: E5,
            change: |v| set(v, "/unknown", json!(["scps"])),
            path: "unknown[0]",
            says: "`scps:<account id>`",
        },
        Bad {
            name: "SCPs both given and unknown",
            example: E5,
            change: |v| set(v, "/unknown", json!(["scps:111122223333"])),
            path: "unknown[0]",
            says: "the inventory gives this one",
        },
    ]
}

#[test]
fn refused_inventories_name_the_path_and_what_was_expected() {
    let mut failures = Vec::new();
    for case in bad_cases() {
        let mut v = example(case.example);
        (case.change)(&mut v);
        match parse(&v) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(e) => {
                let message = e.to_string();
                if e.path != case.path
                    || !message.contains(case.says)
                    || !message.starts_with(&format!("`{}`", case.path))
                {
                    failures.push(format!("{}: got `{}` / {message}", case.name, e.path));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn json_syntax_errors_give_line_and_column() {
    let e = parse_inventory("{\n  \"version\": \"custody-inventory/1\",\n  oops\n}").err();
    assert_eq!(e.map(|e| e.path), Some("line 3 column 3".to_string()));
}

#[test]
fn a_document_that_is_not_an_object_is_refused_at_the_top() {
    let e = parse_inventory("[]").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.starts_with("`(top level)`: expected an inventory document (a JSON object)"), "{e}");
}

fn minimal() -> Value {
    json!({
        "version": "custody-inventory/1",
        "config": {
            "forensic_account": "999999999999",
            "forensic_region": "eu-west-1",
            "forensic_role_arn": "arn:aws:iam::999999999999:role/CustodyForensic"
        }
    })
}

#[test]
fn a_minimal_inventory_takes_the_defaults() {
    let inv = parse(&minimal()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.config.alias_prefix, DEFAULT_ALIAS_PREFIX);
    assert!(inv.principals.is_empty() && inv.keys.is_empty() && inv.instances.is_empty() && inv.description.is_none());
    let mut v = minimal();
    v["instances"] = json!([{"id": "i-0123456789abcdef0", "account": "999999999999", "region": "eu-west-1"}]);
    let inv = parse(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.instances[0].platform, "linux");
    assert_eq!(inv.instances[0].state, None);
}

#[test]
fn optional_fields_may_be_null() {
    let mut v = example(E5);
    set(&mut v, "/description", Value::Null);
    set(&mut v, "/instances/0/state", Value::Null);
    set(&mut v, "/instances/0/volumes/2/kms_key_arn", Value::Null);
    set(&mut v, "/instances/0/volumes/2/device", Value::Null);
    set(&mut v, "/principals/0/permissions_boundary", Value::Null);
    set(&mut v, "/config/ssm_tag", Value::Null);
    assert!(parse(&v).is_ok_and(|i| i.description.is_none() && i.instances[0].state.is_none()));
}

#[test]
fn policies_may_be_json_strings_as_iam_returns_them() {
    let mut v = example(E5);
    let policy = copy(&v, "/principals/1/identity_policies/0").to_string();
    set(&mut v, "/principals/1/identity_policies/0", Value::String(policy));
    let key_policy = copy(&v, "/keys/0/policy").to_string();
    set(&mut v, "/keys/0/policy", Value::String(key_policy));
    assert!(parse(&v).is_ok());
    // A bad statement inside the string is still found, at the string's path.
    set(&mut v, "/keys/0/policy", json!("{\"Statement\": [{\"Effect\": \"Allow\"}]}"));
    assert!(parse(&v).is_err_and(|e| e.path.starts_with("keys[0].policy")));
}

#[test]
fn what_could_not_be_read_is_listed_not_invented() {
    let mut v = example(E5);
    remove(&mut v, "/keys/0/policy");
    set(&mut v, "/keys/0/unknown", json!(["policy", "grants"]));
    set(&mut v, "/principals/1/unknown", json!(["identity_policies", "permissions_boundary"]));
    set(&mut v, "/instances/0/unknown", json!(["tags"]));
    set(&mut v, "/unknown", json!(["rcps:111122223333", "scps:999999999999"]));
    let inv = parse(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.keys[0].policy, None);
}

#[test]
fn a_multi_attach_volume_is_listed_identically_under_each_instance() {
    // EBS User Guide, "Attach a volume to multiple instances with Amazon EBS Multi-Attach",
    // https://docs.aws.amazon.com/ebs/latest/userguide/ebs-volumes-multi.html
    let mut v = example(E5);
    let mut other = copy(&v, "/instances/0");
    other["id"] = json!("i-0123456789abcdef0");
    push(&mut v, "/instances", other);
    let inv = parse(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.volume("vol-05e5e5e5e5e5e5e50").map(|(i, _)| i.id.as_str()), Some("i-05e5e5e5e5e5e5e5e"));
}

#[test]
fn every_field_the_model_serializes_is_one_the_loader_accepts() {
    // The loader checks fields by name; a field added to the model but not to the loader would be
    // refused. Serializing a full inventory (every optional field set) and loading it catches that.
    for name in ["5-cross-account-grant-only.json", "triage.json", "service-linked-role.json", E7] {
        let mut inv = parse(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(p) = inv.principals.first_mut() {
            p.permissions_boundary = p.identity_policies.first().cloned();
        }
        let text = serde_json::to_string(&inv).unwrap_or_else(|e| panic!("{e}"));
        let again = parse_inventory(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, inv, "{name}: round trip");
    }
}

#[test]
fn huge_and_deep_input_is_refused_without_crashing() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_inventory(&deep).is_err());
    let mut v = minimal();
    v["description"] = Value::String("x".repeat(1 << 20));
    assert!(parse(&v).is_ok());
    let long = format!("{}…", "y".repeat(10_000));
    let e = parse_inventory(&json!({"version": long}).to_string()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.len() < 400, "the message quotes only the start of a long value: {e}");
}
