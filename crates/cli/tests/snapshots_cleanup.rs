//! Snapshots of `custody cleanup` on simulated cases: the dry run, a cleanup in the simulated cloud,
//! and its refusals (exit 2) and failures (an AWS that cannot be reached: exit 1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

#[test]
fn dry_runs() {
    let sb = Sandbox::new();
    sb.simulated_journal();
    snap!("dry-run-failed-case", sb.run(&["cleanup", "--case", "IR-4", "--dry-run"]));
    snap!("dry-run-clean-case", sb.run(&["cleanup", "--case", "IR-8", "--dry-run"]));
    snap!("dry-run-orphans", sb.run(&["cleanup", "--orphans", "--dry-run"]));
    snap!("dry-run-orphans-json", sb.run(&["cleanup", "--orphans", "--dry-run", "--json"]));
}

#[test]
fn cleanup_in_the_simulated_cloud() {
    let sb = Sandbox::new();
    sb.simulated_journal();
    let state = sb.file("world-IR-4.json");
    let inventory = sb.file("4-cross-region.json");
    let sim = ["--simulate", inventory.as_str(), "--simulate-state", state.as_str()];
    snap!("simulated-case", sb.run(&[&["cleanup", "--case", "IR-4"][..], &sim].concat()));
    snap!("simulated-case-again", sb.run(&[&["cleanup", "--case", "IR-4"][..], &sim].concat()));
    snap!("after-show", sb.run(&["show", "IR-4"]));
}

#[test]
fn unreachable_aws() {
    let sb = Sandbox::new();
    sb.simulated_journal();
    snap!("unreachable-aws", sb.run(&["cleanup", "--case", "IR-4"]));
}

#[test]
fn refusals() {
    let sb = Sandbox::new();
    snap!("err-no-journal", sb.run(&["cleanup", "--case", "IR-4"]));
    snap!("err-no-journal-dry-run", sb.run(&["cleanup", "--case", "IR-4", "--dry-run"]));
    sb.simulated_journal();
    snap!("err-neither-case-nor-orphans", sb.run(&["cleanup"]));
    snap!("err-case-and-orphans", sb.run(&["cleanup", "--case", "IR-4", "--orphans"]));
    snap!("err-dry-run-alone", sb.run(&["cleanup", "--dry-run"]));
    snap!("err-unknown-case", sb.run(&["cleanup", "--case", "IR-404"]));
    snap!("err-bad-case-id", sb.run(&["cleanup", "--case", "IR.7"]));
    snap!("err-bad-region", sb.run(&["cleanup", "--case", "IR-4", "--region", "Paris"]));
    snap!("err-bad-discard", sb.run(&["cleanup", "--case", "IR-4", "--discard-evidence", "ami-123"]));
    snap!(
        "err-simulate-without-state",
        sb.run(&["cleanup", "--case", "IR-4", "--simulate", "examples/inventories/4-cross-region.json"])
    );
}
