//! The options every command takes (`--config`, `--quiet`, `--verbose`), set once by `main` before
//! the command runs and read wherever they matter.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Options that apply to every command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalArgs {
    /// The configuration file [default: ./custody.toml, else $XDG_CONFIG_HOME/custody/custody.toml,
    /// else ~/.config/custody/custody.toml; none is fine]. Flags override environment variables,
    /// which override the file.
    #[arg(long, global = true, value_name = "FILE", env = "CUSTODY_CONFIG", hide_env_values = true)]
    pub config: Option<PathBuf>,
    /// Print only warnings, errors and the result (no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more progress: every poll and retry (-v), and AWS request ids (-vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

static GLOBALS: OnceLock<GlobalArgs> = OnceLock::new();

/// Records the options; `main` calls it once, before the command runs.
pub fn set(args: GlobalArgs) {
    // A second call (none is made) would keep the first options: harmless.
    let _ = GLOBALS.set(args);
}

/// The options of this run (defaults in unit tests, where `main` did not run).
pub fn get() -> &'static GlobalArgs {
    static DEFAULT: OnceLock<GlobalArgs> = OnceLock::new();
    GLOBALS.get().unwrap_or_else(|| DEFAULT.get_or_init(GlobalArgs::default))
}
