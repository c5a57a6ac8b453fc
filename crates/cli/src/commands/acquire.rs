//! `custody acquire`: preflight, then run the plans, journaled; `--resume` a case; `--simulate` a
//! dry run against the simulated cloud an inventory describes.
//!
//! Arguments are checked before anything else (exit 2, nothing touched). Against AWS (or an
//! emulator through `AWS_ENDPOINT_URL`), custody runs as the forensic role: when the configured
//! identity is not a session of it, custody assumes it first, with a session name that carries the
//! case. The inventory is collected live with read-only calls unless `--inventory` names one. Every
//! plan is preflighted; a step that would fail stops everything before the first change unless
//! `--no-preflight`. Progress goes to standard error, the result to standard output (`--json`).
//! Exit 0 all evidence secured, 1 refused by the preflight or an acquisition failed, 2 bad input,
//! 130 interrupted (Ctrl-C; cleanup ran).

mod output;
pub(crate) mod simulate;

use crate::acquisition::{parse_destination, parse_mode, Destination};
use crate::aws_target::AwsTargetArgs;
use crate::data_dir::{error_chain, lock_case, parse_case_id, DataDirArgs};
use crate::input::{origin_name, read_text};
use custody_acquire::wait::WaitSettings;
use custody_acquire::{AcquireReport, Executor, Progress, Settings};
use custody_cloud::collect::collect;
use custody_cloud::sdk::SdkCloud;
use custody_cloud::{Cloud, SessionName};
use custody_journal::{Journal, NewCase};
use custody_plan::check::{check, CheckReport};
use custody_plan::inventory::arn::is_instance_id;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, session_name, Mode, Plan, PlanRequest};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody acquire i-0abc… --case IR-7 --to 999999999999:eu-west-1 --forensic-role-arn arn:aws:iam::999999999999:role/CustodyForensic
  custody acquire --resume IR-7
  custody acquire i-08b8b8b8b8b8b8b8b --case T1 --simulate examples/inventories/8-cross-account-aws-managed.json

Exit status: 0 all evidence secured, 1 refused by the preflight or failed, 2 bad input or the case is being worked by \
another custody process (nothing touched), 130 interrupted.")]
pub struct AcquireArgs {
    /// The instances to acquire (`i-…`), all in one account and Region.
    #[arg(value_name = "INSTANCE_ID", required_unless_present = "resume")]
    pub instances: Vec<String>,
    /// The case id: in the role session names, the tags of everything created, the temporary alias.
    #[arg(long = "case", value_name = "ID", required_unless_present = "resume", value_parser = parse_case_id)]
    pub case_id: Option<String>,
    /// Continue a case whose run was interrupted or killed, from its journaled plans.
    #[arg(long, value_name = "CASE", conflicts_with_all = ["instances", "case_id"], value_parser = parse_case_id)]
    pub resume: Option<String>,
    /// Where the evidence goes: an account, optionally with a Region [default: the forensic account
    /// and Region].
    #[arg(long, value_name = "ACCOUNT[:REGION]", value_parser = parse_destination)]
    pub to: Option<Destination>,
    /// The examiner's name, recorded with the case.
    #[arg(long, value_name = "NAME")]
    pub examiner: Option<String>,
    /// How a cross-account customer managed key is opened to the forensic role (auto, grant-only,
    /// direct, owner-grants, direct-read).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_mode)]
    pub mode: Mode,
    /// Also create a volume from each evidence snapshot in this availability zone of the destination
    /// Region, for an examiner to attach (needs feature `volume` of `custody policy role`).
    #[arg(long, value_name = "AZ", conflicts_with = "resume")]
    pub volume_az: Option<String>,
    /// Dry run: acquire from the simulated cloud this inventory describes (nothing real is touched;
    /// the journal is kept in memory unless --data-dir is given, and marks the case simulated). Like
    /// a real run, it stops when the preflight says a step would fail.
    #[arg(long, value_name = "INVENTORY")]
    pub simulate: Option<PathBuf>,
    /// Testing aid (hidden): keep the simulated cloud in this file, so that a killed run can be
    /// resumed or cleaned up by another process (see `acquire/simulate.rs`).
    #[arg(long, value_name = "FILE", requires = "simulate", hide = true)]
    pub simulate_state: Option<PathBuf>,
    /// Use this inventory instead of collecting one live.
    #[arg(long, value_name = "FILE", conflicts_with = "simulate")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsTargetArgs,
    /// Run even when the preflight says a step would fail (the refusal then comes from AWS, or, with
    /// --simulate, from the simulated cloud).
    #[arg(long)]
    pub no_preflight: bool,
    /// How many volumes are transferred at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Give up waiting for a snapshot after this many seconds (resume later).
    #[arg(long, value_name = "SECONDS", default_value_t = 4 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub wait_timeout: u64,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &AcquireArgs) -> ExitCode {
    let inventory = match validate(args) {
        Ok(inventory) => inventory,
        Err(message) => {
            // The message can quote the inventory.
            eprintln!("error: {}", custody_plan::text::Safe(&message));
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime::start(tokio::runtime::Builder::new_multi_thread().worker_threads(2)) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(acquire(args, inventory))
}

/// Checks the raw arguments (the case id is checked by clap), and the inventory of `--inventory`:
/// read, and each instance planned with it. All before the data directory is created or AWS is
/// asked anything, so that bad input leaves nothing behind. Answers the inventory, read once (it
/// may be standard input).
fn validate(args: &AcquireArgs) -> Result<Option<Inventory>, String> {
    for id in &args.instances {
        if !is_instance_id(id) {
            return Err(format!("`{id}`: expected an instance id, `i-` and 8 or 17 hex digits"));
        }
    }
    args.aws.validate()?;
    let Some(path) = &args.inventory else { return Ok(None) };
    let inventory = read_inventory(path).map_err(|(message, _)| message)?;
    if let Some(case_id) = &args.case_id {
        for instance in &args.instances {
            // Only what can refuse a plan matters here; the run's own request is `plan_and_check`'s.
            let request = PlanRequest {
                to_account: args.to.as_ref().map(|d| d.account.clone()),
                to_region: args.to.as_ref().and_then(|d| d.region.clone()),
                mode: args.mode,
                case_id: case_id.clone(),
                volume_az: args.volume_az.clone(),
                ..PlanRequest::new(instance)
            };
            plan(&inventory, &request).map_err(|e| format!("{instance}: {e}"))?;
        }
    }
    Ok(Some(inventory))
}

/// The settings the arguments ask for (quick polls on the simulator, which has no real latency).
fn settings(args: &AcquireArgs) -> Settings {
    let mut wait = if args.simulate.is_some() { WaitSettings::quick() } else { WaitSettings::default() };
    wait.timeout = Duration::from_secs(args.wait_timeout);
    Settings { parallelism: usize::from(args.parallel), wait }
}

/// What a run ended with.
enum Ended {
    Report(AcquireReport),
    /// Refused before anything was touched: exit status.
    Refused(ExitCode),
}

async fn acquire(args: &AcquireArgs, inventory: Option<Inventory>) -> ExitCode {
    if let Some(path) = &args.simulate {
        return simulate::run(args, path).await;
    }
    let journal = match args.data.open() {
        Ok(j) => Arc::new(j),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    // One process per case, from before the journal is read until the run ends.
    let _lock = match lock_case(&journal, args.case_id.as_deref().or(args.resume.as_deref()).unwrap_or_default()) {
        Ok(lock) => lock,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let sdk = SdkCloud::from_env(args.aws.region.as_deref()).await;
    let base: Arc<dyn Cloud> = Arc::new(sdk);
    match live(args, journal.clone(), base, inventory).await {
        Ok(Ended::Report(report)) => output::finish(args, &journal, &report),
        Ok(Ended::Refused(code)) => code,
        Err(message) => {
            // AWS's words and the inventory's values: shown, not obeyed.
            eprintln!("error: {}", custody_plan::text::safe_indented(&message, "  "));
            ExitCode::from(1)
        }
    }
}

/// Against AWS: become the forensic role, collect (or read) the inventory, plan, preflight, run.
async fn live(
    args: &AcquireArgs,
    journal: Arc<Journal>,
    configured: Arc<dyn Cloud>,
    inventory: Option<Inventory>,
) -> Result<Ended, String> {
    let Some(region) = args.aws.region.clone().or_else(|| configured.default_region()) else {
        return Err("no Region: pass --region, or set AWS_REGION or a profile's region".into());
    };
    let case_id = args.case_id.clone().or_else(|| args.resume.clone()).unwrap_or_default();
    if args.resume.is_none() {
        if let Some(message) = already_acquired(&journal, &case_id, &args.instances)? {
            eprintln!("error: {message}");
            return Ok(Ended::Refused(ExitCode::from(2)));
        }
    }
    let inventory = match (inventory, &args.resume) {
        (Some(inventory), _) => Some(inventory),
        (None, Some(_)) => None,
        (None, None) => {
            let request = args.aws.collect_request(&args.instances, region.clone(), Some(case_id.clone()));
            eprintln!("collecting the inventory (read-only calls)…");
            let collected =
                collect(configured.clone(), &request).await.map_err(|e| format!("collect: {}", error_chain(&e)))?;
            for w in &collected.warnings {
                eprintln!("warning: {}", custody_plan::text::Safe(&w.to_string()));
            }
            Some(collected.inventory)
        }
    };
    let forensic_role = match (&inventory, &args.aws.forensic_role_arn) {
        (Some(inv), _) => inv.config.forensic_role_arn.clone(),
        (None, Some(arn)) => arn.clone(),
        (None, None) => resumed_forensic_role(&journal, &case_id)?,
    };
    let base = become_role(configured, &forensic_role, &case_id).await?;
    let executor = Executor::new(journal.clone(), base, &forensic_role, settings(args), progress(args.json));
    watch_ctrl_c(&executor);
    if let Some(case) = &args.resume {
        let preflights = match &inventory {
            Some(inv) => preflight_journaled(&journal, inv, case)?,
            None => BTreeMap::new(),
        };
        return executor.resume(case, preflights).await.map(Ended::Report).map_err(|e| error_chain(&e));
    }
    let Some(inventory) = inventory else { return Err("no inventory".into()) };
    let plans = match plan_and_check(args, &inventory, &case_id) {
        Ok(p) => p,
        Err(code) => return Ok(Ended::Refused(code)),
    };
    if let Some(code) = refuse_shared_case(&journal, &executor, &case_id, &plans).await? {
        return Ok(Ended::Refused(code));
    }
    let case = NewCase {
        case_id: case_id.clone(),
        examiner: args.examiner.clone(),
        destination_account: plans.first().map(|(p, _)| p.dest_account.clone()).unwrap_or_default(),
        destination_region: plans.first().map(|(p, _)| p.dest_region.clone()).unwrap_or_default(),
        note: None,
        simulated: false,
    };
    executor.acquire(&case, plans).await.map(Ended::Report).map_err(|e| error_chain(&e))
}

/// Refuses (exit 2) a case id that custody-tagged snapshots of runs this journal does not know already
/// carry in the accounts the plans touch: they belong to another journal (another data directory), and
/// sharing a case id would mix two chains of custody.
pub(crate) async fn refuse_shared_case(
    journal: &Journal,
    executor: &Executor,
    case_id: &str,
    plans: &[(Plan, Option<CheckReport>)],
) -> Result<Option<ExitCode>, String> {
    let plans: Vec<Plan> = plans.iter().map(|(p, _)| p.clone()).collect();
    let (found, warnings) =
        executor.foreign_case_resources(journal, case_id, &plans).await.map_err(|e| error_chain(&e))?;
    for w in warnings {
        eprintln!("warning: {}", custody_plan::text::Safe(&w));
    }
    if found.is_empty() {
        return Ok(None);
    }
    let shown: Vec<String> = found.iter().take(10).map(|f| format!("  {}", custody_plan::text::Safe(f))).collect();
    let more = found.len().saturating_sub(10);
    eprintln!(
        "error: case id `{case_id}` is already used by custody runs this journal ({}) does not know:\n{}{}\n\
         help: nothing was created. Pick another case id (`--case`), or continue with the journal that made them \
         (`--data-dir` of that run, then `custody acquire --resume {case_id}`)",
        journal.path().map(|p| p.display().to_string()).unwrap_or_else(|| "in memory".to_string()),
        shown.join("\n"),
        if more > 0 { format!("\n  … and {more} more") } else { String::new() }
    );
    Ok(Some(ExitCode::from(2)))
}

/// Why the case cannot take these instances: one of them is in it already.
pub(crate) fn already_acquired(
    journal: &Journal,
    case_id: &str,
    instances: &[String],
) -> Result<Option<String>, String> {
    for instance in instances {
        if let Some(a) = journal.acquisition(case_id, instance).map_err(|e| error_chain(&e))? {
            return Ok(Some(format!(
                "case `{case_id}` already has {instance} ({}): `custody acquire --resume {case_id}` continues it, \
                 `custody show {case_id}` shows it; a new acquisition needs another case id",
                a.status.as_str()
            )));
        }
    }
    Ok(None)
}

/// The forensic role of a case, from its journaled plans (the signer of its first call).
fn resumed_forensic_role(journal: &Journal, case: &str) -> Result<String, String> {
    let acquisitions = journal.acquisitions(case).map_err(|e| error_chain(&e))?;
    let first = acquisitions.first().ok_or_else(|| format!("case `{case}` is not in the journal"))?;
    journaled_forensic_role(&first.plan)
        .ok_or_else(|| format!("the journaled plan of case `{case}` names no signer; pass --forensic-role-arn"))
}

/// The role a journaled plan runs as: the signer of its first call (the forensic role assumes the
/// others, or signs everything itself).
pub(crate) fn journaled_forensic_role(plan: &serde_json::Value) -> Option<String> {
    plan.pointer("/steps/0/calls/0/signer").and_then(|v| v.as_str()).map(str::to_string)
}

/// The `Cloud` of a session of `role_arn`: the configured identity when it already is one, else a
/// session custody assumes (named for the case, so CloudTrail ties every call to it).
pub(crate) async fn become_role(
    configured: Arc<dyn Cloud>,
    role_arn: &str,
    case_id: &str,
) -> Result<Arc<dyn Cloud>, String> {
    let me =
        configured.sts().get_caller_identity().await.map_err(|e| format!("who am I (sts:GetCallerIdentity): {e}"))?;
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    let account = role_arn.split(':').nth(4).unwrap_or_default();
    if me.account == account && me.arn.contains(&format!(":assumed-role/{role_name}/")) {
        return Ok(configured);
    }
    eprintln!("assuming {} (the forensic role) as {}", custody_plan::text::Safe(role_arn), session_name(case_id));
    configured
        .assume_role(role_arn, &SessionName::new_exact(&session_name(case_id)))
        .await
        .map_err(|e| format!("cannot assume the forensic role {role_arn}: {e}"))
}

pub(crate) fn read_inventory(path: &std::path::Path) -> Result<Inventory, (String, ExitCode)> {
    let origin = origin_name(path);
    let text = read_text(path).map_err(|e| (e.to_string(), ExitCode::from(2)))?;
    parse_inventory(&text).map_err(|e| (format!("{origin}: {e}"), ExitCode::from(2)))
}

/// Plans every instance and preflights each plan. Prints the refusals and returns the exit status
/// when a step would fail (unless --no-preflight). A dry run (`--simulate`) stops where a real run
/// would: a dry run that went on would show a run that cannot happen.
pub(crate) fn plan_and_check(
    args: &AcquireArgs,
    inventory: &Inventory,
    case_id: &str,
) -> Result<Vec<(Plan, Option<CheckReport>)>, ExitCode> {
    // One run id for everything this invocation creates, tagged on all of it.
    let run_id = custody_acquire::new_run_id();
    let mut out = Vec::new();
    let mut refused = false;
    for instance in &args.instances {
        let request = PlanRequest {
            instance_id: instance.clone(),
            to_account: args.to.as_ref().map(|d| d.account.clone()),
            to_region: args.to.as_ref().and_then(|d| d.region.clone()),
            mode: args.mode,
            triage: false,
            triage_output: None,
            case_id: case_id.to_string(),
            run_id: run_id.to_string(),
            volume_az: args.volume_az.clone(),
        };
        let planned = plan(inventory, &request).map_err(|e| {
            eprintln!("error: {instance}: {}", custody_plan::text::safe_indented(&e.to_string(), "  "));
            ExitCode::from(2)
        })?;
        let report = check(inventory, &planned);
        eprintln!(
            "preflight {instance}: {} step(s) pass, {} fail, {} unknown",
            report.summary.passed, report.summary.failed, report.summary.unknown
        );
        if !report.all_pass() {
            refused = true;
            eprint!("{}", custody_plan::report::render(&report, custody_plan::report::Format::Text));
        }
        out.push((planned, Some(report)));
    }
    if refused && !args.no_preflight {
        if args.simulate.is_some() {
            eprintln!(
                "error: the preflight says a step would fail or cannot be decided: a real run would stop here, \
                 before touching anything, and so does this dry run. Apply the fixes above and run again (or pass \
                 --no-preflight to see on the simulated cloud where AWS would refuse)"
            );
        } else {
            eprintln!(
                "error: the preflight says a step would fail or cannot be decided: nothing was touched. Apply the \
                 fixes above and run again (or pass --no-preflight to let AWS decide)"
            );
        }
        return Err(ExitCode::from(1));
    }
    Ok(out)
}

/// The preflight of each journaled plan of `case` against `inventory` (to explain refusals on resume).
fn preflight_journaled(
    journal: &Journal,
    inventory: &Inventory,
    case: &str,
) -> Result<BTreeMap<String, CheckReport>, String> {
    let mut out = BTreeMap::new();
    for a in journal.acquisitions(case).map_err(|e| error_chain(&e))? {
        if let Ok(p) = serde_json::from_value::<Plan>(a.plan) {
            out.insert(a.instance_id, check(inventory, &p));
        }
    }
    Ok(out)
}

/// Progress lines on standard error (none with --json, whose consumer reads the result).
pub(crate) fn progress(json: bool) -> Progress {
    if json {
        return Progress::silent();
    }
    Progress::new(|event| eprintln!("{}", output::event_line(event)))
}

/// Ctrl-C: the first stops new steps and lets cleanup run; the second exits at once (the journal is
/// consistent after every write, and `custody cleanup` finds what is left).
pub(crate) fn watch_ctrl_c(executor: &Executor) {
    let stop = executor.stop_flag();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: finishing the calls under way, then cleaning up (Ctrl-C again to exit at once)");
            stop.store(true, Ordering::SeqCst);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("exiting: `custody cleanup --case <id>` removes what is left");
                std::process::exit(130);
            }
        }
    });
}
