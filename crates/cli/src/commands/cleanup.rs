//! `custody cleanup`: remove what acquisitions left behind ([`custody_acquire::cleanup`]).
//!
//! `--case ID` cleans up one case; `--orphans` every case of the journal not marked running (a case
//! marked running may be in use by a live `custody acquire`, so it is named and left alone). For each
//! case, the journal's open temporary resources are removed, then AWS is searched for what the
//! journal may not know (snapshots tagged with the case, the case's temporary aliases and keys).
//! Evidence is never removed.
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

use crate::commands::acquire::{become_role, progress};
use crate::commands::cases::{journal_error, unknown_case};
use crate::data_dir::{error_chain, DataDirArgs};
use custody_acquire::cleanup::{cleanup_case, CleanupReport};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_journal::{Journal, JournalError, ResourceRecord, Status};
use custody_plan::inventory::arn::is_region;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["case", "orphans"])))]
#[command(after_help = "\
Examples:
  custody cleanup --case IR-2041 --dry-run   list what the journal says is still open
  custody cleanup --case IR-2041             remove it, and what AWS holds tagged with the case
  custody cleanup --orphans                  the same for every case not marked running

Evidence is never removed. Exit status 0 nothing failed, 1 something could not be removed, 2 bad input \
(nothing changed).")]
pub struct CleanupArgs {
    /// Clean up this case.
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    /// Clean up every case of the journal that is not marked running.
    #[arg(long)]
    pub orphans: bool,
    /// List the temporary resources the journal says are still open, without calling AWS (the search
    /// in AWS for what the journal does not know is not run).
    #[arg(long)]
    pub dry_run: bool,
    /// The Region of the AWS configuration, for STS (each resource is removed in its own Region)
    /// [default: AWS_REGION or the profile's Region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A case to clean up, and the role to do it as (or why that role is not known).
#[derive(Debug, Clone)]
struct Target {
    case_id: String,
    status: Status,
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
pub fn run(args: &CleanupArgs) -> ExitCode {
    if let Some(region) = args.region.as_deref().filter(|r| !is_region(r)) {
        eprintln!("error: --region `{region}`: expected a Region name such as `eu-west-3`");
        return ExitCode::from(2);
    }
    let journal = match args.data.open_existing() {
        Ok(Some(j)) => j,
        Ok(None) => {
            let path = args.data.dir().map(|d| d.join(custody_journal::FILE_NAME)).unwrap_or_default();
            eprintln!("error: no journal at {}: nothing to clean up", path.display());
            eprintln!(
                "help: cleanup works from the journal `custody acquire` writes; pass --data-dir with the directory it \
                 used (or set CUSTODY_DATA_DIR)"
            );
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let selection = match select(&journal, args) {
        Ok(Some(s)) => s,
        Ok(None) => return unknown_case(&journal, args.case.as_deref().unwrap_or_default()),
        Err(e) => return journal_error(&e),
    };
    if args.dry_run {
        return dry_run(&journal, args, selection);
    }
    if selection.targets.is_empty() {
        return output::finish(args, &[], &selection.skipped);
    }
    let runtime = match crate::runtime::start(tokio::runtime::Builder::new_multi_thread().worker_threads(2)) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let results = runtime.block_on(live(&journal, args, &selection.targets));
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
        let id = case.case_id;
        // Asked for by name, a running case is cleaned up (cleanup warns); swept up by --orphans, it is not.
        if args.orphans && case.status == Status::Running {
            selection.skipped.push(format!(
                "case {id} is marked running: if its process died, `custody acquire --resume {id}` finishes it or \
                 `custody cleanup --case {id}` removes what it left"
            ));
            continue;
        }
        match forensic_role(journal, &id)? {
            Some(role) => selection.targets.push(Target { case_id: id, status: case.status, role }),
            None => selection.skipped.push(format!("case {id}: no instance was journaled, so nothing was created")),
        }
    }
    Ok(Some(selection))
}

/// The forensic role of a case: the signer of the first call of its first journaled plan. `None`
/// when the case has no acquisition; `Some(Err(why))` when its plan names no signer.
fn forensic_role(journal: &Journal, case_id: &str) -> Result<Option<Result<String, String>>, JournalError> {
    let acquisitions = journal.acquisitions(case_id)?;
    let Some(first) = acquisitions.first() else { return Ok(None) };
    let signer = super::acquire::journaled_forensic_role(&first.plan);
    Ok(Some(signer.ok_or_else(|| {
        format!(
            "case {case_id}: the journaled plan of {} names no signer, so the forensic role to clean up as is unknown",
            first.instance_id
        )
    })))
}

/// Lists what the journal says is open, without calling AWS.
fn dry_run(journal: &Journal, args: &CleanupArgs, selection: Selection) -> ExitCode {
    let mut cases = Vec::new();
    for t in selection.targets {
        let open = match journal.open_temporaries(Some(&t.case_id)) {
            Ok(o) => o,
            Err(e) => return journal_error(&e),
        };
        let (role, role_unknown) = match t.role {
            Ok(r) => (Some(r), None),
            Err(why) => (None, Some(why)),
        };
        cases.push(CaseDryRun { case_id: t.case_id, status: t.status, role, role_unknown, open_temporaries: open });
    }
    output::dry_run(args, &cases, &selection.skipped)
}

/// Cleans up each target as its forensic role.
async fn live(journal: &Journal, args: &CleanupArgs, targets: &[Target]) -> Vec<CaseCleanup> {
    let configured: Arc<dyn Cloud> = Arc::new(SdkCloud::from_env(args.region.as_deref()).await);
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
        if !args.json {
            eprintln!("cleaning up case {} as {role}", t.case_id);
        }
        let base = match become_role(configured.clone(), role, &t.case_id).await {
            Ok(b) => b,
            Err(why) => {
                results.push(failed(format!("case {}: {why}", t.case_id)));
                continue;
            }
        };
        match cleanup_case(journal, base, role, &t.case_id, &progress).await {
            Ok(report) => results.push(CaseCleanup { case_id: t.case_id.clone(), role: Some(role.clone()), report }),
            Err(e) => results.push(failed(format!("case {}: {}", t.case_id, error_chain(&e)))),
        }
    }
    results
}
