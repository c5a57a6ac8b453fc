//! The self-check: the generated role policies, put into an inventory in place of the roles' own,
//! let every planned step through as far as the role policies are concerned, and each of their
//! statements is needed by some planned request.
//!
//! The plans are those of the planner's estate (`tests/fixtures/plan/estate.json`: instances in a
//! source account and in the forensic account, volumes on every path) for each KMS mode. A request
//! may still be refused for a reason the role policies do not decide (a key policy, a grant), so
//! the first test looks only at refusals by the caller's identity policies; requests of volumes whose
//! path belongs to another KMS mode, and triage on an instance without the SSM tag, are expected to
//! be refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use custody_plan::check::{check, Outcome};
use custody_plan::generate::{role_policies, Feature, GeneratedRolePolicies, KmsMode, RoleOptions};
use custody_plan::inventory::{parse_inventory, Inventory, Key, KeyManager, Tag};
use custody_plan::plan::{plan, Mode, Path, Plan, PlanRequest};
use serde_json::Value;
use std::collections::BTreeSet;

const INSTANCES: [&str; 3] = ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"];

fn estate() -> Inventory {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan/estate.json")).unwrap();
    parse_inventory(&text).unwrap()
}

/// The options an operator of the estate would pass.
fn options(inv: &Inventory, kms: KmsMode) -> RoleOptions {
    let config = &inv.config;
    let source_role = config.source_role_arns.values().next().unwrap();
    RoleOptions {
        features: [Feature::Acquire, Feature::Triage, Feature::Cleanup, Feature::DirectRead, Feature::Volume]
            .into_iter()
            .collect(),
        kms,
        ssm_tag: config.ssm_tag.clone().map(|t| Tag { key: t.key, value: t.value }),
        regions: vec!["eu-west-1".into(), "eu-west-3".into()],
        forensic_region: Some(config.forensic_region.clone()),
        forensic_account: Some(config.forensic_account.clone()),
        source_accounts: ["111111111111", "222222222222"].map(String::from).to_vec(),
        source_role_name: source_role.split_once(":role/").unwrap().1.to_string(),
        forensic_role_name: config.forensic_role_arn.split_once(":role/").unwrap().1.to_string(),
        ..RoleOptions::default()
    }
}

/// The estate with the generated policies as the roles' only identity policies.
fn with_policies(mut inv: Inventory, g: &GeneratedRolePolicies) -> Inventory {
    for p in &mut inv.principals {
        if p.arn == inv.config.forensic_role_arn {
            p.identity_policies = g.forensic_role.policy.iter().cloned().collect();
        } else {
            p.identity_policies = g.source_role.policy.iter().cloned().collect();
            p.trust_policy = g.source_trust_policy.clone();
        }
    }
    inv
}

fn plans(inv: &Inventory) -> Vec<Plan> {
    let mut out = Vec::new();
    for instance in INSTANCES {
        for mode in [Mode::Auto, Mode::DirectRead] {
            // A volume from the evidence (feature `volume`), except on path 9, whose evidence stays in
            // the source account.
            let volume_az = (mode == Mode::Auto).then(|| format!("{}a", inv.config.forensic_region));
            let request =
                PlanRequest { mode, triage: true, case_id: "C1".into(), volume_az, ..PlanRequest::new(instance) };
            out.push(plan(inv, &request).unwrap());
        }
    }
    out
}

/// The keys the plans create, listed in the inventory with their aliases: once custody has created
/// the alias, AWS adds `kms:ResourceAliases` to requests on the key, which the preflight does not yet
/// do for the keys a plan creates.
fn with_planned_keys(mut inv: Inventory, plans: &[Plan]) -> Inventory {
    for k in plans.iter().flat_map(|p| &p.steps).flat_map(|s| &s.creates_keys) {
        if !inv.keys.iter().any(|known| known.arn == k.arn) {
            inv.keys.push(Key {
                arn: k.arn.clone(),
                manager: KeyManager::Customer,
                aliases: k.aliases.clone(),
                policy: Some(k.policy.clone()),
                grants: Vec::new(),
                unknown: Vec::new(),
            });
        }
    }
    inv
}

/// The KMS mode a path needs, for the cross-account customer-key paths.
fn mode_of(path: Path) -> Option<KmsMode> {
    match path {
        Path::CrossAccountGrantOnly => Some(KmsMode::GrantOnly),
        Path::CrossAccountDirect => Some(KmsMode::Direct),
        Path::CrossAccountOwnerGrants => Some(KmsMode::OwnerGrants),
        _ => None,
    }
}

/// `(plan, step, request)` labels of the requests allowed, and of those refused by the caller's
/// identity policies, leaving out the steps that belong to another KMS mode and triage on untagged
/// instances.
fn outcomes(inv: &Inventory, plans: &[Plan], kms: KmsMode) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut allowed, mut refused) = (BTreeSet::new(), BTreeSet::new());
    let tag = inv.config.ssm_tag.as_ref().unwrap();
    for (n, p) in plans.iter().enumerate() {
        let report = check(inv, p);
        let instance = inv.instances.iter().find(|i| i.id == p.instance_id).unwrap();
        for s in &report.steps {
            let path =
                s.volume_id.as_ref().and_then(|v| p.volumes.iter().find(|pv| &pv.volume_id == v)).map(|v| v.path);
            if path.and_then(mode_of).is_some_and(|m| m != kms) {
                continue;
            }
            let untagged_triage = s.id == "triage" && instance.tags.get(&tag.key) != Some(&tag.value);
            for (i, r) in s.requests.iter().enumerate() {
                let label = format!(
                    "plan {n} ({}) step {} #{i}: {} {} {}",
                    p.instance_id, s.id, r.principal, r.action, r.resource
                );
                let gate = r.explanation.as_ref().and_then(|e| e.gate.as_ref()).map(|g| g.kind);
                match r.outcome {
                    Outcome::Allowed => {
                        allowed.insert(label);
                    }
                    Outcome::Denied if gate == Some("identity_policy") && !untagged_triage => {
                        refused.insert(format!("{label}: {}", r.explanation.as_ref().unwrap().summary));
                    }
                    _ => {}
                }
            }
        }
    }
    (allowed, refused)
}

fn setup(kms: KmsMode) -> (Inventory, GeneratedRolePolicies, Vec<Plan>) {
    let base = estate();
    let g = role_policies(&options(&base, kms));
    let inv = with_policies(base, &g);
    let plans = plans(&inv);
    (with_planned_keys(inv, &plans), g, plans)
}

#[test]
fn the_role_policies_never_refuse_a_planned_step() {
    for kms in KmsMode::ALL {
        let (inv, _, plans) = setup(kms);
        let (allowed, refused) = outcomes(&inv, &plans, kms);
        assert!(allowed.len() > 100, "{kms}: only {} requests allowed", allowed.len());
        assert!(
            refused.is_empty(),
            "{kms}: refused by the generated role policies:\n{}",
            refused.into_iter().collect::<Vec<_>>().join("\n")
        );
    }
}

/// Drops statement `sid` from whichever role policy holds it.
fn without(inv: &Inventory, g: &GeneratedRolePolicies, sid: &str) -> Inventory {
    let drop = |policy: &Option<Value>| -> Option<Value> {
        let mut p = policy.clone()?;
        if let Some(Value::Array(statements)) = p.get_mut("Statement") {
            statements.retain(|s| s["Sid"] != sid);
        }
        Some(p)
    };
    let mut g = g.clone();
    g.forensic_role.policy = drop(&g.forensic_role.policy);
    g.source_role.policy = drop(&g.source_role.policy);
    with_policies(inv.clone(), &g)
}

#[test]
fn every_statement_is_needed_by_a_planned_request() {
    for kms in KmsMode::ALL {
        let (inv, g, plans) = setup(kms);
        let (allowed, _) = outcomes(&inv, &plans, kms);
        let sids: BTreeSet<&str> =
            g.forensic_role.statements.iter().chain(&g.source_role.statements).map(|s| s.sid.as_str()).collect();
        assert!(sids.len() > 15, "{kms}: {sids:?}");
        for sid in sids {
            let (still_allowed, _) = outcomes(&without(&inv, &g, sid), &plans, kms);
            assert!(still_allowed.len() < allowed.len(), "{kms}: no planned request needs statement {sid}");
        }
    }
}
