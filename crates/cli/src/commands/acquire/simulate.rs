//! `custody acquire --simulate INVENTORY`: the whole acquisition against the simulated cloud the
//! inventory describes, which authorizes every call with the engine as AWS would. Prints every call
//! with its authorization decisions, then what the run left behind (nothing, when cleanup works).
//!
//! **Testing aid: a simulated cloud that outlives the process.** With `--simulate-state FILE`
//! (hidden from `--help`), the world is read from FILE if it exists (else seeded from the inventory)
//! and written back to it, atomically, after every simulated call, before the call answers
//! (`custody_sim`, "A world that outlives its process"). A run killed at any point can then be
//! resumed (`--resume CASE`, with the same `--simulate`, `--simulate-state` and `--data-dir`) or
//! cleaned up (`custody cleanup --case CASE --simulate INVENTORY --simulate-state FILE`) by a new
//! process, on the cloud the killed one left: that is how the crash tests run the cross-account
//! paths, which moto cannot. The environment variable `CUSTODY_SIM_LOOKUP_LAG=N` makes the world's
//! listings lag N calls behind what is created (`SimWorld::set_lookup_lag`), as AWS's eventually
//! consistent Describe and List calls do; `CUSTODY_SIM_AUTHZ_LAG=N` makes a new grant or alias
//! authorize only N calls after it is made (`SimWorld::set_authz_lag`), as KMS does.

use super::output;
use super::{
    inventory_json, plan_and_check, prepare_error, progress, read_inventory, settings, watch_ctrl_c, AcquireArgs,
};
use crate::exit::{write_stdout, CliError, CliResult, ErrorKind, ExitStatus};
use custody_acquire::prepare::preflight_journaled;
use custody_acquire::{AcquireReport, Executor};
use custody_cloud::Cloud;
use custody_journal::{Journal, NewCase};
use custody_plan::inventory::Inventory;
use custody_plan::plan::session_name;
use custody_plan::text::{safe, Safe};
use custody_sim::{SimCall, SimWorld};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// The environment variable of the look-up lag, in calls.
const LOOKUP_LAG: &str = "CUSTODY_SIM_LOOKUP_LAG";
/// The environment variable of the lag before a new grant or alias authorizes, in calls.
const AUTHZ_LAG: &str = "CUSTODY_SIM_AUTHZ_LAG";

/// The number of calls in environment variable `name`, if it is set.
fn calls_in(name: &str) -> Result<Option<u64>, String> {
    let Some(value) = std::env::var_os(name) else { return Ok(None) };
    value
        .to_str()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| format!("{name}=`{}`: expected a number of calls", value.to_string_lossy()))
}

/// The simulated cloud `inventory` (read from `path`) describes: in memory, or kept in `state`.
/// Errors are the user's (exit 2).
pub(crate) fn world(inventory: &Inventory, path: &Path, state: Option<&Path>) -> Result<SimWorld, CliError> {
    let world = match state {
        Some(file) => SimWorld::persistent(inventory, file),
        None => SimWorld::new(inventory),
    }
    .map_err(|message| CliError::user(format!("{}: cannot simulate this inventory: {message}", path.display())))?;
    if let Some(lag) = calls_in(LOOKUP_LAG).map_err(CliError::user)? {
        world.set_lookup_lag(lag);
    }
    if let Some(lag) = calls_in(AUTHZ_LAG).map_err(CliError::user)? {
        world.set_authz_lag(lag);
    }
    Ok(world)
}

/// Where a simulated case acquired with `--data-dir DIR` keeps its simulated cloud: beside the journal,
/// `DIR/simulated/<case>.json`, read again by `custody audit CASE`.
pub(crate) fn kept_world(data_dir: &Path, case: &str) -> std::path::PathBuf {
    data_dir.join("simulated").join(format!("{case}.json"))
}

/// [`kept_world`], its directory created (private, like the data directory).
fn prepare_kept_world(data_dir: &Path, case: &str) -> Result<std::path::PathBuf, CliError> {
    let file = kept_world(data_dir, case);
    if let Some(dir) = file.parent() {
        let mut builder = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .recursive(true)
            .create(dir)
            .map_err(|e| CliError::user(format!("{}: cannot create the directory: {e}", dir.display())))?;
    }
    Ok(file)
}

/// For `custody cleanup --simulate INVENTORY --simulate-state FILE`: the forensic role's session of
/// the simulated cloud kept in FILE (`None` without `--simulate`). Errors are the user's (exit 2).
pub(crate) fn cleanup_cloud(
    inventory_path: Option<&Path>,
    state: Option<&Path>,
    case_id: Option<&str>,
) -> Result<Option<Arc<dyn Cloud>>, CliError> {
    let Some(path) = inventory_path else { return Ok(None) };
    let Some(state) = state else {
        return Err(CliError::user(
            "--simulate with cleanup needs --simulate-state: the state file the acquisition kept",
        ));
    };
    let inventory = read_inventory(path)?;
    let world = world(&inventory, path, Some(state))?;
    let forensic = &inventory.config.forensic_role_arn;
    Ok(Some(world.cloud_as(forensic, &session_name(case_id.unwrap_or("cleanup")))))
}

pub(super) async fn run(args: &AcquireArgs, path: &Path) -> CliResult {
    if args.resume.is_some() && args.simulate_state.is_none() {
        return Err(CliError::user(
            "--resume with --simulate: a simulated cloud lives only as long as its run, so there is nothing to \
             resume; run the simulation again",
        ));
    }
    let inventory = read_inventory(path)?;
    let mut world = world(&inventory, path, args.simulate_state.as_deref())?;
    if let Some(case) = &args.resume {
        return resume(args, path, &inventory, &world, case).await;
    }
    let Some(case_id) = args.case_id.clone() else {
        return Err(CliError::bug("no case id for a new simulated acquisition, which clap requires"));
    };
    // A dry run stops where the preflight would stop a real run; --no-preflight shows where AWS refuses.
    let plans = plan_and_check(args, &inventory, &case_id)?;
    // Only now, with the input known good, is a journal opened (and, with --data-dir, created).
    let journal = match &args.data.data_dir {
        Some(_) => args.data.open()?,
        None => Journal::open_in_memory().map_err(|e| CliError::from_error(ErrorKind::User, &e))?,
    };
    let journal = Arc::new(journal);
    // One process per case (a journal in memory has nothing to lock).
    let _lock = crate::data_dir::lock_case(&journal, &case_id)?;
    // A journal on disk keeps its simulated cloud beside it (created only now, with the input known
    // good and the case locked), so that `custody audit` can read the case's record.
    if let (None, Some(dir)) = (&args.simulate_state, &args.data.data_dir) {
        let kept = prepare_kept_world(dir, &case_id)?;
        world = self::world(&inventory, path, Some(&kept))?;
    }
    let forensic = inventory.config.forensic_role_arn.clone();
    let base = world.cloud_as(&forensic, &session_name(&case_id));
    let executor = Executor::new(journal.clone(), base, &forensic, settings(args), progress(args.json))
        .with_inventory(inventory_json(&inventory)?);
    watch_ctrl_c(&executor, args.json);
    super::refuse_shared_case(&journal, &executor, &case_id, &plans).await?;
    let case = NewCase {
        case_id: case_id.clone(),
        examiner: args.examiner.clone(),
        destination_account: plans.first().map(|(p, _)| p.dest_account.clone()).unwrap_or_default(),
        destination_region: plans.first().map(|(p, _)| p.dest_region.clone()).unwrap_or_default(),
        note: Some(format!("simulated from {}", path.display())),
        simulated: true,
    };
    let report = executor.acquire(&case, plans).await.map_err(|e| CliError::from_error(ErrorKind::Failure, &e))?;
    finish(args, path, &inventory, &world, &case_id, &report)
}

/// `--resume CASE` on a simulated cloud kept in a state file: the journal's plans, carried on.
async fn resume(args: &AcquireArgs, path: &Path, inventory: &Inventory, world: &SimWorld, case: &str) -> CliResult {
    let journal = Arc::new(args.data.open()?);
    let _lock = crate::data_dir::lock_case(&journal, case)?;
    let preflights = preflight_journaled(&journal, inventory, case).map_err(|e| {
        // A journal that cannot be read is refused before anything is run: nothing was changed.
        CliError { kind: ErrorKind::User, ..prepare_error(e) }
    })?;
    let forensic = inventory.config.forensic_role_arn.clone();
    let base = world.cloud_as(&forensic, &session_name(case));
    let executor = Executor::new(journal, base, &forensic, settings(args), progress(args.json));
    watch_ctrl_c(&executor, args.json);
    let report = executor.resume(case, preflights).await.map_err(|e| CliError::from_error(ErrorKind::Failure, &e))?;
    finish(args, path, inventory, world, case, &report)
}

/// Prints the calls, the report and what was left; the exit status.
fn finish(
    args: &AcquireArgs,
    path: &Path,
    inventory: &Inventory,
    world: &SimWorld,
    case_id: &str,
    report: &AcquireReport,
) -> CliResult {
    let evidence: Vec<String> = report.evidence().iter().map(|e| e.snapshot_id.clone()).collect();
    // A snapshot the report says the run kept (the only copy of a volume's evidence) is not "left
    // behind" as "not evidence", which would invite deleting it; a share still in place is.
    let (kept, leftovers): (Vec<String>, Vec<String>) = world
        .leftovers(case_id, &evidence, &inventory.config.alias_prefix)
        .into_iter()
        .partition(|l| kept_on_purpose(report, l));
    let failed_copies = world.failed_evidence_copies(case_id);
    let calls = world.calls();
    if args.json {
        let out = json!({
            "simulated": true,
            "report": report,
            "calls": calls.iter().map(call_json).collect::<Vec<_>>(),
            "leftovers": leftovers,
            "kept": kept,
            "failed_evidence_copies": failed_copies,
        });
        // Reports, strings and JSON values with string keys: serializing them cannot fail, short of a bug.
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| CliError::bug("cannot serialize the result").caused_by(&e))?;
        write_stdout(&format!("{text}\n"));
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nsimulated calls ({}), each authorized by the engine against {}:",
            calls.len(),
            Safe(&path.display().to_string())
        );
        for c in &calls {
            let _ = writeln!(out, "{}", call_line(c));
            for d in c.refusals() {
                let _ = writeln!(out, "      REFUSED {} on {}: {}", Safe(&d.action), Safe(&d.resource), Safe(&d.why));
            }
        }
        out.push_str(&output::render(report));
        if !kept.is_empty() {
            let _ = writeln!(out, "kept, the only copy of the evidence (the report above says why):");
            for l in &kept {
                let _ = writeln!(out, "  {}", Safe(l));
            }
        }
        if leftovers.is_empty() {
            let _ = writeln!(
                out,
                "left behind: nothing (no temporary snapshot, share, grant, alias or live temporary key)"
            );
        } else {
            let _ = writeln!(out, "left behind:");
            for l in &leftovers {
                let _ = writeln!(out, "  {}", Safe(l));
            }
        }
        if !failed_copies.is_empty() {
            let _ = writeln!(out, "kept, holding no data:");
            for l in &failed_copies {
                let _ = writeln!(out, "  {}", Safe(l));
            }
        }
        write_stdout(&out);
    }
    Ok(match (report.succeeded && leftovers.is_empty(), report.interrupted) {
        (true, _) => ExitStatus::Success,
        (false, true) => ExitStatus::Interrupted,
        (false, false) => ExitStatus::Failure,
    })
}

/// Whether a leftover (`snapshot snap-… (…) is tagged … and is not evidence`) is a snapshot the
/// report says the run kept.
fn kept_on_purpose(report: &AcquireReport, leftover: &str) -> bool {
    if !leftover.ends_with("and is not evidence") {
        return false;
    }
    let Some(id) = leftover.strip_prefix("snapshot ").and_then(|rest| rest.split(' ').next()) else {
        return false;
    };
    let names_it = |line: &String| line.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').any(|w| w == id);
    report.instances.iter().flat_map(|i| &i.volumes).flat_map(|v| &v.left).filter(|l| l.contains("kept")).any(names_it)
}

/// One simulated call on one line; its parameters hold the inventory's tags, so the whole line is
/// escaped as one value.
fn call_line(c: &SimCall) -> String {
    let verdict = if c.decisions.iter().all(|d| d.allowed) { "allow" } else { "DENY " };
    let result = match &c.result {
        Ok(r) if r.is_empty() => "ok".to_string(),
        Ok(r) => r.clone(),
        Err(e) => format!("ERROR {e}"),
    };
    let who = c.principal.rsplit(":assumed-role/").next().unwrap_or(&c.principal);
    let line = format!("  {verdict} {:<32} {} {} as {who}: {} -> {result}", c.api, c.account, c.region, c.params);
    safe(&line).into_owned()
}

fn call_json(c: &SimCall) -> serde_json::Value {
    json!({
        "principal": c.principal,
        "api": c.api,
        "account": c.account,
        "region": c.region,
        "params": c.params,
        "decisions": c.decisions.iter().map(|d| json!({
            "action": d.action, "resource": d.resource, "allowed": d.allowed, "why": d.why,
        })).collect::<Vec<_>>(),
        "result": match &c.result { Ok(r) => json!({"ok": r}), Err(e) => json!({"error": e}) },
    })
}
