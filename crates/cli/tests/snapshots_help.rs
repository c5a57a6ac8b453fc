//! Snapshots of `custody --help`, of every command's and subcommand's `--help`, of `--version`, and of
//! what clap says to a command line it cannot parse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

#[path = "common/help_commands.rs"]
mod help_commands;
mod snapshot_support;

use help_commands::listed_commands;
use snapshot_support::{snap, Sandbox};

const COMMANDS: &[&str] = &[
    "authz",
    "plan",
    "check",
    "policy",
    "collect",
    "acquire",
    "cases",
    "show",
    "cleanup",
    "image",
    "verify",
    "triage",
    "audit",
    "completions",
    "init",
];

#[test]
fn top_level_help_version_and_no_arguments() {
    let sb = Sandbox::new();
    snap!("help", sb.run(&["--help"]));
    snap!("help-short", sb.run(&["-h"]));
    snap!("version", sb.run(&["--version"]));
    snap!("no-arguments", sb.run(&[]));
    snap!("help-subcommand", sb.run(&["help"]));
}

#[test]
fn every_command_has_help() {
    let sb = Sandbox::new();
    // The commands listed by `--help` are the ones snapshotted here: a new command needs a snapshot.
    let (_, top, _) = sb.output(&["--help"], "", &[]);
    let listed = listed_commands(&top);
    assert_eq!(listed, COMMANDS, "update COMMANDS and accept the new snapshots");
    for command in COMMANDS {
        snap!(format!("{command}-help"), sb.run(&[command, "--help"]));
    }
}

#[test]
fn policy_subcommands_have_help() {
    let sb = Sandbox::new();
    for sub in ["role", "key"] {
        snap!(format!("policy-{sub}-help"), sb.run(&["policy", sub, "--help"]));
    }
    snap!("policy-no-subcommand", sb.run(&["policy"]));
    snap!("help-policy-key", sb.run(&["help", "policy", "key"]));
}

#[test]
fn command_lines_clap_refuses() {
    let sb = Sandbox::new();
    snap!("unknown-command", sb.run(&["aquire", "i-0123456789abcdef0"]));
    snap!("unknown-flag", sb.run(&["cases", "--jsn"]));
    snap!("unknown-policy-subcommand", sb.run(&["policy", "keys"]));
}
