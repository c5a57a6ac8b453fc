//! A test fake on the traits: a cloud that refuses some calls with AccessDenied, as AWS would, and
//! passes everything else to a real (emulated) cloud. moto enforces no IAM by default, so refusals are
//! simulated here, at the trait level.

use crate::api::{Cloud, CloudTrail, Ec2, Iam, Kms, Organizations, SessionName, Sts};
use crate::error::{ApiError, CloudError, CloudResult};
use crate::types::*;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Refuses the listed operations (`GetKeyPolicy`, `ListRolePolicies`, …) with AccessDenied.
#[derive(Clone)]
pub struct Denying {
    pub inner: Arc<dyn Cloud>,
    pub deny: Vec<&'static str>,
}

impl Denying {
    fn check(&self, service: &'static str, operation: &'static str) -> CloudResult<()> {
        if self.deny.contains(&operation) {
            // Each service's own code: EC2 answers `UnauthorizedOperation`, IAM and STS (Query APIs)
            // `AccessDenied`, the JSON APIs `AccessDeniedException`.
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
            let code = match service {
                "ec2" => "UnauthorizedOperation",
                "iam" | "sts" => "AccessDenied",
                _ => "AccessDeniedException",
            };
            let mut e = ApiError::new(
                service,
                operation,
                code,
                &format!(
                    "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: {service}:{operation}"
                ),
            );
            e.request_id = Some("fake-request-id".into());
            return Err(CloudError::AccessDenied(e));
        }
        Ok(())
    }
}

#[async_trait]
impl Cloud for Denying {
    fn default_region(&self) -> Option<String> {
        self.inner.default_region()
    }
    fn ec2(&self, region: &str) -> Arc<dyn Ec2> {
        Arc::new(DenyingEc2(self.clone(), self.inner.ec2(region)))
    }
    fn kms(&self, region: &str) -> Arc<dyn Kms> {
        Arc::new(DenyingKms(self.clone(), self.inner.kms(region)))
    }
    fn iam(&self) -> Arc<dyn Iam> {
        Arc::new(DenyingIam(self.clone(), self.inner.iam()))
    }
    fn sts(&self) -> Arc<dyn Sts> {
        self.inner.sts()
    }
    fn organizations(&self) -> Arc<dyn Organizations> {
        Arc::new(DenyingOrg(self.clone(), self.inner.organizations()))
    }
    fn cloudtrail(&self, region: &str) -> Arc<dyn CloudTrail> {
        Arc::new(DenyingCloudTrail(self.clone(), self.inner.cloudtrail(region)))
    }
    async fn assume_role(&self, role_arn: &str, session: &SessionName) -> CloudResult<Arc<dyn Cloud>> {
        self.check("sts", "AssumeRole")?;
        let inner = self.inner.assume_role(role_arn, session).await?;
        Ok(Arc::new(Denying { inner, deny: self.deny.clone() }))
    }
}

struct DenyingEc2(Denying, Arc<dyn Ec2>);

#[async_trait]
impl Ec2 for DenyingEc2 {
    async fn describe_instances(&self, ids: &[String]) -> CloudResult<Vec<InstanceInfo>> {
        self.0.check("ec2", "DescribeInstances")?;
        self.1.describe_instances(ids).await
    }
    async fn describe_volumes(&self, ids: &[String]) -> CloudResult<Vec<VolumeInfo>> {
        self.0.check("ec2", "DescribeVolumes")?;
        self.1.describe_volumes(ids).await
    }
    async fn create_snapshots(
        &self,
        instance_id: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> CloudResult<Receipt<Vec<SnapshotInfo>>> {
        self.0.check("ec2", "CreateSnapshots")?;
        self.1.create_snapshots(instance_id, description, tags).await
    }
    async fn describe_snapshots(&self, query: &SnapshotQuery) -> CloudResult<Vec<SnapshotInfo>> {
        self.0.check("ec2", "DescribeSnapshots")?;
        self.1.describe_snapshots(query).await
    }
    async fn copy_snapshot(&self, request: &CopySnapshotRequest) -> CloudResult<Receipt<String>> {
        self.0.check("ec2", "CopySnapshot")?;
        self.1.copy_snapshot(request).await
    }
    async fn modify_snapshot_share(&self, snapshot_id: &str, account: &str, add: bool) -> CloudResult<Receipt<()>> {
        self.0.check("ec2", "ModifySnapshotAttribute")?;
        self.1.modify_snapshot_share(snapshot_id, account, add).await
    }
    async fn ebs_encryption_by_default(&self) -> CloudResult<bool> {
        self.0.check("ec2", "GetEbsEncryptionByDefault")?;
        self.1.ebs_encryption_by_default().await
    }
    async fn ebs_default_kms_key_id(&self) -> CloudResult<String> {
        self.0.check("ec2", "GetEbsDefaultKmsKeyId")?;
        self.1.ebs_default_kms_key_id().await
    }
    async fn tag_snapshot(&self, snapshot_id: &str, tags: &BTreeMap<String, String>) -> CloudResult<Receipt<()>> {
        self.0.check("ec2", "CreateTags")?;
        self.1.tag_snapshot(snapshot_id, tags).await
    }
    async fn snapshot_shares(&self, snapshot_id: &str) -> CloudResult<Vec<String>> {
        self.0.check("ec2", "DescribeSnapshotAttribute")?;
        self.1.snapshot_shares(snapshot_id).await
    }
    async fn delete_snapshot(&self, snapshot_id: &str) -> CloudResult<Receipt<()>> {
        self.0.check("ec2", "DeleteSnapshot")?;
        self.1.delete_snapshot(snapshot_id).await
    }
    async fn create_volume(&self, volume: &NewVolume) -> CloudResult<Receipt<String>> {
        self.0.check("ec2", "CreateVolume")?;
        self.1.create_volume(volume).await
    }
}

struct DenyingKms(Denying, Arc<dyn Kms>);

#[async_trait]
impl Kms for DenyingKms {
    async fn describe_key(&self, key_id: &str) -> CloudResult<KeyMetadata> {
        self.0.check("kms", "DescribeKey")?;
        self.1.describe_key(key_id).await
    }
    async fn get_key_policy(&self, key_id: &str) -> CloudResult<Value> {
        self.0.check("kms", "GetKeyPolicy")?;
        self.1.get_key_policy(key_id).await
    }
    async fn list_grants(&self, key_id: &str) -> CloudResult<Vec<Grant>> {
        self.0.check("kms", "ListGrants")?;
        self.1.list_grants(key_id).await
    }
    async fn list_aliases(&self, key_id: Option<&str>) -> CloudResult<Vec<Alias>> {
        self.0.check("kms", "ListAliases")?;
        self.1.list_aliases(key_id).await
    }
    async fn list_keys(&self) -> CloudResult<Vec<String>> {
        self.0.check("kms", "ListKeys")?;
        self.1.list_keys().await
    }
    async fn list_resource_tags(&self, key_id: &str) -> CloudResult<BTreeMap<String, String>> {
        self.0.check("kms", "ListResourceTags")?;
        self.1.list_resource_tags(key_id).await
    }
    async fn create_key(&self, key: &NewKey) -> CloudResult<Receipt<KeyMetadata>> {
        self.0.check("kms", "CreateKey")?;
        self.1.create_key(key).await
    }
    async fn create_alias(&self, alias_name: &str, key_id: &str) -> CloudResult<Receipt<()>> {
        self.0.check("kms", "CreateAlias")?;
        self.1.create_alias(alias_name, key_id).await
    }
    async fn delete_alias(&self, alias_name: &str) -> CloudResult<Receipt<()>> {
        self.0.check("kms", "DeleteAlias")?;
        self.1.delete_alias(alias_name).await
    }
    async fn schedule_key_deletion(&self, key_id: &str, days: u32) -> CloudResult<Receipt<Option<String>>> {
        self.0.check("kms", "ScheduleKeyDeletion")?;
        self.1.schedule_key_deletion(key_id, days).await
    }
    async fn create_grant(&self, grant: &NewGrant) -> CloudResult<Receipt<String>> {
        self.0.check("kms", "CreateGrant")?;
        self.1.create_grant(grant).await
    }
    async fn retire_grant(&self, key_id: &str, grant_id: &str) -> CloudResult<Receipt<()>> {
        self.0.check("kms", "RetireGrant")?;
        self.1.retire_grant(key_id, grant_id).await
    }
}

struct DenyingIam(Denying, Arc<dyn Iam>);

#[async_trait]
impl Iam for DenyingIam {
    async fn get_role(&self, name: &str) -> CloudResult<Role> {
        self.0.check("iam", "GetRole")?;
        self.1.get_role(name).await
    }
    async fn list_role_policies(&self, name: &str) -> CloudResult<Vec<String>> {
        self.0.check("iam", "ListRolePolicies")?;
        self.1.list_role_policies(name).await
    }
    async fn get_role_policy(&self, name: &str, policy: &str) -> CloudResult<Value> {
        self.0.check("iam", "GetRolePolicy")?;
        self.1.get_role_policy(name, policy).await
    }
    async fn list_attached_role_policies(&self, name: &str) -> CloudResult<Vec<AttachedPolicy>> {
        self.0.check("iam", "ListAttachedRolePolicies")?;
        self.1.list_attached_role_policies(name).await
    }
    async fn get_policy(&self, arn: &str) -> CloudResult<ManagedPolicy> {
        self.0.check("iam", "GetPolicy")?;
        self.1.get_policy(arn).await
    }
    async fn get_policy_version(&self, arn: &str, version: &str) -> CloudResult<Value> {
        self.0.check("iam", "GetPolicyVersion")?;
        self.1.get_policy_version(arn, version).await
    }
    async fn list_role_tags(&self, name: &str) -> CloudResult<BTreeMap<String, String>> {
        self.0.check("iam", "ListRoleTags")?;
        self.1.list_role_tags(name).await
    }
}

struct DenyingOrg(Denying, Arc<dyn Organizations>);

#[async_trait]
impl Organizations for DenyingOrg {
    async fn describe_organization(&self) -> CloudResult<Option<Organization>> {
        self.0.check("organizations", "DescribeOrganization")?;
        self.1.describe_organization().await
    }
    async fn list_parents(&self, child: &str) -> CloudResult<Vec<Parent>> {
        self.0.check("organizations", "ListParents")?;
        self.1.list_parents(child).await
    }
    async fn list_policies_for_target(&self, target: &str, kind: OrgPolicyKind) -> CloudResult<Option<Vec<OrgPolicy>>> {
        self.0.check("organizations", "ListPoliciesForTarget")?;
        self.1.list_policies_for_target(target, kind).await
    }
    async fn describe_policy(&self, id: &str) -> CloudResult<OrgPolicy> {
        self.0.check("organizations", "DescribePolicy")?;
        self.1.describe_policy(id).await
    }
}

struct DenyingCloudTrail(Denying, Arc<dyn CloudTrail>);

#[async_trait]
impl CloudTrail for DenyingCloudTrail {
    async fn lookup_events(&self, query: &EventLookup) -> CloudResult<Vec<LookedUpEvent>> {
        self.0.check("cloudtrail", "LookupEvents")?;
        self.1.lookup_events(query).await
    }
}
