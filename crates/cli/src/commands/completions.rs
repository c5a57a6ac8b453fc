//! `custody completions SHELL`: the shell's completion script for custody, on standard output
//! (clap_complete, from the same definitions clap parses with: it cannot drift from the flags).

use crate::exit::{write_stdout, CliResult, ExitStatus};
use clap::CommandFactory as _;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody completions bash > ~/.local/share/bash-completion/completions/custody
  custody completions zsh > ~/.zfunc/_custody    (with fpath+=(~/.zfunc))
  custody completions fish > ~/.config/fish/completions/custody.fish")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: Shell,
}

/// The shells custody writes completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Runs the command.
pub fn run(args: &CompletionsArgs) -> CliResult {
    write_stdout(&script(args.shell));
    Ok(ExitStatus::Success)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = crate::Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(clap_complete::Shell::Bash, &mut command, "custody", &mut out),
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut command, "custody", &mut out),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut command, "custody", &mut out),
    }
    String::from_utf8_lossy(&out).into_owned()
}
