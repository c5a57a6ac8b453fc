//! The feature → statement table: every statement custody's role policies can contain, with the
//! feature (and KMS mode) that needs it, what it is for and the AWS page that requires it.
//!
//! To review the policy for a feature, read its rows in [`TEMPLATES`], and in [`evidence`] for
//! everything that deletes a snapshot or marks one as evidence (the Deny that protects evidence, the
//! cleanup rows, the evidence custodian's role), and in [`audit`] for reading CloudTrail's event
//! history (`custody audit`). Resources and conditions are
//! symbolic ([`Res`], [`Cond`]) and become ARNs and condition blocks for the accounts and regions
//! given (`fill.rs`): `*` where none was given. The rows follow the requests the planner lays out for
//! each step (`plan/steps.rs`, `plan/transfer.rs`, `plan/kms.rs`); the derivations are in
//! `docs/aws-authorization-map.md` (§ numbers below).
//!
//! Who signs what: the source role does everything in the source account (discover, snapshot, share,
//! the temporary key, triage, cleanup, the direct read of path 9); the forensic role assumes it,
//! copies into the forensic account and reads the copies. For an instance of the forensic account
//! itself the planner signs the source-side steps with the forensic role: rows marked `forensic_too`
//! are then also given to the forensic role, for its own account.
//!
//! Not in the table, on purpose:
//! - IAM statements on the temporary key itself (PutKeyPolicy, CreateAlias and DeleteAlias on the
//!   key, ScheduleKeyDeletion): the key policy custody writes names the source role for them and has
//!   no account-root statement, so IAM policies are never consulted for that key (KMS Developer Guide,
//!   "Key policies", <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>);
//!   only the alias side is decided by IAM, scoped by the alias ARN (map §9.3).
//! - kms:RetireGrant: the forensic role retires its grants as their retiring principal, which the
//!   grant itself authorizes; an allow of kms:RetireGrant in a policy does not let anyone retire a
//!   grant (map §9.6).

pub mod audit;
pub mod evidence;
mod row;
pub mod triage_output;

pub use evidence::{rows, Effect};
pub use row::{Cond, Res, Role, Scope, Template};

use super::{Feature, KmsMode};

const ASSUME_ROLE: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html";
const EC2_SAR: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html";
const EBS_IAM: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html";
const SHARE: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html";
const COPY_KMS: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html";
const SHARE_KEY: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html";
const GRANT_CONDS: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-operations";
const ALIASES: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html#alias-access-limiting";
pub(super) const RESOURCE_ALIASES: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases";
const KMS_TAGS: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html";
const LIST_KEYS: &str = "https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html";
const EBS_DIRECT: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-permissions.html";
const SSM_TAGS: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access";
const SSM_SAR: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html";
pub(super) const RETIRE: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete";

use Cond::*;
use Feature::{Acquire, Audit, Cleanup, DirectRead, Image, Triage, Volume};
use Res::*;
use Role::{Forensic, Source};
use Scope::{Always, CrossAccount};

/// What a role of another account uses a key for through EC2: the operations AWS lists for the users
/// of a shared key but CreateGrant, which has a statement of its own limited to AWS resources
/// (<https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html>).
const SHARED_KEY_USE: &[&str] = &[
    "kms:DescribeKey",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

pub(super) const ANY_MODE: &[KmsMode] = &[];

/// Every statement, grouped by feature and role.
pub const TEMPLATES: &[Template] = &[
    // ---- forensic role: reach the source accounts -----------------------------------------------
    Template {
        sid: "AssumeSourceRole",
        role: Forensic,
        features: &[Acquire, Triage, Cleanup, DirectRead, Audit],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["sts:AssumeRole"],
        resources: &[SourceRole],
        conditions: &[],
        purpose: "assume the source role in each source account (its trust policy must trust this role too)",
        doc: ASSUME_ROLE,
    },
    // ---- acquire, source role --------------------------------------------------------------------
    Template {
        sid: "AcquireDescribe",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"],
        resources: &[Any],
        conditions: &[],
        purpose: "find the instance and its volumes, wait for the snapshots (no resource types: Resource \"*\")",
        doc: EC2_SAR,
    },
    Template {
        sid: "AcquireSnapshotVolumes",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ec2:CreateSnapshots"],
        resources: &[SourceInstances, SourceVolumes, Snapshots],
        conditions: &[],
        purpose: "snapshot every volume crash-consistently (authorized on the instance, each volume and the new snapshots)",
        doc: EBS_IAM,
    },
    Template {
        sid: "AcquireTagSnapshotsOnCreate",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ec2:CreateTags"],
        resources: &[Snapshots],
        conditions: &[CreateAction("CreateSnapshots")],
        purpose: "tag the new snapshots with the case (CreateTags is evaluated when the request has tags)",
        doc: EBS_IAM,
    },
    Template {
        sid: "AcquireShareSnapshotsWithForensicAccount",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["ec2:ModifySnapshotAttribute"],
        resources: &[Snapshots],
        conditions: &[SharedWithForensicAccount],
        purpose: "share the snapshots with the forensic account only (createVolumePermission, ec2:Add/userId)",
        doc: SHARE,
    },
    Template {
        sid: "AcquireGrantForensicRoleUseOfSourceKeys",
        role: Source,
        features: &[Acquire],
        kms: &[KmsMode::GrantOnly],
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:CreateGrant"],
        resources: &[SourceKeys],
        conditions: &[GrantOperations, GranteeIsForensicRole, RetiringIsForensicRole],
        purpose: "grant-only: grant the forensic role only what EC2 needs to copy the shared snapshot, retirable by it",
        doc: GRANT_CONDS,
    },
    // ---- acquire, source role: the temporary key of path 8 (aws/ebs, cross-account) -------------
    Template {
        sid: "AcquireTempKeyCreate",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:CreateKey"],
        resources: &[Any],
        conditions: &[CaseTagRequested],
        purpose: "create the temporary key, tagged with the case (CreateKey has no resource: scoped by aws:RequestTag)",
        doc: KMS_TAGS,
    },
    Template {
        sid: "AcquireTempKeyTagOnCreate",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:TagResource"],
        resources: &[SourceKeys],
        conditions: &[CaseTagRequested],
        purpose: "tagging a key as it is created needs kms:TagResource in an IAM policy (KMS tagging guide)",
        doc: KMS_TAGS,
    },
    Template {
        sid: "AcquireTempKeyAlias",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:CreateAlias"],
        resources: &[TempKeyAliases],
        conditions: &[],
        purpose: "name the temporary key with the prefixed alias (alias side: only the alias ARN can scope it)",
        doc: ALIASES,
    },
    Template {
        sid: "FindTempKeyAfterInterruption",
        role: Source,
        features: &[Acquire, Cleanup],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:ListKeys"],
        resources: &[Any],
        conditions: &[],
        purpose: "find a temporary key whose CreateKey answer a crash lost (CreateKey is not idempotent; ListKeys has no resource type)",
        doc: LIST_KEYS,
    },
    Template {
        sid: "AcquireCopyToTempKey",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["ec2:CopySnapshot"],
        resources: &[Snapshots],
        conditions: &[],
        purpose: "re-encrypt aws/ebs snapshots under the temporary key: aws/ebs snapshots cannot be shared",
        doc: SHARE,
    },
    Template {
        sid: "AcquireTagTempKeyCopies",
        role: Source,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["ec2:CreateTags"],
        resources: &[Snapshots],
        conditions: &[CreateAction("CopySnapshot")],
        purpose: "tag the re-encrypted copies with the case",
        doc: EC2_SAR,
    },
    // ---- acquire, forensic role ------------------------------------------------------------------
    Template {
        sid: "AcquireCopySnapshots",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:CopySnapshot"],
        resources: &[Snapshots],
        conditions: &[],
        purpose: "copy the (shared) snapshot into the forensic account (authorized on the source and the new snapshot)",
        doc: EBS_IAM,
    },
    Template {
        sid: "AcquireTagCopiesOnCreate",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:CreateTags"],
        resources: &[Snapshots],
        conditions: &[CreateAction("CopySnapshot")],
        purpose: "tag the evidence copies with the case",
        doc: EC2_SAR,
    },
    Template {
        sid: "AcquireDescribeCopies",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DescribeSnapshots"],
        resources: &[Any],
        conditions: &[],
        purpose: "wait for the copies (a refused key shows only as the copy's `error` state)",
        doc: EC2_SAR,
    },
    Template {
        sid: "AcquireForensicKeyViaEc2",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &[
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ],
        resources: &[ForensicKeys],
        conditions: &[ViaEc2],
        purpose: "let EC2 use the forensic account's keys on this role's behalf, for the evidence copies and copies of \
                  this account's own volumes: the permissions AWS lists as required for EBS encryption",
        doc: COPY_KMS,
    },
    Template {
        sid: "AcquireForensicKeyGrantsForEc2",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["kms:CreateGrant"],
        resources: &[ForensicKeys],
        conditions: &[ViaEc2, ForAwsResource],
        purpose: "let EC2 create its grant on the forensic account's keys, and no one else (kms:GrantIsForAWSResource)",
        doc: COPY_KMS,
    },
    Template {
        sid: "AcquireUseSourceKeysViaEc2",
        role: Forensic,
        features: &[Acquire],
        kms: &[KmsMode::Direct],
        scope: CrossAccount,
        forensic_too: false,
        actions: SHARED_KEY_USE,
        resources: &[SourceKeys],
        conditions: &[ViaEc2],
        purpose: "direct use: use the source keys through EC2; cross-account use needs this and the key policy",
        doc: SHARE_KEY,
    },
    Template {
        sid: "AcquireSourceKeyGrantsForEc2",
        role: Forensic,
        features: &[Acquire],
        kms: &[KmsMode::Direct],
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:CreateGrant"],
        resources: &[SourceKeys],
        conditions: &[ViaEc2, ForAwsResource],
        purpose: "direct use: CreateGrant on the source keys only for AWS resources (\"Allow attachment of persistent resources\")",
        doc: SHARE_KEY,
    },
    Template {
        sid: "AcquireUseTempKeysViaEc2",
        role: Forensic,
        features: &[Acquire],
        kms: &[KmsMode::GrantOnly, KmsMode::OwnerGrants],
        scope: CrossAccount,
        forensic_too: false,
        actions: SHARED_KEY_USE,
        resources: &[SourceKeys],
        conditions: &[TempKeyAlias, ViaEc2],
        purpose: "path 8: copy from custody's temporary key, which its key policy admits; cross-account use needs this too",
        doc: RESOURCE_ALIASES,
    },
    Template {
        sid: "AcquireWaitForTempKeys",
        role: Forensic,
        features: &[Acquire],
        // Every mode: the planner takes the temporary-key route for a customer key only the source
        // role may use even where the source keys are otherwise used directly.
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:DescribeKey"],
        resources: &[SourceKeys],
        conditions: &[TempKeyAlias],
        purpose: "describe custody's temporary key before copying from it, until its new alias authorizes (up to five \
                  minutes, https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html)",
        doc: RESOURCE_ALIASES,
    },
    Template {
        sid: "AcquireTempKeyGrantsForEc2",
        role: Forensic,
        features: &[Acquire],
        kms: &[KmsMode::GrantOnly, KmsMode::OwnerGrants],
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:CreateGrant"],
        resources: &[SourceKeys],
        conditions: &[TempKeyAlias, ViaEc2, ForAwsResource],
        purpose: "path 8: let EC2 create its grant on the temporary key during the copy, and nothing else",
        doc: RESOURCE_ALIASES,
    },
    // ---- image, forensic role --------------------------------------------------------------------
    Template {
        sid: "ImageReadSnapshotBlocks",
        role: Forensic,
        features: &[Image],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ebs:ListSnapshotBlocks", "ebs:GetSnapshotBlock"],
        resources: &[Snapshots],
        conditions: &[],
        purpose: "read the evidence copies block by block (EBS direct APIs; the snapshot ARN is an ec2 ARN)",
        doc: EBS_DIRECT,
    },
    Template {
        sid: "ImageDecryptViaEc2",
        role: Forensic,
        features: &[Image],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["kms:Decrypt"],
        resources: &[ForensicKeys],
        conditions: &[ViaEc2],
        purpose: "decrypt the blocks of encrypted copies (kms:ViaService is ec2: there is no ebs ViaService)",
        doc: EBS_DIRECT,
    },
    // ---- direct-read (path 9), source role --------------------------------------------------------
    Template {
        sid: "DirectReadSnapshotBlocks",
        role: Source,
        features: &[DirectRead],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ebs:ListSnapshotBlocks", "ebs:GetSnapshotBlock"],
        resources: &[Snapshots],
        conditions: &[],
        purpose: "path 9: read the snapshot where it is, in the source account, without a copy",
        doc: EBS_DIRECT,
    },
    Template {
        sid: "DirectReadDecryptViaEc2",
        role: Source,
        features: &[DirectRead],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["kms:Decrypt"],
        resources: &[SourceKeys],
        conditions: &[ViaEc2],
        purpose: "path 9: decrypt the blocks of an encrypted snapshot",
        doc: EBS_DIRECT,
    },
    // ---- triage, source role (seed 004) ---------------------------------------------------------
    Template {
        sid: "TriageRunCommandOnTaggedInstances",
        role: Source,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ssm:SendCommand"],
        resources: &[SourceInstances],
        conditions: &[SsmTag],
        purpose: "run commands only on instances carrying the tag",
        doc: SSM_TAGS,
    },
    Template {
        sid: "TriageRunCommandDocuments",
        role: Source,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ssm:SendCommand"],
        resources: &[RunCommandDocuments],
        conditions: &[],
        purpose: "with the shell documents only (SendCommand is also authorized on the document)",
        doc: SSM_TAGS,
    },
    Template {
        sid: "TriageReadCommandResults",
        role: Source,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ssm:GetCommandInvocation", "ssm:ListCommands"],
        resources: &[Any],
        conditions: &[],
        purpose: "read the command's output, and find a command whose answer was lost when a triage is resumed (no resource types: Resource \"*\", a tag condition could never match)",
        doc: SSM_SAR,
    },
    // ---- volume, forensic role: a volume from each evidence snapshot (map §7) ----------------------
    Template {
        sid: "VolumeCreateTaggedWithTheCase",
        role: Forensic,
        features: &[Volume],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:CreateVolume"],
        resources: &[ForensicVolumes],
        conditions: &[CaseTagRequested],
        purpose: "create volumes in the forensic account only tagged with the case (aws:RequestTag)",
        doc: EBS_IAM,
    },
    Template {
        sid: "VolumeFromCustodySnapshots",
        role: Forensic,
        features: &[Volume],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:CreateVolume"],
        resources: &[Snapshots],
        conditions: &[CaseTagged],
        purpose: "only from the evidence snapshots custody tagged (CreateVolume is also authorized on the snapshot)",
        doc: EBS_IAM,
    },
    Template {
        sid: "VolumeTagOnCreate",
        role: Forensic,
        features: &[Volume],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:CreateTags"],
        resources: &[ForensicVolumes],
        conditions: &[CreateAction("CreateVolume")],
        purpose: "tag the volumes as they are created (ec2:CreateAction)",
        doc: EC2_SAR,
    },
    Template {
        sid: "VolumeDescribe",
        role: Forensic,
        features: &[Volume],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DescribeVolumes"],
        resources: &[Any],
        conditions: &[],
        purpose: "wait for the volumes to be available (DescribeVolumes has no resource-level permissions)",
        doc: EC2_SAR,
    },
    // ---- cleanup, source role (deleting snapshots: `evidence`) ----------------------------------------
    Template {
        sid: "CleanupUnshareCustodySnapshots",
        role: Source,
        features: &[Cleanup],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["ec2:ModifySnapshotAttribute"],
        resources: &[Snapshots],
        conditions: &[CaseTagged, UnsharedFromForensicAccount],
        purpose: "stop sharing the snapshots custody tagged with the forensic account (ec2:Remove/userId)",
        doc: SHARE,
    },
    Template {
        sid: "CleanupTempKeyAlias",
        role: Source,
        features: &[Cleanup],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["kms:DeleteAlias"],
        resources: &[TempKeyAliases],
        conditions: &[],
        purpose: "delete the temporary key's alias (alias side; the key side and ScheduleKeyDeletion are the key policy's)",
        doc: ALIASES,
    },
];
