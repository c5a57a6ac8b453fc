//! The KMS keys of the volumes (and the forensic key): metadata, key policy, grants, aliases.

use super::{arn_parts, CollectError, Collector};
use custody_cloud::error::CloudError;
use custody_cloud::types::{Grant, KeyManager};
use custody_plan::inventory::{Key, KeyManager as InventoryManager};
use custody_policy::case::parse_grant_value;
use custody_policy::error::JsonPath;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Reads every key in `refs` (as a volume or the command line names it, with the account whose
/// identity reads it). Returns the keys, and for each reference the key ARN it resolved to.
pub(super) async fn collect_keys(
    c: &mut Collector,
    refs: &[(String, String)],
    default_region: &str,
) -> Result<(Vec<Key>, BTreeMap<String, String>), CollectError> {
    let mut keys: Vec<Key> = Vec::new();
    let mut resolved = BTreeMap::new();
    for (reference, reader_account) in refs {
        let (region, account) = match arn_parts(reference) {
            Some((_, _, region, account, _)) => (region.to_string(), account.to_string()),
            None => (default_region.to_string(), reader_account.clone()),
        };
        let kms = c.cloud_for(reader_account).kms(&region);

        let (meta, meta_error) = match kms.describe_key(reference).await {
            Ok(m) => (Some(m), None),
            Err(e) if e.is_fatal() => return Err(CollectError::Unreachable(Box::new(e))),
            Err(e) => (None, Some(e)),
        };
        let arn = match &meta {
            Some(m) => m.arn.clone(),
            None if arn_parts(reference).is_some() => reference.clone(),
            None => format!("arn:{}:kms:{region}:{account}:key/{reference}", partition(&c.caller_arn)),
        };
        resolved.insert(reference.clone(), arn.clone());
        if keys.iter().any(|k| k.arn == arn) {
            continue;
        }
        let mut key = Key {
            arn: arn.clone(),
            manager: InventoryManager::Customer,
            aliases: vec![],
            policy: None,
            grants: vec![],
            unknown: vec![],
            state: meta.as_ref().and_then(|m| m.state.clone()),
        };

        match c.soft(kms.get_key_policy(&arn).await, &arn, "the key policy", &["policy"])? {
            Some(policy) => key.policy = Some(policy),
            None => key.unknown.push("policy".into()),
        }
        match c.soft(kms.list_grants(&arn).await, &arn, "the grants", &["grants"])? {
            Some(grants) => {
                if let Err(error) = grant_values(&grants, &account, &mut key.grants) {
                    c.warn(&arn, "the grants", &["grants"], error);
                    key.grants.clear();
                    key.unknown.push("grants".into());
                }
            }
            None => key.unknown.push("grants".into()),
        }
        match c.soft(kms.list_aliases(Some(&arn)).await, &arn, "the aliases", &["aliases"])? {
            Some(aliases) => key.aliases = aliases.into_iter().map(|a| a.name).collect(),
            None => key.unknown.push("aliases".into()),
        }

        key.manager = match meta.map(|m| m.manager) {
            Some(KeyManager::Aws) => InventoryManager::Aws,
            Some(KeyManager::Customer) => InventoryManager::Customer,
            // Without DescribeKey: AWS managed keys are the ones with `alias/aws/…` aliases. The
            // inventory has no way to say "unknown" here, so the guess is told in the warning.
            None if key.aliases.iter().any(|a| a.starts_with("alias/aws/")) => InventoryManager::Aws,
            None => InventoryManager::Customer,
        };
        if let Some(error) = meta_error {
            let what = match key.manager {
                InventoryManager::Aws => {
                    "the key manager (DescribeKey; taken as AWS managed: it has an `alias/aws/…` alias)"
                }
                InventoryManager::Customer => {
                    "the key manager (DescribeKey; taken as customer managed: no `alias/aws/…` alias seen)"
                }
            };
            c.warn(&arn, what, &[], error);
        }
        keys.push(key);
    }
    Ok((keys, resolved))
}

/// The grants in the inventory's form, checked with the engine's grant parser. Grants whose grantee is
/// not a principal the engine knows (EC2's per-instance grantee `<acct>:aws:ec2-infrastructure:<i-…>`)
/// are left out, as docs/inventory-format.md says: no custody principal can be their grantee, so
/// leaving them out changes no decision. Any other grant the engine refuses makes the grants unknown.
fn grant_values(grants: &[Grant], key_account: &str, out: &mut Vec<Value>) -> Result<(), CloudError> {
    for g in grants {
        let refused = |what: String| CloudError::Malformed { service: "kms", operation: "ListGrants", what };
        let value = grant_value(g, key_account)
            .ok_or_else(|| refused(format!("grant {} has no grantee or no operations", g.grant_id)))?;
        match parse_grant_value(&value, &JsonPath::default(), Some(key_account)) {
            Ok(_) => out.push(value),
            Err(e) if e.path == "grantee_principal" => {}
            Err(e) => return Err(refused(format!("grant {}: {}", g.grant_id, e))),
        }
    }
    Ok(())
}

/// The partition of an ARN (`aws` when it cannot be told).
fn partition(arn: &str) -> &str {
    arn_parts(arn).map(|(p, ..)| p).unwrap_or("aws")
}

/// A grant in the `custody authz` case format's grant form (docs/authz-case-format.md). `None` for a
/// grant without grantee or operations (KMS never returns one).
pub(crate) fn grant_value(g: &Grant, key_account: &str) -> Option<Value> {
    let grantee = g.grantee_principal.as_ref()?;
    if g.operations.is_empty() {
        return None;
    }
    let mut obj = Map::new();
    obj.insert("grant_id".into(), json!(g.grant_id));
    obj.insert("grantee_principal".into(), json!(grantee));
    obj.insert("operations".into(), json!(g.operations));
    let mut constraints = Map::new();
    if let Some(subset) = &g.encryption_context_subset {
        constraints.insert("encryption_context_subset".into(), json!(subset));
    }
    if let Some(equals) = &g.encryption_context_equals {
        constraints.insert("encryption_context_equals".into(), json!(equals));
    }
    if !constraints.is_empty() {
        obj.insert("constraints".into(), Value::Object(constraints));
    }
    if let Some(retiring) = &g.retiring_principal {
        obj.insert("retiring_principal".into(), json!(retiring));
    }
    // KMS reports the issuing account as `arn:aws:iam::<account>:root`; the grant form wants the id.
    let issuing = g.issuing_account.as_deref().map(account_of).unwrap_or(key_account);
    if custody_plan::inventory::arn::is_account_id(issuing) {
        obj.insert("issuing_account".into(), json!(issuing));
    }
    Some(Value::Object(obj))
}

/// `arn:aws:iam::111111111111:root` → `111111111111`; a bare account id as it is.
fn account_of(text: &str) -> &str {
    arn_parts(text).map(|(_, _, _, account, _)| account).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_take_the_case_format_form() {
        let g = Grant {
            grant_id: "g-1".into(),
            name: None,
            grantee_principal: Some("arn:aws:iam::111111111111:role/R".into()),
            retiring_principal: Some("arn:aws:iam::111111111111:role/R".into()),
            issuing_account: Some("arn:aws:iam::222222222222:root".into()),
            operations: vec!["Decrypt".into(), "RetireGrant".into()],
            encryption_context_subset: Some(BTreeMap::from([("aws:ebs:id".into(), "snap-1".into())])),
            encryption_context_equals: None,
        };
        assert_eq!(
            grant_value(&g, "222222222222").unwrap(),
            json!({"grant_id": "g-1", "grantee_principal": "arn:aws:iam::111111111111:role/R",
                   "operations": ["Decrypt", "RetireGrant"],
                   "constraints": {"encryption_context_subset": {"aws:ebs:id": "snap-1"}},
                   "retiring_principal": "arn:aws:iam::111111111111:role/R", "issuing_account": "222222222222"})
        );
        assert!(grant_value(&Grant { grantee_principal: None, ..g.clone() }, "222222222222").is_none());

        // EC2's per-instance grantee is left out; a grant the engine cannot read makes the grants unknown.
        let ec2 =
            Grant { grantee_principal: Some("222222222222:aws:ec2-infrastructure:i-0abc1234".into()), ..g.clone() };
        let mut out = vec![];
        grant_values(&[g.clone(), ec2], "222222222222", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let odd = Grant { operations: vec!["Frobnicate".into()], ..g.clone() };
        assert!(grant_values(&[odd], "222222222222", &mut vec![]).is_err());
        assert!(grant_value(&Grant { operations: vec![], ..g }, "222222222222").is_none());
    }
}
