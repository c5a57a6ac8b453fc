//! `custody`: acquire AWS EC2 instances as forensic evidence under least-privilege IAM/KMS
//! permissions that it proves before it touches anything.
//!
//! This crate holds only argument definitions, commands and output. Each command returns an exit
//! status or an error ([`exit`]), which `main` reports once, as text or, under `--json`, as JSON: 0
//! done, 1 a check that failed or work that failed, 2 refused before anything was changed: bad input
//! (every argument and input file is checked first, a case id by the one rule of
//! `custody_plan::CaseId`, files read up to 16 MiB), or a case another custody process is working
//! (one process per case: acquire, resume, cleanup, image and triage take the case's lock in the data
//! directory first, and the refusal names the process that holds it); 130 interrupted; 101 a bug in
//! custody, reported with what to send.

mod acquisition;
mod aws_options;
mod aws_target;
mod choices;
mod commands;
mod config;
mod data_dir;
mod exit;
mod globals;
mod input;
mod progress;
mod runtime;
mod units;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// `custody --version`: the version and the commit it was built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CUSTODY_COMMIT"), ")");

/// Acquire AWS EC2 instances as forensic evidence, under IAM/KMS permissions proved before anything is touched.
#[derive(Debug, Parser)]
#[command(name = "custody", version = VERSION, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    #[command(flatten)]
    global: globals::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide one IAM/KMS authorization request offline, as AWS would, and explain the decision.
    ///
    /// The case file holds the request and every policy and grant that bears on it
    /// (docs/authz-case-format.md). Exit status 0 whenever the request was evaluated, whatever the
    /// decision; 2 on bad input.
    Authz(commands::authz::AuthzArgs),
    /// Lay out an acquisition: the path of each volume, the ordered steps, their AWS calls and the
    /// authorization requests AWS evaluates for each call.
    Plan(commands::plan::PlanArgs),
    /// Preflight: evaluate every authorization request of the plan offline and say, for each one
    /// that would fail, the minimal fix. Exit status 0 all pass, 1 a step would fail or is unknown,
    /// 2 bad input.
    Check(commands::check::CheckArgs),
    /// Write least-privilege policies: the role policies for the features you use, or the key-policy
    /// statements and `create-grant` command for a key.
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Build an inventory from live AWS with read-only calls (what cannot be read is marked unknown).
    Collect(commands::collect::CollectArgs),
    /// Acquire instances as evidence: preflight, crash-consistent snapshots, the transfer each volume's
    /// path needs, cleanup; journaled, resumable (`--resume CASE`), or simulated (`--simulate FILE`).
    Acquire(commands::acquire::AcquireArgs),
    /// List the cases in the journal.
    Cases(commands::cases::CasesArgs),
    /// Show one case: its acquisitions, evidence, every journaled call and every resource created.
    Show(commands::cases::ShowArgs),
    /// Remove what acquisitions left behind (by journal, and by tag and alias prefix in AWS).
    Cleanup(commands::cleanup::CleanupArgs),
    /// Image a snapshot through the EBS direct APIs: every block checked, a sparse raw image, its
    /// hashes and a chain-of-custody manifest beside it.
    Image(commands::image::ImageArgs),
    /// Re-hash an image and check it against its manifest (exit 0 match, 1 with the first differing offset).
    Verify(commands::image::VerifyArgs),
    /// Collect the volatile state of running instances through SSM Run Command, scoped by instance tag.
    Triage(commands::triage::TriageArgs),
    /// Hold a case against CloudTrail's own record of it: every journaled call matched to its event,
    /// calls by the case's sessions that custody did not journal, and the KMS calls services made on
    /// custody's behalf against the plan's predictions. Exit status 0 all recorded and explained, 1
    /// otherwise, 2 bad input.
    Audit(commands::audit::AuditArgs),
    /// Print the completion script of a shell (bash, zsh or fish).
    Completions(commands::completions::CompletionsArgs),
    /// Write a commented custody.toml (the forensic and source accounts, Regions, roles, triage tag
    /// and bucket, data directory), then print the `custody policy role` command that goes with it.
    Init(commands::init::InitArgs),
}

impl Command {
    /// Whether the command was asked for JSON: its errors are then JSON too.
    fn json(&self) -> bool {
        match self {
            Command::Authz(a) => a.json,
            Command::Plan(a) => a.json,
            Command::Check(a) => a.json || matches!(a.format, choices::ReportFormatArg::Json),
            Command::Policy(commands::policy::PolicyCommand::Role(a)) => a.json,
            Command::Policy(commands::policy::PolicyCommand::Key(a)) => a.json,
            Command::Collect(a) => a.json,
            Command::Acquire(a) => a.json,
            Command::Cases(a) => a.json,
            Command::Show(a) => a.json,
            Command::Cleanup(a) => a.json,
            Command::Image(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Triage(a) => a.json,
            Command::Audit(a) => a.json || matches!(a.format, choices::ReportFormatArg::Json),
            Command::Completions(_) => false,
            Command::Init(a) => a.json,
        }
    }

    /// The case the command works on and the data directory of its journal, for a bug report.
    fn case(&self) -> (Option<&str>, Option<&data_dir::DataDirArgs>) {
        match self {
            // A dry run without --data-dir keeps its journal in memory: there is no file to send.
            Command::Acquire(a) if a.simulate.is_some() && a.data.data_dir.is_none() => {
                (a.case_id.as_deref().or(a.resume.as_deref()), None)
            }
            Command::Acquire(a) => (a.case_id.as_deref().or(a.resume.as_deref()), Some(&a.data)),
            Command::Show(a) => (Some(&a.case), Some(&a.data)),
            Command::Cleanup(a) => (a.case.as_deref(), Some(&a.data)),
            Command::Image(a) => (a.case.as_deref(), Some(&a.data)),
            Command::Triage(a) => (Some(&a.case_id), Some(&a.data)),
            Command::Audit(a) => (Some(&a.case), Some(&a.data)),
            Command::Cases(a) => (None, Some(&a.data)),
            _ => (None, None),
        }
    }

    fn run(&self) -> exit::CliResult {
        match self {
            Command::Authz(args) => commands::authz::run(args),
            Command::Plan(args) => commands::plan::run(args),
            Command::Check(args) => commands::check::run(args),
            Command::Policy(command) => commands::policy::run(command),
            Command::Collect(args) => commands::collect::run(args),
            Command::Acquire(args) => commands::acquire::run(args),
            Command::Cases(args) => commands::cases::run_cases(args),
            Command::Show(args) => commands::cases::run_show(args),
            Command::Cleanup(args) => commands::cleanup::run(args),
            Command::Image(args) => commands::image::run_image(args),
            Command::Verify(args) => commands::image::run_verify(args),
            Command::Triage(args) => commands::triage::run(args),
            Command::Audit(args) => commands::audit::run(args),
            Command::Completions(args) => commands::completions::run(args),
            Command::Init(args) => commands::init::run(args),
        }
    }
}

fn main() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut <Cli as clap::CommandFactory>::command()).exit(),
    };
    globals::set(cli.global.clone());
    let json = cli.command.json();
    // The configuration file fills what the command line and the environment left empty; `init`
    // writes one and `completions` needs none, so a broken file does not stop them.
    if !matches!(cli.command, Command::Init(_) | Command::Completions(_)) {
        let config = match config::load(cli.global.config.as_deref()) {
            Ok(config) => config,
            Err(e) => return e.report(json),
        };
        config::apply::apply(&mut cli.command, &config, typed(&matches));
    }
    let (case_id, data) = cli.command.case();
    exit::install_panic_hook(exit::BugContext {
        command_line: std::env::args_os().map(|a| exit::without_secrets(&a.to_string_lossy())).collect(),
        json,
        case_id: case_id.map(str::to_string),
        journal: data.and_then(|d| d.dir().ok()).map(|d| d.join(custody_journal::FILE_NAME)),
    });
    // A panic on this thread ends here, reported by the hook; one on another thread is seen by `finish`.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli.command.run()));
    exit::finish(result, json)
}

/// Which values of the subcommand were typed on the command line, not taken from the environment.
fn typed(matches: &clap::ArgMatches) -> config::apply::Typed {
    let Some((_, sub)) = matches.subcommand() else { return config::apply::Typed::default() };
    let typed = |id: &str| {
        sub.try_get_raw(id).ok().flatten().is_some()
            && sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    config::apply::Typed { region: typed("region"), data_dir: typed("data_dir") }
}
