//! `custody check`: the preflight. Plans the acquisition from an inventory, evaluates every
//! authorization request of the plan offline, and says for each refusal the smallest fix, each one
//! re-evaluated before it is offered.

use crate::acquisition::{load_and_plan_with_digest, AcquisitionArgs};
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_plan::check::{check, Provenance};
use custody_plan::report::{render, Format};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub acquisition: AcquisitionArgs,
    /// Print the whole report as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The report's format: text, json, md (Markdown) or html (one self-contained page).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = parse_format)]
    pub format: Format,
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
}

/// Runs the command: exit 0 when every step passes, 1 when a step fails or is unknown, 2 on bad
/// input (with nothing on standard output).
pub fn run(args: &CheckArgs) -> CliResult {
    let (out, all_pass) = answer(args)?;
    write_stdout(&out);
    Ok(ExitStatus::from_ok(all_pass))
}

/// Reads, plans, checks, renders; every error comes before any output.
fn answer(args: &CheckArgs) -> Result<(String, bool), CliError> {
    let (inventory, plan, digest) = load_and_plan_with_digest(&args.acquisition)?;
    let mut report = check(&inventory, &plan);
    report.provenance = Some(Provenance {
        custody_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        inventory: crate::input::origin_name(&args.acquisition.inventory),
        inventory_sha256: digest,
    });
    let format = if args.json { Format::Json } else { args.format };
    Ok((render(&report, format), report.all_pass()))
}
