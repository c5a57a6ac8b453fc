//! `custody plan`: the acquisition laid out from an inventory, offline: the path of each volume and
//! why, then the ordered steps, their AWS calls and every authorization request AWS evaluates for
//! each call (docs/aws-authorization-map.md).

use crate::input::{origin_name, read_text, InputError};
use custody_plan::inventory::parse_inventory;
use custody_plan::plan::{plan, AuthzRequest, ContextEntry, Mode, Plan, PlanRequest, PolicyScope};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The inventory (JSON, docs/inventory-format.md), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The instance to acquire (`i-…`).
    #[arg(long, value_name = "INSTANCE_ID")]
    pub instance: String,
    /// Where the evidence goes: an account, optionally with a Region (default: the inventory's
    /// forensic account and Region).
    #[arg(long, value_name = "ACCOUNT[:REGION]", value_parser = parse_destination)]
    pub to: Option<Destination>,
    /// How a cross-account customer managed key is opened to the forensic role (auto: chosen per
    /// volume from the key's grants and key policy); direct-read reads every volume in place with the
    /// EBS direct APIs.
    #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
    pub mode: ModeArg,
    /// Include triage through SSM Run Command.
    #[arg(long)]
    pub triage: bool,
    /// The case id: names the role sessions, the tags and the temporary key's alias.
    #[arg(long = "case", value_name = "ID", default_value = "CASE")]
    pub case_id: String,
    /// Print the plan as one JSON object instead of a readable report.
    #[arg(long)]
    pub json: bool,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Auto,
    GrantOnly,
    Direct,
    OwnerGrants,
    DirectRead,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Auto => Mode::Auto,
            ModeArg::GrantOnly => Mode::GrantOnly,
            ModeArg::Direct => Mode::Direct,
            ModeArg::OwnerGrants => Mode::OwnerGrants,
            ModeArg::DirectRead => Mode::DirectRead,
        }
    }
}

/// `--to ACCOUNT[:REGION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub account: String,
    pub region: Option<String>,
}

fn parse_destination(text: &str) -> Result<Destination, String> {
    let (account, region) = match text.split_once(':') {
        Some((a, r)) => (a, Some(r)),
        None => (text, None),
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{account}` is not a 12-digit account id (expected ACCOUNT or ACCOUNT:REGION)"));
    }
    let region_ok = |r: &str| {
        let parts: Vec<&str> = r.split('-').collect();
        parts.len() >= 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    match region {
        Some(r) if !region_ok(r) => Err(format!("`{r}` is not a Region name such as `eu-west-1`")),
        _ => Ok(Destination { account: account.to_string(), region: region.map(str::to_string) }),
    }
}

/// Runs the command.
pub fn run(args: &PlanArgs) -> ExitCode {
    match answer(args) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a panic or a message.
            let _ = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush());
            ExitCode::SUCCESS
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

/// Reads, plans, renders; any error before output.
fn answer(args: &PlanArgs) -> Result<String, (InputError, Option<&'static str>)> {
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
        to_account: args.to.as_ref().map(|d| d.account.clone()),
        to_region: args.to.as_ref().and_then(|d| d.region.clone()),
        mode: args.mode.into(),
        triage: args.triage,
        case_id: args.case_id.clone(),
    };
    let plan = plan(&inventory, &request).map_err(|e| (InputError { origin, message: e.to_string() }, None))?;
    if args.json {
        // Serializing strings, vectors and JSON values cannot fail.
        let mut out = serde_json::to_string_pretty(&plan).unwrap_or_default();
        out.push('\n');
        Ok(out)
    } else {
        Ok(report(&plan))
    }
}

/// The readable report.
fn report(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {} (account {}, {}) into account {} ({}), case {}",
        plan.instance_id, plan.source_account, plan.source_region, plan.dest_account, plan.dest_region, plan.case_id
    );
    let _ = writeln!(out, "\nVolumes");
    for v in &plan.volumes {
        let _ = writeln!(out, "  {}  path {}", v.volume_id, v.path);
        let _ = writeln!(out, "      {}", v.reason);
        if let Some(evidence) = v.snapshots.iter().find(|s| s.evidence) {
            let _ =
                writeln!(out, "      evidence: {} in account {} ({})", evidence.id, evidence.account, evidence.region);
        }
    }
    let _ = writeln!(out, "\nSteps");
    for (n, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {} [{}]", n + 1, step.id, step.phase.as_str());
        let _ = writeln!(out, "     {}", step.title);
        for call in &step.calls {
            let _ =
                writeln!(out, "     {} in account {} ({}), as {}", call.api, call.account, call.region, call.signer);
            for r in &call.requests {
                request(&mut out, r, &call.region);
            }
        }
        for g in &step.creates_grants {
            let id = g.grant.get("grant_id").and_then(|v| v.as_str()).unwrap_or("(no id)");
            let _ = writeln!(out, "     creates grant {id} on {}", g.key_arn);
        }
        for k in &step.creates_keys {
            let _ = writeln!(out, "     creates key {} (aliases: {})", k.arn, k.aliases.join(", "));
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "\nNotes");
        for n in &plan.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}

/// One request: principal, action, resource, then its context, leaving out what every request of
/// the call carries (the Region called, `aws:ViaAWSService = false`); `--json` has everything.
fn request(out: &mut String, r: &AuthzRequest, call_region: &str) {
    let _ = writeln!(out, "       - {} {} on {}", r.principal, r.action, r.resource);
    let mut facts = Vec::new();
    if let Some(a) = &r.resource_account {
        facts.push(format!("resource account {a}"));
    }
    if let Some(g) = &r.grant_id {
        facts.push(format!("grant {g}"));
    }
    match r.scope {
        PolicyScope::All => {}
        PolicyScope::Identity => facts.push("caller's policies only".to_string()),
        PolicyScope::Resource => facts.push("resource policy only".to_string()),
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "           {}", facts.join("; "));
    }
    for (k, v) in &r.context {
        let routine = match (k.as_str(), v) {
            ("aws:RequestedRegion" | "ec2:Region", ContextEntry::Single(s)) => s == call_region,
            ("aws:ViaAWSService", ContextEntry::Single(s)) => s == "false",
            _ => false,
        };
        if routine {
            continue;
        }
        let value = match v {
            ContextEntry::Single(s) => s.clone(),
            ContextEntry::Multi(items) => format!("[{}]", items.join(", ")),
        };
        let _ = writeln!(out, "           {k} = {value}");
    }
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
