//! `custody plan`: the report, `--json`, and bad input (exit 2, the file named, nothing on stdout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::run;

const ESTATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plan/tests/fixtures/plan/estate.json");
const INSTANCE: &str = "i-0123456789abcdef0";

#[test]
fn the_report_lists_volume_paths_then_numbered_steps_with_their_requests() {
    let (code, stdout, stderr) = run(&["plan", "--inventory", ESTATE, INSTANCE, "--case", "C1"], "");
    assert_eq!(code, Some(0), "{stderr}");
    for needle in [
        "Plan for i-0123456789abcdef0 (account 222222222222, eu-west-3) into account 111111111111 (eu-west-1), case C1",
        "vol-0000000000000000c  path 5 (cross-account-grant-only)",
        "vol-0000000000000000b  path 8 (cross-account-aws-managed-key)",
        "  1. assume-source-role [discover]",
        "kms:CreateGrant on arn:aws:kms:eu-west-3:222222222222:key/cccccccc-cccc-4ccc-8ccc-cccccccccccc",
        "kms:GrantOperations = [DescribeKey, CreateGrant, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, \
         ReEncryptFrom, ReEncryptTo]",
        "kms:ViaService = ec2.eu-west-3.amazonaws.com",
        "creates grant custody-grant-vol-0000000000000000c",
        "creates key arn:aws:kms:eu-west-3:222222222222:key/custody-temp-vol-0000000000000000b",
        "grant custody-grant-vol-0000000000000000c",
    ] {
        assert!(stdout.contains(needle), "`{needle}` not in\n{stdout}");
    }
    assert!(stdout.find("Volumes").unwrap() < stdout.find("Steps").unwrap());
}

#[test]
fn json_is_the_plan() {
    let args = ["plan", "--inventory", ESTATE, INSTANCE, "--to", "111111111111:eu-west-3", "--json"];
    let (code, stdout, stderr) = run(&args, "");
    assert_eq!(code, Some(0), "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["dest_region"], "eu-west-3");
    assert_eq!(plan["case_id"], "CASE");
    assert_eq!(plan["volumes"].as_array().unwrap().len(), 5);
    assert_eq!(plan["volumes"][2]["path"], "cross-account-grant-only");
    let steps = plan["steps"].as_array().unwrap();
    let grant = steps.iter().find(|s| s["id"] == "create-grant:vol-0000000000000000c").unwrap();
    assert_eq!(grant["creates_grants"][0]["grant"]["grant_id"], "custody-grant-vol-0000000000000000c");
    assert!(steps.iter().all(|s| s["phase"] != "triage"));

    let (code, stdout, _) = run(&["plan", "--inventory", ESTATE, INSTANCE, "--triage", "--json"], "");
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"triage\""));
    let (code, stdout, _) = run(
        &["plan", "--inventory", "-", INSTANCE, "--mode", "direct-read", "--json"],
        &std::fs::read_to_string(ESTATE).unwrap(),
    );
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"direct-read\""));
}

#[test]
fn a_bad_inventory_exits_2_naming_the_file() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let bad = dir.join("plan-cli-bad-inventory.json");
    std::fs::write(&bad, r#"{"version": "custody-inventory/1", "config": "#).unwrap();
    let bad = bad.to_str().unwrap();
    let (code, stdout, stderr) = run(&["plan", "--inventory", bad, INSTANCE], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with(&format!("error: {bad}: ")), "{stderr}");
    assert!(stderr.contains("docs/inventory-format.md"), "{stderr}");

    let (code, stdout, stderr) = run(&["plan", "--inventory", "/nonexistent/inventory.json", INSTANCE], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("/nonexistent/inventory.json"), "{stderr}");
}

#[test]
fn an_unknown_instance_exits_2_with_a_clear_message() {
    let (code, stdout, stderr) = run(&["plan", "--inventory", ESTATE, "i-00000000"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(ESTATE), "{stderr}");
    assert!(stderr.contains("instance `i-00000000` is not in the inventory"), "{stderr}");
    assert!(stderr.contains("`i-0123456789abcdef0`"), "the instances it has: {stderr}");
}

#[test]
fn an_impossible_mode_or_destination_exits_2() {
    let (code, stdout, stderr) = run(&["plan", "--inventory", ESTATE, INSTANCE, "--mode", "grant-only"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("`--mode grant-only` is impossible for volume `vol-0000000000000000b`"), "{stderr}");
    assert!(stderr.contains("--mode auto"), "{stderr}");

    let (code, stdout, stderr) = run(&["plan", "--inventory", ESTATE, INSTANCE, "--to", "12345"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("12-digit account id"), "{stderr}");
}
