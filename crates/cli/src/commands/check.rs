//! `custody check`: the preflight. Plans the acquisition from an inventory, evaluates every
//! authorization request of the plan offline, and says for each refusal the smallest fix, each one
//! re-evaluated before it is offered.

use crate::acquisition::{load_and_plan_with_digest, AcquisitionArgs};
use crate::choices::ReportFormatArg;
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_plan::check::{check, Provenance};
use custody_plan::report::{render, Format};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody check --inventory examples/inventories/4-cross-region.json \\
      i-04d4d4d4d4d4d4d4d
  custody check --inventory inv.json i-0123456789abcdef0 \\
      --to 999999999999:eu-west-1 --format html > report.html

Exit status 0 every step passes, 1 a step would fail or is unknown, 2 bad input.")]
pub struct CheckArgs {
    #[command(flatten)]
    pub acquisition: AcquisitionArgs,
    /// Print the whole report as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The report's format.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,
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
    let format = if args.json { Format::Json } else { args.format.into() };
    Ok((render(&report, format), report.all_pass()))
}
