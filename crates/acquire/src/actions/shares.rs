//! ModifySnapshotAttribute: sharing a snapshot with the destination account (`createVolumePermission`),
//! and removing the share at cleanup.

use super::common::{planned, reused, skipped};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use custody_journal::ResourceKind;
use custody_plan::plan::{Api, Step, VolumePlan};
use serde_json::json;

/// Shares the planned snapshot `snapshot` with `account` (`add`), or removes the share.
pub(crate) async fn share(
    run: &Run,
    volume: &VolumePlan,
    step: &Step,
    snapshot: &str,
    account: &str,
    add: bool,
) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::Ec2ModifySnapshotAttribute)?;
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
