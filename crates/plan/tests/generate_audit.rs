//! Feature `audit` of `custody policy role`: `cloudtrail:LookupEvents` on Resource `"*"` in every
//! role custody uses (the forensic role, the source role), and nothing else, in every format.
//!
//! The Service Authorization Reference lists no resource type and no condition keys for
//! LookupEvents, so it can only be allowed on `"*"`
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{
    render, role_cfn_files, role_policies, Feature, Format, GeneratedRolePolicies, KmsMode, RoleOptions,
};
use serde_json::{json, Value};

const F: &str = "999999999999";
const S: &str = "111122223333";

/// The statement the feature adds, exactly.
fn lookup_events() -> Value {
    json!({
        "Sid": "AuditReadCloudTrailEventHistory",
        "Effect": "Allow",
        "Action": ["cloudtrail:LookupEvents"],
        "Resource": "*"
    })
}

fn statements(policy: &Option<Value>) -> Vec<Value> {
    policy.as_ref().map(|p| p["Statement"].as_array().unwrap().clone()).unwrap_or_default()
}

/// The accounts an operator may give: a source account of its own, the forensic account among the
/// sources, none at all.
fn accounts(o: RoleOptions) -> Vec<RoleOptions> {
    vec![
        RoleOptions { forensic_account: Some(F.into()), source_accounts: vec![S.into()], ..o.clone() },
        RoleOptions { forensic_account: Some(F.into()), source_accounts: vec![S.into(), F.into()], ..o.clone() },
        RoleOptions { regions: vec!["eu-west-1".into()], forensic_region: Some("eu-west-3".into()), ..o.clone() },
        o,
    ]
}

fn with_audit(o: &RoleOptions) -> RoleOptions {
    RoleOptions { features: o.features.iter().copied().chain([Feature::Audit]).collect(), ..o.clone() }
}

fn generate(o: &RoleOptions) -> GeneratedRolePolicies {
    o.validate().unwrap();
    role_policies(o)
}

#[test]
fn audit_adds_exactly_lookup_events_on_any_resource_to_each_role() {
    // Feature sets whose roles already reach the source accounts (AssumeSourceRole), alone and mixed.
    let bases: [&[Feature]; 5] = [
        &[Feature::Acquire],
        &[Feature::Acquire, Feature::Cleanup],
        &[Feature::Triage],
        &[Feature::DirectRead, Feature::Image],
        &[Feature::Acquire, Feature::Image, Feature::Triage, Feature::Cleanup, Feature::Volume],
    ];
    for features in bases {
        for kms in KmsMode::ALL {
            let base = RoleOptions { kms, ..RoleOptions::for_features(features.iter().copied()) };
            for o in accounts(base) {
                let (before, after) = (generate(&o), generate(&with_audit(&o)));
                let mut want = statements(&before.forensic_role.policy);
                want.push(lookup_events());
                assert_eq!(statements(&after.forensic_role.policy), want, "forensic role, {o:?}");
                if before.source_role.policy.is_some() {
                    let mut want = statements(&before.source_role.policy);
                    want.push(lookup_events());
                    assert_eq!(statements(&after.source_role.policy), want, "source role, {o:?}");
                } else {
                    // The forensic account is the only source: no source role is written.
                    assert_eq!(after.source_role.policy, None, "{o:?}");
                }
                assert_eq!(after.source_trust_policy, before.source_trust_policy, "{o:?}");
                assert_eq!(after.custodian_role, before.custodian_role, "{o:?}");
                assert_eq!(after.instance_profile, before.instance_profile, "{o:?}");
                assert_eq!(after.output_bucket_policy, before.output_bucket_policy, "{o:?}");
                let explained = after.forensic_role.statements.last().unwrap();
                assert_eq!(explained.sid, "AuditReadCloudTrailEventHistory");
                assert!(explained.purpose.contains("read CloudTrail's event history to audit an acquisition"));
                assert_eq!(
                    explained.doc,
                    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html"
                );
            }
        }
    }
}

#[test]
fn audit_alone_reaches_every_account_custody_uses() {
    let o = RoleOptions {
        forensic_account: Some(F.into()),
        source_accounts: vec![S.into()],
        ..RoleOptions::for_features([Feature::Audit])
    };
    let g = generate(&o);
    // The forensic role assumes the source role to read the source account's history, and reads its own.
    let assume = json!({
        "Sid": "AssumeSourceRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": format!("arn:aws:iam::{S}:role/CustodySource")
    });
    assert_eq!(statements(&g.forensic_role.policy), vec![assume, lookup_events()]);
    assert_eq!(statements(&g.source_role.policy), vec![lookup_events()]);
    assert_eq!(
        g.source_trust_policy.unwrap()["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{F}:role/CustodyForensic")
    );
    // Nothing else: no Deny for evidence (audit neither creates nor deletes a snapshot).
    let same_account = generate(&RoleOptions { source_accounts: vec![F.into()], ..o });
    assert_eq!(statements(&same_account.forensic_role.policy), vec![lookup_events()]);
    assert_eq!(same_account.source_role.policy, None);
}

#[test]
fn every_format_writes_the_audit_statement_for_each_role() {
    let o = RoleOptions {
        forensic_account: Some(F.into()),
        source_accounts: vec![S.into()],
        ..RoleOptions::for_features([Feature::Acquire, Feature::Audit])
    };
    let g = generate(&o);
    let json: Value = serde_json::from_str(&render(&g, Format::Json)).unwrap();
    for role in ["forensic_role", "source_role"] {
        let statements = json[role]["policy"]["Statement"].as_array().unwrap();
        assert_eq!(statements.last(), Some(&lookup_events()), "{role}");
    }
    let files = role_cfn_files(&g);
    for file in ["forensic-account.yaml", "source-account.yaml"] {
        let text = &files.iter().find(|t| t.file == file).unwrap().text;
        assert!(text.contains("Sid: AuditReadCloudTrailEventHistory"), "{file}:\n{text}");
        assert!(text.contains("- cloudtrail:LookupEvents"), "{file}:\n{text}");
        // Its purpose, in the statement comments at the top.
        assert!(text.contains("read CloudTrail's event history to audit an acquisition"), "{file}:\n{text}");
    }
    let tf = render(&g, Format::Terraform);
    assert_eq!(tf.matches("\"cloudtrail:LookupEvents\"").count(), 2, "{tf}");
    assert_eq!(tf.matches("\"AuditReadCloudTrailEventHistory\"").count(), 2, "{tf}");
    assert_eq!(tf.matches("# AuditReadCloudTrailEventHistory: read CloudTrail's event history").count(), 2, "{tf}");
}

#[test]
fn the_feature_is_named_audit() {
    assert_eq!("audit".parse::<Feature>().unwrap(), Feature::Audit);
    assert_eq!(Feature::Audit.to_string(), "audit");
    assert!(Feature::ALL.contains(&Feature::Audit));
}
