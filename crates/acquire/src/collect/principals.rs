//! The roles custody acts as: identity policies (inline and managed), permissions boundary, trust
//! policy, tags.

use super::{arn_parts, Cause, CollectError, Collector};
use custody_cloud::api::Iam;
use custody_cloud::error::CloudResult;
use custody_plan::inventory::arn::Arn;
use custody_plan::inventory::Principal;
use serde_json::Value;
use std::collections::BTreeMap;

/// The role behind the caller: `arn:<p>:sts::<a>:assumed-role/<name>/<session>` →
/// `arn:<p>:iam::<a>:role/<name>` (the role's path is not in a session ARN; GetRole gives the full ARN).
/// `None` for a caller that is not a role session (an IAM user, the root user).
pub(super) fn role_of_caller(caller_arn: &str) -> Option<String> {
    let arn = Arn::parse(caller_arn).ok()?;
    let (account, session) = (arn.account()?, arn.assumed_role()?);
    Some(format!("arn:{}:iam::{account}:role/{}", arn.partition(), session.role))
}

/// Whether the caller already is a session of `role_arn` (then there is nothing to assume).
pub(super) fn is_session_of(caller_arn: &str, role_arn: &str) -> bool {
    let (Ok(caller), Ok(role)) = (Arn::parse(caller_arn), Arn::parse(role_arn)) else { return false };
    match (caller.assumed_role(), role.role()) {
        (Some(session), Some(role_name)) => caller.account() == role.account() && session.role == role_name.name,
        _ => false,
    }
}

/// `role/path/to/Name` → `Name`. Read leniently, after [`arn_parts`]: a name IAM would refuse is still
/// asked about, so that IAM's answer, not custody's guess, is what the inventory records.
fn role_name(resource: &str) -> &str {
    resource.rsplit_once('/').map_or(resource, |(_, name)| name)
}

/// Every field of a principal that can be unknown.
const ALL_FIELDS: &[&str] = &["identity_policies", "permissions_boundary", "trust_policy", "tags"];

/// Reads one role, through a session of its own account.
pub(super) async fn collect_role(c: &mut Collector, role_arn: &str) -> Result<Principal, CollectError> {
    let mut p = Principal {
        arn: role_arn.to_string(),
        identity_policies: vec![],
        permissions_boundary: None,
        trust_policy: None,
        tags: BTreeMap::new(),
        unknown: vec![],
    };
    let Some((_, _, _, account, resource)) = arn_parts(role_arn) else {
        return Err(CollectError::Invalid(format!("`{role_arn}` is not an ARN")));
    };
    if !resource.starts_with("role/") {
        return Err(CollectError::Invalid(format!("`{role_arn}` is not the ARN of an IAM role")));
    }
    if !c.reads_as(account) {
        let note =
            format!("IAM answers only about the caller's own account, and custody has no session in account {account}");
        c.warn_because(role_arn, "the policies, boundary, trust policy and tags", ALL_FIELDS, Cause::Note(note));
        p.unknown = ALL_FIELDS.iter().map(|f| f.to_string()).collect();
        return Ok(p);
    }
    let name = role_name(resource).to_string();
    let iam = c.cloud_for(account).iam();

    let mut boundary_arn = None;
    match iam.get_role(&name).await {
        Ok(role) => {
            p.arn = role.arn;
            boundary_arn = role.permissions_boundary_arn;
            match role.trust_policy {
                Some(trust) => p.trust_policy = Some(trust),
                None => p.unknown.push("trust_policy".into()),
            }
        }
        Err(error) if error.is_not_found() => {
            return Err(CollectError::NotFound { what: format!("role {role_arn}"), error: Box::new(error) });
        }
        Err(error) => {
            let fields = ["trust_policy", "permissions_boundary"];
            c.soft::<()>(Err(error), role_arn, "the trust policy and permissions boundary (GetRole)", &fields)?;
            p.unknown.extend(fields.iter().map(|f| f.to_string()));
        }
    }
    if let Some(boundary) = boundary_arn {
        let result = managed_document(iam.as_ref(), &boundary).await;
        match c.soft(result, role_arn, "the permissions boundary", &["permissions_boundary"])? {
            Some(doc) => p.permissions_boundary = Some(doc),
            None => p.unknown.push("permissions_boundary".into()),
        }
    }
    let result = identity_policies(iam.as_ref(), &name).await;
    match c.soft(result, role_arn, "the identity policies", &["identity_policies"])? {
        Some(docs) => p.identity_policies = docs,
        None => p.unknown.push("identity_policies".into()),
    }
    match c.soft(iam.list_role_tags(&name).await, role_arn, "the tags", &["tags"])? {
        Some(tags) => p.tags = tags,
        None => p.unknown.push("tags".into()),
    }
    Ok(p)
}

/// The inline policies, then the attached managed policies (their default versions).
async fn identity_policies(iam: &dyn Iam, role_name: &str) -> CloudResult<Vec<Value>> {
    let mut docs = Vec::new();
    for policy_name in iam.list_role_policies(role_name).await? {
        docs.push(iam.get_role_policy(role_name, &policy_name).await?);
    }
    for attached in iam.list_attached_role_policies(role_name).await? {
        docs.push(managed_document(iam, &attached.arn).await?);
    }
    Ok(docs)
}

/// The default version's document of a managed policy.
async fn managed_document(iam: &dyn Iam, policy_arn: &str) -> CloudResult<Value> {
    let policy = iam.get_policy(policy_arn).await?;
    iam.get_policy_version(policy_arn, &policy.default_version_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_behind_a_session() {
        assert_eq!(
            role_of_caller("arn:aws:sts::111111111111:assumed-role/CustodyResponse/case-1").as_deref(),
            Some("arn:aws:iam::111111111111:role/CustodyResponse")
        );
        assert_eq!(role_of_caller("arn:aws:iam::111111111111:user/alice"), None);
        assert!(is_session_of(
            "arn:aws:sts::111111111111:assumed-role/Src/custody-collect",
            "arn:aws:iam::111111111111:role/team/Src"
        ));
        assert!(!is_session_of("arn:aws:sts::111111111111:assumed-role/Src/x", "arn:aws:iam::222222222222:role/Src"));
    }
}
