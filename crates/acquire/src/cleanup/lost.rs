//! What a run killed while AWS answered may have created: the journal's outcomes not yet recorded as
//! resources, grants asked for without an answer, temporary keys whose CreateKey was never answered.

use super::roles::Roles;
use super::CleanupReport;
use crate::error::AcquireError;
use crate::resolve::{journal_resolutions, outcome, Resolution};
use crate::temp_key::look_for_temp_key;
use custody_cloud::types::NewGrant;
use custody_journal::{Entry, Journal, NewResource, Outcome, ResourceKind};
use custody_plan::plan::{Action, Api, Plan, Step};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;

/// Records what the journal's outcomes say was created and the run did not live to record (it died
/// between the outcome and the record), so that it is removed with the rest.
pub(crate) fn reconcile(journal: &Journal, case_id: &str, plans: &[Plan]) -> Result<(), AcquireError> {
    let known: BTreeSet<(ResourceKind, String)> =
        journal.resources(case_id)?.into_iter().map(|r| (r.kind, r.id)).collect();
    for Resolution { entry, placeholder, real } in journal_resolutions(journal, case_id)? {
        let Some(plan) = plans.iter().find(|p| p.instance_id == entry.intent.instance_id) else { continue };
        let Some((kind, temporary, detail)) = planned_resource(plan, &placeholder) else { continue };
        if known.contains(&(kind, real.clone())) {
            continue;
        }
        journal.record_resource(&NewResource {
            case_id: case_id.to_string(),
            instance_id: entry.intent.instance_id.clone(),
            kind,
            id: real,
            account: entry.intent.account.clone(),
            region: entry.intent.region.clone(),
            temporary,
            detail,
        })?;
    }
    Ok(())
}

/// The journal's calls of `api` that were asked and never answered, not even by another run of the
/// same step (a resume, or a cleanup that asked again and recorded what it learned): the run died
/// while AWS answered.
pub(crate) fn unanswered(journal: &Journal, case_id: &str, api: Api) -> Result<Vec<Entry>, AcquireError> {
    let entries: Vec<Entry> = journal.entries(case_id)?.into_iter().filter(|e| e.intent.api == api.as_str()).collect();
    let answered: BTreeSet<(String, String)> =
        entries.iter().filter(|e| e.outcome.as_ref().is_some_and(Outcome::is_ok)).map(step_of).collect();
    Ok(entries.into_iter().filter(|e| e.outcome.is_none() && !answered.contains(&step_of(e))).collect())
}

/// The instance and plan step an entry belongs to.
fn step_of(e: &Entry) -> (String, String) {
    (e.intent.instance_id.clone(), e.intent.step_id.clone())
}

/// Grants whose CreateGrant the journal has without an answer: the run died while KMS answered. KMS
/// answers a repeated request with the same name and parameters with the existing grant's id
/// (CreateGrant API reference, `Name`, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>),
/// so asking again learns the id without listing grants, which custody's roles may not; if the first
/// request never took effect, this one creates the grant, which is retired with the rest all the same.
///
/// What it learns is recorded as the answer of the call it asked again, before anything is retired:
/// a retired grant is not "existing", so a cleanup that died after retiring it and asked a second
/// time would create one more grant than the run ever asked for.
pub(crate) async fn unanswered_grants(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    plans: &[Plan],
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    // A step asked for more than once (a resume that died too) is asked again once: every request
    // carried the same name and parameters.
    let mut steps: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
    for entry in unanswered(journal, case_id, Api::KmsCreateGrant)? {
        steps.entry(step_of(&entry)).or_default().push(entry);
    }
    for entries in steps.into_values() {
        let Some(entry) = entries.last() else { continue };
        let i = &entry.intent;
        let p = &i.params;
        let text = |v: &Value| v.as_str().map(str::to_string);
        let grant = NewGrant {
            key_id: text(&p["key_id"]).unwrap_or_default(),
            grantee_principal: text(&p["grantee_principal"]).unwrap_or_default(),
            retiring_principal: text(&p["retiring_principal"]),
            operations: serde_json::from_value(p["operations"].clone()).unwrap_or_default(),
            encryption_context_subset: serde_json::from_value(p["constraints"]["encryption_context_subset"].clone())
                .ok(),
            name: text(&p["name"]),
        };
        let what = format!("the grant {} on {}", grant.name.as_deref().unwrap_or_default(), grant.key_id);
        let asked = match roles.role(&i.signer).await {
            Ok(cloud) => cloud.kms(&i.region).create_grant(&grant).await,
            Err(e) => Err(e),
        };
        match asked {
            Ok(receipt) => {
                // The grant first, then the answer: a cleanup killed between the two asks again
                // and learns the same id (the grant is retired only after both).
                journal.record_resource(&NewResource {
                    case_id: case_id.to_string(),
                    instance_id: i.instance_id.clone(),
                    kind: ResourceKind::Grant,
                    id: receipt.value.clone(),
                    account: i.account.clone(),
                    region: i.region.clone(),
                    temporary: true,
                    detail: json!({"key_arn": grant.key_id, "retiring_principal": grant.retiring_principal}),
                })?;
                let placeholder = planned_step(plans, &i.instance_id, &i.step_id).and_then(|s| match &s.action {
                    Action::CreateGrant { grant, .. } => Some(grant),
                    _ => None,
                });
                let pairs: Vec<(&str, &str)> =
                    placeholder.iter().map(|p| (p.as_str(), receipt.value.as_str())).collect();
                let result = outcome(&pairs, json!({"learned_by": "cleanup, asking again by name"}));
                for e in &entries {
                    let answer = Outcome::Ok { result: result.clone(), request_id: receipt.request_id.clone() };
                    journal.record_outcome(e.id, &answer)?;
                }
            }
            Err(e) => report.failed.push(format!("{what}, asked for when the run died, cannot be looked for: {e}")),
        }
    }
    Ok(())
}

/// The step `step_id` of `instance_id`'s plan.
fn planned_step<'p>(plans: &'p [Plan], instance_id: &str, step_id: &str) -> Option<&'p Step> {
    plans.iter().filter(|p| p.instance_id == instance_id).flat_map(|p| &p.steps).find(|s| s.id == step_id)
}

/// Temporary keys whose CreateKey the journal has without an answer: the run died while KMS answered,
/// so the key exists (or not) with no alias and an id the journal never learned. It is looked for as
/// a resume would, by the description the plan gave it, and recorded so that it is scheduled for
/// deletion with the rest.
pub(crate) async fn unanswered_keys(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    plans: &[Plan],
    settings: &crate::wait::WaitSettings,
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    for entry in unanswered(journal, case_id, Api::KmsCreateKey)? {
        let i = &entry.intent;
        let planned = planned_step(plans, &i.instance_id, &i.step_id).and_then(|s| match &s.action {
            Action::CreateKey { alias, description, tags, .. } => Some((alias, description, tags)),
            _ => None,
        });
        let Some((alias, description, tags)) = planned else { continue };
        let found = match roles.role(&i.signer).await {
            Ok(cloud) => {
                let kms = cloud.kms(&i.region);
                look_for_temp_key(kms.as_ref(), tags, description, settings, &AtomicBool::new(false)).await
            }
            Err(e) => Err(e),
        };
        match found {
            Ok(Some(arn)) => journal.record_resource(&NewResource {
                case_id: case_id.to_string(),
                instance_id: i.instance_id.clone(),
                kind: ResourceKind::Key,
                id: arn,
                account: i.account.clone(),
                region: i.region.clone(),
                temporary: true,
                detail: json!({"alias": alias}),
            })?,
            Ok(None) => {}
            Err(e) => report.failed.push(format!(
                "a temporary key (\"{description}\") may have been created in account {} ({}) when the run died, and \
                 cannot be looked for: {e}",
                i.account, i.region
            )),
        }
    }
    Ok(())
}

/// What the plan's placeholder `name` is: its kind, whether it is temporary, what removal needs.
pub(crate) fn planned_resource(plan: &Plan, name: &str) -> Option<(ResourceKind, bool, Value)> {
    if let Some(s) = plan.volumes.iter().flat_map(|v| &v.snapshots).find(|s| s.id == name) {
        return Some((ResourceKind::Snapshot, !s.evidence, json!({})));
    }
    plan.steps.iter().find_map(|step| match &step.action {
        Action::CreateKey { key, alias, .. } if key == name => Some((ResourceKind::Key, true, json!({"alias": alias}))),
        Action::CreateGrant { grant, key_arn, retiring_principal, .. } if grant == name => {
            Some((ResourceKind::Grant, true, json!({"key_arn": key_arn, "retiring_principal": retiring_principal})))
        }
        _ => None,
    })
}

/// Shares whose ModifySnapshotAttribute (add) the journal has, without the share recorded as a resource
/// (the run died while AWS answered, or before it recorded the answer): the share may exist. It is
/// recorded so that it is removed with the rest (removing a share that is not there changes nothing):
/// a kept snapshot must not stay shared with another account.
pub(crate) fn unanswered_shares(journal: &Journal, case_id: &str) -> Result<(), AcquireError> {
    let known: BTreeSet<String> =
        journal.resources(case_id)?.into_iter().filter(|r| r.kind == ResourceKind::Share).map(|r| r.id).collect();
    for entry in
        journal.entries(case_id)?.into_iter().filter(|e| e.intent.api == Api::Ec2ModifySnapshotAttribute.as_str())
    {
        let i = &entry.intent;
        if i.params.get("operation").and_then(Value::as_str) != Some("add") {
            continue;
        }
        let Some(snapshot) = i.params.get("snapshot_id").and_then(Value::as_str) else { continue };
        let accounts = i.params.get("user_ids").and_then(Value::as_array).cloned().unwrap_or_default();
        for account in accounts.iter().filter_map(Value::as_str) {
            let id = format!("{snapshot}:{account}");
            if known.contains(&id) {
                continue;
            }
            journal.record_resource(&NewResource {
                case_id: case_id.to_string(),
                instance_id: i.instance_id.clone(),
                kind: ResourceKind::Share,
                id,
                account: i.account.clone(),
                region: i.region.clone(),
                temporary: true,
                detail: json!({"snapshot_id": snapshot, "account": account}),
            })?;
        }
    }
    Ok(())
}
