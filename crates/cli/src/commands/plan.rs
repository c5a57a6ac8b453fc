//! `custody plan` (being written).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

pub fn run(_args: &PlanArgs) -> ExitCode {
    ExitCode::from(2)
}
