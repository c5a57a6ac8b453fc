//! AWS Organizations: where an account sits in the organization, and the SCPs/RCPs on the way.

use super::{bad_document, checked_opt, missing, sdk_error};
use crate::api::Organizations;
use crate::error::{CloudError, CloudResult};
use crate::policy_doc::parse_document;
use crate::types::{OrgPolicy, OrgPolicyKind, Organization, Parent};
use async_trait::async_trait;
use aws_sdk_organizations::types::{ParentType, PolicyType};

pub(super) struct SdkOrganizations(pub(super) aws_sdk_organizations::Client);

/// The code AWS answers with when the caller's account is not in an organization.
const NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";
/// The code AWS answers with when a policy type is not enabled in the organization.
const TYPE_NOT_ENABLED: &str = "PolicyTypeNotEnabledException";

fn has_code(error: &CloudError, code: &str) -> bool {
    error.code() == Some(code)
}

#[async_trait]
impl Organizations for SdkOrganizations {
    async fn describe_organization(&self) -> CloudResult<Option<Organization>> {
        const OP: &str = "DescribeOrganization";
        match self.0.describe_organization().send().await.map_err(|e| sdk_error("organizations", OP, e)) {
            Ok(out) => {
                let org = out.organization().ok_or_else(|| missing("organizations", OP, "Organization"))?;
                Ok(Some(Organization {
                    id: org.id().unwrap_or_default().to_string(),
                    management_account: checked_opt(
                        "organizations",
                        OP,
                        "Organization.MasterAccountId",
                        org.master_account_id(),
                        custody_ids::AccountId::parse,
                    )?,
                }))
            }
            Err(e) if has_code(&e, NOT_IN_USE) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_parents(&self, child_id: &str) -> CloudResult<Vec<Parent>> {
        let pages = self
            .0
            .list_parents()
            .child_id(child_id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("organizations", "ListParents", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.parents())
            .filter_map(|p| Some(Parent { id: p.id()?.to_string(), is_root: p.r#type() == Some(&ParentType::Root) }))
            .collect())
    }

    async fn list_policies_for_target(
        &self,
        target_id: &str,
        kind: OrgPolicyKind,
    ) -> CloudResult<Option<Vec<OrgPolicy>>> {
        let filter = match kind {
            OrgPolicyKind::ServiceControl => PolicyType::ServiceControlPolicy,
            OrgPolicyKind::ResourceControl => PolicyType::ResourceControlPolicy,
        };
        let result = self
            .0
            .list_policies_for_target()
            .target_id(target_id)
            .filter(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("organizations", "ListPoliciesForTarget", e));
        match result {
            Ok(pages) => Ok(Some(
                pages
                    .iter()
                    .flat_map(|p| p.policies())
                    .filter_map(|s| {
                        Some(OrgPolicy { id: s.id()?.to_string(), name: s.name().map(str::to_string), content: None })
                    })
                    .collect(),
            )),
            Err(e) if has_code(&e, TYPE_NOT_ENABLED) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn describe_policy(&self, policy_id: &str) -> CloudResult<OrgPolicy> {
        const OP: &str = "DescribePolicy";
        let out = self
            .0
            .describe_policy()
            .policy_id(policy_id)
            .send()
            .await
            .map_err(|e| sdk_error("organizations", OP, e))?;
        let policy = out.policy().ok_or_else(|| missing("organizations", OP, "Policy"))?;
        let text = policy.content().ok_or_else(|| missing("organizations", OP, "Policy.Content"))?;
        let content = parse_document(text).map_err(|why| bad_document("organizations", OP, why))?;
        Ok(OrgPolicy {
            id: policy_id.to_string(),
            name: policy.policy_summary().and_then(|s| s.name()).map(str::to_string),
            content: Some(content),
        })
    }
}
