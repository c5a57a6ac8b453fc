//! `custody cases` and `custody show` as a user runs them, on journals written by real runs of
//! `custody acquire --simulate` (a success, path 8, and a failure, path 4, which keeps its source
//! snapshots), and on a journal written through the journal's API with every kind of outcome.
//!
//! The simulator's calls may finish in a different order from run to run, so the text of `show`
//! for a simulated case is checked by content; the snapshots are of what is stable (the table of
//! cases) and of the journal written by hand. Times and temporary paths are redacted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, redacted, simulated_journal, SUCCESS};
use custody_journal::{Evidence, Intent, Journal, NewCase, NewResource, Outcome, ResourceKind, Status};
use serde_json::{json, Value};
use std::path::Path;

/// Runs `custody args…` from the workspace root, offline: (exit code, stdout, stderr).
fn custody(args: &[&str]) -> (Option<i32>, String, String) {
    custody_offline(args)
}

fn snapshot(name: &str, description: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(description);
    settings.set_omit_expression(true);
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn redacted_replaces_both_time_forms() {
    let dir = Path::new("/tmp/x");
    let text =
        "at 2026-01-02T03:04:05.678901Z and 2026-01-02 03:04:05 in /tmp/x/journal.sqlite3 (2025-01-08T00:00:41Z)";
    assert_eq!(redacted(text, dir), "at [TIME] and YYYY-MM-DD hh:mm:ss in [DIR]/journal.sqlite3 ([TIME])");
}

#[test]
fn cases_lists_both_cases_newest_first_with_their_counts() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cases", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[1].starts_with("IR-4  failed"), "newest first:\n{stdout}");
    assert!(lines[2].starts_with("IR-8  succeeded"), "{stdout}");
    snapshot("cases", "custody cases (IR-8 path 8 succeeded, then IR-4 path 4 failed)", &redacted(&stdout, dir.path()));
}

#[test]
fn cases_json_is_an_array_with_the_counts() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cases", "--json", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let cases: Value = serde_json::from_str(&stdout).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let (failed, succeeded) = (&cases[0], &cases[1]);
    assert_eq!(failed["case_id"], "IR-4");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["evidence"], 1);
    assert_eq!(failed["open_temporaries"], 2, "the two source snapshots whose copy failed are kept");
    assert_eq!(succeeded["case_id"], "IR-8");
    assert_eq!(succeeded["status"], "succeeded");
    assert_eq!(succeeded["instances"], 1);
    assert_eq!(succeeded["evidence"], 3);
    assert_eq!(succeeded["open_temporaries"], 0);
    assert_eq!(succeeded["destination_account"], "999999999999");
    assert_eq!(succeeded["destination_region"], "eu-west-1");
    assert!(succeeded["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn cases_without_a_journal_says_so_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("never-used");
    let (code, stdout, stderr) = custody(&["cases", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, format!("no cases (journal {} does not exist)\n", dir.join("journal.sqlite3").display()));
    let (code, stdout, _) = custody(&["cases", "--json", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), json!([]));
    assert!(!dir.exists(), "a read-only command must not create the journal");
}

#[test]
fn show_tells_the_evidence_every_call_and_the_removed_resources() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["show", "IR-8", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("case IR-8: succeeded\n  SIMULATED: a dry run against the simulated cloud"), "{stdout}");
    assert!(stdout.contains("note         simulated from examples/inventories/8-cross-account-aws-managed.json"));
    assert!(stdout.contains("from account 111122223333 (eu-west-1) to account 999999999999 (eu-west-1)"), "{stdout}");
    assert!(stdout.contains("vol-08b8b8b8b8b8b8b80  path 8 (cross-account-aws-managed-key)"), "{stdout}");
    assert!(stdout.contains("vol-08b8b8b8b8b8b8b82  path 1 (unencrypted)"), "{stdout}");
    assert!(stdout.contains("\nevidence (3)\n"), "{stdout}");
    assert!(stdout
        .contains("path 8 (cross-account-aws-managed-key), encrypted under arn:aws:kms:eu-west-1:999999999999:key/"));
    assert!(stdout
        .contains("tags CustodyCase=IR-8, CustodyEvidence=true, CustodyInstance=i-08b8b8b8b8b8b8b8b, CustodyRun=r-"));
    assert!(stdout.contains("CustodyVolume=vol-08b8b8b8b8b8b8b80"), "{stdout}");
    // Every call, with who signed it and what it answered.
    assert!(stdout.contains("assume-source-role  sts:AssumeRole in 111122223333 (eu-west-1) as CustodyForensic"));
    assert!(stdout.contains("create-snapshots  ec2:CreateSnapshots in 111122223333 (eu-west-1) as CustodySource"));
    assert!(stdout.contains("ok: snap-source-08b8b8b8b8b8b8b80 -> snap-"), "resolved ids:\n{stdout}");
    assert!(stdout.contains("(request 5e1f0000-"), "request ids:\n{stdout}");
    assert!(!stdout.contains("FAILED") && !stdout.contains("NO OUTCOME"), "{stdout}");
    let calls = stdout.lines().filter(|l| l.trim_start().starts_with("ok")).count();
    assert!(stdout.contains(&format!("\njournal ({calls} call(s), in order)\n")), "{calls} ok outcomes:\n{stdout}");
    // Every temporary was removed, and said how; the evidence stays.
    assert!(stdout.contains(", 0 temporary still open)"), "{stdout}");
    assert!(stdout.contains("temporary [alias alias/custody-IR-8-vol-08b8b8b8b8b8b8b80]"), "{stdout}");
    assert!(stdout.contains("(scheduled for deletion on "), "{stdout}");
    assert!(stdout.contains("(share removed)"), "{stdout}");
    assert_eq!(stdout.matches(", evidence, created ").count(), 3, "{stdout}");
    assert!(!stdout.contains("STILL OPEN"), "{stdout}");
}

#[test]
fn show_of_the_failed_case_flags_the_source_snapshots_it_kept() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["show", "IR-4", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("case IR-4: failed\n"), "{stdout}");
    assert!(stdout.contains("  i-04d4d4d4d4d4d4d4d: failed (started "), "{stdout}");
    assert!(stdout.contains("    error: vol-04d4d4d4d4d4d4d40: step `copy-to-forensic:vol-04d4d4d4d4d4d4d40`"));
    assert!(stdout.contains("    error: vol-04d4d4d4d4d4d4d41: step `copy-to-forensic:vol-04d4d4d4d4d4d4d41`"));
    assert!(stdout.contains("\nevidence (1)\n"), "{stdout}");
    assert_eq!(stdout.matches(": STILL OPEN\n").count(), 2, "{stdout}");
    assert!(stdout.contains("temporary [volume_id vol-04d4d4d4d4d4d4d40], created "), "{stdout}");
    // The failed copies carry the evidence tag from their creation: kept, never deleted by the run.
    assert!(!stdout.contains("(failed copy deleted)"), "{stdout}");
    assert!(stdout.contains("2 temporary resource(s) still open: `custody cleanup --case IR-4 --dry-run` lists them"));
}

#[test]
fn show_json_has_the_case_and_its_records() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["show", "IR-8", "--json", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["case"]["case_id"], "IR-8");
    assert_eq!(v["case"]["status"], "succeeded");
    assert_eq!(v["acquisitions"][0]["instance_id"], SUCCESS.1);
    assert_eq!(v["acquisitions"][0]["plan"]["volumes"][0]["path"], "cross-account-aws-managed-key");
    assert_eq!(v["evidence"].as_array().unwrap().len(), 3);
    let entries = v["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["outcome"]["status"] == "ok"), "{entries:?}");
    assert_eq!(entries[0]["intent"]["api"], "sts:AssumeRole");
    let resources = v["resources"].as_array().unwrap();
    assert!(resources.iter().filter(|r| r["temporary"] == true).all(|r| r["removed_at"].is_string()));
}

#[test]
fn show_of_an_unknown_case_is_bad_input_with_the_cases_it_has() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["show", "IR-404", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    let journal = dir.path().join("journal.sqlite3");
    assert_eq!(
        stderr,
        format!(
            "error: case `IR-404` is not in the journal ({})\nhelp: this journal has IR-4, IR-8; `custody cases` lists them\n",
            journal.display()
        )
    );
}

#[test]
fn show_without_a_journal_is_bad_input_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("never-used");
    let (code, _, stderr) = custody(&["show", "IR-1", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.starts_with("error: case `IR-1` is not in the journal ("), "{stderr}");
    assert!(stderr.contains("\nhelp: "), "{stderr}");
    assert!(!dir.exists());
}

/// A journal written through the journal's API: one case with calls that created ids, a call AWS
/// refused, its retry interrupted before AWS answered, evidence, a temporary removed and one still
/// open (the source snapshot of the volume whose copy never completed).
fn handwritten_journal(dir: &Path) {
    let journal = Journal::open(dir).unwrap();
    let case = "IR-7";
    let instance = "i-0123456789abcdef0";
    journal
        .create_case(&NewCase {
            case_id: case.into(),
            examiner: Some("A. Examiner".into()),
            destination_account: "999999999999".into(),
            destination_region: "eu-west-1".into(),
            note: Some("written by the test".into()),
            simulated: false,
        })
        .unwrap();
    let forensic = "arn:aws:iam::999999999999:role/CustodyForensic";
    let plan = json!({
        "source_account": "999999999999", "source_region": "eu-west-3",
        "dest_account": "999999999999", "dest_region": "eu-west-1",
        "volumes": [
            {"volume_id": "vol-0aaaaaaaaaaaaaaa0", "path": "cross-region"},
            {"volume_id": "vol-0aaaaaaaaaaaaaaa1", "path": "unencrypted"},
        ],
        "steps": [{"id": "create-snapshots", "calls": [{"signer": forensic}]}],
    });
    journal.add_acquisition(case, instance, &plan).unwrap();
    let intent = |step: &str, api: &str, region: &str| Intent {
        case_id: case.into(),
        instance_id: instance.into(),
        step_id: step.into(),
        api: api.into(),
        account: "999999999999".into(),
        region: region.into(),
        signer: forensic.into(),
        params: json!({}),
    };
    let id = journal.intend(&intent("create-snapshots", "ec2:CreateSnapshots", "eu-west-3")).unwrap();
    let result = json!({"resolves": {"snap-source-0aaaaaaaaaaaaaaa0": "snap-0000000000000000a", "snap-source-0aaaaaaaaaaaaaaa1": "snap-0000000000000000b"}});
    journal.record_outcome(id, &Outcome::Ok { result, request_id: Some("req-1".into()) }).unwrap();
    let id =
        journal.intend(&intent("copy-to-forensic:vol-0aaaaaaaaaaaaaaa0", "ec2:CopySnapshot", "eu-west-1")).unwrap();
    let refused = Outcome::Failed {
        code: Some("UnauthorizedOperation".into()),
        message: "You are not authorized to perform this operation.".into(),
        request_id: Some("req-2".into()),
    };
    journal.record_outcome(id, &refused).unwrap();
    let id =
        journal.intend(&intent("copy-to-forensic:vol-0aaaaaaaaaaaaaaa1", "ec2:CopySnapshot", "eu-west-1")).unwrap();
    journal
        .record_outcome(
            id,
            &Outcome::Ok {
                result: json!({"resolves": {"snap-evidence-0aaaaaaaaaaaaaaa1": "snap-0000000000000000c"}}),
                request_id: Some("req-3".into()),
            },
        )
        .unwrap();
    let id = journal
        .intend(&intent("delete-source-snapshot:vol-0aaaaaaaaaaaaaaa1", "ec2:DeleteSnapshot", "eu-west-3"))
        .unwrap();
    journal.record_outcome(id, &Outcome::Ok { result: json!({}), request_id: Some("req-4".into()) }).unwrap();
    // The copy refused is tried again, and the process is killed before AWS answers.
    journal.intend(&intent("copy-to-forensic:vol-0aaaaaaaaaaaaaaa0", "ec2:CopySnapshot", "eu-west-1")).unwrap();
    let resource = |kind, id: &str, region: &str, temporary| NewResource {
        case_id: case.into(),
        instance_id: instance.into(),
        kind,
        id: id.into(),
        account: "999999999999".into(),
        region: region.into(),
        temporary,
        detail: json!({}),
    };
    journal.record_resource(&resource(ResourceKind::Snapshot, "snap-0000000000000000a", "eu-west-3", true)).unwrap();
    journal.record_resource(&resource(ResourceKind::Snapshot, "snap-0000000000000000b", "eu-west-3", true)).unwrap();
    journal.record_resource(&resource(ResourceKind::Snapshot, "snap-0000000000000000c", "eu-west-1", false)).unwrap();
    journal
        .resource_removed(
            case,
            ResourceKind::Snapshot,
            "snap-0000000000000000b",
            "999999999999",
            "eu-west-3",
            "deleted",
        )
        .unwrap();
    journal
        .record_evidence(&Evidence {
            case_id: case.into(),
            instance_id: instance.into(),
            volume_id: "vol-0aaaaaaaaaaaaaaa1".into(),
            snapshot_id: "snap-0000000000000000c".into(),
            account: "999999999999".into(),
            region: "eu-west-1".into(),
            key_arn: None,
            path: "1 (unencrypted)".into(),
            tags: [("CustodyCase".to_string(), case.to_string())].into(),
            recorded_at: String::new(),
        })
        .unwrap();
    let error = "vol-0aaaaaaaaaaaaaaa0: step `copy-to-forensic:vol-0aaaaaaaaaaaaaaa0`: refused";
    journal.set_acquisition_status(case, instance, Status::Interrupted, Some(error)).unwrap();
    journal.set_case_status(case, Status::Interrupted).unwrap();
}

#[test]
fn show_tells_ok_failed_and_unanswered_calls() {
    let dir = tempfile::tempdir().unwrap();
    handwritten_journal(dir.path());
    let (code, stdout, stderr) = custody(&["show", "IR-7", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("FAILED UnauthorizedOperation: You are not authorized"), "{stdout}");
    assert!(stdout.contains("NO OUTCOME (interrupted while AWS answered)"), "{stdout}");
    snapshot(
        "show-handwritten",
        "custody show IR-7 (a journal written through the journal's API)",
        &redacted(&stdout, dir.path()),
    );
}
