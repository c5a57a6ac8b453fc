//! Which snapshots a caller sees, and how a call on another account's snapshot is asked: shared by
//! the EC2 calls (`ec2`) and the calls that copy a snapshot or make a volume of one (`copy`).

use super::call::Api;
use super::state::{SnapRec, State};
use custody_cloud::error::CloudError;
use custody_plan::plan::{AuthzRequest, PolicyScope};

pub(crate) fn visible<'s>(st: &'s State, id: &str, account: &str, region: &str) -> Option<&'s SnapRec> {
    st.snapshots.get(id).filter(|s| s.region == region && can_see(s, account))
}

pub(crate) fn can_see(s: &SnapRec, account: &str) -> bool {
    s.account == account || s.shared_with.contains(account) || s.shared_with.contains("all")
}

/// `InvalidSnapshot.NotFound`, as EC2 answers for a snapshot it does not show the caller (EC2 API
/// Reference, "Error codes", <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>).
pub(crate) fn snapshot_not_found(api: Api, id: &str) -> CloudError {
    api.error("InvalidSnapshot.NotFound", format!("The snapshot '{id}' does not exist."))
}

/// A request on the source snapshot of a copy or a CreateVolume: a snapshot shared with the caller's
/// account has no resource policy, the share stands in for one, so only the caller's side is
/// evaluated (map §5.1).
pub(crate) fn on_source(r: AuthzRequest, snap: &SnapRec, caller_account: &str) -> AuthzRequest {
    if snap.account == caller_account {
        r
    } else {
        r.scoped(PolicyScope::Identity)
    }
}
