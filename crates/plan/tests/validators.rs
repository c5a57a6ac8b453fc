//! What `custody policy` writes passes the validators a reviewer runs: cfn-lint on every
//! CloudFormation template (no error), parliament on every IAM policy (every finding fixed or listed
//! in `fixtures/parliament-known-false-positives.json` with why and the AWS page that says so), the
//! Terraform parsed by an HCL parser, and `terraform fmt -check` where terraform is installed.
//! `scripts/validators python` installs cfn-lint and parliament (pinned) the first time, as
//! `scripts/moto` does moto. A known false positive matches a finding by issue, a text of its detail
//! and (`in`) of the policy's name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{
    key_policy, render, role_cfn_files, role_policies, Feature, Format, GeneratedRolePolicies, KeyAccess, KeyOptions,
    KeyPolicyAdvice, KmsMode, RoleOptions,
};
use custody_plan::inventory::Tag;
use custody_plan::plan::TriageOutput;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The interpreter that has cfn-lint and parliament (installed by `scripts/validators`).
fn python() -> String {
    let out = Command::new(root().join("scripts/validators")).arg("python").output().unwrap();
    assert!(out.status.success(), "`scripts/validators python` failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every combination `policy role` is asked for in practice: each KMS mode, all features with a
/// triage tag and an output bucket, and the smaller sets.
fn role_cases() -> Vec<GeneratedRolePolicies> {
    let mut out = Vec::new();
    for kms in KmsMode::ALL {
        for features in
            [&Feature::ALL[..], &[Feature::Acquire][..], &[Feature::Triage, Feature::Image][..], &[Feature::Audit][..]]
        {
            let triage = features.contains(&Feature::Triage);
            out.push(role_policies(&RoleOptions {
                features: features.iter().copied().collect(),
                kms,
                ssm_tag: triage.then(|| Tag { key: "CustodySSMEnabled".into(), value: "True".into() }),
                regions: vec!["eu-west-1".into()],
                forensic_account: Some("999999999999".into()),
                source_accounts: vec!["111122223333".into(), "444455556666".into()],
                output_bucket: triage.then(|| TriageOutput::parse("s3://custody-triage/out").unwrap()),
                ..RoleOptions::default()
            }));
        }
        out.push(role_policies(&RoleOptions::for_features(Feature::ALL)));
    }
    out
}

fn key_cases() -> Vec<KeyPolicyAdvice> {
    let key = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
    let mut out = Vec::new();
    for (principal, grantee) in [
        ("arn:aws:iam::999999999999:role/CustodyForensic", None),
        ("arn:aws:iam::111122223333:role/CustodySource", Some("arn:aws:iam::999999999999:role/CustodyForensic")),
        (
            "arn:aws:iam::444455556666:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            None,
        ),
    ] {
        for access in KeyAccess::ALL {
            let grantee = grantee.filter(|_| access == KeyAccess::GrantOnly).map(str::to_string);
            if let Ok(a) = key_policy(&KeyOptions {
                key_arn: key.into(),
                principal_arn: principal.into(),
                access,
                grantee_arn: grantee,
            }) {
                out.push(a);
            }
        }
    }
    out
}

#[test]
fn every_cloudformation_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, g) in role_cases().iter().enumerate() {
        for t in role_cfn_files(g) {
            let path = dir.path().join(format!("role-{i}-{}", t.file));
            std::fs::write(&path, &t.text).unwrap();
            files.push(path);
        }
    }
    for (i, a) in key_cases().iter().enumerate() {
        let text = render(a, Format::Cfn);
        // Advice that needs no IAM policy is a commented snippet for an existing key policy, no template.
        if text.lines().any(|l| l.starts_with("AWSTemplateFormatVersion")) {
            let path = dir.path().join(format!("key-{i}.yaml"));
            std::fs::write(&path, &text).unwrap();
            files.push(path);
        }
    }
    assert!(files.len() > 30, "{}", files.len());
    let cfn_lint = Path::new(&python()).with_file_name("cfn-lint");
    let out = Command::new(cfn_lint).args(["--format", "parseable", "--"]).args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    // cfn-lint's exit status is a bit field: 2 errors, 4 warnings, 8 informational.
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code >= 0 && code & 2 == 0 && code & !(4 | 8) == 0,
        "cfn-lint exit {code}:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(code == 0, "cfn-lint warnings:\n{report}");
}

/// (what, policy) for every policy custody writes.
fn policies() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (i, g) in role_cases().iter().enumerate() {
        let mut add = |what: &str, p: Option<&Value>| {
            if let Some(p) = p {
                out.push((format!("role case {i}: {what}"), p.clone()));
            }
        };
        add("forensic role", g.forensic_role.policy.as_ref());
        add("source role", g.source_role.policy.as_ref());
        add("source role's trust policy", g.source_trust_policy.as_ref());
        add("evidence custodian", g.custodian_role.as_ref().and_then(|c| c.policy.as_ref()));
        add("instance profiles", g.instance_profile.as_ref().and_then(|p| p.policy.as_ref()));
        add("output bucket", g.output_bucket_policy.as_ref());
    }
    for (i, a) in key_cases().iter().enumerate() {
        if !a.key_policy_statements.is_empty() {
            out.push((
                format!("key case {i} ({}): key policy statements", a.access),
                json!({"Version": "2012-10-17", "Statement": a.key_policy_statements}),
            ));
        }
        for (what, p) in [("grant creator", &a.grant_creator_policy), ("principal", &a.principal_policy)] {
            if let Some(p) = p {
                out.push((format!("key case {i} ({}): {what}", a.access), p.clone()));
            }
        }
    }
    out
}

const PARLIAMENT: &str = r#"
import json, sys
from parliament import analyze_policy_string
found = []
for item in json.load(open(sys.argv[1])):
    for f in analyze_policy_string(json.dumps(item["policy"])).findings:
        found.append({"what": item["what"], "issue": f.issue, "detail": str(f.detail)})
print(json.dumps(found))
"#;

#[test]
fn every_policy_passes_parliament_or_its_finding_is_a_documented_false_positive() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("policies.json");
    let list: Vec<Value> =
        policies().into_iter().map(|(what, policy)| json!({"what": what, "policy": policy})).collect();
    assert!(list.len() > 40, "{}", list.len());
    std::fs::write(&input, serde_json::to_string(&list).unwrap()).unwrap();
    let out = Command::new(python()).args(["-c", PARLIAMENT]).arg(&input).output().unwrap();
    assert!(out.status.success(), "parliament failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let known: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parliament-known-false-positives.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut used = vec![false; known.len()];
    let mut unexplained = Vec::new();
    for f in &findings {
        let at = known.iter().position(|k| {
            k["issue"] == f["issue"]
                && f["detail"].as_str().unwrap().contains(k["detail"].as_str().unwrap())
                && f["what"].as_str().unwrap().contains(k["in"].as_str().unwrap())
        });
        match at {
            Some(i) => used[i] = true,
            None => unexplained.push(f),
        }
    }
    assert!(unexplained.is_empty(), "parliament findings neither fixed nor documented:\n{unexplained:#?}");
    for (k, used) in known.iter().zip(used) {
        assert!(used, "a documented false positive parliament no longer reports (remove it): {k}");
        assert!(
            k["why"].as_str().is_some_and(|w| !w.is_empty())
                && k["see"].as_str().unwrap().starts_with("https://docs.aws.amazon.com/")
        );
    }
}

#[test]
fn terraform_parses_and_is_formatted() {
    let dir = tempfile::tempdir().unwrap();
    let mut texts: Vec<String> = role_cases().iter().map(|g| render(g, Format::Terraform)).collect();
    texts.extend(key_cases().iter().map(|a| render(a, Format::Terraform)));
    for (i, text) in texts.iter().enumerate() {
        hcl::from_str::<hcl::Body>(text).unwrap_or_else(|e| panic!("case {i}: {e}\n{text}"));
        std::fs::write(dir.path().join(format!("case{i}.tf")), text).unwrap();
    }
    // terraform is not something the repository installs; where it is on PATH, its formatter agrees.
    match Command::new("terraform").arg("fmt").arg("-check").arg("-recursive").arg(dir.path()).output() {
        Ok(out) => assert!(out.status.success(), "terraform fmt -check:\n{}", String::from_utf8_lossy(&out.stdout)),
        Err(_) => eprintln!("terraform is not installed: `terraform fmt -check` skipped (the HCL parsed)"),
    }
}
