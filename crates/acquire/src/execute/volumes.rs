//! `--volume-az`: a volume from each evidence snapshot, in the forensic account, for an examiner to
//! attach to an analysis instance. The volume is evidence too: cleanup never removes it.

use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::report::Event;
use crate::resolve::outcome;
use crate::volume::reused;
use crate::wait;
use custody_journal::ResourceKind;
use custody_plan::plan::Step;
use serde_json::json;
use std::collections::BTreeMap;

/// CreateVolume from the evidence snapshot (the plan's placeholder `snapshot`) in `availability_zone`,
/// then wait until it is available.
pub(crate) async fn create_volume(
    run: &Run,
    step: &Step,
    snapshot: &str,
    new_volume: &str,
    availability_zone: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, "ec2:CreateVolume")?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&call.region);
    let done = match run.prior(step, &call.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "volume created by an earlier run");
            run.created(new_volume)
        }
        Prior::Unsure(_) => {
            // CreateVolume's answer was lost: the trait takes no client token and volumes cannot be
            // listed by tag here, so a second volume is made; both carry the case's tags.
            run.progress.emit(Event::Warning {
                message: format!(
                    "a volume from {snapshot} may have been created before the previous run stopped; another is \
                     created. Both carry the tag {}={}",
                    custody_plan::plan::TAG_CASE,
                    run.case()
                ),
            });
            None
        }
        Prior::None => None,
    };
    let id = match done {
        Some(id) => id,
        None => {
            let snapshot_id = run.real(step, snapshot)?;
            let params = json!({"snapshot_id": snapshot_id, "availability_zone": availability_zone, "tags": tags});
            let (id, _) = run
                .journaled(
                    step,
                    call,
                    params,
                    || ec2.create_volume(&snapshot_id, availability_zone, tags),
                    |id: &String| outcome(&[(new_volume, id)], json!({})),
                )
                .await?;
            run.resolved.insert(new_volume, &id);
            id
        }
    };
    let detail = json!({"availability_zone": availability_zone, "snapshot": run.created(snapshot)});
    run.record_again(ResourceKind::Volume, &id, &call.account, &call.region, false, detail)?;
    wait::volume_available(ec2.as_ref(), &id, &step.id, &run.wait, &run.stop).await
}
