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
//!
//! The `evidence_selfcheck_*` tests prove, on the same plans, what protects evidence: deleting or
//! untagging every evidence snapshot is refused to every acquiring role by the Deny (even beside a
//! policy that allows all of EC2), the intermediate snapshots the plans delete are allowed and the
//! same snapshot without a run id is not, and the evidence custodian may delete the evidence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::{authorize, check, Outcome};
use custody_plan::generate::{role_policies, Feature, GeneratedRolePolicies, KmsMode, RoleOptions};
use custody_plan::inventory::{parse_inventory, Inventory, Key, KeyManager, Principal, Tag};
use custody_plan::plan::{
    plan, AuthzRequest, Mode, Path, Plan, PlanRequest, EVIDENCE_TAG_VALUE, TAG_CASE, TAG_EVIDENCE, TAG_INSTANCE,
    TAG_RUN,
};
use serde_json::{json, Value};
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
        features: [
            Feature::Acquire,
            Feature::Triage,
            Feature::Cleanup,
            Feature::DirectRead,
            Feature::Volume,
            Feature::Audit,
        ]
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
            // With `custody audit`'s look-ups (feature `audit`), in every account and Region.
            let request = PlanRequest {
                mode,
                triage: true,
                case_id: "C1".into(),
                volume_az,
                audit: true,
                ..PlanRequest::new(instance)
            };
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
                state: None,
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
/// identity policies (for want of an Allow, or by a Deny of theirs), leaving out the steps that belong to another KMS mode and triage on untagged
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
                let denied_by_identity = r.deciding.iter().any(|d| d.policy.starts_with("identity_policies"));
                match r.outcome {
                    Outcome::Allowed => {
                        allowed.insert(label);
                    }
                    Outcome::Denied if (gate == Some("identity_policy") || denied_by_identity) && !untagged_triage => {
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

/// The Sids of the Allow statements of the acquiring roles' policies (the Deny that protects
/// evidence is needed by no planned request: `evidence_selfcheck` proves it).
fn allow_sids(g: &GeneratedRolePolicies) -> BTreeSet<String> {
    [&g.forensic_role.policy, &g.source_role.policy]
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_array().unwrap().clone())
        .filter(|s| s["Effect"] == "Allow")
        .map(|s| s["Sid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_statement_is_needed_by_a_planned_request() {
    for kms in KmsMode::ALL {
        let (inv, g, plans) = setup(kms);
        let (allowed, _) = outcomes(&inv, &plans, kms);
        let sids = allow_sids(&g);
        assert!(sids.len() > 15, "{kms}: {sids:?}");
        for sid in &sids {
            let (still_allowed, _) = outcomes(&without(&inv, &g, sid), &plans, kms);
            assert!(still_allowed.len() < allowed.len(), "{kms}: no planned request needs statement {sid}");
        }
    }
}

// ---- evidence: the Deny, the deletions custody's runs may make, the custodian ---------------------
//
// DeleteSnapshot and DeleteTags are authorized on the snapshot, by its owner, with its tags as
// `aws:ResourceTag/${TagKey}` (EC2 service authorization reference, DeleteSnapshot and DeleteTags,
// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>); an
// explicit Deny overrides any Allow (IAM User Guide, "Policy evaluation logic",
// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).

/// The role sessions that sign the plans' requests: the acquiring roles (AssumeRole's caller, a role
/// ARN, is left out).
fn sessions(plans: &[Plan]) -> BTreeSet<String> {
    let requests = plans.iter().flat_map(|p| &p.steps).flat_map(|s| &s.calls).flat_map(|c| &c.requests);
    requests.map(|r| r.principal.clone()).filter(|p| p.starts_with("arn:aws:sts::")).collect()
}

fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap()
}

/// `action` on each evidence snapshot of the plans, by each session of `principals` in the account
/// that owns it, the snapshot carrying the tags custody puts on evidence.
fn on_evidence(plans: &[Plan], principals: &BTreeSet<String>, action: &str) -> Vec<AuthzRequest> {
    let mut out = Vec::new();
    for p in plans {
        for snap in p.volumes.iter().flat_map(|v| &v.snapshots).filter(|s| s.evidence) {
            let tags: Vec<(String, String)> = [
                (TAG_CASE, p.case_id.as_str()),
                (TAG_INSTANCE, p.instance_id.as_str()),
                (TAG_RUN, p.run_id.as_str()),
                (TAG_EVIDENCE, EVIDENCE_TAG_VALUE),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec();
            for principal in principals.iter().filter(|s| account_of(s) == snap.account) {
                let arn = format!("arn:aws:ec2:{}::snapshot/{}", snap.region, snap.id);
                let mut r = AuthzRequest::new(principal, action, arn)
                    .owned_by(&snap.account)
                    .ec2_in(&snap.region)
                    .with("ec2:SnapshotID", &snap.id)
                    .with("ec2:Owner", &snap.account)
                    .resource_tags(&tags, true);
                if action == "ec2:DeleteTags" {
                    r = r.with_set("aws:TagKeys", [TAG_EVIDENCE]);
                }
                out.push(r);
            }
        }
    }
    out
}

/// The planned DeleteSnapshot requests: intermediate snapshots of the plans' run.
fn planned_deletions(plans: &[Plan]) -> Vec<AuthzRequest> {
    let requests = plans.iter().flat_map(|p| &p.steps).flat_map(|s| &s.calls).flat_map(|c| &c.requests);
    requests.filter(|r| r.action == "ec2:DeleteSnapshot").cloned().collect()
}

fn evidence_marked(r: &AuthzRequest) -> bool {
    r.context.contains_key(&format!("aws:ResourceTag/{TAG_EVIDENCE}"))
}

/// Asserts the request is refused by the Deny that protects evidence, named.
fn assert_denied_by_the_guard(inv: &Inventory, r: &AuthzRequest, why: &str) {
    let c = authorize(inv, &r.action, r);
    let decision = c.explanation.as_ref().map(|e| e.decision);
    assert_eq!(decision, Some("explicitDeny"), "{why}: {} {} by {}: {c:#?}", r.action, r.resource, r.principal);
    assert!(c.deciding.iter().any(|d| d.sid.as_deref() == Some("NeverDeleteEvidence")), "{why}: {c:#?}");
}

/// The estate where each acquiring role also has a policy that allows every EC2 action.
fn with_ec2_everything(mut inv: Inventory) -> Inventory {
    let all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]});
    for p in &mut inv.principals {
        p.identity_policies.push(all.clone());
    }
    inv
}

#[test]
fn evidence_selfcheck_deleting_or_untagging_evidence_is_denied_to_every_acquiring_role() {
    for kms in KmsMode::ALL {
        let (inv, _, plans) = setup(kms);
        let principals = sessions(&plans);
        assert_eq!(principals.len(), 2, "the forensic and the source role: {principals:?}");
        let broad = with_ec2_everything(inv.clone());
        for action in ["ec2:DeleteSnapshot", "ec2:DeleteTags"] {
            let requests = on_evidence(&plans, &principals, action);
            let signers: BTreeSet<&str> = requests.iter().map(|r| r.principal.as_str()).collect();
            assert_eq!(signers.len(), 2, "{kms} {action}: evidence in both accounts: {signers:?}");
            for r in &requests {
                assert_denied_by_the_guard(&inv, r, &format!("{kms}, the generated policies"));
                assert_denied_by_the_guard(&broad, r, &format!("{kms}, with ec2:* allowed besides"));
            }
        }
    }
}

#[test]
fn evidence_selfcheck_only_non_evidence_snapshots_of_custody_runs_are_deleted() {
    for kms in KmsMode::ALL {
        let (inv, _, plans) = setup(kms);
        let planned: Vec<AuthzRequest> =
            planned_deletions(&plans).into_iter().filter(|r| !evidence_marked(r)).collect();
        let signers: BTreeSet<&str> = planned.iter().map(|r| r.principal.as_str()).collect();
        assert_eq!(signers.len(), 2, "{kms}: both roles delete intermediates: {signers:?}");
        for r in &planned {
            assert_eq!(
                authorize(&inv, &r.action, r).outcome,
                Outcome::Allowed,
                "{kms}: {} by {}",
                r.resource,
                r.principal
            );
            assert!(r.context.contains_key(&format!("aws:ResourceTag/{TAG_RUN}")), "planned with the run tag: {r:?}");
            // Another journal's or another tool's snapshot: the case tag without a run id.
            let mut case_only = r.clone();
            case_only.context.retain(|k, _| !k.ends_with(&format!("ResourceTag/{TAG_RUN}")));
            let c = authorize(&inv, &case_only.action, &case_only);
            assert_eq!(c.outcome, Outcome::Denied, "{kms}: {} without a run id: {c:#?}", r.resource);
        }
    }
}

#[test]
fn evidence_selfcheck_the_custodian_discards_evidence_the_acquiring_roles_still_cannot() {
    let base = estate();
    let o = RoleOptions {
        features: options(&base, KmsMode::GrantOnly).features.into_iter().chain([Feature::DiscardEvidence]).collect(),
        ..options(&base, KmsMode::GrantOnly)
    };
    let g = role_policies(&o);
    let mut inv = with_policies(base, &g);
    let plans = plans(&inv);
    let custodian = g.custodian_role.as_ref().unwrap();
    for arn in &custodian.role_arns {
        inv.principals.push(Principal {
            arn: arn.clone(),
            identity_policies: custodian.policy.iter().cloned().collect(),
            permissions_boundary: None,
            trust_policy: None,
            tags: Default::default(),
            unknown: Vec::new(),
        });
    }
    let custodians: BTreeSet<String> = custodian
        .role_arns
        .iter()
        .map(|a| format!("arn:aws:sts::{}:assumed-role/CustodyEvidenceCustodian/examiner", account_of(a)))
        .collect();
    for action in ["ec2:DeleteSnapshot", "ec2:DeleteTags"] {
        let requests = on_evidence(&plans, &custodians, action);
        assert!(requests.len() > 3, "{action}: {requests:?}");
        for r in &requests {
            assert_eq!(
                authorize(&inv, action, r).outcome,
                Outcome::Allowed,
                "{action} {} by {}",
                r.resource,
                r.principal
            );
        }
        for r in on_evidence(&plans, &sessions(&plans), action) {
            assert_denied_by_the_guard(&inv, &r, "with the custodian deployed");
        }
    }
    // The custodian cannot delete what is not evidence.
    for mut r in planned_deletions(&plans).into_iter().filter(|r| !evidence_marked(r)) {
        r.principal =
            format!("arn:aws:sts::{}:assumed-role/CustodyEvidenceCustodian/examiner", account_of(&r.principal));
        assert_eq!(authorize(&inv, &r.action, &r).outcome, Outcome::Denied, "{}", r.resource);
    }
}
