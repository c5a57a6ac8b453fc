//! `custody check` end to end: the planner's plan of a fixture inventory, checked and rendered; exit
//! 0 when every step passes, 1 when one fails or is unknown, 2 on bad input (nothing on stdout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::run;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plan/tests/fixtures/check");
const INSTANCE: &str = "i-0123456789abcdef0";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn every_step_passing_exits_0() {
    let inv = fixture("cli-unencrypted.json");
    let (code, stdout, stderr) = run(&["check", "--inventory", &inv, INSTANCE], "");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("✓ create-snapshots"), "{stdout}");
    // The source snapshot is the evidence here: it is marked as such (CreateTags) before it is kept.
    assert!(stdout.contains("✓ tag-evidence:vol-0123456789abcdef0"), "{stdout}");
    assert!(stdout.contains("result: 3 passed, 0 failed, 0 unknown"), "{stdout}");
}

#[test]
fn a_failing_step_exits_1_with_its_fix() {
    let inv = fixture("inventory.json");
    let (code, stdout, stderr) = run(&["check", "--inventory", &inv, INSTANCE], "");
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("✗ "), "{stdout}");
    assert!(stdout.contains("fix 1 ["), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn an_unknown_step_exits_1() {
    let mut inv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("cli-unencrypted.json")).unwrap()).unwrap();
    inv["principals"][0]["identity_policies"] = serde_json::json!([]);
    inv["principals"][0]["unknown"] = serde_json::json!(["identity_policies"]);
    let (code, stdout, stderr) = run(&["check", "--inventory", "-", INSTANCE], &inv.to_string());
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("? create-snapshots") && stdout.contains("unknown: the identity policies of"), "{stdout}");
}

#[test]
fn every_format_renders_the_same_report() {
    let inv = fixture("inventory.json");
    let base = ["check", "--inventory", inv.as_str(), INSTANCE, "--case", "incident-7", "--triage"];
    let (code, json, _) = run(&[&base[..], &["--json"]].concat(), "");
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["case_id"], "incident-7");
    let steps = v["steps"].as_array().unwrap().len();
    let (_, same, _) = run(&[&base[..], &["--format", "json"]].concat(), "");
    // The same report, but for the time it was made (the provenance's, to the second).
    let untimed = |text: &str| {
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["provenance"].as_object_mut().unwrap().remove("generated_at");
        v
    };
    assert_eq!(untimed(&json), untimed(&same));
    // Where the report comes from: custody's version and the inventory's SHA-256, in every format
    // meant for a ticket.
    let digest = hex::encode(custody_sha256::digest(&std::fs::read(&inv).unwrap()));
    assert_eq!(v["provenance"]["inventory_sha256"], digest.as_str());
    assert_eq!(v["provenance"]["custody_version"], env!("CARGO_PKG_VERSION"));
    let (_, md, _) = run(&[&base[..], &["--format", "md"]].concat(), "");
    assert!(md.starts_with("# custody check: `i-0123456789abcdef0` (case `incident-7`)"), "{md}");
    assert!(md.contains(&format!("SHA-256 `{digest}`")), "{md}");
    let (_, html, _) = run(&[&base[..], &["--format", "html"]].concat(), "");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(&format!("SHA-256 <code>{digest}</code>")), "{html}");
    assert!(html.contains("<div class=\"verdict fail\" id=\"verdict\">REFUSED"), "{html}");
    assert_eq!(html.matches("<tr class=\"step ").count(), steps);
    assert!(!html.to_ascii_lowercase().contains("<script"), "the instance's Name tag is `<script>…`");
}

#[test]
fn bad_input_exits_2_naming_the_file_and_the_place_with_nothing_on_stdout() {
    let inv = fixture("inventory.json");
    let mut bad_policy: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&inv).unwrap()).unwrap();
    bad_policy["keys"][0]["policy"]["Statement"][0]["Effect"] = "Permit".into();
    let table: &[(&str, Vec<&str>, String, &[&str])] = &[
        ("malformed JSON", vec!["--inventory", "-", INSTANCE], "{\"version\": ".into(), &["<stdin>"]),
        (
            "a bad policy",
            vec!["--inventory", "-", INSTANCE],
            bad_policy.to_string(),
            &["<stdin>", "keys[0].policy.Statement[0].Effect", "Permit"],
        ),
        (
            "a missing file",
            vec!["--inventory", "/nonexistent/inventory.json", INSTANCE],
            String::new(),
            &["/nonexistent/inventory.json"],
        ),
        (
            "an unknown instance",
            vec!["--inventory", inv.as_str(), "i-0fffffffffffffff0"],
            String::new(),
            &[inv.as_str(), "i-0fffffffffffffff0"],
        ),
        (
            "a bad --to",
            vec!["--inventory", inv.as_str(), INSTANCE, "--to", "12:eu-west-1"],
            String::new(),
            &["12-digit"],
        ),
        ("a bad --mode", vec!["--inventory", inv.as_str(), INSTANCE, "--mode", "fast"], String::new(), &["fast"]),
        ("a bad --format", vec!["--inventory", inv.as_str(), INSTANCE, "--format", "pdf"], String::new(), &["pdf"]),
        (
            "--json with --format",
            vec!["--inventory", inv.as_str(), INSTANCE, "--json", "--format", "md"],
            String::new(),
            &["--format"],
        ),
    ];
    for (what, args, stdin, needles) in table {
        let (code, stdout, stderr) = run(&[&["check"][..], args].concat(), stdin);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: stdout {stdout}");
        for n in *needles {
            assert!(stderr.contains(n), "{what}: `{n}` not in {stderr}");
        }
    }
}

/// `--output s3://…` with `--triage`: the S3 requests of triage output are in the triage step; the
/// bundled triage example lists neither the bucket nor an instance profile, so they are not allowed
/// on a guess: the reads are unknown and the notes say what is missing. Without `--triage`, refused.
#[test]
fn triage_output_to_s3_is_checked_and_a_bucket_the_inventory_lacks_is_unknown() {
    let inv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventories/triage.json");
    let args = ["check", "--inventory", inv, "i-0e7e7e7e7e7e7e7e7", "--triage"];
    let (code, stdout, stderr) = run(&[&args[..], &["--output", "s3://ir-evidence/ir"]].concat(), "");
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("? triage"), "{stdout}");
    assert!(stdout.contains("s3:ListBucket") && stdout.contains("s3:GetObject"), "{stdout}");
    assert!(stdout.contains("ir-evidence is not in the inventory"), "{stdout}");
    let (code, stdout, _) =
        run(&["check", "--inventory", inv, "i-0e7e7e7e7e7e7e7e7", "--output", "s3://ir-evidence/ir"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
}
