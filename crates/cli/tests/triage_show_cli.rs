//! `custody show CASE` tells the case's triage: each command (instance, command id, document,
//! status, output location) and every artifact under it (location, SHA-256, size), in text and in
//! `--json`; a case without triage reads as before. The journal is written through its API, as
//! `custody triage` writes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::custody_offline;
use custody_journal::triage::{TriageArtifact, TriageCommand};
use custody_journal::{Journal, NewCase};
use serde_json::{json, Value};
use std::path::Path;

const CASE: &str = "T1";
const LINUX: &str = "i-0e7e7e7e7e7e7e7e7";
const WINDOWS: &str = "i-0aaaaaaaaaaaaaaa1";
const S3_PREFIX: &str = "s3://ir-evidence/T1/triage/c-2/i-0aaaaaaaaaaaaaaa1/";

fn command(command_id: &str, instance: &str, document: &str, output: Option<&str>) -> TriageCommand {
    TriageCommand {
        case_id: CASE.into(),
        command_id: command_id.into(),
        instance_id: instance.into(),
        kind: "collect".into(),
        document: document.into(),
        script_version: "linux 1".into(),
        script_sha256: "ab".repeat(32),
        output_location: output.map(str::to_string),
        status: "Pending".into(),
        status_details: None,
        response_code: None,
        sent_at: String::new(),
        updated_at: String::new(),
    }
}

fn artifact(command_id: &str, instance: &str, name: &str, location: &str, sha: &str, detail: Value) -> TriageArtifact {
    TriageArtifact {
        case_id: CASE.into(),
        command_id: command_id.into(),
        instance_id: instance.into(),
        name: name.into(),
        location: location.into(),
        sha256: sha.repeat(32),
        bytes: 24_000,
        detail,
        content: None,
        recorded_at: String::new(),
    }
}

/// A case with two triaged instances: Linux inline (cut at 24,000 characters), Windows to S3.
fn journal(dir: &Path) {
    let j = Journal::open(dir).unwrap();
    j.create_case(&NewCase {
        case_id: CASE.into(),
        examiner: None,
        destination_account: "111122223333".into(),
        destination_region: "eu-west-1".into(),
        note: Some("triage through SSM Run Command".into()),
        simulated: false,
    })
    .unwrap();
    j.record_triage_command(&command("c-1", LINUX, "AWS-RunShellScript", None)).unwrap();
    j.record_triage_command(&command("c-2", WINDOWS, "AWS-RunPowerShellScript", Some(S3_PREFIX))).unwrap();
    j.set_triage_status("c-1", LINUX, "Success", Some("Success"), Some(0)).unwrap();
    j.set_triage_status("c-2", WINDOWS, "TimedOut", Some("DeliveryTimedOut"), Some(-1)).unwrap();
    let cut = json!({"complete": false, "truncated": true, "missing": ["modules", "logs"]});
    j.record_triage_artifact(&artifact("c-1", LINUX, "stdout", "inline:GetCommandInvocation", "cd", cut)).unwrap();
    let key = format!("{S3_PREFIX}awsrunPowerShellScript/0.awsrunPowerShellScript/stdout");
    j.record_triage_artifact(&artifact(
        "c-2",
        WINDOWS,
        "awsrunPowerShellScript/0.awsrunPowerShellScript/stdout",
        &key,
        "ef",
        json!({}),
    ))
    .unwrap();
}

#[test]
fn show_tells_the_commands_and_artifacts_of_the_triage() {
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path());
    let (code, stdout, stderr) = custody_offline(&["show", CASE, "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let section = &stdout[stdout.find("\ntriage (2 command(s), 2 artifact(s))\n").expect(&stdout)..];
    for line in [
        format!("  {LINUX} collect AWS-RunShellScript: Success, response code 0"),
        "      command   c-1".to_string(),
        "      output    inline (GetCommandInvocation)".to_string(),
        format!("      artifact  stdout: 24000 bytes, sha256 {}", "cd".repeat(32)),
        "                at inline:GetCommandInvocation".to_string(),
        "                ! the inline output was cut at 24,000 characters".to_string(),
        "                ! sections missing: modules, logs".to_string(),
        format!("  {WINDOWS} collect AWS-RunPowerShellScript: TimedOut (DeliveryTimedOut), response code -1"),
        "      command   c-2".to_string(),
        format!("      output    {S3_PREFIX}"),
        format!("                at {S3_PREFIX}awsrunPowerShellScript/0.awsrunPowerShellScript/stdout"),
    ] {
        assert!(section.lines().any(|l| l == line), "missing `{line}` in:\n{section}");
    }
    // Each artifact is told under its own command.
    let (linux, windows) = section.split_at(section.find(&format!("  {WINDOWS} ")).unwrap());
    assert!(linux.contains(&"cd".repeat(32)) && !linux.contains(&"ef".repeat(32)), "{section}");
    assert!(windows.contains(&"ef".repeat(32)), "{section}");
}

#[test]
fn show_json_has_the_triage_records() {
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path());
    let (code, stdout, stderr) = custody_offline(&["show", CASE, "--json", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let commands = v["triage"]["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0]["instance_id"], LINUX);
    assert_eq!(commands[0]["command_id"], "c-1");
    assert_eq!(commands[0]["document"], "AWS-RunShellScript");
    assert_eq!(commands[0]["status"], "Success");
    assert_eq!(commands[0]["output_location"], Value::Null);
    assert_eq!(commands[1]["output_location"], S3_PREFIX);
    let artifacts = v["triage"]["artifacts"].as_array().unwrap();
    assert_eq!(artifacts[0]["location"], "inline:GetCommandInvocation");
    assert_eq!(artifacts[0]["sha256"], "cd".repeat(32));
    assert_eq!(artifacts[0]["bytes"], 24_000);
    assert_eq!(artifacts[0]["detail"]["truncated"], true);
}

#[test]
fn a_case_without_triage_has_no_triage_section() {
    let dir = tempfile::tempdir().unwrap();
    Journal::open(dir.path())
        .unwrap()
        .create_case(&NewCase {
            case_id: CASE.into(),
            examiner: None,
            destination_account: "111122223333".into(),
            destination_region: "eu-west-1".into(),
            note: None,
            simulated: false,
        })
        .unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, stdout, _) = custody_offline(&["show", CASE, "--data-dir", data]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("\ntriage"), "{stdout}");
    let (_, json, _) = custody_offline(&["show", CASE, "--json", "--data-dir", data]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["triage"], json!({"commands": [], "artifacts": []}));
}
