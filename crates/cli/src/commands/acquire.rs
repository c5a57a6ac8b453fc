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

use crate::acquisition::{parse_destination, Destination};
use crate::aws_options::AwsArgs;
use crate::aws_target::AwsTargetArgs;
use crate::choices::ModeArg;
use crate::commands::cases::journal_error;
use crate::data_dir::{lock_case, parse_case_id, DataDirArgs};
use crate::exit::{CliError, CliResult, ErrorKind};
use crate::input::{origin_name, read_text};
use custody_acquire::prepare::{self, become_role, PlanOptions, PrepareError};
use custody_acquire::wait::WaitSettings;
use custody_acquire::{AcquireReport, Executor, Progress, Settings};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_journal::{Journal, NewCase};
use custody_plan::check::CheckReport;
use custody_plan::inventory::arn::is_instance_id;
use custody_plan::inventory::Inventory;
use custody_plan::plan::{Plan, PLANNED_RUN_ID};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody acquire i-0123456789abcdef0 --case IR-7 --to 999999999999:eu-west-1 \\
      --forensic-role-arn arn:aws:iam::999999999999:role/CustodyForensic
  custody acquire --resume IR-7
  custody acquire i-08b8b8b8b8b8b8b8b --case T1 \\
      --simulate examples/inventories/8-cross-account-aws-managed.json

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
    /// Where the evidence goes: an account, optionally with a Region [default: forensic.account and
    /// forensic.region of custody.toml, else the inventory's forensic account and Region].
    #[arg(long, value_name = "ACCOUNT[:REGION]", value_parser = parse_destination)]
    pub to: Option<Destination>,
    /// The examiner's name, recorded with the case [default: acquire.examiner of custody.toml].
    #[arg(long, value_name = "NAME", env = "CUSTODY_EXAMINER", hide_env_values = true)]
    pub examiner: Option<String>,
    /// How a cross-account customer managed key is opened to the forensic role, or direct-read, which
    /// reads every volume in place with the EBS direct APIs.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ModeArg::Auto)]
    pub mode: ModeArg,
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
    pub target: AwsTargetArgs,
    /// Run even when the preflight says a step would fail (the refusal then comes from AWS, or, with
    /// --simulate, from the simulated cloud).
    #[arg(long)]
    pub no_preflight: bool,
    /// How many volumes are transferred at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Give up waiting for a snapshot after this long (resume later): 90s, 30m, 4h, 1h30m.
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = crate::units::parse_duration)]
    pub wait_timeout: Duration,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs the command.
pub fn run(args: &AcquireArgs) -> CliResult {
    let inventory = validate(args)?;
    let runtime = crate::runtime::start(tokio::runtime::Builder::new_multi_thread().worker_threads(2))?;
    runtime.block_on(acquire(args, inventory))
}

/// Checks the raw arguments (the case id is checked by clap), and the inventory of `--inventory`:
/// read, and each instance planned with it. All before the data directory is created or AWS is
/// asked anything, so that bad input leaves nothing behind. Answers the inventory, read once (it
/// may be standard input).
fn validate(args: &AcquireArgs) -> Result<Option<Inventory>, CliError> {
    for id in &args.instances {
        if !is_instance_id(id) {
            return Err(CliError::user(format!("`{id}`: expected an instance id, `i-` and 8 or 17 hex digits")));
        }
    }
    args.target.validate().map_err(CliError::user)?;
    args.aws.validate().map_err(CliError::user)?;
    let Some(path) = &args.inventory else { return Ok(None) };
    let inventory = read_inventory(path)?;
    if let Some(case_id) = &args.case_id {
        // Only what can refuse a plan matters here; the run's own plans are `plan_and_check`'s.
        prepare::plan_all(&inventory, &plan_options(args, case_id), PLANNED_RUN_ID).map_err(prepare_error)?;
    }
    Ok(Some(inventory))
}

/// What the arguments ask to plan in `case_id`.
pub(crate) fn plan_options(args: &AcquireArgs, case_id: &str) -> PlanOptions {
    PlanOptions {
        instances: args.instances.clone(),
        to_account: args.to.as_ref().map(|d| d.account.clone()),
        to_region: args.to.as_ref().and_then(|d| d.region.clone()),
        mode: args.mode.into(),
        case_id: case_id.to_string(),
        volume_az: args.volume_az.clone(),
    }
}

/// An error preparing the acquisition: bad input (exit 2) or a failure (exit 1), with its causes.
pub(crate) fn prepare_error(e: PrepareError) -> CliError {
    let kind = if e.is_bad_input() { ErrorKind::User } else { ErrorKind::Failure };
    CliError::from_error(kind, &e)
}

/// The settings the arguments ask for (quick polls on the simulator, which has no real latency).
fn settings(args: &AcquireArgs) -> Settings {
    let mut wait = if args.simulate.is_some() { WaitSettings::quick() } else { WaitSettings::default() };
    wait.timeout = args.wait_timeout;
    Settings { parallelism: usize::from(args.parallel), wait }
}

async fn acquire(args: &AcquireArgs, inventory: Option<Inventory>) -> CliResult {
    if let Some(path) = &args.simulate {
        return simulate::run(args, path).await;
    }
    let journal = Arc::new(args.data.open()?);
    let Some(case_id) = args.case_id.clone().or_else(|| args.resume.clone()) else {
        return Err(CliError::bug("neither a case id nor --resume, which clap requires"));
    };
    // One process per case, from before the journal is read until the run ends.
    let _lock = lock_case(&journal, &case_id)?;
    let sdk = SdkCloud::load(&args.aws.options()).await;
    let base: Arc<dyn Cloud> = Arc::new(sdk);
    let report = live(args, journal.clone(), base, inventory, &case_id).await?;
    output::finish(args, &journal, &report)
}

/// Against AWS: become the forensic role, collect (or read) the inventory, plan, preflight, run.
async fn live(
    args: &AcquireArgs,
    journal: Arc<Journal>,
    configured: Arc<dyn Cloud>,
    inventory: Option<Inventory>,
    case_id: &str,
) -> Result<AcquireReport, CliError> {
    let Some(region) = args.aws.region.clone().or_else(|| configured.default_region()) else {
        return Err(CliError::failure("no Region: pass --region, or set AWS_REGION or a profile's region"));
    };
    if args.resume.is_none() {
        if let Some(message) = already_acquired(&journal, case_id, &args.instances)? {
            return Err(CliError::user(message));
        }
    }
    let inventory = match (inventory, &args.resume) {
        (Some(inventory), _) => Some(inventory),
        (None, Some(_)) => None,
        (None, None) => {
            let request = args.target.collect_request(&args.instances, region.clone(), Some(case_id.to_string()));
            crate::progress::say("collecting the inventory (read-only calls)…");
            let collected = prepare::collect_inventory(configured.clone(), &request).await.map_err(prepare_error)?;
            for w in &collected.warnings {
                eprintln!("warning: {}", custody_plan::text::Safe(&w.to_string()));
            }
            Some(collected.inventory)
        }
    };
    let forensic_role = match (&inventory, &args.target.forensic_role_arn) {
        (Some(inv), _) => inv.config.forensic_role_arn.clone(),
        (None, Some(arn)) => arn.clone(),
        (None, None) => prepare::journaled_case_role(&journal, case_id).map_err(prepare_error)?,
    };
    let base = become_role(configured, &forensic_role, case_id, &assuming).await.map_err(prepare_error)?;
    let mut executor = Executor::new(journal.clone(), base, &forensic_role, settings(args), progress(args.json));
    if let Some(inventory) = &inventory {
        executor = executor.with_inventory(inventory_json(inventory)?);
    }
    watch_ctrl_c(&executor, args.json);
    if let Some(case) = &args.resume {
        let preflights = match &inventory {
            Some(inv) => prepare::preflight_journaled(&journal, inv, case).map_err(prepare_error)?,
            None => BTreeMap::new(),
        };
        return executor.resume(case, preflights).await.map_err(|e| CliError::from_error(ErrorKind::Failure, &e));
    }
    let Some(inventory) = inventory else {
        return Err(CliError::bug("no inventory for a new acquisition, though one was read or collected"));
    };
    let plans = plan_and_check(args, &inventory, case_id)?;
    refuse_shared_case(&journal, &executor, case_id, &plans).await?;
    let case = NewCase {
        case_id: case_id.to_string(),
        examiner: args.examiner.clone(),
        destination_account: plans.first().map(|(p, _)| p.dest_account.clone()).unwrap_or_default(),
        destination_region: plans.first().map(|(p, _)| p.dest_region.clone()).unwrap_or_default(),
        note: None,
        simulated: false,
    };
    executor.acquire(&case, plans).await.map_err(|e| CliError::from_error(ErrorKind::Failure, &e))
}

/// Tells that the forensic role is being assumed, with the session name CloudTrail will show.
pub(crate) fn assuming(role_arn: &str, session: &str) {
    crate::progress::say(&format!(
        "assuming {} (the forensic role) as {}",
        custody_plan::text::Safe(role_arn),
        custody_plan::text::Safe(session)
    ));
}

/// Refuses (exit 2) a case id that custody-tagged snapshots of runs this journal does not know already
/// carry in the accounts the plans touch: they belong to another journal (another data directory), and
/// sharing a case id would mix two chains of custody.
pub(crate) async fn refuse_shared_case(
    journal: &Journal,
    executor: &Executor,
    case_id: &str,
    plans: &[(Plan, Option<CheckReport>)],
) -> Result<(), CliError> {
    let plans: Vec<Plan> = plans.iter().map(|(p, _)| p.clone()).collect();
    let (found, warnings) = executor
        .foreign_case_resources(journal, case_id, &plans)
        .await
        .map_err(|e| CliError::from_error(ErrorKind::Failure, &e))?;
    for w in warnings {
        eprintln!("warning: {}", custody_plan::text::Safe(&w));
    }
    if found.is_empty() {
        return Ok(());
    }
    // One line each, indented under the message when it is shown.
    let shown: Vec<String> = found.iter().take(10).map(|f| custody_plan::text::safe(f).into_owned()).collect();
    let more = found.len().saturating_sub(10);
    Err(CliError::user(format!(
        "case id `{case_id}` is already used by custody runs this journal ({}) does not know:\n{}{}",
        journal.path().map(|p| p.display().to_string()).unwrap_or_else(|| "in memory".to_string()),
        shown.join("\n"),
        if more > 0 { format!("\n… and {more} more") } else { String::new() }
    ))
    .with_help(format!(
        "nothing was created. Pick another case id (`--case`), or continue with the journal that made them \
         (`--data-dir` of that run, then `custody acquire --resume {case_id}`)"
    )))
}

/// Why the case cannot take these instances: one of them is in it already.
pub(crate) fn already_acquired(
    journal: &Journal,
    case_id: &str,
    instances: &[String],
) -> Result<Option<String>, CliError> {
    for instance in instances {
        let acquired = journal.acquisition(case_id, instance).map_err(|e| journal_error(&e))?;
        if let Some(a) = acquired {
            return Ok(Some(format!(
                "case `{case_id}` already has {instance} ({}): `custody acquire --resume {case_id}` continues it, \
                 `custody show {case_id}` shows it; a new acquisition needs another case id",
                a.status.as_str()
            )));
        }
    }
    Ok(None)
}

/// The inventory in the file at `path` (`-`: standard input): bad input when it cannot be read or is
/// not an inventory.
pub(crate) fn read_inventory(path: &std::path::Path) -> Result<Inventory, CliError> {
    let text = read_text(path)?;
    prepare::read_inventory(&origin_name(path), &text).map_err(prepare_error)
}

/// Plans every instance and preflights each plan ([`prepare::plan_and_check`]), printing each verdict
/// and the refusals. A step that would fail stops the run (exit 1) unless --no-preflight. A dry run
/// (`--simulate`) stops where a real run would: a dry run that went on would show a run that cannot
/// happen.
pub(crate) fn plan_and_check(
    args: &AcquireArgs,
    inventory: &Inventory,
    case_id: &str,
) -> Result<Vec<(Plan, Option<CheckReport>)>, CliError> {
    let preflight = prepare::plan_and_check(inventory, &plan_options(args, case_id)).map_err(prepare_error)?;
    for (planned, report) in &preflight.plans {
        let verdict = format!(
            "preflight {}: {} step(s) pass, {} fail, {} unknown",
            planned.instance_id, report.summary.passed, report.summary.failed, report.summary.unknown
        );
        if report.all_pass() {
            crate::progress::say(&verdict);
        } else {
            // What refuses the run is shown even with --quiet.
            eprintln!("{verdict}");
            eprint!("{}", custody_plan::report::render(report, custody_plan::report::Format::Text));
        }
    }
    if preflight.refused() && !args.no_preflight {
        let error = if args.simulate.is_some() {
            CliError::failure(
                "the preflight says a step would fail or cannot be decided: a real run would stop here, before \
                 touching anything, and so does this dry run",
            )
            .with_help(
                "Apply the fixes above and run again (or pass --no-preflight to see on the simulated cloud where AWS \
                 would refuse)",
            )
        } else {
            CliError::failure("the preflight says a step would fail or cannot be decided: nothing was touched")
                .with_help("Apply the fixes above and run again (or pass --no-preflight to let AWS decide)")
        };
        return Err(error);
    }
    Ok(preflight.into_plans())
}

/// Progress on standard error (none with --json, whose consumer reads the result): see
/// [`crate::progress`].
pub(crate) fn progress(json: bool) -> Progress {
    crate::progress::events(json)
}

/// Ctrl-C: the first stops new steps and lets cleanup run; the second exits at once (the journal is
/// consistent after every write, and `custody cleanup` finds what is left).
pub(crate) fn watch_ctrl_c(executor: &Executor, json: bool) {
    let stop = executor.stop_flag();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: finishing the calls under way, then cleaning up (Ctrl-C again to exit at once)");
            stop.store(true, Ordering::SeqCst);
            if tokio::signal::ctrl_c().await.is_ok() {
                let error = CliError::interrupted("exiting at once, on a second Ctrl-C")
                    .with_help("`custody cleanup --case <id>` removes what is left");
                let _ = error.report(json);
                std::process::exit(i32::from(crate::exit::INTERRUPTED));
            }
        }
    });
}

/// The inventory as the journal keeps it with each acquisition (for `custody audit`).
pub(crate) fn inventory_json(inventory: &Inventory) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(inventory)
        .map_err(|e| CliError::failure(format!("cannot write the inventory into the journal: {e}")))
}
