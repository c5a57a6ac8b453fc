//! The grant custody creates on the source key for the destination role (path 5), and its
//! retirement by that role.

use super::common::{reused, skipped};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::resolve::outcome;
use custody_cloud::types::NewGrant;
use custody_journal::ResourceKind;
use custody_plan::plan::{Action, Api, Step};
use serde_json::json;

/// CreateGrant with exactly the plan's operations, constraint and retiring principal. KMS returns the
/// same grant for a repeated request with the same name and parameters (CreateGrant API reference,
/// `Name`), so a resumed run simply asks again.
pub(crate) async fn create_grant(run: &Run, step: &Step) -> Result<(), AcquireError> {
    let Action::CreateGrant {
        key_arn,
        grant,
        name,
        grantee,
        retiring_principal,
        operations,
        encryption_context_subset,
    } = &step.action
    else {
        return Err(AcquireError::Plan { step: step.id.clone(), why: "not a CreateGrant step".to_string() });
    };
    let call = run.call_of(step, Api::KmsCreateGrant)?;
    let detail = json!({"key_arn": key_arn, "retiring_principal": retiring_principal});
    if let Prior::Done(result) = run.prior(step, &call.api)? {
        run.resolved.absorb(&result);
        reused(run, step, "grant created by an earlier run");
        // The process may have died before it recorded the grant.
        return match run.created(grant) {
            Some(id) => run.record_again(ResourceKind::Grant, &id, &call.account, &call.region, true, detail),
            None => Ok(()),
        };
    }
    let cloud = run.signer(step, call)?;
    let kms = cloud.kms(&call.region);
    let new = NewGrant {
        key_id: key_arn.clone(),
        grantee_principal: grantee.clone(),
        retiring_principal: Some(retiring_principal.clone()),
        operations: operations.clone(),
        encryption_context_subset: Some(encryption_context_subset.clone()),
        name: Some(name.clone()),
    };
    let params = json!({"key_id": key_arn, "grantee_principal": grantee, "retiring_principal": retiring_principal,
                        "operations": operations, "constraints": {"encryption_context_subset": encryption_context_subset},
                        "name": name});
    let (id, _) = run
        .journaled(step, call, params, || kms.create_grant(&new), |id: &String| outcome(&[(grant, id)], json!({})))
        .await?;
    run.resolved.insert(grant, &id);
    run.record(ResourceKind::Grant, &id, &call.account, &call.region, true, detail)
}

/// RetireGrant, by the retiring principal.
pub(crate) async fn retire_grant(run: &Run, step: &Step, key_arn: &str, grant: &str) -> Result<(), AcquireError> {
    let Some(id) = run.created(grant) else {
        return skipped(run, step, "the grant was never created");
    };
    let call = run.call_of(step, Api::KmsRetireGrant)?;
    if let Prior::Done(_) = run.prior(step, &call.api)? {
        reused(run, step, "grant retired by an earlier run");
        return run.removed_again(ResourceKind::Grant, &id, &call.account, &call.region, "retired");
    }
    let cloud = run.signer(step, call)?;
    let kms = cloud.kms(&call.region);
    let params = json!({"key_id": key_arn, "grant_id": id});
    match run.journaled(step, call, params, || kms.retire_grant(key_arn, &id), |_| json!({})).await {
        Ok(_) => run.removed(ResourceKind::Grant, &id, &call.account, &call.region, "retired"),
        Err(AcquireError::Call { error, .. }) if error.is_not_found() => {
            run.removed(ResourceKind::Grant, &id, &call.account, &call.region, "already gone")
        }
        Err(e) => Err(e),
    }
}
