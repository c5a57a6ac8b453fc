//! `custody check`'s fixes and `custody policy key` advise the same thing for the same key, role and
//! way of opening the key (grant-only, direct use, key-owner grant): the same statements (actions,
//! conditions, Sids) and the same `aws kms create-grant` command. Run on the bundled example whose
//! key policy gives custody nothing (`5-cross-account-no-key-access.json`), for each request that
//! offers all three.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::check;
use custody_plan::check::fix::{Change, Fix, FixKind};
use custody_plan::generate::{key_policy, KeyAccess, KeyOptions, KeyPolicyAdvice};
use custody_plan::inventory::parse_inventory;
use custody_plan::plan::{plan, Mode, PlanRequest};
use serde_json::Value;
use std::path::Path;

const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";

fn advice(principal: &str, access: KeyAccess, grantee: Option<&str>) -> KeyPolicyAdvice {
    key_policy(&KeyOptions {
        key_arn: KEY.into(),
        principal_arn: principal.into(),
        access,
        grantee_arn: grantee.map(str::to_string),
    })
    .unwrap()
}

fn example() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories/5-cross-account-no-key-access.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The example with the forensic role's own policies saying nothing of the source account's keys.
fn example_without_iam_for_source_keys() -> Value {
    let mut v = example();
    let role = v["principals"].as_array_mut().unwrap().iter_mut().find(|p| p["arn"] == FORENSIC).unwrap();
    let mut removed = 0;
    for policy in role["identity_policies"].as_array_mut().unwrap() {
        let doc = if policy.get("document").is_some() { &mut policy["document"] } else { policy };
        let list = doc["Statement"].as_array_mut().unwrap();
        let before = list.len();
        list.retain(|s| !s["Resource"].to_string().contains(":111122223333:key/"));
        removed += before - list.len();
    }
    assert!(removed > 0, "the example's forensic role has statements on the source keys");
    v
}

/// The fixes of every refused request on the source key that offers the three ways.
fn offers(inventory: &Value) -> Vec<Vec<Fix>> {
    let inventory = parse_inventory(&inventory.to_string()).unwrap();
    let request = PlanRequest { mode: Mode::Direct, case_id: "C1".into(), ..PlanRequest::new("i-05e5e5e5e5e5e5e5e") };
    let report = check(&inventory, &plan(&inventory, &request).unwrap());
    let out: Vec<Vec<Fix>> = report
        .steps
        .iter()
        .flat_map(|s| &s.requests)
        .filter(|r| r.resource == KEY)
        .map(|r| r.fixes.clone())
        .filter(|fixes| {
            [FixKind::KmsGrantOnly, FixKind::KmsDirectUse, FixKind::KmsOwnerGrant]
                .iter()
                .all(|k| fixes.iter().any(|f| f.kind == *k))
        })
        .collect();
    assert!(!out.is_empty(), "the example offers the three ways");
    out
}

fn statements<'a>(fix: &'a Fix, place: &str) -> Vec<&'a Value> {
    fix.changes.iter().filter(|c: &&Change| c.target.starts_with(place)).filter_map(|c| c.json.as_ref()).collect()
}

#[test]
fn direct_use_is_the_same_key_policy_and_iam_statements() {
    let a = advice(FORENSIC, KeyAccess::DirectUse, None);
    let iam = a.principal_policy.as_ref().unwrap()["Statement"].as_array().unwrap();
    // The example's role already allows the source keys in its own policy: check adds only the key
    // policy's side; without that policy, both sides, as `policy key` writes them.
    for (inventory, own_side_needed) in [(example(), false), (example_without_iam_for_source_keys(), true)] {
        for fixes in offers(&inventory) {
            let fix = fixes.iter().find(|f| f.kind == FixKind::KmsDirectUse).unwrap();
            let key_side = statements(fix, "the key policy");
            assert_eq!(key_side, a.key_policy_statements.iter().collect::<Vec<_>>(), "{fix:#?}");
            let own_side = statements(fix, &format!("an identity-based policy of {FORENSIC}"));
            let expected: Vec<&Value> = if own_side_needed { iam.iter().collect() } else { Vec::new() };
            assert_eq!(own_side, expected, "{fix:#?}");
        }
    }
}

#[test]
fn grant_only_is_the_same_create_grant_statement() {
    // The source role creates the grants; its key's policy already delegates to its account's IAM
    // policies, so `check` puts the statement there, `policy key` in the key policy: same action and
    // conditions (grants only for the forensic role, only with custody's operations).
    let a = advice(SOURCE, KeyAccess::GrantOnly, Some(FORENSIC));
    let key_side = &a.key_policy_statements[0];
    for fixes in offers(&example()) {
        let fix = fixes.iter().find(|f| f.kind == FixKind::KmsGrantOnly).unwrap();
        let own_side = statements(fix, &format!("an identity-based policy of {SOURCE}"));
        assert_eq!(own_side.len(), 1, "{fix:#?}");
        assert_eq!(own_side[0]["Action"], key_side["Action"]);
        assert_eq!(own_side[0]["Condition"], key_side["Condition"], "{fix:#?}");
        let grant = fix.changes.last().unwrap().json.as_ref().unwrap();
        assert_eq!(grant["operations"], key_side["Condition"]["ForAllValues:StringEquals"]["kms:GrantOperations"]);
    }
}

#[test]
fn key_owner_grant_is_the_same_command() {
    let a = advice(FORENSIC, KeyAccess::OwnerGrant, None);
    let command = &a.create_grant.as_ref().unwrap().command;
    for fixes in offers(&example()) {
        let fix = fixes.iter().find(|f| f.kind == FixKind::KmsOwnerGrant).unwrap();
        assert_eq!(fix.changes[0].command.as_ref(), Some(command), "{fix:#?}");
    }
}
