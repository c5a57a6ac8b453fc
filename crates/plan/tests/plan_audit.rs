//! `custody check --audit` and `custody plan --audit` ([`PlanRequest::audit`]): after the other
//! steps, one `cloudtrail:LookupEvents` per account and Region the plan's calls act in, signed by the
//! role custody uses there, checked like every other call; a role without the permission is refused
//! with a fix that names the `audit` feature of `custody policy role`.
//!
//! LookupEvents has no resource type and no condition keys in the Service Authorization Reference,
//! so it is authorized on Resource `"*"`
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::fix::FixKind;
use custody_plan::check::{check, Outcome, StepOutcome};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Action, ContextEntry, Mode, Phase, Plan, PlanRequest};
use serde_json::Value;

const FORENSIC: &str = "999999999999";
const SOURCE: &str = "111122223333";
const SAR: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html";

fn text(file: &str) -> String {
    std::fs::read_to_string(format!("{}/../../examples/inventories/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn inventory(file: &str) -> Inventory {
    parse_inventory(&text(file)).unwrap()
}

fn planned(inv: &Inventory, instance: &str, mode: Mode, audit: bool) -> Plan {
    plan(inv, &PlanRequest { mode, audit, case_id: "C1".into(), ..PlanRequest::new(instance) }).unwrap()
}

/// `(step id, call account, call Region, signer)` of the audit steps.
fn lookups(p: &Plan) -> Vec<(String, String, String, String)> {
    p.steps
        .iter()
        .filter(|s| s.phase == Phase::Audit)
        .map(|s| {
            assert_eq!(s.action, Action::LookupEvents, "{}", s.id);
            assert_eq!((s.calls.len(), s.volume_id.as_deref()), (1, None), "{}", s.id);
            let c = &s.calls[0];
            (s.id.clone(), c.account.clone(), c.region.clone(), c.signer.clone())
        })
        .collect()
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

#[test]
fn a_cross_account_plan_looks_up_each_account_as_the_role_custody_uses_there() {
    let inv = inventory("5-cross-account-grant-only.json");
    let p = planned(&inv, "i-05e5e5e5e5e5e5e5e", Mode::Auto, true);
    assert_eq!(
        lookups(&p),
        vec![
            (
                format!("audit:{SOURCE}:eu-west-1"),
                SOURCE.to_string(),
                "eu-west-1".to_string(),
                role(SOURCE, "CustodySource")
            ),
            (
                format!("audit:{FORENSIC}:eu-west-1"),
                FORENSIC.to_string(),
                "eu-west-1".to_string(),
                role(FORENSIC, "CustodyForensic")
            ),
        ]
    );
    // The one request of each: the role's session, as the plan writes principals, on Resource "*".
    for (s, session) in p.steps.iter().filter(|s| s.phase == Phase::Audit).zip([
        format!("arn:aws:sts::{SOURCE}:assumed-role/CustodySource/custody-C1"),
        format!("arn:aws:sts::{FORENSIC}:assumed-role/CustodyForensic/custody-C1"),
    ]) {
        let c = &s.calls[0];
        assert_eq!(c.api, "cloudtrail:LookupEvents");
        assert_eq!(c.requests.len(), 1, "{}", s.id);
        let r = &c.requests[0];
        assert_eq!(
            (r.principal.as_str(), r.action.as_str(), r.resource.as_str()),
            (session.as_str(), "cloudtrail:LookupEvents", "*")
        );
        assert_eq!(r.source, SAR);
        assert!(r.why.contains("no resource-level permissions") && r.why.contains("custody audit"), "{}", r.why);
        assert_eq!(r.inferred, None, "documented by the SAR");
        assert_eq!(r.context.get("aws:RequestedRegion"), Some(&ContextEntry::Single(c.region.clone())));
        assert_eq!(r.context.get("aws:ViaAWSService"), Some(&ContextEntry::Single("false".into())));
    }
}

#[test]
fn each_lookup_is_signed_as_the_other_calls_of_its_account() {
    let cases = [
        ("1-unencrypted.json", "i-01a1a1a1a1a1a1a1a", Mode::Auto),
        ("4-cross-region-fixed.json", "i-04d4d4d4d4d4d4d4d", Mode::Auto),
        ("5-cross-account-grant-only.json", "i-05e5e5e5e5e5e5e5e", Mode::Auto),
        ("8-cross-account-aws-managed.json", "i-08b8b8b8b8b8b8b8b", Mode::Auto),
        ("9-direct-read.json", "i-09c9c9c9c9c9c9c9c", Mode::DirectRead),
        ("triage.json", "i-0e7e7e7e7e7e7e7e7", Mode::Auto),
    ];
    for (file, instance, mode) in cases {
        let inv = inventory(file);
        let p = planned(&inv, instance, mode, true);
        let others: Vec<_> = p.steps.iter().filter(|s| s.phase != Phase::Audit).flat_map(|s| &s.calls).collect();
        let found = lookups(&p);
        // Every account and Region a call is sent to, and its signer's account in that Region (a call
        // across accounts is recorded in both), once.
        let mut places: Vec<(String, String)> = Vec::new();
        for c in &others {
            places.push((c.account.clone(), c.region.clone()));
            places.push((c.signer.split(':').nth(4).unwrap().to_string(), c.region.clone()));
        }
        places.sort();
        places.dedup();
        let mut looked: Vec<(String, String)> = found.iter().map(|(_, a, r, _)| (a.clone(), r.clone())).collect();
        looked.sort();
        assert_eq!(looked, places, "{file}");
        for (id, account, _, signer) in &found {
            // A role of that account, which signs other calls of the plan.
            assert!(signer.starts_with(&format!("arn:aws:iam::{account}:role/")), "{file} {id}: {signer}");
            assert!(others.iter().any(|c| &c.signer == signer), "{file} {id}: {signer}");
        }
    }
    // Same account, two Regions: the forensic role in each.
    let p = planned(&inventory("4-cross-region-fixed.json"), "i-04d4d4d4d4d4d4d4d", Mode::Auto, true);
    let regions: Vec<String> = lookups(&p).into_iter().map(|(_, _, r, _)| r).collect();
    assert_eq!(regions, ["eu-west-3", "eu-west-1"]);
    // Path 9 acts only in the source account, but the forensic role's AssumeRole into the source role
    // is its own call too: both accounts are looked up, each as its own role.
    let p = planned(&inventory("9-direct-read.json"), "i-09c9c9c9c9c9c9c9c", Mode::DirectRead, true);
    let signers: Vec<(String, String)> = lookups(&p).into_iter().map(|(_, a, _, s)| (a, s)).collect();
    assert_eq!(
        signers,
        [
            (SOURCE.to_string(), role(SOURCE, "CustodySource")),
            (FORENSIC.to_string(), role(FORENSIC, "CustodyForensic"))
        ]
    );
}

#[test]
fn audit_only_adds_steps_after_the_others() {
    let inv = inventory("8-cross-account-aws-managed.json");
    let without = planned(&inv, "i-08b8b8b8b8b8b8b8b", Mode::Auto, false);
    let with = planned(&inv, "i-08b8b8b8b8b8b8b8b", Mode::Auto, true);
    assert!(!without.steps.iter().any(|s| s.phase == Phase::Audit));
    let n = without.steps.len();
    assert_eq!(with.steps[..n], without.steps[..]);
    assert_eq!(with.steps.len(), n + 2);
    assert_eq!((&with.volumes, &with.notes), (&without.volumes, &without.notes));
    assert!(!Action::LookupEvents.mutates());
    // As the journal and `--json` write it, and read back.
    let json = serde_json::to_value(&with.steps[n]).unwrap();
    assert_eq!((json["phase"].as_str(), json["action"]["kind"].as_str()), (Some("audit"), Some("lookup-events")));
    let back: Plan = serde_json::from_value(serde_json::to_value(&with).unwrap()).unwrap();
    assert_eq!(back, with);
}

#[test]
fn the_example_roles_may_look_up_their_events() {
    for (file, instance, mode) in [
        ("2-aws-managed-same-account.json", "i-02b2b2b2b2b2b2b2b", Mode::Auto),
        ("5-cross-account-grant-only.json", "i-05e5e5e5e5e5e5e5e", Mode::Auto),
        ("7-cross-account-owner-grants.json", "i-07a7a7a7a7a7a7a7a", Mode::Auto),
    ] {
        let inv = inventory(file);
        let report = check(&inv, &planned(&inv, instance, mode, true));
        assert!(report.all_pass(), "{file}: {:#?}", report.summary);
        for s in report.steps.iter().filter(|s| s.phase == Phase::Audit) {
            assert_eq!(s.outcome, StepOutcome::Pass, "{file} {}", s.id);
            let d = &s.requests[0].deciding;
            assert_eq!(d[0].sid.as_deref(), Some("AuditReadCloudTrailEventHistory"), "{file} {}", s.id);
        }
    }
}

/// `file` with the audit statement taken out of the policies of `role`.
fn without_audit_statement(file: &str, role: &str) -> Inventory {
    let mut inv: Value = serde_json::from_str(&text(file)).unwrap();
    let principal = inv["principals"].as_array_mut().unwrap().iter_mut().find(|p| p["arn"] == role).unwrap();
    for policy in principal["identity_policies"].as_array_mut().unwrap() {
        let statements = policy["Statement"].as_array_mut().unwrap();
        let before = statements.len();
        statements.retain(|s| s["Sid"] != "AuditReadCloudTrailEventHistory");
        assert_eq!(statements.len(), before - 1, "{file}: {role} has the audit statement");
    }
    parse_inventory(&inv.to_string()).unwrap()
}

#[test]
fn a_role_without_lookup_events_is_refused_with_the_audit_feature_named_in_the_fix() {
    let file = "5-cross-account-grant-only.json";
    let source_role = role(SOURCE, "CustodySource");
    let inv = without_audit_statement(file, &source_role);
    // Without --audit nothing changes: the acquisition itself needs no CloudTrail.
    assert!(check(&inv, &planned(&inv, "i-05e5e5e5e5e5e5e5e", Mode::Auto, false)).all_pass());
    let report = check(&inv, &planned(&inv, "i-05e5e5e5e5e5e5e5e", Mode::Auto, true));
    let failed: Vec<&str> =
        report.steps.iter().filter(|s| s.outcome != StepOutcome::Pass).map(|s| s.id.as_str()).collect();
    assert_eq!(failed, [format!("audit:{SOURCE}:eu-west-1")]);
    let s = report.steps.iter().find(|s| s.id == failed[0]).unwrap();
    assert_eq!(s.outcome, StepOutcome::Fail);
    let r = &s.requests[0];
    assert_eq!((r.outcome, r.action.as_str()), (Outcome::Denied, "cloudtrail:LookupEvents"));
    let gate = r.explanation.as_ref().and_then(|x| x.gate.as_ref()).map(|g| g.kind);
    assert_eq!(gate, Some("identity_policy"));
    let f = &r.fixes[0];
    assert_eq!((f.kind, f.verified), (FixKind::IdentityStatement, true));
    assert!(
        f.summary.contains(&format!("an identity-based policy of {source_role}"))
            && f.summary.contains("`custody policy role --features …,audit`")
            && f.summary.contains("AuditReadCloudTrailEventHistory"),
        "{}",
        f.summary
    );
    let stmt = f.changes[0].json.as_ref().unwrap();
    assert_eq!((&stmt["Action"], &stmt["Resource"]), (&Value::from("cloudtrail:LookupEvents"), &Value::from("*")));
    // The report's list of changes to make carries the same words.
    assert!(report.changes.iter().any(|c| c.fix.summary.contains("--features …,audit")), "{:#?}", report.changes);
}

#[test]
fn a_refusal_outside_the_audit_names_no_feature() {
    // The acquisition's own refusals (5-cross-account-no-key-access, with --mode direct-use) keep
    // their fixes as they were, with --audit too: only a look-up's fix names the feature.
    let inv = inventory("5-cross-account-no-key-access.json");
    let report = check(&inv, &planned(&inv, "i-05e5e5e5e5e5e5e5e", Mode::Direct, true));
    let refused: Vec<_> =
        report.steps.iter().flat_map(|s| &s.requests).filter(|r| r.outcome == Outcome::Denied).collect();
    assert!(!refused.is_empty());
    for r in refused {
        assert_ne!(r.action, "cloudtrail:LookupEvents");
        assert!(r.fixes.iter().all(|f| !f.summary.contains("--features")), "{:#?}", r.fixes);
    }
    // The forensic role without the audit statement: only its own look-up fails.
    let inv = without_audit_statement("1-unencrypted.json", &role(FORENSIC, "CustodyForensic"));
    let report = check(&inv, &planned(&inv, "i-01a1a1a1a1a1a1a1a", Mode::Auto, true));
    let failed: Vec<&str> =
        report.steps.iter().filter(|s| s.outcome == StepOutcome::Fail).map(|s| s.id.as_str()).collect();
    assert_eq!(failed, [format!("audit:{FORENSIC}:eu-west-1")]);
}
