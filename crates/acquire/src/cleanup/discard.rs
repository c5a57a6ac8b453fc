//! `custody cleanup --case X --discard-evidence ID`: the one deliberate way to remove evidence.
//!
//! The examiner names what goes: a snapshot (`snap-…`) that is the case's evidence or a snapshot kept
//! for a volume without a completed copy, or a volume (`vol-…`), meaning every such snapshot of it.
//! Each removal is journaled as an intended call with its outcome, like every change custody makes.
//! The policies custody writes deny the acquiring roles the deletion of evidence-tagged snapshots; when
//! AWS refuses, the report gives the exact commands for someone who holds that authority (the role
//! `custody policy role --features discard-evidence` writes).

use super::roles::Roles;
use super::CleanupReport;
use crate::error::AcquireError;
use crate::report::{Event, Progress};
use custody_journal::{Intent, Journal, Outcome, ResourceKind};
use custody_plan::plan::{Api, Plan};
use serde_json::json;

/// A snapshot to discard, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    instance: String,
    volume: String,
    snapshot: String,
    account: String,
    region: String,
}

/// The snapshots `ids` name, checked before anything is done: each must be the case's.
pub(crate) fn targets(
    journal: &Journal,
    case_id: &str,
    plans: &[Plan],
    ids: &[String],
) -> Result<Vec<Target>, AcquireError> {
    let mut candidates: Vec<Target> = journal
        .evidence(case_id)?
        .into_iter()
        .map(|e| Target {
            instance: e.instance_id,
            volume: e.volume_id,
            snapshot: e.snapshot_id,
            account: e.account,
            region: e.region,
        })
        .collect();
    // The snapshots of the case the journal knows, with the volume each belongs to (from the outcomes
    // that created them): kept source snapshots and failed evidence copies are among them.
    for r in crate::resolve::journal_resolutions(journal, case_id)? {
        let Some(plan) = plans.iter().find(|p| p.instance_id == r.entry.intent.instance_id) else { continue };
        for v in &plan.volumes {
            if let Some(s) = v.snapshots.iter().find(|s| s.id == r.placeholder) {
                candidates.push(Target {
                    instance: plan.instance_id.clone(),
                    volume: v.volume_id.clone(),
                    snapshot: r.real.clone(),
                    account: s.account.clone(),
                    region: s.region.clone(),
                });
            }
        }
    }
    let gone: Vec<String> = journal
        .resources(case_id)?
        .into_iter()
        .filter(|r| r.kind == ResourceKind::Snapshot && r.removed_at.is_some())
        .map(|r| r.id)
        .collect();
    let mut out: Vec<Target> = Vec::new();
    for id in ids {
        let named: Vec<&Target> = candidates
            .iter()
            .filter(|t| &t.snapshot == id || &t.volume == id)
            .filter(|t| !gone.contains(&t.snapshot))
            .collect();
        if named.is_empty() {
            return Err(AcquireError::Input {
                why: format!(
                    "`{id}` is not a snapshot or volume of case {case_id} with a snapshot still there: \
                     `custody show {case_id}` lists the case's evidence; nothing was changed"
                ),
            });
        }
        for t in named {
            if !out.iter().any(|o| o.snapshot == t.snapshot) {
                out.push(t.clone());
            }
        }
    }
    Ok(out)
}

/// Deletes each target, journaled; a refusal gives the commands for someone who may.
pub(crate) async fn discard(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    targets: &[Target],
    progress: &Progress,
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    for t in targets {
        let cloud = match roles.account(&t.account).await {
            Ok(c) => c,
            Err(e) => {
                report
                    .failed
                    .push(format!("snapshot {} ({}, {}): cannot discard it: {e}", t.snapshot, t.account, t.region));
                continue;
            }
        };
        let intent = Intent {
            case_id: case_id.to_string(),
            instance_id: t.instance.clone(),
            step_id: format!("discard-evidence:{}", t.volume),
            api: Api::Ec2DeleteSnapshot.to_string(),
            account: t.account.clone(),
            region: t.region.clone(),
            signer: roles.role_of_account(&t.account),
            params: json!({"snapshot_id": t.snapshot, "why": "the examiner asked to discard this evidence"}),
        };
        let entry = journal.intend(&intent)?;
        match cloud.ec2(&t.region).delete_snapshot(&t.snapshot).await {
            Ok(receipt) => {
                journal.record_outcome(entry, &Outcome::Ok { result: json!({}), request_id: receipt.request_id })?;
                let how = "evidence discarded, as the examiner asked";
                journal.resource_removed(case_id, ResourceKind::Snapshot, &t.snapshot, &t.account, &t.region, how)?;
                let what = format!("snapshot {} of {} ({}, {}): {how}", t.snapshot, t.volume, t.account, t.region);
                progress.emit(Event::Removed { what: what.clone() });
                report.removed.push(what);
            }
            Err(e) if e.is_not_found() => {
                journal
                    .record_outcome(entry, &Outcome::Ok { result: json!({"already_gone": true}), request_id: None })?;
                journal.resource_removed(
                    case_id,
                    ResourceKind::Snapshot,
                    &t.snapshot,
                    &t.account,
                    &t.region,
                    "already gone",
                )?;
            }
            Err(e) => {
                let refused = e.is_access_denied();
                journal.record_outcome(
                    entry,
                    &Outcome::Failed { code: e.code().map(str::to_string), message: e.to_string(), request_id: None },
                )?;
                let mut why = format!(
                    "snapshot {} of {} ({}, {}): not discarded: {e}",
                    t.snapshot, t.volume, t.account, t.region
                );
                if refused {
                    why.push_str(&format!(
                        "\n  custody's acquiring roles may not delete evidence. Someone allowed to (the role `custody policy \
                         role --features discard-evidence` writes) can run, in account {}:\n    aws ec2 delete-snapshot \
                         --region {} --snapshot-id {}",
                        t.account, t.region, t.snapshot
                    ));
                }
                report.failed.push(why);
            }
        }
    }
    Ok(())
}
