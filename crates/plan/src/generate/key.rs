//! What the owner of a KMS key adds so that a principal can use it: key-policy statements, an
//! `aws kms create-grant` command, and the IAM policies that go with them. The statements and the
//! command come from [`crate::key_access`], as `custody check`'s fixes do, so that both advise the
//! same thing for the same key, role and access.
//!
//! - Grant-only: the principal may create grants, only for the grantee (`--grantee`, by default
//!   itself) and only with the operations custody's grants carry; custody creates and retires them.
//! - Direct use: the principal may use the key for exactly the operations custody's copies need, and
//!   create grants only when EC2 creates them on its behalf (`kms:GrantIsForAWSResource`). Across
//!   accounts, the principal's own IAM policy must allow the same. A service-linked role gets AWS's
//!   documented statements instead (Amazon EC2 Auto Scaling User Guide, "Required AWS KMS key policy
//!   for use with encrypted volumes",
//!   <https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html>):
//!   its policies cannot be edited, so across accounts a grant created in its account is the way.
//! - Key-owner grant: the key's owner creates the grant itself.

use super::validate::{parse_key_arn, parse_principal_arn, KeyArn, PrincipalArn};
use super::{GenerateError, POLICY_VERSION};
use crate::key_access;
use crate::plan::COPY_GRANT_OPERATIONS;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// The grant operations of AWS's example for a service-linked role in another account, in its order:
/// what EC2 needs to launch, attach and copy encrypted volumes for the grantee.
pub const SERVICE_LINKED_GRANT_OPERATIONS: [&str; 8] = [
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
    "CreateGrant",
];

/// The KMS API Reference page of CreateGrant (cross-account use with the key ARN).
const CREATE_GRANT_DOC: &str = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html";
const KEY_POLICY_DOC: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html";

pub use crate::key_access::KeyAccess;

impl FromStr for KeyAccess {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAccess::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| GenerateError::UnknownKeyAccess(s.to_string()))
    }
}

impl fmt::Display for KeyAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`key_policy`] is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOptions {
    pub key_arn: String,
    /// The principal that will use the key (direct use, key-owner grant) or create grants on it
    /// (grant-only): a role (service-linked roles included), a user or an account root.
    pub principal_arn: String,
    pub access: KeyAccess,
    /// Grant-only: the role the grants are for (custody's forensic role when `principal_arn` is its
    /// role in the key's account); `None`: the principal itself.
    pub grantee_arn: Option<String>,
}

/// An `aws kms create-grant` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantCommand {
    /// The account whose principal runs it.
    pub run_in_account: String,
    pub region: String,
    pub key_id: String,
    pub grantee_principal: String,
    pub operations: Vec<String>,
    /// The principal that may retire the grant (`--retiring-principal`), when one is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The command, ready to run (one option a line).
    pub command: String,
}

/// The output of [`key_policy`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPolicyAdvice {
    pub key_arn: String,
    pub principal: String,
    /// `grant-only`, `direct-use` or `owner-grant`.
    pub access: KeyAccess,
    pub service_linked_role: bool,
    /// The key and the principal are in different accounts.
    pub cross_account: bool,
    /// Statements to add to the key policy, leaving its existing statements as they are.
    #[serde(serialize_with = "crate::json_order::list")]
    pub key_policy_statements: Vec<Value>,
    pub create_grant: Option<GrantCommand>,
    /// The IAM policy of whoever runs `create_grant`.
    #[serde(serialize_with = "crate::json_order::option")]
    pub grant_creator_policy: Option<Value>,
    /// The IAM policy the principal itself needs (cross-account use needs the key policy and this).
    #[serde(serialize_with = "crate::json_order::option")]
    pub principal_policy: Option<Value>,
    pub notes: Vec<String>,
}

fn principal(arn: &str) -> Value {
    json!({"AWS": [arn]})
}

/// AWS's statements for a service-linked role (Auto Scaling User Guide, see the module comment):
/// "use of the customer managed key" and "attachment of persistent resources".
fn service_linked_use_statement(sid: &str, who: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal(who),
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*"
    })
}

fn service_linked_attachment_statement(sid: &str, who: &str, for_aws_resource: bool) -> Value {
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal(who),
        "Action": ["kms:CreateGrant"],
        "Resource": "*"
    });
    if for_aws_resource {
        s["Condition"] = json!({"Bool": {"kms:GrantIsForAWSResource": true}});
    }
    s
}

/// The operations custody's copies perform on a key shared with it, sorted: what its grants carry
/// and what direct use allows. The same set `custody check` works out for a copy from such a key.
pub fn custody_key_operations() -> Vec<String> {
    let mut ops: Vec<String> = COPY_GRANT_OPERATIONS.iter().map(|o| o.to_string()).collect();
    ops.sort_unstable();
    ops
}

fn grant_command(
    run_in_account: &str,
    region: &str,
    key_arn: &str,
    grantee: &str,
    ops: Vec<String>,
    retiring: Option<&str>,
) -> GrantCommand {
    GrantCommand {
        run_in_account: run_in_account.to_string(),
        region: region.to_string(),
        key_id: key_arn.to_string(),
        grantee_principal: grantee.to_string(),
        command: key_access::create_grant_command(region, key_arn, grantee, &ops, retiring),
        operations: ops,
        retiring_principal: retiring.map(str::to_string),
    }
}

fn policy(statements: Value) -> Value {
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// What a key-policy question is about, parsed once.
struct Ask<'a> {
    key_arn: &'a str,
    principal: &'a str,
    key: KeyArn,
    who: PrincipalArn,
    /// The operations custody's copies need.
    ops: Vec<String>,
}

/// The key-policy advice for `options`.
pub fn key_policy(options: &KeyOptions) -> Result<KeyPolicyAdvice, GenerateError> {
    let key = parse_key_arn(&options.key_arn)?;
    let who = parse_principal_arn(&options.principal_arn)?;
    if key.partition != who.partition {
        return Err(GenerateError::PartitionMismatch {
            key: options.key_arn.clone(),
            principal: options.principal_arn.clone(),
        });
    }
    let grantee = grantee(options, &key)?;
    let ask =
        Ask { key_arn: &options.key_arn, principal: &options.principal_arn, key, who, ops: custody_key_operations() };
    let cross_account = ask.key.account != ask.who.account;
    let mut advice = KeyPolicyAdvice {
        key_arn: ask.key_arn.to_string(),
        principal: ask.principal.to_string(),
        access: options.access,
        service_linked_role: ask.who.service_linked,
        cross_account,
        key_policy_statements: Vec::new(),
        create_grant: None,
        grant_creator_policy: None,
        principal_policy: None,
        notes: Vec::new(),
    };
    match options.access {
        KeyAccess::GrantOnly => grant_only(&ask, &grantee, &mut advice)?,
        KeyAccess::DirectUse if ask.who.service_linked && !cross_account => {
            service_linked_same_account(&ask, &mut advice)
        }
        KeyAccess::DirectUse if ask.who.service_linked => service_linked_other_account(&ask, &mut advice),
        KeyAccess::DirectUse => direct_use(&ask, &mut advice),
        KeyAccess::OwnerGrant => owner_grant(&ask, &mut advice),
    }
    Ok(advice)
}

/// Who a grant-only principal may create grants for: the grantee asked for, else itself.
fn grantee(options: &KeyOptions, key: &KeyArn) -> Result<String, GenerateError> {
    match (&options.grantee_arn, options.access) {
        (Some(g), KeyAccess::GrantOnly) => {
            let parsed = parse_principal_arn(g)?;
            if parsed.partition != key.partition {
                return Err(GenerateError::PartitionMismatch { key: options.key_arn.clone(), principal: g.clone() });
            }
            Ok(g.clone())
        }
        (Some(_), _) => Err(GenerateError::GranteeWithoutGrantOnly),
        (None, _) => Ok(options.principal_arn.clone()),
    }
}

/// Across accounts, the note that the principal's own policy must allow the same.
fn own_account_too(ask: &Ask<'_>, advice: &mut KeyPolicyAdvice) {
    advice.notes.push(format!(
        "the key is in account {} and the principal in account {}: the principal's own IAM policy must allow the same (principal_policy); a key policy alone is not enough ({KEY_POLICY_DOC})",
        ask.key.account, ask.who.account
    ));
}

/// `grant-only`: the principal may create grants with custody's operations, for the grantee only.
fn grant_only(ask: &Ask<'_>, grantee: &str, advice: &mut KeyPolicyAdvice) -> Result<(), GenerateError> {
    let (key_arn, p, ops) = (ask.key_arn, ask.principal, &ask.ops);
    if ask.who.service_linked {
        return Err(GenerateError::ServiceLinkedRoleCannotCreateGrants(p.to_string()));
    }
    advice.key_policy_statements.push(key_access::grant_only_statement(
        key_access::GRANT_ONLY_KEY_POLICY_SID,
        Some(p),
        "*",
        grantee,
        ops,
    ));
    advice.notes.push(format!(
        "{p} may create grants on the key only for {grantee} and only with the operations custody's grants carry ({}); custody creates a grant for each acquisition and retires it when the acquisition ends. Run custody with `--mode grant-only`",
        ops.join(", ")
    ));
    if advice.cross_account {
        let s = key_access::grant_only_statement(&key_access::grant_only_iam_sid(key_arn), None, key_arn, grantee, ops);
        advice.principal_policy = Some(policy(json!([s])));
        own_account_too(ask, advice);
    }
    Ok(())
}

/// `direct-use` by a service-linked role of the key's account: the statements AWS documents for it.
fn service_linked_same_account(ask: &Ask<'_>, advice: &mut KeyPolicyAdvice) {
    let p = ask.principal;
    advice
        .key_policy_statements
        .push(service_linked_use_statement("Allow service-linked role use of the customer managed key", p));
    advice.key_policy_statements.push(service_linked_attachment_statement(
        "Allow attachment of persistent resources",
        p,
        true,
    ));
    advice.notes.push("a service-linked role gets the statements AWS documents for it; CreateGrant is allowed only when an AWS service creates the grant on its behalf (kms:GrantIsForAWSResource)".to_string());
}

/// `direct-use` by a service-linked role of another account: its account is named, and a principal of
/// that account creates the grant for it.
fn service_linked_other_account(ask: &Ask<'_>, advice: &mut KeyPolicyAdvice) {
    let (key, who, key_arn, p) = (&ask.key, &ask.who, ask.key_arn, ask.principal);
    // A service-linked role's policies cannot be edited: its account is named, and a principal
    // of that account creates the grant for it (AWS's documented example 2).
    let acct = &who.account;
    let external_root = format!("arn:{}:iam::{}:root", who.partition, who.account);
    advice.key_policy_statements.push(service_linked_use_statement(
        &format!("Allow external account {acct} use of the customer managed key"),
        &external_root,
    ));
    advice.key_policy_statements.push(service_linked_attachment_statement(
        &format!("Allow attachment of persistent resources in external account {acct}"),
        &external_root,
        false,
    ));
    advice.create_grant = Some(grant_command(
        acct,
        &key.region,
        key_arn,
        p,
        SERVICE_LINKED_GRANT_OPERATIONS.map(String::from).to_vec(),
        None,
    ));
    advice.grant_creator_policy = Some(policy(json!([{
        "Sid": format!("AllowCreationOfGrantForTheKMSKeyinExternalAccount{}", key.account),
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": key_arn
    }])));
    advice.notes.push(format!(
        "the key is in account {} and the service-linked role in account {acct}, whose policies cannot be edited: the key policy names account {acct} (which by itself gives none of its principals access), and a principal of account {acct} with grant_creator_policy runs create_grant for the role ({CREATE_GRANT_DOC})",
        key.account
    ));
}

/// `direct-use`: the key policy names the principal for exactly the operations custody's copies need.
fn direct_use(ask: &Ask<'_>, advice: &mut KeyPolicyAdvice) {
    let (key_arn, p, ops) = (ask.key_arn, ask.principal, &ask.ops);
    advice.key_policy_statements.extend(key_access::direct_use_statements(
        key_access::DIRECT_USE_KEY_POLICY_SIDS,
        Some(p),
        "*",
        ops,
    ));
    advice.notes.push(format!(
        "{p} may use the key for exactly the operations custody's copies need ({}), and create grants only when EC2 creates them on its behalf (kms:GrantIsForAWSResource). Run custody with `--mode direct-use`",
        ops.join(", ")
    ));
    if advice.cross_account {
        let sids = key_access::direct_use_iam_sids(key_arn);
        let s = key_access::direct_use_statements((&sids.0, &sids.1), None, key_arn, ops);
        advice.principal_policy = Some(policy(json!(s)));
        own_account_too(ask, advice);
    }
}

/// `owner-grant`: the key owner creates the grant; the key policy is not changed.
fn owner_grant(ask: &Ask<'_>, advice: &mut KeyPolicyAdvice) {
    let (key, key_arn, p) = (&ask.key, ask.key_arn, ask.principal);
    // A service-linked role launches and attaches volumes (AWS's example); custody copies.
    let (grant_ops, retiring) = if ask.who.service_linked {
        (SERVICE_LINKED_GRANT_OPERATIONS.map(String::from).to_vec(), None)
    } else {
        (ask.ops.clone(), Some(p))
    };
    advice.create_grant = Some(grant_command(&key.account, &key.region, key_arn, p, grant_ops, retiring));
    advice.grant_creator_policy = Some(policy(json!([{
        "Sid": "AllowCreationOfCustodyGrantOnTheKMSKey",
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": key_arn
    }])));
    advice.notes.push(format!(
        "the key owner (account {}) runs create_grant; the key policy is not changed, and the principal needs no IAM permission to use a grant, in any account. Run custody with `--mode owner-grant`; it retires the grant when it no longer needs it (the principal is the grant's retiring principal)",
        key.account
    ));
}
