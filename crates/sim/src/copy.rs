//! CopySnapshot and CreateVolume: the EC2 requests, and the KMS requests EC2 makes as the caller.
//!
//! The EC2 side decides the call: a refusal is a synchronous `UnauthorizedOperation` and nothing is
//! created. The KMS side does not: AWS documents that copying an encrypted snapshot without
//! permission to use its key "fails silently", the copy ending in state `error` with `StateMessage`
//! "Given key ID is not accessible", and that a key that is not valid "can appear to complete, but it
//! eventually fails" (EBS User Guide, "Copy an Amazon EBS snapshot",
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-copy-snapshot.html>; "Amazon EBS
//! encryption", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/EBSEncryption.html>). So the
//! copy (or volume) is created, and settles in `error` with that message, followed by the refused
//! request in brackets. What else AWS reports, and when exactly, is not documented.
//!
//! Which KMS requests EC2 makes is not documented (map §5.2); what AWS documents is the set of
//! permissions EBS encryption requires (DescribeKey, CreateGrant, Decrypt,
//! GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo; EBS User Guide, "Requirements for
//! Amazon EBS encryption") and GenerateDataKey too for a key of another account ("Share the KMS key
//! used to encrypt a shared Amazon EBS snapshot"). The simulated cloud requires that whole set, as
//! the planner checks it (`custody_plan::plan::ebs_key_operations`): as the caller, through EC2
//! (`kms:ViaService = ec2.<key's Region>.amazonaws.com`, the key's own Region also for the source key
//! of a cross-Region copy, which is assumed), `kms:CallerAccount` = the caller's account:
//! - on the source snapshot's key, with `aws:ebs:id` = the source's encryption context (its volume for
//!   a CreateSnapshots product, its own id for a copy, map §13);
//! - on the copy's key, with `aws:ebs:id` = the new snapshot's id;
//! - CreateGrant for an AWS resource, constrained to `aws:ebs:id`; DescribeKey without a context;
//! - DescribeKey on the caller's default `aws/ebs` key when it is listed and not already involved:
//!   "When copying an encrypted snapshot, you must have DescribeKey permissions on the default CMK.
//!   Explicitly denying these permissions results in copy failure" (ebs-copy-snapshot, map §5.2).
//!
//! A key of another account is decided against its own key policy and grants, and the caller's IAM
//! policies: the engine applies KMS's cross-account rule (map §0, §5.3).

use super::call::{arn_account, arn_region, snapshot_arn, tag_pairs, via_ec2, Api, Call, Session};
use super::key_lookup::resolve_key;
use super::state::{SnapRec, State, VolumeRec};
use super::visibility::{on_source, snapshot_not_found, visible};
use custody_cloud::error::CloudError;
use custody_cloud::types::{CopySnapshotRequest, NewVolume};
use custody_plan::plan::{ebs_key_operations, AuthzRequest};

const COPY_SNAPSHOT: Api = Api::new("ec2", "CopySnapshot");
const CREATE_VOLUME: Api = Api::new("ec2", "CreateVolume");

/// The volume id EC2 reports for a copy: "Snapshots created by CopySnapshot have an arbitrary volume
/// ID that should not be used for any purpose" (EC2 API Reference, "Snapshot",
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html>).
const COPY_VOLUME_ID: &str = "vol-ffffffff";

/// The state message of a copy EC2 could not encrypt (ebs-copy-snapshot).
const KEY_NOT_ACCESSIBLE: &str = "Given key ID is not accessible";

/// A KMS request EC2 makes as the caller on `key_arn`, with the encryption context `aws:ebs:id`
/// when it has one (map §0, §5.2).
fn on_behalf(s: &Session, action: &str, key_arn: &str, ebs_id: Option<&str>) -> AuthzRequest {
    let key_region = arn_region(key_arn);
    let mut r = AuthzRequest::new(&s.arn, action, key_arn)
        .called_in(key_region, true)
        .with("kms:ViaService", via_ec2(key_region))
        .with("kms:CallerAccount", &s.account);
    if let Some(id) = ebs_id {
        r = r.with("kms:EncryptionContext:aws:ebs:id", id).with_set("kms:EncryptionContextKeys", ["aws:ebs:id"]);
    }
    if action == "kms:CreateGrant" {
        // kms:GrantIsForAWSResource is true "only when an AWS service integrated with AWS KMS calls
        // the operation on the user's behalf" (KMS Developer Guide, conditions-kms.html); the grant's
        // operations are SILENT, so kms:GrantOperations is absent.
        r = r.with("kms:GrantIsForAWSResource", "true").with("kms:GrantConstraintType", "EncryptionContextSubset");
    }
    r
}

/// The documented set of KMS requests on `key_arn` for `s`, with the encryption context `aws:ebs:id`
/// = `ebs_id` (`reads_id` instead for Decrypt and ReEncryptFrom, which read existing data).
fn key_requests(s: &Session, key_arn: &str, ebs_id: &str, reads_id: &str) -> Vec<AuthzRequest> {
    ebs_key_operations(arn_account(key_arn), &s.account)
        .iter()
        .map(|op| {
            let id = match *op {
                "DescribeKey" => None,
                "Decrypt" | "ReEncryptFrom" => Some(reads_id),
                _ => Some(ebs_id),
            };
            on_behalf(s, &format!("kms:{op}"), key_arn, id)
        })
        .collect()
}

/// The KMS requests on the key of the data being read (`ebs_id`: its `aws:ebs:id`).
fn source_key_requests(s: &Session, key_arn: &str, ebs_id: &str) -> Vec<AuthzRequest> {
    key_requests(s, key_arn, ebs_id, ebs_id)
}

/// The KMS requests on the key the new data is encrypted under (`new_id`: its `aws:ebs:id`).
fn dest_key_requests(s: &Session, key_arn: &str, new_id: &str) -> Vec<AuthzRequest> {
    key_requests(s, key_arn, new_id, new_id)
}

/// Why a key cannot be used for cryptography now: disabled keys answer `DisabledException`, keys
/// pending deletion `KMSInvalidStateException` (KMS Developer Guide, "Key states of AWS KMS keys",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>).
pub(crate) fn unusable(st: &State, key_arn: &str) -> Option<String> {
    match st.keys.get(key_arn).map(|k| k.state.as_str()) {
        None => Some(format!("the key {key_arn} does not exist (NotFoundException)")),
        Some("Disabled") => Some(format!("{key_arn} is disabled (DisabledException)")),
        Some("PendingDeletion") => Some(format!("{key_arn} is pending deletion (KMSInvalidStateException)")),
        Some("Enabled") => None,
        Some(other) => Some(format!("{key_arn} is {other} (KMSInvalidStateException)")),
    }
}

/// The source of a copy or volume: visible to the caller, and completed ("You can copy any
/// accessible snapshots that have a completed status", ebs-copy-snapshot). A pending one is refused
/// with EC2's `IncorrectState` (the message as AWS gives it, velero-io/velero#1799).
fn completed_source(st: &State, api: Api, id: &str, account: &str, region: &str) -> Result<SnapRec, CloudError> {
    let snap = visible(st, id, account, region).cloned().ok_or_else(|| snapshot_not_found(api, id))?;
    if snap.state != "completed" {
        return Err(api.error("IncorrectState", format!("Snapshot is in invalid state - {}", snap.state)));
    }
    Ok(snap)
}

/// What the KMS side makes of the new snapshot or volume: `Ok` when every request is allowed and
/// every key usable, else the state message.
fn kms_outcome(st: &State, c: &mut Call, requests: &[AuthzRequest], keys: &[&str]) -> Result<(), String> {
    let refused = c.evaluate(st, requests);
    if let Some(why) = keys.iter().find_map(|k| unusable(st, k)) {
        return Err(format!("{KEY_NOT_ACCESSIBLE} (simulated: {why})"));
    }
    match refused {
        None => Ok(()),
        Some(d) => Err(format!(
            "{KEY_NOT_ACCESSIBLE} (simulated: the {} request EC2 makes as {} on {} was refused: {})",
            d.action, c.principal, d.resource, d.why
        )),
    }
}

/// CopySnapshot into `region` (the destination: "CopySnapshot sends the snapshot copy to the regional
/// endpoint that you send the HTTP request to", EC2 API Reference,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html>).
pub(crate) fn copy_snapshot(
    st: &mut State,
    c: &mut Call,
    s: &Session,
    region: &str,
    req: &CopySnapshotRequest,
) -> Result<(String, String), CloudError> {
    let src = completed_source(st, COPY_SNAPSHOT, &req.source_snapshot_id, &s.account, &req.source_region)?;
    let p = &s.partition;
    let new_arn = snapshot_arn(p, region, "*");
    let pairs = tag_pairs(&req.tags);
    // map §5.1: on the new snapshot (its id a literal `*`) and on the source; tag-on-create.
    let mut on_new = AuthzRequest::new(&s.arn, "ec2:CopySnapshot", &new_arn).owned_by(&s.account).ec2_in(region);
    if !pairs.is_empty() {
        on_new = on_new.request_tags(&pairs);
    }
    let mut requests = vec![
        on_new,
        on_source(
            AuthzRequest::new(&s.arn, "ec2:CopySnapshot", snapshot_arn(p, &src.region, &src.id))
                .owned_by(&src.account)
                .ec2_in(region)
                .with("ec2:SnapshotID", &src.id)
                .resource_tags(&tag_pairs(&src.tags), true),
            &src,
            &s.account,
        ),
    ];
    if !pairs.is_empty() {
        requests.push(
            AuthzRequest::new(&s.arn, "ec2:CreateTags", &new_arn)
                .owned_by(&s.account)
                .ec2_in(region)
                .with("ec2:CreateAction", "CopySnapshot")
                .request_tags(&pairs),
        );
    }
    c.authorize(st, &requests)?;

    // "Copies of encrypted EBS snapshots remain encrypted"; without KmsKeyId "your KMS key for Amazon
    // EBS is used" (API_CopySnapshot): the default key of encryption by default, or aws/ebs. With
    // encryption by default on, a copy of an unencrypted snapshot is encrypted too (EBS User Guide,
    // "Enable Amazon EBS encryption by default").
    let by_default = st.encryption_by_default(&s.account, region);
    let encrypt = src.encrypted || req.encrypted || req.kms_key_id.is_some() || by_default.is_some();
    let key: Option<Result<String, String>> = match (&req.kms_key_id, encrypt) {
        (_, false) => None,
        (Some(k), true) => Some(resolve_key(st, k, s, region).map(|(arn, _)| arn)),
        (None, true) => Some(Ok(by_default.unwrap_or_else(|| st.ensure_default_ebs_key(&s.account, region, p)))),
    };
    let new_id = st.next_snapshot_id();
    let mut kms = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    if let (Some(k), Some(ebs_id)) = (&src.key_arn, &src.ebs_id) {
        kms.extend(source_key_requests(s, k, ebs_id));
        keys.push(k);
    }
    if let Some(Ok(k)) = &key {
        kms.extend(dest_key_requests(s, k, &new_id));
        keys.push(k);
        if let Some(default) = st.default_ebs_key(&s.account, region).filter(|d| !keys.contains(&d.as_str())) {
            kms.push(on_behalf(s, "kms:DescribeKey", &default, None));
        }
    }
    let outcome = match &key {
        Some(Err(why)) => Err(format!("{KEY_NOT_ACCESSIBLE} (simulated: {why})")),
        _ => kms_outcome(st, c, &kms, &keys),
    };
    let summary = match &outcome {
        Ok(()) => new_id.clone(),
        Err(m) => format!("{new_id} (will end in error: {m})"),
    };
    let rec = SnapRec {
        id: new_id.clone(),
        account: s.account.clone(),
        region: region.to_string(),
        volume_id: Some(COPY_VOLUME_ID.to_string()),
        parent_volume: None,
        state: "pending".into(),
        progress: "0%".into(),
        state_message: None,
        encrypted: key.is_some(),
        key_arn: match &key {
            Some(Ok(arn)) => Some(arn.clone()),
            Some(Err(_)) => req.kms_key_id.clone(),
            None => None,
        },
        // A CopySnapshot product's aws:ebs:id is its own id (map §13).
        ebs_id: key.is_some().then(|| new_id.clone()),
        size_gib: src.size_gib,
        description: req.description.clone(),
        tags: req.tags.clone(),
        shared_with: Default::default(),
        start_time: st.tick(),
        polls_left: st.faults.pending_polls,
        outcome,
        created: st.now(),
    };
    st.snapshots.insert(new_id.clone(), rec);
    Ok((new_id, summary))
}

/// CreateVolume from a snapshot the caller can see (map §7). The volume keeps the snapshot's key (the
/// trait passes no KmsKeyId). The KMS requests are those of the documented permission list for EBS
/// encryption (EBS User Guide,
/// <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html>), what reads
/// the snapshot's data key with the snapshot's context: which ones EC2 makes at creation is only
/// partly documented (map §7).
pub(crate) fn create_volume(
    st: &mut State,
    c: &mut Call,
    s: &Session,
    region: &str,
    volume: &NewVolume,
) -> Result<(String, String), CloudError> {
    let NewVolume { snapshot_id, availability_zone, tags, client_token } = volume;
    if client_token.is_empty() || client_token.len() > 64 || !client_token.is_ascii() {
        return Err(CREATE_VOLUME.error("InvalidParameterValue", "ClientToken: up to 64 ASCII characters"));
    }
    if !custody_plan::inventory::arn::is_zone_of(availability_zone, region) {
        return Err(
            CREATE_VOLUME.error("InvalidParameterValue", format!("Invalid availability zone: [{availability_zone}]"))
        );
    }
    let snap = completed_source(st, CREATE_VOLUME, snapshot_id, &s.account, region)?;
    let p = &s.partition;
    let pairs = tag_pairs(tags);
    let snap_arn = snapshot_arn(p, &snap.region, &snap.id);
    let new_arn = format!("arn:{p}:ec2:{region}:{}:volume/*", s.account);
    let mut on_new = AuthzRequest::new(&s.arn, "ec2:CreateVolume", &new_arn)
        .ec2_in(region)
        .with("ec2:AvailabilityZone", availability_zone)
        .with("ec2:Encrypted", snap.encrypted.to_string())
        .with("ec2:VolumeSize", snap.size_gib.to_string())
        .with("ec2:ParentSnapshot", &snap_arn);
    if let Some(k) = &snap.key_arn {
        on_new = on_new.with("ec2:KmsKeyId", k);
    }
    if !pairs.is_empty() {
        on_new = on_new.request_tags(&pairs);
    }
    let mut on_snap = AuthzRequest::new(&s.arn, "ec2:CreateVolume", &snap_arn)
        .owned_by(&snap.account)
        .ec2_in(region)
        .with("ec2:Owner", &snap.account)
        .with("ec2:Encrypted", snap.encrypted.to_string())
        .with("ec2:VolumeSize", snap.size_gib.to_string())
        .with("ec2:SnapshotTime", &snap.start_time)
        .resource_tags(&tag_pairs(&snap.tags), true);
    if let Some(v) = &snap.parent_volume {
        on_snap = on_snap.with("ec2:ParentVolume", v);
    }
    let mut requests = vec![on_new, on_source(on_snap, &snap, &s.account)];
    if !pairs.is_empty() {
        requests.push(
            AuthzRequest::new(&s.arn, "ec2:CreateTags", &new_arn)
                .ec2_in(region)
                .with("ec2:CreateAction", "CreateVolume")
                .request_tags(&pairs),
        );
    }
    c.authorize(st, &requests)?;
    // The same client token again: the first volume, if the parameters are the same, else
    // IdempotentParameterMismatch ("Ensuring idempotency in Amazon EC2 API requests",
    // https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
    let token_key = (s.account.clone(), region.to_string(), client_token.clone());
    if let Some((first, id)) = st.volume_tokens.get(&token_key) {
        if first != volume {
            return Err(CREATE_VOLUME.error(
                "IdempotentParameterMismatch",
                format!("client token {client_token} was used with other parameters"),
            ));
        }
        return Ok((id.clone(), format!("{id} (again, client token {client_token})")));
    }
    let id = st.next_volume_id();
    st.volume_tokens.insert(token_key, (volume.clone(), id.clone()));
    // A volume of an unencrypted snapshot is encrypted under the default key where encryption by
    // default is on (EBS User Guide, "Enable Amazon EBS encryption by default").
    let by_default = if snap.encrypted { None } else { st.encryption_by_default(&s.account, region) };
    let outcome = match (&snap.key_arn, &snap.ebs_id, &by_default) {
        (Some(k), Some(ebs_id), _) => {
            let kms = key_requests(s, k, &id, ebs_id);
            kms_outcome(st, c, &kms, &[k.as_str()])
        }
        (None, _, Some(k)) => {
            let kms = key_requests(s, k, &id, &id);
            kms_outcome(st, c, &kms, &[k.as_str()])
        }
        _ => Ok(()),
    };
    let summary = match &outcome {
        Ok(()) => id.clone(),
        Err(m) => format!("{id} (in error: {m})"),
    };
    st.volumes.insert(
        id.clone(),
        VolumeRec {
            id: id.clone(),
            account: s.account.clone(),
            region: region.to_string(),
            availability_zone: availability_zone.to_string(),
            size_gib: snap.size_gib,
            encrypted: snap.encrypted || by_default.is_some(),
            key_arn: snap.key_arn.clone().or(by_default),
            state: if outcome.is_ok() { "available".into() } else { "error".into() },
            snapshot_id: Some(snap.id.clone()),
        },
    );
    Ok((id, summary))
}
