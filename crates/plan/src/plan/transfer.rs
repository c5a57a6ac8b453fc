//! The steps of each path, per volume: transfer (or read) steps, then cleanup steps, and the
//! snapshots the volume goes through.
//!
//! | path | transfer | cleanup |
//! |---|---|---|
//! | 1 | kept; or copy (other Region); or share + copy (other account) | unshare, delete source snapshot |
//! | 2, 3 | kept; or copy in place under the forensic key | delete source snapshot |
//! | 4 | copy into the destination Region under the forensic key | delete source snapshot |
//! | 5 | grant for the forensic role, share, copy | retire grant, unshare, delete source snapshot |
//! | 6, 7 | share, copy | unshare, delete source snapshot |
//! | 8 | temporary key + alias, copy under it, share, copy (aws/ebs, or a customer key only the source role may use) | unshare, delete both intermediates, delete alias, schedule key deletion |
//! | 9 | read blocks with the EBS direct APIs | none (the snapshot is the evidence) |

use super::context::{Ctx, KeyRef, Signer, SnapRef};
use super::select::Choice;
use super::{kms, requests, Action, Call, Path, Phase, PlanError, PlannedSnapshot, Step};
use crate::inventory::{EncryptionByDefault, Volume};

/// What one volume adds to the plan.
pub(crate) struct VolumeSteps {
    pub transfer: Vec<Step>,
    pub cleanup: Vec<Step>,
    pub snapshots: Vec<PlannedSnapshot>,
    /// The evidence snapshot of the volume.
    pub evidence: Option<SnapRef>,
}

/// When the temporary key is looked for: KMS CreateKey takes no idempotency token, so a key whose
/// CreateKey answer a crash lost is found by listing the keys.
const ASKED_CREATE_KEY_UNANSWERED: &str =
    "the journal holds a CreateKey whose answer was lost (a run killed mid-call): the key is looked for";

/// A call.
pub(crate) fn call(
    api: &str,
    account: &str,
    region: &str,
    signer: &Signer,
    requests: Vec<super::AuthzRequest>,
) -> Call {
    Call {
        api: api.to_string(),
        account: account.to_string(),
        region: region.to_string(),
        signer: signer.role_arn.clone(),
        requests,
        when: None,
    }
}

/// A step.
pub(crate) fn step(
    id: String,
    title: String,
    phase: Phase,
    action: Action,
    volume: Option<&Volume>,
    calls: Vec<Call>,
) -> Step {
    Step {
        id,
        title,
        phase,
        action,
        volume_id: volume.map(|v| v.id.clone()),
        calls,
        creates_grants: Vec::new(),
        creates_keys: Vec::new(),
    }
}

impl VolumeSteps {
    /// `snap` is the volume's evidence.
    fn keep_as_evidence(&mut self, snap: &SnapRef) {
        self.snapshots.push(planned(snap, true));
        self.evidence = Some(snap.clone());
    }

    /// The source snapshot `src` is itself the volume's evidence: it is marked with the evidence tag
    /// first (CreateSnapshots tags all of an instance's snapshots alike, so it could not be marked at
    /// creation), then kept.
    fn keep_source_as_evidence(&mut self, ctx: &Ctx, volume: &Volume, src: &SnapRef) {
        let signer = &ctx.source;
        self.transfer.push(step(
            format!("tag-evidence:{}", volume.id),
            format!("Mark {} as evidence (tag {}={})", src.id, super::TAG_EVIDENCE, super::EVIDENCE_TAG_VALUE),
            Phase::Transfer,
            Action::TagEvidence { snapshot: src.id.clone() },
            Some(volume),
            vec![call(
                "ec2:CreateTags",
                &src.account,
                &src.region,
                signer,
                vec![requests::tag_evidence(ctx, signer, src)],
            )],
        ));
        let mut marked = src.clone();
        marked.tags.push((super::TAG_EVIDENCE.to_string(), super::EVIDENCE_TAG_VALUE.to_string()));
        self.keep_as_evidence(&marked);
    }
}

/// CreateVolume from the evidence `snap` of `volume` in `az`, by the destination role, then wait for
/// it (ec2:DescribeVolumes). Only where the evidence is in the destination account and Region: path 9
/// leaves it in the source account, which custody does not create volumes in.
pub(crate) fn volume_step(ctx: &Ctx, volume: &Volume, snap: Option<&SnapRef>, az: &str) -> Result<Step, PlanError> {
    let refuse = |why: String| PlanError::VolumeZone { availability_zone: az.to_string(), why };
    if !crate::inventory::arn::is_zone_of(az, &ctx.dst_region) {
        return Err(refuse(format!(
            "expected an availability zone of the destination Region {}, such as `{}a`",
            ctx.dst_region, ctx.dst_region
        )));
    }
    let snap = snap.filter(|s| s.account == ctx.dst_account && s.region == ctx.dst_region).ok_or_else(|| {
        refuse(format!(
            "the evidence of {} stays in account {} (path 9, the direct read): custody creates volumes only in the \
             forensic account {}",
            volume.id, ctx.src_account, ctx.dst_account
        ))
    })?;
    let dest = ctx.dest()?;
    let new_volume = format!("vol-evidence-{}", volume.id.trim_start_matches("vol-"));
    let tags = ctx.volume_tags(volume);
    // EC2 encrypts a volume made from an unencrypted snapshot when encryption by default is on (EBS
    // User Guide, "Enable Amazon EBS encryption by default").
    let by_default = match &snap.key {
        Some(_) => EncryptionByDefault::Off,
        None => ctx.encryption_by_default(&snap.account, &snap.region),
    };
    let default_key = match by_default {
        EncryptionByDefault::On { key_arn } => Some(KeyRef::parse(key_arn)),
        _ => None,
    };
    let mut reqs = requests::create_volume(ctx, dest, snap, snap.key.as_ref().or(default_key.as_ref()), az, &tags);
    match (&snap.key, &snap.ebs_id, &default_key) {
        (Some(k), Some(ebs_id), _) => reqs.extend(kms::create_volume_key(dest, k, Some(ebs_id), &new_volume)),
        (None, _, Some(k)) => reqs.extend(kms::create_volume_key(dest, k, None, &new_volume)),
        _ => {}
    }
    if let EncryptionByDefault::Unknown { unreadable } = by_default {
        assume_unencrypted(&mut reqs, "ec2:CreateVolume", &snap.account, &snap.region, unreadable);
    }
    Ok(step(
        format!("create-volume:{}", volume.id),
        format!("Create a volume from {} in {az} (account {}), and wait for it to be available", snap.id, dest.account),
        Phase::Transfer,
        Action::CreateVolume {
            snapshot: snap.id.clone(),
            volume: new_volume,
            availability_zone: az.to_string(),
            tags: tags.iter().cloned().collect(),
        },
        Some(volume),
        vec![
            call("ec2:CreateVolume", &snap.account, &snap.region, dest, reqs),
            call(
                "ec2:DescribeVolumes",
                &snap.account,
                &snap.region,
                dest,
                vec![requests::ec2_describe(dest, "ec2:DescribeVolumes", &snap.region)],
            ),
        ],
    ))
}

/// Marks the first `api` request of `reqs` as resting on encryption by default being off in `account`
/// and `region`, which the inventory does not say: were it on, EC2 would encrypt what the call makes
/// under a key whose requests nothing checked.
fn assume_unencrypted(reqs: &mut [super::AuthzRequest], api: &str, account: &str, region: &str, unreadable: bool) {
    let Some(r) = reqs.iter_mut().find(|r| r.action == api) else { return };
    let why = if unreadable { "could not be read" } else { "is not in the inventory" };
    let earlier = r.inferred.take().map(|e| format!("{e}; and ")).unwrap_or_default();
    r.inferred = Some(format!(
        "{earlier}whether EBS encryption by default is on in account {account} ({region}) {why}: custody assumes it is off. \
         Were it on, EC2 would encrypt the unencrypted data under the default key with KMS requests this check did \
         not cover (custody collect reads it with ec2:GetEbsEncryptionByDefault)"
    ));
}

fn planned(snap: &SnapRef, evidence: bool) -> PlannedSnapshot {
    PlannedSnapshot {
        id: snap.id.clone(),
        account: snap.account.clone(),
        region: snap.region.clone(),
        key_arn: snap.key.as_ref().map(|k| k.arn.clone()),
        ebs_id: snap.ebs_id.clone(),
        evidence,
    }
}

/// The steps of `volume` on the path chosen.
pub(crate) fn volume_steps(ctx: &Ctx, volume: &Volume, choice: &Choice) -> Result<VolumeSteps, PlanError> {
    let src = ctx.source_snapshot(volume);
    let mut out = VolumeSteps { transfer: Vec::new(), cleanup: Vec::new(), snapshots: Vec::new(), evidence: None };
    let forensic_key = || {
        ctx.forensic_key.clone().ok_or_else(|| PlanError::NoForensicKey {
            volume_id: volume.id.clone(),
            region: ctx.dst_region.clone(),
            path: choice.path,
        })
    };
    match choice.path {
        Path::DirectRead => {
            out.keep_source_as_evidence(ctx, volume, &src);
            out.transfer.push(read_step(ctx, volume, &src));
        }
        Path::Unencrypted if ctx.same_account() && ctx.same_region() => out.keep_source_as_evidence(ctx, volume, &src),
        // Seed option 1 in one account: the forensic role grants itself the copy operations first.
        Path::CustomerKeySameAccount | Path::CrossRegion if choice.own_grant => {
            let (fk, dest) = (forensic_key()?, ctx.dest()?);
            if let Some(key) = &choice.key {
                out.transfer.push(grant_step(ctx, volume, key, dest));
                out.cleanup.push(retire_step(ctx, volume, key, dest));
            }
            copy_and_delete(ctx, volume, &src, Some(fk), &mut out)?;
        }
        Path::AwsManagedSameAccount | Path::CustomerKeySameAccount => match &ctx.forensic_key {
            Some(fk) if Some(&fk.arn) != choice.key.as_ref().map(|k| &k.arn) => {
                copy_and_delete(ctx, volume, &src, Some(fk.clone()), &mut out)?;
            }
            _ => out.keep_source_as_evidence(ctx, volume, &src),
        },
        Path::Unencrypted => copy_and_delete(ctx, volume, &src, None, &mut out)?,
        Path::CrossRegion => copy_and_delete(ctx, volume, &src, Some(forensic_key()?), &mut out)?,
        Path::CrossAccountGrantOnly | Path::CrossAccountDirect | Path::CrossAccountOwnerGrants => {
            let fk = forensic_key()?;
            let dest = ctx.dest()?;
            if choice.path == Path::CrossAccountGrantOnly {
                if let Some(key) = &choice.key {
                    out.transfer.push(grant_step(ctx, volume, key, dest));
                    out.cleanup.push(retire_step(ctx, volume, key, dest));
                }
            }
            copy_and_delete(ctx, volume, &src, Some(fk), &mut out)?;
        }
        Path::CrossAccountAwsManagedKey | Path::CrossAccountTempKey => {
            aws_managed_key(ctx, volume, &src, forensic_key()?, &mut out)?
        }
    }
    Ok(out)
}

/// Copies `src` into the destination (sharing it first when it crosses accounts), then cleans up:
/// unshare, delete `src`. `key`: the key of the copy.
fn copy_and_delete(
    ctx: &Ctx,
    volume: &Volume,
    src: &SnapRef,
    key: Option<KeyRef>,
    out: &mut VolumeSteps,
) -> Result<(), PlanError> {
    let dest = ctx.dest()?;
    // A copy of unencrypted data is encrypted under the default key where encryption by default is
    // on (EBS User Guide, "Copy an Amazon EBS snapshot", encryption table): custody names that key in
    // the copy, so the plan, the preflight and the evidence record all say which key it is.
    let key = key.or_else(|| match ctx.encryption_by_default(&ctx.dst_account, &ctx.dst_region) {
        EncryptionByDefault::On { key_arn } => Some(KeyRef::parse(key_arn)),
        _ => None,
    });
    let evidence = ctx.copy_snapshot(volume, "evidence", &ctx.dst_account, &ctx.dst_region, key);
    if src.account != dest.account {
        out.transfer.push(share_step(ctx, volume, src, &dest.account, true));
    }
    out.transfer.push(copy_step(ctx, volume, "copy-to-forensic", dest, src, &evidence));
    if src.account != dest.account {
        out.cleanup.push(share_step(ctx, volume, src, &dest.account, false));
    }
    out.cleanup.push(delete_step(ctx, volume, "delete-source-snapshot", src));
    out.snapshots.push(planned(src, false));
    out.keep_as_evidence(&evidence);
    Ok(())
}

/// Path 8: temporary key, copy under it in the source account, share, copy, clean up.
fn aws_managed_key(
    ctx: &Ctx,
    volume: &Volume,
    src: &SnapRef,
    forensic_key: KeyRef,
    out: &mut VolumeSteps,
) -> Result<(), PlanError> {
    let dest = ctx.dest()?;
    let source = &ctx.source;
    let temp_key = ctx.temp_key(volume);
    let alias = ctx.temp_alias(volume);
    out.transfer.push(create_temp_key(ctx, volume, dest, &temp_key, &alias));
    let temp = ctx.copy_snapshot(volume, "temp", &ctx.src_account, &ctx.src_region, Some(temp_key.clone()));
    out.transfer.push(copy_step(ctx, volume, "copy-to-temp-key", source, src, &temp));
    out.transfer.push(share_step(ctx, volume, &temp, &dest.account, true));
    let evidence = ctx.copy_snapshot(volume, "evidence", &ctx.dst_account, &ctx.dst_region, Some(forensic_key));
    let mut copy = copy_step(ctx, volume, "copy-to-forensic", dest, &temp, &evidence);
    // Asked before the copy, until allowed: the forensic role reaches the key only by its new alias.
    copy.calls.insert(
        0,
        call("kms:DescribeKey", &ctx.src_account, &ctx.src_region, dest, vec![kms::probe_temp_key(dest, &temp_key)])
            .only_when(super::UNTIL_THE_ALIAS_AUTHORIZES),
    );
    out.transfer.push(copy);
    out.cleanup.push(share_step(ctx, volume, &temp, &dest.account, false));
    out.cleanup.push(delete_step(ctx, volume, "delete-temp-snapshot", &temp));
    out.cleanup.push(delete_step(ctx, volume, "delete-source-snapshot", src));
    out.cleanup.push(delete_temp_key(ctx, volume, &temp_key, &alias));
    out.snapshots.extend([planned(src, false), planned(&temp, false)]);
    out.keep_as_evidence(&evidence);
    Ok(())
}

/// Path 8's first step: the temporary key in the source account, with its alias and a key policy that
/// admits the destination role only through EC2.
fn create_temp_key(ctx: &Ctx, volume: &Volume, dest: &Signer, temp_key: &KeyRef, alias: &str) -> Step {
    let source = &ctx.source;
    let alias_arn = ctx.alias_arn(alias);
    let mut create = step(
        format!("create-temp-key:{}", volume.id),
        format!(
            "Create a temporary customer managed key in account {} ({}) with alias {alias}, whose key policy admits {} \
             only through EC2",
            ctx.src_account, ctx.src_region, dest.role_arn
        ),
        Phase::Transfer,
        Action::CreateKey {
            key: temp_key.arn.clone(),
            alias: alias.to_string(),
            description: format!(
                "custody case {}: temporary key for {} (deleted after the copy)",
                ctx.case_id, volume.id
            ),
            tags: ctx.volume_tags(volume).into_iter().collect(),
        },
        Some(volume),
        vec![
            call(
                "kms:CreateKey",
                &ctx.src_account,
                &ctx.src_region,
                source,
                kms::create_key(source, temp_key, &ctx.volume_tags(volume)),
            ),
            call(
                "kms:CreateAlias",
                &ctx.src_account,
                &ctx.src_region,
                source,
                kms::alias_requests(source, "kms:CreateAlias", &alias_arn, temp_key),
            ),
            call("kms:ListKeys", &ctx.src_account, &ctx.src_region, source, kms::find_temp_key(source, temp_key))
                .only_when(ASKED_CREATE_KEY_UNANSWERED),
        ],
    );
    create.creates_keys.push(kms::temp_key(ctx, source, &dest.role_arn, temp_key, alias));
    create
}

/// Path 8's last cleanup step: the alias deleted and the temporary key scheduled for deletion.
fn delete_temp_key(ctx: &Ctx, volume: &Volume, temp_key: &KeyRef, alias: &str) -> Step {
    let source = &ctx.source;
    let alias_arn = ctx.alias_arn(alias);
    step(
        format!("delete-temp-key:{}", volume.id),
        format!(
            "Delete alias {alias} and schedule the temporary key for deletion in {} days",
            super::TEMP_KEY_DELETION_DAYS
        ),
        Phase::Cleanup,
        Action::DeleteKey {
            key: temp_key.arn.clone(),
            alias: alias.to_string(),
            pending_window_days: super::TEMP_KEY_DELETION_DAYS,
        },
        Some(volume),
        vec![
            call(
                "kms:DeleteAlias",
                &ctx.src_account,
                &ctx.src_region,
                source,
                kms::alias_requests(source, "kms:DeleteAlias", &alias_arn, temp_key),
            ),
            call(
                "kms:ScheduleKeyDeletion",
                &ctx.src_account,
                &ctx.src_region,
                source,
                vec![kms::schedule_key_deletion(source, temp_key)],
            ),
            call("kms:ListKeys", &ctx.src_account, &ctx.src_region, source, kms::find_temp_key(source, temp_key))
                .only_when(ASKED_CREATE_KEY_UNANSWERED),
        ],
    )
}

/// ec2:CopySnapshot from `from` to `to` by `signer`, then wait for it (ec2:DescribeSnapshots).
fn copy_step(ctx: &Ctx, volume: &Volume, id: &str, signer: &Signer, from: &SnapRef, to: &SnapRef) -> Step {
    let mut reqs = requests::copy_snapshot_ec2(ctx, signer, from, to);
    if let (Some(k), Some(ebs_id)) = (&from.key, &from.ebs_id) {
        reqs.extend(kms::copy_source_key(signer, k, ebs_id, &to.region));
    }
    if let (Some(k), Some(ebs_id)) = (&to.key, &to.ebs_id) {
        reqs.extend(kms::copy_dest_key(signer, k, ebs_id));
        let involved = |arn: &str| arn == k.arn || from.key.as_ref().is_some_and(|f| f.arn == arn);
        if let Some(default) = ctx.default_ebs_key(&signer.account, &to.region).filter(|d| !involved(&d.arn)) {
            reqs.push(kms::describe_default_key(signer, &KeyRef::parse(&default.arn)));
        }
    }
    if to.key.is_none() && from.key.is_none() {
        if let EncryptionByDefault::Unknown { unreadable } = ctx.encryption_by_default(&to.account, &to.region) {
            assume_unencrypted(&mut reqs, "ec2:CopySnapshot", &to.account, &to.region, unreadable);
        }
    }
    let under = match &to.key {
        Some(k) => format!(", encrypted under {}", k.arn),
        None => String::new(),
    };
    step(
        format!("{id}:{}", volume.id),
        format!(
            "Copy {} (account {}, {}) to {} in account {} ({}){under}, and wait for it to complete",
            from.id, from.account, from.region, to.id, to.account, to.region
        ),
        Phase::Transfer,
        Action::CopySnapshot {
            from: from.id.clone(),
            to: to.id.clone(),
            tags: to.tags.iter().cloned().collect(),
            description: format!("custody case {}: {id} of {} ({})", ctx.case_id, volume.id, to.id),
        },
        Some(volume),
        vec![
            call("ec2:CopySnapshot", &to.account, &to.region, signer, reqs),
            call(
                "ec2:DescribeSnapshots",
                &to.account,
                &to.region,
                signer,
                vec![requests::ec2_describe(signer, "ec2:DescribeSnapshots", &to.region)],
            ),
            // A copy that ends in error is not deleted: an evidence copy carries the evidence tag from
            // its creation, which the policies protect; a temporary copy goes with the cleanup steps.
        ],
    )
}

/// Share (`add`) or unshare `snap` with `account`, by its owner.
fn share_step(ctx: &Ctx, volume: &Volume, snap: &SnapRef, account: &str, add: bool) -> Step {
    let owner = &ctx.source;
    let (id, title, phase) = if add {
        ("share", format!("Share {} with account {account}", snap.id), Phase::Transfer)
    } else {
        ("unshare", format!("Stop sharing {} with account {account}", snap.id), Phase::Cleanup)
    };
    let action = Action::Share { snapshot: snap.id.clone(), account: account.to_string(), add };
    step(
        format!("{id}:{}", volume.id),
        title,
        phase,
        action,
        Some(volume),
        vec![call(
            "ec2:ModifySnapshotAttribute",
            &snap.account,
            &snap.region,
            owner,
            vec![requests::modify_share(ctx, owner, snap, account, add)],
        )],
    )
}

/// Delete an intermediate snapshot, by its owner (the source role).
fn delete_step(ctx: &Ctx, volume: &Volume, id: &str, snap: &SnapRef) -> Step {
    let owner = &ctx.source;
    step(
        format!("{id}:{}", volume.id),
        format!("Delete the intermediate snapshot {} in account {}", snap.id, snap.account),
        Phase::Cleanup,
        Action::DeleteSnapshot { snapshot: snap.id.clone() },
        Some(volume),
        vec![call(
            "ec2:DeleteSnapshot",
            &snap.account,
            &snap.region,
            owner,
            vec![requests::delete_snapshot(ctx, owner, snap)],
        )],
    )
}

/// Path 5: the source role grants the destination role the copy operations on the source key.
fn grant_step(ctx: &Ctx, volume: &Volume, key: &KeyRef, dest: &Signer) -> Step {
    let grant_id = ctx.grant_id(volume);
    let (request, grant) = kms::create_grant(&ctx.source, key, &dest.role_arn, &grant_id, &volume.id);
    let mut s = step(
        format!("create-grant:{}", volume.id),
        format!(
            "Grant {} {} on {} for snapshots of {} (retiring principal: itself)",
            dest.role_arn,
            kms::grant_operations(key, &dest.role_arn).join(", "),
            key.arn,
            volume.id
        ),
        Phase::Transfer,
        Action::CreateGrant {
            key_arn: key.arn.clone(),
            grant: grant_id.clone(),
            name: super::grant_name(&ctx.case_id, &volume.id),
            grantee: dest.role_arn.clone(),
            retiring_principal: dest.role_arn.clone(),
            operations: kms::grant_operations(key, &dest.role_arn).iter().map(|o| o.to_string()).collect(),
            encryption_context_subset: [("aws:ebs:id".to_string(), volume.id.clone())].into(),
        },
        Some(volume),
        vec![call("kms:CreateGrant", &key.account, &key.region, &ctx.source, vec![request])],
    );
    s.creates_grants.push(grant);
    s
}

/// Path 5 cleanup: the destination role retires the grant.
fn retire_step(ctx: &Ctx, volume: &Volume, key: &KeyRef, dest: &Signer) -> Step {
    let grant_id = ctx.grant_id(volume);
    step(
        format!("retire-grant:{}", volume.id),
        format!("Retire grant {grant_id} on {}", key.arn),
        Phase::Cleanup,
        Action::RetireGrant { key_arn: key.arn.clone(), grant: grant_id.clone() },
        Some(volume),
        vec![call("kms:RetireGrant", &key.account, &key.region, dest, vec![kms::retire_grant(dest, key, &grant_id)])],
    )
}

/// Path 9: read the snapshot's blocks with the EBS direct APIs, as the source role.
fn read_step(ctx: &Ctx, volume: &Volume, snap: &SnapRef) -> Step {
    let source = &ctx.source;
    let mut get = vec![requests::ebs_read(ctx, source, "ebs:GetSnapshotBlock", snap)];
    if let (Some(k), Some(ebs_id)) = (&snap.key, &snap.ebs_id) {
        get.push(kms::direct_read_decrypt(source, k, ebs_id, &snap.region));
    }
    step(
        format!("read-blocks:{}", volume.id),
        format!(
            "Read every block of {} with the EBS direct APIs (the snapshot stays in account {})",
            snap.id, snap.account
        ),
        Phase::Read,
        Action::ReadBlocks { snapshot: snap.id.clone() },
        Some(volume),
        vec![
            call(
                "ebs:ListSnapshotBlocks",
                &snap.account,
                &snap.region,
                source,
                vec![requests::ebs_read(ctx, source, "ebs:ListSnapshotBlocks", snap)],
            ),
            call("ebs:GetSnapshotBlock", &snap.account, &snap.region, source, get),
        ],
    )
}
