//! The snapshot actions: the crash-consistent snapshots of the instance (CreateSnapshots), the
//! evidence tag on a source snapshot that is itself the evidence, and the deletion of temporary ones.

use super::common::{is_volume_copy, planned, reused, skipped};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::resolve::outcome;
use crate::wait;
use custody_cloud::types::{SnapshotInfo, SnapshotQuery};
use custody_cloud::Ec2;
use custody_journal::ResourceKind;
use custody_plan::plan::{Api, Call, PlannedSnapshot, Step, VolumePlan, EVIDENCE_TAG_VALUE, TAG_EVIDENCE};
use serde_json::json;
use std::collections::BTreeMap;

/// CreateSnapshots of the instance (one crash-consistent snapshot per volume, taken at the same
/// moment), each recorded, then the wait until they complete.
pub(crate) async fn create_snapshots(
    run: &Run,
    step: &Step,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::Ec2CreateSnapshots)?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&call.region);
    let mut taken = earlier_snapshots(run, step, call, ec2.as_ref(), tags, description).await?;
    let done = run.plan.volumes.iter().all(|v| v.source().is_some_and(|s| run.created(&s.id).is_some()));
    if !done && taken.is_empty() {
        let params = json!({"instance_id": run.instance(), "description": description, "tags": tags});
        let (snaps, _) = run
            .journaled(
                step,
                call,
                params,
                || ec2.create_snapshots(run.instance(), description, tags),
                |snaps: &Vec<SnapshotInfo>| taken_outcome(run, snaps),
            )
            .await?;
        taken = snaps;
    }
    record_taken(run, call, &taken)?;
    await_sources(run, step, ec2.as_ref()).await
}

/// The snapshots an earlier run took that this run has not seen yet: none when the journal has them
/// (their ids are taken from it, and recorded again), those found by their tags when the earlier
/// run's CreateSnapshots was never answered.
async fn earlier_snapshots(
    run: &Run,
    step: &Step,
    call: &Call,
    ec2: &dyn Ec2,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<Vec<SnapshotInfo>, AcquireError> {
    match run.prior(step, &call.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "taken by an earlier run");
            // The process may have died before it recorded them.
            for v in &run.plan.volumes {
                let Some(first) = v.source() else { continue };
                if let Some(id) = run.created(&first.id) {
                    let detail = json!({"volume_id": v.volume_id});
                    run.record_again(
                        ResourceKind::Snapshot,
                        &id,
                        &call.account,
                        &call.region,
                        !first.evidence,
                        detail,
                    )?;
                }
            }
            Ok(Vec::new())
        }
        Prior::Unsure(entry) => {
            let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags: tags.clone() };
            let keep = |s: &SnapshotInfo| {
                !is_volume_copy(&s.tags) && s.description.as_deref() == Some(description) && s.state != "error"
            };
            let found = wait::look_for_snapshots(ec2, &query, keep, run.plan.volumes.len(), &run.wait, &run.stop)
                .await
                .map_err(|e| run.call_error(step, Api::Ec2DescribeSnapshots.as_str(), e))?;
            if !found.is_empty() {
                reused(run, step, &format!("found {} snapshot(s) by their tags", found.len()));
                run.settle(entry, taken_outcome(run, &found))?;
            }
            Ok(found)
        }
        Prior::None => Ok(Vec::new()),
    }
}

/// Records the snapshots taken, each as the planned source snapshot of its volume.
fn record_taken(run: &Run, call: &Call, taken: &[SnapshotInfo]) -> Result<(), AcquireError> {
    for s in taken {
        let Some(planned) = s.volume_id.as_deref().and_then(|v| source_of(run, v)) else {
            // A volume attached after the plan was made: CreateSnapshots took it, the plan does not
            // transfer it. It is the case's evidence all the same, kept in the source account.
            run.record(
                ResourceKind::Snapshot,
                &s.id,
                &call.account,
                &call.region,
                false,
                json!({"volume_id": s.volume_id}),
            )?;
            continue;
        };
        run.resolved.insert(&planned.id, &s.id);
        run.record(
            ResourceKind::Snapshot,
            &s.id,
            &call.account,
            &call.region,
            !planned.evidence,
            json!({"volume_id": s.volume_id}),
        )?;
    }
    Ok(())
}

/// Waits until the source snapshots complete. A volume whose evidence an earlier run secured is not
/// waited for: its cleanup may have deleted the source snapshot since.
async fn await_sources(run: &Run, step: &Step, ec2: &dyn Ec2) -> Result<(), AcquireError> {
    let secured: Vec<String> = run
        .journal
        .evidence(run.case())?
        .into_iter()
        .filter(|e| e.instance_id == run.instance())
        .map(|e| e.volume_id)
        .collect();
    let mut ids = Vec::new();
    for v in run.plan.volumes.iter().filter(|v| !secured.contains(&v.volume_id)) {
        let Some(first) = v.source() else { continue };
        match run.created(&first.id) {
            Some(id) => ids.push(id),
            None => {
                return Err(AcquireError::Refused {
                    step: step.id.clone(),
                    why: format!("CreateSnapshots returned no snapshot of {}", v.volume_id),
                })
            }
        }
    }
    let completed = wait::snapshots_completed(ec2, &ids, &step.id, None, &run.wait, &run.progress, &run.stop).await?;
    run.saw_keys(&completed);
    Ok(())
}

/// The planned source snapshot of `volume_id` (the first of its snapshots).
fn source_of<'p>(run: &'p Run, volume_id: &str) -> Option<&'p PlannedSnapshot> {
    run.plan.volumes.iter().find(|v| v.volume_id == volume_id).and_then(|v| v.source())
}

/// The journaled outcome of CreateSnapshots: the planned source snapshot each snapshot taken resolves.
fn taken_outcome(run: &Run, snaps: &[SnapshotInfo]) -> serde_json::Value {
    let pairs: Vec<(String, String)> = snaps
        .iter()
        .filter_map(|s| Some((source_of(run, s.volume_id.as_deref()?)?.id.clone(), s.id.clone())))
        .collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    outcome(&refs, json!({}))
}

/// Marks a source snapshot that is itself the evidence with the evidence tag. CreateTags is idempotent
/// (the same tag again changes nothing), so a call whose answer a crash lost is simply made again.
pub(crate) async fn tag_evidence(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    snapshot: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::Ec2CreateTags)?;
    let snap = planned(step, volume, snapshot)?;
    let Some(id) = run.created(snapshot) else {
        return skipped(run, step, "the snapshot was never created");
    };
    if let Prior::Done(_) = run.prior(step, &call.api)? {
        reused(run, step, "marked as evidence by an earlier run");
        return Ok(());
    }
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&snap.region);
    let tags: BTreeMap<String, String> = [(TAG_EVIDENCE.to_string(), EVIDENCE_TAG_VALUE.to_string())].into();
    let params = json!({"snapshot_id": id, "tags": tags});
    run.journaled(step, call, params, || ec2.tag_snapshot(&id, &tags), |_| json!({})).await?;
    Ok(())
}

/// DeleteSnapshot of a planned snapshot the run created (cleanup).
pub(crate) async fn delete_snapshot(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    snapshot: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::Ec2DeleteSnapshot)?;
    let snap = planned(step, volume, snapshot)?;
    let Some(id) = run.created(snapshot) else {
        return skipped(run, step, "the snapshot was never created");
    };
    if let Prior::Done(_) = run.prior(step, &call.api)? {
        reused(run, step, "deleted by an earlier run");
        return run.removed_again(ResourceKind::Snapshot, &id, &snap.account, &snap.region, "deleted");
    }
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&snap.region);
    let params = json!({"snapshot_id": id});
    match run.journaled(step, call, params, || ec2.delete_snapshot(&id), |_| json!({})).await {
        Ok(_) => run.removed(ResourceKind::Snapshot, &id, &snap.account, &snap.region, "deleted"),
        Err(AcquireError::Call { error, .. }) if error.is_not_found() => {
            run.removed(ResourceKind::Snapshot, &id, &snap.account, &snap.region, "already gone")
        }
        Err(e) => Err(e),
    }
}
