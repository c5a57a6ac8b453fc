//! `custody collect` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {}

pub fn run(_args: &CollectArgs) -> ExitCode {
    ExitCode::from(2)
}
