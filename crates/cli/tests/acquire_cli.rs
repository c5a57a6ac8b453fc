//! `custody acquire` refuses bad input with exit 2 before anything is read from AWS or written to a
//! journal (offline: every `AWS_*` variable points at a closed port on 127.0.0.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod cli_support;

use cli_support::custody_offline;

fn refused(args: &[&str], says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir.path().to_str().unwrap()]);
    let (code, stdout, stderr) = custody_offline(&all);
    assert_eq!(code, Some(2), "{args:?}\n{stdout}\n{stderr}");
    assert!(stderr.contains(says), "{args:?}: expected `{says}` in\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("journal.sqlite3").exists(), "{args:?} created a journal");
}

#[test]
fn bad_arguments_are_refused_before_anything_is_touched() {
    refused(&["acquire", "i-xyz", "--case", "C1"], "expected an instance id");
    refused(&["acquire", "i-0123456789abcdef0", "--case", "bad case/7"], "case id `bad case/7`");
    refused(&["acquire", "i-0123456789abcdef0", "--case", "C1", "--region", "west"], "--region `west`");
    refused(
        &["acquire", "i-0123456789abcdef0", "--case", "C1", "--forensic-role-arn", "arn:aws:iam::1:user/x"],
        "expected a role ARN",
    );
    refused(&["acquire", "i-0123456789abcdef0", "--case", "C1", "--forensic-key-arn", "alias/x"], "expected a key ARN");
}

#[test]
fn simulated_runs_refuse_a_resume_a_missing_inventory_and_an_unknown_instance() {
    let inventory = "examples/inventories/8-cross-account-aws-managed.json";
    refused(&["acquire", "--resume", "C1", "--simulate", inventory], "nothing to resume");
    refused(&["acquire", "i-0123456789abcdef0", "--case", "C1", "--simulate", "no-such.json"], "no-such.json");
    refused(&["acquire", "i-0123456789abcdef0", "--case", "C1", "--simulate", inventory], "i-0123456789abcdef0");
}
