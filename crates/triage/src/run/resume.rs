//! Resuming a triage after the process was killed: what the journal says of each command, and
//! finding in SSM a command whose SendCommand answer was never journaled.
//!
//! Every SendCommand is journaled as an intent first, carrying the triage's run id and a reference
//! `<run>.<attempt>` that custody also writes at the start of the command's Comment (SendCommand's
//! `Comment`, at most 100 characters, is listed back by ListCommands). On `--resume`, for each
//! instance and command of the request, in the run being resumed (the case's latest):
//!
//! - never intended: sent now;
//! - refused by AWS (an outcome `failed`): it never ran; sent again;
//! - answered (an outcome `ok`): never sent again; its command id is followed and fetched (the
//!   triage row is written if the kill came before it);
//! - intended, no answer journaled: the process died during the call, which may or may not have
//!   reached SSM. custody looks for it: ListCommands of the document since shortly before the intent
//!   (by DocumentName and InvokedAfter; not by instance, since a Pending command cannot be filtered by
//!   instance), matching the reference in the Comment and the instance. ListCommands is eventually
//!   consistent, so it looks again for up to the lookup wait. Found: the answer is journaled (saying
//!   how it was found) and the command followed. Not found: custody says so and sends nothing for it;
//!   only `--resend-unconfirmed` sends it anew (then the instance may run it twice), after journaling
//!   that the earlier call was not found.
//!
//! Without `--resume`, a triage of an instance with such an interrupted command is refused before
//! anything is sent, pointing at `--resume`: a plain re-run would send a second collection while
//! the first may still be running.

use super::{fetch, SendFailure, TriageRequest};
use crate::error::TriageError;
use crate::script;
use custody_cloud::triage::{AwsError, InstanceInfo, ListedCommand, TriageAws};
use custody_journal::{Entry, Journal, JournalError, Outcome};
use serde_json::json;
use std::time::{Duration, Instant};

/// The journal's SendCommand step of a triage command: `triage` (the collection) or
/// `triage-memory-<target>`.
pub fn step_id(kind: &str) -> String {
    if kind == "collect" {
        "triage".into()
    } else {
        format!("triage-{}", kind.replace(' ', "-"))
    }
}

/// The Comment of an attempt: the reference first, so that the 100-character limit never cuts it.
pub fn comment(reference: &str, case_id: &str, kind: &str) -> String {
    format!("custody triage {reference} case {case_id} ({kind})").chars().take(100).collect()
}

/// The commands of `listed` custody sent with `comment` to `instance_id` as `document`.
pub fn matching<'a>(listed: &'a [ListedCommand], comment: &str, instance_id: &str, document: &str) -> Vec<&'a str> {
    listed
        .iter()
        .filter(|c| {
            !comment.is_empty()
                && c.comment == comment
                && c.document == document
                && c.instance_ids.iter().any(|i| i == instance_id)
                && !c.command_id.is_empty()
        })
        .map(|c| c.command_id.as_str())
        .collect()
}

/// A triage SendCommand intent, as its parameters say.
#[derive(Debug, Clone)]
pub(super) struct Attempt {
    pub entry: Entry,
    pub run: Option<String>,
    pub comment: String,
    pub nonce: Option<String>,
}

impl Attempt {
    fn of(entry: &Entry) -> Option<Attempt> {
        if entry.intent.api != "ssm:SendCommand" || !entry.intent.step_id.starts_with("triage") {
            return None;
        }
        let text = |k: &str| entry.intent.params.get(k).and_then(|v| v.as_str()).map(str::to_string);
        Some(Attempt {
            run: text("triage_run"),
            comment: text("comment").unwrap_or_default(),
            nonce: text("nonce"),
            entry: entry.clone(),
        })
    }

    /// The command id of an answered attempt.
    pub fn command_id(&self) -> Option<String> {
        match &self.entry.outcome {
            Some(custody_journal::Outcome::Ok { result, .. }) => {
                result.get("command_id").and_then(|v| v.as_str()).map(str::to_string)
            }
            _ => None,
        }
    }
}

/// Every triage SendCommand attempt of the case, in the order intended.
pub(super) fn attempts(journal: &Journal, case_id: &str) -> Result<Vec<Attempt>, JournalError> {
    Ok(journal.entries(case_id)?.iter().filter_map(Attempt::of).collect())
}

/// The run a `--resume` continues: the case's latest triage run.
pub(super) fn latest_run(attempts: &[Attempt]) -> Option<String> {
    attempts.iter().rev().find_map(|a| a.run.clone())
}

/// The latest attempt of `run` for this instance and step.
pub(super) fn last_attempt<'a>(
    attempts: &'a [Attempt],
    run: &str,
    instance_id: &str,
    step: &str,
) -> Option<&'a Attempt> {
    attempts.iter().rev().find(|a| {
        a.run.as_deref() == Some(run) && a.entry.intent.instance_id == instance_id && a.entry.intent.step_id == step
    })
}

/// The number of the next attempt of `run` for this instance and step.
pub(super) fn next_attempt(attempts: &[Attempt], run: &str, instance_id: &str, step: &str) -> usize {
    1 + attempts
        .iter()
        .filter(|a| {
            a.run.as_deref() == Some(run) && a.entry.intent.instance_id == instance_id && a.entry.intent.step_id == step
        })
        .count()
}

/// Looks for the command of an unanswered attempt, again and again for up to `wait`.
pub(super) async fn look_up(
    aws_api: &dyn TriageAws,
    attempt: &Attempt,
    document: &str,
    wait: Duration,
    first_pause: Duration,
) -> Result<Option<String>, AwsError> {
    // Shortly before the intent: this machine's clock and AWS's may differ by minutes.
    let since = chrono::DateTime::parse_from_rfc3339(&attempt.entry.intended_at)
        .map(|t| t.with_timezone(&chrono::Utc) - chrono::Duration::minutes(15))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    let deadline = Instant::now() + wait;
    let mut pause = first_pause.max(Duration::from_millis(1));
    loop {
        let listed = aws_api.list_commands(document, since).await?;
        if let Some(found) = matching(&listed, &attempt.comment, &attempt.entry.intent.instance_id, document).first() {
            return Ok(Some((*found).to_string()));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Refuses (before anything is sent) a triage of an instance whose last triage command was
/// interrupted: sent or maybe sent, and not fetched. `--resume` finishes it instead.
pub(super) fn refuse_interrupted(
    journal: &Journal,
    req: &TriageRequest,
    instances: &[InstanceInfo],
    attempts: &[Attempt],
) -> Result<(), TriageError> {
    let fetched: Vec<(String, String)> = journal
        .triage_artifacts(&req.case_id)?
        .into_iter()
        .filter(fetch::is_final_record)
        .map(|a| (a.command_id, a.instance_id))
        .collect();
    let mut found = Vec::new();
    for instance in instances {
        let mut steps: Vec<&str> = Vec::new();
        for a in attempts.iter().rev().filter(|a| a.entry.intent.instance_id == instance.id) {
            let step = a.entry.intent.step_id.as_str();
            if steps.contains(&step) {
                continue; // only the latest attempt of each step counts
            }
            steps.push(step);
            let state = match (&a.entry.outcome, a.command_id()) {
                (None, _) => "sent, its answer not journaled",
                (Some(_), Some(id)) if !fetched.contains(&(id.clone(), instance.id.clone())) => "sent, not fetched",
                _ => continue,
            };
            found.push(format!("{} {step}: {state}", instance.id));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(TriageError::BadInput(format!(
        "case {} has an interrupted triage ({}): nothing was sent; run the same command with --resume to finish it \
         (a command that was sent is followed, never sent again)",
        req.case_id,
        found.join("; ")
    )))
}

/// What a resume does with one command of the run.
pub(super) enum Recovered {
    /// Never sent, or refused by AWS: send it.
    Send,
    /// Sent: follow this command, parsing with this nonce.
    Follow { command_id: String, nonce: String },
    /// Maybe sent, not found: not sent again; why, for the report.
    Unconfirmed(SendFailure),
}

/// Reads the last attempt of a command in the resumed run; looks an unanswered one up in SSM.
pub(super) async fn recover(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    instance: &InstanceInfo,
    kind: &str,
    attempt: &Attempt,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Recovered, TriageError> {
    // Without the nonce (a journal written before it was recorded) the output cannot be read as
    // custody's; a fresh one makes every marker data, which the report then says.
    let nonce = attempt.nonce.clone().unwrap_or_else(|| script::nonce(&instance.id));
    match &attempt.entry.outcome {
        Some(Outcome::Ok { .. }) => Ok(match attempt.command_id() {
            Some(command_id) => Recovered::Follow { command_id, nonce },
            None => Recovered::Send,
        }),
        Some(Outcome::Failed { .. }) => Ok(Recovered::Send),
        None => {
            let document = instance.platform.document();
            progress(&format!(
                "{}: {kind}: its SendCommand was journaled without an answer; looking for it in ssm:ListCommands \
                 (for up to {}s)",
                instance.id,
                req.lookup_wait.as_secs()
            ));
            let found = look_up(aws_api, attempt, document, req.lookup_wait, req.poll_interval).await;
            match found {
                Ok(Some(command_id)) => {
                    journal.record_outcome(
                        attempt.entry.id,
                        &Outcome::Ok {
                            result: json!({ "command_id": command_id, "found_by": "ssm:ListCommands, by the reference in its Comment, after the process was interrupted" }),
                            request_id: None,
                        },
                    )?;
                    Ok(Recovered::Follow { command_id, nonce })
                }
                Ok(None) if req.resend_unconfirmed => {
                    journal.record_outcome(
                        attempt.entry.id,
                        &Outcome::Failed {
                            code: Some("NotFoundAfterInterruption".into()),
                            message: format!(
                                "not listed by ssm:ListCommands within {}s of the resume; sent again on request \
                                 (--resend-unconfirmed)",
                                req.lookup_wait.as_secs()
                            ),
                            request_id: None,
                        },
                    )?;
                    Ok(Recovered::Send)
                }
                Ok(None) => Ok(Recovered::Unconfirmed(SendFailure {
                    access_denied: false,
                    message: format!(
                        "{kind}: the interrupted triage journaled its SendCommand ({}) but not the answer, and \
                         ssm:ListCommands shows no command with custody's reference in its comment (`{}`) for this \
                         instance after {}s: it may never have reached SSM, or SSM does not list it yet; custody does \
                         not send it again on its own, so that the instance never runs it twice",
                        attempt.entry.intended_at,
                        attempt.comment,
                        req.lookup_wait.as_secs()
                    ),
                    help: Some(format!(
                        "run the same command with --resume later to look again (`aws ssm list-commands --filters \
                         key=DocumentName,value={document}` lists what SSM has); --resend-unconfirmed sends it anew, \
                         and the instance may then run it twice"
                    )),
                })),
                Err(e) => Ok(Recovered::Unconfirmed(SendFailure {
                    access_denied: e.is_access_denied(),
                    message: format!(
                        "{kind}: the interrupted triage journaled its SendCommand but not the answer, and looking for \
                         it failed (ssm:ListCommands: {e}); not sent again"
                    ),
                    help: Some(
                        "the identity needs ssm:ListCommands to finish an interrupted triage (`custody policy role \
                         --features triage`); then run the same command with --resume"
                            .into(),
                    ),
                })),
            }
        }
    }
}
