//! `custody cleanup` as a user runs it, on journals written by `custody acquire --simulate`: the
//! dry run lists what the journal says is open without calling AWS; bad arguments, a missing journal
//! and an unknown case exit 2 before AWS is asked anything; an AWS that cannot be reached (a closed
//! port on 127.0.0.1) exits 1 and leaves the journal as it was. A cleanup that removes things in AWS
//! (against moto) is not tested here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod cli_support;

use cli_support::{custody_offline, redacted, simulated_journal};
use serde_json::Value;

fn custody(args: &[&str]) -> (Option<i32>, String, String) {
    custody_offline(args)
}

fn data_dir(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().unwrap()
}

/// The journal's open temporaries of `case`, through `custody show --json`.
fn open_temporaries(dir: &tempfile::TempDir, case: &str) -> Vec<String> {
    let (code, stdout, stderr) = custody(&["show", case, "--json", "--data-dir", data_dir(dir)]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["temporary"] == true && r["removed_at"].is_null())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_lists_the_kept_source_snapshots_and_changes_nothing() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cleanup", "--case", "IR-4", "--dry-run", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "a dry run asks nothing of AWS:\n{stderr}");
    let mut settings = insta::Settings::clone_current();
    settings.set_description("custody cleanup --case IR-4 --dry-run (after the failed path-4 example)");
    settings.set_omit_expression(true);
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!("dry-run-case", redacted(&stdout, dir.path())));
    let open = open_temporaries(&dir, "IR-4");
    assert_eq!(open.len(), 2, "{open:?}");
    for id in &open {
        assert!(stdout.contains(&format!("would remove snapshot {id} ")), "{id}:\n{stdout}");
    }
}

#[test]
fn dry_run_json_lists_the_open_temporaries_of_every_case() {
    let dir = simulated_journal();
    let (code, stdout, stderr) =
        custody(&["cleanup", "--orphans", "--dry-run", "--json", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert!(v["aws_sweep"].as_str().unwrap().starts_with("not run"), "{v}");
    let cases = v["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["case_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["IR-4", "IR-8"]);
    assert_eq!(cases[0]["role"], "arn:aws:iam::999999999999:role/CustodyForensic");
    assert_eq!(cases[0]["open_temporaries"].as_array().unwrap().len(), 2);
    assert_eq!(cases[0]["open_temporaries"][0]["detail"]["volume_id"], "vol-04d4d4d4d4d4d4d40");
    assert!(cases[1]["open_temporaries"].as_array().unwrap().is_empty());
}

#[test]
fn neither_or_both_of_case_and_orphans_is_bad_input() {
    let dir = simulated_journal();
    for args in [&["cleanup"][..], &["cleanup", "--case", "IR-4", "--orphans"], &["cleanup", "--dry-run"]] {
        let args: Vec<&str> = args.iter().copied().chain(["--data-dir", data_dir(&dir)]).collect();
        let (code, stdout, stderr) = custody(&args);
        assert_eq!(code, Some(2), "{args:?}\n{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("--case <ID>|--orphans"), "the usage names both:\n{stderr}");
    }
    assert_eq!(open_temporaries(&dir, "IR-4").len(), 2, "nothing changed");
}

#[test]
fn a_missing_journal_is_bad_input_and_is_not_created() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("never-used");
    for extra in [&[][..], &["--dry-run"]] {
        let mut args = vec!["cleanup", "--case", "IR-4", "--data-dir", dir.to_str().unwrap()];
        args.extend(extra);
        let (code, stdout, stderr) = custody(&args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stdout.is_empty());
        let journal = dir.join("journal.sqlite3");
        assert!(stderr.starts_with(&format!("error: no journal at {}: nothing to clean up\nhelp: ", journal.display())));
    }
    assert!(!dir.exists(), "cleanup must not create a journal");
}

#[test]
fn an_unknown_case_is_bad_input_with_the_cases_the_journal_has() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cleanup", "--case", "IR-404", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
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
fn a_bad_region_is_bad_input() {
    let dir = simulated_journal();
    let (code, _, stderr) = custody(&["cleanup", "--case", "IR-4", "--region", "Paris", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr, "error: --region `Paris`: expected a Region name such as `eu-west-3`\n");
}

#[test]
fn an_unreachable_aws_fails_and_leaves_the_journal_open() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cleanup", "--case", "IR-4", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("cleaning up case IR-4 as arn:aws:iam::999999999999:role/CustodyForensic"), "{stderr}");
    assert!(stdout.starts_with("case IR-4 (as arn:aws:iam::999999999999:role/CustodyForensic): removed 0, failed 1\n"));
    assert!(stdout.contains("  FAILED case IR-4: who am I (sts:GetCallerIdentity): "), "{stdout}");
    assert!(stdout.contains("\ncleanup: removed 0, failed 1, skipped 0\n"), "{stdout}");
    assert!(!stdout.contains("testing") && !stderr.contains("testing"), "no credential is printed");
    assert_eq!(open_temporaries(&dir, "IR-4").len(), 2, "what was not removed stays open");
    let (_, cases, _) = custody(&["cases", "--json", "--data-dir", data_dir(&dir)]);
    let cases: Value = serde_json::from_str(&cases).unwrap();
    assert_eq!(cases[0]["status"], "failed", "a cleanup that failed does not mark the case cleaned up");
}

#[test]
fn orphans_json_against_an_unreachable_aws_reports_each_case() {
    let dir = simulated_journal();
    let (code, stdout, stderr) = custody(&["cleanup", "--orphans", "--json", "--data-dir", data_dir(&dir)]);
    assert_eq!(code, Some(1), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["clean"], false);
    assert_eq!(v["removed"], 0);
    assert_eq!(v["failed"], 2, "one per case: neither could become the forensic role");
    let ids: Vec<&str> = v["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["IR-4", "IR-8"]);
}
