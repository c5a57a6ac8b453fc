//! `custody check` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(_args: &CheckArgs) -> ExitCode {
    ExitCode::from(2)
}
