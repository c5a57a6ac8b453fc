//! The steps before the volumes: assume the roles, look at the instance, take the crash-consistent
//! snapshot.

use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::report::{Event, InstanceReport};
use crate::resolve::outcome;
use crate::volume::{is_volume_copy, reused};
use crate::wait;
use custody_cloud::types::{Receipt, SnapshotInfo, SnapshotQuery};
use custody_cloud::SessionName;
use custody_journal::ResourceKind;
use custody_plan::plan::{Action, Step};
use serde_json::json;
use std::collections::BTreeMap;

/// Runs the steps that are not a volume's. Returns the device name of each volume.
pub(crate) async fn before_volumes(
    run: &Run,
    report: &mut InstanceReport,
) -> Result<BTreeMap<String, String>, AcquireError> {
    let mut devices = BTreeMap::new();
    let steps: Vec<&Step> = run.plan.steps.iter().filter(|s| s.volume_id.is_none()).collect();
    let snapshotted = match steps.iter().find(|s| matches!(s.action, Action::CreateSnapshots { .. })) {
        Some(s) => matches!(run.prior(s, "ec2:CreateSnapshots")?, Prior::Done(_)),
        None => false,
    };
    for step in steps {
        if run.stopping() {
            return Err(AcquireError::Interrupted { step: step.id.clone() });
        }
        run.progress.emit(Event::Step {
            instance: run.instance().to_string(),
            step: step.id.clone(),
            title: step.title.clone(),
        });
        match &step.action {
            Action::AssumeRole { role_arn, session_name } => assume(run, step, role_arn, session_name).await?,
            Action::Discover => match discover(run, step).await {
                Ok(d) => devices = d,
                // The snapshots were taken by an earlier run: what the instance has become since
                // does not matter any more.
                Err(e) if snapshotted && !e.is_journal() => {
                    run.progress.emit(Event::Warning { message: format!("{e} (the snapshots were taken before)") })
                }
                Err(e) => return Err(e),
            },
            Action::CreateSnapshots { tags, description } => {
                if snapshotted {
                    report.reused_steps.push(step.id.clone());
                }
                create_snapshots(run, step, tags, description).await?
            }
            Action::Triage => {
                let why = "triage through SSM Run Command is `custody triage` (not run by acquire)".to_string();
                run.progress.emit(Event::Skipped {
                    instance: run.instance().to_string(),
                    step: step.id.clone(),
                    why: why.clone(),
                });
                report.not_run.push(format!("{}: {why}", step.id));
            }
            other => {
                return Err(AcquireError::Plan {
                    step: step.id.clone(),
                    why: format!("a step of no volume cannot be {}", serde_json::to_string(other).unwrap_or_default()),
                })
            }
        }
    }
    Ok(devices)
}

async fn assume(run: &Run, step: &Step, role_arn: &str, session_name: &str) -> Result<(), AcquireError> {
    if run.sessions.has(role_arn) {
        return Ok(());
    }
    let call = run.call_of(step, "sts:AssumeRole")?;
    let base = run.sessions.base();
    let session = SessionName::new_exact(session_name);
    let params = json!({"role_arn": role_arn, "role_session_name": session_name});
    let (cloud, _) = run
        .journaled(
            step,
            call,
            params,
            || {
                let base = base.clone();
                let session = session.clone();
                async move { base.assume_role(role_arn, &session).await.map(|c| Receipt::new(c, None)) }
            },
            |_| json!({}),
        )
        .await?;
    run.sessions.insert(role_arn, cloud);
    Ok(())
}

/// The instance must still be there (not terminated) with the volumes the plan was made for. (The
/// volumes' keys are not looked at: the plan grants no kms:DescribeKey on them, and a refused call
/// would be noise in the source account's CloudTrail. A disabled key or one pending deletion shows as
/// a copy in `error`, whose failure names it.)
async fn discover(run: &Run, step: &Step) -> Result<BTreeMap<String, String>, AcquireError> {
    let call = run.call_of(step, "ec2:DescribeInstances")?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&run.plan.source_region);
    let ids = vec![run.instance().to_string()];
    let instances = ec2.describe_instances(&ids).await.map_err(|e| {
        if e.is_not_found() {
            AcquireError::Refused {
                step: step.id.clone(),
                why: format!(
                    "instance {} does not exist in account {} ({})",
                    run.instance(),
                    run.plan.source_account,
                    run.plan.source_region
                ),
            }
        } else {
            run.call_error(step, &call.api, e)
        }
    })?;
    let Some(instance) = instances.into_iter().find(|i| i.id == run.instance()) else {
        return Err(AcquireError::Refused {
            step: step.id.clone(),
            why: format!("instance {} is not listed", run.instance()),
        });
    };
    if let Some(state @ ("terminated" | "shutting-down")) = instance.state.as_deref() {
        return Err(AcquireError::Refused {
            step: step.id.clone(),
            why: format!(
                "instance {} is {state}: its volumes are gone or going (EBS deletes volumes marked DeleteOnTermination); \
                 look for snapshots or detached volumes instead",
                run.instance()
            ),
        });
    }
    let devices: BTreeMap<String, String> =
        instance.block_devices.iter().map(|b| (b.volume_id.clone(), b.device_name.clone())).collect();
    for v in &run.plan.volumes {
        if !devices.contains_key(&v.volume_id) {
            return Err(AcquireError::Refused {
                step: step.id.clone(),
                why: format!(
                    "volume {} is no longer attached to {} (the plan was made for it); make the plan again",
                    v.volume_id,
                    run.instance()
                ),
            });
        }
    }
    for extra in devices.keys().filter(|id| !run.plan.volumes.iter().any(|v| &&v.volume_id == id)) {
        run.progress.emit(Event::Warning {
            message: format!(
                "volume {extra} is attached to {} but not in the plan (CreateSnapshots takes it too, the plan does not \
                 transfer it)",
                run.instance()
            ),
        });
    }
    Ok(devices)
}

async fn create_snapshots(
    run: &Run,
    step: &Step,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:CreateSnapshots")?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&call.region);
    let found: Vec<SnapshotInfo> = match run.prior(step, &call.api)? {
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
            Vec::new()
        }
        Prior::Unsure(entry) => {
            let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags: tags.clone() };
            let keep = |s: &SnapshotInfo| {
                !is_volume_copy(&s.tags) && s.description.as_deref() == Some(description) && s.state != "error"
            };
            let found = crate::wait::look_for_snapshots(
                ec2.as_ref(),
                &query,
                keep,
                run.plan.volumes.len(),
                &run.wait,
                &run.stop,
            )
            .await
            .map_err(|e| run.call_error(step, "ec2:DescribeSnapshots", e))?;
            if !found.is_empty() {
                reused(run, step, &format!("found {} snapshot(s) by their tags", found.len()));
                run.settle(entry, taken_outcome(run, &found))?;
            }
            found
        }
        Prior::None => Vec::new(),
    };
    let mut taken = found;
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
    for s in &taken {
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
    // A volume whose evidence an earlier run secured is not waited for: its cleanup may have deleted
    // the source snapshot since.
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
    let completed =
        wait::snapshots_completed(ec2.as_ref(), &ids, &step.id, &run.wait, &run.progress, &run.stop).await?;
    run.saw_keys(&completed);
    Ok(())
}

/// The planned source snapshot of `volume_id` (the first of its snapshots).
fn source_of<'p>(run: &'p Run, volume_id: &str) -> Option<&'p custody_plan::plan::PlannedSnapshot> {
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
