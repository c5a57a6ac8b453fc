//! The triage itself: resolve the instances, refuse what the scoping tag does not allow, send one
//! command per instance (and one per memory target), poll until each is done or the timeout, fetch
//! and hash every artifact, parse it, journal it all.
//!
//! One SendCommand per instance, not one for all: a refusal (AccessDeniedException) then names the
//! instance it is about, and each command id maps to exactly one invocation. Every SendCommand is
//! journaled as an intent before it is made and an outcome after, like every mutating call custody
//! makes; the command id, each status change and every artifact's SHA-256 go into the triage tables.
//!
//! What AWS refuses for one instance (AccessDeniedException on SendCommand, any other SendCommand
//! error) is recorded and explained for that instance and the others still run; every command sent
//! is polled to its end (or the timeout) and fetched. Only a journal that cannot be written stops a
//! triage midway.
//!
//! [`resolve`] is read-only: a caller that creates the journal (the CLI) calls it first and opens the
//! journal only once the instances are known good, then [`triage_resolved`]; [`triage`] does both.
//!
//! A triage killed midway is finished with `resume` ([`resume`] says what that does instead of
//! sending again); the S3 output is fetched to files under a cap ([`fetch`], [`crate::download`]).

pub mod fetch;
mod resolve;
pub mod resume;

pub use resolve::resolve;

use crate::error::TriageError;
use crate::parse::{Collection, MemoryDump};
use crate::scope;
use crate::script::{self, MemoryTarget, Platform, Prepared};
use crate::S3Location;
use custody_cloud::triage::{InstanceInfo, Invocation, OutputLocation, SendRequest, TriageAws};
use custody_journal::triage::TriageCommand;
use custody_journal::{Intent, Journal, NewCase, Outcome};
use custody_plan::inventory::Tag;
use resume::{recover, refuse_interrupted, Recovered};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The most commands one ListCommands look-up reads.
pub use custody_cloud::triage::LOOKUP_MAX_COMMANDS;

/// GetCommandInvocation's `StandardOutputContent` holds "the first 24,000 characters written by
/// the plugin to stdout" (SSM API Reference, GetCommandInvocation).
pub const INLINE_STDOUT_LIMIT: usize = 24_000;

/// What to triage, and how.
#[derive(Debug, Clone)]
pub struct TriageRequest {
    pub case_id: String,
    pub examiner: Option<String>,
    /// The instances; empty: those carrying `by_tag`.
    pub instances: Vec<String>,
    pub by_tag: Option<Tag>,
    /// The tag every instance must carry (seed 004); `None`: no check before sending.
    pub scope_tag: Option<Tag>,
    pub output: Option<S3Location>,
    pub memory: Vec<MemoryTarget>,
    /// Per process, bytes.
    pub memory_limit: u64,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub region: String,
    /// Who signs the calls (journaled).
    pub signer: String,
    /// Where the S3 objects are downloaded: `<dir>/<command-id>/<instance-id>/` (0700, files 0600).
    pub download_dir: PathBuf,
    /// The most bytes of one S3 object fetched ([`crate::download::DEFAULT_MAX_OBJECT_BYTES`]).
    pub max_object_bytes: u64,
    /// Finish the case's interrupted triage: nothing that was sent is sent again ([`resume`]).
    pub resume: bool,
    /// On resume, send anew a command whose SendCommand was journaled without an answer and that
    /// ListCommands does not show (the instance may then run it twice).
    pub resend_unconfirmed: bool,
    /// How long a resume looks for such a command in ListCommands (eventually consistent).
    pub lookup_wait: Duration,
}

/// One artifact fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactReport {
    pub name: String,
    pub location: String,
    pub sha256: String,
    pub bytes: u64,
}

/// One command on one instance.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReport {
    /// `collect`, or `memory` with its target.
    pub kind: String,
    pub command_id: String,
    pub document: String,
    pub status: String,
    pub status_details: Option<String>,
    pub response_code: i64,
    pub output_location: Option<String>,
    pub artifacts: Vec<ArtifactReport>,
    /// The inline stdout reached 24,000 characters and was cut.
    pub truncated: bool,
    pub collection: Option<Collection>,
    pub memory: Option<MemoryDump>,
    /// Why the output was not parsed (more than one stdout object, one over the size cap).
    pub unparsed: Option<String>,
    pub warnings: Vec<String>,
}

impl CommandReport {
    /// Done, every section arrived (or every memory region verified).
    pub fn succeeded(&self) -> bool {
        self.status == "Success"
            && self.unparsed.is_none()
            && self.collection.as_ref().is_none_or(|c| c.complete && c.missing.is_empty())
            && self.memory.as_ref().is_none_or(MemoryDump::all_verified)
    }
}

/// A SendCommand AWS refused for one instance: nothing (more) was sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendFailure {
    /// AWS answered AccessDeniedException (explained in terms of the scoping tag and the policy).
    pub access_denied: bool,
    /// What was refused, and why, for this instance.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

/// One instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub instance_id: String,
    pub platform: Platform,
    pub commands: Vec<CommandReport>,
    /// AWS refused a SendCommand to this instance (the commands sent before it still ran).
    pub refused: Option<SendFailure>,
}

impl InstanceReport {
    /// Nothing was refused, and every command succeeded.
    pub fn succeeded(&self) -> bool {
        self.refused.is_none() && self.commands.iter().all(CommandReport::succeeded)
    }
}

/// The whole triage.
#[derive(Debug, Clone, Serialize)]
pub struct TriageReport {
    pub case_id: String,
    pub instances: Vec<InstanceReport>,
}

impl TriageReport {
    pub fn succeeded(&self) -> bool {
        self.instances.iter().all(InstanceReport::succeeded)
    }
}

/// A command sent and not yet fetched.
struct Sent {
    instance: usize,
    kind: String,
    command_id: String,
    prepared: Prepared,
    memory: bool,
    invocation: Invocation,
    /// GetCommandInvocation failed for it: custody stopped following it.
    poll_error: Option<String>,
}

/// Runs the triage: [`resolve`], then [`triage_resolved`]; `progress` gets one line per event.
pub async fn triage(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<TriageReport, TriageError> {
    let instances = resolve(aws_api, req).await?;
    triage_resolved(aws_api, journal, req, &instances, progress).await
}

/// Runs the triage of `instances` (as [`resolve`] answered them): sends, polls, fetches, journals.
pub async fn triage_resolved(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    instances: &[InstanceInfo],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<TriageReport, TriageError> {
    let attempts = resume::attempts(journal, &req.case_id)?;
    if !req.resume {
        refuse_interrupted(journal, req, instances, &attempts)?;
    }
    ensure_case(journal, req, instances)?;
    let run = match req.resume.then(|| resume::latest_run(&attempts)).flatten() {
        Some(run) => run,
        None => script::nonce(&format!("run of {}", req.case_id)),
    };
    let mut reports: Vec<InstanceReport> = instances
        .iter()
        .map(|i| InstanceReport {
            instance_id: i.id.clone(),
            platform: i.platform,
            commands: Vec::new(),
            refused: None,
        })
        .collect();
    let mut sent = Vec::new();
    for (n, instance) in instances.iter().enumerate() {
        let memory = req.memory.iter().map(|t| (format!("memory {}", t.as_str()), Some(t)));
        for (kind, target) in std::iter::once(("collect".to_string(), None)).chain(memory) {
            let step = resume::step_id(&kind);
            let limit = target.map(|t| (t, req.memory_limit));
            let last = if req.resume { resume::last_attempt(&attempts, &run, &instance.id, &step) } else { None };
            let known = match last {
                Some(a) => recover(aws_api, journal, req, instance, &kind, a, progress).await?,
                None => Recovered::Send,
            };
            let (command_id, prepared) = match known {
                Recovered::Follow { command_id, nonce } => {
                    let prepared = script::prepare(instance.platform, &nonce, limit);
                    progress(&format!(
                        "{}: {kind} was sent before the interruption (command {command_id}): following it, not sending \
                         it again",
                        instance.id
                    ));
                    ensure_row(journal, req, instance, &kind, &prepared, &command_id)?;
                    (command_id, prepared)
                }
                Recovered::Unconfirmed(failure) => {
                    progress(&format!("{}: {kind} not sent: {}", instance.id, failure.message));
                    reports[n].refused.get_or_insert(failure);
                    continue;
                }
                Recovered::Send => {
                    let prepared = script::prepare(instance.platform, &script::nonce(&instance.id), limit);
                    let attempt = resume::next_attempt(&attempts, &run, &instance.id, &step);
                    let reference = format!("{run}.{attempt}");
                    match send(aws_api, journal, req, instance, &kind, &prepared, &run, &reference).await {
                        Ok(id) => {
                            progress(&format!(
                                "{}: sent {} ({kind}), command {id}",
                                instance.id,
                                instance.platform.document()
                            ));
                            (id, prepared)
                        }
                        Err(e @ (TriageError::AccessDenied { .. } | TriageError::Aws { .. })) => {
                            // This instance's, not the triage's: recorded (the journal has the call and
                            // AWS's answer), explained, and the next instance is sent to.
                            let failure = SendFailure {
                                access_denied: matches!(e, TriageError::AccessDenied { .. }),
                                message: e.to_string(),
                                help: e.help().map(str::to_string),
                            };
                            progress(&format!("{}: {kind} not sent: {}", instance.id, failure.message));
                            if let Some(help) = &failure.help {
                                progress(&format!("{}: help: {help}", instance.id));
                            }
                            reports[n].refused = Some(failure);
                            break; // the memory commands go the same way: not sent either
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            sent.push(Sent {
                instance: n,
                kind,
                command_id,
                prepared,
                memory: target.is_some(),
                invocation: Invocation { status: "Pending".into(), response_code: -1, ..Invocation::default() },
                poll_error: None,
            });
        }
    }
    poll(aws_api, journal, req, instances, &mut sent, progress).await?;
    for s in sent {
        let n = s.instance;
        let instance = &instances[n];
        let report = fetch::fetch(aws_api, journal, req, instance, s).await?;
        for w in &report.warnings {
            progress(&format!("warning: {}: {w}", instance.id));
        }
        reports[n].commands.push(report);
    }
    Ok(TriageReport { case_id: req.case_id.clone(), instances: reports })
}

fn ensure_case(journal: &Journal, req: &TriageRequest, instances: &[InstanceInfo]) -> Result<(), TriageError> {
    if journal.case(&req.case_id)?.is_some() {
        return Ok(());
    }
    journal.create_case(&NewCase {
        case_id: req.case_id.clone(),
        examiner: req.examiner.clone(),
        destination_account: instances.iter().find_map(|i| i.account.clone()).unwrap_or_default(),
        destination_region: req.region.clone(),
        note: Some("triage through SSM Run Command".into()),
        simulated: false,
    })?;
    Ok(())
}

/// The triage row of a command sent to one instance.
fn row(
    req: &TriageRequest,
    instance: &InstanceInfo,
    kind: &str,
    prepared: &Prepared,
    command_id: &str,
) -> TriageCommand {
    TriageCommand {
        case_id: req.case_id.clone(),
        command_id: command_id.to_string(),
        instance_id: instance.id.clone(),
        kind: kind.to_string(),
        document: instance.platform.document().to_string(),
        script_version: prepared.version.clone(),
        script_sha256: prepared.sha256.clone(),
        output_location: req
            .output
            .as_ref()
            .map(|o| format!("s3://{}/{}", o.bucket, o.command_prefix(command_id, &instance.id))),
        status: "Pending".into(),
        status_details: None,
        response_code: None,
        sent_at: String::new(),
        updated_at: String::new(),
    }
}

/// Writes the triage row of a command that was sent, unless the journal has it (a kill between the
/// answer and the row).
fn ensure_row(
    journal: &Journal,
    req: &TriageRequest,
    instance: &InstanceInfo,
    kind: &str,
    prepared: &Prepared,
    command_id: &str,
) -> Result<(), TriageError> {
    let known = journal.triage_commands(&req.case_id)?;
    if !known.iter().any(|c| c.command_id == command_id && c.instance_id == instance.id) {
        journal.record_triage_command(&row(req, instance, kind, prepared, command_id))?;
    }
    Ok(())
}

/// Journals the intent, sends, journals the outcome and the command.
#[expect(clippy::too_many_arguments, reason = "one command's parts, each journaled under its own name")]
async fn send(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    instance: &InstanceInfo,
    kind: &str,
    prepared: &Prepared,
    run: &str,
    reference: &str,
) -> Result<String, TriageError> {
    let document = instance.platform.document();
    let comment = resume::comment(reference, &req.case_id, kind);
    let request = SendRequest {
        instance_id: instance.id.clone(),
        document: document.to_string(),
        commands: prepared.commands.clone(),
        execution_timeout: req.timeout.as_secs().max(1),
        output: req.output.as_ref().map(|o| OutputLocation { bucket: o.bucket.clone(), prefix: o.prefix.clone() }),
        comment: comment.clone(),
    };
    let entry = journal.intend(&Intent {
        case_id: req.case_id.clone(),
        instance_id: instance.id.clone(),
        step_id: resume::step_id(kind),
        api: "ssm:SendCommand".into(),
        account: instance.account.clone().unwrap_or_default(),
        region: req.region.clone(),
        signer: req.signer.clone(),
        params: json!({
            "document": document,
            "instance_id": instance.id,
            "script_version": prepared.version,
            "script_sha256": prepared.sha256,
            "output": req.output.as_ref().map(ToString::to_string),
            "execution_timeout": request.execution_timeout,
            // What a resume needs: which run this is, how to find the command in ListCommands, and
            // the nonce its output is read with.
            "triage_run": run,
            "reference": reference,
            "comment": comment,
            "nonce": prepared.nonce,
            "kind": kind,
        }),
    })?;
    match aws_api.send_command(&request).await {
        Ok(command_id) => {
            journal.record_outcome(
                entry,
                &Outcome::Ok { result: json!({ "command_id": command_id }), request_id: None },
            )?;
            journal.record_triage_command(&row(req, instance, kind, prepared, &command_id))?;
            Ok(command_id)
        }
        Err(e) => {
            journal.record_outcome(
                entry,
                &Outcome::Failed { code: e.code.clone(), message: e.message.clone(), request_id: e.request_id.clone() },
            )?;
            if e.is_access_denied() {
                return Err(scope::explain_access_denied(instance, document, req.scope_tag.as_ref(), &e.to_string()));
            }
            Err(TriageError::Aws { call: "ssm:SendCommand", source: e })
        }
    }
}

/// Still to poll: not final, and GetCommandInvocation has not failed for it.
fn following(s: &Sent) -> bool {
    s.poll_error.is_none() && !s.invocation.is_final()
}

/// Polls every invocation until final or the timeout; journals each status change.
async fn poll(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    instances: &[InstanceInfo],
    sent: &mut [Sent],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), TriageError> {
    // The agent needs time to pick the command up; the deadline leaves it a minute past the
    // script's own executionTimeout to report.
    let deadline = Instant::now() + req.timeout + Duration::from_secs(60).min(req.timeout);
    loop {
        for s in sent.iter_mut().filter(|s| following(s)) {
            let id = &instances[s.instance].id;
            let now = match aws_api.get_invocation(&s.command_id, id).await {
                Ok(Some(now)) => now,
                Ok(None) => continue,
                Err(e) => {
                    // This command's: the others are still followed.
                    progress(&format!("{id}: {} could not be followed: ssm:GetCommandInvocation: {e}", s.kind));
                    s.poll_error = Some(e.to_string());
                    continue;
                }
            };
            if now.status != s.invocation.status {
                progress(&format!("{id}: {} {}", s.kind, now.status));
                journal.set_triage_status(
                    &s.command_id,
                    id,
                    &now.status,
                    now.status_details.as_deref(),
                    Some(now.response_code),
                )?;
            }
            s.invocation = now;
        }
        if !sent.iter().any(following) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            for s in sent.iter().filter(|s| following(s)) {
                progress(&format!(
                    "{}: {} still {} after the timeout: custody stops waiting (the command may still run; `aws ssm \
                     get-command-invocation --command-id {} --instance-id {}` follows it)",
                    instances[s.instance].id, s.kind, s.invocation.status, s.command_id, instances[s.instance].id
                ));
            }
            return Ok(());
        }
        tokio::time::sleep(req.poll_interval).await;
    }
}
