//! `--volume-az`: a volume from each evidence snapshot, in the forensic account, for an examiner to
//! attach to an analysis instance. The volume is evidence too: cleanup never removes it.

use super::common::reused;
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::resolve::outcome;
use crate::wait;
use custody_cloud::types::NewVolume;
use custody_journal::ResourceKind;
use custody_plan::plan::{Api, Step};
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
    let call = run.call_of(step, Api::Ec2CreateVolume)?;
    let cloud = run.signer(step, call)?;
    let ec2 = cloud.ec2(&call.region);
    let done = match run.prior(step, &call.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "volume created by an earlier run");
            run.created(new_volume)
        }
        // CreateVolume's answer was lost (or never came): asking again with the same client token
        // answers the volume the first request made, if it made one, rather than making another.
        Prior::Unsure(_) | Prior::None => None,
    };
    let id = match done {
        Some(id) => id,
        None => {
            let snapshot_id = run.real(step, snapshot)?;
            let volume = NewVolume {
                client_token: client_token(&snapshot_id, availability_zone),
                snapshot_id,
                availability_zone: availability_zone.to_string(),
                tags: tags.clone(),
            };
            let params = json!({
                "snapshot_id": volume.snapshot_id,
                "availability_zone": availability_zone,
                "tags": tags,
                "client_token": volume.client_token,
            });
            let (id, _) = run
                .journaled(
                    step,
                    call,
                    params,
                    || ec2.create_volume(&volume),
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

/// CreateVolume's client token for a volume from `snapshot_id` in `availability_zone`: the same on
/// every run, so a resumed run that asks again gets the first volume. The evidence snapshot is the
/// case's own, so the token is the case's too; at most 64 ASCII characters, as EC2 allows.
fn client_token(snapshot_id: &str, availability_zone: &str) -> String {
    format!("custody-{snapshot_id}-{availability_zone}").chars().filter(char::is_ascii).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::client_token;

    #[test]
    fn client_tokens_are_stable_and_within_ec2_limits() {
        let token = client_token("snap-0123456789abcdef0", "eu-west-1a");
        assert_eq!(token, "custody-snap-0123456789abcdef0-eu-west-1a");
        assert_eq!(token, client_token("snap-0123456789abcdef0", "eu-west-1a"));
        assert_ne!(token, client_token("snap-0123456789abcdef1", "eu-west-1a"));
        assert!(client_token(&"x".repeat(100), "us-west-2-lax-1a").len() <= 64);
    }
}
