//! `custody acquire` refuses bad input with exit 2 before anything is read from AWS or written to a
//! journal (offline: every `AWS_*` variable points at a closed port on 127.0.0.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::custody_offline_with;

fn refused(args: &[&str], says: &str) {
    refused_with(args, &[], says)
}

fn refused_with(args: &[&str], env: &[(&str, &str)], says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir.path().to_str().unwrap()]);
    let (code, stdout, stderr) = custody_offline_with(&all, env);
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

/// `custody acquire --simulate` with `CUSTODY_SIM_AUTHZ_LAG=N`: the temporary key's alias authorizes
/// only N calls after CreateAlias, as KMS's "up to five minutes" for alias changes
/// (<https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>): the forensic
/// role asks DescribeKey on the temporary key until the alias authorizes, then copies once, and the
/// run secures every volume with nothing failed to keep.
#[test]
fn a_simulated_run_survives_kms_taking_its_time_to_propagate_an_alias() {
    let dir = cli_support::private_dir();
    let data_dir = dir.path().to_str().unwrap();
    let inventory = "examples/inventories/8-cross-account-aws-managed.json";
    let args = ["acquire", "i-08b8b8b8b8b8b8b8b", "--case", "IR-8", "--simulate", inventory, "--data-dir", data_dir];
    let (code, stdout, stderr) = custody_offline_with(&args, &[("CUSTODY_SIM_AUTHZ_LAG", "20")]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("and its alias alias/custody-IR-8-vol-") && stderr.contains("to take effect in KMS"),
        "{stderr}"
    );
    assert!(!stderr.contains("Given key ID is not accessible"), "no copy was made before the alias worked: {stderr}");
    assert!(stdout.contains("left behind: nothing"), "{stdout}");
    assert!(!stdout.contains("kept, holding no data:"), "{stdout}");
}

#[test]
fn a_lag_that_is_not_a_number_of_calls_is_refused() {
    let inventory = "examples/inventories/8-cross-account-aws-managed.json";
    let args = ["acquire", "i-08b8b8b8b8b8b8b8b", "--case", "C1", "--simulate", inventory];
    refused_with(&args, &[("CUSTODY_SIM_AUTHZ_LAG", "five minutes")], "CUSTODY_SIM_AUTHZ_LAG=`five minutes`");
}

#[test]
fn a_simulated_run_stops_where_the_preflight_stops_a_real_one() {
    // The cross-Region example's forensic key refuses the copy: a real run is refused before it
    // touches anything, and so is the dry run; it records no case.
    let dir = cli_support::private_dir();
    let data_dir = dir.path().to_str().unwrap();
    let (case, instance, file) = cli_support::FAILURE;
    let inventory = format!("examples/inventories/{file}");
    let args = ["acquire", instance, "--case", case, "--simulate", &inventory, "--data-dir", data_dir];
    let (code, stdout, stderr) = custody_offline_with(&args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("a real run would stop here, before touching anything, and so does this dry run"),
        "{stderr}"
    );
    assert!(stderr.contains("fix 1 ["), "the fixes are printed: {stderr}");
    assert!(!stdout.contains("snap-"), "no snapshot was made: {stdout}");
    let (_, cases, _) = cli_support::custody_offline(&["cases", "--data-dir", data_dir]);
    assert!(!cases.contains(case), "the refused dry run left no case: {cases}");
}

#[test]
fn a_simulated_run_that_keeps_the_only_copy_of_evidence_does_not_call_it_left_behind() {
    // The cross-region example's key policy refuses the copy: each volume's source snapshot is kept
    // as the only copy of its evidence, and the failed copy is kept for its evidence tag. Both are said
    // in the report; the "left behind" list must not contradict it by calling them "not evidence".
    let dir = cli_support::private_dir();
    let data_dir = dir.path().to_str().unwrap();
    let (case, instance, file) = cli_support::FAILURE;
    let inventory = format!("examples/inventories/{file}");
    let args =
        ["acquire", instance, "--case", case, "--simulate", &inventory, "--data-dir", data_dir, "--no-preflight"];
    let (code, stdout, stderr) = custody_offline_with(&args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let (_, tail) = stdout.rsplit_once("\nkept, the only copy of the evidence").expect("a kept list");
    let (kept, left) = tail.split_once("\nleft behind:").expect("a left-behind line");
    assert!(kept.contains("snapshot snap-"), "{stdout}");
    assert!(left.trim_start().starts_with("nothing"), "a kept snapshot listed as left behind:\n{stdout}");
    assert!(tail.contains("kept, holding no data:"), "the failed copies: {stdout}");

    let json_args = [
        "acquire",
        instance,
        "--case",
        "IR-4-JSON",
        "--simulate",
        &inventory,
        "--data-dir",
        data_dir,
        "--json",
        "--no-preflight",
    ];
    let (_, stdout, _) = custody_offline_with(&json_args, &[]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["leftovers"], serde_json::json!([]), "{stdout}");
    assert!(!v["kept"].as_array().unwrap().is_empty(), "{stdout}");
    assert!(!v["failed_evidence_copies"].as_array().unwrap().is_empty(), "{stdout}");
}
