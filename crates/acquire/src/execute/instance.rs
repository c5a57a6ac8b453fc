//! One instance: the steps before its volumes (assume the roles, look at the instance, take the
//! crash-consistent snapshots), then its volumes in parallel, bounded by the executor's pool.

use super::volume::run_volume;
use crate::actions::{run_step, Ran, Scope};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::report::{Event, InstanceReport, StepOutline};
use custody_journal::{Outcome, Status};
use custody_plan::plan::{Action, Api, Step};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One instance: the steps before the volumes, then the volumes in parallel.
pub(super) async fn run_instance(run: Arc<Run>, pool: Arc<Semaphore>) -> Result<InstanceReport, AcquireError> {
    let mut report = InstanceReport {
        instance_id: run.instance().to_string(),
        succeeded: false,
        error: None,
        volumes: Vec::new(),
        reused_steps: Vec::new(),
        not_run: Vec::new(),
    };
    run.progress.emit(Event::Started {
        instance: run.instance().to_string(),
        volumes: run.plan.volumes.iter().map(|v| v.volume_id.clone()).collect(),
        steps: run.plan.steps.iter().map(|s| StepOutline { step: s.id.clone(), volume: s.volume_id.clone() }).collect(),
    });
    // A resumed run knows what earlier runs created before it goes on (resolve.rs): a volume whose
    // evidence is secured skips its transfer steps, and its cleanup needs their ids all the same.
    for entry in run.journal.entries(run.case())? {
        if let (true, Some(Outcome::Ok { result, .. })) = (entry.intent.instance_id == run.instance(), &entry.outcome) {
            run.resolved.absorb(result);
        }
    }
    run.journal.set_acquisition_status(run.case(), run.instance(), Status::Running, None)?;
    let devices = match before_volumes(&run, &mut report).await {
        Ok(devices) => devices,
        Err(e) if e.is_journal() => return Err(e),
        Err(e) => {
            let status =
                if matches!(e, AcquireError::Interrupted { .. }) { Status::Interrupted } else { Status::Failed };
            report.error = Some(e.to_string());
            run.journal.set_acquisition_status(run.case(), run.instance(), status, report.error.as_deref())?;
            return Ok(report);
        }
    };
    let mut tasks = JoinSet::new();
    for (i, volume) in run.plan.volumes.iter().enumerate() {
        let run = run.clone();
        let pool = pool.clone();
        let volume = volume.clone();
        let device = devices.get(&volume.volume_id).cloned();
        tasks.spawn(async move {
            let _permit = pool.acquire_owned().await;
            (i, run_volume(&run, &volume, device).await)
        });
    }
    let mut volumes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let failed = match joined {
            Ok((i, Ok(v))) => {
                volumes.push((i, v));
                continue;
            }
            Ok((_, Err(e))) => e,
            Err(e) => AcquireError::bug(&run.journal, run.case(), "run a volume", &e),
        };
        // The other volumes stop before the error is returned: dropping the set would only ask them
        // to, and one still running could write to the journal after the caller has gone on (a resume
        // in the same process would then find an outcome it is about to record already there).
        tasks.shutdown().await;
        return Err(failed);
    }
    volumes.sort_by_key(|(i, _)| *i);
    report.volumes = volumes.into_iter().map(|(_, v)| v).collect();
    let failed: Vec<String> =
        report.volumes.iter().filter_map(|v| v.error.as_ref().map(|e| format!("{}: {e}", v.volume_id))).collect();
    report.succeeded = failed.is_empty();
    let status = match (report.succeeded, run.stopping()) {
        (true, _) => Status::Succeeded,
        (false, true) => Status::Interrupted,
        (false, false) => Status::Failed,
    };
    if !failed.is_empty() {
        report.error = Some(failed.join("; "));
    }
    for v in &report.volumes {
        for left in &v.left {
            run.progress.emit(Event::Warning { message: format!("{}: left: {left}", v.volume_id) });
        }
    }
    run.journal.set_acquisition_status(run.case(), run.instance(), status, report.error.as_deref())?;
    Ok(report)
}

/// Runs the steps that are not a volume's. Returns the device name of each volume.
async fn before_volumes(run: &Run, report: &mut InstanceReport) -> Result<BTreeMap<String, String>, AcquireError> {
    let mut devices = BTreeMap::new();
    let steps: Vec<&Step> = run.plan.steps.iter().filter(|s| s.volume_id.is_none()).collect();
    let snapshotted = match steps.iter().find(|s| matches!(s.action, Action::CreateSnapshots { .. })) {
        Some(s) => matches!(run.prior(s, Api::Ec2CreateSnapshots.as_str())?, Prior::Done(_)),
        None => false,
    };
    for step in steps {
        if run.stopping() {
            return Err(AcquireError::Interrupted { step: step.id.clone() });
        }
        if snapshotted && matches!(step.action, Action::CreateSnapshots { .. }) {
            report.reused_steps.push(step.id.clone());
        }
        match run_step(run, Scope::Instance, step).await {
            Ok(Ran::Done) => {}
            Ok(Ran::Devices(d)) => devices = d,
            Ok(Ran::NotRun(why)) => report.not_run.push(format!("{}: {why}", step.id)),
            // The snapshots were taken by an earlier run: what the instance has become since does
            // not matter any more.
            Err(e) if snapshotted && !e.is_journal() && matches!(step.action, Action::Discover) => {
                run.progress.emit(Event::Warning { message: format!("{e} (the snapshots were taken before)") })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(devices)
}
