//! The KMS side of an acquisition: the calls EC2 makes as the caller while it copies a snapshot, the
//! grant custody creates (path 5) and retires, the temporary key of path 8 (its creation, policy,
//! alias and deletion), and the Decrypt behind an EBS direct read.
//!
//! KMS calls EC2 makes "on your behalf" are evaluated as the caller, with `kms:ViaService =
//! ec2.<Region>.amazonaws.com` and `kms:CallerAccount = <caller's account>` (map §0). Which calls a
//! copy makes is not documented (map §5.2); what AWS does document is the set of permissions EBS
//! encryption requires (EBS User Guide, "Requirements for Amazon EBS encryption": CreateGrant, Decrypt,
//! DescribeKey, GenerateDataKeyWithoutPlaintext, ReEncrypt) and, for the users of an account a key is
//! shared with, GenerateDataKey too ("Share the KMS key used to encrypt a shared Amazon EBS
//! snapshot"). So every key EC2 uses for a copy or a new volume is checked for that whole set, each
//! request through EC2 in the key's own Region; the parts AWS leaves out (the Region KMS sees, the
//! `aws:ebs:id` value) are marked inferred.

use super::context::{Ctx, KeyRef, Signer};
use super::requests::doc;
use super::{AuthzRequest, PlannedGrant, PlannedKey, PolicyScope, TEMP_KEY_DELETION_DAYS};
use serde_json::json;

/// The KMS operations AWS lists as required to use a key for EBS encryption, `kms:ReEncrypt` being
/// ReEncryptFrom and ReEncryptTo (EBS User Guide, "Requirements for Amazon EBS encryption",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions>).
pub const EBS_ENCRYPTION_OPERATIONS: [&str; 6] =
    ["DescribeKey", "CreateGrant", "Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"];

/// What the users of an account a key is shared with need to use snapshots encrypted under it: the
/// same, and GenerateDataKey (EBS User Guide, "Share the KMS key used to encrypt a shared Amazon EBS
/// snapshot", <https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html>).
pub const SHARED_KEY_OPERATIONS: [&str; 7] = [
    "DescribeKey",
    "CreateGrant",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
];

/// The documented set for a key used by a caller of `caller_account`.
pub fn ebs_key_operations(key_account: &str, caller_account: &str) -> &'static [&'static str] {
    if key_account == caller_account {
        &EBS_ENCRYPTION_OPERATIONS
    } else {
        &SHARED_KEY_OPERATIONS
    }
}

/// The operations custody's grant on `key` for `grantee_role` lists: the documented set for the
/// grantee's account ([`ebs_key_operations`]), [`COPY_GRANT_OPERATIONS`] for a grantee of another
/// account (path 5), the EBS set for the forensic role's grant to itself on a key of its own account.
pub fn grant_operations(key: &KeyRef, grantee_role: &str) -> &'static [&'static str] {
    ebs_key_operations(&key.account, super::names::arn_field(grantee_role, 4))
}

/// The operations custody's grant on a source key lists (path 5): the grantee, the forensic role, is
/// in another account, so it is the set AWS documents for an account a key is shared with. Retiring
/// needs no operation: the forensic role is the grant's retiring principal (map §9.6).
pub const COPY_GRANT_OPERATIONS: [&str; 7] = SHARED_KEY_OPERATIONS;

/// Why a copy's KMS requests are inferred, whatever the key.
const COPY_INFERRED: &str = "AWS documents which KMS permissions EBS encryption needs, not the requests EC2 sends \
    for a copy: that it calls as the caller, through EC2 (kms:ViaService), with aws:ebs:id in the encryption \
    context, is inferred from how EBS uses KMS elsewhere";

/// `kms:<operation>` for each of `operations` but CreateGrant, which key policies give in a statement of
/// its own, limited to grants for AWS resources.
fn kms_actions(operations: &[&str]) -> Vec<String> {
    operations.iter().filter(|o| **o != "CreateGrant").map(|o| format!("kms:{o}")).collect()
}

/// `ec2.<region>.amazonaws.com`.
fn via_ec2(region: &str) -> String {
    format!("ec2.{region}.amazonaws.com")
}

/// A KMS request EC2 makes as `signer` on `key`, with the encryption context `aws:ebs:id`.
fn on_behalf(signer: &Signer, key: &KeyRef, action: &str, ebs_id: Option<&str>) -> AuthzRequest {
    let mut r = AuthzRequest::new(&signer.session, action, &key.arn)
        .called_in(&key.region, true)
        .with("kms:ViaService", via_ec2(&key.region))
        .with("kms:CallerAccount", &signer.account);
    if let Some(id) = ebs_id {
        r = r.with("kms:EncryptionContext:aws:ebs:id", id).with_set("kms:EncryptionContextKeys", ["aws:ebs:id"]);
    }
    if action == "kms:CreateGrant" {
        r = r.with("kms:GrantIsForAWSResource", "true").with("kms:GrantConstraintType", "EncryptionContextSubset");
    }
    r
}

/// Why a request on a key of another account needs both sides (map §0, §5.3).
fn cross_account_note(signer: &Signer, key: &KeyRef) -> String {
    if key.account == signer.account {
        String::new()
    } else {
        format!(
            "; the key is in account {}, so its key policy (or a grant) and the caller's IAM policies must both \
             allow it",
            key.account
        )
    }
}

/// Which documented list names `operation`, and its page: GenerateDataKey is only in the list for an
/// account a key is shared with.
fn requirement(operation: &str) -> (&'static str, &'static str) {
    if operation == "GenerateDataKey" {
        ("the permissions an account a key is shared with needs for encrypted snapshots", doc::KMS_SHARE_KEY)
    } else {
        ("the permissions EBS encryption requires", doc::EBS_ENCRYPTION_REQUIREMENTS)
    }
}

/// One request for each operation of the documented set on `key`, the encryption context
/// `aws:ebs:id = ebs_id` on all but DescribeKey; `known` gives, for the operations EC2 is known or
/// believed to call, why and the page; the others are checked because AWS lists them as required.
fn documented_set(
    signer: &Signer,
    key: &KeyRef,
    ebs_id: &str,
    known: impl Fn(&str) -> Option<(String, &'static str)>,
    tail: &str,
) -> Vec<AuthzRequest> {
    ebs_key_operations(&key.account, &signer.account)
        .iter()
        .map(|op| {
            let action = format!("kms:{op}");
            let context = (*op != "DescribeKey").then_some(ebs_id);
            let (why, page) = known(op).unwrap_or_else(|| {
                let (list, page) = requirement(op);
                (format!("AWS lists {action} among {list}; whether EC2 calls it here is not documented"), page)
            });
            on_behalf(signer, key, &action, context).because(format!("{why}{tail}"), page)
        })
        .collect()
}

/// The KMS requests on the key of the snapshot being copied (`ebs_id`: its `aws:ebs:id`, the volume
/// ID for a CreateSnapshots product, map §13), for a copy sent to `copy_region`.
pub(crate) fn copy_source_key(signer: &Signer, key: &KeyRef, ebs_id: &str, copy_region: &str) -> Vec<AuthzRequest> {
    let region_note = if key.region == copy_region {
        String::new()
    } else {
        format!(
            "; the key lives in {}, not {copy_region}, and which Region KMS then sees in kms:ViaService is not \
             documented: the key's own is assumed",
            key.region
        )
    };
    let context_note = if ebs_id.starts_with("vol-") {
        format!("aws:ebs:id = {ebs_id}, the volume ID, because the snapshot was made by CreateSnapshots")
    } else {
        format!("aws:ebs:id = {ebs_id}, the snapshot's own ID, because it was made by CopySnapshot")
    };
    let known = |op: &str| match op {
        "DescribeKey" => Some((
            "EC2 describes the source snapshot's key as the caller while copying".to_string(),
            doc::KMS_SHARE_KEY,
        )),
        "CreateGrant" => Some((
            "EC2 creates a grant on the source key as the caller (kms:GrantIsForAWSResource = true, constrained to \
             aws:ebs:id; its grantee and operations are not documented)"
                .to_string(),
            doc::KMS_SHARE_KEY,
        )),
        "Decrypt" => {
            Some((format!("EC2 decrypts the source snapshot's data key, {context_note}"), doc::KMS_EBS_CONTEXT))
        }
        "ReEncryptFrom" => Some((
            format!("EC2 may re-encrypt the data key away from the source key instead, {context_note}"),
            doc::KMS_EBS_CONTEXT,
        )),
        _ => None,
    };
    let tail = format!("{}{region_note}", cross_account_note(signer, key));
    documented_set(signer, key, ebs_id, known, &tail)
        .into_iter()
        .map(|r| r.inferred(format!("{COPY_INFERRED}{region_note}")))
        .collect()
}

/// The KMS requests on the key the copy is encrypted under (`new_id`: the new snapshot's
/// placeholder, its `aws:ebs:id`, map §13).
pub(crate) fn copy_dest_key(signer: &Signer, key: &KeyRef, new_id: &str) -> Vec<AuthzRequest> {
    let known = |op: &str| match op {
        "DescribeKey" => {
            Some(("EC2 describes the key the copy is encrypted under, as the caller".to_string(), doc::KMS_SHARE_KEY))
        }
        "CreateGrant" => Some((
            "EC2 creates a grant on the copy's key as the caller (kms:GrantIsForAWSResource = true, constrained to \
             aws:ebs:id; its grantee and operations are not documented)"
                .to_string(),
            doc::KMS_SHARE_KEY,
        )),
        "GenerateDataKeyWithoutPlaintext" => Some((
            format!(
                "EC2 generates the copy's data key with aws:ebs:id = {new_id}, the new snapshot's ID, because a \
                 CopySnapshot product uses its own ID"
            ),
            doc::KMS_EBS_CONTEXT,
        )),
        "ReEncryptTo" => Some((
            format!("EC2 may re-encrypt the data key to the copy's key instead, with aws:ebs:id = {new_id}"),
            doc::KMS_EBS_CONTEXT,
        )),
        _ => None,
    };
    documented_set(signer, key, new_id, known, &cross_account_note(signer, key))
        .into_iter()
        .map(|r| r.inferred(COPY_INFERRED))
        .collect()
}

/// The KMS requests EC2 makes as the caller when it creates a volume from a snapshot encrypted under
/// `key` (map §7; EBS User Guide, "How EBS encryption works"): the new volume's data key, a grant for
/// it, and the snapshot's data key decrypted (`aws:ebs:id` = the snapshot's own id); and the rest of
/// the documented set, inferred.
///
/// `snapshot_ebs_id` is `None` for an unencrypted snapshot whose volume EC2 encrypts because
/// encryption by default is on: nothing reads a snapshot data key then, and every request carries
/// the new volume's id.
pub(crate) fn create_volume_key(
    signer: &Signer,
    key: &KeyRef,
    snapshot_ebs_id: Option<&str>,
    new_id: &str,
) -> Vec<AuthzRequest> {
    let reads = snapshot_ebs_id.unwrap_or(new_id);
    let known = |op: &str| match op {
        "DescribeKey" => {
            Some(("EC2 describes the key of the volume it creates, as the caller".to_string(), doc::KMS_SHARE_KEY))
        }
        "CreateGrant" => Some((
            "EC2 creates a grant for the new volume as the caller (kms:GrantIsForAWSResource = true)".to_string(),
            doc::KMS_EBS_CONTEXT,
        )),
        "GenerateDataKeyWithoutPlaintext" => Some((
            format!("EC2 generates the volume's data key with aws:ebs:id = {new_id}, the new volume's id"),
            doc::KMS_EBS_CONTEXT,
        )),
        "Decrypt" => snapshot_ebs_id.map(|id| {
            (
                format!("EC2 decrypts the snapshot's data key (aws:ebs:id = {id}) to create the volume"),
                doc::KMS_EBS_CONTEXT,
            )
        }),
        _ => None,
    };
    let inferred = "AWS lists it as required for EBS encryption but does not say EC2 calls it to create a volume: \
        it is checked through EC2, with aws:ebs:id the snapshot's for what reads it and the volume's for what \
        writes";
    documented_set(signer, key, new_id, known, &cross_account_note(signer, key))
        .into_iter()
        .map(|r| match r.action.as_str() {
            // What reads the snapshot's data key carries the snapshot's context.
            "kms:Decrypt" if snapshot_ebs_id.is_some() => {
                on_behalf(signer, key, "kms:Decrypt", Some(reads)).because(r.why, &r.source)
            }
            "kms:ReEncryptFrom" => {
                on_behalf(signer, key, "kms:ReEncryptFrom", Some(reads)).because(r.why, &r.source).inferred(inferred)
            }
            "kms:DescribeKey" | "kms:CreateGrant" | "kms:GenerateDataKeyWithoutPlaintext" => r,
            _ => r.inferred(inferred),
        })
        .collect()
}

/// DescribeKey on the caller's default `aws/ebs` key, documented as required for any encrypted copy.
pub(crate) fn describe_default_key(signer: &Signer, key: &KeyRef) -> AuthzRequest {
    on_behalf(signer, key, "kms:DescribeKey", None)
        .because(
            "copying an encrypted snapshot needs DescribeKey on the default EBS key of the caller's account, and an \
         explicit deny fails the copy (that EC2 calls it through ec2 is inferred)",
            doc::EBS_COPY,
        )
        .inferred(
            "AWS documents that the copy needs DescribeKey on the default key, not the request: that EC2 makes it as \
         the caller through EC2 in the copy's Region is inferred",
        )
}

/// `kms:Decrypt` behind `ebs:GetSnapshotBlock` on an encrypted snapshot (map §8.2).
pub(crate) fn direct_read_decrypt(signer: &Signer, key: &KeyRef, ebs_id: &str, snapshot_region: &str) -> AuthzRequest {
    AuthzRequest::new(&signer.session, "kms:Decrypt", &key.arn)
        .called_in(&key.region, true)
        .with("kms:ViaService", via_ec2(snapshot_region))
        .with("kms:CallerAccount", &signer.account)
        .with("kms:EncryptionContext:aws:ebs:id", ebs_id)
        .with_set("kms:EncryptionContextKeys", ["aws:ebs:id"])
        .because(
            format!(
                "reading blocks of an encrypted snapshot decrypts its data key as the caller: which KMS operations the \
                 EBS direct APIs call is not documented, Decrypt through ec2 (no ebs ViaService exists) with aws:ebs:id = \
                 {ebs_id} is the inferred answer"
            ),
            doc::EBS_DIRECT_KMS,
        )
        .inferred(
            "AWS documents that reading an encrypted snapshot's blocks needs kms:Decrypt, not the request: through \
             EC2 in the snapshot's Region, with aws:ebs:id the snapshot's, is inferred",
        )
}

/// The source role's CreateGrant for the forensic role (path 5), and the grant it creates.
pub(crate) fn create_grant(
    source: &Signer,
    key: &KeyRef,
    grantee_role: &str,
    grant_id: &str,
    volume_id: &str,
) -> (AuthzRequest, PlannedGrant) {
    let operations = grant_operations(key, grantee_role);
    let request = AuthzRequest::new(&source.session, "kms:CreateGrant", &key.arn)
        .called_in(&key.region, false)
        .with("kms:CallerAccount", &source.account)
        .with("kms:GranteePrincipal", grantee_role)
        .with("kms:RetiringPrincipal", grantee_role)
        .with_set("kms:GrantOperations", operations.iter().copied())
        .with("kms:GrantConstraintType", "EncryptionContextSubset")
        .with("kms:EncryptionContext:aws:ebs:id", volume_id)
        .with_set("kms:EncryptionContextKeys", ["aws:ebs:id"])
        .with("kms:GrantIsForAWSResource", "false")
        .because(
            format!(
                "the source role creates the grant itself (grant-only), so kms:GrantIsForAWSResource is false, with \
                 grantee and retiring principal {grantee_role}, the operations AWS lists for a shared key, and a constraint \
                 aws:ebs:id = {volume_id} (how the constraint maps onto kms:EncryptionContext keys is not documented)"
            ),
            doc::KMS_GRANT_CONDITIONS,
        )
        .inferred(
            "AWS does not document how a grant's encryption-context constraint appears in the CreateGrant request: \
             as kms:EncryptionContext:aws:ebs:id and kms:EncryptionContextKeys, like the operations it allows, is \
             inferred",
        );
    let grant = PlannedGrant {
        key_arn: key.arn.clone(),
        grant: json!({
            "grant_id": grant_id,
            "grantee_principal": grantee_role,
            "operations": operations,
            "constraints": {"encryption_context_subset": {"aws:ebs:id": volume_id}},
            "retiring_principal": grantee_role,
            "issuing_account": source.account,
        }),
    };
    (request, grant)
}

/// The forensic role retires the grant it was given (path 5 cleanup).
pub(crate) fn retire_grant(retiring: &Signer, key: &KeyRef, grant_id: &str) -> AuthzRequest {
    AuthzRequest::new(&retiring.session, "kms:RetireGrant", &key.arn)
        .called_in(&key.region, false)
        .with("kms:CallerAccount", &retiring.account)
        .retiring(grant_id)
        .because(
            format!(
                "RetireGrant is authorized by grant {grant_id} itself, which names {} as retiring principal (a \
                 kms:RetireGrant allow in a key policy has no effect, a Deny does)",
                retiring.role_arn
            ),
            doc::KMS_RETIRE_GRANT,
        )
}

/// CreateKey of the temporary key, with its tags and its key policy (map §9.1).
pub(crate) fn create_key(source: &Signer, key: &KeyRef, tags: &[(String, String)]) -> Vec<AuthzRequest> {
    let all_keys = match custody_ids::Arn::parse(&key.arn) {
        Ok(arn) if arn.resource().starts_with("key/") => {
            format!("arn:{}:kms:{}:{}:key/*", arn.partition(), key.region, key.account)
        }
        _ => key.arn.clone(),
    };
    vec![
        AuthzRequest::new(&source.session, "kms:CreateKey", "*")
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .with("kms:KeySpec", "SYMMETRIC_DEFAULT")
            .with("kms:KeyUsage", "ENCRYPT_DECRYPT")
            .with("kms:KeyOrigin", "AWS_KMS")
            .with("kms:MultiRegion", "false")
            .with("kms:BypassPolicyLockoutSafetyCheck", "false")
            .request_tags(tags)
            .because(
                "CreateKey has no key resource, so it is authorized on Resource \"*\" by IAM policies alone, and is \
                 scoped by aws:RequestTag/aws:TagKeys",
                doc::KMS_CREATE_KEY,
            ),
        AuthzRequest::new(&source.session, "kms:TagResource", all_keys)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .request_tags(tags)
            .scoped(PolicyScope::Identity)
            .because(
                "tagging a key while creating it needs kms:TagResource in an IAM policy that covers every key of the \
                 account and Region (evaluated here on key/*; not in the map, from the KMS tagging guide)",
                doc::KMS_TAG_ON_CREATE,
            ),
        AuthzRequest::new(&source.session, "kms:PutKeyPolicy", &key.arn)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .with("kms:BypassPolicyLockoutSafetyCheck", "false")
            .because(
                "the lockout safety check: the key policy passed to CreateKey must let the caller call PutKeyPolicy \
                 later (evaluated against the temporary key's policy; whether IAM also evaluates kms:PutKeyPolicy at \
                 creation is not documented)",
                doc::KMS_CREATE_KEY,
            )
            .inferred(
                "AWS documents the lockout safety check on the key policy given to CreateKey, not how KMS evaluates \
                 it: custody checks kms:PutKeyPolicy against that policy as an ordinary request",
            ),
    ]
}

/// CreateAlias / DeleteAlias: authorized on the alias and on the key (map §9.3).
pub(crate) fn alias_requests(source: &Signer, action: &str, alias_arn: &str, key: &KeyRef) -> Vec<AuthzRequest> {
    vec![
        AuthzRequest::new(&source.session, action, alias_arn)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .because(
                format!(
                    "{action} is authorized on the alias, by IAM policy, and only the alias ARN in Resource can scope \
                     it: condition keys (kms:RequestAlias included) cannot"
                ),
                doc::KMS_ALIAS_ACCESS,
            ),
        AuthzRequest::new(&source.session, action, &key.arn)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .because(
                format!(
                    "{action} is also authorized on the key the alias points to, by its key policy; \
                     kms:ResourceAliases cannot scope it while the key has no alias yet"
                ),
                doc::KMS_ALIAS_ACCESS,
            ),
    ]
}

/// The lookup of a temporary key whose CreateKey answer was lost (a run killed mid-call): KMS
/// CreateKey takes no client token, so a resume or a cleanup finds the key by listing the account's
/// keys and describing each (map §9.1). kms:ListKeys has no resource type and is decided by IAM
/// policy alone; DescribeKey of the temporary key is granted by the key policy custody writes.
pub(crate) fn find_temp_key(source: &Signer, key: &KeyRef) -> Vec<AuthzRequest> {
    vec![
        AuthzRequest::new(&source.session, "kms:ListKeys", "*")
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .because(
                "ListKeys has no resource type (Resource \"*\"): a key whose CreateKey answer was lost in a crash can \
                 only be found by listing the keys of the account and Region, as CreateKey is not idempotent",
                doc::KMS_LIST_KEYS,
            ),
        AuthzRequest::new(&source.session, "kms:DescribeKey", &key.arn)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .because(
                "each listed key is described to recognise the temporary key by its description; the key policy \
                 custody writes lets the source role describe it",
                doc::KMS_LIST_KEYS,
            ),
        AuthzRequest::new(&source.session, "kms:ListResourceTags", &key.arn)
            .called_in(&key.region, false)
            .with("kms:CallerAccount", &source.account)
            .because(
                "a key that matches the description is adopted only if it carries the run's tags (case, instance, \
                 volume and run id), so a look-alike key is never taken for the run's own; the key policy custody \
                 writes lets the source role read its tags",
                doc::KMS_LIST_KEYS,
            ),
    ]
}

/// ScheduleKeyDeletion of the temporary key with the shortest waiting period (map §9.4).
pub(crate) fn schedule_key_deletion(source: &Signer, key: &KeyRef) -> AuthzRequest {
    AuthzRequest::new(&source.session, "kms:ScheduleKeyDeletion", &key.arn)
        .called_in(&key.region, false)
        .with("kms:CallerAccount", &source.account)
        .with("kms:ScheduleKeyDeletionPendingWindowInDays", TEMP_KEY_DELETION_DAYS.to_string())
        .because(
            format!(
                "the temporary key is scheduled for deletion after {TEMP_KEY_DELETION_DAYS} days, the minimum; \
                 kms:ScheduleKeyDeletionPendingWindowInDays can pin the window"
            ),
            doc::KMS_SCHEDULE_DELETION,
        )
}

/// The readiness probe before the copy from the temporary key (path 8): DescribeKey on it as the
/// forensic role, directly and without a grant token. The role reaches the key only through the
/// key's alias (`kms:ResourceAliases` in its own policy), and "it might take up to five minutes for
/// alias changes to affect KMS key authorization" (alias-authorization.html): the executor asks until
/// KMS allows it, so the copy is not made, and does not fail, before the alias authorizes.
pub(crate) fn probe_temp_key(forensic: &Signer, key: &KeyRef) -> AuthzRequest {
    AuthzRequest::new(&forensic.session, "kms:DescribeKey", &key.arn)
        .called_in(&key.region, false)
        .with("kms:CallerAccount", &forensic.account)
        .because(
            "before it copies from the temporary key, custody asks KMS to describe the key as the forensic role, again \
             and again until it is allowed: the role may use the key only by its alias, and a new alias may take up to \
             five minutes to authorize",
            doc::KMS_ALIAS_AUTHORIZATION,
        )
}

/// The temporary key (path 8): its placeholder ARN, alias and key policy. The policy lets the source
/// role administer the key (the lockout check requires PutKeyPolicy for the creator) and use it only
/// through EC2 in its Region to re-encrypt the snapshot; it admits the forensic role through EC2, for
/// what a copy needs on a source key, and to describe the key (the readiness probe,
/// [`probe_temp_key`]). No account-root statement: IAM policies of neither account can widen it.
pub(crate) fn temp_key(ctx: &Ctx, source: &Signer, forensic_role: &str, key: &KeyRef, alias: &str) -> PlannedKey {
    let own_via = via_ec2(&key.region);
    let forensic_via: Vec<String> = if ctx.dst_region == key.region {
        vec![own_via.clone()]
    } else {
        // SILENT which Region KMS sees for the source key of a cross-Region copy (map §5.2): admit both.
        vec![own_via.clone(), via_ec2(&ctx.dst_region)]
    };
    let forensic_account = super::names::arn_field(forensic_role, 4).to_string();
    let policy = json!({
        "Version": "2012-10-17",
        "Id": format!("custody-temporary-key-{}", ctx.case_id),
        "Statement": [
            {
                "Sid": "CustodySourceRoleAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": source.role_arn},
                "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:ListResourceTags",
                           "kms:CreateAlias", "kms:DeleteAlias", "kms:ScheduleKeyDeletion"],
                "Resource": "*"
            },
            {
                "Sid": "CustodySourceRoleReEncryptsThroughEc2",
                "Effect": "Allow",
                "Principal": {"AWS": source.role_arn},
                "Action": kms_actions(&EBS_ENCRYPTION_OPERATIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": own_via, "kms:CallerAccount": source.account}}
            },
            {
                "Sid": "CustodySourceRoleGrantsToEc2",
                "Effect": "Allow",
                "Principal": {"AWS": source.role_arn},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": own_via, "kms:CallerAccount": source.account},
                    "Bool": {"kms:GrantIsForAWSResource": "true"}
                }
            },
            {
                "Sid": "CustodyForensicRoleCopiesThroughEc2",
                "Effect": "Allow",
                "Principal": {"AWS": forensic_role},
                "Action": kms_actions(&SHARED_KEY_OPERATIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": forensic_via, "kms:CallerAccount": forensic_account}}
            },
            {
                "Sid": "CustodyForensicRoleWaitsForTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": forensic_role},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": forensic_account}}
            },
            {
                "Sid": "CustodyForensicRoleGrantsToEc2",
                "Effect": "Allow",
                "Principal": {"AWS": forensic_role},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": forensic_via, "kms:CallerAccount": forensic_account},
                    "Bool": {"kms:GrantIsForAWSResource": "true"}
                }
            }
        ]
    });
    PlannedKey { arn: key.arn.clone(), aliases: vec![alias.to_string()], policy }
}
