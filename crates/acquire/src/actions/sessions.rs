//! AssumeRole: the sessions the plan's calls are signed with, each journaled like any other call.

use crate::error::AcquireError;
use crate::journaled::Run;
use custody_cloud::types::Receipt;
use custody_cloud::SessionName;
use custody_plan::plan::{Api, Step};
use serde_json::json;

/// Assumes `role_arn` as the base identity, once per run: the session is kept in the run's cache.
pub(crate) async fn assume(run: &Run, step: &Step, role_arn: &str, session_name: &str) -> Result<(), AcquireError> {
    if run.sessions.has(role_arn) {
        return Ok(());
    }
    let call = run.call_of(step, Api::StsAssumeRole)?;
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
