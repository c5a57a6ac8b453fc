//! The AWS calls custody makes, one small trait per service.
//!
//! Each method is one AWS API call (or one call drained of all its pages), named after it, taking and
//! returning plain data ([`crate::types`]). Implementations: the aws-sdk-rust adapter
//! ([`crate::sdk::SdkCloud`]), test fakes, and the simulated cloud ([`crate::sim`]). Calls that
//! change something return a [`Receipt`] with AWS's request id, which the journal keeps. The EBS
//! direct APIs (issue 5) and SSM (issue 6) will join as traits of their own. [`CloudTrail`] reads
//! AWS's own record of the calls (`custody audit`).
//!
//! A [`Cloud`] hands out the service clients of one identity, per Region; [`Cloud::assume_role`]
//! gives the `Cloud` of another identity. Credentials stay inside the implementation: no method
//! returns them, so nothing can print or store them by mistake.

use crate::error::CloudResult;
use crate::types::*;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// EC2 (and EBS) calls.
#[async_trait]
pub trait Ec2: Send + Sync {
    /// DescribeInstances for these ids (all pages). An id that does not exist is an error
    /// (`InvalidInstanceID.NotFound`), as AWS answers.
    async fn describe_instances(&self, instance_ids: &[String]) -> CloudResult<Vec<InstanceInfo>>;
    /// DescribeVolumes for these ids (all pages).
    async fn describe_volumes(&self, volume_ids: &[String]) -> CloudResult<Vec<VolumeInfo>>;
    /// CreateSnapshots of every EBS volume of the instance, crash-consistent, with `tags` on each
    /// snapshot (TagSpecifications). Returns the snapshots as EC2 lists them (state `pending`), without
    /// their key: CreateSnapshots does not return `KmsKeyId`, DescribeSnapshots does.
    async fn create_snapshots(
        &self,
        instance_id: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> CloudResult<Receipt<Vec<SnapshotInfo>>>;
    /// DescribeSnapshots (all pages).
    async fn describe_snapshots(&self, query: &SnapshotQuery) -> CloudResult<Vec<SnapshotInfo>>;
    /// CopySnapshot into this client's Region: the new snapshot's id.
    async fn copy_snapshot(&self, request: &CopySnapshotRequest) -> CloudResult<Receipt<String>>;
    /// ModifySnapshotAttribute `createVolumePermission`, UserIds form: add (`add`) or remove `account`.
    async fn modify_snapshot_share(&self, snapshot_id: &str, account: &str, add: bool) -> CloudResult<Receipt<()>>;
    /// DescribeSnapshotAttribute `createVolumePermission`: the accounts the snapshot is shared with
    /// (`all` for a public snapshot).
    async fn snapshot_shares(&self, snapshot_id: &str) -> CloudResult<Vec<String>>;
    /// DeleteSnapshot.
    async fn delete_snapshot(&self, snapshot_id: &str) -> CloudResult<Receipt<()>>;
    /// CreateTags on one existing snapshot: adds `tags` (overwriting a tag of the same key).
    async fn tag_snapshot(&self, snapshot_id: &str, tags: &BTreeMap<String, String>) -> CloudResult<Receipt<()>>;
    /// CreateVolume: the new volume's id (the first one's, when the client token was used before
    /// with the same parameters).
    async fn create_volume(&self, volume: &NewVolume) -> CloudResult<Receipt<String>>;
    /// GetEbsEncryptionByDefault: whether EC2 encrypts new volumes, and copies of unencrypted
    /// snapshots, in this account and Region.
    async fn ebs_encryption_by_default(&self) -> CloudResult<bool>;
    /// GetEbsDefaultKmsKeyId: the key encryption by default uses, as EC2 names it (a key ARN, or an
    /// alias such as `alias/aws/ebs`).
    async fn ebs_default_kms_key_id(&self) -> CloudResult<String>;
}

/// KMS calls. `key_id` is a key id, key ARN, alias name or alias ARN, as KMS accepts.
#[async_trait]
pub trait Kms: Send + Sync {
    /// DescribeKey.
    async fn describe_key(&self, key_id: &str) -> CloudResult<KeyMetadata>;
    /// GetKeyPolicy for the key's only policy, `default`; the policy as JSON.
    async fn get_key_policy(&self, key_id: &str) -> CloudResult<Value>;
    /// ListGrants, all pages.
    async fn list_grants(&self, key_id: &str) -> CloudResult<Vec<Grant>>;
    /// ListAliases, all pages: the aliases of `key_id`, or every alias of the account and Region.
    async fn list_aliases(&self, key_id: Option<&str>) -> CloudResult<Vec<Alias>>;
    /// ListKeys, all pages: the ARNs of the account's keys in this Region.
    async fn list_keys(&self) -> CloudResult<Vec<String>>;
    /// ListResourceTags, all pages.
    async fn list_resource_tags(&self, key_id: &str) -> CloudResult<BTreeMap<String, String>>;
    /// CreateKey (symmetric, `ENCRYPT_DECRYPT`, KMS key material) with its policy and tags.
    async fn create_key(&self, key: &NewKey) -> CloudResult<Receipt<KeyMetadata>>;
    /// CreateAlias `alias_name` (`alias/…`) for `key_id`.
    async fn create_alias(&self, alias_name: &str, key_id: &str) -> CloudResult<Receipt<()>>;
    /// DeleteAlias.
    async fn delete_alias(&self, alias_name: &str) -> CloudResult<Receipt<()>>;
    /// ScheduleKeyDeletion after `pending_window_days` (7–30): the deletion date (RFC 3339) KMS set.
    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_days: u32,
    ) -> CloudResult<Receipt<Option<String>>>;
    /// CreateGrant: the grant id (the grant token is not returned: custody does not use it, and it
    /// is a bearer of the grant's permissions until the grant is consistent). An operation name KMS
    /// does not have (`ReEncrypt`) is refused without sending anything, as [`CloudError::Api`] with
    /// code `ValidationException` and no request id.
    ///
    /// [`CloudError::Api`]: crate::error::CloudError::Api
    async fn create_grant(&self, grant: &NewGrant) -> CloudResult<Receipt<String>>;
    /// RetireGrant by key ARN and grant id.
    async fn retire_grant(&self, key_id: &str, grant_id: &str) -> CloudResult<Receipt<()>>;
}

/// IAM calls. IAM is global, and role names are resolved in the caller's own account.
#[async_trait]
pub trait Iam: Send + Sync {
    /// GetRole: the role with its trust policy and permissions boundary.
    async fn get_role(&self, role_name: &str) -> CloudResult<Role>;
    /// ListRolePolicies, all pages: the names of the role's inline policies.
    async fn list_role_policies(&self, role_name: &str) -> CloudResult<Vec<String>>;
    /// GetRolePolicy: one inline policy document.
    async fn get_role_policy(&self, role_name: &str, policy_name: &str) -> CloudResult<Value>;
    /// ListAttachedRolePolicies, all pages.
    async fn list_attached_role_policies(&self, role_name: &str) -> CloudResult<Vec<AttachedPolicy>>;
    /// GetPolicy: a managed policy with its default version id.
    async fn get_policy(&self, policy_arn: &str) -> CloudResult<ManagedPolicy>;
    /// GetPolicyVersion: one version's document.
    async fn get_policy_version(&self, policy_arn: &str, version_id: &str) -> CloudResult<Value>;
    /// ListRoleTags, all pages.
    async fn list_role_tags(&self, role_name: &str) -> CloudResult<BTreeMap<String, String>>;
}

/// STS calls (AssumeRole is [`Cloud::assume_role`], since it yields another identity).
#[async_trait]
pub trait Sts: Send + Sync {
    /// GetCallerIdentity (needs no permission: it fails only when AWS cannot be reached or the
    /// credentials are refused).
    async fn get_caller_identity(&self) -> CloudResult<CallerIdentity>;
}

/// AWS Organizations calls (readable from the management account or a delegated administrator).
#[async_trait]
pub trait Organizations: Send + Sync {
    /// DescribeOrganization; `None` when the account is not in an organization
    /// (`AWSOrganizationsNotInUseException`).
    async fn describe_organization(&self) -> CloudResult<Option<Organization>>;
    /// ListParents, all pages (an account or OU has exactly one parent).
    async fn list_parents(&self, child_id: &str) -> CloudResult<Vec<Parent>>;
    /// ListPoliciesForTarget, all pages: the policies of `kind` attached directly to the target.
    /// `Ok(None)` when that policy type is not enabled in the organization (no such policies apply).
    async fn list_policies_for_target(
        &self,
        target_id: &str,
        kind: OrgPolicyKind,
    ) -> CloudResult<Option<Vec<OrgPolicy>>>;
    /// DescribePolicy: the policy with its content.
    async fn describe_policy(&self, policy_id: &str) -> CloudResult<OrgPolicy>;
}

/// CloudTrail calls.
#[async_trait]
pub trait CloudTrail: Send + Sync {
    /// LookupEvents, all pages: the management events of this account and Region between `start`
    /// and `end`, filtered by at most one attribute (LookupEvents takes one), newest first as
    /// LookupEvents returns them. Pages are fetched no faster than LookupEvents' documented rate
    /// ("two per second, per account, per Region", CloudTrail API Reference,
    /// <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>).
    async fn lookup_events(&self, query: &EventLookup) -> CloudResult<Vec<LookedUpEvent>>;
}

/// The AWS services of one identity.
#[async_trait]
pub trait Cloud: Send + Sync {
    /// The Region configured for this identity (`--region`, `AWS_REGION`, the profile), if any.
    fn default_region(&self) -> Option<String>;
    fn ec2(&self, region: &str) -> Arc<dyn Ec2>;
    fn kms(&self, region: &str) -> Arc<dyn Kms>;
    fn iam(&self) -> Arc<dyn Iam>;
    fn sts(&self) -> Arc<dyn Sts>;
    fn organizations(&self) -> Arc<dyn Organizations>;
    /// CloudTrail in `region` (its event history is per account and Region).
    fn cloudtrail(&self, region: &str) -> Arc<dyn CloudTrail>;
    /// STS AssumeRole: the `Cloud` of a session of `role_arn`. The credentials it gets are kept inside
    /// the returned value (and refreshed there when the implementation can).
    async fn assume_role(&self, role_arn: &str, session: &SessionName) -> CloudResult<Arc<dyn Cloud>>;
}

/// A role session name (`RoleSessionName`) that carries the case id, so CloudTrail shows which case
/// every call of an acquisition belongs to: `custody-<purpose>-<case>`, cut to STS's 64 characters
/// and its character set `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName(String);

impl SessionName {
    /// `custody-<purpose>-<case>`, or `custody-<purpose>` without a case. Characters STS does not allow
    /// become `-`.
    pub fn new(purpose: &str, case_id: Option<&str>) -> Self {
        let raw = match case_id {
            Some(case) => format!("custody-{purpose}-{case}"),
            None => format!("custody-{purpose}"),
        };
        Self::new_exact(&raw)
    }

    /// Exactly `name` (a session name the plan chose, `custody_plan::plan::session_name`), with
    /// characters STS does not allow replaced by `-` and cut to 64 characters.
    pub fn new_exact(name: &str) -> Self {
        Self(custody_ids::sts_session_name(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SessionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_name_carries_the_case_within_sts_limits() {
        assert_eq!(SessionName::new("collect", Some("case-2026/001")).as_str(), "custody-collect-case-2026-001");
        assert_eq!(SessionName::new("acquire", None).as_str(), "custody-acquire");
        let long = SessionName::new("acquire", Some(&"x".repeat(100)));
        assert_eq!(long.as_str().len(), 64);
    }
}
