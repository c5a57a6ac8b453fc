//! The preflight on hand-built plans: each test is one rule, with the AWS page it comes from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::fix::FixKind;
use custody_plan::check::{check, Outcome, StepOutcome};

#[test]
fn allowed_requests_name_the_statements_that_allow_them() {
    let report = check(&inventory(), &scenario("allowed"));
    assert!(report.all_pass(), "{report:#?}");
    assert_eq!((report.summary.passed, report.summary.failed, report.summary.unknown), (2, 0, 0));
    let r = request(&report, "snapshot", "ec2:CreateSnapshots");
    assert_eq!(r.outcome, Outcome::Allowed);
    // The session is the role under its path (a session ARN carries no path: IAM User Guide,
    // "IAM identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
    let d = &r.deciding[0];
    assert_eq!(
        (d.policy.as_str(), d.statement, d.sid.as_deref()),
        ("identity_policies[0]", Some(0), Some("CustodySnapshots"))
    );
    assert_eq!(d.origin, format!("identity policy 0 of {SR}"));
    assert!(r.fixes.is_empty() && r.case.is_none());
}

#[test]
fn a_key_policy_without_the_caller_or_its_account_is_an_implicit_deny_fixed_in_the_key_policy() {
    // "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS
    // key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
    let report = check(&inventory(), &scenario("key-policy-implicit-deny"));
    let s = step(&report, "snapshot:vol-0123456789abcdef0");
    assert_eq!(s.outcome, StepOutcome::Fail);
    let r = &s.requests[0];
    assert_eq!(r.outcome, Outcome::Denied);
    let x = r.explanation.as_ref().unwrap();
    assert_eq!((x.decision, x.gate.as_ref().map(|g| g.kind)), ("implicitDeny", Some("key_policy")));
    let f = &r.fixes[0];
    assert_eq!((f.kind, f.verified, f.changes.len()), (FixKind::KeyPolicyStatement, true, 1));
    let stmt = f.changes[0].json.as_ref().unwrap();
    // The key policy names the role (with its path), not the session; EC2's grant stays limited to
    // AWS resources (seed 003, "Allow attachment of persistent resources").
    assert_eq!(stmt["Principal"]["AWS"], SR);
    assert_eq!(stmt["Action"], "kms:CreateGrant");
    assert_eq!(stmt["Condition"]["Bool"]["kms:GrantIsForAWSResource"], true);
    assert_eq!(stmt["Sid"], "CustodyKmsCreateGrantForSnapshot");
    assert_eq!(f.changes[0].target, format!("the key policy of {K_STRICT}"));
    // The statement that names another principal is a near miss, but it grants kms:*: adding the role
    // to it is not offered.
    assert!(!r.fixes.iter().any(|f| f.kind == FixKind::CorrectedPrincipal), "{:#?}", r.fixes);
    assert!(
        r.not_offered.iter().any(|n| n.contains("`kms:*`, far more than this request needs")),
        "{:?}",
        r.not_offered
    );
    // Same account: the seeds' cross-account alternatives do not apply.
    assert!(!r.fixes.iter().any(|f| matches!(f.kind, FixKind::KmsGrantOnly | FixKind::KmsOwnerGrant)));
}

#[test]
fn a_key_of_another_account_needs_both_sides_and_lists_every_kms_option() {
    // "If you add external AWS accounts to a key policy, you must also use IAM policies in the external
    // accounts" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
    let report = check(&inventory(), &scenario("cross-account-both-sides"));
    let r = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:ReEncryptFrom");
    assert_eq!(r.outcome, Outcome::Denied);
    let minimal = &r.fixes[0];
    assert_eq!(minimal.kind, FixKind::KeyPolicyStatement);
    let targets: Vec<&str> = minimal.changes.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(targets[0].starts_with("the key policy of") && targets[1].contains(FR), "{targets:?}");
    let kinds: Vec<FixKind> = r.fixes.iter().map(|f| f.kind).collect();
    for option in [FixKind::KmsGrantOnly, FixKind::KmsDirectUse, FixKind::KmsOwnerGrant] {
        assert!(kinds.contains(&option), "{option:?} missing from {kinds:?}");
    }
    assert!(r.fixes.iter().all(|f| f.verified));
}

#[test]
fn the_key_owner_grant_is_the_create_grant_command_with_only_the_operations_the_plan_needs() {
    let report = check(&inventory(), &scenario("cross-account-both-sides"));
    let r = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:DescribeKey");
    let f = r.fixes.iter().find(|f| f.kind == FixKind::KmsOwnerGrant).unwrap();
    let cmd = f.changes[0].command.as_deref().unwrap();
    // Seed 003 example 2's form; the operations are those the plan performs as the forensic role.
    assert!(cmd.starts_with("aws kms create-grant \\\n  --region eu-west-3 \\\n"), "{cmd}");
    assert!(cmd.contains(&format!("--key-id {K_SRC}")) && cmd.contains(&format!("--grantee-principal {FR}")), "{cmd}");
    assert!(cmd.contains("--operations \"CreateGrant\" \"DescribeKey\" \"ReEncryptFrom\""), "{cmd}");
    assert!(cmd.contains(&format!("--retiring-principal {FR}")), "{cmd}");
    assert!(!cmd.contains("Encrypt\" ") && !cmd.contains("GenerateDataKey"), "only what the plan needs: {cmd}");
}

#[test]
fn grant_only_gives_the_source_role_create_grant_scoped_to_the_grantee() {
    let report = check(&inventory(), &scenario("cross-account-both-sides"));
    let r = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:CreateGrant");
    let f = r.fixes.iter().find(|f| f.kind == FixKind::KmsGrantOnly).unwrap();
    let stmt = f.changes[0].json.as_ref().unwrap();
    assert_eq!(stmt["Action"], "kms:CreateGrant");
    assert_eq!(stmt["Resource"], K_SRC);
    assert_eq!(stmt["Condition"]["StringEquals"]["kms:GranteePrincipal"], FR);
    assert!(f.changes[0].target.contains(SR) && f.changes[0].case_field.is_none());
    let grant = f.changes.last().unwrap();
    assert_eq!(grant.json.as_ref().unwrap()["grantee_principal"], FR);
    assert_eq!(grant.json.as_ref().unwrap()["retiring_principal"], SR);
}

#[test]
fn direct_use_is_not_offered_for_custodys_own_create_grant() {
    // kms:GrantIsForAWSResource is true "only when an AWS service integrated with AWS KMS calls the
    // operation on the user's behalf" (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
    let report = check(&inventory(), &scenario("cross-account-both-sides"));
    let r = request(&report, "custody-grant:vol-0123456789abcdef0", "kms:CreateGrant");
    assert!(!r.fixes.iter().any(|f| f.kind == FixKind::KmsDirectUse));
    assert!(
        r.not_offered.iter().any(|n| n.starts_with("direct use") && n.contains("GrantIsForAWSResource")),
        "{:?}",
        r.not_offered
    );
    assert!(r.fixes.iter().any(|f| f.kind == FixKind::KmsOwnerGrant), "{:?}", r.not_offered);
}

#[test]
fn a_via_service_condition_for_another_region_is_corrected_in_place() {
    // Seeds 000-002: "ensure that ... policy Conditions don't preclude the platform's access".
    let report = check(&inventory(), &scenario("cross-region"));
    let r = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:CreateGrant");
    assert_eq!(r.outcome, Outcome::Denied);
    let x = r.explanation.as_ref().unwrap();
    let miss = &x.near_misses[0];
    assert_eq!((miss.statement, miss.reason), (1, "condition"));
    let f = &r.fixes[0];
    assert_eq!((f.kind, f.verified), (FixKind::CorrectedCondition, true));
    let c = &f.changes[0];
    assert_eq!((c.statement, c.sid.as_deref()), (Some(1), Some("Allow attachment of persistent resources")));
    assert_eq!(c.conditions[0].key, "kms:ViaService");
    assert_eq!(c.conditions[0].was, ["ec2.eu-west-3.amazonaws.com"]);
    assert_eq!(c.conditions[0].now, ["ec2.eu-west-3.amazonaws.com", "ec2.eu-west-1.amazonaws.com"]);
    let stmt = c.json.as_ref().unwrap();
    assert_eq!(stmt["Condition"]["Bool"]["kms:GrantIsForAWSResource"], true, "the rest of the statement is kept");
    assert!(f.summary.contains("`ec2.eu-west-1.amazonaws.com`"), "{}", f.summary);
    // The Decrypt request nearly matched the other statement, corrected the same way; that widening
    // also opens the statement's other actions in eu-west-1, so a statement for Decrypt alone, which
    // adds nothing, is ranked first.
    let d = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:Decrypt");
    assert_eq!((d.fixes[0].kind, d.fixes[0].adds.len()), (FixKind::KeyPolicyStatement, 0));
    let widened = d.fixes.iter().find(|f| f.kind == FixKind::CorrectedCondition).unwrap();
    assert_eq!(widened.changes[0].statement, Some(0));
    assert!(!widened.adds.is_empty());
}

#[test]
fn an_explicit_deny_is_blamed_not_fixed() {
    let report = check(&inventory(), &scenario("explicit-deny"));
    let r = request(&report, "delete-temporary:snap-temp-1", "ec2:DeleteSnapshot");
    assert_eq!(r.outcome, Outcome::Denied);
    assert_eq!(r.deciding[0].sid.as_deref(), Some("NoDeletingEvidence"));
    assert_eq!(r.fixes.len(), 1);
    let f = &r.fixes[0];
    assert_eq!((f.kind, f.verified), (FixKind::ExplicitDeny, false));
    assert_eq!(f.changes[0].json.as_ref().unwrap()["Effect"], "Deny");
    assert!(f.reason.contains("still be refused"), "no identity policy allows DeleteSnapshot either: {}", f.reason);
}

#[test]
fn an_explicit_deny_decides_even_when_the_key_policy_is_unknown() {
    let report = check(&inventory(), &scenario("explicit-deny"));
    let r = request(&report, "schedule-key-deletion", "kms:ScheduleKeyDeletion");
    assert_eq!(r.outcome, Outcome::Denied);
    assert!(r.unknown.is_empty());
}

#[test]
fn an_unknown_key_policy_makes_the_request_and_its_step_unknown() {
    let report = check(&inventory(), &scenario("unknown-key-policy"));
    let s = step(&report, "read:vol-0123456789abcdef0");
    assert_eq!(s.outcome, StepOutcome::Unknown);
    assert_eq!(s.requests[0].outcome, Outcome::Allowed);
    let r = &s.requests[1];
    assert_eq!(r.outcome, Outcome::Unknown);
    assert_eq!(r.unknown, [format!("the key policy of {K_NOPOL} is unknown")]);
    assert!(r.fixes.is_empty() && r.case.is_some());
    assert!(!report.all_pass());
    assert_eq!(report.summary.unknown, 1);
}

#[test]
fn unknown_grants_cannot_deny_and_unknown_scps_cannot_allow() {
    // Grants only allow ("grants cannot deny", https://docs.aws.amazon.com/kms/latest/developerguide/grants.html);
    // SCPs only limit (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
    let mut inv = inventory_json();
    key_mut(&mut inv, K_SRC)["unknown"] = serde_json::json!(["grants"]);
    inv["scps"].as_object_mut().unwrap().remove("222222222222");
    inv["unknown"] = serde_json::json!(["scps:222222222222"]);
    let report = check(&load(&inv), &scenario("grant-from-earlier-step"));
    // Denied on what is known, but a grant nobody could read might allow it.
    let before = request(&report, "describe-before:vol-0123456789abcdef0", "kms:DescribeKey");
    assert_eq!(before.outcome, Outcome::Unknown);
    assert!(before.unknown[0].contains("grants on"), "{:?}", before.unknown);
    // Allowed by the plan's grant; the unknown grants cannot take that away, but the caller's account
    // is 111111111111, whose SCPs are known.
    let copy = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:ReEncryptFrom");
    assert_eq!(copy.outcome, Outcome::Allowed);
    // The source role's own requests depend on the unknown SCPs of 222222222222.
    let retire = request(&report, "retire-grant:vol-0123456789abcdef0", "kms:RetireGrant");
    assert_eq!(retire.outcome, Outcome::Unknown);
    assert_eq!(retire.unknown, ["the SCPs of account 222222222222 are unknown"]);
}

#[test]
fn a_grant_created_by_an_earlier_step_authorizes_later_requests_until_retired() {
    let mut inv = inventory_json();
    // Seed option 1 in place: the source role may create grants for the forensic role.
    principal_mut(&mut inv, SR)["identity_policies"][0]["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "CustodyCreateGrantForCustodyResponse", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": K_SRC,
        "Condition": {"StringEquals": {"kms:GranteePrincipal": FR}}
    }));
    let report = check(&load(&inv), &scenario("grant-from-earlier-step"));
    let outcome = |id: &str| step(&report, id).outcome;
    assert_eq!(outcome("describe-before:vol-0123456789abcdef0"), StepOutcome::Fail);
    assert_eq!(outcome("create-grant:vol-0123456789abcdef0"), StepOutcome::Pass);
    assert_eq!(outcome("copy-snapshot:vol-0123456789abcdef0"), StepOutcome::Pass);
    let r = request(&report, "copy-snapshot:vol-0123456789abcdef0", "kms:ReEncryptFrom");
    assert_eq!(r.deciding[0].policy, "grants[0]");
    assert_eq!(r.deciding[0].sid.as_deref(), Some("custody-grant-vol-0123456789abcdef0"));
    assert!(
        r.deciding[0].origin.contains("created by step `create-grant:vol-0123456789abcdef0`"),
        "{}",
        r.deciding[0].origin
    );
    // RetireGrant by the retiring principal (https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete).
    assert_eq!(outcome("retire-grant:vol-0123456789abcdef0"), StepOutcome::Pass);
    assert_eq!(outcome("describe-after:vol-0123456789abcdef0"), StepOutcome::Fail, "the grant is retired");
}

#[test]
fn the_temporary_keys_own_policy_decides_later_requests_on_it() {
    let report = check(&inventory(), &scenario("temp-key"));
    let early = request(&report, "too-early:vol-0123456789abcdef0", "kms:DescribeKey");
    assert_eq!(early.outcome, Outcome::Unknown, "the key does not exist yet");
    let create = step(&report, "create-temp-key:vol-0123456789abcdef0");
    assert_eq!(create.outcome, StepOutcome::Pass, "{create:#?}");
    let r = request(&report, "share:vol-0123456789abcdef0", "kms:DescribeKey");
    assert_eq!(r.outcome, Outcome::Allowed);
    let origins: Vec<&str> = r.deciding.iter().map(|d| d.origin.as_str()).collect();
    assert!(origins.iter().any(|o| o.starts_with("the key policy custody puts on the key")), "{origins:?}");
    assert!(r.deciding.iter().any(|d| d.sid.as_deref() == Some("CustodyTemporaryKeys")), "both sides, across accounts");
    // Encrypt is not in custody's policy for the temporary key: the fix goes into the planned policy,
    // and the identity side is scoped by the alias prefix (kms:ResourceAliases,
    // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases).
    let e = request(&report, "share:vol-0123456789abcdef0", "kms:Encrypt");
    assert_eq!(e.outcome, Outcome::Denied);
    let f = &e.fixes[0];
    assert!(f.changes[0].target.starts_with("the key policy custody puts on the key"), "{:#?}", f.changes);
    let id = f.changes.iter().find(|c| c.case_field.as_deref() == Some("identity_policies")).unwrap();
    let stmt = id.json.as_ref().unwrap();
    assert_eq!(stmt["Resource"], "arn:aws:kms:eu-west-3:222222222222:key/*");
    assert_eq!(stmt["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"], "alias/custody-*");
    assert!(!e.fixes.iter().any(|f| f.kind == FixKind::KmsOwnerGrant), "not for the key custody creates");
}

#[test]
fn assume_role_checks_the_identity_side_and_the_trust_policy_separately() {
    let report = check(&inventory(), &scenario("assume-role"));
    assert!(report.all_pass(), "{report:#?}");
    let trust = &step(&report, "assume-source-role").requests[1];
    assert_eq!(trust.deciding.len(), 1, "the stand-in for the caller's side is not reported: {:?}", trust.deciding);
    assert_eq!(trust.deciding[0].origin, format!("the trust policy of {SR}"));

    let mut inv = inventory_json();
    principal_mut(&mut inv, SR)["trust_policy"]["Statement"][0]["Principal"]["AWS"] =
        "arn:aws:iam::333333333333:role/Other".into();
    let report = check(&load(&inv), &scenario("assume-role"));
    let s = step(&report, "assume-source-role");
    assert_eq!((s.requests[0].outcome, s.requests[1].outcome), (Outcome::Allowed, Outcome::Denied));
    let kinds: Vec<FixKind> = s.requests[1].fixes.iter().map(|f| f.kind).collect();
    assert!(
        kinds.contains(&FixKind::TrustPolicyStatement) && kinds.contains(&FixKind::CorrectedPrincipal),
        "{kinds:?}"
    );
    let add = s.requests[1].fixes.iter().find(|f| f.kind == FixKind::TrustPolicyStatement).unwrap();
    let stmt = add.changes[0].json.as_ref().unwrap();
    assert_eq!((stmt["Principal"]["AWS"].as_str(), stmt["Action"].as_str()), (Some(FR), Some("sts:AssumeRole")));
}

#[test]
fn an_scp_level_without_an_allow_gets_a_statement_at_that_level() {
    let mut inv = inventory_json();
    inv["scps"]["222222222222"][1][0]["Statement"][0]["Action"] = serde_json::json!(["ec2:*", "sts:*"]);
    let report = check(&load(&inv), &scenario("scp"));
    let r = &step(&report, "snapshot:vol-0123456789abcdef0").requests[0];
    let x = r.explanation.as_ref().unwrap();
    assert_eq!(x.gate.as_ref().map(|g| (g.kind, g.level)), Some(("scp", Some(1))));
    assert_eq!(r.fixes[0].kind, FixKind::ScpStatement);
    assert_eq!(r.fixes[0].changes[0].case_field.as_deref(), Some("scps[1][0]"));
}

#[test]
fn a_permissions_boundary_without_the_action_gets_it_added() {
    let mut inv = inventory_json();
    principal_mut(&mut inv, FR)["permissions_boundary"] = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "sts:AssumeRole"], "Resource": "*"}]});
    let report = check(&load(&inv), &scenario("boundary"));
    let r = &step(&report, "read:vol-0123456789abcdef0").requests[0];
    assert_eq!(r.explanation.as_ref().unwrap().gate.as_ref().unwrap().kind, "permissions_boundary");
    assert_eq!(r.fixes[0].kind, FixKind::BoundaryStatement);
}

#[test]
fn retiring_a_grant_one_is_not_the_retiring_principal_of_names_the_grant_to_change() {
    let report = check(&inventory(), &scenario("retire-grant"));
    let r = request(&report, "retire", "kms:RetireGrant");
    assert_eq!(r.explanation.as_ref().unwrap().gate.as_ref().unwrap().kind, "retire_grant");
    let f = r.fixes.iter().find(|f| f.kind == FixKind::GrantRetiringPrincipal).unwrap();
    assert_eq!(f.changes[0].json.as_ref().unwrap()["retiring_principal"], FR);
}

#[test]
fn a_principal_missing_from_the_inventory_is_unknown_not_allowed() {
    let mut inv = inventory_json();
    inv["principals"].as_array_mut().unwrap().retain(|p| p["arn"] != SR);
    inv["config"]["source_role_arns"] = serde_json::json!({});
    let report = check(&load(&inv), &scenario("allowed"));
    assert_eq!(step(&report, "snapshot").outcome, StepOutcome::Unknown);
    assert!(step(&report, "snapshot").requests[0].unknown[0].contains("is not in the inventory"));
}

#[test]
fn an_inventory_that_could_read_nothing_allows_nothing() {
    let mut inv = inventory_json();
    for p in inv["principals"].as_array_mut().unwrap() {
        let p = p.as_object_mut().unwrap();
        p.remove("identity_policies");
        p.remove("trust_policy");
        p.insert("unknown".into(), serde_json::json!(["identity_policies", "trust_policy"]));
    }
    for k in inv["keys"].as_array_mut().unwrap() {
        let k = k.as_object_mut().unwrap();
        k.remove("policy");
        k.insert("unknown".into(), serde_json::json!(["policy", "grants"]));
    }
    inv.as_object_mut().unwrap().remove("scps");
    inv["unknown"] = serde_json::json!(["scps:111111111111", "scps:222222222222"]);
    let inventory = load(&inv);
    for name in ["allowed", "cross-account-both-sides", "grant-from-earlier-step", "temp-key", "assume-role", "scp"] {
        let report = check(&inventory, &scenario(name));
        for s in &report.steps {
            for r in &s.requests {
                assert_ne!(r.outcome, Outcome::Allowed, "{name}/{}: {} on {}", s.id, r.action, r.resource);
                assert!(r.outcome == Outcome::Unknown || !r.deciding.is_empty(), "{name}/{}: {r:?}", s.id);
            }
            assert_ne!(s.outcome, StepOutcome::Pass, "{name}/{}", s.id);
        }
    }
}

#[test]
fn a_step_that_rests_on_a_refused_grant_is_blocked_not_passed() {
    // Without the source role's CreateGrant permission, the grant is refused where it is made; the copy
    // that only that grant would allow (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html)
    // cannot pass, and is shown blocked by that step rather than as a pass.
    let report = check(&inventory(), &scenario("grant-from-earlier-step"));
    let create = "create-grant:vol-0123456789abcdef0";
    assert_eq!(step(&report, create).outcome, StepOutcome::Fail);
    let copy = step(&report, "copy-snapshot:vol-0123456789abcdef0");
    assert_eq!(copy.outcome, StepOutcome::Blocked, "{copy:#?}");
    assert_eq!(copy.blocked_by, [create]);
    assert!(report.summary.blocked >= 1 && !report.all_pass(), "{:?}", report.summary);
    let text = custody_plan::report::text(&report);
    assert!(text.contains("⊘ copy-snapshot:vol-0123456789abcdef0"), "{text}");
    assert!(text.contains(&format!("blocked: it rests on what step `{create}` creates")), "{text}");
    assert!(
        custody_plan::report::summary_line(&report).contains(" blocked"),
        "{}",
        custody_plan::report::summary_line(&report)
    );
}
