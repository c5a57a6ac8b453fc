//! The bundled example inventories (`examples/inventories/`) give their roles exactly the policies
//! `custody policy role` writes, with the options their README lists, so that the examples' passing
//! preflight shows custody's own advice at work, and a change to the generator shows up here.
//!
//! To bring the examples up to date after a change to the generator: run this test with
//! `CUSTODY_EXAMPLE_POLICIES=<dir>`; it writes there, as `<file>`, what `custody policy role` prints
//! for each example (the JSON format, statements in AWS's order), to be put in place of the roles'
//! policies and the source role's trust policy (the README of the examples lists the commands).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{render, role_policies, Feature, Format, KmsMode, RoleOptions};
use custody_plan::inventory::Tag;
use serde_json::{json, Value};
use std::path::Path;

const FORENSIC: &str = "999999999999";
const SOURCE: &str = "111122223333";

/// `(file, features, KMS mode, source account, regions)`: one example's `custody policy role` options.
type Example = (&'static str, &'static [Feature], KmsMode, &'static str, &'static [&'static str]);

/// Every example, with the options `examples/inventories/README.md` lists for it.
const EXAMPLES: &[Example] = {
    use Feature::{Acquire, Audit, Cleanup, DirectRead, Triage};
    use KmsMode::{Direct, GrantOnly, OwnerGrants};
    // `audit` everywhere, so that `custody audit` can read CloudTrail after an acquisition of any path.
    const AC: &[Feature] = &[Acquire, Cleanup, Audit];
    const W1: &[&str] = &["eu-west-1"];
    &[
        ("1-unencrypted.json", AC, GrantOnly, FORENSIC, W1),
        ("2-aws-managed-same-account.json", AC, GrantOnly, FORENSIC, W1),
        ("3-customer-key-same-account.json", AC, GrantOnly, FORENSIC, W1),
        ("4-cross-region.json", AC, GrantOnly, FORENSIC, &["eu-west-1", "eu-west-3"]),
        ("4-cross-region-fixed.json", AC, GrantOnly, FORENSIC, &["eu-west-1", "eu-west-3"]),
        ("5-cross-account-grant-only.json", AC, GrantOnly, SOURCE, W1),
        ("5-cross-account-no-key-access.json", AC, Direct, SOURCE, W1),
        ("6-cross-account-direct.json", AC, Direct, SOURCE, W1),
        ("7-cross-account-owner-grants.json", AC, OwnerGrants, SOURCE, W1),
        ("8-cross-account-aws-managed.json", AC, GrantOnly, SOURCE, W1),
        ("9-direct-read.json", &[Acquire, Cleanup, DirectRead, Audit], GrantOnly, SOURCE, W1),
        ("service-linked-role.json", AC, GrantOnly, SOURCE, W1),
        ("triage.json", &[Acquire, Cleanup, Triage, Audit], GrantOnly, SOURCE, W1),
    ]
};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories")
}

/// The policy of the principal `arn` in the inventory `inv`.
fn principal<'a>(inv: &'a Value, arn: &str) -> &'a Value {
    inv["principals"].as_array().unwrap().iter().find(|p| p["arn"] == arn).unwrap_or_else(|| panic!("no {arn}"))
}

/// `policy` without the statements whose Sid starts with `prefix` (triage.json keeps seed 004's own
/// SSM statements in place of the generated ones).
fn without(policy: &Value, prefixes: &[&str]) -> Value {
    let mut p = policy.clone();
    p["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| !prefixes.iter().any(|x| s["Sid"].as_str().unwrap().starts_with(x)));
    p
}

fn sids(policy: &Value) -> Vec<&str> {
    policy["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect()
}

#[test]
fn the_examples_give_their_roles_exactly_the_generated_policies() {
    let out = std::env::var_os("CUSTODY_EXAMPLE_POLICIES");
    let mut wrong = Vec::new();
    for (file, features, kms, source, regions) in EXAMPLES {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let inv: Value = serde_json::from_str(&text).unwrap();
        let triage = features.contains(&Feature::Triage);
        let o = RoleOptions {
            features: features.iter().copied().collect(),
            kms: *kms,
            ssm_tag: triage.then(|| Tag { key: "CustodySSMEnabled".into(), value: "True".into() }),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            forensic_region: Some("eu-west-1".into()),
            forensic_account: Some(FORENSIC.into()),
            source_accounts: vec![source.to_string()],
            ..RoleOptions::default()
        };
        o.validate().unwrap();
        let g = role_policies(&o);
        if let Some(dir) = &out {
            std::fs::write(Path::new(dir).join(file), render(&g, Format::Json)).unwrap();
        }
        let forensic = &principal(&inv, &format!("arn:aws:iam::{FORENSIC}:role/CustodyForensic"))["identity_policies"];
        if forensic != &json!([g.forensic_role.policy.clone().unwrap()]) {
            wrong.push(format!("{file}: forensic role: {:?}", sids(&forensic[0])));
        }
        if let Some(policy) = &g.source_role.policy {
            let role = principal(&inv, &format!("arn:aws:iam::{SOURCE}:role/CustodySource"));
            let seed_004 = ["Required", "TriageResults"];
            let (have, want) = if triage {
                (without(&role["identity_policies"][0], &seed_004), without(policy, &["Triage"]))
            } else {
                (role["identity_policies"][0].clone(), policy.clone())
            };
            if have != want || role["identity_policies"].as_array().unwrap().len() != 1 {
                wrong.push(format!("{file}: source role: {:?}, generated {:?}", sids(&have), sids(&want)));
            }
            if Some(&role["trust_policy"]) != g.source_trust_policy.as_ref() {
                wrong.push(format!("{file}: source role's trust policy"));
            }
        }
    }
    assert!(wrong.is_empty(), "not what `custody policy role` writes:\n{}", wrong.join("\n"));
}
