//! One process per case, and private data, as a user meets them.
//!
//! The test process holds a case's lock through the journal library, as a running `custody` would,
//! and runs the real binary against it: every command that changes the case is refused at once
//! (exit 2, naming this process), before it reads more or asks AWS anything; once the lock is
//! released, the same command runs. A case the journal records as running whose lock is free (its
//! process was killed) shows as interrupted, with the advice to resume it first. The data
//! directory and the journal are private.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, simulated_journal, SUCCESS};
use custody_journal::{CaseLock, Journal, NewCase};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The start of the refusal a command prints while this test process holds the case's lock.
fn refusal(case: &str) -> String {
    format!("error: case `{case}` is being worked by pid {} on ", std::process::id())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn simulate(case: &str, data_dir: &Path) -> (Option<i32>, String, String) {
    let (_, instance, file) = SUCCESS;
    let inventory = format!("examples/inventories/{file}");
    custody_offline(&[
        "acquire",
        instance,
        "--case",
        case,
        "--simulate",
        &inventory,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ])
}

#[test]
fn acquire_is_refused_while_another_process_works_the_case_and_runs_once_it_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let lock = CaseLock::acquire(dir.path(), "IR-1").unwrap();
    let (code, stdout, stderr) = simulate("IR-1", dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&refusal("IR-1")), "{stderr}");
    assert!(stderr.contains("wait for it to finish, or stop it (`kill "), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let journal = Journal::open(dir.path()).unwrap();
    assert!(journal.case("IR-1").unwrap().is_none(), "nothing was journaled");
    // Another case is not held up; and once the holder is gone, the case runs.
    assert_eq!(simulate("IR-2", dir.path()).0, Some(0));
    drop(lock);
    let (code, _, stderr) = simulate("IR-1", dir.path());
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn resume_cleanup_and_image_of_a_worked_case_are_refused_before_aws_is_asked() {
    let dir = simulated_journal();
    let (case, _, _) = SUCCESS;
    let data_dir = dir.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let _lock = CaseLock::acquire(dir.path(), case).unwrap();
    let commands: [&[&str]; 3] = [
        &["acquire", "--resume", case, "--data-dir", data_dir],
        &["cleanup", "--case", case, "--data-dir", data_dir],
        &["image", "--case", case, "--out", out.path().to_str().unwrap(), "--data-dir", data_dir],
    ];
    for args in commands {
        let (code, _, stderr) = custody_offline(args);
        // Without the lock each would go on to AWS (here a closed port) and fail with exit 1.
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&refusal(case)), "{args:?}: {stderr}");
    }
    // Reading is not refused, and shows who works the case.
    let (code, stdout, stderr) = custody_offline(&["show", case, "--data-dir", data_dir]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("\n  being worked now by pid {} on ", std::process::id())), "{stdout}");
}

#[test]
fn cleanup_orphans_leaves_a_worked_case_alone_and_names_its_holder() {
    let dir = simulated_journal();
    let _lock = CaseLock::acquire(dir.path(), "IR-4").unwrap();
    let (code, stdout, stderr) =
        custody_offline(&["cleanup", "--orphans", "--dry-run", "--json", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    let skipped = out["skipped"].as_array().unwrap();
    let expected = format!("case IR-4 is being worked by pid {} on ", std::process::id());
    assert!(skipped.iter().any(|s| s.as_str().unwrap().starts_with(&expected)), "{skipped:?}");
    let cases: Vec<&str> = out["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap()).collect();
    assert_eq!(cases, ["IR-8"]);
}

/// A case recorded running with one acquisition, as a run killed mid-way leaves it.
fn running_case(dir: &Path, case: &str) {
    let journal = Journal::open(dir).unwrap();
    journal
        .create_case(&NewCase {
            case_id: case.into(),
            examiner: None,
            destination_account: "999999999999".into(),
            destination_region: "eu-west-1".into(),
            note: None,
            simulated: false,
        })
        .unwrap();
    let plan = json!({"steps": [{"calls": [{"signer": "arn:aws:iam::999999999999:role/CustodyForensic"}]}]});
    journal.add_acquisition(case, "i-0123456789abcdef0", &plan).unwrap();
}

#[test]
fn a_running_case_whose_process_is_gone_shows_as_interrupted_with_the_advice_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    running_case(dir.path(), "IR-9");
    let data_dir = dir.path().to_str().unwrap();
    let resume = "`custody acquire --resume IR-9` finishes it";

    let (code, stdout, stderr) = custody_offline(&["show", "IR-9", "--data-dir", data_dir]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("case IR-9: interrupted\n"), "{stdout}");
    assert!(stdout.contains("the journal still records it running"), "{stdout}");
    assert!(stdout.contains(resume) && stdout.contains("before `custody cleanup --case IR-9`"), "{stdout}");
    assert!(stdout.contains("  i-0123456789abcdef0: interrupted (started "), "{stdout}");

    let (_, stdout, _) = custody_offline(&["cases", "--data-dir", data_dir]);
    assert!(stdout.lines().nth(1).unwrap().starts_with("IR-9  interrupted"), "{stdout}");
    assert!(stdout.contains("1 case(s) interrupted: `custody acquire --resume CASE` finishes one"), "{stdout}");
    let (_, stdout, _) = custody_offline(&["cases", "--json", "--data-dir", data_dir]);
    let cases: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((&cases[0]["status"], &cases[0]["recorded_status"]), (&json!("interrupted"), &json!("running")));

    let (_, stdout, stderr) = custody_offline(&["cleanup", "--orphans", "--dry-run", "--json", "--data-dir", data_dir]);
    let out: Value = serde_json::from_str(&stdout).unwrap();
    let skipped = out["skipped"][0].as_str().unwrap_or_default();
    assert!(skipped.starts_with("case IR-9 was interrupted (its process is gone): "), "{stdout}{stderr}");
    assert!(skipped.contains(resume), "{skipped}");
    let (_, stdout, _) = custody_offline(&["cleanup", "--case", "IR-9", "--dry-run", "--data-dir", data_dir]);
    assert!(stdout.contains("(interrupted, would act as "), "{stdout}");
    assert!(stdout.contains("warning: the case was interrupted: `custody acquire --resume IR-9` finishes it"));

    // Computed when read: the journal still records what was written.
    let journal = Journal::open(dir.path()).unwrap();
    assert_eq!(journal.case("IR-9").unwrap().unwrap().status, custody_journal::Status::Running);
}

#[test]
fn a_running_case_whose_process_is_alive_shows_as_running() {
    let dir = tempfile::tempdir().unwrap();
    running_case(dir.path(), "IR-9");
    let _lock = CaseLock::acquire(dir.path(), "IR-9").unwrap();
    let (_, stdout, _) = custody_offline(&["show", "IR-9", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(stdout.starts_with("case IR-9: running\n"), "{stdout}");
    assert!(!stdout.contains("--resume"), "{stdout}");
}

#[test]
fn the_data_directory_is_private_and_an_open_one_is_reported_not_changed() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("custody");
    let (code, _, stderr) = simulate("IR-1", &dir);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning: the data directory"), "{stderr}");
    assert_eq!(mode(&dir), 0o700);
    for file in ["journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"] {
        let path = dir.join(file);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        }
    }
    assert_eq!(mode(&dir.join("journal.sqlite3")), 0o600);
    assert_eq!(mode(&dir.join("locks")), 0o700);
    assert_eq!(mode(&dir.join("locks/IR-1.lock")), 0o600);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, _, stderr) = custody_offline(&["cases", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: the data directory `{}` is open to other users (mode 0755)", dir.display())),
        "{stderr}"
    );
    assert_eq!(mode(&dir), 0o755, "the user's directory is left as it is");
}
