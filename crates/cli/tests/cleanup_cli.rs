//! `custody cleanup` as a user runs it, on journals written by `custody acquire --simulate`: the
//! dry run lists what the journal says is open without calling AWS; bad arguments, a missing journal
//! and an unknown case exit 2 before AWS is asked anything; an AWS that cannot be reached (a closed
//! port on 127.0.0.1) exits 1 and leaves the journal as it was. A cleanup that removes things in AWS
//! (against moto) is not tested here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

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

/// Turns the statements `NeverDeleteEvidence` of the inventory's policies into allows: a role that
/// may delete evidence, as the custodian role of `custody policy role --features discard-evidence` may.
fn may_delete_evidence(inventory: &mut Value) {
    match inventory {
        Value::Object(map) => {
            if map.get("Sid").and_then(Value::as_str) == Some("NeverDeleteEvidence") {
                map.insert("Sid".into(), "DiscardEvidence".into());
                map.insert("Effect".into(), "Allow".into());
            }
            map.values_mut().for_each(may_delete_evidence);
        }
        Value::Array(items) => items.iter_mut().for_each(may_delete_evidence),
        _ => {}
    }
}

/// `--discard-evidence` as a user runs it, on a simulated cloud kept in a file between the
/// processes. The role `custody policy role` writes may not delete evidence (its `NeverDeleteEvidence`
/// statement): the discard is refused and the evidence kept, with the command for someone who may.
/// With a role that may, the evidence named is deleted, and from then on `custody show` and
/// `custody cases` say it was discarded and `custody image --case` no longer offers it.
#[test]
fn discarded_evidence_is_shown_as_discarded_and_no_longer_offered_to_image() {
    let dir = tempfile::tempdir().unwrap();
    let (state, data, out) = (dir.path().join("world.json"), dir.path().join("data"), dir.path().join("images"));
    std::fs::create_dir(&out).unwrap();
    let example = "examples/inventories/2-aws-managed-same-account.json";
    let mut allowed: Value =
        serde_json::from_slice(&std::fs::read(cli_support::workspace().join(example)).unwrap()).unwrap();
    may_delete_evidence(&mut allowed);
    let permissive = dir.path().join("may-delete-evidence.json");
    std::fs::write(&permissive, allowed.to_string()).unwrap();
    let (state, data, out) = (state.to_str().unwrap(), data.to_str().unwrap(), out.to_str().unwrap());
    let inventory = permissive.to_str().unwrap();
    let sim = ["--simulate", example, "--simulate-state", state, "--data-dir", data];
    let acquire = [&["acquire", "i-02b2b2b2b2b2b2b2b", "--case", "IR-9"][..], &sim].concat();
    let (code, stdout, stderr) = custody_offline(&acquire);
    assert_eq!(code, Some(0), "{stdout}{stderr}");

    let (_, shown, _) = custody_offline(&["show", "IR-9", "--data-dir", data, "--json"]);
    let detail: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let evidence = detail["evidence"].as_array().unwrap();
    assert!(evidence.len() >= 2, "{shown}");
    let volume = evidence[0]["volume_id"].as_str().unwrap();
    let snapshot = evidence[0]["snapshot_id"].as_str().unwrap();
    let kept = evidence[1]["snapshot_id"].as_str().unwrap();

    let discard = [&["cleanup", "--case", "IR-9", "--discard-evidence", volume][..], &sim].concat();
    let (code, stdout, stderr) = custody_offline(&discard);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("aws ec2 delete-snapshot") && stdout.contains(snapshot), "{stdout}");
    let (_, shown, _) = custody_offline(&["show", "IR-9", "--data-dir", data]);
    assert!(!shown.contains("DISCARDED") && !shown.contains("discarded)"), "{shown}");

    // The same incident where the role may delete evidence (the simulated cloud is deterministic:
    // the same ids).
    let (state, data) = (dir.path().join("world-2.json"), dir.path().join("data-2"));
    let (state, data) = (state.to_str().unwrap(), data.to_str().unwrap());
    let sim = ["--simulate", inventory, "--simulate-state", state, "--data-dir", data];
    let acquire = [&["acquire", "i-02b2b2b2b2b2b2b2b", "--case", "IR-9"][..], &sim].concat();
    let (code, stdout, stderr) = custody_offline(&acquire);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let discard = [&["cleanup", "--case", "IR-9", "--discard-evidence", volume][..], &sim].concat();
    let (code, stdout, stderr) = custody_offline(&discard);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(snapshot) && stdout.contains("discarded"), "{stdout}");

    let (code, shown, _) = custody_offline(&["show", "IR-9", "--data-dir", data]);
    assert_eq!(code, Some(0));
    let discarded_line = shown.lines().skip_while(|l| !l.contains(snapshot)).nth(2).unwrap_or_default();
    assert!(discarded_line.contains("DISCARDED") && discarded_line.contains("as the examiner asked"), "{shown}");
    assert!(shown.contains("of them discarded"), "{shown}");
    assert!(!shown.lines().skip_while(|l| !l.contains(kept)).nth(2).unwrap_or_default().contains("DISCARDED"));
    let (_, cases, _) = custody_offline(&["cases", "--data-dir", data]);
    assert!(cases.contains("(+1 discarded)"), "{cases}");
    let (_, listed, _) = custody_offline(&["cases", "--data-dir", data, "--json"]);
    assert!(listed.contains("\"discarded\": 1") || listed.contains("\"discarded\":1"), "{listed}");

    // The discarded snapshot is not evidence any more: refused before any AWS call (exit 2).
    let (code, stdout, stderr) =
        custody_offline(&["image", snapshot, "--case", "IR-9", "--out", out, "--data-dir", data]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("discarded"), "{stderr}");
}
