//! DescribeInstances: the instance is looked at before its snapshots are taken.

use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::Event;
use custody_plan::plan::{Api, Step};
use std::collections::BTreeMap;

/// The instance must still be there (not terminated) with the volumes the plan was made for. (The
/// volumes' keys are not looked at: the plan grants no kms:DescribeKey on them, and a refused call
/// would be noise in the source account's CloudTrail. A disabled key or one pending deletion shows as
/// a copy in `error`, whose failure names it.)
pub(crate) async fn discover(run: &Run, step: &Step) -> Result<BTreeMap<String, String>, AcquireError> {
    let call = run.call_of(step, Api::Ec2DescribeInstances)?;
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
