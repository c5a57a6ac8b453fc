//! The three ways the owner of a customer managed key opens it to a role custody uses, built in one
//! place: `custody check` offers them as fixes and `custody policy key` writes them, and both must
//! say the same thing for the same key, role and operations.
//!
//! - **Grant-only**: a role may create grants on the key, only for one grantee and only with the
//!   operations custody's grants carry (`kms:GranteePrincipal`, `kms:GrantOperations`); custody creates
//!   the grant for an acquisition and retires it. "Granting CreateGrant permission",
//!   <https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant>.
//! - **Direct use**: the role may use the key for exactly the operations, and may create grants only
//!   when EC2 creates them on its behalf (`kms:GrantIsForAWSResource`), as AWS's own EBS key policy
//!   examples do (<https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource>).
//! - **Key-owner grant**: the key's owner creates a grant for the role with exactly the operations
//!   (`aws kms create-grant`, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>).

use serde_json::{json, Value};

/// The way a key is opened to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAccess {
    /// The role (or custody's role in the key's account) creates grants; custody retires them.
    GrantOnly,
    /// The key policy names the role for the operations; CreateGrant only for AWS resources.
    DirectUse,
    /// The key's owner creates a grant for the role.
    OwnerGrant,
}

impl KeyAccess {
    /// As `custody policy key --access` takes it.
    pub fn name(self) -> &'static str {
        match self {
            KeyAccess::GrantOnly => "grant-only",
            KeyAccess::DirectUse => "direct-use",
            KeyAccess::OwnerGrant => "owner-grant",
        }
    }

    /// The `--mode` of `custody acquire` that plans with it.
    pub fn mode(self) -> &'static str {
        match self {
            KeyAccess::GrantOnly => "grant-only",
            KeyAccess::DirectUse => "direct-use",
            KeyAccess::OwnerGrant => "owner-grant",
        }
    }

    pub const ALL: [KeyAccess; 3] = [KeyAccess::GrantOnly, KeyAccess::DirectUse, KeyAccess::OwnerGrant];
}

/// The Sids of the direct-use statements in a key policy: (use, attachment).
pub const DIRECT_USE_KEY_POLICY_SIDS: (&str, &str) =
    ("Allow use of the key by custody", "Allow attachment of persistent resources by custody");

/// The Sid of the grant-only statement in a key policy.
pub const GRANT_ONLY_KEY_POLICY_SID: &str = "Allow custody to create grants for its role";

/// A Sid for a role's IAM policy, of letters and digits (IAM allows no `-`), naming the key.
fn iam_sid(prefix: &str, key_arn: &str) -> String {
    let arn = custody_ids::Arn::parse(key_arn).ok();
    let key_id = arn.and_then(|a| a.resource().strip_prefix("key/")).unwrap_or_default();
    let id: String = key_id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{prefix}{id}")
}

/// The Sids of the direct-use statements in the role's IAM policy: (use, attachment).
pub fn direct_use_iam_sids(key_arn: &str) -> (String, String) {
    (iam_sid("CustodyUseKey", key_arn), iam_sid("CustodyGrantsForEc2OnKey", key_arn))
}

/// The Sid of the grant-only statement in the IAM policy of the role that creates the grants.
pub fn grant_only_iam_sid(key_arn: &str) -> String {
    iam_sid("CustodyCreateGrantsOnKey", key_arn)
}

/// `kms:<operation>`, in the order given.
fn actions(operations: &[String]) -> Vec<String> {
    operations.iter().map(|o| format!("kms:{o}")).collect()
}

/// Grant-only: `kms:CreateGrant` for `grantee` with no operation but `operations`. `principal`:
/// `Some` for a key policy (which names the role, on `"*"`, the key itself), `None` for the role's
/// own IAM policy (on `resource`, the key's ARN).
pub fn grant_only_statement(
    sid: &str,
    principal: Option<&str>,
    resource: &str,
    grantee: &str,
    operations: &[String],
) -> Value {
    let mut s = json!({"Sid": sid, "Effect": "Allow"});
    if let Some(p) = principal {
        s["Principal"] = json!({"AWS": p});
    }
    s["Action"] = json!("kms:CreateGrant");
    s["Resource"] = json!(resource);
    s["Condition"] = json!({
        "StringEquals": {"kms:GranteePrincipal": grantee},
        "ForAllValues:StringEquals": {"kms:GrantOperations": operations}
    });
    s
}

/// Direct use: the operations but CreateGrant in one statement, and CreateGrant (when among them)
/// only for AWS resources in another. `sids`: (use, attachment).
pub fn direct_use_statements(
    sids: (&str, &str),
    principal: Option<&str>,
    resource: &str,
    operations: &[String],
) -> Vec<Value> {
    let statement = |sid: &str, action: Value| {
        let mut s = json!({"Sid": sid, "Effect": "Allow"});
        if let Some(p) = principal {
            s["Principal"] = json!({"AWS": p});
        }
        s["Action"] = action;
        s["Resource"] = json!(resource);
        s
    };
    let direct: Vec<String> = operations.iter().filter(|o| *o != "CreateGrant").cloned().collect();
    let mut out = Vec::new();
    if !direct.is_empty() {
        out.push(statement(sids.0, json!(actions(&direct))));
    }
    if operations.iter().any(|o| o == "CreateGrant") {
        let mut s = statement(sids.1, json!("kms:CreateGrant"));
        s["Condition"] = json!({"Bool": {"kms:GrantIsForAWSResource": true}});
        out.push(s);
    }
    out
}

/// `aws kms create-grant` for `grantee` with `operations`, one option a line; with
/// `--retiring-principal` when given (custody names the role, so that it retires the grant itself).
pub fn create_grant_command(
    region: &str,
    key_arn: &str,
    grantee: &str,
    operations: &[String],
    retiring: Option<&str>,
) -> String {
    let quoted: Vec<String> = operations.iter().map(|o| format!("\"{o}\"")).collect();
    let mut command = format!(
        "aws kms create-grant \\\n  --region {region} \\\n  --key-id {key_arn} \\\n  --grantee-principal {grantee} \\\n  --operations {}",
        quoted.join(" ")
    );
    if let Some(r) = retiring {
        command.push_str(&format!(" \\\n  --retiring-principal {r}"));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn direct_use_keeps_create_grant_apart_and_for_aws_resources() {
        let s =
            direct_use_statements(("U", "A"), Some("arn:aws:iam::1:role/R"), "*", &ops(&["CreateGrant", "Decrypt"]));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0]["Action"], json!(["kms:Decrypt"]));
        assert_eq!(s[1]["Condition"]["Bool"]["kms:GrantIsForAWSResource"], true);
        assert_eq!(direct_use_statements(("U", "A"), None, "k", &ops(&["Decrypt"])).len(), 1);
    }

    #[test]
    fn the_command_names_the_retiring_principal_last() {
        let c = create_grant_command("r", "k", "g", &ops(&["Decrypt"]), Some("g"));
        assert!(c.ends_with("--operations \"Decrypt\" \\\n  --retiring-principal g"), "{c}");
    }
}
