//! `custody check`: the preflight. Plans the acquisition from an inventory, evaluates every
//! authorization request of the plan offline, and says for each refusal the smallest fix, each one
//! re-evaluated before it is offered.

use crate::input::{origin_name, read_text, InputError};
use custody_plan::check::check;
use custody_plan::inventory::arn::{is_account_id, is_region};
use custody_plan::inventory::parse_inventory;
use custody_plan::plan::{plan, Mode, PlanRequest};
use custody_plan::report::{render, Format};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The inventory (JSON, docs/inventory-format.md), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The instance to acquire (`i-…`).
    #[arg(long, value_name = "INSTANCE_ID")]
    pub instance: String,
    /// Where the evidence goes: an account, optionally with a Region (default: the inventory's
    /// forensic account and Region).
    #[arg(long, value_name = "ACCOUNT[:REGION]", value_parser = parse_destination)]
    pub to: Option<(String, Option<String>)>,
    /// How a cross-account customer managed key is opened to the forensic role: auto, grant-only,
    /// direct, owner-grants, or direct-read.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_mode)]
    pub mode: Mode,
    /// Include triage through SSM Run Command.
    #[arg(long)]
    pub triage: bool,
    /// The case id: names the role sessions, the tags and the temporary key's alias.
    #[arg(long = "case", value_name = "ID", default_value = "CASE")]
    pub case_id: String,
    /// Print the whole report as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The report's format: text, json, md (Markdown) or html (one self-contained page).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = parse_format)]
    pub format: Format,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    text.parse()
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
}

/// `ACCOUNT[:REGION]`.
fn parse_destination(text: &str) -> Result<(String, Option<String>), String> {
    let (account, region) = match text.split_once(':') {
        Some((a, r)) => (a, Some(r)),
        None => (text, None),
    };
    if !is_account_id(account) {
        return Err(format!("`{account}` is not a 12-digit account id (expected ACCOUNT or ACCOUNT:REGION)"));
    }
    match region {
        Some(r) if !is_region(r) => Err(format!("`{r}` is not a Region name such as `eu-west-1`")),
        _ => Ok((account.to_string(), region.map(str::to_string))),
    }
}

/// Runs the command: exit 0 when every step passes, 1 when a step fails or is unknown, 2 on bad
/// input (with nothing on standard output).
pub fn run(args: &CheckArgs) -> ExitCode {
    match answer(args) {
        Ok((out, all_pass)) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a panic or a message.
            let _ = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush());
            if all_pass {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err((e, help)) => {
            eprintln!("error: {e}");
            if let Some(help) = help {
                eprintln!("help: {help}");
            }
            ExitCode::from(2)
        }
    }
}

/// Reads, plans, checks, renders; every error comes before any output.
fn answer(args: &CheckArgs) -> Result<(String, bool), (InputError, Option<&'static str>)> {
    let origin = origin_name(&args.inventory);
    let text = read_text(&args.inventory).map_err(|e| (e, None))?;
    let inventory = parse_inventory(&text).map_err(|e| {
        (
            InputError { origin: origin.clone(), message: e.to_string() },
            Some("the inventory format is documented in docs/inventory-format.md"),
        )
    })?;
    let request = PlanRequest {
        instance_id: args.instance.clone(),
        to_account: args.to.as_ref().map(|(account, _)| account.clone()),
        to_region: args.to.as_ref().and_then(|(_, region)| region.clone()),
        mode: args.mode,
        triage: args.triage,
        case_id: args.case_id.clone(),
    };
    let plan = plan(&inventory, &request).map_err(|e| (InputError { origin, message: e.to_string() }, None))?;
    let report = check(&inventory, &plan);
    let format = if args.json { Format::Json } else { args.format };
    Ok((render(&report, format), report.all_pass()))
}
