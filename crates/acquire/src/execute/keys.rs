//! The KMS actions: the temporary key with its alias (path 8) and its deletion, and the grant custody
//! creates and retires (path 5).

use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::resolve::outcome;
use crate::volume::{reused, skipped};
use custody_cloud::types::{NewGrant, NewKey};
use custody_cloud::Kms;
use custody_journal::ResourceKind;
use custody_plan::plan::{Action, Step};
use serde_json::json;
use std::collections::BTreeMap;

/// CreateKey with the plan's key policy and tags, then CreateAlias.
pub(crate) async fn create_key(
    run: &Run,
    step: &Step,
    key: &str,
    alias: &str,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AcquireError> {
    let create = run.call_of(step, "kms:CreateKey")?;
    let cloud = run.signer(step, create)?;
    let kms = cloud.kms(&create.region);
    let policy = step.creates_keys.iter().find(|k| k.arn == key).map(|k| k.policy.clone()).ok_or_else(|| {
        AcquireError::Plan { step: step.id.clone(), why: format!("no key policy planned for `{key}`") }
    })?;
    // Whether this run made the key; else it is an earlier run's, which may be recorded already.
    let mut made = false;
    let arn = match run.prior(step, &create.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "key created by an earlier run");
            run.real(step, key)?
        }
        prior => {
            let found = match prior {
                Prior::Unsure(entry) => match find_key(run, kms.as_ref(), tags, description).await {
                    Some(arn) => {
                        run.settle(entry, outcome(&[(key, &arn)], json!({})))?;
                        Some(arn)
                    }
                    None => None,
                },
                _ => None,
            };
            match found {
                Some(arn) => {
                    reused(run, step, &format!("found {arn} by its tags"));
                    arn
                }
                None => {
                    let new =
                        NewKey { policy: policy.clone(), description: description.to_string(), tags: tags.clone() };
                    let params = json!({"policy": policy, "description": description, "tags": tags,
                                        "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT"});
                    let (meta, _) = run
                        .journaled(
                            step,
                            create,
                            params,
                            || kms.create_key(&new),
                            |m| outcome(&[(key, &m.arn)], json!({})),
                        )
                        .await?;
                    made = true;
                    meta.arn
                }
            }
        }
    };
    run.resolved.insert(key, &arn);
    let detail = json!({"alias": alias});
    if made {
        run.record(ResourceKind::Key, &arn, &create.account, &create.region, true, detail)?;
    } else {
        run.record_again(ResourceKind::Key, &arn, &create.account, &create.region, true, detail)?;
    }
    let call = run.call_of(step, "kms:CreateAlias")?;
    let mut made = false;
    match run.prior(step, &call.api)? {
        Prior::Done(_) => reused(run, step, "alias created by an earlier run"),
        prior => {
            // Not looked up (the plan grants no kms:ListAliases): asked for again. An alias name is
            // unique in an account and Region (CreateAlias API reference, AlreadyExistsException), and
            // custody's names the case and the volume, so if it exists and an earlier run of this step
            // asked for it on this same key without learning the answer, that request took effect.
            let params = json!({"alias_name": alias, "target_key_id": arn});
            match run.journaled(step, call, params, || kms.create_alias(alias, &arn), |_| json!({})).await {
                Ok(_) => made = true,
                Err(AcquireError::Call { error, .. })
                    if error.is_code("AlreadyExistsException") && asked_before(run, step, &call.api, &arn)? =>
                {
                    if let Prior::Unsure(entry) = prior {
                        run.settle(entry, json!({}))?;
                    }
                    reused(run, step, "alias created by an earlier run (it exists)");
                }
                Err(e) => return Err(e),
            }
        }
    }
    let detail = json!({"key_arn": arn});
    if made {
        run.record(ResourceKind::Alias, alias, &call.account, &call.region, true, detail)?;
    } else {
        run.record_again(ResourceKind::Alias, alias, &call.account, &call.region, true, detail)?;
    }
    Ok(())
}

/// Whether an earlier run of `step` asked `api` for `key_arn` (its `target_key_id`) and either succeeded
/// or died before it learned the answer.
fn asked_before(run: &Run, step: &Step, api: &str, key_arn: &str) -> Result<bool, AcquireError> {
    Ok(run.journal.entries(run.case())?.iter().any(|e| {
        e.intent.instance_id == run.instance()
            && e.intent.step_id == step.id
            && e.intent.api == api
            && e.intent.params.get("target_key_id").and_then(|v| v.as_str()) == Some(key_arn)
            && e.outcome.as_ref().is_none_or(|o| o.is_ok())
    }))
}

/// A key custody created before the run died, looked for with the plan's lookup (kms:ListKeys, then
/// DescribeKey of each). `None` when none is found; when the role may not list keys, the run creates
/// the key again and says that one may be left.
async fn find_key(run: &Run, kms: &dyn Kms, tags: &BTreeMap<String, String>, description: &str) -> Option<String> {
    match look_for_temp_key(kms, tags, description, &run.wait, &run.stop).await {
        Ok(found) => found,
        Err(e) => {
            run.progress.emit(crate::report::Event::Warning {
                // `custody cleanup` looks the same way, and is refused the same way.
                message: format!(
                    "a temporary key may have been created before the previous run stopped, and it cannot be looked \
                     for ({e}); a new one is created. If one was, it is left in account {} ({}) without an alias: \
                     find it by its tag {}={} (`aws kms list-keys`, `aws kms list-resource-tags`) and schedule its \
                     deletion. `custody policy role --features acquire,cleanup` grants the kms:ListKeys this needs",
                    run.plan.source_account,
                    run.plan.source_region,
                    custody_plan::plan::TAG_CASE,
                    run.case()
                ),
            });
            None
        }
    }
}

/// [`lookup_temp_key`] again and again for a bounded time: ListKeys is eventually consistent, so a key
/// made a moment ago may not be listed yet, and creating it again on one look's word would make two.
pub(crate) async fn look_for_temp_key(
    kms: &dyn Kms,
    tags: &BTreeMap<String, String>,
    description: &str,
    settings: &crate::wait::WaitSettings,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<String>, custody_cloud::CloudError> {
    let unreadable = std::sync::Mutex::new(None);
    let found = crate::wait::look_again(settings, stop, || async {
        let looked = lookup_temp_key(kms, tags, description).await?;
        if let (Some(e), Ok(mut first)) = (looked.unreadable, unreadable.lock()) {
            first.get_or_insert(e);
        }
        Ok(looked.adopted)
    })
    .await?;
    // Nothing adopted, and a key with the description whose tags could not be read: it may be the one.
    match (found, unreadable.into_inner().ok().flatten()) {
        (None, Some(e)) => Err(e),
        (found, _) => Ok(found),
    }
}

/// One look for the temporary key: the key adopted, or the first error reading a candidate's tags.
struct Looked {
    adopted: Option<String>,
    unreadable: Option<custody_cloud::CloudError>,
}

/// The enabled key whose description is `description` (it names the case and the volume), confirmed
/// by its tags when they can be read (the temporary key's policy lets the source role describe the
/// key, not list its tags). KMS CreateKey takes no idempotency token (KMS API Reference, CreateKey),
/// so a key whose CreateKey answer was lost can only be found this way. Keys the caller may not
/// describe are not custody's and are passed over. An error only when the keys cannot be listed.
async fn lookup_temp_key(
    kms: &dyn Kms,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<Looked, custody_cloud::CloudError> {
    // The first key whose tags could not be read, and why: reported only when no key is adopted.
    let mut unreadable = None;
    for arn in kms.list_keys().await? {
        let Ok(meta) = kms.describe_key(&arn).await else { continue };
        if meta.state.as_deref() != Some("Enabled") || meta.description.as_deref() != Some(description) {
            continue;
        }
        // Adopted only when it carries every tag the run put on it, the run id among them: a key that only
        // looks alike (same description, another run or another tool) is never taken, and a key whose tags
        // cannot be read is not taken either (the key policy custody writes lets the role read them); the
        // look goes on past it, since a look-alike must not hide the key that is custody's.
        match kms.list_resource_tags(&arn).await {
            Ok(found) if tags.iter().all(|(k, v)| found.get(k) == Some(v)) => {
                return Ok(Looked { adopted: Some(meta.arn), unreadable: None })
            }
            Ok(_) => {}
            Err(e) => {
                unreadable.get_or_insert(e);
            }
        }
    }
    Ok(Looked { adopted: None, unreadable })
}

/// DeleteAlias, then ScheduleKeyDeletion.
pub(crate) async fn delete_key(
    run: &Run,
    step: &Step,
    key: &str,
    alias: &str,
    pending_window_days: u32,
) -> Result<(), AcquireError> {
    let Some(arn) = run.created(key) else {
        return skipped(run, step, "the temporary key was never created");
    };
    let call = run.call_of(step, "kms:DeleteAlias")?;
    let cloud = run.signer(step, call)?;
    let kms = cloud.kms(&call.region);
    let mut alias_failed = None;
    if let Prior::Done(_) = run.prior(step, &call.api)? {
        reused(run, step, "alias deleted by an earlier run");
        run.removed_again(ResourceKind::Alias, alias, &call.account, &call.region, "deleted")?;
    } else {
        let params = json!({"alias_name": alias});
        match run.journaled(step, call, params, || kms.delete_alias(alias), |_| json!({})).await {
            Ok(_) => run.removed(ResourceKind::Alias, alias, &call.account, &call.region, "deleted")?,
            Err(AcquireError::Call { error, .. }) if error.is_not_found() => {
                run.removed(ResourceKind::Alias, alias, &call.account, &call.region, "already gone")?
            }
            // The key is scheduled for deletion all the same (a key left behind is worse than an alias,
            // which cleanup deletes by name); the alias's failure is reported once the key is handled.
            Err(e) if !e.is_journal() => alias_failed = Some(e),
            Err(e) => return Err(e),
        }
    }
    let call = run.call_of(step, "kms:ScheduleKeyDeletion")?;
    if let Prior::Done(result) = run.prior(step, &call.api)? {
        reused(run, step, "key deletion scheduled by an earlier run");
        let how = match result.get("deletion_date").and_then(|d| d.as_str()) {
            Some(d) => format!("scheduled for deletion on {d}"),
            None => format!("scheduled for deletion in {pending_window_days} days"),
        };
        run.removed_again(ResourceKind::Key, &arn, &call.account, &call.region, &how)?;
        return alias_failed.map_or(Ok(()), Err);
    }
    // The key is the caller's own: named by its id, which KMS accepts for keys of the caller's account
    // (an ARN is only required across accounts, ScheduleKeyDeletion API reference, `KeyId`).
    let key_id = arn.rsplit('/').next().unwrap_or(&arn).to_string();
    let params = json!({"key_id": key_id, "pending_window_in_days": pending_window_days});
    let done = run
        .journaled(
            step,
            call,
            params,
            || kms.schedule_key_deletion(&key_id, pending_window_days),
            |date| json!({"deletion_date": date}),
        )
        .await;
    let scheduled = match done {
        Ok((date, _)) => {
            let how = match date {
                Some(d) => format!("scheduled for deletion on {d}"),
                None => format!("scheduled for deletion in {pending_window_days} days"),
            };
            run.removed(ResourceKind::Key, &arn, &call.account, &call.region, &how)
        }
        // Already pending deletion (KMS answers KMSInvalidStateException): the effect is there.
        Err(AcquireError::Call { error, .. })
            if error.is_code("KMSInvalidStateException")
                && kms.describe_key(&arn).await.is_ok_and(|m| m.state.as_deref() == Some("PendingDeletion")) =>
        {
            run.removed(ResourceKind::Key, &arn, &call.account, &call.region, "already pending deletion")
        }
        Err(e) => Err(e),
    };
    scheduled?;
    alias_failed.map_or(Ok(()), Err)
}
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
    let call = run.call_of(step, "kms:CreateGrant")?;
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
    let call = run.call_of(step, "kms:RetireGrant")?;
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
