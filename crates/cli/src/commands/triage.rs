//! `custody triage`: the volatile state of running instances through SSM Run Command, scoped by
//! instance tag (crate custody-triage).
//!
//! Arguments are checked before anything else (exit 2, nothing touched). With a scoping tag
//! (`--ssm-tag`, or `config.ssm_tag` of `--inventory`), instances without it are refused before
//! anything is sent (exit 2). Progress goes to standard error, the result to standard output
//! (`--json`). Exit 0 every command succeeded with its whole output, 1 a command failed, timed out,
//! came back incomplete or was refused by AWS, 2 bad input.
//!
//! The S3 output is downloaded into the data directory, `triage/<case>/<command-id>/<instance-id>/`.
//! A triage killed midway is finished with `--resume` (nothing that was sent is sent again).
//!
//! Much of what is printed comes from the instance (section names, notes, a process's command line,
//! S3 keys): every value goes through [`shown`] before it reaches the terminal.

use crate::aws_options::AwsArgs;
use crate::data_dir::DataDirArgs;
use crate::exit::{write_stdout, CliError, CliResult, ErrorKind, ExitStatus};
use crate::input::{origin_name, read_text};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_cloud::SessionName;
use custody_plan::inventory::arn::{is_instance_id, is_role_arn};
use custody_plan::inventory::{parse_inventory, Tag};
use custody_plan::plan::session_name;
use custody_triage::SdkTriage;
use custody_triage::{resolve, triage_resolved, MemoryTarget, S3Location, TriageError, TriageReport, TriageRequest};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody triage i-0123456789abcdef0 --case IR-7 \\
      --ssm-tag CustodySSMEnabled=True --output s3://ir-evidence/IR-7
  custody triage --tag Role=web --case IR-7 --output s3://ir-evidence/IR-7 \\
      --memory nginx --memory-limit 512M
  custody triage i-0123456789abcdef0 --case IR-7 \\
      --output s3://ir-evidence/IR-7 \\
      --source-role-arn arn:aws:iam::111122223333:role/CustodySource
  # after an interruption
  custody triage i-0123456789abcdef0 --case IR-7 \\
      --output s3://ir-evidence/IR-7 --resume

--output is only the S3 location the instances write to; custody keeps its copies in the data \
directory. Exit status: 0 every output complete, 1 a command failed, timed out or came back incomplete, or AWS refused it, 2 bad input (nothing sent).")]
pub struct TriageArgs {
    /// The instances to triage (`i-…`), in one Region.
    #[arg(value_name = "INSTANCE_ID", required_unless_present = "tag")]
    pub instances: Vec<String>,
    /// Triage the running instances that carry this tag instead.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag, conflicts_with = "instances")]
    pub tag: Option<Tag>,
    /// The case id (created in the journal if new).
    #[arg(long = "case", value_name = "ID", value_parser = crate::data_dir::parse_case_id)]
    pub case_id: String,
    /// Where the SSM agent writes the whole output (OutputS3BucketName/KeyPrefix); without it,
    /// the inline output is cut at 24,000 characters [default: triage.output of custody.toml].
    #[arg(
        long,
        value_name = "s3://BUCKET/PREFIX",
        value_parser = S3Location::parse,
        env = "CUSTODY_TRIAGE_OUTPUT",
        hide_env_values = true
    )]
    pub output: Option<S3Location>,
    /// The tag SendCommand is scoped to: instances without it are refused before anything is sent
    /// [default: triage.ssm_tag of custody.toml, else config.ssm_tag of --inventory].
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag, env = "CUSTODY_SSM_TAG", hide_env_values = true)]
    pub ssm_tag: Option<Tag>,
    /// An inventory whose config.ssm_tag is the default scoping tag.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Also dump the memory of this process (pid or name); repeat for more. Needs --output.
    #[arg(long, value_name = "PID|NAME", value_parser = MemoryTarget::parse)]
    pub memory: Vec<MemoryTarget>,
    /// The most memory dumped per process (bytes, or with K, M or G).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub memory_limit: u64,
    /// Give up waiting after this long, from 30 seconds to 48 hours (also the script's executionTimeout).
    #[arg(long, alias = "timeout", value_name = "DURATION", default_value = "10m", value_parser = parse_wait_timeout)]
    pub wait_timeout: Duration,
    /// The instances are in this other account: send Run Command as a session of its source role
    /// ([source.roles] of custody.toml for the account, else
    /// arn:aws:iam::<account>:role/<source.role_name>, by default CustodySource).
    #[arg(
        long,
        value_name = "ACCOUNT_ID",
        env = "CUSTODY_SOURCE_ACCOUNT",
        hide_env_values = true,
        value_parser = crate::aws_target::parse_account_id
    )]
    pub source_account: Option<String>,
    /// The instances are in another account: send Run Command as a session of this role there
    /// (session `custody-<case>`); the S3 output is still read as the current identity. Wins over
    /// --source-account.
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// The examiner's name, recorded with a new case [default: acquire.examiner of custody.toml].
    #[arg(long, value_name = "NAME", env = "CUSTODY_EXAMINER", hide_env_values = true)]
    pub examiner: Option<String>,
    /// Finish the case's interrupted triage: a command that was sent is followed and fetched, never
    /// sent again; one whose answer was lost is looked up in SSM first.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: send anew a command that was maybe sent but that SSM does not list (the
    /// instance may then run it twice).
    #[arg(long, requires = "resume")]
    pub resend_unconfirmed: bool,
    /// With --resume: how long to look in SSM for a command whose answer was lost before saying it
    /// cannot be found (SSM lists a new command after a delay).
    #[arg(long, value_name = "DURATION", default_value = "30s", requires = "resume", value_parser = parse_lookup_wait)]
    pub lookup_wait: Duration,
    /// The largest S3 output object fetched (bytes, or with K, M or G); a larger one is refused.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_object_size: u64,
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Text for the terminal: every value that reaches it from outside custody (the instance's output,
/// S3 keys, AWS's messages) goes through here, escaping what could act on the terminal instead of
/// showing. One function, so the rule is changed in one place.
fn shown(text: &str) -> Cow<'_, str> {
    custody_plan::text::safe(text)
}

fn parse_tag(text: &str) -> Result<Tag, String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && k.len() <= 128 && v.len() <= 256 => {
            Ok(Tag { key: k.to_string(), value: v.to_string() })
        }
        _ => Err(format!("`{text}`: expected KEY=VALUE (a tag key of 1 to 128 characters)")),
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    crate::units::parse_size(text)
}

/// `--wait-timeout`: also the script's executionTimeout, which the aws:runShellScript and
/// aws:runPowerShellScript plugins take up to 48 hours (172800 seconds,
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-command-ssm-plugin-reference.html>);
/// less than 30 seconds is too short for any collection.
fn parse_wait_timeout(text: &str) -> Result<Duration, String> {
    within(text, Duration::from_secs(30), Duration::from_secs(48 * 3600))
}

/// `--lookup-wait`: up to an hour.
fn parse_lookup_wait(text: &str) -> Result<Duration, String> {
    within(text, Duration::from_secs(1), Duration::from_secs(3600))
}

fn within(text: &str, least: Duration, most: Duration) -> Result<Duration, String> {
    let d = crate::units::parse_duration(text)?;
    if d < least || d > most {
        let (least, most) = (crate::units::format_duration(least), crate::units::format_duration(most));
        return Err(format!("`{text}`: expected from {least} to {most}"));
    }
    Ok(d)
}

/// Runs the command.
pub fn run(args: &TriageArgs) -> CliResult {
    let scope = validate(args)?;
    let runtime = crate::runtime::start(tokio::runtime::Builder::new_multi_thread().worker_threads(2))?;
    runtime.block_on(live(args, scope))
}

/// Checks the raw arguments; answers the scoping tag.
fn validate(args: &TriageArgs) -> Result<Option<Tag>, CliError> {
    check_arguments(args).map_err(CliError::user)?;
    let from_inventory = match &args.inventory {
        Some(path) => {
            let text = read_text(path)?;
            let inventory =
                parse_inventory(&text).map_err(|e| CliError::user(format!("{}: {e}", origin_name(path))))?;
            inventory.config.ssm_tag
        }
        None => None,
    };
    Ok(args.ssm_tag.clone().or(from_inventory))
}

/// Checks the raw values of the arguments.
fn check_arguments(args: &TriageArgs) -> Result<(), String> {
    for id in &args.instances {
        if !is_instance_id(id) {
            return Err(format!("`{id}`: expected an instance id, `i-` and 8 or 17 hex digits"));
        }
    }
    // The case id is checked by clap (`custody_plan::CaseId`).
    args.aws.validate()?;
    if let Some(arn) = args.source_role_arn.as_deref().filter(|a| !is_role_arn(a)) {
        return Err(format!("--source-role-arn `{arn}`: expected a role ARN, `arn:aws:iam::<account>:role/<name>`"));
    }
    if !args.memory.is_empty() && args.output.is_none() {
        return Err("--memory needs --output s3://bucket/prefix: a memory dump is far larger than the 24,000 \
                    characters of inline output"
            .into());
    }
    Ok(())
}

async fn live(args: &TriageArgs, scope: Option<Tag>) -> CliResult {
    let cloud = SdkCloud::load(&args.aws.options()).await;
    let Some(region) = args.aws.region.clone().or_else(|| cloud.default_region()) else {
        return Err(CliError::user("no Region: pass --region, or set AWS_REGION or a profile's region"));
    };
    let (aws, signer) = connect(args, &cloud, &region).await?;
    if scope.is_none() {
        eprintln!(
            "note: no scoping tag (--ssm-tag, or config.ssm_tag of --inventory): instances are not checked before \
             sending, AWS's policy decides"
        );
    }
    let request = TriageRequest {
        case_id: args.case_id.clone(),
        examiner: args.examiner.clone(),
        instances: args.instances.clone(),
        by_tag: args.tag.clone(),
        scope_tag: scope,
        output: args.output.clone(),
        memory: args.memory.clone(),
        memory_limit: args.memory_limit,
        timeout: args.wait_timeout,
        poll_interval: Duration::from_secs(2),
        region,
        signer,
        download_dir: args.data.dir()?.join("triage").join(&args.case_id),
        max_object_bytes: args.max_object_size,
        resume: args.resume,
        resend_unconfirmed: args.resend_unconfirmed,
        lookup_wait: args.lookup_wait,
    };
    // The instances first (read-only): an unknown, stopped or untagged instance is refused before
    // the journal is opened, so a refusal leaves no journal behind.
    let instances = resolve(&aws, &request).await.map_err(|e| failed(&e))?;
    let journal = args.data.open()?;
    // One process per case: a second triage (or an acquisition) of the case waits its turn.
    let _lock = crate::data_dir::lock_case(&journal, &args.case_id)?;
    let quiet = args.json;
    let progress = move |line: &str| {
        if !quiet {
            eprintln!("{}", shown(line));
        }
    };
    let report = triage_resolved(&aws, &journal, &request, &instances, &progress).await.map_err(|e| failed(&e))?;
    let out = if args.json {
        // A report of strings, numbers and vectors: serializing it cannot fail.
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
    } else {
        render(&report)
    };
    write_stdout(&out);
    Ok(ExitStatus::from_ok(report.succeeded()))
}

/// The AWS access of the triage and the identity that signs SendCommand: the current identity, or
/// with `--source-role-arn` a session of that role (EC2 and SSM as it, the S3 output read as the
/// current identity).
/// Errors are failures (exit 1): AWS refused or could not be reached.
async fn connect(args: &TriageArgs, cloud: &SdkCloud, region: &str) -> Result<(SdkTriage, String), CliError> {
    let Some(role_arn) = &args.source_role_arn else {
        let me = cloud
            .sts()
            .get_caller_identity()
            .await
            .map_err(|e| CliError::failure("who am I (sts:GetCallerIdentity)").caused_by(&e))?;
        return Ok((SdkTriage::in_region(cloud.config(), region), me.arn));
    };
    let session = session_name(&args.case_id);
    eprintln!("assuming {role_arn} (the source role) as {session}");
    let source = cloud.assume(role_arn, &SessionName::new_exact(&session)).await.map_err(|e| {
        CliError::failure(format!("cannot assume the source role {role_arn}")).caused_by(&e).with_help(
            "the role's trust policy must trust this identity, and this identity needs sts:AssumeRole on the role \
             (`custody policy role --features triage`, statement AssumeSourceRole)",
        )
    })?;
    let me = source
        .sts()
        .get_caller_identity()
        .await
        .map_err(|e| CliError::failure("who am I in the source account (sts:GetCallerIdentity)").caused_by(&e))?;
    Ok((SdkTriage::cross_account_in_region(source.config(), cloud.config(), region), me.arn))
}

/// Why the triage stopped: bad input when nothing was sent (bad input, a scope refusal), else a
/// failure.
fn failed(e: &TriageError) -> CliError {
    let kind = if e.is_refusal() { ErrorKind::User } else { ErrorKind::Failure };
    let error = CliError::from_error(kind, e);
    match e.help() {
        Some(help) => error.with_help(help),
        None => error,
    }
}

/// The readable result; every value through [`shown`].
fn render(report: &TriageReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Triage, case {}", shown(&report.case_id));
    for i in &report.instances {
        let _ = writeln!(out, "\n{} ({})", shown(&i.instance_id), i.platform.as_str());
        if let Some(r) = &i.refused {
            let _ = writeln!(out, "  ✗ not sent: {}", shown(&r.message));
            if let Some(help) = &r.help {
                let _ = writeln!(out, "      help: {}", shown(help));
            }
        }
        for c in &i.commands {
            let mark = if c.succeeded() { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "  {mark} {} {}: {} (command {})",
                shown(&c.kind),
                shown(&c.document),
                shown(&c.status),
                shown(&c.command_id)
            );
            if let Some(l) = &c.output_location {
                let _ = writeln!(out, "      output: {}", shown(l));
            }
            for a in &c.artifacts {
                let _ = writeln!(
                    out,
                    "      {} {} bytes sha256 {} ({})",
                    shown(&a.name),
                    a.bytes,
                    shown(&a.sha256),
                    shown(&a.location)
                );
            }
            if let Some(col) = &c.collection {
                let sections: Vec<String> = col
                    .sections
                    .iter()
                    .map(|s| format!("{} {}", s.name, serde_json::json!(s.status).as_str().unwrap_or("")))
                    .collect();
                let _ = writeln!(out, "      sections: {}", shown(&sections.join(", ")));
            }
            if let Some(m) = &c.memory {
                for p in &m.processes {
                    let verified = p.regions.iter().filter(|r| r.verified).count();
                    let _ = writeln!(
                        out,
                        "      memory of {} ({}): {} region(s), {verified} verified{}",
                        shown(&p.pid),
                        shown(&p.description),
                        p.regions.len(),
                        if p.limited { ", stopped at --memory-limit" } else { "" }
                    );
                }
            }
            for w in &c.warnings {
                let _ = writeln!(out, "      warning: {}", shown(w));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded() {
        assert_eq!(parse_wait_timeout("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_wait_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait_timeout("48h"), Ok(Duration::from_secs(172_800)));
        assert!(parse_wait_timeout("29s").unwrap_err().contains("from 30s to 48h"));
        assert!(parse_wait_timeout("49h").is_err());
        assert_eq!(parse_lookup_wait("2"), Ok(Duration::from_secs(2)));
        assert!(parse_lookup_wait("2h").unwrap_err().contains("from 1s to 1h"));
        assert!(parse_lookup_wait("0").is_err());
    }

    /// A compromised instance chooses its section names, notes and process command lines, and its
    /// S3 keys: none of it reaches the terminal raw.
    #[test]
    fn what_the_instance_wrote_is_printed_escaped() {
        use custody_triage::parse::{parse_collection, parse_memory};
        use custody_triage::run::{ArtifactReport, CommandReport};
        use custody_triage::{InstanceReport, Platform};
        let evil = "x\u{1b}[2J\u{9b}1A\rgood\u{202e}gpj.exe";
        let n = "0123abcd";
        let collection = parse_collection(&format!("@@CUSTODY {n} SECTION {evil} BEGIN\n"), n);
        let memory = parse_memory(&format!("@@CUSTODY {n} MEMORY 1 BEGIN {evil}\n"), n);
        // The parser keeps the text as it came: escaping is the printer's.
        assert_eq!(memory.processes[0].description, evil);
        let command = CommandReport {
            kind: "collect".into(),
            command_id: "c-1".into(),
            document: "AWS-RunShellScript".into(),
            status: "Success".into(),
            status_details: None,
            response_code: 0,
            output_location: Some(format!("s3://b/{evil}/")),
            artifacts: vec![ArtifactReport {
                name: evil.into(),
                location: format!("s3://b/{evil}"),
                sha256: "ab".repeat(32),
                bytes: 1,
            }],
            truncated: false,
            collection: Some(collection),
            memory: Some(memory),
            unparsed: None,
            warnings: vec![format!("section {evil} is cut short")],
        };
        let report = TriageReport {
            case_id: "T1".into(),
            instances: vec![InstanceReport {
                instance_id: "i-0123456789abcdef0".into(),
                platform: Platform::Linux,
                commands: vec![command],
                refused: None,
            }],
        };
        let text = render(&report);
        let raw: Vec<char> =
            text.chars().filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c)).collect();
        assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
        assert!(text.contains("\\u{1b}[2J") && text.contains("\\u{202e}"), "{text}");
    }

    #[test]
    fn tags_parse() {
        assert_eq!(parse_tag("A=b=c"), Ok(Tag { key: "A".into(), value: "b=c".into() }));
        assert_eq!(parse_tag("A="), Ok(Tag { key: "A".into(), value: String::new() }));
        assert!(parse_tag("=b").is_err());
        assert!(parse_tag("nokey").is_err());
    }
}
