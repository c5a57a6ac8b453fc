//! The async runtime a command makes its AWS calls on.

use crate::exit::CliError;
use tokio::runtime::{Builder, Runtime};

/// Builds the runtime `builder` describes. Failing to start it is a failure (exit 1), not bad input:
/// nothing was read or asked of AWS yet.
pub fn start(builder: &mut Builder) -> Result<Runtime, CliError> {
    builder.enable_all().build().map_err(|e| CliError::failure("cannot start the async runtime").caused_by(&e))
}
