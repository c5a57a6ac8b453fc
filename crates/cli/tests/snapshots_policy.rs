//! Snapshots of `custody policy role` and `custody policy key`: the documents in each format, the files
//! `--out` writes, and the refusals of bad arguments (exit 2, nothing on stdout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

const KEY: &str = "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
const ROLE: &str = "arn:aws:iam::111122223333:role/CustodyResponse";

#[test]
fn role_documents() {
    let sb = Sandbox::new();
    snap!("role-acquire-grant-only", sb.run(&["policy", "role", "--features", "acquire", "--kms", "grant-only"]));
    snap!(
        "role-all-features",
        sb.run(&[
            "policy",
            "role",
            "--features",
            "acquire,triage,cleanup,image",
            "--kms",
            "direct-use",
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
            "--output-bucket",
            "s3://ir-evidence/triage",
        ])
    );
    snap!(
        "role-terraform",
        sb.run(&[
            "policy",
            "role",
            "--features",
            "acquire,image",
            "--forensic-account",
            "111111111111",
            "--format",
            "terraform"
        ])
    );
    // `audit` alone: CloudTrail's event history for each role custody uses, and the forensic role's
    // way into the source accounts.
    snap!(
        "role-audit",
        sb.run(&[
            "policy",
            "role",
            "--features",
            "audit",
            "--forensic-account",
            "999999999999",
            "--source-accounts",
            "111122223333",
        ])
    );
    snap!(
        "role-discard-evidence",
        sb.run(&["policy", "role", "--features", "discard-evidence", "--forensic-account", "111111111111"])
    );
    let args = ["policy", "role", "--features", "acquire", "--forensic-account", "999999999999", "--format", "cfn"];
    snap!("role-cfn-without-out-dir", sb.run(&args));
    let out_dir = sb.file("cfn");
    let with_dir = [&args[..], &["--out", &out_dir]].concat();
    snap!("role-cfn-out-dir", sb.run(&with_dir));
    let mut files: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut written = String::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        written.push_str(&format!("=== {name}\n{}", std::fs::read_to_string(&file).unwrap()));
    }
    snap!("role-cfn-out-dir-files", written);
    snap!("role-cfn-out-dir-again", sb.run(&with_dir));
}

#[test]
fn key_documents() {
    let sb = Sandbox::new();
    for access in ["grant-only", "direct-use", "owner-grant"] {
        snap!(format!("key-{access}"), sb.run(&["policy", "key", "--key-arn", KEY, "--for", ROLE, "--access", access]));
    }
    for format in ["cfn", "terraform"] {
        snap!(
            format!("key-direct-use-{format}"),
            sb.run(&["policy", "key", "--key-arn", KEY, "--for", ROLE, "--access", "direct-use", "--format", format])
        );
    }
}

#[test]
fn bad_arguments() {
    let sb = Sandbox::new();
    let table: &[(&str, &[&str])] = &[
        ("err-role-unknown-feature", &["policy", "role", "--features", "acquire,bogus"]),
        ("err-role-no-features", &["policy", "role"]),
        ("err-role-unknown-kms-mode", &["policy", "role", "--features", "acquire", "--kms", "option-2"]),
        ("err-role-tag-without-equals", &["policy", "role", "--features", "triage", "--ssm-tag", "CustodySSMEnabled"]),
        ("err-role-reserved-tag-key", &["policy", "role", "--features", "triage", "--ssm-tag", "aws:x=1"]),
        ("err-role-bad-account", &["policy", "role", "--features", "acquire", "--forensic-account", "1234"]),
        (
            "err-role-bad-source-account",
            &["policy", "role", "--features", "acquire", "--source-accounts", "222222222222,x"],
        ),
        ("err-role-bad-region", &["policy", "role", "--features", "acquire", "--regions", "Europe"]),
        ("err-role-bad-format", &["policy", "role", "--features", "acquire", "--format", "xml"]),
        ("err-role-bad-alias-prefix", &["policy", "role", "--features", "acquire", "--alias-prefix", "aws/x"]),
        (
            "err-role-custodian-is-forensic",
            &["policy", "role", "--features", "acquire,discard-evidence", "--custodian-role", "CustodyForensic"],
        ),
        (
            "err-role-bad-custodian-role",
            &["policy", "role", "--features", "discard-evidence", "--custodian-role", "a:b"],
        ),
        ("err-key-access-by-number", &["policy", "key", "--key-arn", KEY, "--for", ROLE, "--access", "2"]),
        ("err-key-bad-key-arn", &["policy", "key", "--key-arn", "1a2b3c4d", "--for", ROLE, "--access", "direct-use"]),
        (
            "err-key-grantee-without-grant-only",
            &["policy", "key", "--key-arn", KEY, "--for", ROLE, "--access", "direct-use", "--grantee", ROLE],
        ),
        (
            "err-key-alias-arn",
            &[
                "policy",
                "key",
                "--key-arn",
                "arn:aws:kms:us-west-2:444455556666:alias/x",
                "--for",
                ROLE,
                "--access",
                "direct-use",
            ],
        ),
        (
            "err-key-session-arn",
            &[
                "policy",
                "key",
                "--key-arn",
                KEY,
                "--for",
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "--access",
                "direct-use",
            ],
        ),
        ("err-key-missing-for", &["policy", "key", "--key-arn", KEY, "--access", "direct-use"]),
    ];
    for (name, args) in table {
        snap!(*name, sb.run(args));
    }
}
