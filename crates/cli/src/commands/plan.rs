//! `custody plan`: the acquisition laid out from an inventory, offline: the path of each volume and
//! why, then the ordered steps, their AWS calls and every authorization request AWS evaluates for
//! each call (docs/aws-authorization-map.md).

use crate::acquisition::{load_and_plan, AcquisitionArgs};
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_plan::plan::{AuthzRequest, ContextEntry, Plan, PolicyScope};
use custody_plan::text::{safe_lines, Safe};
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody plan --inventory inv.json i-0123456789abcdef0
  custody plan --inventory inv.json i-0123456789abcdef0 --mode direct-read
  custody plan --inventory inv.json i-0123456789abcdef0 --json")]
pub struct PlanArgs {
    #[command(flatten)]
    pub acquisition: AcquisitionArgs,
    /// Print the plan as one JSON object instead of a readable report.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &PlanArgs) -> CliResult {
    write_stdout(&answer(args)?);
    Ok(ExitStatus::Success)
}

/// Reads, plans, renders; any error before output.
fn answer(args: &PlanArgs) -> Result<String, CliError> {
    let (_, plan) = load_and_plan(&args.acquisition)?;
    if args.json {
        // Serializing strings, vectors and JSON values cannot fail.
        let mut out = serde_json::to_string_pretty(&plan).unwrap_or_default();
        out.push('\n');
        Ok(out)
    } else {
        Ok(report(&plan))
    }
}

/// The readable report. Every value is shown through `Safe` (an instance tag or a principal can
/// hold terminal escapes or bidi overrides: they are printed as escapes, one line each).
fn report(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {} (account {}, {}) into account {} ({}), case {}",
        Safe(&plan.instance_id),
        Safe(&plan.source_account),
        Safe(&plan.source_region),
        Safe(&plan.dest_account),
        Safe(&plan.dest_region),
        Safe(&plan.case_id)
    );
    let _ = writeln!(out, "\nVolumes");
    for v in &plan.volumes {
        let _ = writeln!(out, "  {}  path {}", Safe(&v.volume_id), v.path);
        let _ = writeln!(out, "      {}", Safe(&v.reason));
        if let Some(evidence) = v.snapshots.iter().find(|s| s.evidence) {
            let _ = writeln!(
                out,
                "      evidence: {} in account {} ({})",
                Safe(&evidence.id),
                Safe(&evidence.account),
                Safe(&evidence.region)
            );
        }
    }
    let _ = writeln!(out, "\nSteps");
    for (n, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {} [{}]", n + 1, Safe(&step.id), step.phase.as_str());
        let _ = writeln!(out, "     {}", Safe(&step.title));
        for call in &step.calls {
            let _ = writeln!(
                out,
                "     {} in account {} ({}), as {}",
                Safe(&call.api),
                Safe(&call.account),
                Safe(&call.region),
                Safe(&call.signer)
            );
            if let Some(when) = &call.when {
                let _ = writeln!(out, "       only when {}", Safe(when));
            }
            for r in &call.requests {
                request(&mut out, r, &call.region);
            }
        }
        for g in &step.creates_grants {
            let id = g.grant.get("grant_id").and_then(|v| v.as_str()).unwrap_or("(no id)");
            let _ = writeln!(out, "     creates grant {} on {}", Safe(id), Safe(&g.key_arn));
        }
        for k in &step.creates_keys {
            let _ = writeln!(out, "     creates key {} (aliases: {})", Safe(&k.arn), Safe(&k.aliases.join(", ")));
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "\nNotes");
        for n in &plan.notes {
            let _ = writeln!(out, "  - {}", Safe(n));
        }
    }
    // Every value was escaped above; this catches one a later edit forgets.
    safe_lines(&out).into_owned()
}

/// One request: principal, action, resource, then its context, leaving out what every request of
/// the call carries (the Region called, `aws:ViaAWSService = false`); `--json` has everything.
fn request(out: &mut String, r: &AuthzRequest, call_region: &str) {
    let _ = writeln!(out, "       - {} {} on {}", Safe(&r.principal), Safe(&r.action), Safe(&r.resource));
    let mut facts = Vec::new();
    if let Some(a) = &r.resource_account {
        facts.push(format!("resource account {}", Safe(a)));
    }
    if let Some(g) = &r.grant_id {
        facts.push(format!("grant {}", Safe(g)));
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
        let _ = writeln!(out, "           {} = {}", Safe(k), Safe(&value));
    }
}
