//! `custody cleanup`: remove what acquisitions left behind, found in the journal and in AWS, and
//! never the evidence.
//!
//! **The rule.** Cleanup never deletes the last copy of a volume's evidence: a completed evidence copy,
//! or the crash-consistent source snapshot of a volume that has no completed copy. Only
//! `--discard-evidence` (naming the snapshot or volume) removes evidence, and the policies custody writes
//! leave that to a role of its own. Where cleanup keeps something, the report says why.
//!
//! **Runs own what they create.** Every acquisition run has an id, tagged (`CustodyRun`) on everything
//! it creates and kept in its journaled plan. Cleanup's search in AWS lists the snapshots tagged with
//! the case and touches only those of runs this journal knows: another data directory may hold the same
//! case id, and its evidence is not this journal's to judge. Plans journaled before runs had ids get no
//! search by tag at all: only what the journal itself recorded is removed.
//!
//! **Reconcile before removing.** In order: (1) what the journal's outcomes say was created but was
//! never recorded is recorded; a grant asked for without an answer is asked for again (KMS answers with
//! the same id); a temporary key whose CreateKey was never answered is looked for, and adopted only if it
//! carries the run's tags. (2) The snapshots of the case's runs are listed in every account and Region
//! the plans touch, again for a bounded time while a call whose answer was lost may have made one not
//! yet listed (EC2's Describe calls are eventually consistent); each is matched to the plan by its tags,
//! and recorded. (3) A volume whose evidence snapshot exists but is not recorded as evidence gets it
//! recorded (waiting for a copy still in progress, marking a source snapshot that is the evidence with
//! the evidence tag), with how it was found. (4) Only then is what is really temporary removed: the
//! journal's open temporaries in an order that cannot fail on itself (shares, snapshots, grants, aliases,
//! keys), then the case's run snapshots the journal did not know, then aliases this journal asked for.
//! A volume without secured evidence keeps every snapshot of it.

mod discard;
mod found;
mod lost;
mod roles;

use crate::error::AcquireError;
use crate::report::{Event, Progress};
use crate::wait::WaitSettings;
use custody_cloud::{Cloud, CloudError};
use custody_journal::{Journal, ResourceKind, ResourceRecord, Status};
use custody_plan::plan::Plan;
use roles::Roles;
use serde::Serialize;
use std::sync::Arc;

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    pub removed: Vec<String>,
    /// What could not be removed, and why.
    pub failed: Vec<String>,
    /// What was not touched, and why (cases still marked running, evidence, other runs' resources).
    pub skipped: Vec<String>,
    /// Evidence recorded by this cleanup (found after the run that made it stopped), and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recorded: Vec<String>,
}

impl CleanupReport {
    pub fn clean(&self) -> bool {
        self.failed.is_empty()
    }

    fn absorb(&mut self, other: CleanupReport) {
        self.removed.extend(other.removed);
        self.failed.extend(other.failed);
        self.skipped.extend(other.skipped);
        self.recorded.extend(other.recorded);
    }
}

/// How a cleanup runs.
#[derive(Debug, Clone, Default)]
pub struct CleanupOptions {
    /// How long to wait for AWS: a copy still in progress, a snapshot not listed yet.
    pub wait: WaitSettings,
    /// Evidence the examiner decided to discard: snapshot ids (`snap-…`) or volume ids (`vol-…`, every
    /// snapshot kept for that volume).
    pub discard_evidence: Vec<String>,
}

/// Removes what case `case_id` left behind, with the default options.
pub async fn cleanup_case(
    journal: &Journal,
    base: Arc<dyn Cloud>,
    base_role: &str,
    case_id: &str,
    progress: &Progress,
) -> Result<CleanupReport, AcquireError> {
    cleanup_case_with(journal, base, base_role, case_id, &CleanupOptions::default(), progress).await
}

/// Removes what case `case_id` left behind.
pub async fn cleanup_case_with(
    journal: &Journal,
    base: Arc<dyn Cloud>,
    base_role: &str,
    case_id: &str,
    options: &CleanupOptions,
    progress: &Progress,
) -> Result<CleanupReport, AcquireError> {
    let case = journal.case(case_id)?.ok_or_else(|| custody_journal::JournalError::UnknownCase(case_id.to_string()))?;
    let mut report = CleanupReport::default();
    if case.status == Status::Running {
        progress.emit(Event::Warning {
            message: format!(
                "case {case_id} is marked running: if its process died, `custody acquire --resume {case_id}` finishes \
                 it (run that first); this cleanup keeps every copy of the evidence either way"
            ),
        });
    }
    let plans = plans(journal, case_id)?;
    let roles = Roles::new(base, base_role, case_id, &plans);
    let targets = discard::targets(journal, case_id, &plans, &options.discard_evidence)?;
    lost::reconcile(journal, case_id, &plans)?;
    lost::unanswered_shares(journal, case_id)?;
    lost::unanswered_grants(journal, &roles, case_id, &plans, &mut report).await?;
    lost::unanswered_keys(journal, &roles, case_id, &plans, &options.wait, &mut report).await?;
    let mut case_snapshots = found::Found::list(journal, &roles, case_id, &plans, &options.wait, &mut report).await?;
    case_snapshots.record_evidence(journal, &roles, &options.wait, progress, &mut report).await?;
    let keep = case_snapshots.kept(journal)?;
    let mut open = journal.open_temporaries(Some(case_id))?;
    open.sort_by_key(|r| order(r.kind));
    for r in &open {
        if let Some(why) = keep.why(r) {
            report.skipped.push(format!("{} {} ({}, {}): kept: {why}", r.kind.as_str(), r.id, r.account, r.region));
            continue;
        }
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
    case_snapshots.sweep(journal, &roles, &keep, progress, &mut report).await?;
    found::aliases(journal, &roles, case_id, &plans, progress, &mut report).await?;
    discard::discard(journal, &roles, case_id, &targets, progress, &mut report).await?;
    if report.clean() {
        journal.set_case_status(
            case_id,
            if case.status == Status::Succeeded { Status::Succeeded } else { Status::CleanedUp },
        )?;
    }
    Ok(report)
}

/// Cleans up every case of the journal that is not marked running, with the default options (no
/// evidence is discarded).
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
                "case {} is marked running: if its process died, `custody acquire --resume {0}` finishes it; \
                 `custody cleanup --case {0}` then removes what it left",
                case.case_id
            ));
            continue;
        }
        report.absorb(cleanup_case(journal, base.clone(), base_role, &case.case_id, progress).await?);
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
            // The key is in the account whose role acts: named by id (see actions/keys.rs).
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

/// What AWS holds under case `case_id` that this journal does not know: snapshots tagged with the case
/// whose run is none of the journal's. A new acquisition under that case id is refused before it
/// creates anything, so that two journals never share a case id in the same accounts. Answers the
/// findings, and the places that could not be looked at (as warnings: the run goes on, since cleanup
/// never touches another run's resources anyway).
pub async fn foreign_case_resources(
    journal: &Journal,
    base: Arc<dyn Cloud>,
    base_role: &str,
    case_id: &str,
    new_plans: &[Plan],
) -> Result<(Vec<String>, Vec<String>), AcquireError> {
    let known = match journal.case(case_id)? {
        Some(_) => plans(journal, case_id)?,
        None => Vec::new(),
    };
    let runs: std::collections::BTreeSet<String> =
        known.iter().chain(new_plans).map(|p| p.run_id.clone()).filter(|r| !r.is_empty()).collect();
    let roles = Roles::new(base, base_role, case_id, new_plans);
    let mut places = std::collections::BTreeSet::new();
    for p in new_plans {
        places.insert((p.source_account.clone(), p.source_region.clone()));
        places.insert((p.dest_account.clone(), p.dest_region.clone()));
    }
    let (mut found, mut warnings) = (Vec::new(), Vec::new());
    let tags: std::collections::BTreeMap<String, String> =
        [(custody_plan::plan::TAG_CASE.to_string(), case_id.to_string())].into();
    let query = custody_cloud::types::SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags };
    for (account, region) in places {
        let listed = match roles.account(&account).await {
            Ok(cloud) => cloud.ec2(&region).describe_snapshots(&query).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(snapshots) => {
                for s in snapshots {
                    let run = s.tags.get(custody_plan::plan::TAG_RUN);
                    if run.is_some_and(|r| runs.contains(r)) {
                        continue;
                    }
                    let run = run.map_or_else(|| "no run id".to_string(), |r| format!("run {r}"));
                    found.push(format!("snapshot {} in account {account} ({region}), {run}", s.id));
                }
            }
            Err(e) => warnings.push(format!(
                "could not check account {account} ({region}) for snapshots already tagged with case {case_id}: {e}"
            )),
        }
    }
    Ok((found, warnings))
}

/// Checks `--discard-evidence`'s ids against the journal of case `case_id` before anything is done:
/// each must name a snapshot of the case still there, or a volume of the case with one.
pub fn check_discard_evidence(journal: &Journal, case_id: &str, ids: &[String]) -> Result<(), AcquireError> {
    discard::targets(journal, case_id, &plans(journal, case_id)?, ids).map(|_| ())
}
