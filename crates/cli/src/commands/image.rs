//! `custody image` and `custody verify` (issue 5). Work in progress: owned by the image work.

use std::process::ExitCode;

/// Arguments of `custody image`.
#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// The snapshot to image.
    pub snapshot: Option<String>,
}

/// Arguments of `custody verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The manifest written beside the image.
    pub manifest: std::path::PathBuf,
}

pub fn run_image(_args: &ImageArgs) -> ExitCode {
    eprintln!("custody image: not built yet");
    ExitCode::from(2)
}

pub fn run_verify(_args: &VerifyArgs) -> ExitCode {
    eprintln!("custody verify: not built yet");
    ExitCode::from(2)
}
