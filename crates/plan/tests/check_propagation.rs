//! The preflight says which steps rest on a grant or key an earlier step makes, because KMS may take
//! minutes to propagate it: "there might be a brief delay, usually less than five minutes, until the
//! grant is available throughout AWS KMS" (KMS API Reference, CreateGrant,
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>); "It might take up to five
//! minutes for alias changes to affect KMS key authorization" (KMS Developer Guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

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
