//! KMS in one account and Region, as one role session sees it: reading keys, policies, grants,
//! aliases and tags; creating the temporary key and its alias, and deleting them (grants and key
//! deletion are in `grants`).
//!
//! Keys are named as KMS accepts them: key ARN, alias ARN, alias name or key id. Only a key ARN (or
//! alias ARN) reaches a key of another account, and only for the operations KMS documents as
//! "Cross-account use: Yes" (DescribeKey, ListGrants, CreateGrant, RetireGrant); for the others KMS
//! looks in the caller's own account, so another account's key is `NotFoundException` (KMS API
//! Reference, each operation's "Cross-account use" line, e.g.
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html>). A KMS call on a key
//! of another account is logged in that account.

use super::call::{self, tag_pairs, Api, Call, Session};
use super::grants;
use super::key_lookup::{key_for, kms_request, own_key_for, CREATE_GRANT, RETIRE_GRANT, SCHEDULE_KEY_DELETION};
use super::state::{KeyRec, State};
use super::SimWorld;
use async_trait::async_trait;
use custody_cloud::api::Kms;
use custody_cloud::error::{CloudError, CloudResult};
use custody_cloud::types::*;
use custody_plan::inventory::arn::is_alias_name;
use custody_plan::inventory::{self, Key};
use custody_plan::plan::{AuthzRequest, PolicyScope};
use custody_policy::error::JsonPath;
use custody_policy::{parse_policy, PolicyKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DESCRIBE_KEY: Api = Api::new("kms", "DescribeKey");
const GET_KEY_POLICY: Api = Api::new("kms", "GetKeyPolicy");
const LIST_GRANTS: Api = Api::new("kms", "ListGrants");
const LIST_ALIASES: Api = Api::new("kms", "ListAliases");
const LIST_KEYS: Api = Api::new("kms", "ListKeys");
const LIST_RESOURCE_TAGS: Api = Api::new("kms", "ListResourceTags");
const CREATE_KEY: Api = Api::new("kms", "CreateKey");
const CREATE_ALIAS: Api = Api::new("kms", "CreateAlias");
const DELETE_ALIAS: Api = Api::new("kms", "DeleteAlias");

/// The KMS client of one session in one Region.
pub(crate) struct SimKms {
    pub world: SimWorld,
    pub session: Session,
    pub region: String,
}

impl SimKms {
    fn run<T>(
        &self,
        api: Api,
        params: String,
        body: impl FnOnce(&mut State, &mut Call, &Session, &str) -> Result<(T, String), CloudError>,
    ) -> CloudResult<T> {
        call::run(&self.world, &self.session, api, &self.region, params, |st, c| {
            body(st, c, &self.session, &self.region)
        })
    }
}

fn metadata(k: &KeyRec) -> KeyMetadata {
    KeyMetadata {
        arn: k.arn.clone(),
        key_id: k.key_id.clone(),
        account: Some(k.account.clone()),
        manager: k.manager,
        state: Some(k.state.clone()),
        description: k.description.clone(),
    }
}

fn rec<'s>(st: &'s State, api: Api, arn: &str) -> Result<&'s KeyRec, CloudError> {
    st.keys.get(arn).ok_or_else(|| api.error("NotFoundException", format!("Key '{arn}' does not exist")))
}

/// The alias ARN of `alias` in the caller's account and `region`.
fn alias_arn(s: &Session, region: &str, alias: &str) -> String {
    format!("arn:{}:kms:{region}:{}:{alias}", s.partition, s.account)
}

/// A policy given as JSON text (as IAM and KMS sometimes hold them) or as an object.
fn policy_value(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(text) => serde_json::from_str(text).map_err(|e| e.to_string()),
        other => Ok(other.clone()),
    }
}

#[async_trait]
impl Kms for SimKms {
    async fn describe_key(&self, key_id: &str) -> CloudResult<KeyMetadata> {
        self.run(DESCRIBE_KEY, key_id.to_string(), |st, c, s, region| {
            c.sent(json!({"keyId": key_id}));
            let (arn, alias) = key_for(st, c, DESCRIBE_KEY, key_id, s, region)?;
            let mut r = kms_request(s, "kms:DescribeKey", &arn, region);
            if let Some(a) = alias {
                // kms:RequestAlias: only when the request names the key by alias (map §9.8).
                r = r.with("kms:RequestAlias", a);
            }
            c.authorize(st, &[r])?;
            let meta = metadata(rec(st, DESCRIBE_KEY, &arn)?);
            let summary = format!("{} {}", meta.arn, meta.state.as_deref().unwrap_or_default());
            Ok((meta, summary))
        })
    }

    async fn get_key_policy(&self, key_id: &str) -> CloudResult<Value> {
        self.run(GET_KEY_POLICY, key_id.to_string(), |st, c, s, region| {
            c.sent(json!({"keyId": key_id, "policyName": "default"}));
            let (arn, _) = own_key_for(st, c, GET_KEY_POLICY, key_id, s, region)?;
            c.authorize(st, &[kms_request(s, "kms:GetKeyPolicy", &arn, region)])?;
            let policy = st.inv_key(&arn).and_then(|k| k.policy.as_ref()).ok_or_else(|| {
                GET_KEY_POLICY.not_simulated(&format!("the inventory does not know the key policy of {arn}"))
            })?;
            let policy = policy_value(policy).map_err(|e| GET_KEY_POLICY.not_simulated(&e))?;
            Ok((policy, "policy `default`".to_string()))
        })
    }

    async fn list_grants(&self, key_id: &str) -> CloudResult<Vec<Grant>> {
        self.run(LIST_GRANTS, key_id.to_string(), |st, c, s, region| {
            c.sent(json!({"keyId": key_id}));
            let (arn, _) = key_for(st, c, LIST_GRANTS, key_id, s, region)?;
            c.authorize(st, &[kms_request(s, "kms:ListGrants", &arn, region)])?;
            let grants = st.grants_of(&arn);
            let summary = format!("{} grant(s)", grants.len());
            Ok((grants, summary))
        })
    }

    async fn list_aliases(&self, key_id: Option<&str>) -> CloudResult<Vec<Alias>> {
        self.run(LIST_ALIASES, key_id.unwrap_or("(all)").to_string(), |st, c, s, region| {
            c.sent(key_id.map_or_else(|| json!({}), |k| json!({"keyId": k})));
            let of_key = match key_id {
                Some(k) => Some(own_key_for(st, c, LIST_ALIASES, k, s, region)?.0),
                None => None,
            };
            // ListAliases supports no resource: Resource "*" (map §9.3; KMS Developer Guide,
            // alias-access.html#alias-access-view).
            c.authorize(st, &[kms_request(s, "kms:ListAliases", "*", region)])?;
            // Listings lag behind creation by the world's `lookup_lag`: "The KMS API follows an
            // eventual consistency model" (KMS API Reference, ListAliases,
            // <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html>).
            let listed = |name: &String, arn: &String| {
                st.alias_created.get(&(arn.clone(), name.clone())).is_none_or(|t| !st.not_yet_listed(*t))
            };
            let aliases: Vec<Alias> = st
                .aliases_in(&s.account, region)
                .into_iter()
                .filter(|(name, arn)| listed(name, arn))
                .filter(|(_, arn)| of_key.as_ref().is_none_or(|k| k == arn))
                .map(|(name, arn)| Alias {
                    arn: Some(alias_arn(s, region, &name)),
                    target_key_id: st.keys.get(&arn).map(|k| k.key_id.clone()),
                    name,
                })
                .collect();
            let summary = aliases.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
            Ok((aliases, summary))
        })
    }

    async fn list_keys(&self) -> CloudResult<Vec<String>> {
        self.run(LIST_KEYS, String::new(), |st, c, s, region| {
            c.authorize(st, &[kms_request(s, "kms:ListKeys", "*", region)])?;
            let keys: Vec<String> = st
                .keys
                .values()
                // Eventually consistent, as ListAliases (KMS API Reference, ListKeys,
                // <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html>).
                .filter(|k| k.account == s.account && k.region == region && !st.not_yet_listed(k.created))
                .map(|k| k.arn.clone())
                .collect();
            let summary = format!("{} key(s)", keys.len());
            Ok((keys, summary))
        })
    }

    async fn list_resource_tags(&self, key_id: &str) -> CloudResult<BTreeMap<String, String>> {
        self.run(LIST_RESOURCE_TAGS, key_id.to_string(), |st, c, s, region| {
            c.sent(json!({"keyId": key_id}));
            let (arn, _) = own_key_for(st, c, LIST_RESOURCE_TAGS, key_id, s, region)?;
            c.authorize(st, &[kms_request(s, "kms:ListResourceTags", &arn, region)])?;
            let tags = rec(st, LIST_RESOURCE_TAGS, &arn)?.tags.clone();
            let summary = format!("{} tag(s)", tags.len());
            Ok((tags, summary))
        })
    }

    async fn create_key(&self, key: &NewKey) -> CloudResult<Receipt<KeyMetadata>> {
        let params = format!(
            "`{}` tags {}",
            key.description,
            key.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
        );
        self.run(CREATE_KEY, params, |st, c, s, region| {
            // The policy is left out of the record: it is the key's, not news.
            let tags: Vec<Value> = key.tags.iter().map(|(k, v)| json!({"tagKey": k, "tagValue": v})).collect();
            c.sent(
                json!({"description": key.description, "keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT",
                          "origin": "AWS_KMS", "bypassPolicyLockoutSafetyCheck": false, "tags": tags}),
            );
            let key_id = st.next_key_id();
            let arn = format!("arn:{}:kms:{region}:{}:key/{key_id}", s.partition, s.account);
            c.authorize(st, &create_key_requests(s, region, &arn, &key.tags))?;
            let policy =
                policy_value(&key.policy).map_err(|e| CREATE_KEY.error("MalformedPolicyDocumentException", e))?;
            parse_policy(&policy, PolicyKind::Resource, &JsonPath::root("Policy"))
                .map_err(|e| CREATE_KEY.error("MalformedPolicyDocumentException", e.to_string()))?;
            st.inv.keys.push(Key {
                arn: arn.clone(),
                manager: inventory::KeyManager::Customer,
                aliases: Vec::new(),
                policy: Some(policy),
                grants: Vec::new(),
                unknown: Vec::new(),
                state: Some("Enabled".to_string()),
            });
            // The lockout safety check: unless bypassed, "the key policy must allow the principal that
            // is making the CreateKey request to make a subsequent PutKeyPolicy request" (KMS API
            // Reference, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html>;
            // map §9.1). It is about the key policy alone, so it is evaluated on the resource side.
            let lockout = kms_request(s, "kms:PutKeyPolicy", &arn, region)
                .with("kms:BypassPolicyLockoutSafetyCheck", "false")
                .scoped(PolicyScope::Resource);
            if c.evaluate(st, &[lockout]).is_some() {
                st.inv.keys.retain(|k| k.arn != arn);
                return Err(CREATE_KEY.error(
                    "MalformedPolicyDocumentException",
                    "The new key policy will not allow you to update the key policy in the future.",
                ));
            }
            let new = KeyRec {
                arn: arn.clone(),
                account: s.account.clone(),
                region: region.to_string(),
                key_id,
                manager: KeyManager::Customer,
                state: "Enabled".to_string(),
                description: Some(key.description.clone()),
                tags: key.tags.clone(),
                grant_names: BTreeMap::new(),
                created: st.now(),
            };
            let meta = metadata(&new);
            c.answered(json!({"keyMetadata": {"AWSAccountId": s.account, "keyId": meta.key_id, "arn": meta.arn,
                                              "keyState": "Enabled", "keyManager": "CUSTOMER",
                                              "description": key.description}}));
            st.keys.insert(arn.clone(), new);
            Ok((c.receipt(meta), arn))
        })
    }

    async fn create_alias(&self, alias_name: &str, key_id: &str) -> CloudResult<Receipt<()>> {
        self.run(CREATE_ALIAS, format!("{alias_name} -> {key_id}"), |st, c, s, region| {
            c.sent(json!({"aliasName": alias_name, "targetKeyId": key_id}));
            // "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved for AWS
            // managed keys" (KMS API Reference, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>).
            if !is_alias_name(alias_name) || alias_name.starts_with("alias/aws/") {
                return Err(CREATE_ALIAS.error(
                    "InvalidAliasNameException",
                    format!(
                        "Alias name {alias_name} is not valid: it must be alias/<name> and not begin with alias/aws/"
                    ),
                ));
            }
            let (arn, _) = own_key_for(st, c, CREATE_ALIAS, key_id, s, region)?;
            let alias = alias_arn(s, region, alias_name);
            c.authorize(st, &alias_requests(s, "kms:CreateAlias", &alias, &arn, region))?;
            if st.aliases_in(&s.account, region).iter().any(|(a, _)| a == alias_name) {
                return Err(CREATE_ALIAS
                    .error("AlreadyExistsException", format!("An alias with the name {alias} already exists")));
            }
            if rec(st, CREATE_ALIAS, &arn)?.state == "PendingDeletion" {
                return Err(CREATE_ALIAS.error("KMSInvalidStateException", format!("{arn} is pending deletion.")));
            }
            if let Some(k) = st.inv_key_mut(&arn) {
                k.aliases.push(alias_name.to_string());
            }
            let now = st.now();
            st.alias_created.insert((arn.clone(), alias_name.to_string()), now);
            Ok((c.receipt(()), format!("{alias_name} -> {arn}")))
        })
    }

    async fn delete_alias(&self, alias_name: &str) -> CloudResult<Receipt<()>> {
        self.run(DELETE_ALIAS, alias_name.to_string(), |st, c, s, region| {
            c.sent(json!({"aliasName": alias_name}));
            let alias = alias_arn(s, region, alias_name);
            let (_, arn) = st
                .aliases_in(&s.account, region)
                .into_iter()
                .find(|(a, _)| a == alias_name)
                .ok_or_else(|| DELETE_ALIAS.error("NotFoundException", format!("Alias {alias} is not found.")))?;
            c.authorize(st, &alias_requests(s, "kms:DeleteAlias", &alias, &arn, region))?;
            if let Some(k) = st.inv_key_mut(&arn) {
                k.aliases.retain(|a| a != alias_name);
            }
            st.alias_created.remove(&(arn.clone(), alias_name.to_string()));
            Ok((c.receipt(()), format!("{alias_name} (was -> {arn})")))
        })
    }

    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_days: u32,
    ) -> CloudResult<Receipt<Option<String>>> {
        self.run(SCHEDULE_KEY_DELETION, format!("{key_id} in {pending_window_days} days"), |st, c, s, region| {
            c.sent(json!({"keyId": key_id, "pendingWindowInDays": pending_window_days}));
            let (receipt, summary) = grants::schedule_key_deletion(st, c, s, region, key_id, pending_window_days)?;
            c.answered(json!({"deletionDate": receipt.value, "keyState": "PendingDeletion",
                              "pendingWindowInDays": pending_window_days}));
            Ok((receipt, summary))
        })
    }

    async fn create_grant(&self, grant: &NewGrant) -> CloudResult<Receipt<String>> {
        let params = format!(
            "{} for {} ops {}{}",
            grant.key_id,
            grant.grantee_principal,
            grant.operations.join(","),
            grant.name.as_deref().map(|n| format!(" name {n}")).unwrap_or_default()
        );
        self.run(CREATE_GRANT, params, |st, c, s, region| {
            let mut sent = json!({"keyId": grant.key_id, "granteePrincipal": grant.grantee_principal,
                                  "operations": grant.operations});
            if let Some(m) = sent.as_object_mut() {
                if let Some(r) = &grant.retiring_principal {
                    m.insert("retiringPrincipal".into(), json!(r));
                }
                if let Some(context) = &grant.encryption_context_subset {
                    m.insert("constraints".into(), json!({"encryptionContextSubset": context}));
                }
                if let Some(name) = &grant.name {
                    m.insert("name".into(), json!(name));
                }
            }
            c.sent(sent);
            let (receipt, summary) = grants::create_grant(st, c, s, region, grant)?;
            c.answered(json!({"grantId": receipt.value}));
            Ok((receipt, summary))
        })
    }

    async fn retire_grant(&self, key_id: &str, grant_id: &str) -> CloudResult<Receipt<()>> {
        self.run(RETIRE_GRANT, format!("{grant_id} on {key_id}"), |st, c, s, region| {
            c.sent(json!({"keyId": key_id, "grantId": grant_id}));
            grants::retire_grant(st, c, s, region, key_id, grant_id)
        })
    }
}

/// CreateKey: on Resource `*` (no key exists yet) with the key's properties and request tags; and,
/// for tags, `kms:TagResource` by IAM policy alone (the key policy cannot decide for a key that does
/// not exist yet: KMS Developer Guide, "Tagging keys", <https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html>;
/// map §9.1).
fn create_key_requests(s: &Session, region: &str, arn: &str, tags: &BTreeMap<String, String>) -> Vec<AuthzRequest> {
    let pairs = tag_pairs(tags);
    let mut create = kms_request(s, "kms:CreateKey", "*", region)
        .with("kms:KeySpec", "SYMMETRIC_DEFAULT")
        .with("kms:KeyUsage", "ENCRYPT_DECRYPT")
        .with("kms:KeyOrigin", "AWS_KMS")
        .with("kms:MultiRegion", "false")
        .with("kms:BypassPolicyLockoutSafetyCheck", "false");
    if pairs.is_empty() {
        return vec![create];
    }
    create = create.request_tags(&pairs);
    vec![create, kms_request(s, "kms:TagResource", arn, region).request_tags(&pairs).scoped(PolicyScope::Identity)]
}

/// CreateAlias / DeleteAlias: on the alias and on the key (map §9.3; "the principal needs the
/// following permissions for both the alias and for the associated KMS key", KMS Developer Guide,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html>).
fn alias_requests(s: &Session, action: &str, alias_arn: &str, key_arn: &str, region: &str) -> Vec<AuthzRequest> {
    vec![kms_request(s, action, alias_arn, region), kms_request(s, action, key_arn, region)]
}
