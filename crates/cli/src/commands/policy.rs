//! `custody policy` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    Role,
}

pub fn run(_command: &PolicyCommand) -> ExitCode {
    ExitCode::from(2)
}
