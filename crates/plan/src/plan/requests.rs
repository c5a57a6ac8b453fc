//! One builder per AWS call custody makes (other than KMS, see `kms`): every authorization request
//! AWS evaluates for it, with the context keys it carries, `why` (one sentence) and `source` (the
//! AWS page, as cited in docs/aws-authorization-map.md, section given in `why`).
//!
//! Context keys present on every request: `aws:RequestedRegion` (the Region called) and
//! `aws:ViaAWSService` (false for custody's own calls, true for the KMS calls EC2 makes as the
//! caller) (IAM User Guide, "AWS global condition context keys",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>); and on
//! every EC2 request `ec2:Region`, the action-level key of every EC2 action (map §0). The engine
//! derives `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:ResourceAccount` and `kms:CallerAccount`
//! itself; `kms:CallerAccount` is given anyway where the map states it.

use super::context::{Ctx, KeyRef, Signer, SnapRef};
use super::{AuthzRequest, ContextEntry, PolicyScope};
use std::collections::BTreeMap;

/// The AWS pages the requests cite.
pub(crate) mod doc {
    pub const STS_ASSUME_ROLE: &str = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html";
    pub const EC2_SAR: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html";
    pub const EBS_IAM_CREATE_SNAPSHOTS: &str =
        "https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html#iam-creating-snapshots";
    pub const EBS_IAM_TAG_ON_CREATE: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html#iam-creating-snapshot-with-tags";
    pub const EBS_IAM_COPY: &str =
        "https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html#iam-copy-snapshot";
    pub const EBS_COPY: &str = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-copy-snapshot.html";
    pub const EBS_SHARE: &str =
        "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html";
    pub const EBS_DIRECT: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-permissions.html";
    pub const EBS_DIRECT_KMS: &str =
        "https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-permissions.html#ebsapi-kms-permissions";
    pub const KMS_EBS_CONTEXT: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context";
    pub const EBS_ENCRYPTION_REQUIREMENTS: &str =
        "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions";
    pub const KMS_SHARE_KEY: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html";
    pub const KMS_GRANT_CONDITIONS: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-operations";
    pub const KMS_RETIRE_GRANT: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete";
    pub const KMS_CREATE_KEY: &str = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html";
    pub const KMS_LIST_KEYS: &str = "https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html";
    pub const KMS_TAG_ON_CREATE: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html";
    pub const KMS_ALIAS_ACCESS: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html";
    pub const KMS_ALIAS_AUTHORIZATION: &str =
        "https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html";
    pub const KMS_SCHEDULE_DELETION: &str =
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html";
    pub const SSM_TAG_ACCESS: &str =
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access";
    pub const SSM_SAR: &str =
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html";
}

impl AuthzRequest {
    /// A request with no context yet.
    pub fn new(principal: &str, action: &str, resource: impl Into<String>) -> AuthzRequest {
        AuthzRequest {
            principal: principal.to_string(),
            action: action.to_string(),
            resource: resource.into(),
            resource_account: None,
            context: BTreeMap::new(),
            grant_id: None,
            scope: PolicyScope::All,
            why: String::new(),
            source: String::new(),
            inferred: None,
        }
    }

    /// The account that owns the resource (for ARNs without one).
    pub fn owned_by(mut self, account: &str) -> AuthzRequest {
        self.resource_account = Some(account.to_string());
        self
    }

    /// Sets a single-valued context key.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> AuthzRequest {
        self.context.insert(key.into(), ContextEntry::Single(value.into()));
        self
    }

    /// Sets a multi-valued context key.
    pub fn with_set<I, S>(mut self, key: impl Into<String>, values: I) -> AuthzRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context.insert(key.into(), ContextEntry::Multi(values.into_iter().map(Into::into).collect()));
        self
    }

    /// `aws:RequestedRegion` and `aws:ViaAWSService`.
    pub fn called_in(self, region: &str, via_aws_service: bool) -> AuthzRequest {
        self.with("aws:RequestedRegion", region).with("aws:ViaAWSService", via_aws_service.to_string())
    }

    /// `aws:RequestedRegion`, `aws:ViaAWSService` = false and `ec2:Region`.
    pub fn ec2_in(self, region: &str) -> AuthzRequest {
        self.called_in(region, false).with("ec2:Region", region)
    }

    /// `aws:RequestTag/<k>` for each tag, and `aws:TagKeys`.
    pub fn request_tags(mut self, tags: &[(String, String)]) -> AuthzRequest {
        for (k, v) in tags {
            self = self.with(format!("aws:RequestTag/{k}"), v.clone());
        }
        self.with_set("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()))
    }

    /// `aws:ResourceTag/<k>` and `ec2:ResourceTag/<k>` for the tags the resource carries.
    pub fn resource_tags(mut self, tags: &[(String, String)], ec2: bool) -> AuthzRequest {
        for (k, v) in tags {
            self = self.with(format!("aws:ResourceTag/{k}"), v.clone());
            if ec2 {
                self = self.with(format!("ec2:ResourceTag/{k}"), v.clone());
            }
        }
        self
    }

    pub fn scoped(mut self, scope: PolicyScope) -> AuthzRequest {
        self.scope = scope;
        self
    }

    pub fn retiring(mut self, grant_id: &str) -> AuthzRequest {
        self.grant_id = Some(grant_id.to_string());
        self
    }

    /// Why AWS evaluates the request (one sentence) and the page that says so.
    pub fn because(mut self, why: impl Into<String>, source: &str) -> AuthzRequest {
        self.why = why.into();
        self.source = source.to_string();
        self
    }

    /// Marks the request as inferred: `reasoning` says what AWS does not document and what custody
    /// assumes instead, so a reviewer sees which part of the proof rests on it.
    pub fn inferred(mut self, reasoning: impl Into<String>) -> AuthzRequest {
        self.inferred = Some(reasoning.into());
        self
    }
}

/// `sts:AssumeRole` of `target` by `caller`: evaluated against the caller's identity policy and
/// against the role's trust policy (map §1).
pub(crate) fn assume_role(caller: &Signer, target: &Signer, region: &str) -> Vec<AuthzRequest> {
    let session = custody_ids::Arn::parse(&target.session).ok().and_then(|a| a.assumed_role());
    let session_name = session.map(|s| s.session).unwrap_or_default();
    let base = AuthzRequest::new(&caller.session, "sts:AssumeRole", &target.role_arn)
        .called_in(region, false)
        .with("sts:RoleSessionName", session_name);
    vec![
        base.clone().scoped(PolicyScope::Identity).because(
            format!(
                "the identity-based policies of {} must allow sts:AssumeRole on {} (for a role in another account \
                 both this and the role's trust policy are required)",
                caller.role_arn, target.role_arn
            ),
            doc::STS_ASSUME_ROLE,
        ),
        base.scoped(PolicyScope::Resource).because(
            format!(
                "the trust policy of {} must allow {} (or its account) as Principal for sts:AssumeRole",
                target.role_arn, caller.role_arn
            ),
            doc::STS_ASSUME_ROLE,
        ),
    ]
}

/// `ec2:Describe*`: no resource-level permissions, so Resource `*` (map §2).
pub(crate) fn ec2_describe(signer: &Signer, action: &str, region: &str) -> AuthzRequest {
    AuthzRequest::new(&signer.session, action, "*").ec2_in(region).because(
        format!("{action} supports no resource-level permissions, so it is authorized on Resource \"*\""),
        doc::EC2_SAR,
    )
}

/// `ec2:CreateSnapshots` of every volume of the instance, with tag-on-create (map §3.2, §3.3).
pub(crate) fn create_snapshots(ctx: &Ctx, signer: &Signer) -> Vec<AuthzRequest> {
    let region = &ctx.src_region;
    let instance_tags: Vec<(String, String)> = ctx.instance.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut out = vec![AuthzRequest::new(&signer.session, "ec2:CreateSnapshots", ctx.instance_arn())
        .ec2_in(region)
        .with("ec2:InstanceID", &ctx.instance.id)
        .resource_tags(&instance_tags, true)
        .because("CreateSnapshots is authorized on the instance (required resource type instance*)", doc::EC2_SAR)];
    for volume in &ctx.instance.volumes {
        out.push(
            AuthzRequest::new(&signer.session, "ec2:CreateSnapshots", ctx.volume_arn(volume))
                .ec2_in(region)
                .with("ec2:VolumeID", &volume.id)
                .with("ec2:VolumeSize", volume.size_gib.to_string())
                .with("ec2:Encrypted", volume.encrypted.to_string())
                .because(
                    format!(
                        "CreateSnapshots is authorized on each volume it snapshots, here {} (required resource type \
                         volume*; one evaluation per volume is inferred)",
                        volume.id
                    ),
                    doc::EBS_IAM_CREATE_SNAPSHOTS,
                )
                .inferred(
                    "AWS documents that CreateSnapshots is authorized on the volumes, not that each volume is a \
                     request of its own: custody checks each one",
                ),
        );
    }
    let tags = ctx.case_tags();
    let new_snapshots = ctx.snapshot_arn(region, "*");
    out.push(
        AuthzRequest::new(&signer.session, "ec2:CreateSnapshots", &new_snapshots)
            .owned_by(&ctx.src_account)
            .ec2_in(region)
            .request_tags(&tags)
            .because(
                "CreateSnapshots is authorized on the new snapshots, before their IDs exist, as snapshot/* (required \
                 resource type snapshot*)",
                doc::EBS_IAM_CREATE_SNAPSHOTS,
            ),
    );
    out.push(
        AuthzRequest::new(&signer.session, "ec2:CreateTags", &new_snapshots)
            .owned_by(&ctx.src_account)
            .ec2_in(region)
            .with("ec2:CreateAction", "CreateSnapshots")
            .request_tags(&tags)
            .because(
                "tagging on create (the case tags) makes EC2 also authorize ec2:CreateTags on the new snapshots, \
                 with ec2:CreateAction = CreateSnapshots",
                doc::EBS_IAM_TAG_ON_CREATE,
            ),
    );
    out
}

/// The EC2 side of `ec2:CopySnapshot` from `from` into `to` (sent to `to.region`): the new
/// snapshot, the source snapshot and tag-on-create (map §5.1). The KMS side is `kms::copy_*`.
pub(crate) fn copy_snapshot_ec2(ctx: &Ctx, signer: &Signer, from: &SnapRef, to: &SnapRef) -> Vec<AuthzRequest> {
    let region = &to.region;
    let new_arn = ctx.snapshot_arn(region, "*");
    let shared = from.account != signer.account;
    let source = AuthzRequest::new(&signer.session, "ec2:CopySnapshot", ctx.snapshot_arn(&from.region, &from.id))
        .owned_by(&from.account)
        .ec2_in(region)
        .with("ec2:SnapshotID", &from.id)
        .resource_tags(&from.tags, true);
    let source = if from.region != *region {
        source.inferred(format!(
            "AWS does not say which Region the source snapshot's ARN carries in a cross-Region copy: the snapshot's \
             own ({}) is assumed",
            from.region
        ))
    } else {
        source
    };
    let source = if shared {
        source.scoped(PolicyScope::Identity).because(
            format!(
                "CopySnapshot is also authorized on the source snapshot (current EBS documentation; the Region in its \
                 ARN is inferred); it is shared with account {} by createVolumePermission, which stands in \
                 for a resource policy, so only the caller's policies are evaluated",
                signer.account
            ),
            doc::EBS_IAM_COPY,
        )
    } else {
        source.because(
            "CopySnapshot is also authorized on the source snapshot (current EBS documentation; the Region in its ARN \
             is inferred)",
            doc::EBS_IAM_COPY,
        )
    };
    vec![
        AuthzRequest::new(&signer.session, "ec2:CopySnapshot", &new_arn)
            .owned_by(&to.account)
            .ec2_in(region)
            .request_tags(&to.tags)
            .because(
                format!(
                    "CopySnapshot is sent to the destination Region {region} and authorized on the new snapshot, \
                     whose ID is then a literal `*` (matched by snapshot/* or snapshot/${{*}})"
                ),
                doc::EBS_IAM_COPY,
            ),
        source,
        AuthzRequest::new(&signer.session, "ec2:CreateTags", &new_arn)
            .owned_by(&to.account)
            .ec2_in(region)
            .with("ec2:CreateAction", "CopySnapshot")
            .request_tags(&to.tags)
            .because(
                "tagging the copy on create makes EC2 also authorize ec2:CreateTags with ec2:CreateAction = \
                 CopySnapshot (dependent action in the SAR)",
                doc::EC2_SAR,
            ),
    ]
}

/// `ec2:ModifySnapshotAttribute` adding (`add`) or removing `account` from the snapshot's
/// createVolumePermission (map §6).
pub(crate) fn modify_share(ctx: &Ctx, signer: &Signer, snap: &SnapRef, account: &str, add: bool) -> AuthzRequest {
    let key = if add { "ec2:Add/userId" } else { "ec2:Remove/userId" };
    let why = if add {
        format!(
            "sharing is ModifySnapshotAttribute on the snapshot, by its owner, with ec2:Add/userId = {account} \
             (ec2:Attribute = createVolumePermission is inferred)"
        )
    } else {
        format!(
            "removing the share is ModifySnapshotAttribute on the snapshot, by its owner, with ec2:Remove/userId = \
             {account}"
        )
    };
    snapshot_request(ctx, signer, "ec2:ModifySnapshotAttribute", snap)
        .with("ec2:Attribute", "createVolumePermission")
        .with(key, account)
        .because(why, doc::EBS_SHARE)
        .inferred("AWS does not document that ec2:Attribute is createVolumePermission in this request")
}

/// `ec2:DeleteSnapshot` of an intermediate snapshot (map §4).
pub(crate) fn delete_snapshot(ctx: &Ctx, signer: &Signer, snap: &SnapRef) -> AuthzRequest {
    snapshot_request(ctx, signer, "ec2:DeleteSnapshot", snap).because(
        format!(
            "DeleteSnapshot is authorized on the snapshot, by its owner (ec2:Owner = {} pins the account, which the \
             ARN lacks)",
            snap.account
        ),
        doc::EC2_SAR,
    )
}

/// `ec2:CreateTags` adding the evidence tag to an existing snapshot custody created (a source snapshot
/// that is itself the evidence: CreateSnapshots tags every snapshot it makes alike). CreateTags on a
/// snapshot is authorized on the snapshot with its tags (aws:ResourceTag) and the tags asked for
/// (aws:RequestTag, aws:TagKeys) (EC2 service authorization reference, CreateTags,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>).
pub(crate) fn tag_evidence(ctx: &Ctx, signer: &Signer, snap: &SnapRef) -> AuthzRequest {
    let tag = [(super::TAG_EVIDENCE.to_string(), super::EVIDENCE_TAG_VALUE.to_string())];
    snapshot_request(ctx, signer, "ec2:CreateTags", snap).request_tags(&tag).because(
        format!(
            "marking {} as evidence is CreateTags on the snapshot, by its owner, with aws:RequestTag/{} and the tags \
             it already carries",
            snap.id,
            super::TAG_EVIDENCE
        ),
        doc::EC2_SAR,
    )
}

/// `ec2:CreateVolume` from the evidence snapshot `snap` in `az`: authorized on the new volume (with
/// the tags requested for it) and on the snapshot, plus CreateTags for tag-on-create (map §7;
/// EBS User Guide, "Identity-based policies for Amazon EBS"). `volume_key`: the key the new volume is
/// encrypted under (the snapshot's, or the default key where encryption by default is on).
pub(crate) fn create_volume(
    ctx: &Ctx,
    signer: &Signer,
    snap: &SnapRef,
    volume_key: Option<&KeyRef>,
    az: &str,
    tags: &[(String, String)],
) -> Vec<AuthzRequest> {
    let new_volume = format!("arn:{}:ec2:{}:{}:volume/*", ctx.partition, snap.region, signer.account);
    let mut on_new = AuthzRequest::new(&signer.session, "ec2:CreateVolume", &new_volume)
        .ec2_in(&snap.region)
        .with("ec2:AvailabilityZone", az)
        .with("ec2:Encrypted", volume_key.is_some().to_string())
        .with("ec2:ParentSnapshot", ctx.snapshot_arn(&snap.region, &snap.id))
        .request_tags(tags);
    if let Some(k) = volume_key {
        on_new = on_new.with("ec2:KmsKeyId", &k.arn);
    }
    vec![
        on_new.because(
            "CreateVolume is authorized on the new volume, with the tags requested for it (aws:RequestTag) and its \
             zone, encryption and parent snapshot",
            doc::EBS_IAM_TAG_ON_CREATE,
        ),
        snapshot_request(ctx, signer, "ec2:CreateVolume", snap)
            .with("ec2:Encrypted", snap.key.is_some().to_string())
            .because("CreateVolume is also authorized on the snapshot it is created from", doc::EC2_SAR),
        AuthzRequest::new(&signer.session, "ec2:CreateTags", new_volume)
            .ec2_in(&snap.region)
            .with("ec2:CreateAction", "CreateVolume")
            .request_tags(tags)
            .because(
                "tagging the volume as it is created needs ec2:CreateTags with ec2:CreateAction = CreateVolume \
                ",
                doc::EBS_IAM_TAG_ON_CREATE,
            ),
    ]
}

/// A request on an existing snapshot custody created, with the resource keys it carries.
fn snapshot_request(ctx: &Ctx, signer: &Signer, action: &str, snap: &SnapRef) -> AuthzRequest {
    let mut r = AuthzRequest::new(&signer.session, action, ctx.snapshot_arn(&snap.region, &snap.id))
        .owned_by(&snap.account)
        .ec2_in(&snap.region)
        .with("ec2:SnapshotID", &snap.id)
        .with("ec2:Owner", &snap.account)
        .resource_tags(&snap.tags, true);
    if let Some(v) = &snap.parent_volume {
        r = r.with("ec2:ParentVolume", v);
    }
    r
}

/// `ebs:ListSnapshotBlocks` / `ebs:GetSnapshotBlock` on a snapshot (map §8.1).
pub(crate) fn ebs_read(ctx: &Ctx, signer: &Signer, action: &str, snap: &SnapRef) -> AuthzRequest {
    AuthzRequest::new(&signer.session, action, ctx.snapshot_arn(&snap.region, &snap.id))
        .owned_by(&snap.account)
        .called_in(&snap.region, false)
        .resource_tags(&snap.tags, false)
        .because(
            format!(
                "{action} is authorized on the snapshot, whose ARN is the ec2 snapshot ARN with no account (required \
                 resource type snapshot*)"
            ),
            doc::EBS_DIRECT,
        )
}

/// `ssm:SendCommand` of the shell document to the instance: authorized on the instance and on the
/// document (map §10.1).
pub(crate) fn send_command(ctx: &Ctx, signer: &Signer) -> Vec<AuthzRequest> {
    let region = &ctx.src_region;
    let document = if ctx.instance.platform.eq_ignore_ascii_case("windows") {
        "AWS-RunPowerShellScript"
    } else {
        "AWS-RunShellScript"
    };
    let mut on_instance =
        AuthzRequest::new(&signer.session, "ssm:SendCommand", ctx.instance_arn()).called_in(region, false).because(
            "SendCommand is authorized on the target instance; its tags arrive as ssm:resourceTag/<key>, the key the \
             Run Command guide uses for tag-based access",
            doc::SSM_TAG_ACCESS,
        );
    for (k, v) in &ctx.instance.tags {
        on_instance = on_instance.with(format!("ssm:resourceTag/{k}"), v.clone());
    }
    vec![
        on_instance,
        AuthzRequest::new(
            &signer.session,
            "ssm:SendCommand",
            format!("arn:{}:ssm:{region}::document/{document}", ctx.partition),
        )
        .called_in(region, false)
        .because(
            format!(
                "SendCommand is also authorized on the document, {document}, an AWS-owned document whose ARN has no \
                 account (required resource type document*)"
            ),
            doc::SSM_TAG_ACCESS,
        ),
    ]
}

/// `ssm:ListCommands`: a resumed triage looks up, by the comment it sent, a command whose answer was
/// lost, so it never sends it twice. No resource-level permissions (Service Authorization Reference).
pub(crate) fn list_commands(signer: &Signer, region: &str) -> AuthzRequest {
    AuthzRequest::new(&signer.session, "ssm:ListCommands", "*").called_in(region, false).because(
        "a resumed triage finds the command it sent before it stopped with ListCommands (never sending it twice); \
         ListCommands supports no resource-level permissions, so it is authorized on Resource \"*\"",
        doc::SSM_SAR,
    )
}

/// `ssm:GetCommandInvocation`: no resource-level permissions (map §10.2).
pub(crate) fn get_command_invocation(signer: &Signer, region: &str) -> AuthzRequest {
    AuthzRequest::new(&signer.session, "ssm:GetCommandInvocation", "*").called_in(region, false).because(
        "GetCommandInvocation supports no resource-level permissions, so it is authorized on Resource \"*\" and an \
         instance tag condition can never match it",
        doc::SSM_SAR,
    )
}
