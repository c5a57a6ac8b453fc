//! IAM: roles, their inline and managed policies, boundary and tags. Policy documents arrive
//! URL-encoded and are decoded here ([`crate::policy_doc`]).

use super::{arns, bad_document, checked, checked_opt, missing, sdk_error};
use crate::api::Iam;
use crate::error::CloudResult;
use crate::policy_doc::decode_iam_document;
use crate::types::{AttachedPolicy, ManagedPolicy, Role};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) struct SdkIam(pub(super) aws_sdk_iam::Client);

#[async_trait]
impl Iam for SdkIam {
    async fn get_role(&self, role_name: &str) -> CloudResult<Role> {
        const OP: &str = "GetRole";
        let out = self.0.get_role().role_name(role_name).send().await.map_err(|e| sdk_error("iam", OP, e))?;
        let role = out.role().ok_or_else(|| missing("iam", OP, "Role"))?;
        let trust_policy = role
            .assume_role_policy_document()
            .map(decode_iam_document)
            .transpose()
            .map_err(|why| bad_document("iam", OP, format!("AssumeRolePolicyDocument: {why}")))?;
        Ok(Role {
            arn: checked("iam", OP, "Role.Arn", role.arn(), arns::role)?,
            name: role.role_name().to_string(),
            path: role.path().to_string(),
            role_id: role.role_id().to_string(),
            trust_policy,
            permissions_boundary_arn: checked_opt(
                "iam",
                OP,
                "Role.PermissionsBoundary.PermissionsBoundaryArn",
                role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()),
                arns::any,
            )?,
        })
    }

    async fn list_role_policies(&self, role_name: &str) -> CloudResult<Vec<String>> {
        let pages = self
            .0
            .list_role_policies()
            .role_name(role_name)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("iam", "ListRolePolicies", e))?;
        Ok(pages.iter().flat_map(|p| p.policy_names()).cloned().collect())
    }

    async fn get_role_policy(&self, role_name: &str, policy_name: &str) -> CloudResult<Value> {
        const OP: &str = "GetRolePolicy";
        let out = self
            .0
            .get_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| sdk_error("iam", OP, e))?;
        decode_iam_document(out.policy_document()).map_err(|why| bad_document("iam", OP, why))
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> CloudResult<Vec<AttachedPolicy>> {
        let pages = self
            .0
            .list_attached_role_policies()
            .role_name(role_name)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("iam", "ListAttachedRolePolicies", e))?;
        pages
            .iter()
            .flat_map(|p| p.attached_policies())
            .filter_map(|a| Some((a.policy_arn()?, a)))
            .map(|(arn, a)| {
                Ok(AttachedPolicy {
                    arn: checked("iam", "ListAttachedRolePolicies", "AttachedPolicies.PolicyArn", arn, arns::any)?,
                    name: a.policy_name().unwrap_or_default().to_string(),
                })
            })
            .collect()
    }

    async fn get_policy(&self, policy_arn: &str) -> CloudResult<ManagedPolicy> {
        const OP: &str = "GetPolicy";
        let out = self.0.get_policy().policy_arn(policy_arn).send().await.map_err(|e| sdk_error("iam", OP, e))?;
        let policy = out.policy().ok_or_else(|| missing("iam", OP, "Policy"))?;
        Ok(ManagedPolicy {
            arn: checked("iam", OP, "Policy.Arn", policy.arn().unwrap_or(policy_arn), arns::any)?,
            name: policy.policy_name().unwrap_or_default().to_string(),
            default_version_id: policy
                .default_version_id()
                .ok_or_else(|| missing("iam", OP, "Policy.DefaultVersionId"))?
                .to_string(),
        })
    }

    async fn get_policy_version(&self, policy_arn: &str, version_id: &str) -> CloudResult<Value> {
        const OP: &str = "GetPolicyVersion";
        let out = self
            .0
            .get_policy_version()
            .policy_arn(policy_arn)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| sdk_error("iam", OP, e))?;
        let document = out
            .policy_version()
            .and_then(|v| v.document())
            .ok_or_else(|| missing("iam", OP, "PolicyVersion.Document"))?;
        decode_iam_document(document).map_err(|why| bad_document("iam", OP, why))
    }

    async fn list_role_tags(&self, role_name: &str) -> CloudResult<BTreeMap<String, String>> {
        let pages = self
            .0
            .list_role_tags()
            .role_name(role_name)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("iam", "ListRoleTags", e))?;
        Ok(pages.iter().flat_map(|p| p.tags()).map(|t| (t.key().to_string(), t.value().to_string())).collect())
    }
}
