//! Every fix the preflight offers, applied to the request's case file by this test's own applier and
//! decided by the engine again: verified fixes must make the request allowed, and the request must
//! have been refused without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::fix::FixKind;
use custody_plan::check::{check, CheckReport, Outcome};
use serde_json::json;

/// Every scenario on the fixture inventory, and the variants the tests patch it into.
fn reports() -> Vec<(String, CheckReport)> {
    let names = [
        "allowed",
        "key-policy-implicit-deny",
        "cross-account-both-sides",
        "cross-region",
        "explicit-deny",
        "unknown-key-policy",
        "grant-from-earlier-step",
        "temp-key",
        "assume-role",
        "scp",
        "retire-grant",
        "boundary",
    ];
    let mut out: Vec<(String, CheckReport)> =
        names.iter().map(|n| (n.to_string(), check(&inventory(), &scenario(n)))).collect();
    let mut trust = inventory_json();
    principal_mut(&mut trust, SR)["trust_policy"]["Statement"][0]["Principal"]["AWS"] =
        "arn:aws:iam::333333333333:role/Other".into();
    out.push(("assume-role/untrusted".into(), check(&load(&trust), &scenario("assume-role"))));
    let mut scp = inventory_json();
    scp["scps"]["222222222222"][1][0]["Statement"][0]["Action"] = json!(["ec2:*", "sts:*"]);
    out.push(("scp/no-kms".into(), check(&load(&scp), &scenario("scp"))));
    let mut boundary = inventory_json();
    principal_mut(&mut boundary, FR)["permissions_boundary"] =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]});
    out.push(("boundary/ec2-only".into(), check(&load(&boundary), &scenario("boundary"))));
    out
}

#[test]
fn every_verified_fix_makes_its_request_allowed_on_the_case_file() {
    let mut checked = 0;
    for (name, report) in reports() {
        for step in &report.steps {
            for r in step.requests.iter().filter(|r| r.outcome == Outcome::Denied) {
                let case = r.case.as_ref().unwrap_or_else(|| panic!("{name}: a denied request carries its case"));
                assert_ne!(decide(case), "allowed", "{name}/{}: {} refused", step.id, r.action);
                assert!(!r.fixes.is_empty() || r.no_fix.is_some(), "{name}/{}: fixes or why not", step.id);
                for f in r.fixes.iter().filter(|f| f.verified) {
                    let fixed = apply(case, f);
                    assert_eq!(
                        decide(&fixed),
                        "allowed",
                        "{name}/{} {}: {:?} {}",
                        step.id,
                        r.action,
                        f.kind,
                        f.summary
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 25, "only {checked} fixes checked");
}

#[test]
fn only_explicit_deny_fixes_are_unverified_and_they_change_nothing_by_themselves() {
    for (name, report) in reports() {
        for r in report.steps.iter().flat_map(|s| &s.requests) {
            for f in &r.fixes {
                assert_eq!(f.verified, f.kind != FixKind::ExplicitDeny, "{name}: {f:?}");
                assert!(!f.summary.is_empty() && !f.reason.is_empty() && !f.changes.is_empty(), "{name}: {f:?}");
            }
        }
    }
}

#[test]
fn every_offered_change_says_where_it_goes_and_carries_json_or_a_command() {
    for (name, report) in reports() {
        for f in report.steps.iter().flat_map(|s| &s.requests).flat_map(|r| &r.fixes) {
            for c in &f.changes {
                assert!(!c.target.is_empty(), "{name}: {c:?}");
                assert!(c.json.is_some() || c.command.is_some(), "{name}: {c:?}");
            }
        }
    }
}

#[test]
fn the_same_fix_is_not_offered_twice() {
    for (name, report) in reports() {
        for r in report.steps.iter().flat_map(|s| &s.requests) {
            for (i, a) in r.fixes.iter().enumerate() {
                assert!(!r.fixes[..i].iter().any(|b| b.changes == a.changes), "{name}: {} offered twice", a.summary);
            }
        }
    }
}

#[test]
fn an_aws_managed_key_across_accounts_has_no_fix_and_says_why() {
    // "You can only change the key policy for a customer managed key"
    // (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html); seed 000:
    // cross-account acquisition of volumes under the default key is not supported as such.
    let plan = plan_from_json(&json!({"steps": [{"id": "copy", "title": "Copy", "phase": "transfer", "calls": [
        {"api": "ec2:CopySnapshot", "requests": [{"principal": FS, "action": "kms:ReEncryptFrom",
          "resource": "arn:aws:kms:eu-west-3:222222222222:key/5555eeee-2222-3333-4444-555566667777",
          "context": {"kms:ViaService": "ec2.eu-west-3.amazonaws.com"}}]}]}]}));
    let report = check(&inventory(), &plan);
    let r = &report.steps[0].requests[0];
    assert_eq!(r.outcome, Outcome::Denied);
    assert!(r.fixes.is_empty(), "{:#?}", r.fixes);
    assert!(r.no_fix.as_deref().unwrap().contains("AWS managed key"), "{:?}", r.no_fix);
    assert!(r.not_offered.iter().any(|n| n.contains("cannot be changed")), "{:?}", r.not_offered);
}
