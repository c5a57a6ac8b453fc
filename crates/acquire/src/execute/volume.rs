//! One volume: its transfer steps, then its cleanup steps, each action run (or, on resume, taken
//! from the journal or looked up in AWS) as the plan says.

use crate::actions::{reused, run_step, Scope};
use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::{EvidenceItem, VolumeReport};
use crate::wait;
use custody_journal::Evidence;
use custody_plan::plan::{Action, Api, Phase, PlannedSnapshot, Step, VolumePlan};
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
    // The evidence recorded for the volume before this run: by an earlier run, or by a cleanup that
    // found the evidence copy by its tags.
    let recorded: Vec<Evidence> =
        run.journal.evidence(run.case())?.into_iter().filter(|e| e.volume_id == volume.volume_id).collect();
    let mut failure = match run_transfer(run, volume, &transfer, &cleanup, !recorded.is_empty()).await? {
        Transfer::Ended(failure) => failure,
        Transfer::NotResumable(e) => {
            report.error = Some(e.to_string());
            return Ok(report);
        }
    };
    let evidence_snapshot = volume.snapshots.iter().find(|s| s.evidence);
    if failure.is_none() {
        match evidence_snapshot.and_then(|s| run.created(&s.id).map(|id| (s, id))) {
            Some((planned, id)) => report.evidence = Some(record_evidence(run, volume, planned, &id, device)?),
            // A cleanup that found the evidence copy by its tags (the run that made it lost the
            // answer) recorded it: the journal has the evidence, the run's answers do not.
            None => match recorded.into_iter().find(|e| e.instance_id == run.instance()) {
                Some(e) => report.evidence = Some(evidence_item(e, device)),
                None => {
                    failure = Some(AcquireError::Plan {
                        step: format!("evidence:{}", volume.volume_id),
                        why: "the plan names no evidence snapshot for the volume".to_string(),
                    })
                }
            },
        }
    }
    run_cleanup(run, volume, &cleanup, &mut report).await?;
    report.left.extend(run.take_left(&volume.volume_id));
    if let (Some(failure), Some(planned)) = (&failure, evidence_snapshot) {
        left_evidence(run, volume, planned, failure, &mut report);
    }
    report.error = failure.map(|e| explain_failure(run, volume, &e));
    Ok(report)
}

/// How a volume's transfer steps ended.
enum Transfer {
    /// Run (or secured by an earlier run), with the failure that stopped them, if one did.
    Ended(Option<AcquireError>),
    /// An earlier run cleaned up after the volume without securing its evidence, and its evidence
    /// copy cannot be waited for: nothing more is done for the volume, its cleanup included.
    NotResumable(AcquireError),
}

/// The volume's transfer steps, until one fails; none when the evidence was secured before this run
/// (`secured_before`). A journal failure is returned as the error.
async fn run_transfer(
    run: &Run,
    volume: &VolumePlan,
    transfer: &[&Step],
    cleanup: &[&Step],
    secured_before: bool,
) -> Result<Transfer, AcquireError> {
    if secured_before {
        return Ok(Transfer::Ended(None));
    }
    if cleanup_started(run, cleanup)? {
        // An earlier run stopped (or failed) on this volume and ran its cleanup, keeping the source
        // snapshot. An evidence copy it started completes on its own: wait for it, then go on as if
        // the transfer had just ended.
        return match await_started_copy(run, volume).await {
            Ok(()) => Ok(Transfer::Ended(None)),
            Err(e) if e.is_journal() => Err(e),
            Err(e) => Ok(Transfer::NotResumable(e)),
        };
    }
    for step in transfer {
        if run.stopping() {
            return Ok(Transfer::Ended(Some(AcquireError::Interrupted { step: step.id.clone() })));
        }
        match run_step(run, Scope::Volume(volume), step).await {
            Ok(_) => {}
            Err(e) if e.is_journal() => return Err(e),
            Err(e) => return Ok(Transfer::Ended(Some(e))),
        }
    }
    Ok(Transfer::Ended(None))
}

/// The volume's cleanup steps, each whether the transfer succeeded or not: what each removed or left
/// goes into the report. The source snapshot of a volume whose evidence is not secured is kept (it is
/// then the only copy of the evidence).
async fn run_cleanup(
    run: &Run,
    volume: &VolumePlan,
    cleanup: &[&Step],
    report: &mut VolumeReport,
) -> Result<(), AcquireError> {
    let secured = report.evidence.is_some();
    let source = volume.source().filter(|s| !s.evidence);
    for step in cleanup {
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
        match run_step(run, Scope::Volume(volume), step).await {
            Ok(_) => report.removed.push(run.title(step)),
            Err(e) if e.is_journal() => return Err(e),
            Err(e) => report.left.push(format!("{}: {e}", run.title(step))),
        }
    }
    Ok(())
}

/// What a volume whose transfer failed leaves of its evidence snapshot `planned`, in the report.
fn left_evidence(
    run: &Run,
    volume: &VolumePlan,
    planned: &PlannedSnapshot,
    failure: &AcquireError,
    report: &mut VolumeReport,
) {
    if let AcquireError::Refused { .. } = failure {
        keep_failed_copy(run, volume, planned, report);
        return;
    }
    // A copy made and not waited for (the run was stopped): it completes all the same. It carries the
    // evidence tag and is never deleted; a resume or a cleanup records it as evidence once complete.
    if volume.is_source(&planned.id) {
        return;
    }
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

/// A volume's failure in words. A copy that ended in `error` says little (EC2's "Given key ID is not
/// accessible", EBS User Guide, <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>):
/// it gets what the preflight said of the copy's requests when it predicted a refusal, and the keys
/// the copy uses, with how to bring back a key that was disabled or scheduled for deletion.
fn explain_failure(run: &Run, volume: &VolumePlan, e: &AcquireError) -> String {
    let mut out = e.to_string();
    let AcquireError::Refused { step, .. } = e else { return out };
    let Some(step) = run.plan.steps.iter().find(|s| &s.id == step) else { return out };
    let Action::CopySnapshot { from, to, .. } = &step.action else { return out };
    if let Some(predicted) = run.predicted_refusal(step, Api::Ec2CopySnapshot.as_str()) {
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

/// The report's item for evidence the journal records.
pub(super) fn evidence_item(e: Evidence, device: Option<String>) -> EvidenceItem {
    EvidenceItem {
        instance_id: e.instance_id,
        volume_id: e.volume_id,
        device,
        snapshot_id: e.snapshot_id,
        account: e.account,
        region: e.region,
        key_arn: e.key_arn,
        path: e.path,
        tags: e.tags,
    }
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
    let call = run.call_of(step, Api::Ec2CopySnapshot)?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&planned.region);
    reused(run, step, &format!("waiting for the evidence copy {id} an earlier run started"));
    let completed = wait::snapshots_completed(
        ec2.as_ref(),
        &[id],
        &step.id,
        Some(&volume.volume_id),
        &run.wait,
        &run.progress,
        &run.stop,
    )
    .await?;
    run.saw_keys(&completed);
    Ok(())
}
