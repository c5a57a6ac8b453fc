//! Snapshots of `custody triage` and `custody collect` without AWS: their refusals of bad input (exit 2,
//! before anything is asked of AWS or written), and what they say when AWS cannot be reached.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

const INSTANCE: &str = "i-0123456789abcdef0";

#[test]
fn triage_refusals() {
    let sb = Sandbox::new();
    let table: &[(&str, &[&str])] = &[
        ("err-triage-bad-instance-id", &["i-123", "--case", "T1"]),
        ("err-triage-bad-case-id", &[INSTANCE, "--case", "bad case"]),
        ("err-triage-missing-case", &[INSTANCE]),
        ("err-triage-no-instance", &["--case", "T1"]),
        ("err-triage-memory-without-output", &[INSTANCE, "--case", "T1", "--memory", "sshd"]),
        ("err-triage-output-not-s3", &[INSTANCE, "--case", "T1", "--output", "/tmp/out"]),
        ("err-triage-ssm-tag-without-value", &[INSTANCE, "--case", "T1", "--ssm-tag", "novalue"]),
        ("err-triage-memory-not-a-process", &[INSTANCE, "--case", "T1", "--memory", "$(id)", "--output", "s3://b-1/p"]),
        ("err-triage-memory-limit", &[INSTANCE, "--case", "T1", "--memory-limit", "12T"]),
        ("err-triage-tag-and-instance", &[INSTANCE, "--case", "T1", "--tag", "Env=prod"]),
        ("err-triage-resend-without-resume", &[INSTANCE, "--case", "T1", "--resend-unconfirmed"]),
        ("err-triage-resume-without-instance", &["--case", "T1", "--resume"]),
        ("err-triage-missing-inventory", &[INSTANCE, "--case", "T1", "--inventory", "/nonexistent/inventory.json"]),
    ];
    for (name, args) in table {
        snap!(*name, sb.run(&[&["triage", "--region", "eu-west-1"][..], args].concat()));
    }
    assert!(!sb.data_dir().join("journal.sqlite3").exists(), "a refusal created the journal");
}

#[test]
fn triage_against_an_unreachable_aws() {
    let sb = Sandbox::new();
    snap!(
        "triage-unreachable-aws",
        sb.run(&["triage", INSTANCE, "--case", "T1", "--region", "eu-west-1", "--wait-timeout", "30s"])
    );
}

#[test]
fn collect_refusals() {
    let sb = Sandbox::new();
    let table: &[(&str, &[&str])] = &[
        ("err-collect-no-instance", &["collect"]),
        ("err-collect-bad-instance-id", &["collect", "vol-12345678"]),
        ("err-collect-bad-region", &["collect", "i-12345678", "--region", "Paris"]),
        ("err-collect-bad-role-arn", &["collect", "i-12345678", "--forensic-role-arn", "arn:aws:iam::1:user/x"]),
        ("err-collect-bad-key-arn", &["collect", "i-12345678", "--forensic-key-arn", "alias/x"]),
        ("err-collect-out-in-missing-dir", &["collect", "i-12345678", "--out", "/nonexistent-dir/inv.json"]),
        ("err-collect-bad-case-id", &["collect", "i-12345678", "--case", "IR.7"]),
    ];
    for (name, args) in table {
        snap!(*name, sb.run(args));
    }
}

#[test]
fn collect_against_an_unreachable_aws() {
    let sb = Sandbox::new();
    snap!("collect-unreachable-aws", sb.run(&["collect", INSTANCE]));
}
