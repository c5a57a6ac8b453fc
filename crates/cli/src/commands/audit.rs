//! `custody audit`: hold a case's journal and plans against CloudTrail's own record of it.
//!
//! The record comes from CloudTrail's LookupEvents, in every account and Region the case's plans
//! call, as the role custody used there (`cloudtrail:LookupEvents`, feature `audit` of `custody
//! policy role`); or, with `--events`, from files in CloudTrail's own formats (log files as delivered
//! to S3, gzip or not; the output of `aws cloudtrail lookup-events`). A simulated case is audited
//! against the simulated cloud it was acquired from (kept beside the journal by `custody acquire
//! --simulate … --data-dir DIR`). The matching itself is the pure crate custody-audit.
//!
//! Exit 0 when every journaled call is recorded and nothing unexplained appears, 1 otherwise (or when
//! a place could not be read), 2 on bad input (a file that is not CloudTrail's, named with the JSON
//! path). The calls matched are written into the journal, so `custody show` and later image
//! manifests name their CloudTrail events.

use crate::aws_options::AwsArgs;
use crate::choices::ReportFormatArg;
use crate::data_dir::DataDirArgs;
use crate::exit::{write_stdout, CliError, CliResult, ErrorKind, ExitStatus};
use custody_audit::audit::{audit, lookup_plan, Acquisition, CaseInput, LookupPlan};
use custody_audit::model::Source;
use custody_audit::{read_events, records_from_lookup, TrailRecord};
use custody_cloud::types::{EventLookup, LookupAttribute, LookupKey};
use custody_cloud::{Cloud, SessionName};
use custody_journal::{AuditMatch, Journal};
use custody_plan::inventory::Inventory;
use custody_plan::plan::Plan;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody audit IR-7
  custody audit IR-7 --format html > IR-7-audit.html
  # offline: CloudTrail log files, or `aws cloudtrail lookup-events` output
  custody audit IR-7 --events 111122223333_CloudTrail_us-east-1_2026.json.gz \\
      --events lookup.json

CloudTrail delivers events minutes after each call: an audit right after an acquisition may not \
see the last calls yet; run it again later. Exit status: 0 every journaled call is recorded and \
nothing unexplained appears, 1 otherwise (or an account could not be read), 2 bad input.")]
pub struct AuditArgs {
    /// The case to audit.
    #[arg(value_name = "CASE", value_parser = crate::data_dir::parse_case_id)]
    pub case: String,
    /// Read the events from this file instead of asking CloudTrail: a log file as CloudTrail delivers
    /// it to S3 (`{"Records": […]}`, gzip or not) or the output of `aws cloudtrail lookup-events`;
    /// repeat for more.
    #[arg(long, value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Print the whole audit as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The report's format.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,
    /// Testing aid (hidden): the simulated cloud's state file of a simulated case [default: the one
    /// `custody acquire --simulate` kept beside the journal].
    #[arg(long, value_name = "FILE", hide = true)]
    pub simulate_state: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataDirArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs the command.
pub fn run(args: &AuditArgs) -> CliResult {
    args.aws.validate().map_err(CliError::user)?;
    // Files first: a bad one is refused before the journal is opened or AWS is asked anything.
    let mut records = Vec::new();
    let mut sources = Vec::new();
    for path in &args.events {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::user(format!("{}: cannot read the events file: {e}", path.display())))?;
        let read =
            read_events(&path.display().to_string(), &bytes).map_err(|e| CliError::from_error(ErrorKind::User, &e))?;
        sources.push(Source { name: path.display().to_string(), events: read.len(), error: None });
        records.extend(read);
    }
    let Some(journal) = args.data.open_existing()? else {
        return Err(no_case(args));
    };
    let Some(case) = journal.case(&args.case).map_err(|e| CliError::from_error(ErrorKind::Failure, &e))? else {
        return Err(no_case(args));
    };
    let journaled = Journaled::read(&journal, &args.case)?;
    let now = chrono::Utc::now();
    let input = CaseInput {
        case_id: &args.case,
        acquisitions: &journaled.acquisitions,
        entries: &journaled.entries,
        resources: &journaled.resources,
        evidence: &journaled.evidence,
        case_times: vec![case.created_at.clone(), case.updated_at.clone()],
        now,
        version: env!("CARGO_PKG_VERSION"),
    };
    if args.events.is_empty() {
        let plan = lookup_plan(&input);
        let runtime = crate::runtime::start(&mut tokio::runtime::Builder::new_current_thread())?;
        let (read, read_from) = runtime.block_on(async {
            let base = base_cloud(args, &journal, case.simulated).await?;
            Ok::<_, CliError>(look_up(base, &args.case, &plan).await)
        })?;
        records.extend(read);
        sources.extend(read_from);
    }
    let result = audit(&input, &records, sources);
    let matches: Vec<AuditMatch> = result
        .journaled
        .iter()
        .flat_map(|c| {
            c.events.iter().map(|e| AuditMatch {
                entry_id: c.entry_id,
                event_id: e.event_id.clone(),
                account: e.account.clone(),
                region: e.region.clone(),
                event_time: e.event_time.clone(),
                audited_at: String::new(),
            })
        })
        .collect();
    journal.record_audit_matches(&args.case, &matches).map_err(|e| CliError::from_error(ErrorKind::Failure, &e))?;
    let out = match (args.json, args.format) {
        (true, _) | (_, ReportFormatArg::Json) => custody_audit::report::json(&result),
        (_, ReportFormatArg::Text) => custody_audit::report::render(&result, custody_audit::report::Format::Text),
        (_, ReportFormatArg::Md) => custody_audit::report::render(&result, custody_audit::report::Format::Markdown),
        (_, ReportFormatArg::Html) => custody_audit::report::render(&result, custody_audit::report::Format::Html),
    };
    write_stdout(&out);
    Ok(ExitStatus::from_ok(result.verdict.clean))
}

fn no_case(args: &AuditArgs) -> CliError {
    CliError::user(format!("no case `{}` in the journal", args.case))
        .with_help("`custody cases` lists the cases; --data-dir names another journal")
}

/// What the journal holds on the case, parsed.
struct Journaled {
    acquisitions: Vec<Acquisition>,
    entries: Vec<custody_journal::Entry>,
    resources: Vec<custody_journal::ResourceRecord>,
    evidence: Vec<custody_journal::Evidence>,
}

impl Journaled {
    fn read(journal: &Journal, case: &str) -> Result<Journaled, CliError> {
        let failed = |e: custody_journal::JournalError| CliError::from_error(ErrorKind::Failure, &e);
        let mut acquisitions = Vec::new();
        for a in journal.acquisitions(case).map_err(failed)? {
            let plan: Plan = serde_json::from_value(a.plan).map_err(|e| {
                CliError::failure(format!("the journaled plan of {} in case {case} cannot be read: {e}", a.instance_id))
            })?;
            let inventory: Option<Inventory> = journal
                .acquisition_inventory(case, &a.instance_id)
                .map_err(failed)?
                .and_then(|v| serde_json::from_value(v).ok());
            acquisitions.push(Acquisition { plan, inventory });
        }
        Ok(Journaled {
            acquisitions,
            entries: journal.entries(case).map_err(failed)?,
            resources: journal.resources(case).map_err(failed)?,
            evidence: journal.evidence(case).map_err(failed)?,
        })
    }
}

/// The identity the audit reads CloudTrail as: the simulated cloud of a simulated case, else AWS
/// with the configured credentials (a role of the case is assumed per account by [`look_up`]).
async fn base_cloud(args: &AuditArgs, journal: &Journal, simulated: bool) -> Result<Base, CliError> {
    let forensic = custody_acquire::prepare::journaled_case_role(journal, &args.case)
        .map_err(|e| CliError::from_error(ErrorKind::Failure, &e))?;
    if simulated || args.simulate_state.is_some() {
        let path = match &args.simulate_state {
            Some(p) => p.clone(),
            None => crate::commands::acquire::simulate::kept_world(&args.data.dir()?, &args.case),
        };
        let world = custody_sim::SimWorld::load(&path).map_err(|e| {
            CliError::user(format!("case {} was simulated, and its simulated cloud cannot be read: {e}", args.case))
                .with_help(
                    "a simulated case can be audited when it was acquired with --data-dir (the simulated cloud \
                     is kept beside the journal); or give --events",
                )
        })?;
        let cloud = world.cloud_as(&forensic, SessionName::new("audit", Some(&args.case)).as_str());
        return Ok(Base { cloud, role: forensic, configured: false });
    }
    let cloud: Arc<dyn Cloud> = Arc::new(custody_cloud::sdk::SdkCloud::load(&args.aws.options()).await);
    Ok(Base { cloud, role: forensic, configured: true })
}

struct Base {
    cloud: Arc<dyn Cloud>,
    /// The case's forensic role.
    role: String,
    /// True when `cloud` is the configured identity (AWS), which may have to assume the forensic
    /// role first; false for a session of it already (the simulated cloud).
    configured: bool,
}

/// Reads every place of the plan: the records found (each once), and what each place gave.
async fn look_up(base: Base, case: &str, plan: &LookupPlan) -> (Vec<TrailRecord>, Vec<Source>) {
    let session = SessionName::new("audit", Some(case));
    let mut records: Vec<TrailRecord> = Vec::new();
    let mut sources = Vec::new();
    let mut sessions: BTreeMap<String, Result<Arc<dyn Cloud>, String>> = BTreeMap::new();
    let forensic = if base.configured { become_forensic(&base, &session).await } else { Ok(base.cloud.clone()) };
    sessions.insert(base.role.clone(), forensic.clone());
    for place in &plan.places {
        let name = format!("account {}, {} (as {})", place.account, place.region, place.role);
        let cloud = match sessions.get(&place.role) {
            Some(c) => c.clone(),
            None => {
                let c = match &forensic {
                    Ok(f) => f.assume_role(&place.role, &session).await.map_err(|e| describe(&e)),
                    Err(e) => Err(e.clone()),
                };
                sessions.insert(place.role.clone(), c.clone());
                c
            }
        };
        let cloud = match cloud {
            Ok(c) => c,
            Err(e) => {
                sources.push(Source { name, events: 0, error: Some(format!("cannot assume {}: {e}", place.role)) });
                continue;
            }
        };
        let trail = cloud.cloudtrail(&place.region);
        let mut found = 0;
        let mut error = None;
        for lookup in &place.lookups {
            let Some(key) = lookup_key(lookup.key) else { continue };
            let query = EventLookup {
                start: plan.start,
                end: plan.end,
                attribute: Some(LookupAttribute { key, value: lookup.value.clone() }),
            };
            match trail.lookup_events(&query).await {
                Ok(events) => {
                    let pairs: Vec<(String, String)> = events.into_iter().map(|e| (e.event_id, e.record)).collect();
                    match records_from_lookup(&pairs, &name) {
                        Ok(read) => {
                            found += read.len();
                            records.extend(read);
                        }
                        Err(e) => {
                            error = Some(e.to_string());
                            break;
                        }
                    }
                }
                Err(e) => {
                    error = Some(format!(
                        "LookupEvents {}={} failed: {}{}",
                        lookup.key,
                        lookup.value,
                        describe(&e),
                        if e.is_access_denied() {
                            " (the role needs cloudtrail:LookupEvents: `custody policy role --features …,audit`)"
                        } else {
                            ""
                        }
                    ));
                    break;
                }
            }
        }
        sources.push(Source { name, events: found, error });
    }
    (records, sources)
}

/// The forensic role's session: the configured identity when it is already one, else assumed.
async fn become_forensic(base: &Base, session: &SessionName) -> Result<Arc<dyn Cloud>, String> {
    let me = base.cloud.sts().get_caller_identity().await.map_err(|e| describe(&e))?;
    let role_name = base.role.rsplit('/').next().unwrap_or_default();
    let account = base.role.split(':').nth(4).unwrap_or_default();
    if me.account == account && me.arn.contains(&format!(":assumed-role/{role_name}/")) {
        return Ok(base.cloud.clone());
    }
    base.cloud.assume_role(&base.role, session).await.map_err(|e| describe(&e))
}

fn describe(e: &custody_cloud::CloudError) -> String {
    custody_plan::text::safe(&e.to_string()).into_owned()
}

fn lookup_key(name: &str) -> Option<LookupKey> {
    match name {
        "Username" => Some(LookupKey::Username),
        "EventName" => Some(LookupKey::EventName),
        "ResourceName" => Some(LookupKey::ResourceName),
        "EventSource" => Some(LookupKey::EventSource),
        "EventId" => Some(LookupKey::EventId),
        _ => None,
    }
}
