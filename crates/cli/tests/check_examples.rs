//! Every bundled inventory (`examples/inventories/`) through `custody check`, as its README table
//! runs it: the exit status the table states, and the whole text report as an insta snapshot
//! (`tests/snapshots/check_examples__<file stem>.snap`), so any change to what the preflight says
//! about an example shows up in review. The refusals are also checked line by line: the corrected
//! `kms:ViaService` condition for `4-cross-region.json` (which `4-cross-region-fixed.json` applies),
//! and the three ways to open a key for `5-cross-account-no-key-access.json`.
//!
//! The binary runs in the examples directory with relative file names, so no path of this machine
//! can reach the output; the report has no timestamps. Update after a deliberate change with
//! `INSTA_UPDATE=always cargo test -p custody --test check_examples` and review the `.snap` diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories")
}

/// One row of `examples/inventories/README.md`: the file, the instance, the extra arguments of the
/// command, and the exit status `custody check` must give (0 all pass, 1 a step fails or is unknown).
struct Example {
    file: &'static str,
    instance: &'static str,
    args: &'static [&'static str],
    exit: i32,
}

const EXAMPLES: &[Example] = &[
    Example { file: "1-unencrypted.json", instance: "i-01a1a1a1a1a1a1a1a", args: &[], exit: 0 },
    Example { file: "2-aws-managed-same-account.json", instance: "i-02b2b2b2b2b2b2b2b", args: &[], exit: 0 },
    Example { file: "3-customer-key-same-account.json", instance: "i-03c3c3c3c3c3c3c3c", args: &[], exit: 0 },
    // Refusal: the forensic key's kms:ViaService names only the source Region (seeds' "Cross Region").
    Example { file: "4-cross-region.json", instance: "i-04d4d4d4d4d4d4d4d", args: &[], exit: 1 },
    Example { file: "4-cross-region-fixed.json", instance: "i-04d4d4d4d4d4d4d4d", args: &[], exit: 0 },
    Example { file: "5-cross-account-grant-only.json", instance: "i-05e5e5e5e5e5e5e5e", args: &[], exit: 0 },
    // Refusal: the key policy gives custody no access; the check offers the seeds' three options.
    Example {
        file: "5-cross-account-no-key-access.json",
        instance: "i-05e5e5e5e5e5e5e5e",
        args: &["--mode", "direct-use"],
        exit: 1,
    },
    Example { file: "6-cross-account-direct.json", instance: "i-06f6f6f6f6f6f6f6f", args: &[], exit: 0 },
    Example { file: "7-cross-account-owner-grants.json", instance: "i-07a7a7a7a7a7a7a7a", args: &[], exit: 0 },
    // Refused today: the preflight gives requests on the temporary key it creates no
    // kms:ResourceAliases, which the generated forensic-role policy tests (see the file's description).
    Example { file: "8-cross-account-aws-managed.json", instance: "i-08b8b8b8b8b8b8b8b", args: &[], exit: 0 },
    Example { file: "9-direct-read.json", instance: "i-09c9c9c9c9c9c9c9c", args: &["--mode", "direct-read"], exit: 0 },
    Example { file: "service-linked-role.json", instance: "i-05d5d5d5d5d5d5d5d", args: &[], exit: 0 },
    Example { file: "triage.json", instance: "i-0e7e7e7e7e7e7e7e7", args: &["--triage"], exit: 0 },
];

fn example(file: &str) -> &'static Example {
    EXAMPLES.iter().find(|e| e.file == file).unwrap_or_else(|| panic!("{file} is not in EXAMPLES"))
}

/// The command line of an example, as the README shows it.
fn command_line(e: &Example, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["check", "--inventory", e.file, e.instance].map(String::from).into();
    args.extend(e.args.iter().chain(extra).map(|a| a.to_string()));
    args
}

/// Runs `custody check` on an example in the examples directory: (exit status, stdout, stderr).
fn run(e: &Example, extra: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("custody")
        .unwrap()
        .current_dir(examples_dir())
        .args(command_line(e, extra))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

/// The text report, with anything that could differ between machines replaced (nothing today: the
/// binary runs with relative paths, and the report carries no time).
fn normalized(text: &str) -> String {
    let dir = examples_dir();
    let mut text = text.to_string();
    for form in [dir.display().to_string(), dir.canonicalize().map(|d| d.display().to_string()).unwrap_or_default()] {
        if !form.is_empty() {
            text = text.replace(&form, "[examples]");
        }
    }
    text
}

/// (a) the exit status, (b) the text report as a snapshot named after the file.
fn check_example(file: &str) {
    let e = example(file);
    let (code, stdout, stderr) = run(e, &[]);
    let shown = format!("custody {}", command_line(e, &[]).join(" "));
    assert_eq!(code, e.exit, "{shown}: exit status\n{stdout}\n{stderr}");
    assert!(stderr.is_empty(), "{shown}: nothing on standard error, got:\n{stderr}");
    assert!(stdout.starts_with(&format!("custody check: instance {}", e.instance)), "{shown}:\n{stdout}");
    let name = file.trim_end_matches(".json");
    let mut settings = insta::Settings::clone_current();
    settings.set_description(shown);
    settings.set_omit_expression(true);
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, normalized(&stdout)));
}

macro_rules! snapshot_tests {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(#[test] fn $test() { check_example($file); })*
        /// The files the tests above cover, so that a new example cannot go unchecked.
        const TESTED: &[&str] = &[$($file),*];
    };
}

snapshot_tests! {
    check_1_unencrypted => "1-unencrypted.json",
    check_2_aws_managed_same_account => "2-aws-managed-same-account.json",
    check_3_customer_key_same_account => "3-customer-key-same-account.json",
    check_4_cross_region_refused => "4-cross-region.json",
    check_4_cross_region_fixed => "4-cross-region-fixed.json",
    check_5_cross_account_grant_only => "5-cross-account-grant-only.json",
    check_5_cross_account_no_key_access_refused => "5-cross-account-no-key-access.json",
    check_6_cross_account_direct => "6-cross-account-direct.json",
    check_7_cross_account_owner_grants => "7-cross-account-owner-grants.json",
    check_8_cross_account_aws_managed => "8-cross-account-aws-managed.json",
    check_9_direct_read => "9-direct-read.json",
    check_service_linked_role => "service-linked-role.json",
    check_triage => "triage.json",
}

#[test]
fn every_example_file_has_a_row_and_a_snapshot_test() {
    let mut files: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut rows: Vec<String> = EXAMPLES.iter().map(|e| e.file.to_string()).collect();
    rows.sort();
    assert_eq!(files, rows, "EXAMPLES lists exactly the files of examples/inventories/");
    let mut tested: Vec<String> = TESTED.iter().map(|f| f.to_string()).collect();
    tested.sort();
    assert_eq!(tested, rows, "every row has its snapshot test");
    // The README table states the same command and exit status for each file.
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap();
    for e in EXAMPLES {
        let cmd = format!("`custody {}`", command_line(e, &[]).join(" "));
        let row =
            readme.lines().find(|l| l.contains(&cmd)).unwrap_or_else(|| panic!("README.md has no row with {cmd}"));
        assert!(row.contains(&format!("| {} |", e.exit)), "README.md row of {} states exit {}: {row}", e.file, e.exit);
    }
}

#[test]
fn the_report_is_the_same_on_every_run() {
    // Stable ordering: a second run of the largest reports prints the same bytes.
    for file in ["4-cross-region.json", "5-cross-account-no-key-access.json", "8-cross-account-aws-managed.json"] {
        let e = example(file);
        assert_eq!(run(e, &[]).1, run(e, &[]).1, "{file}");
    }
}

const FORENSIC_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";

#[test]
fn cross_region_refusal_prints_the_corrected_via_service_condition() {
    let (code, text, _) = run(example("4-cross-region.json"), &[]);
    assert_eq!(code, 1);
    for line in [
        "its condition `StringEquals` on `kms:ViaService` wants `ec2.eu-west-3.amazonaws.com`, but the request has `ec2.eu-west-1.amazonaws.com`",
        "[corrected-condition; re-evaluated: allowed]: In statement 1 (Sid `Allow CustodyForensic to use the key through EC2`) of the key policy of arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff, let condition `StringEquals` on `kms:ViaService` also accept `ec2.eu-west-1.amazonaws.com`",
        "fix 1 [corrected-condition; re-evaluated: allowed]: In statement 2 (Sid `Allow attachment of persistent resources`) of the key policy of arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff, let condition `StringEquals` on `kms:ViaService` also accept `ec2.eu-west-1.amazonaws.com`",
        "(condition `StringEquals` on `kms:ViaService`: was `ec2.eu-west-3.amazonaws.com`; now `ec2.eu-west-3.amazonaws.com`, `ec2.eu-west-1.amazonaws.com`)",
        // Widening statement 1 opens its other actions in eu-west-1 too; the report says so.
        "adds: arn:aws:iam::999999999999:role/CustodyForensic may also kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* on arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff when `kms:ViaService` is `ec2.eu-west-1.amazonaws.com`",
        "result: 6 passed, 2 failed, 0 unknown (of 8 steps)",
    ] {
        assert!(text.contains(line), "4-cross-region.json: missing `{line}` in\n{text}");
    }
    // The key administrators' statement covers the refused actions, but is never offered.
    assert!(!text.contains("fix 3 [corrected-principal"), "{text}");
    assert_eq!(
        text.matches("(Sid `Allow access for Key Administrators`) of the key policy of arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff: it gives arn:aws:iam::999999999999:role/CustodyForensic key administration").count(),
        4,
        "the 4 requests whose actions it covers: {text}"
    );
    // Only the copies under the forensic key fail, and only on the forensic key.
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("  ✗ ")).collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|l| l.starts_with("  ✗ copy-to-forensic:vol-04d4d4d4d4d4d4d4")), "{failed:?}");
    // Each copy asks for the six operations AWS lists as required for EBS encryption on the forensic
    // key (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html).
    let refused: Vec<&str> = text.lines().filter(|l| l.starts_with("      ✗ ")).collect();
    assert_eq!(refused.len(), 12, "{refused:?}");
    assert!(refused.iter().all(|l| l.contains(&format!(" on {FORENSIC_KEY} "))), "{refused:?}");
}

#[test]
fn cross_region_fixed_file_applies_exactly_the_printed_correction() {
    let (code, stdout, _) = run(example("4-cross-region.json"), &["--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let fixed: Value =
        serde_json::from_str(&std::fs::read_to_string(examples_dir().join("4-cross-region-fixed.json")).unwrap())
            .unwrap();
    let key = fixed["keys"].as_array().unwrap().iter().find(|k| k["arn"] == FORENSIC_KEY).unwrap();
    let statements = key["policy"]["Statement"].as_array().unwrap();
    let mut corrected = 0;
    for request in report["steps"].as_array().unwrap().iter().flat_map(|s| s["requests"].as_array().unwrap()) {
        for fix in request["fixes"].as_array().into_iter().flatten().filter(|f| f["kind"] == "corrected-condition") {
            assert_eq!(fix["verified"], true);
            for change in fix["changes"].as_array().unwrap() {
                assert_eq!(change["action"], "replace-statement");
                assert_eq!(change["target"], format!("the key policy of {FORENSIC_KEY}"));
                let index = change["statement"].as_u64().unwrap() as usize;
                assert_eq!(statements[index], change["json"], "statement {index} of the fixed forensic key policy");
                corrected += 1;
            }
        }
    }
    assert_eq!(corrected, 12, "one corrected condition per refused request");
}

#[test]
fn cross_account_refusal_offers_the_three_ways_to_open_the_key() {
    let (code, text, _) = run(example("5-cross-account-no-key-access.json"), &[]);
    assert_eq!(code, 1);
    let key = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";
    for line in [
        "[kms-grant-only; re-evaluated: allowed]: Grant-only: let arn:aws:iam::111122223333:role/CustodySource create grants on the key for arn:aws:iam::999999999999:role/CustodyForensic (nothing else); custody creates the grant and retires it (`--mode grant-only`)",
        "[kms-direct-use; re-evaluated: allowed]: Direct use: name arn:aws:iam::999999999999:role/CustodyForensic in the key policy for CreateGrant, Decrypt, DescribeKey, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo (CreateGrant only for AWS resources)",
        "[kms-owner-grant; re-evaluated: allowed]: Key-owner grant: the key's owner grants arn:aws:iam::999999999999:role/CustodyForensic CreateGrant, Decrypt, DescribeKey, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo (`--mode owner-grant`)",
        "aws kms create-grant \\",
        "--grantee-principal arn:aws:iam::999999999999:role/CustodyForensic \\",
        "\"kms:GrantIsForAWSResource\": true",
        "result: 13 passed, 2 failed, 0 unknown (of 15 steps)",
    ] {
        assert!(text.contains(line), "5-cross-account-no-key-access.json: missing `{line}` in\n{text}");
    }
    // Each refused request, all on the source key as the forensic role, gets all three ways; one of
    // them, the same for all 14, is the one change to make.
    let refused: Vec<&str> = text.lines().filter(|l| l.starts_with("      ✗ ")).collect();
    // Seven per copy: the set AWS lists for a key shared with another account
    // (https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html).
    assert_eq!(refused.len(), 14, "{refused:?}");
    assert!(refused.iter().all(|l| l.contains(&format!(" on {key} "))), "{refused:?}");
    for option in ["kms-grant-only", "kms-direct-use", "kms-owner-grant"] {
        let offered = text
            .lines()
            .filter(|l| l.trim_start().starts_with("fix ") && l.contains(&format!("[{option}; re-evaluated: allowed]")))
            .count();
        assert_eq!(offered, 14, "{option}");
    }
}
