//! The context every step of one instance runs in, and the journaled call: intent, call (retried
//! when throttled), outcome.

use crate::error::AcquireError;
use crate::report::{Event, Progress};
use crate::resolve::Resolved;
use crate::wait::WaitSettings;
use custody_cloud::sessions::Sessions;
use custody_cloud::types::Receipt;
use custody_cloud::{Cloud, CloudError, CloudResult};
use custody_journal::{EntryId, Intent, Journal, JournalError, NewResource, Outcome, ResourceKind};
use custody_plan::check::{CheckReport, Outcome as CheckOutcome};
use custody_plan::plan::{Api, Call, Plan, Step};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a mutating step found in the journal from an earlier run.
pub(crate) enum Prior {
    /// Done, with this outcome.
    Done(Value),
    /// Intended (this entry), but no outcome: the run died while AWS answered. Look before redoing,
    /// and record what was found as the entry's outcome ([`Run::settle`]).
    Unsure(EntryId),
    /// Never tried, or failed (a failed call changed nothing).
    None,
}

/// One instance's acquisition in progress.
pub(crate) struct Run {
    pub journal: Arc<Journal>,
    pub plan: Plan,
    pub preflight: Option<CheckReport>,
    pub sessions: Sessions,
    pub resolved: Resolved,
    /// Every placeholder the plan uses (snapshots, the temporary key, grants).
    pub placeholders: Vec<String>,
    pub wait: WaitSettings,
    pub progress: Progress,
    pub stop: Arc<AtomicBool>,
    /// What a volume's steps left in AWS on purpose that its report must say (a copy that failed
    /// while KMS propagated a grant, made again): volume id → sentences.
    pub left: std::sync::Mutex<std::collections::BTreeMap<String, Vec<String>>>,
    /// The key each completed snapshot is encrypted under, as DescribeSnapshots answered (`None`:
    /// unencrypted): snapshot id → key. The evidence record says what AWS says, not what was planned.
    pub keys_seen: std::sync::Mutex<std::collections::BTreeMap<String, Option<String>>>,
}

impl Run {
    /// Notes that `volume`'s report must list `what` as left in AWS.
    pub fn leave(&self, volume: &str, what: String) {
        if let Ok(mut left) = self.left.lock() {
            left.entry(volume.to_string()).or_default().push(what);
        }
    }

    /// Notes the keys of completed snapshots, as DescribeSnapshots answered.
    pub fn saw_keys(&self, snapshots: &[custody_cloud::types::SnapshotInfo]) {
        if let Ok(mut seen) = self.keys_seen.lock() {
            for s in snapshots {
                seen.insert(s.id.clone(), s.kms_key_id.clone().filter(|_| s.encrypted));
            }
        }
    }

    /// The key to record for the evidence snapshot `id` of `volume`: the one EC2 reported when it
    /// completed, else `planned`. Encryption by default, or a default key changed since the inventory
    /// was read, can make the two differ (EC2 API Reference, CopySnapshot `Encrypted`,
    /// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html>): the run says so.
    pub fn evidence_key(&self, id: &str, planned: Option<String>, volume: &str) -> Option<String> {
        let Some(seen) = self.keys_seen.lock().ok().and_then(|seen| seen.get(id).cloned()) else { return planned };
        if seen != planned {
            let said = |k: &Option<String>| k.as_deref().map_or("unencrypted".to_string(), |k| format!("under {k}"));
            self.progress.emit(crate::report::Event::Warning {
                message: format!(
                    "evidence snapshot {id} of {volume} is encrypted {} according to EC2, not {} as planned: the \
                     evidence record and manifest give the key EC2 reports",
                    said(&seen),
                    said(&planned)
                ),
            });
        }
        seen
    }

    /// What [`Run::leave`] noted for `volume`, taken.
    pub fn take_left(&self, volume: &str) -> Vec<String> {
        self.left.lock().map(|mut left| left.remove(volume).unwrap_or_default()).unwrap_or_default()
    }

    pub fn case(&self) -> &str {
        &self.plan.case_id
    }

    pub fn instance(&self) -> &str {
        &self.plan.instance_id
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The session that signs `call`.
    pub fn signer(&self, step: &Step, call: &Call) -> Result<Arc<dyn Cloud>, AcquireError> {
        self.sessions.get(&call.signer).ok_or_else(|| AcquireError::Plan {
            step: step.id.clone(),
            why: format!("no session of {} (the plan has no step assuming it)", call.signer),
        })
    }

    /// The call of `step` to `api`.
    pub fn call_of<'p>(&self, step: &'p Step, api: Api) -> Result<&'p Call, AcquireError> {
        step.calls
            .iter()
            .find(|c| c.api == api.as_str())
            .ok_or_else(|| AcquireError::Plan { step: step.id.clone(), why: format!("the step has no `{api}` call") })
    }

    /// The real id of placeholder (or existing id) `name`, which must have been created.
    pub fn real(&self, step: &Step, name: &str) -> Result<String, AcquireError> {
        self.resolved.real(name, &self.placeholders).ok_or_else(|| AcquireError::Plan {
            step: step.id.clone(),
            why: format!("`{name}` should have been created by an earlier step"),
        })
    }

    /// `step`'s title with real ids for the placeholders created so far (and words for the others).
    pub fn title(&self, step: &Step) -> String {
        self.resolved.substitute(&step.title, &self.placeholders)
    }

    /// The real id of `name`, `None` for a placeholder never created (cleanup skips it).
    pub fn created(&self, name: &str) -> Option<String> {
        self.resolved.real(name, &self.placeholders)
    }

    /// What the journal says of `api` in `step`.
    pub fn prior(&self, step: &Step, api: &str) -> Result<Prior, AcquireError> {
        let Some(entry) = self.journal.last_entry(self.case(), self.instance(), &step.id, api)? else {
            return Ok(Prior::None);
        };
        Ok(match entry.outcome {
            Some(Outcome::Ok { result, .. }) => Prior::Done(result),
            Some(Outcome::Failed { .. }) => Prior::None,
            None => Prior::Unsure(entry.id),
        })
    }

    /// Records what a lookup found for a call intended without an outcome (`Prior::Unsure`): the call
    /// took effect, and `result` is what it would have returned. A later resume then reads it like
    /// any other outcome instead of looking again.
    pub fn settle(&self, entry: EntryId, result: Value) -> Result<(), AcquireError> {
        self.journal.record_outcome(entry, &Outcome::Ok { result, request_id: None })?;
        Ok(())
    }

    /// Journals and makes one call of `step`: the intent (with `params`), then the call, retried with
    /// backoff while throttled, then the outcome (`result` of what the call returned, or the error).
    pub async fn journaled<T, F, Fut>(
        &self,
        step: &Step,
        call: &Call,
        params: Value,
        mut make: F,
        result: impl Fn(&T) -> Value,
    ) -> Result<(T, Value), AcquireError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<Receipt<T>>>,
    {
        let id = self.journal.intend(&Intent {
            case_id: self.case().to_string(),
            instance_id: self.instance().to_string(),
            step_id: step.id.clone(),
            api: call.api.clone(),
            account: call.account.clone(),
            region: call.region.clone(),
            signer: call.signer.clone(),
            params,
        })?;
        let mut attempt = 0;
        let mut delay = self.wait.initial;
        loop {
            match make().await {
                Ok(receipt) => {
                    let value = result(&receipt.value);
                    let outcome = Outcome::Ok { result: value.clone(), request_id: receipt.request_id.clone() };
                    self.journal.record_outcome(id, &outcome)?;
                    return Ok((receipt.value, value));
                }
                Err(CloudError::Throttled(e)) if attempt < self.wait.throttle_retries => {
                    attempt += 1;
                    self.progress.emit(Event::Retrying {
                        step: step.id.clone(),
                        api: call.api.clone(),
                        attempt,
                        why: format!("throttled ({})", e.code.as_deref().unwrap_or("Throttling")),
                    });
                    tokio::time::sleep(custody_cloud::retry::jitter(delay, u64::from(attempt))).await;
                    delay = self.wait.next(delay);
                }
                Err(error) => {
                    self.journal.record_outcome(
                        id,
                        &Outcome::Failed {
                            code: error.code().map(str::to_string),
                            message: error.to_string(),
                            request_id: error.request_id().map(str::to_string),
                        },
                    )?;
                    return Err(self.call_error(step, &call.api, error));
                }
            }
        }
    }

    /// An AWS error of `api` in `step`, explained: for an access denial, the authorization requests
    /// of the call and what the preflight said of each.
    pub fn call_error(&self, step: &Step, api: &str, error: CloudError) -> AcquireError {
        let explained = if error.is_access_denied() { self.explain_denial(step, api) } else { None };
        AcquireError::Call { step: step.id.clone(), error: Box::new(error), explained }
    }

    /// What the preflight said of the requests of `api` in `step`, when it found one not allowed:
    /// the refusal was predicted (for a refusal AWS does not report as such, a copy in `error`).
    pub fn predicted_refusal(&self, step: &Step, api: &str) -> Option<String> {
        let check = self.preflight.as_ref()?.steps.iter().find(|s| s.id == step.id)?;
        if check.requests.iter().filter(|r| r.call == api).all(|r| r.outcome == CheckOutcome::Allowed) {
            return None;
        }
        self.explain_denial(step, api)
    }

    fn explain_denial(&self, step: &Step, api: &str) -> Option<String> {
        let check = self.preflight.as_ref()?.steps.iter().find(|s| s.id == step.id)?;
        let requests: Vec<_> = check.requests.iter().filter(|r| r.call == api).collect();
        if requests.is_empty() {
            return None;
        }
        let mut out = format!("AWS evaluates {} authorization request(s) for this call:", requests.len());
        for r in &requests {
            let verdict = match r.outcome {
                CheckOutcome::Allowed => "the preflight found it allowed".to_string(),
                CheckOutcome::Denied => match r.fixes.first() {
                    Some(fix) => format!("the preflight found it DENIED; fix: {}", fix.summary),
                    None => "the preflight found it DENIED".to_string(),
                },
                CheckOutcome::Unknown => format!("the preflight could not decide it ({})", r.unknown.join("; ")),
            };
            out.push_str(&format!("\n  - {} on {} as {}: {verdict}", r.action, r.resource, r.principal));
        }
        if requests.iter().all(|r| r.outcome == CheckOutcome::Allowed) {
            out.push_str(
                "\nThe inventory allowed every one, so what refuses it is something the inventory did not show: a \
                 policy changed since it was collected, an SCP or RCP custody could not read, or a new alias not yet \
                 in effect (KMS takes up to five minutes). Collect again (`custody collect`) and run `custody check`.",
            );
        }
        Some(out)
    }

    /// Records a resource the run created (temporary: cleanup must remove it).
    pub fn record(
        &self,
        kind: ResourceKind,
        id: &str,
        account: &str,
        region: &str,
        temporary: bool,
        detail: Value,
    ) -> Result<(), AcquireError> {
        self.journal.record_resource(&NewResource {
            case_id: self.case().to_string(),
            instance_id: self.instance().to_string(),
            kind,
            id: id.to_string(),
            account: account.to_string(),
            region: region.to_string(),
            temporary,
            detail,
        })?;
        Ok(())
    }

    /// Records a resource an earlier run created (its step's outcome is journaled), unless the journal
    /// knows it already: the process may have died between the outcome and the record, and recording
    /// again one that was removed since would open it again.
    pub fn record_again(
        &self,
        kind: ResourceKind,
        id: &str,
        account: &str,
        region: &str,
        temporary: bool,
        detail: Value,
    ) -> Result<(), AcquireError> {
        let known = self
            .journal
            .resources(self.case())?
            .iter()
            .any(|r| r.kind == kind && r.id == id && r.account == account && r.region == region);
        if known {
            return Ok(());
        }
        self.record(kind, id, account, region, temporary, detail)
    }

    /// Marks removed a resource an earlier run removed (its step's outcome is journaled), when the
    /// journal still has it open: the process may have died between the outcome and the record.
    pub fn removed_again(
        &self,
        kind: ResourceKind,
        id: &str,
        account: &str,
        region: &str,
        how: &str,
    ) -> Result<(), AcquireError> {
        let open = self.journal.resources(self.case())?.iter().any(|r| {
            r.kind == kind && r.id == id && r.account == account && r.region == region && r.removed_at.is_none()
        });
        if open {
            self.removed(kind, id, account, region, how)?;
        }
        Ok(())
    }

    /// Marks a resource removed, and tells.
    pub fn removed(
        &self,
        kind: ResourceKind,
        id: &str,
        account: &str,
        region: &str,
        how: &str,
    ) -> Result<(), AcquireError> {
        match self.journal.resource_removed(self.case(), kind, id, account, region, how) {
            // Created by a call whose outcome the journal lost (an alias asked for again and found to
            // exist, say): recorded now, so that the journal has it and its removal.
            Err(JournalError::UnknownResource { .. }) => {
                self.record(kind, id, account, region, true, Value::Null)?;
                self.journal.resource_removed(self.case(), kind, id, account, region, how)?;
            }
            other => other?,
        }
        self.progress.emit(Event::Removed { what: format!("{} {id} ({account}, {region}): {how}", kind.as_str()) });
        Ok(())
    }
}
