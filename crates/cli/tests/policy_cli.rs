//! `custody policy role` and `custody policy key` through the binary: the documents on standard
//! output in each format, and bad arguments refused with exit 2, a message, and nothing on standard
//! output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use serde_json::Value;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    cli_support::run(args, "")
}

/// `policy role … --format F`: for CloudFormation, through `--out` (a template per file), the
/// files' contents together; else standard output.
fn role_output(args: &[&str], format: &str) -> (Option<i32>, String, String) {
    if format != "cfn" {
        return run(&[args, &["--format", format]].concat());
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (code, stdout, stderr) = run(&[args, &["--format", "cfn", "--out", out_dir.to_str().unwrap()]].concat());
    let mut text = String::new();
    for line in stdout.lines() {
        let path = line.strip_prefix("wrote ").unwrap_or_else(|| panic!("{stdout}"));
        text.push_str(&std::fs::read_to_string(path).unwrap());
    }
    (code, text, stderr)
}

fn json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn sids(policy: &Value) -> Vec<String> {
    policy["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap().to_string()).collect()
}

/// The actions the acquiring roles are allowed.
fn actions(out: &Value) -> Vec<String> {
    ["forensic_role", "source_role"]
        .iter()
        .filter_map(|r| out[r]["policy"]["Statement"].as_array())
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn role_policies_for_acquire_in_grant_only_mode() {
    let out = json(&["policy", "role", "--features", "acquire", "--kms", "grant-only"]);
    assert_eq!(out["kms"], "grant-only");
    let forensic = sids(&out["forensic_role"]["policy"]);
    let source = sids(&out["source_role"]["policy"]);
    assert!(forensic.contains(&"AcquireCopySnapshots".to_string()), "{forensic:?}");
    assert!(source.contains(&"AcquireGrantForensicRoleUseOfSourceKeys".to_string()), "{source:?}");
    let a = actions(&out);
    assert!(!a.iter().any(|x| x.starts_with("ssm:")) && !a.contains(&"ec2:DeleteSnapshot".to_string()), "{a:?}");
    assert!(out["source_trust_policy"].is_null(), "no forensic account, no trust policy");
    assert!(out["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("--forensic-account")));
}

#[test]
fn role_policies_with_accounts_regions_and_tag() {
    let out = json(&[
        "policy",
        "role",
        "--features",
        "acquire,triage,cleanup",
        "--kms",
        "direct",
        "--ssm-tag",
        "CustodySSMEnabled=True",
        "--regions",
        "eu-west-3",
        "--forensic-region",
        "eu-west-1",
        "--forensic-account",
        "111111111111",
        "--source-accounts",
        "222222222222,333333333333",
    ]);
    assert_eq!(out["regions"], serde_json::json!(["eu-west-3", "eu-west-1"]));
    assert_eq!(
        out["source_trust_policy"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111111111111:role/CustodyForensic"
    );
    assert_eq!(out["source_role"]["role_arns"].as_array().unwrap().len(), 2);
    let text = out.to_string();
    assert!(text.contains("ssm:resourceTag/CustodySSMEnabled") && text.contains("ec2.eu-west-1.amazonaws.com"));
    // Direct mode: the forensic role uses the source keys itself, with the operations AWS lists for a
    // shared key (https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html), not Encrypt.
    let all = actions(&out);
    assert!(all.contains(&"kms:GenerateDataKey".to_string()), "direct mode: {all:?}");
    assert!(!all.contains(&"kms:Encrypt".to_string()), "{all:?}");
}

#[test]
fn role_policies_in_every_format() {
    for (format, needle) in [
        ("cfn", "Type: AWS::IAM::ManagedPolicy"),
        ("terraform", "data \"aws_iam_policy_document\" \"custody_forensic\""),
        ("json", "\"forensic_role\""),
    ] {
        let (code, stdout, stderr) = role_output(
            &["policy", "role", "--features", "acquire,image", "--forensic-account", "111111111111"],
            format,
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains(needle), "{format}: {stdout}");
    }
}

/// The Deny that protects evidence, as the roles that acquire and clean up get it (EC2 service
/// authorization reference: DeleteSnapshot and DeleteTags take `aws:ResourceTag/${TagKey}` on the
/// snapshot, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>;
/// `Null` false: the tag is present, whatever its value,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null>).
#[test]
fn the_role_policies_deny_deleting_evidence_and_write_no_custodian_unless_asked() {
    let args = ["policy", "role", "--features", "acquire,cleanup", "--forensic-account", "111111111111"];
    let out = json(&args);
    let guard = serde_json::json!({
        "Sid": "NeverDeleteEvidence",
        "Effect": "Deny",
        "Action": ["ec2:DeleteSnapshot", "ec2:DeleteTags"],
        "Resource": "arn:aws:ec2:*::snapshot/*",
        "Condition": {"Null": {"aws:ResourceTag/CustodyEvidence": "false"}}
    });
    for role in ["forensic_role", "source_role"] {
        assert_eq!(out[role]["policy"]["Statement"][0], guard, "{role}");
    }
    assert!(out.get("custodian_role").is_none(), "{out:#}");
    for format in ["json", "cfn", "terraform"] {
        let (code, stdout, stderr) = role_output(&args, format);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("NeverDeleteEvidence"), "{format}: {stdout}");
        assert!(!stdout.contains("CustodyEvidenceCustodian") && !stdout.contains("custodian"), "{format}: {stdout}");
    }
}

#[test]
fn discard_evidence_writes_a_separate_role_for_the_person_with_authority() {
    let out = json(&[
        "policy",
        "role",
        "--features",
        "acquire,discard-evidence",
        "--custodian-role",
        "EvidenceOfficer",
        "--forensic-account",
        "111111111111",
        "--source-accounts",
        "222222222222",
    ]);
    let custodian = &out["custodian_role"];
    assert_eq!(
        custodian["role_arns"],
        serde_json::json!([
            "arn:aws:iam::111111111111:role/EvidenceOfficer",
            "arn:aws:iam::222222222222:role/EvidenceOfficer"
        ])
    );
    assert_eq!(sids(&custodian["policy"]), ["DiscardEvidenceFindSnapshots", "DiscardEvidenceSnapshots"]);
    assert_eq!(sids(&out["forensic_role"]["policy"])[0], "NeverDeleteEvidence", "the acquiring roles keep the Deny");
    assert!(out["notes"].to_string().contains("authority to destroy evidence"), "{}", out["notes"]);
    for (format, needle) in [
        ("cfn", "CustodyEvidenceCustodianPolicy"),
        ("terraform", "data \"aws_iam_policy_document\" \"custody_evidence_custodian\""),
    ] {
        let (code, stdout, stderr) = role_output(&["policy", "role", "--features", "discard-evidence"], format);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains(needle) && stdout.contains("CustodyEvidenceCustodian"), "{format}: {stdout}");
    }
    let (code, help, _) = run(&["policy", "role", "--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains("discard-evidence") && help.contains("authority to destroy evidence"), "{help}");
}

#[test]
fn key_policy_for_a_service_linked_role_reproduces_awss_example() {
    let out = json(&[
        "policy",
        "key",
        "--key-arn",
        "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
        "--for",
        "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        "--access",
        "direct-use",
    ]);
    assert_eq!(
        out["key_policy_statements"][0]["Sid"],
        "Allow external account 111122223333 use of the customer managed key"
    );
    assert_eq!(out["key_policy_statements"][1]["Principal"]["AWS"][0], "arn:aws:iam::111122223333:root");
    assert!(out["create_grant"]["command"].as_str().unwrap().starts_with(
        "aws kms create-grant \\\n  --region us-west-2 \\\n  --key-id arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
    ));
    assert_eq!(
        out["grant_creator_policy"]["Statement"][0]["Sid"],
        "AllowCreationOfGrantForTheKMSKeyinExternalAccount444455556666"
    );
    for format in ["cfn", "terraform"] {
        let (code, stdout, _) = run(&[
            "policy",
            "key",
            "--key-arn",
            "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
            "--for",
            "arn:aws:iam::111122223333:role/CustodyResponse",
            "--access",
            "owner-grant",
            "--format",
            format,
        ]);
        assert_eq!(code, Some(0));
        assert!(stdout.contains("create-grant") || stdout.contains("aws_kms_grant"), "{stdout}");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message_and_nothing_on_stdout() {
    let key = "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
    let role = "arn:aws:iam::111122223333:role/CustodyResponse";
    let table: &[(&str, &[&str], &[&str])] = &[
        ("unknown feature", &["policy", "role", "--features", "acquire,bogus"], &["bogus", "acquire"]),
        ("no features", &["policy", "role"], &["--features"]),
        ("unknown KMS mode", &["policy", "role", "--features", "acquire", "--kms", "option-2"], &["option-2", "grant-only"]),
        ("tag without =", &["policy", "role", "--features", "triage", "--ssm-tag", "CustodySSMEnabled"], &["KEY=VALUE"]),
        ("reserved tag key", &["policy", "role", "--features", "triage", "--ssm-tag", "aws:x=1"], &["aws:"]),
        ("bad account", &["policy", "role", "--features", "acquire", "--forensic-account", "1234"], &["`1234`", "12 digits"]),
        ("bad source account", &["policy", "role", "--features", "acquire", "--source-accounts", "222222222222,x"], &["`x`"]),
        ("bad region", &["policy", "role", "--features", "acquire", "--regions", "Europe"], &["`Europe`", "eu-west-1"]),
        ("bad format", &["policy", "role", "--features", "acquire", "--format", "xml"], &["xml"]),
        ("bad alias prefix", &["policy", "role", "--features", "acquire", "--alias-prefix", "aws/x"], &["aws/x"]),
        (
            "custodian is the forensic role",
            &["policy", "role", "--features", "acquire,discard-evidence", "--custodian-role", "CustodyForensic"],
            &["`CustodyForensic`", "--custodian-role"],
        ),
        ("bad custodian role", &["policy", "role", "--features", "discard-evidence", "--custodian-role", "a:b"], &["`a:b`"]),
        ("access by number", &["policy", "key", "--key-arn", key, "--for", role, "--access", "2"], &["'2'", "grant-only", "direct-use", "owner-grant"]),
        ("bad key ARN", &["policy", "key", "--key-arn", "1a2b3c4d", "--for", role, "--access", "direct-use"], &["1a2b3c4d", "help:"]),
        (
            "grantee without grant-only",
            &["policy", "key", "--key-arn", key, "--for", role, "--access", "direct-use", "--grantee", role],
            &["--grantee", "grant-only"],
        ),
        (
            "alias ARN",
            &["policy", "key", "--key-arn", "arn:aws:kms:us-west-2:444455556666:alias/x", "--for", role, "--access", "direct-use"],
            &["alias ARN"],
        ),
        (
            "session ARN",
            &["policy", "key", "--key-arn", key, "--for", "arn:aws:sts::111122223333:assumed-role/R/s", "--access", "direct-use"],
            &["session ARN"],
        ),
        (
            "grant-only for a service-linked role",
            &[
                "policy",
                "key",
                "--key-arn",
                key,
                "--for",
                "arn:aws:iam::444455556666:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                "--access",
                "grant-only",
            ],
            &["service-linked role", "direct-use"],
        ),
        ("missing --for", &["policy", "key", "--key-arn", key, "--access", "direct-use"], &["--for"]),
    ];
    for (what, args, needles) in table {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: stdout {stdout}");
        for n in *needles {
            assert!(stderr.contains(n), "{what}: `{n}` not in {stderr}");
        }
    }
}

/// `--output-bucket`: the source role's reads under the prefix, the instance profiles' policy and the
/// bucket policy, in every format; refused without the triage feature (Systems Manager User Guide,
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html#instance-profile-custom-s3-policy>).
#[test]
fn triage_output_to_a_bucket_gets_the_reads_the_agents_write_and_the_bucket_policy() {
    let args = [
        "policy",
        "role",
        "--features",
        "triage",
        "--forensic-account",
        "999999999999",
        "--source-accounts",
        "111122223333",
        "--output-bucket",
        "s3://ir-evidence/triage",
    ];
    let out = json(&args);
    let source = sids(&out["source_role"]["policy"]);
    assert!(source.contains(&"TriageListOutput".to_string()) && source.contains(&"TriageReadOutput".to_string()));
    let writer = &out["instance_profile"]["policy"]["Statement"];
    assert_eq!(writer[0]["Action"], serde_json::json!(["s3:PutObject"]));
    assert_eq!(writer[0]["Resource"], "arn:aws:s3:::ir-evidence/triage/*");
    let bucket = &out["output_bucket_policy"]["Statement"];
    assert_eq!(bucket[0]["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
    assert_eq!(bucket[1]["Condition"]["StringLike"]["s3:prefix"], "triage/*");
    for (format, needles) in [
        ("cfn", ["Type: AWS::S3::BucketPolicy", "Bucket: ir-evidence"]),
        (
            "terraform",
            [
                "resource \"aws_s3_bucket_policy\"",
                "resource \"aws_iam_policy\" \"custody_triage_output_writer_111122223333\"",
            ],
        ),
    ] {
        let (code, stdout, stderr) = role_output(&args, format);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(needles.iter().all(|n| stdout.contains(n)), "{format}: {stdout}");
    }
    // Without an output bucket nothing of it is written.
    let plain = json(&args[..args.len() - 2]);
    assert!(plain.get("instance_profile").is_none() && plain.get("output_bucket_policy").is_none(), "{plain:#}");
    let (code, stdout, stderr) =
        run(&["policy", "role", "--features", "acquire", "--output-bucket", "s3://ir-evidence/triage"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty() && stderr.contains("add `triage` to the features"), "{stderr}");
}

/// CloudFormation deploys one template per stack, in one account: `policy role --format cfn` writes
/// one file per kind of account with `--out`, refuses to print several templates as one stream,
/// and never overwrites a file.
#[test]
fn cloudformation_is_one_template_per_account_in_its_own_file() {
    let args = ["policy", "role", "--features", "acquire", "--forensic-account", "999999999999", "--format", "cfn"];
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("forensic-account.yaml, source-account.yaml") && stderr.contains("--out DIR"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("policies");
    let with_dir = [&args[..], &["--out", out_dir.to_str().unwrap()]].concat();
    let (code, stdout, stderr) = run(&with_dir);
    assert_eq!(code, Some(0), "{stderr}");
    for file in ["forensic-account.yaml", "source-account.yaml"] {
        let text = std::fs::read_to_string(out_dir.join(file)).unwrap();
        assert_eq!(text.matches("AWSTemplateFormatVersion").count(), 1, "{file}: {text}");
        assert!(!text.contains("\n---"), "one document: {text}");
        assert!(stdout.contains(file), "{stdout}");
    }
    // A second run would overwrite: refused, the files as they were.
    std::fs::write(out_dir.join("source-account.yaml"), "mine").unwrap();
    let (code, _, stderr) = run(&with_dir);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("exists already"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out_dir.join("source-account.yaml")).unwrap(), "mine");
    // One template (the forensic account only) may go to standard output.
    let (code, stdout, _) = run(&["policy", "role", "--features", "image", "--format", "cfn"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.matches("AWSTemplateFormatVersion").count(), 1, "{stdout}");
}

/// The older spellings are still accepted, hidden from --help: `--out-dir`, and the key-access names
/// `direct` and `owner-grants` (now direct-use and owner-grant); each gives what the new one gives.
#[test]
fn old_spellings_still_work() {
    let base = ["policy", "role", "--features", "acquire,cleanup", "--forensic-account", "999999999999"];
    for (old, new) in [("direct", "direct-use"), ("owner-grants", "owner-grant")] {
        let (code, by_old, stderr) = run(&[&base[..], &["--kms", old]].concat());
        assert_eq!(code, Some(0), "{stderr}");
        let (_, by_new, _) = run(&[&base[..], &["--kms", new]].concat());
        assert_eq!(by_old, by_new, "--kms {old}");
    }
    let key = "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
    let role = "arn:aws:iam::111122223333:role/CustodyResponse";
    let (code, by_old, stderr) = run(&["policy", "key", "--key-arn", key, "--for", role, "--access", "owner-grants"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, by_new, _) = run(&["policy", "key", "--key-arn", key, "--for", role, "--access", "owner-grant"]);
    assert_eq!(by_old, by_new);
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&[&base[..], &["--out-dir", dir.path().to_str().unwrap()]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("role-policies.json") && dir.path().join("role-policies.json").exists(), "{stdout}");
    let (_, help, _) = run(&["policy", "role", "--help"]);
    assert!(!help.contains("out-dir") && !help.contains("owner-grants"), "{help}");
}

/// `--json` is `--format json`, and cannot be given with another --format.
#[test]
fn json_is_format_json() {
    let base = ["policy", "role", "--features", "acquire"];
    let (code, by_json, stderr) = run(&[&base[..], &["--json"]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(by_json, run(&[&base[..], &["--format", "json"]].concat()).1);
    let (code, stdout, stderr) = run(&[&base[..], &["--json", "--format", "cfn"]].concat());
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stderr.contains("--json") && stderr.contains("--format"), "{stderr}");
}
