//! CopySnapshot: the per-volume copies (to the destination, under another key, the evidence copy),
//! waited for until complete, and made again while KMS propagates a grant or key they rest on.

use super::common::{planned, reused};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::propagation;
use crate::report::Event;
use crate::resolve::outcome;
use crate::wait;
use custody_cloud::types::{CopySnapshotRequest, SnapshotInfo, SnapshotQuery};
use custody_cloud::Ec2;
use custody_journal::ResourceKind;
use custody_plan::plan::{Api, Call, PlannedSnapshot, Propagation, Step, VolumePlan};
use serde_json::json;
use std::collections::BTreeMap;

/// CopySnapshot of the planned snapshot `from` to `to`, then the wait until it completes.
pub(crate) async fn copy(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    from: &str,
    to: &str,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::Ec2CopySnapshot)?;
    let cloud = run.signer(step, call)?;
    let source = planned(step, volume, from)?;
    let target = planned(step, volume, to)?;
    let ec2 = cloud.ec2(&target.region);
    let existing = earlier_copy(run, step, call, ec2.as_ref(), (target, to), tags, description).await?;
    let copy = CopyStep {
        run,
        volume,
        step,
        call,
        ec2: ec2.as_ref(),
        source: (source, from),
        target: (target, to),
        tags,
        description,
    };
    copy.until_complete(existing).await
}

/// The copy an earlier run made: from the journal, or found by its tags when the earlier run's
/// CopySnapshot was never answered. `None`: there is none.
async fn earlier_copy(
    run: &Run,
    step: &Step,
    call: &Call,
    ec2: &dyn Ec2,
    (target, to): (&PlannedSnapshot, &str),
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<Option<String>, AcquireError> {
    Ok(match run.prior(step, &call.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "copied by an earlier run");
            let id = run.created(to);
            if let Some(id) = &id {
                // The process may have died before it recorded it.
                run.record_again(
                    ResourceKind::Snapshot,
                    id,
                    &target.account,
                    &target.region,
                    !target.evidence,
                    json!({}),
                )?;
            }
            id
        }
        Prior::Unsure(entry) => {
            let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags: tags.clone() };
            let keep = |s: &SnapshotInfo| s.description.as_deref() == Some(description) && s.state != "error";
            let found = wait::look_for_snapshots(ec2, &query, keep, 1, &run.wait, &run.stop)
                .await
                .map_err(|e| run.call_error(step, Api::Ec2DescribeSnapshots.as_str(), e))?
                .into_iter()
                .next();
            if let Some(s) = &found {
                run.settle(entry, outcome(&[(to, &s.id)], json!({})))?;
                run.resolved.insert(to, &s.id);
                run.record(
                    ResourceKind::Snapshot,
                    &s.id,
                    &target.account,
                    &target.region,
                    !target.evidence,
                    json!({}),
                )?;
                reused(run, step, &format!("found {} by its tags", s.id));
            }
            found.map(|s| s.id)
        }
        Prior::None => None,
    })
}

/// One copy step, its parts named as the plan names them.
struct CopyStep<'a> {
    run: &'a Run,
    volume: &'a VolumePlan,
    step: &'a Step,
    call: &'a Call,
    ec2: &'a dyn Ec2,
    source: (&'a PlannedSnapshot, &'a str),
    target: (&'a PlannedSnapshot, &'a str),
    tags: &'a BTreeMap<String, String>,
    description: &'a str,
}

impl CopyStep<'_> {
    /// Waits for the copy (`existing`, or a new one) to complete. A copy that rests on a grant or key
    /// an earlier step made may fail while KMS propagates it: it is probed for first, and a copy that
    /// fails for it is made again while the window lasts.
    async fn until_complete(&self, mut existing: Option<String>) -> Result<(), AcquireError> {
        let (run, step, call) = (self.run, self.step, self.call);
        let waits = run.plan.propagation(step);
        let started = tokio::time::Instant::now();
        let mut delay = propagation::retry_delay(run);
        let mut attempt = 0u32;
        loop {
            let id = match existing.take() {
                Some(id) => id,
                None => {
                    if attempt == 0 {
                        propagation::probe(run, step, call, &waits).await?;
                    }
                    self.new_copy().await?
                }
            };
            let waited = wait::snapshots_completed(
                self.ec2,
                std::slice::from_ref(&id),
                &step.id,
                step.volume_id.as_deref(),
                &run.wait,
                &run.progress,
                &run.stop,
            )
            .await;
            match waited {
                Ok(completed) => {
                    run.saw_keys(&completed);
                    return Ok(());
                }
                Err(e)
                    if propagation::key_not_accessible(&e)
                        && propagation::retry_copy(run, &waits, started.elapsed(), attempt + 1) =>
                {
                    attempt += 1;
                    self.failed_while_propagating(&waits, &id, started.elapsed(), attempt);
                    tokio::time::sleep(delay).await;
                    delay += delay / 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reports the copy `id` that failed while KMS propagated what it rests on (it is made again).
    fn failed_while_propagating(&self, waits: &[Propagation], id: &str, elapsed: std::time::Duration, attempt: u32) {
        let (run, target) = (self.run, self.target.0);
        let left = if target.evidence {
            format!(
                "it carries the evidence tag and is kept; `custody cleanup --case {} --discard-evidence {id}` \
                 removes it",
                run.case()
            )
        } else {
            format!("`custody cleanup --case {}` removes it", run.case())
        };
        run.leave(
            &self.volume.volume_id,
            format!(
                "the copy {id} in account {} ({}) failed while KMS propagated what it rests on and was made \
                 again; it holds no data: {left}",
                target.account, target.region
            ),
        );
        run.progress.emit(Event::Retrying {
            step: self.step.id.clone(),
            api: self.call.api.clone(),
            attempt,
            why: run.resolved.substitute(
                &format!("{} ({left}); copying again", propagation::retry_reason(waits, id, elapsed)),
                &run.placeholders,
            ),
        });
    }

    /// CopySnapshot of `from` to `to`, journaled and recorded: the new snapshot's id.
    async fn new_copy(&self) -> Result<String, AcquireError> {
        let (run, step, call, ec2) = (self.run, self.step, self.call, self.ec2);
        let ((source, from), (target, to)) = (self.source, self.target);
        let (tags, description) = (self.tags, self.description);
        let source_id = run.real(step, from)?;
        let kms_key_id = match &target.key_arn {
            Some(k) => Some(run.real(step, k)?),
            None => None,
        };
        let request = CopySnapshotRequest {
            source_snapshot_id: source_id.clone(),
            source_region: source.region.clone(),
            encrypted: kms_key_id.is_some(),
            kms_key_id: kms_key_id.clone(),
            description: description.to_string(),
            tags: tags.clone(),
        };
        let params = json!({"source_snapshot_id": source_id, "source_region": source.region,
                                    "kms_key_id": kms_key_id, "tags": tags, "description": description});
        let (id, _) = run
            .journaled(
                step,
                call,
                params,
                || ec2.copy_snapshot(&request),
                |id: &String| outcome(&[(to, id)], json!({})),
            )
            .await?;
        run.resolved.insert(to, &id);
        run.record(ResourceKind::Snapshot, &id, &target.account, &target.region, !target.evidence, json!({}))?;
        Ok(id)
    }
}
