//! `custody cases` and `custody show`: what the journal knows, read without changing anything.
//!
//! Both commands only read. They open the journal only when it exists, so that a mistyped
//! `--data-dir` does not leave an empty journal behind. `cases` lists the cases, newest first, with
//! what an examiner looks at first: status, destination, how many instances, evidence items and
//! temporary resources still open. `show` gives one case whole: the acquisitions and the path each
//! volume took, the evidence, every AWS call journaled (intent and outcome, in order), every resource
//! created, with when and how it was removed, and the triage: each command sent through SSM Run
//! Command, its status and output location, every artifact fetched with its SHA-256. From that alone
//! an examiner can say what was done, by which role, and when. With `--json`, both print the journal's records as stored.
//!
//! Status is shown as it stands now: a case the journal records as running while no process holds
//! its lock (its process was killed or crashed) shows as `interrupted`, with the advice to resume it
//! before cleaning it up (`Journal::case_status_now`; computed, the journal is not changed).
//!
//! Exit status: 0 printed, 1 the journal could not be read, 2 bad input (an unknown case, a journal
//! that cannot be opened).

mod render;
mod triage;

pub(crate) use render::detail as detail_text;

use crate::data_dir::DataDirArgs;
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_journal::triage::{TriageArtifact, TriageCommand};
use custody_journal::{
    AcquisitionRecord, Activity, CaseRecord, Entry, Evidence, Holder, Journal, JournalError, ResourceRecord, Status,
};
use custody_plan::text::{safe, safe_lines, Safe};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Read-only: the journal is not created when it does not exist. `custody show CASE` tells one case."
)]
pub struct CasesArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the cases as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Read-only. Exit status 0 shown, 1 the journal could not be read, 2 the case is not in the journal."
)]
pub struct ShowArgs {
    /// The case id (`custody cases` lists them).
    #[arg(value_name = "CASE", value_parser = crate::data_dir::parse_case_id)]
    pub case: String,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the journal's records as JSON: {case, acquisitions, evidence, entries, resources,
    /// triage: {commands, artifacts}}.
    #[arg(long)]
    pub json: bool,
}

/// One line of `custody cases`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseSummary {
    pub case_id: String,
    /// As it stands now: `interrupted` for a case recorded `running` whose process is gone.
    pub status: Status,
    /// As the journal records it.
    pub recorded_status: Status,
    pub created_at: String,
    pub updated_at: String,
    pub examiner: Option<String>,
    pub destination_account: String,
    pub destination_region: String,
    /// Instances acquired (or being acquired).
    pub instances: usize,
    /// Evidence items recorded and not discarded since.
    pub evidence: usize,
    /// Evidence items the examiner discarded (`custody cleanup --discard-evidence`).
    pub discarded: usize,
    /// Temporary resources not yet removed (what `custody cleanup` would remove).
    pub open_temporaries: usize,
    /// A dry run against the simulated cloud (`custody acquire --simulate`).
    pub simulated: bool,
}

/// Everything the journal has on one case.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseDetail {
    /// The case's status as it stands now (`case.status` is as recorded): `interrupted` for a case
    /// recorded `running` whose process is gone.
    pub status: Status,
    /// The process working the case now, if one is.
    pub worked_by: Option<Holder>,
    pub case: CaseRecord,
    pub acquisitions: Vec<AcquisitionRecord>,
    pub evidence: Vec<Evidence>,
    /// The evidence snapshots discarded since they were recorded: snapshot id → when and how.
    pub discarded: BTreeMap<String, String>,
    pub entries: Vec<Entry>,
    pub resources: Vec<ResourceRecord>,
    /// `custody triage` of the case: the commands sent and the artifacts fetched.
    pub triage: TriageRecords,
    /// The CloudTrail events `custody audit` matched to the journaled calls (none before an audit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloudtrail_events: Vec<custody_journal::AuditMatch>,
}

/// The triage of one case, as journaled.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TriageRecords {
    /// One per command and instance, in the order sent, with its latest status.
    pub commands: Vec<TriageCommand>,
    /// Every artifact fetched, with its SHA-256 as it arrived.
    pub artifacts: Vec<TriageArtifact>,
}

/// Runs `custody cases`.
pub fn run_cases(args: &CasesArgs) -> CliResult {
    let Some(journal) = args.data.open_existing()? else {
        if args.json {
            write_stdout("[]\n");
        } else {
            let path = args.data.dir().map(|d| d.join(custody_journal::FILE_NAME)).unwrap_or_default();
            write_stdout(&format!("no cases (journal {} does not exist)\n", path.display()));
        }
        return Ok(ExitStatus::Success);
    };
    let summaries = summaries(&journal).map_err(|e| journal_error(&e))?;
    if args.json {
        print_json(&summaries)?;
    } else {
        emit(&render::cases_table(&summaries, journal.path()));
    }
    Ok(ExitStatus::Success)
}

/// Runs `custody show`.
pub fn run_show(args: &ShowArgs) -> CliResult {
    let Some(journal) = args.data.open_existing()? else {
        let path = args.data.dir().map(|d| d.join(custody_journal::FILE_NAME)).unwrap_or_default();
        return Err(CliError::user(format!(
            "case `{}` is not in the journal ({} does not exist)",
            Safe(&args.case),
            Safe(&path.display().to_string())
        ))
        .with_help("pass --data-dir with the directory `custody acquire` used; `custody cases` lists the cases"));
    };
    let Some(detail) = detail(&journal, &args.case).map_err(|e| journal_error(&e))? else {
        return Err(unknown_case(&journal, &args.case));
    };
    if args.json {
        print_json(&detail)?;
    } else {
        emit(&render::show(&detail));
    }
    Ok(ExitStatus::Success)
}

/// The summary of every case, newest first.
pub(crate) fn summaries(journal: &Journal) -> Result<Vec<CaseSummary>, JournalError> {
    let mut out = Vec::new();
    for case in journal.cases()? {
        let status = journal.case_status_now(&case)?;
        let instances = journal.acquisitions(&case.case_id)?.len();
        let discarded = journal.discarded_evidence(&case.case_id)?.len();
        let evidence = journal.evidence(&case.case_id)?.len().saturating_sub(discarded);
        let open_temporaries = journal.open_temporaries(Some(&case.case_id))?.len();
        out.push(CaseSummary {
            case_id: case.case_id,
            status,
            recorded_status: case.status,
            created_at: case.created_at,
            updated_at: case.updated_at,
            examiner: case.examiner,
            destination_account: case.destination_account,
            destination_region: case.destination_region,
            instances,
            evidence,
            discarded,
            open_temporaries,
            simulated: case.simulated,
        });
    }
    Ok(out)
}

/// Everything on `case_id`, `None` when the journal does not have it.
pub(crate) fn detail(journal: &Journal, case_id: &str) -> Result<Option<CaseDetail>, JournalError> {
    let Some(case) = journal.case(case_id)? else { return Ok(None) };
    let worked_by = match journal.activity(case_id) {
        Ok(Activity::Worked(holder)) if journal.path().is_some() => holder,
        _ => None,
    };
    Ok(Some(CaseDetail {
        status: journal.case_status_now(&case)?,
        worked_by,
        case,
        acquisitions: journal.acquisitions(case_id)?,
        evidence: journal.evidence(case_id)?,
        discarded: journal.discarded_evidence(case_id)?,
        entries: journal.entries(case_id)?,
        resources: journal.resources(case_id)?,
        triage: TriageRecords {
            commands: journal.triage_commands(case_id)?,
            artifacts: journal.triage_artifacts(case_id)?,
        },
        cloudtrail_events: journal.audit_matches(case_id)?,
    }))
}

/// That `case` is not in `journal`, with the cases it has: bad input (exit 2).
pub(crate) fn unknown_case(journal: &Journal, case: &str) -> CliError {
    let place = journal.path().map(|p| p.display().to_string()).unwrap_or_else(|| ":memory:".to_string());
    let error = CliError::user(format!("case `{}` is not in the journal ({})", Safe(case), Safe(&place)));
    let known: Vec<String> =
        journal.cases().map(|c| c.into_iter().map(|c| safe(&c.case_id).into_owned()).collect()).unwrap_or_default();
    error.with_help(match known.len() {
        0 => "this journal has no cases yet; `custody cases` lists them once `custody acquire` opens one".to_string(),
        1..=5 => format!("this journal has {}; `custody cases` lists them", known.join(", ")),
        n => format!("this journal has {n} cases; `custody cases` lists them"),
    })
}

/// A journal that cannot be read: a failure (exit 1).
pub(crate) fn journal_error(e: &JournalError) -> CliError {
    CliError::failure("cannot read the journal").caused_by(e)
}

/// Prints `value` as pretty JSON on standard output, exactly (serde escapes what JSON needs).
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    // The values printed are records of strings, numbers and maps with string keys: serializing
    // them cannot fail, short of a bug.
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::bug("cannot serialize the result").caused_by(&e))?;
    write_stdout(&format!("{text}\n"));
    Ok(())
}

/// Writes text for a person to standard output: what the journal holds came from AWS answers, tags
/// and command lines, so control and bidi characters are shown as escapes (`custody_plan::text`);
/// the renderers escape each value already, this catches one they miss.
pub(crate) fn emit(text: &str) {
    write_stdout(&safe_lines(text));
}
