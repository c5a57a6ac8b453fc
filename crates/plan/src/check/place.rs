//! Where things are: the accounts and Regions in ARNs, the inventory principal behind a session, what
//! kind of resource a request is on.

use crate::inventory::arn::{Identity, IdentityKind};

/// What decides a request's resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    /// A KMS key: its key policy and grants.
    Key,
    /// `sts:AssumeRole` on a role: its trust policy.
    Role,
    /// An S3 bucket or object (`arn:aws:s3:::bucket[/key]`) for an `s3:` action: the bucket policy.
    Bucket,
    /// Anything else: no resource-based policy in the inventory.
    Other,
}

/// The kind of resource `resource` is for `action`.
pub(crate) fn resource_kind(action: &str, resource: &str) -> ResourceKind {
    let mut parts = resource.splitn(6, ':');
    let (Some("arn"), Some(_), Some(service), Some(_), Some(_), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return ResourceKind::Other;
    };
    if service == "kms" && rest.starts_with("key/") && action.to_ascii_lowercase().starts_with("kms:") {
        ResourceKind::Key
    } else if service == "iam" && rest.starts_with("role/") && action.eq_ignore_ascii_case("sts:AssumeRole") {
        ResourceKind::Role
    } else if service == "s3" && action.to_ascii_lowercase().starts_with("s3:") {
        ResourceKind::Bucket
    } else {
        ResourceKind::Other
    }
}

/// The bucket of an S3 ARN, `arn:aws:s3:::bucket[/key]` (empty when it is not one).
pub(crate) fn bucket_name(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or_default().split('/').next().unwrap_or_default()
}

/// The Region and account fields of an ARN (empty when absent).
pub(crate) fn arn_region_account(arn: &str) -> (&str, &str) {
    let mut parts = arn.splitn(6, ':').skip(3);
    (parts.next().unwrap_or_default(), parts.next().unwrap_or_default())
}

/// The account of a principal ARN (`arn:aws:iam::<acct>:…`, `arn:aws:sts::<acct>:…`).
pub(crate) fn principal_account(principal: &str) -> Option<&str> {
    custody_policy::case::arn_account(principal)
}

/// The account that owns the resource: given, else the ARN's, else the caller's (the engine then
/// treats the request as same-account).
pub(crate) fn resource_account(resource: &str, given: Option<&str>, principal: &str) -> Option<String> {
    given
        .or_else(|| custody_policy::case::arn_account(resource))
        .or_else(|| principal_account(principal))
        .map(Into::into)
}

/// `(account, "role" | "user", name)` of a role, role session or user ARN; roles may carry a path
/// (`role/service/Name`), sessions never do (`assumed-role/Name/session`), so the name is what
/// identifies the role (read by the inventory's [`Identity`]).
pub(crate) fn identity(arn: &str) -> Option<(&str, &'static str, &str)> {
    let id = Identity::parse(arn)?;
    let kind = match id.kind {
        IdentityKind::Role => "role",
        IdentityKind::User => "user",
    };
    Some((id.account, kind, id.name))
}

/// The IAM ARN to name in a key policy, trust policy or grant for the caller `principal`: the
/// inventory's role ARN (with its path) when known, else the role ARN rebuilt from a session (a key
/// policy names the role, not one session of it).
pub(crate) fn caller_role_arn(known: Option<&str>, principal: &str) -> String {
    if let Some(k) = known {
        return k.to_string();
    }
    match identity(principal) {
        Some((account, "role", name)) => {
            let partition = principal.split(':').nth(1).unwrap_or("aws");
            format!("arn:{partition}:iam::{account}:role/{name}")
        }
        _ => principal.to_string(),
    }
}

/// Whether resource control policies can bear on `action` at all, asked of the engine: a case with
/// one empty RCP level fails at the `rcp` gate exactly when RCPs apply.
pub(crate) fn rcps_may_apply(action: &str) -> bool {
    let probe = serde_json::json!({
        "request": {"principal": "arn:aws:iam::111111111111:role/probe", "action": action, "resource": "*"},
        "rcps": [[]]
    });
    match custody_policy::Case::from_json(&probe) {
        Ok(case) => custody_policy::evaluate(&case).gate.map(|g| g.kind) == Some(custody_policy::GateKind::Rcp),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_of_sessions_roles_with_paths_and_users() {
        let s = "arn:aws:sts::111111111111:assumed-role/CustodyResponse/case-1";
        assert_eq!(identity(s), Some(("111111111111", "role", "CustodyResponse")));
        let r = "arn:aws:iam::111111111111:role/forensics/CustodyResponse";
        assert_eq!(identity(r), Some(("111111111111", "role", "CustodyResponse")));
        assert_eq!(identity("arn:aws:iam::111111111111:user/ops/alice"), Some(("111111111111", "user", "alice")));
        assert_eq!(identity("arn:aws:iam::111111111111:root"), None);
        assert_eq!(caller_role_arn(None, s), "arn:aws:iam::111111111111:role/CustodyResponse");
        assert_eq!(caller_role_arn(Some(r), s), r);
    }

    #[test]
    fn resource_kinds_and_places() {
        let key = "arn:aws:kms:eu-west-3:222222222222:key/1234";
        assert_eq!(resource_kind("kms:Decrypt", key), ResourceKind::Key);
        assert_eq!(resource_kind("ec2:CopySnapshot", key), ResourceKind::Other);
        assert_eq!(resource_kind("sts:AssumeRole", "arn:aws:iam::2:role/R"), ResourceKind::Role);
        assert_eq!(resource_kind("kms:CreateAlias", "arn:aws:kms:eu-west-3:2:alias/x"), ResourceKind::Other);
        assert_eq!(arn_region_account(key), ("eu-west-3", "222222222222"));
        let snap = "arn:aws:ec2:eu-west-3::snapshot/snap-1";
        assert_eq!(resource_account(snap, None, key).as_deref(), Some("222222222222"));
        assert_eq!(resource_account(snap, Some("333333333333"), key).as_deref(), Some("333333333333"));
    }

    #[test]
    fn rcps_apply_to_kms_and_sts_but_not_ec2() {
        // Organizations User Guide, "Resource control policies", supported services:
        // <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#rcp-supported-services>
        assert!(rcps_may_apply("kms:Decrypt"));
        assert!(rcps_may_apply("sts:AssumeRole"));
        assert!(!rcps_may_apply("ec2:CreateSnapshot"));
    }
}
