//! One volume: its transfer steps, then its cleanup steps, each action run (or, on resume, taken
//! from the journal or looked up in AWS) as the plan says.

use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::report::{Event, EvidenceItem, VolumeReport};
use crate::resolve::outcome;
use crate::wait;
use custody_cloud::types::{CopySnapshotRequest, SnapshotInfo, SnapshotQuery};
use custody_journal::{Evidence, ResourceKind};
use custody_plan::plan::{
    Action, Phase, PlannedSnapshot, Step, VolumePlan, EVIDENCE_TAG_VALUE, TAG_EVIDENCE, TAG_VOLUME,
};
use serde_json::json;
use std::collections::BTreeMap;

/// Runs `volume`'s steps. Never fails as a whole: what went wrong is in the report. A journal
/// failure is returned, since nothing more may be done then.
pub(crate) async fn run_volume(
    run: &Run,
    volume: &VolumePlan,
    device: Option<String>,
) -> Result<VolumeReport, AcquireError> {
    let steps: Vec<&Step> =
        run.plan.steps.iter().filter(|s| s.volume_id.as_deref() == Some(volume.volume_id.as_str())).collect();
    let (cleanup, transfer): (Vec<&Step>, Vec<&Step>) = steps.into_iter().partition(|s| s.phase == Phase::Cleanup);
    let mut report = VolumeReport {
        volume_id: volume.volume_id.clone(),
        path: volume.path.to_string(),
        evidence: None,
        error: None,
        removed: Vec::new(),
        left: Vec::new(),
    };
    let secured_before = run.journal.evidence(run.case())?.into_iter().any(|e| e.volume_id == volume.volume_id);
    let cleaned_before = cleanup_started(run, &cleanup)?;
    let mut failure = None;
    if !secured_before && cleaned_before {
        // An earlier run stopped (or failed) on this volume and ran its cleanup, keeping the source
        // snapshot. An evidence copy it started completes on its own: wait for it, then go on as if
        // the transfer had just ended.
        if let Err(e) = await_started_copy(run, volume).await {
            if e.is_journal() {
                return Err(e);
            }
            report.error = Some(e.to_string());
            return Ok(report);
        }
    } else if !secured_before {
        for step in &transfer {
            if run.stopping() {
                failure = Some(AcquireError::Interrupted { step: step.id.clone() });
                break;
            }
            if let Err(e) = run_step(run, volume, step).await {
                if e.is_journal() {
                    return Err(e);
                }
                failure = Some(e);
                break;
            }
        }
    }
    let evidence_snapshot = volume.snapshots.iter().find(|s| s.evidence);
    if failure.is_none() {
        match evidence_snapshot.and_then(|s| run.created(&s.id).map(|id| (s, id))) {
            Some((planned, id)) => report.evidence = Some(record_evidence(run, volume, planned, &id, device)?),
            None => {
                failure = Some(AcquireError::Plan {
                    step: format!("evidence:{}", volume.volume_id),
                    why: "the plan names no evidence snapshot for the volume".to_string(),
                })
            }
        }
    }
    let secured = report.evidence.is_some();
    let source = volume.source().filter(|s| !s.evidence);
    for step in &cleanup {
        if let (false, Action::DeleteSnapshot { snapshot }) = (secured, &step.action) {
            if source.is_some_and(|s| &s.id == snapshot) {
                if let Some(id) = run.created(snapshot) {
                    report.left.push(format!(
                        "source snapshot {id} in account {} kept: the evidence copy did not complete, so it is the only \
                         copy of the evidence (`custody acquire --resume {case}` tries the copy again; only `custody \
                         cleanup --case {case} --discard-evidence {}` removes it)",
                        run.plan.source_account,
                        volume.volume_id,
                        case = run.case()
                    ));
                }
                continue;
            }
        }
        match run_step(run, volume, step).await {
            Ok(()) => report.removed.push(step.title.clone()),
            Err(e) if e.is_journal() => return Err(e),
            Err(e) => report.left.push(format!("{}: {e}", step.title)),
        }
    }
    report.left.extend(run.take_left(&volume.volume_id));
    match (&failure, evidence_snapshot) {
        (Some(AcquireError::Refused { .. }), Some(planned)) => keep_failed_copy(run, volume, planned, &mut report),
        // A copy made and not waited for (the run was stopped): it completes all the same. It carries the
        // evidence tag and is never deleted; a resume or a cleanup records it as evidence once complete.
        (Some(_), Some(planned)) if !volume.is_source(&planned.id) => {
            if let Some(id) = run.created(&planned.id) {
                report.left.push(format!(
                    "the evidence copy {id} in account {} ({}) was started and not waited for: it completes on its \
                     own, and `custody acquire --resume {case}` (or `custody cleanup --case {case}`) records it as \
                     evidence once it has",
                    planned.account,
                    planned.region,
                    case = run.case()
                ));
            }
        }
        _ => {}
    }
    report.error = failure.map(|e| explain_failure(run, volume, &e));
    Ok(report)
}

/// A volume's failure in words. A copy that ended in `error` says little (EC2's "Given key ID is not
/// accessible", EBS User Guide, <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>):
/// it gets what the preflight said of the copy's requests when it predicted a refusal, and the keys
/// the copy uses, with how to bring back a key that was disabled or scheduled for deletion.
fn explain_failure(run: &Run, volume: &VolumePlan, e: &AcquireError) -> String {
    let mut out = e.to_string();
    let AcquireError::Refused { step, .. } = e else { return out };
    let Some(step) = run.plan.steps.iter().find(|s| &s.id == step) else { return out };
    let Action::CopySnapshot { from, to, .. } = &step.action else { return out };
    if let Some(predicted) = run.predicted_refusal(step, "ec2:CopySnapshot") {
        out.push_str(&format!("\nThe preflight predicted this. {predicted}"));
    }
    let mut keys: Vec<String> = Vec::new();
    for s in volume.snapshots.iter().filter(|s| &s.id == from || &s.id == to) {
        if let Some(key) = s.key_arn.as_deref().and_then(|k| run.created(k)) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    for key in keys {
        out.push_str(&format!(
            "\nIf {key} is disabled or pending deletion, EBS cannot use it: `aws kms cancel-key-deletion --key-id \
             {key}` and `aws kms enable-key --key-id {key}`, then acquire again"
        ));
    }
    out
}

/// Whether a cleanup step of the volume was journaled (an earlier run reached cleanup).
fn cleanup_started(run: &Run, cleanup: &[&Step]) -> Result<bool, AcquireError> {
    for step in cleanup {
        for call in &step.calls {
            if run.journal.last_entry(run.case(), run.instance(), &step.id, &call.api)?.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn record_evidence(
    run: &Run,
    volume: &VolumePlan,
    planned: &PlannedSnapshot,
    id: &str,
    device: Option<String>,
) -> Result<EvidenceItem, AcquireError> {
    let planned_key = planned.key_arn.as_deref().and_then(|k| run.created(k));
    let key_arn = run.evidence_key(id, planned_key, &volume.volume_id);
    let tags = evidence_tags(run, volume, planned);
    run.journal.record_evidence(&Evidence {
        case_id: run.case().to_string(),
        instance_id: run.instance().to_string(),
        volume_id: volume.volume_id.clone(),
        snapshot_id: id.to_string(),
        account: planned.account.clone(),
        region: planned.region.clone(),
        key_arn: key_arn.clone(),
        path: volume.path.to_string(),
        tags: tags.clone(),
        recorded_at: String::new(),
    })?;
    Ok(EvidenceItem {
        instance_id: run.instance().to_string(),
        volume_id: volume.volume_id.clone(),
        device,
        snapshot_id: id.to_string(),
        account: planned.account.clone(),
        region: planned.region.clone(),
        key_arn,
        path: volume.path.to_string(),
        tags,
    })
}

/// The tags the plan puts on the evidence snapshot.
fn evidence_tags(run: &Run, volume: &VolumePlan, planned: &PlannedSnapshot) -> BTreeMap<String, String> {
    run.plan
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::CopySnapshot { to, tags, .. } if to == &planned.id => Some(tags.clone()),
            Action::CreateSnapshots { tags, .. } if volume.is_source(&planned.id) => Some(tags.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// An evidence copy that ended in `error` holds no data, but it carries the evidence tag from its
/// creation, which the policies custody writes protect from deletion (so no moment exists in which a
/// completed copy is unprotected): it is kept, and the report says how to remove it.
fn keep_failed_copy(run: &Run, volume: &VolumePlan, planned: &PlannedSnapshot, report: &mut VolumeReport) {
    let Some(id) = run.created(&planned.id).filter(|_| !volume.is_source(&planned.id)) else { return };
    report.left.push(format!(
        "the failed copy {id} in account {} ({}) is kept: it holds no data, but it carries the evidence tag, which \
         custody's policies protect; `custody cleanup --case {} --discard-evidence {id}` removes it (as a role allowed \
         to discard evidence)",
        planned.account,
        planned.region,
        run.case()
    ));
}

/// Resuming a volume whose earlier run ran its cleanup without securing the evidence: waits for the
/// evidence copy that run started. No copy was started: the volume cannot be resumed in this case.
async fn await_started_copy(run: &Run, volume: &VolumePlan) -> Result<(), AcquireError> {
    let refuse = |why: String| AcquireError::Refused { step: format!("evidence:{}", volume.volume_id), why };
    let source = volume.source().and_then(|s| run.created(&s.id));
    let kept = match &source {
        Some(id) => format!("its source snapshot {id} is kept"),
        None => "it has no snapshot".to_string(),
    };
    let planned = volume.evidence_copy();
    let copy = planned.and_then(|p| {
        let step =
            run.plan.steps.iter().find(|s| matches!(&s.action, Action::CopySnapshot { to, .. } if to == &p.id))?;
        Some((p, step, run.created(&p.id)?))
    });
    let Some((planned, step, id)) = copy else {
        return Err(refuse(format!(
            "an earlier run of this case stopped on this volume before its evidence copy started, and cleaned up after \
             it; {kept}: acquire the volume again under a new case id"
        )));
    };
    let call = run.call_of(step, "ec2:CopySnapshot")?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&planned.region);
    reused(run, step, &format!("waiting for the evidence copy {id} an earlier run started"));
    let completed =
        wait::snapshots_completed(ec2.as_ref(), &[id], &step.id, &run.wait, &run.progress, &run.stop).await?;
    run.saw_keys(&completed);
    Ok(())
}

/// The snapshot `id` of the volume's plan.
fn planned<'v>(step: &Step, volume: &'v VolumePlan, id: &str) -> Result<&'v PlannedSnapshot, AcquireError> {
    volume.snapshots.iter().find(|s| s.id == id).ok_or_else(|| AcquireError::Plan {
        step: step.id.clone(),
        why: format!("snapshot `{id}` is not among the volume's planned snapshots"),
    })
}

/// Runs one step of a volume.
pub(crate) async fn run_step(run: &Run, volume: &VolumePlan, step: &Step) -> Result<(), AcquireError> {
    run.progress.emit(Event::Step {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        title: step.title.clone(),
    });
    match &step.action {
        Action::CopySnapshot { from, to, tags, description } => {
            copy(run, volume, step, from, to, tags, description).await
        }
        Action::Share { snapshot, account, add } => share(run, volume, step, snapshot, account, *add).await,
        Action::DeleteSnapshot { snapshot } => delete_snapshot(run, volume, step, snapshot).await,
        Action::TagEvidence { snapshot } => tag_evidence(run, volume, step, snapshot).await,
        Action::CreateVolume { snapshot, volume: new_volume, availability_zone, tags } => {
            crate::execute::volumes::create_volume(run, step, snapshot, new_volume, availability_zone, tags).await
        }
        Action::CreateKey { key, alias, description, tags } => {
            crate::execute::keys::create_key(run, step, key, alias, description, tags).await
        }
        Action::DeleteKey { key, alias, pending_window_days } => {
            crate::execute::keys::delete_key(run, step, key, alias, *pending_window_days).await
        }
        Action::CreateGrant { .. } => crate::execute::keys::create_grant(run, step).await,
        Action::RetireGrant { key_arn, grant } => crate::execute::keys::retire_grant(run, step, key_arn, grant).await,
        Action::ReadBlocks { snapshot } => {
            run.progress.emit(Event::Skipped {
                instance: run.instance().to_string(),
                step: step.id.clone(),
                why: format!(
                    "the snapshot {} is the evidence; reading its blocks with the EBS direct APIs is `custody image` \
                     (not part of acquire)",
                    run.created(snapshot).unwrap_or_else(|| snapshot.clone())
                ),
            });
            Ok(())
        }
        other => Err(AcquireError::Plan {
            step: step.id.clone(),
            why: format!("a volume step cannot be {:?}", std::mem::discriminant(other)),
        }),
    }
}

async fn copy(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    from: &str,
    to: &str,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:CopySnapshot")?;
    let cloud = run.signer(step, call)?;
    let source = planned(step, volume, from)?;
    let target = planned(step, volume, to)?;
    let ec2 = cloud.ec2(&target.region);
    let mut existing = match run.prior(step, &call.api)? {
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
            let found = crate::wait::look_for_snapshots(ec2.as_ref(), &query, keep, 1, &run.wait, &run.stop)
                .await
                .map_err(|e| run.call_error(step, "ec2:DescribeSnapshots", e))?
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
    };
    // A copy that rests on a grant or key an earlier step made may fail while KMS propagates it: it is
    // probed for first, and a copy that fails for it is made again while the window lasts.
    let waits = run.plan.propagation(step);
    let started = tokio::time::Instant::now();
    let mut delay = crate::propagation::retry_delay(run);
    let mut attempt = 0u32;
    loop {
        let id = match existing.take() {
            Some(id) => id,
            None => {
                if attempt == 0 {
                    crate::propagation::probe(run, step, call, &waits).await?;
                }
                new_copy(run, step, call, ec2.as_ref(), (source, from), (target, to), tags, description).await?
            }
        };
        match wait::snapshots_completed(
            ec2.as_ref(),
            std::slice::from_ref(&id),
            &step.id,
            &run.wait,
            &run.progress,
            &run.stop,
        )
        .await
        {
            Ok(completed) => {
                run.saw_keys(&completed);
                return Ok(());
            }
            Err(e)
                if crate::propagation::key_not_accessible(&e)
                    && crate::propagation::retry_copy(run, &waits, started.elapsed(), attempt + 1) =>
            {
                attempt += 1;
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
                    &volume.volume_id,
                    format!(
                        "the copy {id} in account {} ({}) failed while KMS propagated what it rests on and was made \
                         again; it holds no data: {left}",
                        target.account, target.region
                    ),
                );
                run.progress.emit(Event::Retrying {
                    step: step.id.clone(),
                    api: call.api.clone(),
                    attempt,
                    why: format!(
                        "{} ({left}); copying again",
                        crate::propagation::retry_reason(&waits, &id, started.elapsed())
                    ),
                });
                tokio::time::sleep(delay).await;
                delay += delay / 2;
            }
            Err(e) => return Err(e),
        }
    }
}

/// CopySnapshot of `from` to `to`, journaled and recorded: the new snapshot's id.
#[allow(clippy::too_many_arguments)] // one call's parts, each named as the plan names it
async fn new_copy(
    run: &Run,
    step: &Step,
    call: &custody_plan::plan::Call,
    ec2: &dyn custody_cloud::Ec2,
    (source, from): (&PlannedSnapshot, &str),
    (target, to): (&PlannedSnapshot, &str),
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<String, AcquireError> {
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
        .journaled(step, call, params, || ec2.copy_snapshot(&request), |id: &String| outcome(&[(to, id)], json!({})))
        .await?;
    run.resolved.insert(to, &id);
    run.record(ResourceKind::Snapshot, &id, &target.account, &target.region, !target.evidence, json!({}))?;
    Ok(id)
}

async fn share(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    snapshot: &str,
    account: &str,
    add: bool,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:ModifySnapshotAttribute")?;
    let snap = planned(step, volume, snapshot)?;
    let Some(id) = run.created(snapshot) else {
        return skipped(run, step, "the snapshot was never created");
    };
    let share_id = format!("{id}:{account}");
    if let Prior::Done(_) = run.prior(step, &call.api)? {
        reused(run, step, "done by an earlier run");
        // The process may have died before it recorded the share, or its removal.
        return if add {
            let detail = json!({"snapshot_id": id, "account": account});
            run.record_again(ResourceKind::Share, &share_id, &snap.account, &snap.region, true, detail)
        } else {
            run.removed_again(ResourceKind::Share, &share_id, &snap.account, &snap.region, "share removed")
        };
    }
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&snap.region);
    let params = json!({"snapshot_id": id, "attribute": "createVolumePermission",
                        "operation": if add { "add" } else { "remove" }, "user_ids": [account]});
    // Shares are idempotent: adding an account twice, or removing one not there, changes nothing.
    let done = run.journaled(step, call, params, || ec2.modify_snapshot_share(&id, account, add), |_| json!({})).await;
    match done {
        Ok(_) if add => run.record(
            ResourceKind::Share,
            &share_id,
            &snap.account,
            &snap.region,
            true,
            json!({"snapshot_id": id, "account": account}),
        ),
        Ok(_) => run.removed(ResourceKind::Share, &share_id, &snap.account, &snap.region, "share removed"),
        Err(AcquireError::Call { error, .. }) if !add && error.is_not_found() => {
            run.removed(ResourceKind::Share, &share_id, &snap.account, &snap.region, "snapshot already gone")
        }
        Err(e) => Err(e),
    }
}

/// Marks a source snapshot that is itself the evidence with the evidence tag. CreateTags is idempotent
/// (the same tag again changes nothing), so a call whose answer a crash lost is simply made again.
async fn tag_evidence(run: &Run, volume: &VolumePlan, step: &Step, snapshot: &str) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:CreateTags")?;
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

async fn delete_snapshot(run: &Run, volume: &VolumePlan, step: &Step, snapshot: &str) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:DeleteSnapshot")?;
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

pub(crate) fn reused(run: &Run, step: &Step, how: &str) {
    run.progress.emit(Event::Reused {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        how: how.to_string(),
    });
}

pub(crate) fn skipped(run: &Run, step: &Step, why: &str) -> Result<(), AcquireError> {
    run.progress.emit(Event::Skipped {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        why: why.to_string(),
    });
    Ok(())
}

/// The volume tag (the copies carry it, the crash-consistent source snapshots do not).
pub(crate) fn is_volume_copy(tags: &BTreeMap<String, String>) -> bool {
    tags.contains_key(TAG_VOLUME)
}
