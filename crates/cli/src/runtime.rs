//! The async runtime a command makes its AWS calls on.

use std::process::ExitCode;
use tokio::runtime::{Builder, Runtime};

/// Builds the runtime `builder` describes. Failing to start it is exit status 1, with the reason on
/// standard error: nothing was read or asked of AWS yet.
pub fn start(builder: &mut Builder) -> Result<Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        ExitCode::from(1)
    })
}
