//! Snapshots of `custody cases` and `custody show` on a journal of simulated acquisitions (a success,
//! path 8, and a failure, path 4, which keeps its source snapshots), and of their errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

#[test]
fn cases_and_show_of_a_simulated_journal() {
    let sb = Sandbox::new();
    sb.simulated_journal();
    snap!("cases", sb.run(&["cases"]));
    snap!("cases-json", sb.run(&["cases", "--json"]));
    snap!("show-success", sb.run(&["show", "IR-8"]));
    snap!("show-failure", sb.run(&["show", "IR-4"]));
    snap!("err-show-unknown-case", sb.run(&["show", "IR-404"]));
    snap!("err-show-bad-case-id", sb.run(&["show", "--", "IR 7"]));
}

#[test]
fn without_a_journal() {
    let sb = Sandbox::new();
    snap!("cases-no-journal", sb.run(&["cases"]));
    snap!("cases-no-journal-json", sb.run(&["cases", "--json"]));
    snap!("err-show-no-journal", sb.run(&["show", "IR-1"]));
    snap!("err-show-missing-case", sb.run(&["show"]));
    let file = sb.write("not-a-dir", "");
    snap!("cases-data-dir-is-a-file", sb.run(&["cases", "--data-dir", &file]));
    assert!(!sb.data_dir().join("journal.sqlite3").exists(), "a read-only command created the journal");
}

#[test]
fn no_data_directory_at_all() {
    let sb = Sandbox::new();
    // Neither CUSTODY_DATA_DIR nor XDG_DATA_HOME nor HOME: nowhere to look.
    let args = ["cases"];
    let mut cmd = assert_cmd::Command::cargo_bin("custody").unwrap();
    let out = cmd.env_clear().env("PATH", "/usr/bin:/bin").current_dir(sb.path()).args(args).output().unwrap();
    let block = format!(
        "$ custody cases   (no HOME, XDG_DATA_HOME or CUSTODY_DATA_DIR)\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    snap!("cases-no-home", sb.redact_paths(&block));
}
