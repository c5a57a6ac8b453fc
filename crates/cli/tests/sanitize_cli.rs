//! Hostile text in what custody prints: terminal control sequences and bidi overrides in instance
//! tags, policy Sids, principals, the examiner's name and a file name reach the real `custody`
//! binary, and no raw ESC, C1 control or bidi control comes out on standard output, standard error
//! or in a report file: each is shown as a visible escape (`\u{1b}`), so the examiner sees that the
//! input held it. `--json` stays exact (JSON escapes what it needs; the consumer gets the value).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, run, workspace};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Clears the screen, forges a hyperlink, moves the cursor with a one-byte C1 CSI, overwrites the
/// line with a carriage return, then reverses what follows (U+202E): everything a value can do.
const HOSTILE: &str = "x\u{1b}[2J\u{1b}]8;;http://evil.example/\u{7}link\u{1b}]8;;\u{7}\u{9b}1A\rgood\u{202e}gpj.exe";

/// The characters that can act instead of show: C0 controls but `\n` and `\t`, DEL, C1 controls,
/// bidi embeddings, overrides, isolates and marks.
fn acting(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Asserts `text` has none of them, and that the hostile value was shown (escaped), not dropped.
fn assert_shown_escaped(what: &str, text: &str) {
    if let Some((i, c)) = text.char_indices().find(|(_, c)| acting(*c)) {
        let from = text[..i].char_indices().rev().nth(40).map_or(0, |(j, _)| j);
        panic!("{what}: U+{:04X} reaches the output raw, after {:?}", u32::from(c), &text[from..i]);
    }
    assert!(text.contains("u{1b}") && text.contains("u{202e}"), "{what}: the escapes are not shown:\n{text}");
}

fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(workspace().join("examples/inventories").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// Path 1 with a hostile `Name` tag on the instance (it goes into the `ec2:ResourceTag/Name` context
/// of every request on the instance).
fn tagged_inventory(dir: &Path) -> PathBuf {
    let mut inv = example("1-unencrypted.json");
    inv["instances"][0]["tags"]["Name"] = HOSTILE.into();
    write(dir, "tagged.json", &inv)
}

/// Path 1 whose forensic role also has a Deny on `ec2:CreateSnapshots` under a hostile Sid: the
/// preflight fails and names the statement by its Sid.
fn denied_inventory(dir: &Path) -> PathBuf {
    let mut inv = example("1-unencrypted.json");
    let statements = inv["principals"][0]["identity_policies"][0]["Statement"].as_array_mut().unwrap();
    statements.push(serde_json::json!({
        "Sid": HOSTILE, "Effect": "Deny", "Action": "ec2:CreateSnapshots", "Resource": "*"
    }));
    write(dir, "denied.json", &inv)
}

const INSTANCE: &str = "i-01a1a1a1a1a1a1a1a";

#[test]
fn plan_shows_a_hostile_instance_tag_escaped_and_its_json_keeps_it_exact() {
    let dir = tempfile::tempdir().unwrap();
    let inv = tagged_inventory(dir.path());
    let args = ["plan", "--inventory", inv.to_str().unwrap(), INSTANCE, "--case", "C1"];
    let (code, stdout, stderr) = run(&args, "");
    assert_eq!(code, Some(0), "{stderr}");
    assert_shown_escaped("plan", &stdout);
    assert!(stdout.contains("ec2:ResourceTag/Name = x\\u{1b}[2J"), "{stdout}");
    assert!(!stderr.chars().any(acting), "{stderr}");

    let (code, stdout, stderr) = run(&[&args[..], &["--json"]].concat(), "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains('\u{1b}'), "JSON escapes the C0 controls itself");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert!(holds(&plan, HOSTILE), "the tag's value, unchanged:\n{stdout}");
}

#[test]
fn a_value_cannot_start_a_line_of_its_own() {
    // A tag with line breaks would otherwise print a line that passes for custody's own.
    let dir = tempfile::tempdir().unwrap();
    let mut inv = example("1-unencrypted.json");
    inv["instances"][0]["tags"]["Name"] = "web\n\nNotes\n  - all clear\r\n".into();
    let inv = write(dir.path(), "lines.json", &inv);
    let (code, stdout, stderr) = run(&["plan", "--inventory", inv.to_str().unwrap(), INSTANCE, "--case", "C1"], "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("ec2:ResourceTag/Name = web\\n\\nNotes\\n  - all clear\\r\\n\n"), "{stdout}");
    assert!(!stdout.lines().any(|l| l == "Notes" || l == "  - all clear"), "{stdout}");
}

/// Whether `v` holds the string `s` anywhere.
fn holds(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Array(items) => items.iter().any(|x| holds(x, s)),
        Value::Object(map) => map.values().any(|x| holds(x, s)),
        _ => false,
    }
}

#[test]
fn check_shows_a_hostile_sid_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let inv = denied_inventory(dir.path());
    for format in ["text", "md", "html"] {
        let args = ["check", "--inventory", inv.to_str().unwrap(), INSTANCE, "--format", format];
        let (code, stdout, stderr) = run(&args, "");
        assert_eq!(code, Some(1), "the Deny fails the preflight ({format}): {stderr}");
        assert_shown_escaped(&format!("check --format {format}"), &stdout);
        assert!(!stderr.chars().any(acting), "{stderr}");
    }
}

#[test]
fn check_report_files_carry_no_raw_control_character() {
    // What an examiner attaches to a ticket: the file, opened later with `cat` or a browser.
    let dir = tempfile::tempdir().unwrap();
    let inv = denied_inventory(dir.path());
    for (format, name) in [("md", "report.md"), ("html", "report.html")] {
        let args = ["check", "--inventory", inv.to_str().unwrap(), INSTANCE, "--format", format];
        let (_, stdout, _) = run(&args, "");
        let file = dir.path().join(name);
        std::fs::write(&file, &stdout).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.contains(&0x1b), "{name}: raw ESC");
        assert_shown_escaped(name, &String::from_utf8(bytes).unwrap());
    }
}

#[test]
fn markdown_report_keeps_a_hostile_sid_inside_its_table_cell_and_code_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = example("1-unencrypted.json");
    let statements = inv["principals"][0]["identity_policies"][0]["Statement"].as_array_mut().unwrap();
    statements.push(serde_json::json!({
        "Sid": "a|b`c\u{1b}[31m", "Effect": "Deny", "Action": "ec2:CreateSnapshots", "Resource": "*"
    }));
    let inv = write(dir.path(), "pipes.json", &inv);
    let args = ["check", "--inventory", inv.to_str().unwrap(), INSTANCE, "--format", "md"];
    let (code, stdout, stderr) = run(&args, "");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.contains("a\\|b\\`c\\\\u{1b}\\[31m"), "escaped for Markdown text:\n{stdout}");
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
}

#[test]
fn an_inventory_value_quoted_in_an_error_is_escaped() {
    // The inventory refuses the role ARN and quotes it back: on standard error, escaped.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("examples/inventories/1-unencrypted.json")).unwrap();
    // Short: the message cuts a long value.
    let hostile = serde_json::to_string("role/Custody\u{1b}[2J\u{9b}1A\u{202e}Forensic").unwrap();
    let inv = dir.path().join("role.json");
    std::fs::write(&inv, text.replace("role/CustodyForensic\"", &hostile[1..])).unwrap();
    for command in ["plan", "check"] {
        let (code, stdout, stderr) = run(&[command, "--inventory", inv.to_str().unwrap(), INSTANCE], "");
        assert_eq!(code, Some(2), "{command}: {stderr}");
        assert!(stdout.is_empty(), "{command}: {stdout}");
        assert!(stderr.contains("config.forensic_role_arn"), "{command}: {stderr}");
        assert_shown_escaped(&format!("{command} (error)"), &stderr);
    }
}

#[test]
fn authz_shows_a_hostile_principal_and_sid_escaped() {
    let case = serde_json::json!({
        "request": {
            "principal": format!("arn:aws:sts::111111111111:assumed-role/CustodyResponse/s{HOSTILE}"),
            "action": "ec2:CopySnapshot",
            "resource": "arn:aws:ec2:eu-west-3::snapshot/snap-0123456789abcdef0",
            "resource_account": "111111111111"
        },
        "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Sid": HOSTILE, "Effect": "Deny", "Action": "ec2:CopySnapshot", "Resource": "*"}
        ]}]
    });
    let (code, stdout, stderr) = run(&["authz", "-"], &case.to_string());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("DENIED (explicit deny)"), "{stdout}");
    assert_shown_escaped("authz", &stdout);
}

#[test]
fn simulated_acquire_then_cases_and_show_print_hostile_values_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The inventory's own file name is hostile too: `show` prints it in the case's note.
    let mut inv = example("1-unencrypted.json");
    inv["instances"][0]["tags"]["Name"] = HOSTILE.into();
    let inv = write(dir.path(), "inv\u{1b}[2J\u{9b}1A\u{202e}nosj.json", &inv);
    let examiner = format!("Ann{HOSTILE}");
    let (code, stdout, stderr) = custody_offline(&[
        "acquire",
        INSTANCE,
        "--case",
        "IR-1",
        "--examiner",
        &examiner,
        "--simulate",
        inv.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_shown_escaped("acquire --simulate (stdout)", &stdout);
    assert!(!stderr.chars().any(acting), "progress lines: {stderr}");

    let (code, stdout, stderr) = custody_offline(&["cases", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.chars().any(acting), "cases: {stdout}");
    assert!(stdout.contains("Annx\\u{1b}[2J"), "the examiner, escaped: {stdout}");

    let (code, stdout, stderr) = custody_offline(&["show", "IR-1", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_shown_escaped("show", &stdout);

    // `--json` is the journal as stored: the examiner's name exactly as given.
    let (_, stdout, _) = custody_offline(&["show", "IR-1", "--json", "--data-dir", data.to_str().unwrap()]);
    let detail: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(detail["case"]["examiner"], examiner.as_str());
}
