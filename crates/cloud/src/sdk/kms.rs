//! KMS: DescribeKey, GetKeyPolicy, ListGrants, ListAliases, ListKeys, ListResourceTags; the key
//! lifecycle of an acquisition (CreateKey, CreateAlias, DeleteAlias, ScheduleKeyDeletion) and its
//! grants (CreateGrant, RetireGrant).

use super::{arns, bad_document, checked, checked_opt, missing, not_sent, sdk_error};
use crate::api::Kms;
use crate::error::CloudResult;
use crate::policy_doc::parse_document;
use crate::types::{Alias, Grant, KeyManager, KeyMetadata, NewGrant, NewKey, Receipt};
use async_trait::async_trait;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::DateTimeFormat;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation, KeyManagerType, KeySpec, KeyUsageType, Tag};
use custody_ids::arn::is_key_id;
use custody_ids::AccountId;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub(super) struct SdkKms(pub(super) aws_sdk_kms::Client);

fn sorted(map: Option<&HashMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A key id, for [`checked`]: a UUID or `mrk-` and 32 hex digits ([`is_key_id`]).
fn key_id(text: &str) -> Result<(), String> {
    if is_key_id(text) {
        Ok(())
    } else {
        Err(format!("`{}` is not a KMS key id (a UUID, or `mrk-` and 32 hex digits)", text.escape_default()))
    }
}

/// A key's metadata (DescribeKey, CreateKey) as plain data.
fn key_metadata(op: &'static str, meta: Option<&aws_sdk_kms::types::KeyMetadata>) -> CloudResult<KeyMetadata> {
    let meta = meta.ok_or_else(|| missing("kms", op, "KeyMetadata"))?;
    let manager = match meta.key_manager() {
        Some(KeyManagerType::Aws) => KeyManager::Aws,
        Some(KeyManagerType::Customer) => KeyManager::Customer,
        _ => return Err(missing("kms", op, "KeyMetadata.KeyManager (AWS or CUSTOMER)")),
    };
    Ok(KeyMetadata {
        arn: checked(
            "kms",
            op,
            "KeyMetadata.Arn",
            meta.arn().ok_or_else(|| missing("kms", op, "KeyMetadata.Arn"))?,
            arns::key,
        )?,
        key_id: checked("kms", op, "KeyMetadata.KeyId", meta.key_id(), key_id)?,
        account: checked_opt("kms", op, "KeyMetadata.AWSAccountId", meta.aws_account_id(), AccountId::parse)?,
        manager,
        state: meta.key_state().map(|s| s.as_str().to_string()),
        description: meta.description().map(str::to_string),
    })
}

/// The grant operations by their exact names. A name KMS does not know is refused here, before
/// anything is sent: the SDK would pass it through and KMS would refuse it anyway (with a
/// `ValidationException`), but an emulator might not, and a grant must never silently allow less or
/// more than the plan says.
fn grant_operations(names: &[String]) -> CloudResult<Vec<GrantOperation>> {
    names
        .iter()
        .map(|name| {
            GrantOperation::try_parse(name).map_err(|_| {
                not_sent(
                    "kms",
                    "CreateGrant",
                    format!("`{name}` is not a KMS grant operation (one of {})", GrantOperation::values().join(", ")),
                )
            })
        })
        .collect()
}

#[async_trait]
impl Kms for SdkKms {
    async fn describe_key(&self, key_id: &str) -> CloudResult<KeyMetadata> {
        const OP: &str = "DescribeKey";
        let out = self.0.describe_key().key_id(key_id).send().await.map_err(|e| sdk_error("kms", OP, e))?;
        key_metadata(OP, out.key_metadata())
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
        pages
            .iter()
            .flat_map(|p| p.aliases())
            .filter_map(|a| Some((a.alias_name()?, a)))
            .map(|(name, a)| {
                Ok(Alias {
                    name: name.to_string(),
                    arn: checked_opt("kms", "ListAliases", "Aliases.AliasArn", a.alias_arn(), arns::alias)?,
                    target_key_id: a.target_key_id().map(str::to_string),
                })
            })
            .collect()
    }
    async fn list_keys(&self) -> CloudResult<Vec<String>> {
        let pages = self
            .0
            .list_keys()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("kms", "ListKeys", e))?;
        pages
            .iter()
            .flat_map(|p| p.keys())
            .filter_map(|k| k.key_arn())
            .map(|arn| checked("kms", "ListKeys", "Keys.KeyArn", arn, arns::key))
            .collect()
    }

    async fn list_resource_tags(&self, key_id: &str) -> CloudResult<BTreeMap<String, String>> {
        let pages = self
            .0
            .list_resource_tags()
            .key_id(key_id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("kms", "ListResourceTags", e))?;
        Ok(pages.iter().flat_map(|p| p.tags()).map(|t| (t.tag_key().to_string(), t.tag_value().to_string())).collect())
    }

    async fn create_key(&self, key: &NewKey) -> CloudResult<Receipt<KeyMetadata>> {
        const OP: &str = "CreateKey";
        let tags = key
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_sent("kms", OP, format!("a tag of the key is incomplete: {e}")))?;
        let out = self
            .0
            .create_key()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .policy(key.policy.to_string())
            .description(&key.description)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("kms", OP, e))?;
        Ok(Receipt::new(key_metadata(OP, out.key_metadata())?, out.request_id().map(str::to_string)))
    }

    async fn create_alias(&self, alias_name: &str, key_id: &str) -> CloudResult<Receipt<()>> {
        let out = self
            .0
            .create_alias()
            .alias_name(alias_name)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|e| sdk_error("kms", "CreateAlias", e))?;
        Ok(Receipt::new((), out.request_id().map(str::to_string)))
    }

    async fn delete_alias(&self, alias_name: &str) -> CloudResult<Receipt<()>> {
        let out = self
            .0
            .delete_alias()
            .alias_name(alias_name)
            .send()
            .await
            .map_err(|e| sdk_error("kms", "DeleteAlias", e))?;
        Ok(Receipt::new((), out.request_id().map(str::to_string)))
    }

    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_days: u32,
    ) -> CloudResult<Receipt<Option<String>>> {
        const OP: &str = "ScheduleKeyDeletion";
        // KMS takes 7–30 days; a value outside is sent as is, for KMS to refuse with its own error.
        let days = i32::try_from(pending_window_days).unwrap_or(i32::MAX);
        let out = self
            .0
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(days)
            .send()
            .await
            .map_err(|e| sdk_error("kms", OP, e))?;
        let date = out.deletion_date().and_then(|d| d.fmt(DateTimeFormat::DateTime).ok());
        Ok(Receipt::new(date, out.request_id().map(str::to_string)))
    }

    async fn create_grant(&self, grant: &NewGrant) -> CloudResult<Receipt<String>> {
        const OP: &str = "CreateGrant";
        let operations = grant_operations(&grant.operations)?;
        let constraints = grant.encryption_context_subset.as_ref().map(|subset| {
            GrantConstraints::builder()
                .set_encryption_context_subset(Some(subset.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                .build()
        });
        let out = self
            .0
            .create_grant()
            .key_id(&grant.key_id)
            .grantee_principal(&grant.grantee_principal)
            .set_retiring_principal(grant.retiring_principal.clone())
            .set_operations(Some(operations))
            .set_constraints(constraints)
            .set_name(grant.name.clone())
            .send()
            .await
            .map_err(|e| sdk_error("kms", OP, e))?;
        let id = out.grant_id().ok_or_else(|| missing("kms", OP, "GrantId"))?.to_string();
        Ok(Receipt::new(id, out.request_id().map(str::to_string)))
    }

    async fn retire_grant(&self, key_id: &str, grant_id: &str) -> CloudResult<Receipt<()>> {
        // By key ARN and grant id, not by grant token: custody never keeps tokens (see `create_grant`).
        let out = self
            .0
            .retire_grant()
            .key_id(key_id)
            .grant_id(grant_id)
            .send()
            .await
            .map_err(|e| sdk_error("kms", "RetireGrant", e))?;
        Ok(Receipt::new((), out.request_id().map(str::to_string)))
    }
}
