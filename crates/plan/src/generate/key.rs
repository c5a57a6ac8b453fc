//! What the owner of a KMS key adds so that a principal can use it: key-policy statements, an
//! `aws kms create-grant` command, and the IAM policies that go with them (seeds 000–003).
//!
//! - Option 1 (CreateGrant only, seed 000): the principal may create grants, limited to the operations
//!   custody's grants carry; custody creates and retires the grants it needs.
//! - Option 2 (direct, seeds 000/001 and seed 003 example 1): "Allow use of the key" (Encrypt,
//!   Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey) and "Allow attachment of persistent resources"
//!   (CreateGrant with `Bool kms:GrantIsForAWSResource true`). For a key in another account than the
//!   principal (seed 003 example 2): the statements name the principal's account root, and a principal
//!   of that account creates a grant for the principal with the exact `create-grant` command, which
//!   needs kms:CreateGrant on the key ARN in its own IAM policy.
//! - Option 3 (owner grants, seed 000 option 3): the key owner creates the grant itself.

use super::validate::{parse_key_arn, parse_principal_arn};
use super::{GenerateError, POLICY_VERSION};
use crate::plan::COPY_GRANT_OPERATIONS;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// The grant operations of seed 003 example 2, in its order: what EC2 needs to launch, attach and
/// copy encrypted volumes for the grantee.
pub const CUSTODY_KEY_GRANT_OPERATIONS: [&str; 8] = [
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

/// The seeds' three options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyOption {
    /// 1: CreateGrant only.
    CreateGrantOnly,
    /// 2: direct use, CreateGrant only for AWS resources.
    Direct,
    /// 3: a grant by the key owner.
    OwnerGrant,
}

impl KeyOption {
    pub fn number(self) -> u8 {
        match self {
            KeyOption::CreateGrantOnly => 1,
            KeyOption::Direct => 2,
            KeyOption::OwnerGrant => 3,
        }
    }
}

impl fmt::Display for KeyOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl FromStr for KeyOption {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1" => Ok(KeyOption::CreateGrantOnly),
            "2" => Ok(KeyOption::Direct),
            "3" => Ok(KeyOption::OwnerGrant),
            _ => Err(GenerateError::UnknownKeyOption(s.to_string())),
        }
    }
}

/// What [`key_policy`] is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOptions {
    pub key_arn: String,
    /// The principal that will use the key: a role (service-linked roles included), a user or an
    /// account root.
    pub principal_arn: String,
    pub option: KeyOption,
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
    /// The command line, ready to run.
    pub command: String,
}

/// The output of [`key_policy`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPolicyAdvice {
    pub key_arn: String,
    pub principal: String,
    pub option: u8,
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

fn use_statement(sid: &str, who: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal(who),
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*"
    })
}

fn attachment_statement(sid: &str, who: &str, for_aws_resource: bool) -> Value {
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

/// custody's grant operations, sorted.
fn copy_grant_operations() -> Vec<&'static str> {
    let mut ops = COPY_GRANT_OPERATIONS.to_vec();
    ops.sort_unstable();
    ops
}

fn grant_operations_condition() -> Value {
    json!({"ForAllValues:StringEquals": {"kms:GrantOperations": copy_grant_operations()}})
}

fn grant_command(run_in_account: &str, region: &str, key_arn: &str, grantee: &str, ops: &[&str]) -> GrantCommand {
    let quoted: Vec<String> = ops.iter().map(|o| format!("\"{o}\"")).collect();
    GrantCommand {
        run_in_account: run_in_account.to_string(),
        region: region.to_string(),
        key_id: key_arn.to_string(),
        grantee_principal: grantee.to_string(),
        operations: ops.iter().map(|o| o.to_string()).collect(),
        command: format!(
            "aws kms create-grant --region {region} --key-id {key_arn} --grantee-principal {grantee} --operations {}",
            quoted.join(" ")
        ),
    }
}

fn policy(statements: Value) -> Value {
    json!({"Version": POLICY_VERSION, "Statement": statements})
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
    let (key_arn, p) = (options.key_arn.as_str(), options.principal_arn.as_str());
    let cross_account = key.account != who.account;
    let external_root = format!("arn:{}:iam::{}:root", who.partition, who.account);
    let mut advice = KeyPolicyAdvice {
        key_arn: key_arn.to_string(),
        principal: p.to_string(),
        option: options.option.number(),
        service_linked_role: who.service_linked,
        cross_account,
        key_policy_statements: Vec::new(),
        create_grant: None,
        grant_creator_policy: None,
        principal_policy: None,
        notes: Vec::new(),
    };
    match options.option {
        KeyOption::CreateGrantOnly => {
            if who.service_linked {
                return Err(GenerateError::ServiceLinkedRoleCannotCreateGrants(p.to_string()));
            }
            let mut s = json!({
                "Sid": "Allow custody to create grants",
                "Effect": "Allow",
                "Principal": principal(p),
                "Action": ["kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": grant_operations_condition()
            });
            advice.key_policy_statements.push(s.clone());
            advice.notes.push(format!(
                "custody creates a grant for each acquisition with the operations AWS lists for the users of a shared key (https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html: {}), names the forensic role as grantee and retiring principal, and retires the grant when the acquisition ends (seed 000, option 1)",
                copy_grant_operations().join(", ")
            ));
            if cross_account {
                s["Sid"] = json!("CustodyCreateGrantOnExternalKey");
                s.as_object_mut().map(|o| o.remove("Principal"));
                s["Resource"] = json!(key_arn);
                advice.principal_policy = Some(policy(json!([s])));
                advice.notes.push(format!(
                    "the key is in account {} and the principal in account {}: the principal's own IAM policy must allow the same (principal_policy), a key policy alone is not enough ({KEY_POLICY_DOC})",
                    key.account, who.account
                ));
            }
        }
        KeyOption::Direct if !cross_account => {
            let use_sid = if who.service_linked {
                "Allow service-linked role use of the customer managed key"
            } else {
                "Allow use of the key"
            };
            advice.key_policy_statements.push(use_statement(use_sid, p));
            advice.key_policy_statements.push(attachment_statement(
                "Allow attachment of persistent resources",
                p,
                true,
            ));
            advice.notes.push("CreateGrant is allowed only when an AWS service (EC2) creates the grant on the principal's behalf: kms:GrantIsForAWSResource (seed 000, option 2)".to_string());
        }
        KeyOption::Direct => {
            let acct = &who.account;
            advice.key_policy_statements.push(use_statement(
                &format!("Allow external account {acct} use of the customer managed key"),
                &external_root,
            ));
            advice.key_policy_statements.push(attachment_statement(
                &format!("Allow attachment of persistent resources in external account {acct}"),
                &external_root,
                false,
            ));
            advice.create_grant = Some(grant_command(acct, &key.region, key_arn, p, &CUSTODY_KEY_GRANT_OPERATIONS));
            advice.grant_creator_policy = Some(policy(json!([{
                "Sid": format!("AllowCreationOfGrantForTheKMSKeyinExternalAccount{}", key.account),
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key_arn
            }])));
            advice.notes.push(format!(
                "the key is in account {} and the principal in account {acct}: the key policy lets account {acct} use the key (giving an account access does not by itself give any of its roles access), then a principal of account {acct} with grant_creator_policy runs create_grant for the principal (seed 003, example 2; {CREATE_GRANT_DOC})",
                key.account
            ));
            if !who.service_linked {
                let mut attach = attachment_statement("CustodyCreateGrantForAwsResources", p, true);
                attach.as_object_mut().map(|o| o.remove("Principal"));
                attach["Resource"] = json!(key_arn);
                let mut use_ = use_statement("CustodyUseExternalKey", p);
                use_.as_object_mut().map(|o| o.remove("Principal"));
                use_["Resource"] = json!(key_arn);
                advice.principal_policy = Some(policy(json!([use_, attach])));
                advice.notes.push("instead of the grant, the principal (not a service-linked role) may be given principal_policy: with the key policy statements it allows the same (seeds 000–002, \"Cross Account\")".to_string());
            }
        }
        KeyOption::OwnerGrant => {
            // An SLR launches and attaches volumes (seed 003); custody only copies from the key.
            let ops: Vec<&str> = CUSTODY_KEY_GRANT_OPERATIONS
                .into_iter()
                .filter(|o| who.service_linked || COPY_GRANT_OPERATIONS.contains(o))
                .collect();
            advice.create_grant = Some(grant_command(&key.account, &key.region, key_arn, p, &ops));
            advice.grant_creator_policy = Some(policy(json!([{
                "Sid": "AllowCreationOfCustodyGrantOnTheKMSKey",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key_arn
            }])));
            advice.notes.push(format!(
                "the key owner (account {}) runs create_grant; the key policy is not changed, and the principal needs no IAM permission to use a grant, in any account (seed 000, option 3). Revoke the grant with `aws kms revoke-grant` when custody no longer needs it",
                key.account
            ));
        }
    }
    Ok(advice)
}
