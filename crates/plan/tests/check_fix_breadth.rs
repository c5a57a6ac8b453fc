//! Fixes are ranked by the access they add beyond the refused request, and a fix that would make the
//! forensic role a key administrator (or give it policy changes, deletion, every action) is never
//! offered beside a narrower one: on every bundled example, in every KMS mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::fix::{Fix, FixKind};
use custody_plan::check::{check, ChangeToMake, CheckReport, Outcome, RequestCheck};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Mode, PlanRequest};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "{files:?}");
    files
}

fn load(path: &Path) -> Inventory {
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every report of an example: each instance, in each mode the planner accepts for it.
fn reports(path: &Path) -> Vec<(String, CheckReport)> {
    let inventory = load(path);
    let mut out = Vec::new();
    for instance in &inventory.instances {
        for mode in [Mode::Auto, Mode::GrantOnly, Mode::Direct, Mode::OwnerGrants, Mode::DirectRead] {
            let request = PlanRequest { mode, case_id: "C1".into(), ..PlanRequest::new(&instance.id) };
            if let Ok(p) = plan(&inventory, &request) {
                let name =
                    format!("{} {} --mode {}", path.file_name().unwrap().to_string_lossy(), instance.id, mode.as_str());
                out.push((name, check(&inventory, &p)));
            }
        }
    }
    out
}

fn refused(report: &CheckReport) -> impl Iterator<Item = &RequestCheck> {
    report.steps.iter().flat_map(|s| &s.requests).filter(|r| !r.fixes.is_empty() || r.no_fix.is_some())
}

fn rank(f: &Fix) -> (bool, usize, usize) {
    (f.risk.is_some(), f.adds_beyond_plan(), f.adds_size())
}

/// The key administrators' statement of the AWS default key policy
/// (<https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators>).
const ADMIN_ACTIONS: [&str; 4] = ["kms:Put*", "kms:Delete*", "kms:Disable*", "kms:ScheduleKeyDeletion"];

#[test]
fn no_example_offers_a_fix_that_grants_key_administration_and_fixes_are_ranked() {
    let mut fixes_seen = 0;
    let mut dropped = 0;
    for path in examples() {
        for (name, report) in reports(&path) {
            for r in refused(&report) {
                for f in &r.fixes {
                    fixes_seen += 1;
                    assert!(f.risk.is_none(), "{name}: {} on {}: a risky fix offered: {f:#?}", r.action, r.resource);
                    let json = serde_json::to_string(&f.changes).unwrap();
                    for admin in ADMIN_ACTIONS {
                        assert!(
                            !json.contains(&format!("\"{admin}\"")),
                            "{name}: {}: {admin} in a fix: {json}",
                            r.action
                        );
                    }
                }
                let ranks: Vec<_> = r.fixes.iter().map(rank).collect();
                let mut sorted = ranks.clone();
                sorted.sort();
                assert_eq!(ranks, sorted, "{name}: {} on {}: fixes not ranked by what they add", r.action, r.resource);
                dropped += r.not_offered.iter().filter(|n| n.contains("key administration")).count();
            }
            // The changes to make cover every refused request that has a fix, each exactly once, with
            // one of its own fixes, and never with a risky one.
            for step in &report.steps {
                for r in step.requests.iter().filter(|r| r.outcome == Outcome::Denied && !r.fixes.is_empty()) {
                    let covering: Vec<&ChangeToMake> = report
                        .changes
                        .iter()
                        .filter(|c| {
                            c.fixes_requests
                                .iter()
                                .any(|at| at.step == step.id && at.action == r.action && at.resource == r.resource)
                        })
                        .collect();
                    assert_eq!(covering.len(), 1, "{name}: {} in {}", r.action, step.id);
                    assert!(r.fixes.iter().any(|f| f.changes == covering[0].fix.changes), "{name}");
                    assert!(covering[0].fix.risk.is_none(), "{name}");
                }
            }
        }
    }
    assert!(fixes_seen > 50, "the examples offer fixes: {fixes_seen}");
    // 4-cross-region and 5-cross-account-no-key-access name a key administrators' statement that
    // covers the refused actions: each such candidate is named as not offered, with why.
    assert!(dropped >= 16, "{dropped}");
}

/// The cross-Region example: the key's `kms:ViaService` names only the source Region. The statement
/// that adds exactly the refused request comes first; widening the condition comes next and says
/// what else it opens (and which of it the plan needs anyway); the key administrators' statement is
/// not offered.
#[test]
fn cross_region_fixes_say_what_they_add() {
    let path = examples().into_iter().find(|p| p.ends_with("4-cross-region.json")).unwrap();
    let (_, report) = reports(&path).into_iter().next().unwrap();
    let r = report
        .steps
        .iter()
        .flat_map(|s| &s.requests)
        .find(|r| r.action == "kms:DescribeKey" && !r.fixes.is_empty())
        .unwrap();
    assert_eq!(r.fixes[0].kind, FixKind::KeyPolicyStatement, "{:#?}", r.fixes);
    assert!(r.fixes[0].adds.is_empty(), "{:#?}", r.fixes[0].adds);
    let widened = r.fixes.iter().find(|f| f.kind == FixKind::CorrectedCondition).unwrap();
    let a = &widened.adds[0];
    assert_eq!(a.principal, "arn:aws:iam::999999999999:role/CustodyForensic");
    assert_eq!(a.actions, ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]);
    assert_eq!(a.when.as_deref(), Some("`kms:ViaService` is `ec2.eu-west-1.amazonaws.com`"));
    // The copy re-encrypts under this key: EC2 decrypts and generates data keys with it; it never
    // calls Encrypt.
    assert!(a.needed_by_plan.iter().any(|x| x == "kms:GenerateDataKey*"), "{a:#?}");
    assert!(!a.needed_by_plan.iter().any(|x| x == "kms:Encrypt"), "{a:#?}");
    assert!(
        r.not_offered
            .iter()
            .any(|n| n.contains("Allow access for Key Administrators") && n.contains("`kms:PutKeyPolicy`")),
        "{:#?}",
        r.not_offered
    );
}

/// The cross-Region example's changes to make are the two corrected conditions, which together fix
/// all 12 refused requests: exactly what `4-cross-region-fixed.json` applies, which passes. The text
/// report shows each corrected statement once, and the requests' own fixes point at it.
#[test]
fn cross_region_changes_to_make_are_the_two_corrections_the_fixed_example_applies() {
    let path = examples().into_iter().find(|p| p.ends_with("4-cross-region.json")).unwrap();
    let (_, report) = reports(&path).into_iter().next().unwrap();
    assert_eq!(report.changes.len(), 2, "{:#?}", report.changes);
    let fixed: usize = report.changes.iter().map(|c| c.fixes_requests.len()).sum();
    assert_eq!(fixed, 12);
    let fixed_file = path.with_file_name("4-cross-region-fixed.json");
    let fixed_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&fixed_file).unwrap()).unwrap();
    let target = &report.changes[0].fix.changes[0].target;
    let key =
        fixed_json["keys"].as_array().unwrap().iter().find(|k| target.ends_with(k["arn"].as_str().unwrap())).unwrap();
    for c in &report.changes {
        assert_eq!(c.fix.kind, FixKind::CorrectedCondition);
        let change = &c.fix.changes[0];
        let index = change.statement.unwrap();
        assert_eq!(&key["policy"]["Statement"][index], change.json.as_ref().unwrap());
    }
    let (_, fixed_report) = reports(&fixed_file).into_iter().next().unwrap();
    assert!(fixed_report.all_pass() && fixed_report.changes.is_empty());
    let text = custody_plan::report::text(&report);
    assert_eq!(text.matches("\"Sid\": \"Allow CustodyForensic to use the key through EC2\"").count(), 1, "{text}");
    assert!(text.contains("the same change as change 1 of the changes to make, above"), "{text}");
}
