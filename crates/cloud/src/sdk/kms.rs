//! KMS: DescribeKey, GetKeyPolicy, ListGrants, ListAliases.

use super::{bad_document, missing, sdk_error};
use crate::api::Kms;
use crate::error::CloudResult;
use crate::policy_doc::parse_document;
use crate::types::{Alias, Grant, KeyManager, KeyMetadata};
use async_trait::async_trait;
use aws_sdk_kms::types::KeyManagerType;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub(super) struct SdkKms(pub(super) aws_sdk_kms::Client);

fn sorted(map: Option<&HashMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

#[async_trait]
impl Kms for SdkKms {
    async fn describe_key(&self, key_id: &str) -> CloudResult<KeyMetadata> {
        const OP: &str = "DescribeKey";
        let out = self.0.describe_key().key_id(key_id).send().await.map_err(|e| sdk_error("kms", OP, e))?;
        let meta = out.key_metadata().ok_or_else(|| missing("kms", OP, "KeyMetadata"))?;
        let manager = match meta.key_manager() {
            Some(KeyManagerType::Aws) => KeyManager::Aws,
            Some(KeyManagerType::Customer) => KeyManager::Customer,
            _ => return Err(missing("kms", OP, "KeyMetadata.KeyManager (AWS or CUSTOMER)")),
        };
        Ok(KeyMetadata {
            arn: meta.arn().ok_or_else(|| missing("kms", OP, "KeyMetadata.Arn"))?.to_string(),
            key_id: meta.key_id().to_string(),
            account: meta.aws_account_id().map(str::to_string),
            manager,
            state: meta.key_state().map(|s| s.as_str().to_string()),
            description: meta.description().map(str::to_string),
        })
    }

    async fn get_key_policy(&self, key_id: &str) -> CloudResult<Value> {
        const OP: &str = "GetKeyPolicy";
        let out = self
            .0
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| sdk_error("kms", OP, e))?;
        let text = out.policy().ok_or_else(|| missing("kms", OP, "Policy"))?;
        parse_document(text).map_err(|why| bad_document("kms", OP, why))
    }

    async fn list_grants(&self, key_id: &str) -> CloudResult<Vec<Grant>> {
        let pages = self
            .0
            .list_grants()
            .key_id(key_id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("kms", "ListGrants", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.grants())
            .map(|g| Grant {
                grant_id: g.grant_id().unwrap_or_default().to_string(),
                name: g.name().filter(|n| !n.is_empty()).map(str::to_string),
                grantee_principal: g.grantee_principal().or(g.grantee_service_principal()).map(str::to_string),
                retiring_principal: g.retiring_principal().or(g.retiring_service_principal()).map(str::to_string),
                issuing_account: g.issuing_account().map(str::to_string),
                operations: g.operations().iter().map(|o| o.as_str().to_string()).collect(),
                encryption_context_subset: sorted(g.constraints().and_then(|c| c.encryption_context_subset())),
                encryption_context_equals: sorted(g.constraints().and_then(|c| c.encryption_context_equals())),
            })
            .collect())
    }

    async fn list_aliases(&self, key_id: Option<&str>) -> CloudResult<Vec<Alias>> {
        let pages = self
            .0
            .list_aliases()
            .set_key_id(key_id.map(str::to_string))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("kms", "ListAliases", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.aliases())
            .filter_map(|a| {
                Some(Alias {
                    name: a.alias_name()?.to_string(),
                    arn: a.alias_arn().map(str::to_string),
                    target_key_id: a.target_key_id().map(str::to_string),
                })
            })
            .collect())
    }
}
