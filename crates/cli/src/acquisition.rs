//! The arguments `custody plan` and `custody check` share, and the reading of the inventory and the
//! planning they both start with: one definition, so that `--to`, `--mode` and their errors cannot
//! drift apart between the two commands.

use crate::choices::ModeArg;
use crate::exit::CliError;
use crate::input::{origin_name, read_text, InputError};
use custody_plan::inventory::arn::{is_account_id, is_region};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, Plan, PlanRequest, TriageOutput};
use std::path::PathBuf;

/// What to acquire, from which inventory, to where.
#[derive(Debug, clap::Args)]
pub struct AcquisitionArgs {
    /// The inventory (JSON, docs/inventory-format.md), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The instance to acquire (`i-…`).
    #[arg(value_name = "INSTANCE_ID")]
    pub instance: String,
    /// Where the evidence goes: an account, optionally with a Region (default: the inventory's
    /// forensic account and Region).
    #[arg(long, value_name = "ACCOUNT[:REGION]", value_parser = parse_destination)]
    pub to: Option<Destination>,
    /// How a cross-account customer managed key is opened to the forensic role, or direct-read, which
    /// reads every volume in place with the EBS direct APIs.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ModeArg::Auto)]
    pub mode: ModeArg,
    /// Include triage through SSM Run Command.
    #[arg(long)]
    pub triage: bool,
    /// With --triage: the S3 location the SSM agent writes the triage output to, as `custody triage
    /// --output` takes it; the preflight then checks the instance profile's write, custody's reads
    /// and the bucket policy.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", requires = "triage", value_parser = TriageOutput::parse)]
    pub output: Option<TriageOutput>,
    /// Also create a volume from each evidence snapshot in this availability zone of the
    /// destination Region (feature `volume` of `custody policy role`).
    #[arg(long, value_name = "AZ")]
    pub volume_az: Option<String>,
    /// Also plan and check reading CloudTrail's record of the acquisition, as `custody audit` does
    /// afterwards in each account and Region it touches (needs feature `audit` of `custody policy
    /// role`).
    #[arg(long)]
    pub audit: bool,
    /// The case id: names the role sessions, the tags and the temporary key's alias.
    #[arg(long = "case", value_name = "ID", default_value = "CASE", value_parser = crate::data_dir::parse_case_id)]
    pub case_id: String,
}

/// `--to ACCOUNT[:REGION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub account: String,
    pub region: Option<String>,
}

pub(crate) fn parse_destination(text: &str) -> Result<Destination, String> {
    let (account, region) = match text.split_once(':') {
        Some((a, r)) => (a, Some(r)),
        None => (text, None),
    };
    if !is_account_id(account) {
        return Err(format!("`{account}` is not a 12-digit account id (expected ACCOUNT or ACCOUNT:REGION)"));
    }
    match region {
        Some(r) if !is_region(r) => Err(format!("`{r}` is not a Region name such as `eu-west-1`")),
        _ => Ok(Destination { account: account.to_string(), region: region.map(str::to_string) }),
    }
}

/// Reads and validates the inventory, then plans the acquisition; every error comes before any output.
pub fn load_and_plan(args: &AcquisitionArgs) -> Result<(Inventory, Plan), CliError> {
    load_and_plan_with_digest(args).map(|(inventory, plan, _)| (inventory, plan))
}

/// [`load_and_plan`], with the SHA-256 of the inventory's bytes as read (lower-case hex), for a
/// report's provenance.
pub fn load_and_plan_with_digest(args: &AcquisitionArgs) -> Result<(Inventory, Plan, String), CliError> {
    let origin = origin_name(&args.inventory);
    let text = read_text(&args.inventory)?;
    let digest = hex::encode(custody_sha256::digest(text.as_bytes()));
    let inventory = parse_inventory(&text).map_err(|e| {
        CliError::from(InputError { origin: origin.clone(), message: e.to_string() })
            .with_help("the inventory format is documented in docs/inventory-format.md")
    })?;
    let request = PlanRequest {
        instance_id: args.instance.clone(),
        to_account: args.to.as_ref().map(|d| d.account.clone()),
        to_region: args.to.as_ref().and_then(|d| d.region.clone()),
        mode: args.mode.into(),
        triage: args.triage,
        triage_output: args.output.clone(),
        case_id: args.case_id.clone(),
        run_id: custody_plan::plan::PLANNED_RUN_ID.to_string(),
        volume_az: args.volume_az.clone(),
        audit: args.audit,
    };
    let planned =
        plan(&inventory, &request).map_err(|e| CliError::from(InputError { origin, message: e.to_string() }))?;
    Ok((inventory, planned, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        assert_eq!(
            parse_destination("111111111111:eu-west-1"),
            Ok(Destination { account: "111111111111".into(), region: Some("eu-west-1".into()) })
        );
        assert_eq!(parse_destination("111111111111"), Ok(Destination { account: "111111111111".into(), region: None }));
        assert!(parse_destination("1111").is_err());
        assert!(parse_destination("111111111111:").is_err());
        assert!(parse_destination("111111111111:west").is_err());
    }
}
