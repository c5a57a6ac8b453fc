//! Evidence in the generated role policies, decided by the engine: the roles that acquire or clean up
//! are denied deleting (and untagging) any snapshot marked as evidence, explicitly; they delete only
//! snapshots their runs created; they add the evidence tag and nothing else; and only the evidence
//! custodian, a separate role written when `discard-evidence` is asked for, may delete evidence.
//!
//! AWS rules relied on:
//! - DeleteSnapshot and DeleteTags are authorized on the snapshot, whose tags are the
//!   `aws:ResourceTag/${TagKey}` keys (EC2 service authorization reference, DeleteSnapshot and
//!   DeleteTags, resource type snapshot,
//!   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>).
//! - `Null` with `false` holds when the key is present, whatever its value; `ForAllValues:` holds
//!   when every value of a multivalued key (`aws:TagKeys`) is among those listed (IAM User Guide,
//!   condition operators,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
//! - An explicit Deny overrides any Allow (IAM User Guide, "Policy evaluation logic",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{
    render, role_policies, Feature, Format, GenerateError, GeneratedRolePolicies, KmsMode, RoleOptions,
};
use custody_policy::{evaluate, parse_case, DecisionKind};
use serde_json::{json, Value};

use DecisionKind::{Allowed, ExplicitDeny, ImplicitDeny};

const F: &str = "111111111111";
const S: &str = "222222222222";
const FORENSIC: &str = "arn:aws:sts::111111111111:assumed-role/CustodyForensic/custody-case-1";
const SOURCE: &str = "arn:aws:sts::222222222222:assumed-role/CustodySource/custody-case-1";
const CUSTODIAN: &str = "arn:aws:sts::111111111111:assumed-role/CustodyEvidenceCustodian/alice";
const RUN: &str = "r-20261203T101500Z-3f9a2c1b";
/// A snapshot in a region the policies were not generated for: the Deny holds everywhere.
const SNAP: &str = "arn:aws:ec2:ap-south-2::snapshot/snap-0123456789abcdef0";

fn options(features: &[Feature]) -> RoleOptions {
    RoleOptions {
        features: features.iter().copied().collect(),
        kms: KmsMode::GrantOnly,
        regions: vec!["eu-west-1".into()],
        forensic_region: Some("eu-west-1".into()),
        forensic_account: Some(F.into()),
        source_accounts: vec![S.into()],
        ..RoleOptions::default()
    }
}

fn generate(o: &RoleOptions) -> GeneratedRolePolicies {
    o.validate().unwrap();
    role_policies(o)
}

/// The engine's decision for `principal` doing `action` on `resource` with `context`, under
/// `policies` as its identity policies.
fn decide(policies: &[&Value], principal: &str, action: &str, resource: &str, context: Value) -> DecisionKind {
    let case = json!({"request": {"principal": principal, "action": action, "resource": resource, "context": context},
        "identity_policies": policies});
    evaluate(&parse_case(&case.to_string()).unwrap()).kind
}

/// The tags of a snapshot a custody run created, as `aws:ResourceTag/…` context keys, plus `extra`.
fn tags(extra: &[(&str, &str)]) -> Value {
    let mut ctx = json!({"aws:ResourceTag/CustodyCase": "case-1", "aws:ResourceTag/CustodyInstance": "i-1",
        "aws:ResourceTag/CustodyRun": RUN});
    for (k, v) in extra {
        ctx[format!("aws:ResourceTag/{k}")] = json!(v);
    }
    ctx
}

/// Allows every EC2 action: another policy an administrator might attach to the role.
fn ec2_everything() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]})
}

/// Every acquiring role's policy, for each feature set that creates or deletes snapshots.
fn acquiring_roles() -> Vec<(String, &'static str, Value)> {
    let mut out = Vec::new();
    for features in [&[Feature::Acquire][..], &[Feature::Cleanup], &[Feature::Acquire, Feature::Cleanup], &Feature::ALL]
    {
        let g = generate(&options(features));
        out.push((format!("{features:?} forensic"), FORENSIC, g.forensic_role.policy.clone().unwrap()));
        out.push((format!("{features:?} source"), SOURCE, g.source_role.policy.clone().unwrap()));
    }
    out
}

#[test]
fn deleting_an_evidence_snapshot_is_explicitly_denied_to_every_acquiring_role() {
    for (what, principal, policy) in acquiring_roles() {
        let everything = ec2_everything();
        // The tag's presence decides, not its value: rewriting the value changes nothing.
        for value in ["true", "false", ""] {
            let ctx = tags(&[("CustodyEvidence", value)]);
            let alone = decide(&[&policy], principal, "ec2:DeleteSnapshot", SNAP, ctx.clone());
            assert_eq!(alone, ExplicitDeny, "{what}, CustodyEvidence={value:?}");
            let with_more = decide(&[&policy, &everything], principal, "ec2:DeleteSnapshot", SNAP, ctx);
            assert_eq!(with_more, ExplicitDeny, "{what}: another policy's Allow cannot lift the Deny");
        }
    }
}

#[test]
fn removing_tags_from_an_evidence_snapshot_is_explicitly_denied_to_every_acquiring_role() {
    for (what, principal, policy) in acquiring_roles() {
        let everything = ec2_everything();
        // DeleteTags without a tag list removes every tag (EC2 API Reference, DeleteTags,
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteTags.html): no aws:TagKeys.
        for keys in [json!(["CustodyEvidence"]), json!(["CustodyCase"]), Value::Null] {
            let mut ctx = tags(&[("CustodyEvidence", "true")]);
            if !keys.is_null() {
                ctx["aws:TagKeys"] = keys.clone();
            }
            let d = decide(&[&policy, &everything], principal, "ec2:DeleteTags", SNAP, ctx);
            assert_eq!(d, ExplicitDeny, "{what}: DeleteTags {keys}");
        }
    }
}

#[test]
fn the_acquiring_roles_delete_only_non_evidence_snapshots_their_runs_created() {
    let g = generate(&RoleOptions { source_accounts: vec![S.into(), F.into()], ..options(&[Feature::Cleanup]) });
    let snap = "arn:aws:ec2:eu-west-1::snapshot/snap-1";
    for (principal, policy) in [(SOURCE, &g.source_role.policy), (FORENSIC, &g.forensic_role.policy)] {
        let p = policy.as_ref().unwrap();
        let delete = |ctx: Value| decide(&[p], principal, "ec2:DeleteSnapshot", snap, ctx);
        assert_eq!(delete(tags(&[])), Allowed, "{principal}: an intermediate snapshot of a run");
        let case_only = json!({"aws:ResourceTag/CustodyCase": "case-1", "aws:ResourceTag/CustodyInstance": "i-1"});
        assert_eq!(delete(case_only), ImplicitDeny, "{principal}: the case tag alone is not custody's");
        assert_eq!(delete(json!({"aws:ResourceTag/CustodyRun": RUN})), ImplicitDeny, "{principal}: no case tag");
        assert_eq!(delete(json!({})), ImplicitDeny, "{principal}: untagged");
        assert_eq!(delete(tags(&[("CustodyEvidence", "true")])), ExplicitDeny, "{principal}: evidence");
    }
}

#[test]
fn acquiring_roles_may_add_the_evidence_tag_and_no_other_to_snapshots_of_their_runs() {
    // The forensic account's own volumes (paths 1–3) and path 9: the snapshot kept is marked in place.
    let same = generate(&RoleOptions { source_accounts: vec![F.into()], ..options(&[Feature::Acquire]) });
    let direct = generate(&options(&[Feature::Acquire, Feature::DirectRead]));
    let snap = "arn:aws:ec2:eu-west-1::snapshot/snap-1";
    for (principal, policy) in [(FORENSIC, &same.forensic_role.policy), (SOURCE, &direct.source_role.policy)] {
        let p = policy.as_ref().unwrap();
        let tag = |resource: Value, request: &[(&str, &str)]| {
            let mut ctx = resource;
            for (k, v) in request {
                ctx[format!("aws:RequestTag/{k}")] = json!(v);
            }
            ctx["aws:TagKeys"] = json!(request.iter().map(|(k, _)| *k).collect::<Vec<_>>());
            decide(&[p], principal, "ec2:CreateTags", snap, ctx)
        };
        assert_eq!(tag(tags(&[]), &[("CustodyEvidence", "true")]), Allowed, "{principal}");
        assert_eq!(tag(tags(&[("CustodyEvidence", "true")]), &[("CustodyEvidence", "true")]), Allowed, "again");
        assert_eq!(tag(tags(&[]), &[("CustodyEvidence", "false")]), ImplicitDeny, "{principal}: another value");
        let two = [("CustodyEvidence", "true"), ("CustodyCase", "other")];
        assert_eq!(tag(tags(&[]), &two), ImplicitDeny, "{principal}: another key besides");
        assert_eq!(tag(tags(&[]), &[("CustodyCase", "other")]), ImplicitDeny, "{principal}: retagging the case");
        let case_only = json!({"aws:ResourceTag/CustodyCase": "case-1"});
        assert_eq!(tag(case_only, &[("CustodyEvidence", "true")]), ImplicitDeny, "{principal}: not a run's");
    }
    // Cross-account acquisition without direct read marks nothing in the source account.
    let g = generate(&options(&[Feature::Acquire]));
    let ctx = json!({"aws:ResourceTag/CustodyRun": RUN, "aws:RequestTag/CustodyEvidence": "true",
        "aws:TagKeys": ["CustodyEvidence"]});
    let p = g.source_role.policy.as_ref().unwrap();
    assert_eq!(decide(&[p], SOURCE, "ec2:CreateTags", snap, ctx), ImplicitDeny);
}

#[test]
fn the_evidence_custodian_is_written_only_when_asked_for() {
    let all_but: Vec<Feature> = Feature::ALL.into_iter().filter(|f| *f != Feature::DiscardEvidence).collect();
    let g = generate(&options(&all_but));
    assert!(g.custodian_role.is_none());
    for format in [Format::Json, Format::Cfn, Format::Terraform] {
        let text = render(&g, format);
        assert!(!text.contains("CustodyEvidenceCustodian") && !text.contains("custodian_role"), "{format}: {text}");
    }
    let with = generate(&options(&[Feature::Acquire, Feature::DiscardEvidence]));
    let custodian = with.custodian_role.as_ref().unwrap();
    assert_eq!(
        custodian.role_arns,
        [
            "arn:aws:iam::111111111111:role/CustodyEvidenceCustodian",
            "arn:aws:iam::222222222222:role/CustodyEvidenceCustodian"
        ],
        "one per account that holds evidence"
    );
    assert_eq!(with.forensic_role, g_acquire().forensic_role, "the acquiring roles are unchanged");
    assert_eq!(with.source_role, g_acquire().source_role);
    assert!(with.notes.iter().any(|n| n.contains("authority to destroy evidence")), "{:?}", with.notes);
}

fn g_acquire() -> GeneratedRolePolicies {
    generate(&options(&[Feature::Acquire]))
}

#[test]
fn the_evidence_custodian_deletes_custody_evidence_and_nothing_else() {
    let g = generate(&options(&[Feature::DiscardEvidence]));
    assert!(g.forensic_role.policy.is_none() && g.source_role.policy.is_none(), "nothing for the acquiring roles");
    let p = g.custodian_role.as_ref().unwrap().policy.clone().unwrap();
    assert!(p["Statement"].as_array().unwrap().iter().all(|s| s["Effect"] == "Allow"), "no Deny: {p:#}");
    let snap = "arn:aws:ec2:eu-west-1::snapshot/snap-1";
    for action in ["ec2:DeleteSnapshot", "ec2:DeleteTags"] {
        let d = |ctx: Value| decide(&[&p], CUSTODIAN, action, snap, ctx);
        assert_eq!(d(tags(&[("CustodyEvidence", "true")])), Allowed, "{action}");
        assert_eq!(d(tags(&[])), ImplicitDeny, "{action}: not evidence, not the custodian's to delete");
        assert_eq!(d(json!({"aws:ResourceTag/CustodyEvidence": "true"})), ImplicitDeny, "{action}: not custody's");
    }
    assert_eq!(decide(&[&p], CUSTODIAN, "ec2:DescribeSnapshots", "*", json!({})), Allowed);
    assert_eq!(decide(&[&p], CUSTODIAN, "ec2:CreateSnapshots", snap, json!({})), ImplicitDeny);
}

#[test]
fn the_evidence_custodian_is_never_a_role_custody_runs_as() {
    for name in ["CustodyForensic", "CustodySource", "custody/CustodySource"] {
        let o =
            RoleOptions { custodian_role_name: name.into(), ..options(&[Feature::Acquire, Feature::DiscardEvidence]) };
        let e = o.validate().unwrap_err();
        assert_eq!(e, GenerateError::CustodianIsAnAcquiringRole(name.into()));
        assert!(e.help().contains("--custodian-role"), "{}", e.help());
    }
    let bad = RoleOptions { custodian_role_name: "a:b".into(), ..options(&[Feature::DiscardEvidence]) };
    assert!(matches!(bad.validate(), Err(GenerateError::BadRoleName(_))));
    // Without the feature the name is not used, and may be anything valid.
    let unused = RoleOptions { custodian_role_name: "CustodyForensic".into(), ..options(&[Feature::Acquire]) };
    assert!(unused.validate().is_ok());
}
