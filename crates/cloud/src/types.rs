//! What the AWS calls return, as plain data: built by the SDK adapter from AWS's answers, and by a
//! simulated cloud or a test fake directly. Only the fields custody uses are kept.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// STS GetCallerIdentity: who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    /// `arn:aws:iam::…:user/…`, `arn:aws:sts::…:assumed-role/<role>/<session>`, …
    pub arn: String,
    pub user_id: String,
}

/// An EC2 instance (DescribeInstances).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceInfo {
    pub id: String,
    /// The account that owns the instance (the reservation's `OwnerId`).
    pub owner_account: Option<String>,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: Option<String>,
    /// `windows` for Windows instances; absent for Linux/UNIX (as EC2 reports it).
    pub platform: Option<String>,
    pub availability_zone: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The EBS volumes attached, by device name, in the order EC2 lists them.
    pub block_devices: Vec<BlockDevice>,
}

/// An EBS volume in an instance's block device mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// `/dev/xvda`, `/dev/sdf`, …
    pub device_name: String,
    pub volume_id: String,
}

/// An EBS volume (DescribeVolumes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeInfo {
    pub id: String,
    pub size_gib: u64,
    pub encrypted: bool,
    /// The ARN of the KMS key the volume is encrypted under (EC2 documents a full key ARN).
    pub kms_key_id: Option<String>,
    pub state: Option<String>,
    pub availability_zone: Option<String>,
    pub snapshot_id: Option<String>,
}

/// Who manages a KMS key (DescribeKey `KeyManager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyManager {
    /// An AWS managed key such as `aws/ebs`.
    Aws,
    /// A customer managed key.
    Customer,
}

/// KMS DescribeKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    pub arn: String,
    pub key_id: String,
    pub account: Option<String>,
    pub manager: KeyManager,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: Option<String>,
    pub description: Option<String>,
}

/// A KMS grant (ListGrants).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub grant_id: String,
    pub name: Option<String>,
    /// The grantee: an ARN, or a service principal.
    pub grantee_principal: Option<String>,
    pub retiring_principal: Option<String>,
    /// As KMS reports it: `arn:aws:iam::<account>:root`.
    pub issuing_account: Option<String>,
    /// Exact operation names: `Decrypt`, `CreateGrant`, …
    pub operations: Vec<String>,
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
}

/// A KMS alias (ListAliases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// `alias/…`.
    pub name: String,
    pub arn: Option<String>,
    /// The key id (not ARN) the alias points to; absent for AWS managed aliases not yet in use.
    pub target_key_id: Option<String>,
}

/// An IAM role (GetRole).
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub role_id: String,
    /// The trust policy, decoded from IAM's URL-encoded form.
    pub trust_policy: Option<Value>,
    /// The ARN of the permissions boundary policy, if the role has one.
    pub permissions_boundary_arn: Option<String>,
}

/// A managed policy attached to a principal (ListAttachedRolePolicies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub arn: String,
    pub name: String,
}

/// A managed policy (GetPolicy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub default_version_id: String,
}

/// The organization the caller's account belongs to (Organizations DescribeOrganization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub management_account: Option<String>,
}

/// A parent in the organization tree (ListParents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub id: String,
    pub is_root: bool,
}

/// The kinds of organization policies custody reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgPolicyKind {
    ServiceControl,
    ResourceControl,
}

impl OrgPolicyKind {
    /// The name in the inventory's `unknown` list: `scps`, `rcps`.
    pub fn short(self) -> &'static str {
        match self {
            Self::ServiceControl => "scps",
            Self::ResourceControl => "rcps",
        }
    }
}

/// An organization policy (ListPoliciesForTarget, DescribePolicy).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgPolicy {
    pub id: String,
    pub name: Option<String>,
    /// The policy document (only from DescribePolicy; ListPoliciesForTarget gives summaries).
    pub content: Option<Value>,
}

/// What a call that changes something returned, with the request id AWS gave it (for the journal and
/// CloudTrail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt<T> {
    pub value: T,
    pub request_id: Option<String>,
}

impl<T> Receipt<T> {
    pub fn new(value: T, request_id: Option<String>) -> Self {
        Self { value, request_id }
    }
}

/// An EBS snapshot (DescribeSnapshots, CreateSnapshots).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotInfo {
    pub id: String,
    /// The volume it was made from (for a copy: an arbitrary id, as EC2 documents).
    pub volume_id: Option<String>,
    pub owner_account: Option<String>,
    /// `pending`, `completed`, `error`, `recoverable`, `recovering`.
    pub state: String,
    /// `42%`.
    pub progress: Option<String>,
    /// Why the snapshot is in `error` (EC2 `StateMessage`).
    pub state_message: Option<String>,
    pub encrypted: bool,
    /// The ARN of the key its data is encrypted under.
    pub kms_key_id: Option<String>,
    pub volume_size_gib: Option<u64>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// RFC 3339.
    pub start_time: Option<String>,
}

/// Which snapshots DescribeSnapshots should return: these ids (empty: any), owned by the caller's
/// account (`OwnerIds=self`) or any visible to it, carrying every tag in `tags` (`tag:<key>` filters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotQuery {
    pub ids: Vec<String>,
    pub owned_by_caller: bool,
    pub tags: BTreeMap<String, String>,
}

/// EC2 CopySnapshot, sent to the destination Region (the client's Region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySnapshotRequest {
    pub source_snapshot_id: String,
    pub source_region: String,
    /// Encrypt the copy (always true with `kms_key_id`).
    pub encrypted: bool,
    /// The key of the copy (an ARN: a key of another account must be named by ARN).
    pub kms_key_id: Option<String>,
    pub description: String,
    /// Tags on the copy (TagSpecifications, resource type `snapshot`).
    pub tags: BTreeMap<String, String>,
}

/// EC2 CreateVolume from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVolume {
    pub snapshot_id: String,
    pub availability_zone: String,
    /// Tags on the volume (TagSpecifications, resource type `volume`).
    pub tags: BTreeMap<String, String>,
    /// CreateVolume's `ClientToken` (at most 64 ASCII characters): the same token and parameters
    /// again answer the volume the first request made instead of making another ("Ensuring
    /// idempotency in Amazon EC2 API requests",
    /// <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>).
    pub client_token: String,
}

/// KMS CreateKey of a symmetric encryption key.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKey {
    pub policy: Value,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// KMS CreateGrant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The key ARN (a key of another account must be named by ARN).
    pub key_id: String,
    pub grantee_principal: String,
    pub retiring_principal: Option<String>,
    /// Exact operation names: `Decrypt`, `CreateGrant`, …
    pub operations: Vec<String>,
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    /// The grant's name: KMS returns the existing grant for a retried request with the same name and
    /// parameters.
    pub name: Option<String>,
}

/// CloudTrail LookupEvents: the management events of one account and Region whose time is within
/// `start` and `end` (both included: "only events that occur after or at the specified time" and
/// "before or at the specified time", CloudTrail API Reference, LookupEvents,
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>), filtered by
/// at most one attribute: LookupEvents takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLookup {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub attribute: Option<LookupAttribute>,
}

/// One LookupEvents filter: events whose `key` is `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAttribute {
    pub key: LookupKey,
    pub value: String,
}

/// The attributes LookupEvents filters management events by (`AttributeKey`, CloudTrail API
/// Reference, LookupAttribute,
/// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LookupKey {
    EventId,
    EventName,
    /// `true` or `false`.
    ReadOnly,
    /// The user name or role name of the requester; for an assumed role, its session name, as the
    /// AWS CLI's `lookup-events` example shows
    /// (<https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html>).
    Username,
    ResourceType,
    /// An ARN or id among the event's resources.
    ResourceName,
    /// `kms.amazonaws.com`, `ec2.amazonaws.com`, …
    EventSource,
    AccessKeyId,
}

impl LookupKey {
    /// AWS's `AttributeKey`: `EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`,
    /// `ResourceName`, `EventSource`, `AccessKeyId`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventId => "EventId",
            Self::EventName => "EventName",
            Self::ReadOnly => "ReadOnly",
            Self::Username => "Username",
            Self::ResourceType => "ResourceType",
            Self::ResourceName => "ResourceName",
            Self::EventSource => "EventSource",
            Self::AccessKeyId => "AccessKeyId",
        }
    }
}

/// One event LookupEvents returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookedUpEvent {
    /// LookupEvents' `EventId`.
    pub event_id: String,
    /// LookupEvents' `CloudTrailEvent`: the record as JSON text, as CloudTrail gave it.
    pub record: String,
}
