//! `custody cleanup`: remove what acquisitions left behind ([`custody_acquire::cleanup`]).
//!
//! `--case ID` cleans up one case; `--orphans` every case of the journal that is not being worked
//! and was not interrupted. One process per case: cleanup holds the case's lock while it works, so
//! `--case` is refused (exit 2) while another custody process works the case, and `--orphans`
//! names such a case and leaves it alone. A case recorded running whose process is gone reads as
//! interrupted: `custody acquire --resume` should finish it first (it keeps what the run made and
//! removes its temporaries itself), so `--orphans` leaves it alone too and says so. For each
//! case, the journal's open temporary resources are removed, then AWS is searched for what the
//! journal may not know (snapshots tagged with the case, the case's temporary aliases and keys).
//! Evidence is never removed, unless the examiner names it with `--discard-evidence`.
//!
//! Cleanup acts as the forensic role of each case: the role that signed the first call of its
//! journaled plans. When the configured identity is not a session of it, custody assumes it, with
//! the case's session name, as `custody acquire` does. `--dry-run` only reads the journal and lists
//! its open temporaries; it does not call AWS, so it cannot list what only the search in AWS would
//! find.
//!
//! Arguments, the journal and the case are checked before AWS is asked anything (exit 2, nothing
//! changed). Removals are printed on standard error as they happen, the summary on standard output
//! (`--json`). Exit 0 nothing failed, 1 something could not be removed, 2 bad input.

mod output;

use crate::aws_options::AwsArgs;
use crate::commands::acquire::progress;
use crate::commands::cases::{journal_error, unknown_case};
use crate::data_dir::DataDirArgs;
use crate::exit::{CliError, CliResult, ErrorKind};
use custody_acquire::cleanup::{check_discard_evidence, cleanup_case_with, CleanupOptions, CleanupReport};
use custody_acquire::prepare::become_role;
use custody_acquire::wait::WaitSettings;
use custody_cloud::error::error_chain;
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_journal::{Activity, Journal, JournalError, ResourceRecord, Status};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["case", "orphans"])))]
#[command(after_help = "\
Examples:
  # list what the journal says is still open
  custody cleanup --case IR-2041 --dry-run
  # remove it, and what AWS holds tagged with the case
  custody cleanup --case IR-2041
  # the same for every case not marked running
  custody cleanup --orphans
  # also delete that volume's kept evidence, deliberately
  custody cleanup --case IR-2041 --discard-evidence vol-0123456789abcdef0

Evidence is never removed unless named with --discard-evidence. Exit status 0 nothing failed, 1 something could not be removed, 2 bad input or \
the case is being worked by another custody process (nothing changed).")]
pub struct CleanupArgs {
    /// Clean up this case.
    #[arg(long, value_name = "ID", value_parser = crate::data_dir::parse_case_id)]
    pub case: Option<String>,
    /// Clean up every case of the journal that is not being worked by another process and was not
    /// interrupted (resume those first).
    #[arg(long)]
    pub orphans: bool,
    /// Also delete this evidence, deliberately: a snapshot id (`snap-…`) of the case's evidence or of a
    /// snapshot kept for a volume without a completed copy, or a volume id (`vol-…`: every such snapshot
    /// of it). Repeat for more. Without it, cleanup never deletes evidence. custody's acquiring roles
    /// are denied this by the policies `custody policy role` writes: when AWS refuses, the exact
    /// commands are printed for someone allowed to discard evidence.
    #[arg(long, value_name = "SNAPSHOT|VOLUME", requires = "case", value_parser = parse_evidence_id)]
    pub discard_evidence: Vec<String>,
    /// List the temporary resources the journal says are still open, without calling AWS (the search
    /// in AWS for what the journal does not know is not run).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Testing aid (hidden): clean up in the simulated cloud this inventory describes, as kept in
    /// --simulate-state by `custody acquire --simulate` (see `acquire/simulate.rs`).
    #[arg(long, value_name = "INVENTORY", requires = "simulate_state", hide = true)]
    pub simulate: Option<std::path::PathBuf>,
    /// Testing aid (hidden): the simulated cloud's state file.
    #[arg(long, value_name = "FILE", requires = "simulate", hide = true)]
    pub simulate_state: Option<std::path::PathBuf>,
    // --region is the Region of the AWS configuration, for STS: each resource is removed in its own
    // Region.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// A snapshot or volume id, by its shape (EC2 ids: a prefix and 8 or 17 hex digits).
fn parse_evidence_id(raw: &str) -> Result<String, String> {
    let hex = |rest: &str| (rest.len() == 8 || rest.len() == 17) && rest.bytes().all(|b| b.is_ascii_hexdigit());
    match raw.strip_prefix("snap-").or_else(|| raw.strip_prefix("vol-")) {
        Some(rest) if hex(rest) => Ok(raw.to_string()),
        _ => Err("expected a snapshot id (`snap-` and 8 or 17 hex digits) or a volume id (`vol-` …)".to_string()),
    }
}

/// A case to clean up, and the role to do it as (or why that role is not known).
#[derive(Debug, Clone)]
struct Target {
    case_id: String,
    /// As it stands now (`Journal::case_status_now`).
    status: Status,
    /// As the journal records it.
    recorded: Status,
    role: Result<String, String>,
}

/// What the arguments select in the journal.
#[derive(Debug, Default)]
struct Selection {
    targets: Vec<Target>,
    /// Cases left alone, and why.
    skipped: Vec<String>,
}

/// How the cleanup of one case ended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseCleanup {
    pub case_id: String,
    /// The forensic role cleanup acted as, when known.
    pub role: Option<String>,
    #[serde(flatten)]
    pub report: CleanupReport,
}

/// What a dry run found for one case.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseDryRun {
    pub case_id: String,
    pub status: Status,
    pub role: Option<String>,
    /// Why the role is not known, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_unknown: Option<String>,
    pub open_temporaries: Vec<ResourceRecord>,
}

/// Runs the command.
pub fn run(args: &CleanupArgs) -> CliResult {
    args.aws.validate().map_err(CliError::user)?;
    let Some(journal) = args.data.open_existing()? else {
        let path = args.data.dir().map(|d| d.join(custody_journal::FILE_NAME)).unwrap_or_default();
        return Err(CliError::user(format!("no journal at {}: nothing to clean up", path.display())).with_help(
            "cleanup works from the journal `custody acquire` writes; pass --data-dir with the directory it used (or \
             set CUSTODY_DATA_DIR)",
        ));
    };
    let Some(selection) = select(&journal, args).map_err(|e| journal_error(&e))? else {
        return Err(unknown_case(&journal, args.case.as_deref().unwrap_or_default()));
    };
    if args.dry_run {
        return dry_run(&journal, args, selection);
    }
    if selection.targets.is_empty() {
        return output::finish(args, &[], &selection.skipped);
    }
    // One process per case: `--case` holds the lock for the whole run (`live` locks each case of
    // `--orphans` in turn).
    let _lock = args.case.as_deref().map(|case| crate::data_dir::lock_case(&journal, case)).transpose()?;
    if let Some(case) = &args.case {
        check_discard_evidence(&journal, case, &args.discard_evidence)
            .map_err(|e| CliError::from_error(ErrorKind::User, &e))?;
    }
    for t in selection.targets.iter().filter(|t| t.status == Status::Interrupted && t.recorded == Status::Running) {
        eprintln!("warning: {}", custody_plan::text::Safe(&interrupted_note(&t.case_id)));
    }
    let (simulate, state) = (args.simulate.as_deref(), args.simulate_state.as_deref());
    let simulated = crate::commands::acquire::simulate::cleanup_cloud(simulate, state, args.case.as_deref())?;
    let runtime = crate::runtime::start(tokio::runtime::Builder::new_multi_thread().worker_threads(2))?;
    let results = runtime.block_on(live(&journal, args, &selection.targets, simulated));
    output::finish(args, &results, &selection.skipped)
}

/// The cases the arguments select; `None` when `--case` names a case the journal does not have.
fn select(journal: &Journal, args: &CleanupArgs) -> Result<Option<Selection>, JournalError> {
    let mut selection = Selection::default();
    let cases = match &args.case {
        Some(id) => match journal.case(id)? {
            Some(case) => vec![case],
            None => return Ok(None),
        },
        None => journal.cases()?,
    };
    for case in cases {
        let status = journal.case_status_now(&case)?;
        let recorded = case.status;
        let id = case.case_id;
        // Swept up by --orphans, a case being worked, or interrupted and not resumed, is left alone;
        // asked for by name, an interrupted case is cleaned up (with a warning) and one being worked
        // is refused when its lock is taken.
        if args.orphans {
            if let Ok(Activity::Worked(holder)) = journal.activity(&id) {
                let who = holder.map(|h| h.to_string()).unwrap_or_else(|| "another custody process".into());
                selection.skipped.push(format!("case {id} is being worked by {who}: left alone"));
                continue;
            }
        }
        if args.orphans && status == Status::Interrupted && recorded == Status::Running {
            selection.skipped.push(interrupted_note(&id));
            continue;
        }
        match forensic_role(journal, &id)? {
            Some(role) => selection.targets.push(Target { case_id: id, status, recorded, role }),
            None => selection.skipped.push(format!("case {id}: no instance was journaled, so nothing was created")),
        }
    }
    Ok(Some(selection))
}

/// What to do with a case whose process died mid-run.
fn interrupted_note(id: &str) -> String {
    format!(
        "case {id} was interrupted (its process is gone): `custody acquire --resume {id}` finishes it, keeping what the \
         run made; run it before `custody cleanup --case {id}`, which removes the run's temporaries and keeps every \
         copy of the evidence, but does not finish the acquisition"
    )
}

/// The forensic role of a case: the signer of the first call of its first journaled plan. `None`
/// when the case has no acquisition; `Some(Err(why))` when its plan names no signer.
fn forensic_role(journal: &Journal, case_id: &str) -> Result<Option<Result<String, String>>, JournalError> {
    let acquisitions = journal.acquisitions(case_id)?;
    let Some(first) = acquisitions.first() else { return Ok(None) };
    let signer = custody_acquire::prepare::journaled_forensic_role(&first.plan);
    Ok(Some(signer.ok_or_else(|| {
        format!(
            "case {case_id}: the journaled plan of {} names no signer, so the forensic role to clean up as is unknown",
            first.instance_id
        )
    })))
}

/// Lists what the journal says is open, without calling AWS.
fn dry_run(journal: &Journal, args: &CleanupArgs, selection: Selection) -> CliResult {
    let mut cases = Vec::new();
    for t in selection.targets {
        let open = journal.open_temporaries(Some(&t.case_id)).map_err(|e| journal_error(&e))?;
        let (role, role_unknown) = match t.role {
            Ok(r) => (Some(r), None),
            Err(why) => (None, Some(why)),
        };
        cases.push(CaseDryRun { case_id: t.case_id, status: t.status, role, role_unknown, open_temporaries: open });
    }
    output::dry_run(args, &cases, &selection.skipped)
}

/// Cleans up each target as its forensic role.
async fn live(
    journal: &Journal,
    args: &CleanupArgs,
    targets: &[Target],
    simulated: Option<Arc<dyn Cloud>>,
) -> Vec<CaseCleanup> {
    let configured: Arc<dyn Cloud> = match simulated {
        Some(cloud) => cloud,
        None => Arc::new(SdkCloud::load(&args.aws.options()).await),
    };
    let progress = progress(args.json);
    let mut results = Vec::new();
    for t in targets {
        let failed = |why: String| CaseCleanup {
            case_id: t.case_id.clone(),
            role: t.role.as_ref().ok().cloned(),
            report: CleanupReport { failed: vec![why], ..CleanupReport::default() },
        };
        let role = match &t.role {
            Ok(r) => r,
            Err(why) => {
                results.push(failed(why.clone()));
                continue;
            }
        };
        // `--case` holds its lock already (a second lock of it would refuse this very process).
        let _lock = match args.case {
            Some(_) => None,
            None => match crate::data_dir::lock_case(journal, &t.case_id) {
                Ok(lock) => Some(lock),
                Err(refusal) => {
                    results.push(failed(refusal.to_string()));
                    continue;
                }
            },
        };
        if !args.json {
            crate::progress::say(&format!(
                "cleaning up case {} as {}",
                custody_plan::text::Safe(&t.case_id),
                custody_plan::text::Safe(role)
            ));
        }
        let base = match become_role(configured.clone(), role, &t.case_id, &super::acquire::assuming).await {
            Ok(b) => b,
            Err(why) => {
                results.push(failed(format!("case {}: {}", t.case_id, error_chain(&why))));
                continue;
            }
        };
        let options = CleanupOptions {
            wait: if args.simulate.is_some() { WaitSettings::quick() } else { WaitSettings::default() },
            discard_evidence: args.discard_evidence.clone(),
        };
        match cleanup_case_with(journal, base, role, &t.case_id, &options, &progress).await {
            Ok(report) => results.push(CaseCleanup { case_id: t.case_id.clone(), role: Some(role.clone()), report }),
            Err(e) => results.push(failed(format!("case {}: {}", t.case_id, error_chain(&e)))),
        }
    }
    results
}
