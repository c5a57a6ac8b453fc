//! `custody cleanup`: remove what acquisitions left behind, found in the journal and in AWS.
//!
//! A run cleans up after itself; what it could not remove (the process was killed, a call was
//! refused, the examiner kept a source snapshot) stays open in the journal. Cleanup of a case removes
//! the journal's open temporaries in an order that cannot fail on itself (shares before snapshots,
//! grants, aliases before their keys), then looks in AWS, in every account and Region the case's
//! plans touch, for what the journal may not know (a resource created just before the process died):
//! snapshots tagged with the case that are not evidence (and per-volume copies never recorded as
//! evidence), the aliases the plans name (deleted by name). Before that, what the journal's outcomes
//! say was created but never recorded is recorded, a grant asked for without an answer is asked
//! for again to learn its id, and a temporary key whose CreateKey was never answered (it has no alias
//! yet) is looked for by its description with the plan's lookup (kms:ListKeys). Evidence is never
//! removed.

use crate::error::AcquireError;
use crate::report::{Event, Progress};
use custody_cloud::types::{NewGrant, SnapshotInfo, SnapshotQuery};
use custody_cloud::{Cloud, CloudError, SessionName};
use custody_journal::{Entry, Journal, NewResource, Outcome, ResourceKind, ResourceRecord, Status};
use custody_plan::plan::{session_name, Action, Plan, TAG_CASE, TAG_VOLUME};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    pub removed: Vec<String>,
    /// What could not be removed, and why.
    pub failed: Vec<String>,
    /// What was not touched, and why (cases still marked running, evidence).
    pub skipped: Vec<String>,
}

impl CleanupReport {
    pub fn clean(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Removes what case `case_id` left behind.
pub async fn cleanup_case(
    journal: &Journal,
    base: Arc<dyn Cloud>,
    base_role: &str,
    case_id: &str,
    progress: &Progress,
) -> Result<CleanupReport, AcquireError> {
    let case = journal.case(case_id)?.ok_or_else(|| custody_journal::JournalError::UnknownCase(case_id.to_string()))?;
    let mut report = CleanupReport::default();
    if case.status == Status::Running {
        progress.emit(Event::Warning {
            message: format!(
                "case {case_id} is marked running: if its acquisition is still running, stop it first (this cleanup \
                 may remove what it is using)"
            ),
        });
    }
    let plans = plans(journal, case_id)?;
    reconcile(journal, case_id, &plans)?;
    let roles = Roles::new(base, base_role, case_id, &plans);
    unanswered_grants(journal, &roles, case_id, &mut report).await?;
    unanswered_keys(journal, &roles, case_id, &plans, &mut report).await?;
    let mut open = journal.open_temporaries(Some(case_id))?;
    open.sort_by_key(|r| order(r.kind));
    for r in &open {
        match remove(&roles, r).await {
            Ok(how) => {
                journal.resource_removed(case_id, r.kind, &r.id, &r.account, &r.region, &how)?;
                let what = format!("{} {} ({}, {}): {how}", r.kind.as_str(), r.id, r.account, r.region);
                progress.emit(Event::Removed { what: what.clone() });
                report.removed.push(what);
            }
            Err(e) => report.failed.push(format!("{} {} ({}, {}): {e}", r.kind.as_str(), r.id, r.account, r.region)),
        }
    }
    sweep(journal, &roles, case_id, &plans, progress, &mut report).await?;
    if report.clean() {
        journal.set_case_status(
            case_id,
            if case.status == Status::Succeeded { Status::Succeeded } else { Status::CleanedUp },
        )?;
    }
    Ok(report)
}

/// Cleans up every case of the journal that is not marked running.
pub async fn cleanup_orphans(
    journal: &Journal,
    base: Arc<dyn Cloud>,
    base_role: &str,
    progress: &Progress,
) -> Result<CleanupReport, AcquireError> {
    let mut report = CleanupReport::default();
    for case in journal.cases()? {
        if case.status == Status::Running {
            report.skipped.push(format!(
                "case {} is marked running: if its process died, `custody acquire --resume {0}` finishes it or \
                 `custody cleanup --case {0}` removes what it left",
                case.case_id
            ));
            continue;
        }
        let r = cleanup_case(journal, base.clone(), base_role, &case.case_id, progress).await?;
        report.removed.extend(r.removed);
        report.failed.extend(r.failed);
        report.skipped.extend(r.skipped);
    }
    Ok(report)
}

fn plans(journal: &Journal, case_id: &str) -> Result<Vec<Plan>, AcquireError> {
    journal
        .acquisitions(case_id)?
        .into_iter()
        .map(|a| {
            serde_json::from_value(a.plan).map_err(|e| AcquireError::Plan {
                step: "read the journaled plan".to_string(),
                why: format!("the plan of {} does not read back: {e}", a.instance_id),
            })
        })
        .collect()
}

/// Records what the journal's outcomes say was created and the run did not live to record (it died
/// between the outcome and the record), so that it is removed with the rest.
fn reconcile(journal: &Journal, case_id: &str, plans: &[Plan]) -> Result<(), AcquireError> {
    let known: BTreeSet<(ResourceKind, String)> =
        journal.resources(case_id)?.into_iter().map(|r| (r.kind, r.id)).collect();
    for entry in journal.entries(case_id)? {
        let Some(Outcome::Ok { result, .. }) = &entry.outcome else { continue };
        let Some(resolves) = result.get("resolves").and_then(Value::as_object) else { continue };
        let Some(plan) = plans.iter().find(|p| p.instance_id == entry.intent.instance_id) else { continue };
        for (placeholder, real) in resolves {
            let Some(real) = real.as_str() else { continue };
            let Some((kind, temporary, detail)) = planned_resource(plan, placeholder) else { continue };
            if known.contains(&(kind, real.to_string())) {
                continue;
            }
            journal.record_resource(&NewResource {
                case_id: case_id.to_string(),
                instance_id: entry.intent.instance_id.clone(),
                kind,
                id: real.to_string(),
                account: entry.intent.account.clone(),
                region: entry.intent.region.clone(),
                temporary,
                detail,
            })?;
        }
    }
    Ok(())
}

/// The journal's calls of `api` that were asked and never answered, not even by a later run of the
/// same step: the run died while AWS answered.
fn unanswered(journal: &Journal, case_id: &str, api: &str) -> Result<Vec<Entry>, AcquireError> {
    let mut out = Vec::new();
    for entry in journal.unfinished(case_id)?.into_iter().filter(|e| e.intent.api == api) {
        let i = &entry.intent;
        let answered = journal
            .last_entry(case_id, &i.instance_id, &i.step_id, &i.api)?
            .is_some_and(|last| last.outcome.as_ref().is_some_and(Outcome::is_ok));
        if !answered {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Grants whose CreateGrant the journal has without an answer: the run died while KMS answered. KMS
/// answers a repeated request with the same name and parameters with the existing grant's id
/// (CreateGrant API reference, `Name`, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>),
/// so asking again learns the id without listing grants, which custody's roles may not; if the first
/// request never took effect, this one creates the grant, which is retired with the rest all the same.
async fn unanswered_grants(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    for entry in unanswered(journal, case_id, "kms:CreateGrant")? {
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
            Ok(receipt) => journal.record_resource(&NewResource {
                case_id: case_id.to_string(),
                instance_id: i.instance_id.clone(),
                kind: ResourceKind::Grant,
                id: receipt.value,
                account: i.account.clone(),
                region: i.region.clone(),
                temporary: true,
                detail: json!({"key_arn": grant.key_id, "retiring_principal": grant.retiring_principal}),
            })?,
            Err(e) => report.failed.push(format!("{what}, asked for when the run died, cannot be looked for: {e}")),
        }
    }
    Ok(())
}

/// Temporary keys whose CreateKey the journal has without an answer: the run died while KMS answered,
/// so the key exists (or not) with no alias and an id the journal never learned. It is looked for as
/// a resume would, by the description the plan gave it, and recorded so that it is scheduled for
/// deletion with the rest.
async fn unanswered_keys(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    plans: &[Plan],
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    for entry in unanswered(journal, case_id, "kms:CreateKey")? {
        let i = &entry.intent;
        let planned = plans.iter().filter(|p| p.instance_id == i.instance_id).flat_map(|p| &p.steps).find_map(|s| {
            match &s.action {
                Action::CreateKey { alias, description, tags, .. } if s.id == i.step_id => {
                    Some((alias, description, tags))
                }
                _ => None,
            }
        });
        let Some((alias, description, tags)) = planned else { continue };
        let found = match roles.role(&i.signer).await {
            Ok(cloud) => crate::execute::lookup_temp_key(cloud.kms(&i.region).as_ref(), tags, description).await,
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
fn planned_resource(plan: &Plan, name: &str) -> Option<(ResourceKind, bool, Value)> {
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

/// Shares first (a shared snapshot should not outlive its share), then snapshots, grants, aliases
/// and, last, keys (an alias must go before its key is scheduled for deletion).
fn order(kind: ResourceKind) -> u8 {
    match kind {
        ResourceKind::Share => 0,
        ResourceKind::Snapshot | ResourceKind::Volume => 1,
        ResourceKind::Grant => 2,
        ResourceKind::Alias => 3,
        ResourceKind::Key => 4,
    }
}

/// The sessions cleanup acts with: the role custody runs as, and the roles the case's plans assume.
struct Roles {
    base: Arc<dyn Cloud>,
    base_role: String,
    session: SessionName,
    /// Role ARN by account (the role the plans act with there).
    by_account: BTreeMap<String, String>,
    assumed: tokio::sync::Mutex<BTreeMap<String, Arc<dyn Cloud>>>,
}

impl Roles {
    fn new(base: Arc<dyn Cloud>, base_role: &str, case_id: &str, plans: &[Plan]) -> Roles {
        let mut by_account = BTreeMap::new();
        for step in plans.iter().flat_map(|p| &p.steps) {
            if let Action::AssumeRole { role_arn, .. } = &step.action {
                if let Some(account) = role_arn.split(':').nth(4) {
                    by_account.insert(account.to_string(), role_arn.clone());
                }
            }
        }
        if let Some(account) = base_role.split(':').nth(4) {
            by_account.entry(account.to_string()).or_insert_with(|| base_role.to_string());
        }
        Roles {
            base,
            base_role: base_role.to_string(),
            session: SessionName::new_exact(&session_name(case_id)),
            by_account,
            assumed: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    async fn role(&self, role_arn: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        if role_arn == self.base_role {
            return Ok(self.base.clone());
        }
        let mut assumed = self.assumed.lock().await;
        if let Some(c) = assumed.get(role_arn) {
            return Ok(c.clone());
        }
        let cloud = self.base.assume_role(role_arn, &self.session).await?;
        assumed.insert(role_arn.to_string(), cloud.clone());
        Ok(cloud)
    }

    async fn account(&self, account: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        match self.by_account.get(account) {
            Some(role) => self.role(&role.clone()).await,
            None => Ok(self.base.clone()),
        }
    }
}

/// Removes one resource; `Ok(how)`, "already gone" when it was.
async fn remove(roles: &Roles, r: &ResourceRecord) -> Result<String, CloudError> {
    let gone = |e: CloudError, done: &str| {
        if e.is_not_found() {
            Ok("already gone".to_string())
        } else {
            Err(e).map(|_: ()| done.to_string())
        }
    };
    match r.kind {
        ResourceKind::Share => {
            let snapshot = r.detail.get("snapshot_id").and_then(|v| v.as_str()).unwrap_or_default();
            let account = r.detail.get("account").and_then(|v| v.as_str()).unwrap_or_default();
            let cloud = roles.account(&r.account).await?;
            match cloud.ec2(&r.region).modify_snapshot_share(snapshot, account, false).await {
                Ok(_) => Ok("share removed".to_string()),
                Err(e) => gone(e, ""),
            }
        }
        ResourceKind::Snapshot => {
            let cloud = roles.account(&r.account).await?;
            match cloud.ec2(&r.region).delete_snapshot(&r.id).await {
                Ok(_) => Ok("deleted".to_string()),
                Err(e) => gone(e, ""),
            }
        }
        ResourceKind::Volume => Ok("volumes are evidence, not removed".to_string()),
        ResourceKind::Grant => {
            let key = r.detail.get("key_arn").and_then(|v| v.as_str()).unwrap_or_default();
            let cloud = match r.detail.get("retiring_principal").and_then(|v| v.as_str()) {
                Some(role) => roles.role(role).await?,
                None => roles.account(&r.account).await?,
            };
            match cloud.kms(&r.region).retire_grant(key, &r.id).await {
                Ok(_) => Ok("retired".to_string()),
                Err(e) => gone(e, ""),
            }
        }
        ResourceKind::Alias => {
            let cloud = roles.account(&r.account).await?;
            match cloud.kms(&r.region).delete_alias(&r.id).await {
                Ok(_) => Ok("deleted".to_string()),
                Err(e) => gone(e, ""),
            }
        }
        ResourceKind::Key => {
            let cloud = roles.account(&r.account).await?;
            let kms = cloud.kms(&r.region);
            // The key is in the account whose role acts: named by id (see execute/keys.rs).
            let key_id = r.id.rsplit('/').next().unwrap_or(&r.id);
            match kms.schedule_key_deletion(key_id, custody_plan::plan::TEMP_KEY_DELETION_DAYS).await {
                Ok(receipt) => Ok(match receipt.value {
                    Some(d) => format!("scheduled for deletion on {d}"),
                    None => "scheduled for deletion".to_string(),
                }),
                Err(e) if e.is_code("KMSInvalidStateException") => Ok("already pending deletion".to_string()),
                Err(e) => gone(e, ""),
            }
        }
    }
}

/// Looks in AWS for what the journal may not know.
async fn sweep(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    plans: &[Plan],
    progress: &Progress,
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    let evidence: BTreeSet<String> = journal.evidence(case_id)?.into_iter().map(|e| e.snapshot_id).collect();
    let known: BTreeSet<String> =
        journal.resources(case_id)?.into_iter().filter(|r| !r.temporary).map(|r| r.id).collect();
    let mut places = BTreeSet::new();
    let mut aliases = BTreeSet::new();
    for p in plans {
        places.insert((p.source_account.clone(), p.source_region.clone()));
        places.insert((p.dest_account.clone(), p.dest_region.clone()));
        for step in &p.steps {
            if let Action::CreateKey { alias, .. } = &step.action {
                aliases.insert((p.source_account.clone(), p.source_region.clone(), alias.clone()));
            }
        }
    }
    let tags: BTreeMap<String, String> = [(TAG_CASE.to_string(), case_id.to_string())].into();
    for (account, region) in &places {
        let cloud = match roles.account(account).await {
            Ok(c) => c,
            Err(e) => {
                report.failed.push(format!("account {account}: cannot look for leftovers: {e}"));
                continue;
            }
        };
        let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags: tags.clone() };
        match cloud.ec2(region).describe_snapshots(&query).await {
            Ok(found) => {
                // A volume's copy that is not recorded as evidence goes even though the journal keeps
                // it: an evidence copy that failed (and could not be deleted then), or that a stopped
                // run did not wait for. (The snapshots the journal keeps that are not copies are the
                // case's evidence: those of volumes attached after the plan was made.)
                let leftover = |s: &SnapshotInfo| {
                    !evidence.contains(&s.id) && (!known.contains(&s.id) || s.tags.contains_key(TAG_VOLUME))
                };
                for s in found.into_iter().filter(leftover) {
                    match cloud.ec2(region).delete_snapshot(&s.id).await {
                        Ok(_) => {
                            if known.contains(&s.id) {
                                let how = "copy not recorded as evidence, deleted";
                                journal.resource_removed(
                                    case_id,
                                    ResourceKind::Snapshot,
                                    &s.id,
                                    account,
                                    region,
                                    how,
                                )?;
                            }
                            let what =
                                format!("snapshot {} ({account}, {region}): tagged with the case, deleted", s.id);
                            progress.emit(Event::Removed { what: what.clone() });
                            report.removed.push(what);
                        }
                        Err(e) if e.is_not_found() => {}
                        Err(e) => report.failed.push(format!("snapshot {} ({account}, {region}): {e}", s.id)),
                    }
                }
            }
            Err(e) => report.failed.push(format!("snapshots of {account} ({region}): cannot look: {e}")),
        }
    }
    // Deleted by name, not looked for (the plans grant kms:DeleteAlias, not kms:ListAliases): an alias
    // the journal does not know was created just before the run died, and its key, which the run had
    // recorded before, was scheduled for deletion above.
    for (account, region, alias) in &aliases {
        let cloud = match roles.account(account).await {
            Ok(c) => c,
            Err(e) => {
                report.failed.push(format!("alias {alias} ({account}, {region}): cannot look: {e}"));
                continue;
            }
        };
        match cloud.kms(region).delete_alias(alias).await {
            Ok(_) => {
                let what = format!("alias {alias} ({account}, {region}): deleted");
                progress.emit(Event::Removed { what: what.clone() });
                report.removed.push(what);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => report.failed.push(format!("alias {alias} ({account}, {region}): {e}")),
        }
    }
    Ok(())
}
