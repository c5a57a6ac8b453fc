//! The temporary key of path 8: its creation with its alias, and its deletion.

use super::common::{reused, skipped};
use crate::error::AcquireError;
use crate::journaled::{Prior, Run};
use crate::resolve::outcome;
use crate::temp_key::look_for_temp_key;
use custody_cloud::types::NewKey;
use custody_cloud::Kms;
use custody_journal::ResourceKind;
use custody_plan::plan::{Api, Call, Step};
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
    let create = run.call_of(step, Api::KmsCreateKey)?;
    let cloud = run.signer(step, create)?;
    let kms = cloud.kms(&create.region);
    let arn = temp_key(run, step, create, kms.as_ref(), key, description, tags).await?;
    run.resolved.insert(key, arn.id());
    let detail = json!({"alias": alias});
    match &arn {
        Made::New(arn) => run.record(ResourceKind::Key, arn, &create.account, &create.region, true, detail)?,
        Made::Before(arn) => run.record_again(ResourceKind::Key, arn, &create.account, &create.region, true, detail)?,
    }
    alias_of(run, step, kms.as_ref(), alias, arn.id()).await
}

/// A resource made by this run, or by an earlier run (which may have recorded it already).
enum Made {
    New(String),
    Before(String),
}

impl Made {
    fn id(&self) -> &str {
        match self {
            Made::New(id) | Made::Before(id) => id,
        }
    }
}

/// The temporary key: taken from the journal, found by its tags when an earlier run's CreateKey was
/// never answered, or created.
async fn temp_key(
    run: &Run,
    step: &Step,
    create: &Call,
    kms: &dyn Kms,
    key: &str,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Made, AcquireError> {
    let policy = step.creates_keys.iter().find(|k| k.arn == key).map(|k| k.policy.clone()).ok_or_else(|| {
        AcquireError::Plan { step: step.id.clone(), why: format!("no key policy planned for `{key}`") }
    })?;
    let found = match run.prior(step, &create.api)? {
        Prior::Done(result) => {
            run.resolved.absorb(&result);
            reused(run, step, "key created by an earlier run");
            return Ok(Made::Before(run.real(step, key)?));
        }
        Prior::Unsure(entry) => match find_key(run, kms, tags, description).await {
            Some(arn) => {
                run.settle(entry, outcome(&[(key, &arn)], json!({})))?;
                Some(arn)
            }
            None => None,
        },
        Prior::None => None,
    };
    if let Some(arn) = found {
        reused(run, step, &format!("found {arn} by its tags"));
        return Ok(Made::Before(arn));
    }
    let new = NewKey { policy: policy.clone(), description: description.to_string(), tags: tags.clone() };
    let params = json!({"policy": policy, "description": description, "tags": tags,
                        "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT"});
    let (meta, _) =
        run.journaled(step, create, params, || kms.create_key(&new), |m| outcome(&[(key, &m.arn)], json!({}))).await?;
    Ok(Made::New(meta.arn))
}

/// CreateAlias `alias` for the key `arn`, and its record.
async fn alias_of(run: &Run, step: &Step, kms: &dyn Kms, alias: &str, arn: &str) -> Result<(), AcquireError> {
    let call = run.call_of(step, Api::KmsCreateAlias)?;
    let mut made = false;
    match run.prior(step, &call.api)? {
        Prior::Done(_) => reused(run, step, "alias created by an earlier run"),
        prior => {
            // Not looked up (the plan grants no kms:ListAliases): asked for again. An alias name is
            // unique in an account and Region (CreateAlias API reference, AlreadyExistsException,
            // <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>), and
            // custody's names the case and the volume, so if it exists and an earlier run of this step
            // asked for it on this same key without learning the answer, that request took effect.
            let params = json!({"alias_name": alias, "target_key_id": arn});
            match run.journaled(step, call, params, || kms.create_alias(alias, arn), |_| json!({})).await {
                Ok(_) => made = true,
                Err(AcquireError::Call { error, .. })
                    if error.is_code("AlreadyExistsException") && asked_before(run, step, &call.api, arn)? =>
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
        run.record(ResourceKind::Alias, alias, &call.account, &call.region, true, detail)
    } else {
        run.record_again(ResourceKind::Alias, alias, &call.account, &call.region, true, detail)
    }
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
    let call = run.call_of(step, Api::KmsDeleteAlias)?;
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
    let call = run.call_of(step, Api::KmsScheduleKeyDeletion)?;
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
