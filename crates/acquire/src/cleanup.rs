//! `custody cleanup`: remove what acquisitions left behind, found in the journal and in AWS.
//!
//! A run cleans up after itself; what it could not remove (the process was killed, a call was
//! refused, the examiner kept a source snapshot) stays open in the journal. Cleanup of a case removes
//! the journal's open temporaries in an order that cannot fail on itself (shares before snapshots,
//! grants, aliases before their keys), then looks in AWS, in every account and Region the case's
//! plans touch, for what the journal may not know (a resource created just before the process died):
//! snapshots tagged with the case that are not evidence, keys tagged with the case not yet pending
//! deletion, aliases of the case's prefix. Evidence is never removed.

use crate::error::AcquireError;
use crate::report::{Event, Progress};
use custody_cloud::types::SnapshotQuery;
use custody_cloud::{Cloud, CloudError, SessionName};
use custody_journal::{Journal, ResourceKind, ResourceRecord, Status};
use custody_plan::plan::{session_name, Action, Plan, TAG_CASE};
use serde::Serialize;
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
    let roles = Roles::new(base, base_role, case_id, &plans);
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
        journal.set_case_status(case_id, if case.status == Status::Succeeded { Status::Succeeded } else { Status::CleanedUp })?;
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
    let gone = |e: CloudError, done: &str| if e.is_not_found() { Ok("already gone".to_string()) } else { Err(e).map(|_: ()| done.to_string()) };
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
    let known: BTreeSet<String> = journal.resources(case_id)?.into_iter().filter(|r| !r.temporary).map(|r| r.id).collect();
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
                for s in found.into_iter().filter(|s| !evidence.contains(&s.id) && !known.contains(&s.id)) {
                    match cloud.ec2(region).delete_snapshot(&s.id).await {
                        Ok(_) => {
                            let what = format!("snapshot {} ({account}, {region}): tagged with the case, deleted", s.id);
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
    for (account, region, alias) in &aliases {
        let Ok(cloud) = roles.account(account).await else { continue };
        let kms = cloud.kms(region);
        let Ok(list) = kms.list_aliases(None).await else { continue };
        for a in list.into_iter().filter(|a| &a.name == alias) {
            match kms.delete_alias(&a.name).await {
                Ok(_) => report.removed.push(format!("alias {} ({account}, {region}): deleted", a.name)),
                Err(e) if e.is_not_found() => {}
                Err(e) => report.failed.push(format!("alias {} ({account}, {region}): {e}", a.name)),
            }
            if let Some(key) = a.target_key_id {
                match kms.schedule_key_deletion(&key, custody_plan::plan::TEMP_KEY_DELETION_DAYS).await {
                    Ok(_) => report.removed.push(format!("key {key} ({account}, {region}): scheduled for deletion")),
                    Err(e) if e.is_not_found() || e.is_code("KMSInvalidStateException") => {}
                    Err(e) => report.failed.push(format!("key {key} ({account}, {region}): {e}")),
                }
            }
        }
    }
    Ok(())
}
