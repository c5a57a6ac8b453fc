//! The organization policies (SCPs, RCPs) on each account's path, root first.
//!
//! AWS Organizations answers these reads only in the management account or a delegated
//! administrator, so from a member account they are usually unknown. An account outside any
//! organization has none; neither do principals and resources of the management account
//! (AWS Organizations User Guide, "Service control policies" and "Resource control policies").

use super::{CollectError, Collector};
use custody_cloud::api::Organizations;
use custody_cloud::error::{CloudError, CloudResult};
use custody_cloud::types::OrgPolicyKind;
use serde_json::Value;
use std::collections::BTreeMap;

/// Organizations allow five levels of OUs under the root: a longer walk means a loop.
const MAX_DEPTH: usize = 10;

#[derive(Debug, Default)]
pub(super) struct OrgPolicies {
    pub(super) scps: BTreeMap<String, Vec<Vec<Value>>>,
    pub(super) rcps: BTreeMap<String, Vec<Vec<Value>>>,
    /// `scps:<account>`, `rcps:<account>` that could not be read.
    pub(super) unknown: Vec<String>,
}

pub(super) async fn collect_org_policies(c: &mut Collector, accounts: &[String]) -> Result<OrgPolicies, CollectError> {
    let mut out = OrgPolicies::default();
    for account in accounts {
        let subject = format!("account {account}");
        let both = [format!("scps:{account}"), format!("rcps:{account}")];
        // Who to ask: the account itself, then the caller's own identity (the forensic account may be
        // the management account or a delegated administrator of the organization).
        let mut askers = Vec::new();
        if c.reads_as(account) {
            askers.push((c.cloud_for(account).organizations(), true));
        }
        if c.base_account != *account {
            askers.push((c.base.organizations(), false));
        }
        let mut first_error = None;
        let mut answered = false;
        for (org, own) in askers {
            match read_account(org.as_ref(), account, own).await {
                Ok(None) => continue, // this identity cannot tell
                Ok(Some(Membership::Outside | Membership::Management)) => {}
                Ok(Some(Membership::Member(path))) => {
                    for kind in [OrgPolicyKind::ServiceControl, OrgPolicyKind::ResourceControl] {
                        let entry = format!("{}:{account}", kind.short());
                        let what = match kind {
                            OrgPolicyKind::ServiceControl => "the service control policies",
                            OrgPolicyKind::ResourceControl => "the resource control policies",
                        };
                        match c.soft(levels(org.as_ref(), &path, kind).await, &subject, what, &[&entry])? {
                            None => out.unknown.push(entry),
                            Some(None) => {} // the policy type is not enabled: none apply
                            Some(Some(levels)) => {
                                let map = match kind {
                                    OrgPolicyKind::ServiceControl => &mut out.scps,
                                    OrgPolicyKind::ResourceControl => &mut out.rcps,
                                };
                                map.insert(account.clone(), levels);
                            }
                        }
                    }
                }
                Err(e) if e.is_fatal() => return Err(CollectError::Unreachable(Box::new(e))),
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            }
            answered = true;
            break;
        }
        if !answered {
            let error = first_error.unwrap_or_else(|| CloudError::Malformed {
                service: "organizations",
                operation: "DescribeOrganization",
                what: "no identity of custody's belongs to the account or its organization".into(),
            });
            c.warn(&subject, "the organization policies (SCPs, RCPs)", &[&both[0], &both[1]], error);
            out.unknown.extend(both);
        }
    }
    Ok(out)
}

/// Where an account stands in its organization.
enum Membership {
    /// Not in an organization: no SCPs, no RCPs.
    Outside,
    /// The management account: SCPs and RCPs do not apply to it.
    Management,
    /// A member: the targets from the root down to the account.
    Member(Vec<String>),
}

/// What one identity can tell about `account` (`own`: the identity is of that account). `None` when
/// it cannot tell: it is outside any organization, but is not the account.
async fn read_account(org: &dyn Organizations, account: &str, own: bool) -> CloudResult<Option<Membership>> {
    let Some(organization) = org.describe_organization().await? else {
        return Ok(own.then_some(Membership::Outside));
    };
    if organization.management_account.as_deref() == Some(account) {
        return Ok(Some(Membership::Management));
    }
    Ok(Some(Membership::Member(org_path(org, account).await?)))
}

/// The targets from the root down to the account: `[r-…, ou-…, …, <account>]`.
async fn org_path(org: &dyn Organizations, account: &str) -> CloudResult<Vec<String>> {
    let mut path = vec![account.to_string()];
    let mut child = account.to_string();
    for _ in 0..MAX_DEPTH {
        let parents = org.list_parents(&child).await?;
        let Some(parent) = parents.first() else {
            return Err(CloudError::Malformed {
                service: "organizations",
                operation: "ListParents",
                what: format!("`{child}` has no parent, but is not the root"),
            });
        };
        path.insert(0, parent.id.clone());
        if parent.is_root {
            return Ok(path);
        }
        child = parent.id.clone();
    }
    Err(CloudError::Malformed {
        service: "organizations",
        operation: "ListParents",
        what: format!("no root within {MAX_DEPTH} levels above account {account}"),
    })
}

/// The policies of `kind` at each level of `path`; `None` when the type is not enabled.
async fn levels(org: &dyn Organizations, path: &[String], kind: OrgPolicyKind) -> CloudResult<Option<Vec<Vec<Value>>>> {
    let mut levels = Vec::new();
    for target in path {
        let Some(summaries) = org.list_policies_for_target(target, kind).await? else { return Ok(None) };
        let mut docs = Vec::new();
        for summary in summaries {
            let policy = org.describe_policy(&summary.id).await?;
            docs.push(policy.content.ok_or_else(|| CloudError::Malformed {
                service: "organizations",
                operation: "DescribePolicy",
                what: format!("policy {} has no content", summary.id),
            })?);
        }
        levels.push(docs);
    }
    Ok(Some(levels))
}
