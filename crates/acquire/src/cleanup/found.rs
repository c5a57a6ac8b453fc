//! The case's snapshots as AWS lists them, matched to the journaled plans by their tags: what a lost
//! answer created is recorded, evidence not yet recorded is recorded, and only what is really temporary
//! (and of a run this journal knows) is removed.

use super::roles::Roles;
use super::CleanupReport;
use crate::error::AcquireError;
use crate::report::{Event, Progress};
use crate::wait::{self, WaitSettings};
use custody_cloud::types::{SnapshotInfo, SnapshotQuery};
use custody_cloud::Ec2;
use custody_journal::{Evidence, Journal, NewResource, ResourceKind, ResourceRecord};
use custody_plan::plan::{
    Action, Api, Plan, PlannedSnapshot, VolumePlan, EVIDENCE_TAG_VALUE, TAG_CASE, TAG_EVIDENCE, TAG_INSTANCE, TAG_RUN,
    TAG_VOLUME,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;

/// Which planned snapshot a real one is.
#[derive(Debug, Clone)]
struct Owner {
    instance: String,
    volume: String,
    placeholder: String,
    evidence: bool,
    /// The crash-consistent source snapshot (the first of the volume's planned snapshots).
    source: bool,
    account: String,
    region: String,
}

/// A snapshot listed in one account and Region.
struct Listed {
    account: String,
    region: String,
    info: SnapshotInfo,
    /// The run it belongs to is one of this journal's.
    own: bool,
}

/// The case's snapshots, listed and matched.
pub(crate) struct Found {
    case_id: String,
    plans: Vec<Plan>,
    /// Plans journaled before runs had ids: no snapshot is removed on the word of its tags alone.
    legacy: bool,
    listed: Vec<Listed>,
    /// Real snapshot id → the planned snapshot it is.
    owners: BTreeMap<String, Owner>,
}

/// Why the journal's open temporaries are kept: the volumes whose evidence is not secured.
pub(crate) struct Keep {
    case_id: String,
    unsecured: BTreeSet<(String, String)>,
    /// The volumes whose crash-consistent source snapshot is listed, completed: an intermediate copy of
    /// such a volume holds nothing the source does not.
    sources_listed: BTreeSet<(String, String)>,
    owners: BTreeMap<String, Owner>,
}

impl Keep {
    /// Why `r` must not be removed, if it must not.
    pub(crate) fn why(&self, r: &ResourceRecord) -> Option<String> {
        if r.kind != ResourceKind::Snapshot {
            return None;
        }
        let Some(owner) = self.owners.get(&r.id) else {
            return Some(
                "the journal does not say which volume it belongs to, so it may be the only copy of one's evidence"
                    .to_string(),
            );
        };
        if owner.evidence {
            return Some("it is the evidence".to_string());
        }
        self.unsecured(owner)
    }

    /// Why the source snapshot of a volume without secured evidence is kept (an intermediate copy,
    /// such as path 8's copy under the temporary key, is not: the source snapshot holds the same data).
    fn unsecured(&self, owner: &Owner) -> Option<String> {
        let volume = (owner.instance.clone(), owner.volume.clone());
        if !self.unsecured.contains(&volume) {
            return None;
        }
        let whose = if owner.source {
            "so this snapshot may be its only copy"
        } else if !self.sources_listed.contains(&volume) {
            // An intermediate copy is temporary only while the source it was made from is there.
            "and its source snapshot is not listed (deleted, or not completed), so this copy may be its only one"
        } else {
            return None;
        };
        Some(format!(
            "the evidence of {volume} has no completed copy, {whose} (`custody acquire --resume {case}` tries the \
             copy again; only `custody cleanup --case {case} --discard-evidence {volume}` removes it)",
            volume = owner.volume,
            case = self.case_id
        ))
    }
}

impl Found {
    /// Lists the snapshots tagged with the case in every account and Region the plans touch, and
    /// matches those of this journal's runs to the plans. While the journal holds a snapshot-making call
    /// whose answer was lost, the listing is repeated for a bounded time until that snapshot shows.
    pub(crate) async fn list(
        journal: &Journal,
        roles: &Roles,
        case_id: &str,
        plans: &[Plan],
        settings: &WaitSettings,
        report: &mut CleanupReport,
    ) -> Result<Found, AcquireError> {
        let runs: BTreeSet<&str> = plans.iter().map(|p| p.run_id.as_str()).filter(|r| !r.is_empty()).collect();
        let mut found = Found {
            case_id: case_id.to_string(),
            plans: plans.to_vec(),
            legacy: plans.iter().any(|p| p.run_id.is_empty()),
            listed: Vec::new(),
            owners: BTreeMap::new(),
        };
        found.owners_from_journal(journal)?;
        let lost = lost_snapshot_calls(journal, case_id, plans)?;
        let mut places = BTreeSet::new();
        for p in plans {
            places.insert((p.source_account.clone(), p.source_region.clone()));
            places.insert((p.dest_account.clone(), p.dest_region.clone()));
        }
        let mut foreign: BTreeMap<String, usize> = BTreeMap::new();
        let stop = AtomicBool::new(false);
        for (account, region) in &places {
            let cloud = match roles.account(account).await {
                Ok(c) => c,
                Err(e) => {
                    report.failed.push(format!("account {account}: cannot look for leftovers: {e}"));
                    continue;
                }
            };
            let ec2 = cloud.ec2(region);
            let tags: BTreeMap<String, String> = [(TAG_CASE.to_string(), case_id.to_string())].into();
            let query = SnapshotQuery { ids: Vec::new(), owned_by_caller: true, tags };
            let known: BTreeSet<String> = found.owners.keys().cloned().collect();
            let expected = lost.get(&(account.clone(), region.clone())).copied().unwrap_or(0);
            let is_own = |s: &SnapshotInfo| s.tags.get(TAG_RUN).is_some_and(|r| runs.contains(r.as_str()));
            let mut listing = match ec2.describe_snapshots(&query).await {
                Ok(mut listing) => {
                    let new = listing.iter().filter(|s| is_own(s) && !known.contains(&s.id)).count();
                    if new < expected {
                        // A lost answer's snapshot may not be listed yet: look again for a while.
                        let unknown = |s: &SnapshotInfo| is_own(s) && !known.contains(&s.id);
                        match wait::look_for_snapshots(ec2.as_ref(), &query, unknown, expected, settings, &stop).await {
                            Ok(more) => {
                                for s in more {
                                    if !listing.iter().any(|l| l.id == s.id) {
                                        listing.push(s);
                                    }
                                }
                            }
                            Err(e) => {
                                report.failed.push(format!("snapshots of {account} ({region}): cannot look: {e}"))
                            }
                        }
                    }
                    listing
                }
                Err(e) => {
                    report.failed.push(format!("snapshots of {account} ({region}): cannot look: {e}"));
                    continue;
                }
            };
            // A listing made soon after a snapshot was created may not show it yet (listings are
            // eventually consistent, EC2 Developer Guide, "Eventual consistency in the Amazon EC2 API",
            // <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>). Whether a
            // volume's source snapshot is there and completed decides whether its intermediate copy
            // may go, so a source the journal knows and the listing lacks is asked for by id, one at
            // a time: "If you specify an invalid snapshot ID, an error is returned" for the whole call
            // (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html>).
            // Not found or not answered: it is not known to be there, and that copy is kept.
            let unlisted: Vec<String> = found
                .owners
                .iter()
                .filter(|(_, o)| o.source && &o.account == account && &o.region == region)
                .filter(|(id, _)| !listing.iter().any(|l| &l.id == *id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in unlisted {
                let by_id = SnapshotQuery { ids: vec![id], owned_by_caller: true, tags: query.tags.clone() };
                if let Ok(more) = ec2.describe_snapshots(&by_id).await {
                    listing.extend(more);
                }
            }
            for info in listing {
                let own = is_own(&info) || (found.legacy && found.owners.contains_key(&info.id));
                if !own {
                    let run = info.tags.get(TAG_RUN).cloned().unwrap_or_else(|| "no run id".to_string());
                    *foreign.entry(run).or_default() += 1;
                }
                found.listed.push(Listed { account: account.clone(), region: region.clone(), info, own });
            }
        }
        if !foreign.is_empty() {
            let runs: Vec<String> = foreign.iter().map(|(r, n)| format!("{r} ({n})")).collect();
            report.skipped.push(format!(
                "snapshots tagged {TAG_CASE}={case_id} of runs this journal does not know were left alone: {} — another \
                 data directory (journal) may use the same case id, and they are its to judge",
                runs.join(", ")
            ));
        }
        found.match_listed(journal)?;
        Ok(found)
    }

    /// The planned snapshot of every real id the journal's outcomes name.
    fn owners_from_journal(&mut self, journal: &Journal) -> Result<(), AcquireError> {
        for r in crate::resolve::journal_resolutions(journal, &self.case_id)? {
            if let Some(owner) = self.owner_of(&r.entry.intent.instance_id, &r.placeholder) {
                self.owners.insert(r.real, owner);
            }
        }
        Ok(())
    }

    /// The planned snapshot `placeholder` of `instance`'s plan.
    fn owner_of(&self, instance: &str, placeholder: &str) -> Option<Owner> {
        let plan = self.plans.iter().find(|p| p.instance_id == instance)?;
        plan.volumes.iter().find_map(|v| {
            let s = v.snapshots.iter().find(|s| s.id == placeholder)?;
            Some(Owner {
                instance: instance.to_string(),
                volume: v.volume_id.clone(),
                placeholder: s.id.clone(),
                evidence: s.evidence,
                source: v.is_source(&s.id),
                account: s.account.clone(),
                region: s.region.clone(),
            })
        })
    }

    /// Matches the listed snapshots of this journal's runs to their planned snapshots, by their tags,
    /// and records in the journal those it did not know (a lost answer made them).
    fn match_listed(&mut self, journal: &Journal) -> Result<(), AcquireError> {
        let known: BTreeSet<String> = journal.resources(&self.case_id)?.into_iter().map(|r| r.id).collect();
        let mut matched = Vec::new();
        for l in self.listed.iter().filter(|l| l.own && !self.owners.contains_key(&l.info.id)) {
            let tags = &l.info.tags;
            let Some(instance) = tags.get(TAG_INSTANCE) else { continue };
            let Some(plan) = self
                .plans
                .iter()
                .find(|p| &p.instance_id == instance && tags.get(TAG_RUN).is_some_and(|r| r == &p.run_id))
            else {
                continue;
            };
            let copy_of = tags.get(TAG_VOLUME);
            let volume = copy_of.or(l.info.volume_id.as_ref());
            let Some(v) = plan.volumes.iter().find(|v| Some(&v.volume_id) == volume) else { continue };
            let evidence_tag = tags.get(TAG_EVIDENCE).is_some_and(|t| t == EVIDENCE_TAG_VALUE);
            let planned = match copy_of {
                // A copy: the evidence copy carries the evidence tag from its creation; the other copy
                // is the intermediate one.
                Some(_) if evidence_tag => v.evidence_copy(),
                Some(_) => v.intermediate_copy(),
                None => v.source(),
            };
            let Some(planned) = planned else { continue };
            if let Some(owner) = self.owner_of(&plan.instance_id, &planned.id) {
                matched.push((l.info.id.clone(), owner));
            }
        }
        for (id, owner) in matched {
            if !known.contains(&id) {
                journal.record_resource(&NewResource {
                    case_id: self.case_id.clone(),
                    instance_id: owner.instance.clone(),
                    kind: ResourceKind::Snapshot,
                    id: id.clone(),
                    account: owner.account.clone(),
                    region: owner.region.clone(),
                    temporary: !owner.evidence,
                    detail: json!({"found": "by its run tags, after the run that made it stopped"}),
                })?;
            }
            self.owners.insert(id, owner);
        }
        Ok(())
    }

    /// Records as evidence each volume's evidence snapshot that exists and is not recorded yet: a copy
    /// still in progress is waited for; a source snapshot that is the evidence is marked with the
    /// evidence tag first.
    pub(crate) async fn record_evidence(
        &mut self,
        journal: &Journal,
        roles: &Roles,
        settings: &WaitSettings,
        progress: &Progress,
        report: &mut CleanupReport,
    ) -> Result<(), AcquireError> {
        let stop = AtomicBool::new(false);
        for (plan, v, planned, id, owner) in self.unrecorded(journal)? {
            let cloud = match roles.account(&owner.account).await {
                Ok(c) => c,
                Err(e) => {
                    report.failed.push(format!("evidence {id} of {}: cannot look at it: {e}", v.volume_id));
                    continue;
                }
            };
            let ec2 = cloud.ec2(&owner.region);
            let wait = Waiting { settings, progress, stop: &stop };
            let Some(info) = self.completed(ec2.as_ref(), v, &id, &owner, &wait, report).await else { continue };
            let mut tags = info.tags.clone();
            if v.is_source(&planned.id) {
                mark_evidence(ec2.as_ref(), v, &id, &mut tags, report).await;
            }
            journal.record_evidence(&Evidence {
                case_id: self.case_id.clone(),
                instance_id: plan.instance_id.clone(),
                volume_id: v.volume_id.clone(),
                snapshot_id: id.clone(),
                account: owner.account.clone(),
                region: owner.region.clone(),
                key_arn: info.kms_key_id.clone(),
                path: v.path.to_string(),
                tags,
                recorded_at: String::new(),
            })?;
            let what = format!(
                "{}: snapshot {id} ({}, {}) recorded as evidence: found {}, complete",
                v.volume_id,
                owner.account,
                owner.region,
                how_found(journal, &self.case_id, &id)?
            );
            progress.emit(Event::Warning { message: what.clone() });
            report.recorded.push(what);
        }
        Ok(())
    }

    /// Each volume whose evidence is not recorded and whose evidence snapshot is known: its plan, the
    /// volume, the planned evidence snapshot, its real id and where it is.
    #[expect(clippy::type_complexity, reason = "one tuple per volume, taken apart at once by the caller")]
    fn unrecorded(
        &self,
        journal: &Journal,
    ) -> Result<Vec<(&Plan, &VolumePlan, &PlannedSnapshot, String, Owner)>, AcquireError> {
        let secured: BTreeSet<(String, String)> =
            journal.evidence(&self.case_id)?.into_iter().map(|e| (e.instance_id, e.volume_id)).collect();
        let mut out = Vec::new();
        for plan in &self.plans {
            for v in &plan.volumes {
                if secured.contains(&(plan.instance_id.clone(), v.volume_id.clone())) {
                    continue;
                }
                let Some(planned) = v.snapshots.iter().find(|s| s.evidence) else { continue };
                let found = self
                    .owners
                    .iter()
                    .find(|(_, o)| o.instance == plan.instance_id && o.placeholder == planned.id)
                    .map(|(id, o)| (id.clone(), o.clone()));
                if let Some((id, owner)) = found {
                    out.push((plan, v, planned, id, owner));
                }
            }
        }
        Ok(out)
    }

    /// The evidence snapshot `id` of `v` once complete; `None` (and why, in the report) when it
    /// failed or is not complete yet.
    async fn completed(
        &self,
        ec2: &dyn Ec2,
        v: &VolumePlan,
        id: &str,
        owner: &Owner,
        wait: &Waiting<'_>,
        report: &mut CleanupReport,
    ) -> Option<SnapshotInfo> {
        let step = format!("cleanup:evidence:{}", v.volume_id);
        let ids = [id.to_string()];
        match wait::snapshots_completed(ec2, &ids, &step, Some(&v.volume_id), wait.settings, wait.progress, wait.stop)
            .await
        {
            Ok(mut infos) => infos.pop(),
            Err(AcquireError::Refused { why, .. }) => {
                report.skipped.push(format!(
                    "snapshot {id} ({}, {}) of {} is kept: {why}; it carries the evidence tag, which custody's \
                     policies protect (`custody cleanup --case {} --discard-evidence {id}` removes it)",
                    owner.account, owner.region, v.volume_id, self.case_id
                ));
                None
            }
            Err(e) => {
                report.failed.push(format!(
                    "the evidence {id} of {} is not complete yet ({e}): run cleanup again later; every \
                     snapshot of the volume is kept until then",
                    v.volume_id
                ));
                None
            }
        }
    }

    /// What must be kept, now that the evidence is recorded.
    pub(crate) fn kept(&self, journal: &Journal) -> Result<Keep, AcquireError> {
        let secured: BTreeSet<(String, String)> =
            journal.evidence(&self.case_id)?.into_iter().map(|e| (e.instance_id, e.volume_id)).collect();
        let unsecured = self
            .plans
            .iter()
            .flat_map(|p| p.volumes.iter().map(move |v: &VolumePlan| (p.instance_id.clone(), v.volume_id.clone())))
            .filter(|k| !secured.contains(k))
            .collect();
        let sources_listed = self
            .listed
            .iter()
            .filter(|l| l.info.state == "completed")
            .filter_map(|l| self.owners.get(&l.info.id))
            .filter(|o| o.source)
            .map(|o| (o.instance.clone(), o.volume.clone()))
            .collect();
        Ok(Keep { case_id: self.case_id.clone(), unsecured, sources_listed, owners: self.owners.clone() })
    }

    /// Removes the listed snapshots of this journal's runs that are really temporary and still there.
    pub(crate) async fn sweep(
        &self,
        journal: &Journal,
        roles: &Roles,
        keep: &Keep,
        progress: &Progress,
        report: &mut CleanupReport,
    ) -> Result<(), AcquireError> {
        let evidence: BTreeSet<String> = journal.evidence(&self.case_id)?.into_iter().map(|e| e.snapshot_id).collect();
        let resources = journal.resources(&self.case_id)?;
        // What the journal records is removed (or kept) by the journal's own list, and said there once.
        let journaled: BTreeSet<&str> = resources.iter().map(|r| r.id.as_str()).collect();
        for l in self.listed.iter().filter(|l| l.own) {
            let s = &l.info;
            let marked = s.tags.contains_key(TAG_EVIDENCE);
            if marked || evidence.contains(&s.id) || journaled.contains(s.id.as_str()) {
                continue;
            }
            let Some(owner) = self.owners.get(&s.id) else {
                report.skipped.push(format!(
                    "snapshot {} ({}, {}): kept: its tags do not say which planned snapshot it is",
                    s.id, l.account, l.region
                ));
                continue;
            };
            if owner.evidence {
                continue;
            }
            if let Some(why) = keep.unsecured(owner) {
                report.skipped.push(format!("snapshot {} ({}, {}): kept: {why}", s.id, l.account, l.region));
                continue;
            }
            let cloud = match roles.account(&l.account).await {
                Ok(c) => c,
                Err(e) => {
                    report.failed.push(format!("snapshot {} ({}, {}): {e}", s.id, l.account, l.region));
                    continue;
                }
            };
            match cloud.ec2(&l.region).delete_snapshot(&s.id).await {
                Ok(_) => {
                    let how = "a temporary snapshot of the case's run, found by its tags: deleted";
                    journal.resource_removed(
                        &self.case_id,
                        ResourceKind::Snapshot,
                        &s.id,
                        &l.account,
                        &l.region,
                        how,
                    )?;
                    let what = format!("snapshot {} ({}, {}): {how}", s.id, l.account, l.region);
                    progress.emit(Event::Removed { what: what.clone() });
                    report.removed.push(what);
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => report.failed.push(format!("snapshot {} ({}, {}): {e}", s.id, l.account, l.region)),
            }
        }
        Ok(())
    }
}

/// How long, and how, cleanup waits for a snapshot.
struct Waiting<'a> {
    settings: &'a WaitSettings,
    progress: &'a Progress,
    stop: &'a AtomicBool,
}

/// Marks the source snapshot `id` of `v`, which is itself the evidence, with the evidence tag when it
/// does not carry it yet (`tags`: its tags, which get the mark). A failure is reported; the snapshot is
/// recorded as evidence all the same.
async fn mark_evidence(
    ec2: &dyn Ec2,
    v: &VolumePlan,
    id: &str,
    tags: &mut BTreeMap<String, String>,
    report: &mut CleanupReport,
) {
    if tags.get(TAG_EVIDENCE).map(String::as_str) == Some(EVIDENCE_TAG_VALUE) {
        return;
    }
    let mark: BTreeMap<String, String> = [(TAG_EVIDENCE.to_string(), EVIDENCE_TAG_VALUE.to_string())].into();
    match ec2.tag_snapshot(id, &mark).await {
        Ok(_) => tags.extend(mark),
        Err(e) => report.failed.push(format!(
            "the evidence {id} of {} could not be marked with the evidence tag ({e}); it is recorded as evidence \
             all the same",
            v.volume_id
        )),
    }
}

/// How the snapshot `id` came to be known, in words.
fn how_found(journal: &Journal, case_id: &str, id: &str) -> Result<&'static str, AcquireError> {
    let detail = journal.resources(case_id)?.into_iter().find(|r| r.id == id).map(|r| r.detail);
    Ok(match detail.as_ref().and_then(|d| d.get("found")) {
        Some(_) => "by its run tags after the run that made it stopped",
        None => "in the journal",
    })
}

/// Per account and Region, how many snapshots calls whose answer was lost may have made (CreateSnapshots:
/// one per volume; CopySnapshot: one).
fn lost_snapshot_calls(
    journal: &Journal,
    case_id: &str,
    plans: &[Plan],
) -> Result<BTreeMap<(String, String), usize>, AcquireError> {
    let mut out: BTreeMap<(String, String), usize> = BTreeMap::new();
    for api in [Api::Ec2CreateSnapshots, Api::Ec2CopySnapshot] {
        for entry in super::lost::unanswered(journal, case_id, api)? {
            let i = &entry.intent;
            let n = if api == Api::Ec2CreateSnapshots {
                plans.iter().find(|p| p.instance_id == i.instance_id).map_or(1, |p| p.volumes.len())
            } else {
                1
            };
            *out.entry((i.account.clone(), i.region.clone())).or_default() += n;
        }
    }
    Ok(out)
}

/// Deletes by name the temporary aliases this journal asked for (the plans grant kms:DeleteAlias, not
/// kms:ListAliases): an alias whose CreateAlias answer was lost is not in the journal's resources. An
/// alias of a plan whose CreateAlias this journal never asked for is another run's, and left alone.
pub(crate) async fn aliases(
    journal: &Journal,
    roles: &Roles,
    case_id: &str,
    plans: &[Plan],
    progress: &Progress,
    report: &mut CleanupReport,
) -> Result<(), AcquireError> {
    let entries = journal.entries(case_id)?;
    let removed: BTreeSet<String> = journal
        .resources(case_id)?
        .into_iter()
        .filter(|r| r.kind == ResourceKind::Alias && r.removed_at.is_some())
        .map(|r| r.id)
        .collect();
    for p in plans {
        for step in &p.steps {
            let Action::CreateKey { alias, .. } = &step.action else { continue };
            let asked = entries.iter().any(|e| {
                e.intent.api == Api::KmsCreateAlias.as_str()
                    && e.intent.step_id == step.id
                    && e.intent.instance_id == p.instance_id
            });
            if !asked || removed.contains(alias) {
                continue;
            }
            let (account, region) = (&p.source_account, &p.source_region);
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
    }
    Ok(())
}
