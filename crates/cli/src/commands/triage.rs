//! `custody triage` (issue 6). Work in progress: owned by the triage work.

use std::process::ExitCode;

/// Arguments of `custody triage`.
#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    /// The instances to triage.
    pub instances: Vec<String>,
}

pub fn run(_args: &TriageArgs) -> ExitCode {
    eprintln!("custody triage: not built yet");
    ExitCode::from(2)
}
