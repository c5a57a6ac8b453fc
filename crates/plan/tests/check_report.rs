//! The report formats: text, JSON, Markdown, HTML.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::check;
use custody_plan::report::{self, Format};

#[test]
fn text_shows_each_step_and_under_a_failing_one_the_request_why_and_fixes() {
    let report = check(&inventory(), &scenario("cross-region"));
    let text = report::text(&report);
    if std::env::var_os("SHOW").is_some() {
        println!("{text}");
    }
    assert!(text.contains("  ✗ copy-snapshot:vol-0123456789abcdef0  Copy the snapshot into eu-west-1\n"), "{text}");
    assert!(text.contains(&format!("      ✗ kms:CreateGrant on {K_REGION}  (call ec2:CopySnapshot)\n")), "{text}");
    assert!(text.contains("        refused: the key policy does not allow"), "{text}");
    assert!(
        text.contains(
            "        closest: statement 1 (Sid `Allow attachment of persistent resources`) of the key policy of"
        ),
        "{text}"
    );
    assert!(text.contains("        fix 1 [corrected-condition; re-evaluated: allowed]: In statement 1"), "{text}");
    assert!(text.contains("\"ec2.eu-west-1.amazonaws.com\""), "the corrected statement is shown: {text}");
    assert!(
        text.ends_with(
            "result: 0 passed, 1 failed, 0 unknown (of 1 steps); requests: 0 allowed, 2 denied, 0 unknown; 2 \
             documented by AWS, 0 inferred\n"
        ),
        "{text}"
    );
}

#[test]
fn text_marks_passing_and_unknown_steps() {
    let report = check(&inventory(), &scenario("unknown-key-policy"));
    let text = report::text(&report);
    assert!(text.contains("  ? read:vol-0123456789abcdef0  Read the blocks\n"), "{text}");
    assert!(text.contains(&format!("        unknown: the key policy of {K_NOPOL} is unknown\n")), "{text}");
    assert!(text.contains("        on what is known: implicitly denied"), "{text}");
    let pass = report::text(&check(&inventory(), &scenario("allowed")));
    assert!(pass.contains("  ✓ snapshot  Snapshot the instance's volumes (crash-consistent)\n"), "{pass}");
}

#[test]
fn json_is_the_whole_report() {
    let report = check(&inventory(), &scenario("cross-account-both-sides"));
    let v: serde_json::Value = serde_json::from_str(&report::render(&report, Format::Json)).unwrap();
    assert_eq!(v["summary"]["failed"], 2);
    let r = &v["steps"][0]["requests"][0];
    assert_eq!(r["outcome"], "denied");
    assert_eq!(r["explanation"]["gate"]["kind"], "key_policy");
    assert_eq!(r["fixes"][0]["kind"], "key-policy-statement");
    assert_eq!(r["fixes"][0]["changes"][0]["action"], "add-statement");
    assert!(r["case"]["resource_policy"].is_object(), "the case to replay with `custody authz`");
    let kinds: Vec<&str> = r["fixes"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for option in ["kms-grant-only", "kms-direct-use", "kms-owner-grant"] {
        assert!(kinds.contains(&option), "{kinds:?}");
    }
}

#[test]
fn markdown_has_a_row_per_step_and_details_for_the_others() {
    let report = check(&inventory(), &scenario("grant-from-earlier-step"));
    let md = report::markdown(&report);
    let rows = md.lines().filter(|l| ["| ✓ |", "| ✗ |", "| ⊘ |", "| ? |"].iter().any(|m| l.starts_with(m))).count();
    assert_eq!(rows, report.steps.len(), "{md}");
    assert!(md.contains("## Steps that do not pass"), "{md}");
    assert!(md.contains("### ✗ `describe-before:vol-0123456789abcdef0`"), "{md}");
    assert!(md.contains("```json"), "{md}");
}

fn hostile_inventory() -> custody_plan::inventory::Inventory {
    let mut inv = inventory_json();
    principal_mut(&mut inv, FR)["identity_policies"][0]["Statement"][4]["Sid"] = "<script>alert(1)</script>".into();
    load(&inv)
}

#[test]
fn html_is_self_contained_and_escapes_inventory_values() {
    let report = check(&hostile_inventory(), &scenario("explicit-deny"));
    let html = report::html(&report);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the Sid is shown, escaped");
    assert!(!html.to_ascii_lowercase().contains("<script"), "no script element");
    for external in ["src=", "http://", "https://", "<link", "@import", "url("] {
        assert!(!html.contains(external), "external resource `{external}`");
    }
    assert!(html.contains("Content-Security-Policy"));
    let rows = html.matches("<tr class=\"step ").count();
    assert_eq!(rows, report.steps.len());
    assert!(html.contains(&format!("data-steps=\"{}\"", report.steps.len())));
}

#[test]
fn markdown_escapes_inventory_values() {
    let md = report::markdown(&check(&hostile_inventory(), &scenario("explicit-deny")));
    // Outside fenced code blocks (whose content Markdown shows as text), no raw markup.
    let mut in_block = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            assert!(!line.contains("<script>"), "{line}");
        }
    }
    assert!(md.contains("&lt;script&gt;"), "{md}");
}

#[test]
fn formats_are_named_as_the_cli_takes_them() {
    for (name, format) in
        [("text", Format::Text), ("json", Format::Json), ("md", Format::Markdown), ("html", Format::Html)]
    {
        assert_eq!(name.parse::<Format>(), Ok(format));
    }
    assert!("pdf".parse::<Format>().unwrap_err().contains("text, json, md or html"));
}
