//! `custody`: acquire AWS EC2 instances as forensic evidence under least-privilege IAM/KMS
//! permissions that it proves before it touches anything.
//!
//! This crate holds only argument definitions, commands and output. Each command returns an exit
//! status: 0 done, 1 a check that failed, 2 bad input (nothing was changed).

mod commands;
mod input;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Acquire AWS EC2 instances as forensic evidence, under IAM/KMS permissions proved before anything is touched.
#[derive(Debug, Parser)]
#[command(name = "custody", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide one IAM/KMS authorization request offline, as AWS would, and explain the decision.
    ///
    /// The case file holds the request and every policy and grant that bears on it
    /// (docs/authz-case-format.md). Exit status 0 whenever the request was evaluated, whatever the
    /// decision; 2 on bad input.
    Authz(commands::authz::AuthzArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Authz(args) => commands::authz::run(&args),
    }
}
