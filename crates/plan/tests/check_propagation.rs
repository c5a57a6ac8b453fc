//! The preflight says which steps rest on a grant or key an earlier step makes, because KMS may take
//! minutes to propagate it: "there might be a brief delay, usually less than five minutes, until the
//! grant is available throughout AWS KMS" (KMS API Reference, CreateGrant,
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>); "It might take up to five
//! minutes for alias changes to affect KMS key authorization" (KMS Developer Guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::check;
use custody_plan::inventory::parse_inventory;
use custody_plan::plan::{plan, Awaited, Mode, PlanRequest};
use custody_plan::report::text as render_text;
use std::path::Path;

fn checked(file: &str, instance: &str) -> custody_plan::check::CheckReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(file);
    let inv = parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap();
    let request = PlanRequest { mode: Mode::Auto, case_id: "C1".into(), ..PlanRequest::new(instance) };
    check(&inv, &plan(&inv, &request).unwrap())
}

#[test]
fn a_copy_after_custodys_own_grant_waits_for_that_grant_only() {
    let report = checked("5-cross-account-grant-only.json", "i-05e5e5e5e5e5e5e5e");
    let waiting: Vec<_> = report.steps.iter().filter(|s| !s.waits_for.is_empty()).collect();
    // Two encrypted volumes, each copied once from its source snapshot under the grant.
    assert_eq!(waiting.len(), 2, "{:?}", waiting.iter().map(|s| &s.id).collect::<Vec<_>>());
    for s in waiting {
        let volume = s.volume_id.as_deref().unwrap();
        assert_eq!(s.waits_for.len(), 1, "{}: another volume's grant is constrained to that volume", s.id);
        let p = &s.waits_for[0];
        assert_eq!(p.made_by, format!("create-grant:{volume}"));
        assert!(
            matches!(&p.awaited, Awaited::Grant { operations, .. } if operations.iter().any(|o| o == "DescribeKey"))
        );
    }
    let text = render_text(&report);
    assert!(text.contains("waits for KMS to propagate the grant on"), "{text}");
    assert!(text.contains("programming-eventual-consistency.html"));
}

#[test]
fn the_copies_under_the_temporary_key_wait_for_it_and_its_alias() {
    let report = checked("8-cross-account-aws-managed.json", "i-08b8b8b8b8b8b8b8b");
    let waiting: Vec<_> = report.steps.iter().filter(|s| !s.waits_for.is_empty()).collect();
    // Per encrypted volume: the copy to the temporary key, and the copy from it.
    assert_eq!(waiting.len(), 4, "{:?}", waiting.iter().map(|s| &s.id).collect::<Vec<_>>());
    for s in waiting {
        assert!(s.waits_for.iter().all(|p| matches!(&p.awaited, Awaited::Key { aliases, .. } if aliases.len() == 1)));
    }
}

/// Before it copies from the temporary key, the forensic role asks DescribeKey on it until KMS
/// allows it: the role reaches the key only by its new alias, and "it might take up to five minutes
/// for alias changes to affect KMS key authorization" (alias-authorization.html). The preflight checks
/// that probe as it checks the copy: the key policy custody writes lets the role describe the key,
/// and the role's own policy lets it only by the alias, so the alias decides it.
#[test]
fn the_copy_from_the_temporary_key_first_probes_its_alias_as_the_forensic_role() {
    let report = checked("8-cross-account-aws-managed.json", "i-08b8b8b8b8b8b8b8b");
    assert!(report.all_pass(), "{}", render_text(&report));
    // The two encrypted volumes' copies from their temporary keys (the third volume is unencrypted).
    let copies: Vec<_> =
        report.steps.iter().filter(|s| s.id.starts_with("copy-to-forensic:") && !s.waits_for.is_empty()).collect();
    assert_eq!(copies.len(), 2);
    for s in copies {
        // One DescribeKey the role makes itself, not EC2 during the copy.
        let probe: Vec<_> = s.requests.iter().filter(|r| r.call == "kms:DescribeKey").collect();
        assert_eq!(probe.len(), 1, "{}", s.id);
        let r = probe[0];
        assert_eq!(r.action, "kms:DescribeKey");
        assert!(r.principal.contains(":assumed-role/CustodyForensic/"), "{}", r.principal);
        assert_eq!(r.outcome, custody_plan::check::Outcome::Allowed, "{}", s.id);
        assert!(r.page.contains("alias-authorization.html"), "{}", r.page);
        assert!(r.deciding.iter().any(|d| format!("{d:?}").contains("AcquireWaitForTempKeys")), "{:?}", r.deciding);
    }
}

/// A forensic role whose policy lets it use the temporary key through EC2 but not describe it
/// directly (a role set up before custody probed the alias): the preflight refuses the probe, names
/// it, and says what to add.
#[test]
fn a_role_that_may_not_describe_the_temporary_key_is_refused_before_anything_is_made() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories/8-cross-account-aws-managed.json");
    let mut inv: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let role = inv["principals"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["arn"] == "arn:aws:iam::999999999999:role/CustodyForensic")
        .unwrap();
    let statements = role["identity_policies"][0]["Statement"].as_array_mut().unwrap();
    let before = statements.len();
    statements.retain(|s| s["Sid"] != "AcquireWaitForTempKeys");
    assert_eq!(statements.len(), before - 1, "the generated policy has the probe's statement");
    let inv = parse_inventory(&inv.to_string()).unwrap();
    let request = PlanRequest { mode: Mode::Auto, case_id: "C1".into(), ..PlanRequest::new("i-08b8b8b8b8b8b8b8b") };
    let report = check(&inv, &plan(&inv, &request).unwrap());
    assert!(!report.all_pass());
    let refused: Vec<_> = report
        .steps
        .iter()
        .flat_map(|s| s.requests.iter().map(move |r| (s, r)))
        .filter(|(_, r)| r.outcome == custody_plan::check::Outcome::Denied)
        .collect();
    assert!(!refused.is_empty());
    for (s, r) in &refused {
        assert!(s.id.starts_with("copy-to-forensic:"), "{}", s.id);
        assert_eq!((r.call.as_str(), r.action.as_str()), ("kms:DescribeKey", "kms:DescribeKey"));
    }
    // The one change to make is the statement `custody policy role` now writes: DescribeKey, by the
    // alias only; it fixes every refused request.
    let text = render_text(&report);
    assert_eq!(report.changes.len(), 1, "{text}");
    assert_eq!(report.changes[0].fixes_requests.len(), refused.len(), "{text}");
    let stmt = report.changes[0].fix.changes[0].json.as_ref().unwrap();
    assert_eq!(stmt["Action"], "kms:DescribeKey", "{text}");
    assert_eq!(stmt["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"], "alias/custody-*", "{text}");
}

#[test]
fn nothing_waits_where_the_plan_makes_no_grant_or_key() {
    for (file, instance) in [
        ("2-aws-managed-same-account.json", "i-02b2b2b2b2b2b2b2b"),
        ("6-cross-account-direct.json", "i-06f6f6f6f6f6f6f6f"),
    ] {
        let report = checked(file, instance);
        assert!(report.steps.iter().all(|s| s.waits_for.is_empty()), "{file}");
        assert!(!render_text(&report).contains("waits for KMS"), "{file}");
    }
}
