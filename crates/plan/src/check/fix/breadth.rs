//! What a fix gives beyond the request it fixes, so that fixes can be ranked by it and a fix that
//! hands out key administration, policy changes or deletion is never offered next to one that does not.
//!
//! Every change of a fix is read for the access it adds: a new statement gives its principals its
//! actions on its resources; a principal added to a statement gets all of the statement's actions; a
//! widened condition gives the statement's principals its actions in the new circumstance; a grant
//! gives its grantee its operations. Whatever the refused request itself needs is left out. A key
//! policy's `"Resource": "*"` means the key itself (KMS Developer Guide, "Key policies",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html>: "the resource
//! (`*`) is the KMS key itself").

use super::edit::{self, Slot};
use super::{Change, ChangeAction, Fix};
use crate::check::build::Working;
use crate::check::place::{caller_role_arn, identity};
use crate::plan::Plan;
use custody_policy::pattern::{MatchResult, Pattern, Syntax};
use custody_policy::variables::NoVars;
use serde::Serialize;
use serde_json::Value;

/// Access a fix adds beyond the refused request: `principal` may also do `actions` on `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addition {
    pub principal: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// The circumstance it holds in, when only one: a condition's new value, a grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Of `actions`, those the plan's other requests need anyway (same principal and resource).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needed_by_plan: Vec<String>,
}

impl Addition {
    /// The (action, resource) pairs this adds that the plan does not need.
    pub fn beyond_plan(&self) -> usize {
        (self.actions.len() - self.needed_by_plan.len().min(self.actions.len())) * self.resources.len().max(1)
    }

    /// The (action, resource) pairs this adds.
    pub fn size(&self) -> usize {
        self.actions.len() * self.resources.len().max(1)
    }
}

/// Actions no fix hands out: each changes who may use a key or a resource, or destroys it.
/// Matched against every action pattern a fix adds (`kms:Put*` matches `kms:PutKeyPolicy`).
const RISKY_ACTIONS: [(&str, &str); 22] = [
    ("kms:PutKeyPolicy", "key administration"),
    ("kms:ScheduleKeyDeletion", "key deletion"),
    ("kms:DisableKey", "key administration"),
    ("kms:DeleteImportedKeyMaterial", "key deletion"),
    ("kms:RevokeGrant", "key administration"),
    ("kms:UpdateAlias", "key administration"),
    ("kms:DeleteAlias", "key administration"),
    ("kms:TagResource", "key administration"),
    ("kms:UntagResource", "key administration"),
    ("kms:CancelKeyDeletion", "key administration"),
    ("kms:DisableKeyRotation", "key administration"),
    ("iam:PutRolePolicy", "policy changes"),
    ("iam:AttachRolePolicy", "policy changes"),
    ("iam:CreatePolicyVersion", "policy changes"),
    ("iam:UpdateAssumeRolePolicy", "policy changes"),
    ("iam:PutRolePermissionsBoundary", "policy changes"),
    ("iam:DeleteRolePermissionsBoundary", "policy changes"),
    ("iam:PassRole", "policy changes"),
    ("ec2:DeleteSnapshot", "deletion"),
    ("ec2:DeleteVolume", "deletion"),
    ("s3:DeleteObject", "deletion"),
    ("s3:PutBucketPolicy", "policy changes"),
];

const ACTION: Syntax = Syntax { wildcards: true, variables: false, case_insensitive: true };

fn matches(pattern: &str, action: &str) -> bool {
    Pattern::new(pattern, ACTION).matches(action, &NoVars) == MatchResult::Match
}

/// Why the additions are too much to offer beside a narrower fix, when they are.
pub(crate) fn risk(adds: &[Addition]) -> Option<String> {
    for a in adds {
        if a.principal == "*" {
            return Some(format!("it gives everyone ({}) {}", a.principal, a.actions.join(", ")));
        }
        for p in &a.actions {
            if p == "*" || p.ends_with(":*") {
                return Some(format!("it gives {} every action `{p}` covers", a.principal));
            }
            if let Some((action, what)) = RISKY_ACTIONS.iter().find(|(action, _)| matches(p, action)) {
                let via = if p.eq_ignore_ascii_case(action) { String::new() } else { format!(" (through `{p}`)") };
                return Some(format!("it gives {} {what}: `{action}`{via}", a.principal));
            }
        }
    }
    None
}

/// The access `fix` adds beyond the request of `w`, with what of it the plan needs anyway.
pub(crate) fn additions(fix: &Fix, w: &Working, plan: &Plan) -> Vec<Addition> {
    let mut out: Vec<Addition> = fix.changes.iter().flat_map(|c| of_change(c, w)).collect();
    for a in &mut out {
        a.needed_by_plan = a.actions.iter().filter(|p| needed(plan, &a.principal, p, &a.resources)).cloned().collect();
    }
    out
}

/// Whether every one of `resources` sees a request of the plan by `principal` that `pattern` covers.
fn needed(plan: &Plan, principal: &str, pattern: &str, resources: &[String]) -> bool {
    let who = identity(principal);
    who.is_some()
        && resources.iter().all(|res| {
            plan.steps
                .iter()
                .flat_map(|s| &s.calls)
                .flat_map(|c| &c.requests)
                .any(|r| identity(&r.principal) == who && r.resource == *res && matches(pattern, &r.action))
        })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The principals a statement names: `Principal.AWS` (or `"*"`), else whose policy it is.
fn principals(stmt: &Value, owner: &str) -> Vec<String> {
    match stmt.get("Principal") {
        None => vec![owner.to_string()],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Object(m)) => m.values().flat_map(|v| strings(Some(v))).collect(),
        Some(_) => Vec::new(),
    }
}

/// What a statement addresses: a key policy's `*` is the key itself; no `Resource` (a trust policy)
/// is the request's resource.
fn resources(stmt: &Value, change: &Change, w: &Working) -> Vec<String> {
    let listed = strings(stmt.get("Resource"));
    if listed.is_empty() {
        return vec![w.case.request.resource.to_string()];
    }
    let key_policy = change.case_field.as_deref() == Some("resource_policy") && w.key.is_some();
    listed.into_iter().map(|r| if key_policy && r == "*" { w.case.request.resource.to_string() } else { r }).collect()
}

fn of_change(change: &Change, w: &Working) -> Vec<Addition> {
    let req = &w.case.request;
    let caller = caller_role_arn(w.caller_arn.as_deref(), &req.principal);
    let owner = change.owner.clone().unwrap_or_else(|| caller.clone());
    let Some(json) = &change.json else { return Vec::new() };
    match change.action {
        ChangeAction::AddStatement => {
            let actions = strings(json.get("Action"));
            let res = resources(json, change, w);
            let when = json.get("Condition").and_then(condition_words);
            principals(json, &owner)
                .into_iter()
                .flat_map(|p| beyond(&p, &caller, &actions, &res, req, when.clone()))
                .collect()
        }
        ChangeAction::ReplaceStatement => {
            let old = change
                .case_field
                .as_deref()
                .and_then(Slot::from_label)
                .zip(change.statement)
                .and_then(|(slot, i)| edit::statement_json(w, slot, i));
            let actions = strings(json.get("Action"));
            let res = resources(json, change, w);
            let old_principals = old.as_ref().map(|o| principals(o, &owner)).unwrap_or_default();
            let mut out = Vec::new();
            for p in principals(json, &owner) {
                if !old_principals.contains(&p) {
                    // A principal added: it gets the whole statement.
                    out.extend(beyond(&p, &caller, &actions, &res, req, None));
                } else if !change.conditions.is_empty() {
                    let when = change
                        .conditions
                        .iter()
                        .map(|c| {
                            let new: Vec<&String> = c.now.iter().filter(|v| !c.was.contains(v)).collect();
                            format!(
                                "`{}` is {}",
                                c.key,
                                new.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" or ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" and ");
                    out.extend(beyond(&p, &caller, &actions, &res, req, Some(when)));
                }
            }
            out
        }
        ChangeAction::RunCommand | ChangeAction::CustodyCreatesGrant => {
            let grantee = json.get("grantee_principal").and_then(Value::as_str).unwrap_or_default();
            let ops: Vec<String> = strings(json.get("operations")).into_iter().map(|o| format!("kms:{o}")).collect();
            let when = Some(if change.action == ChangeAction::CustodyCreatesGrant {
                "through the grant custody creates, until it retires it".to_string()
            } else {
                "through the grant, until it is retired or revoked".to_string()
            });
            beyond(grantee, &caller, &ops, &[req.resource.to_string()], req, when)
        }
        ChangeAction::ReplaceGrant | ChangeAction::ChangeDeny => Vec::new(),
    }
}

/// A statement's `Condition` in words: "`Bool` `kms:GrantIsForAWSResource` is `true`".
fn condition_words(condition: &Value) -> Option<String> {
    let mut parts = Vec::new();
    for (operator, keys) in condition.as_object()? {
        for (key, values) in keys.as_object().into_iter().flatten() {
            let values: Vec<String> = match values {
                Value::Array(a) => a.iter().map(value_text).collect(),
                v => vec![value_text(v)],
            };
            parts.push(format!("`{key}` is {} (`{operator}`)", values.join(" or ")));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// What `principal` gets from `actions` on `resources` beyond the request (nothing of it when the
/// principal is someone else than the caller: then all of it is beyond).
fn beyond(
    principal: &str,
    caller: &str,
    actions: &[String],
    resources: &[String],
    req: &custody_policy::Request,
    when: Option<String>,
) -> Vec<Addition> {
    let addition = |actions: Vec<String>, resources: Vec<String>| Addition {
        principal: principal.to_string(),
        actions,
        resources,
        when: when.clone(),
        needed_by_plan: Vec::new(),
    };
    let same_principal =
        identity(principal).is_some() && identity(principal) == identity(caller) || principal == &*req.principal;
    if !same_principal {
        return vec![addition(actions.to_vec(), resources.to_vec())];
    }
    let mut out = Vec::new();
    let extra_actions: Vec<String> = actions.iter().filter(|a| !a.eq_ignore_ascii_case(&req.action)).cloned().collect();
    if !extra_actions.is_empty() && resources.iter().any(|r| r == &*req.resource) {
        out.push(addition(extra_actions, vec![req.resource.to_string()]));
    }
    let extra_resources: Vec<String> = resources.iter().filter(|r| *r != &*req.resource).cloned().collect();
    if !extra_resources.is_empty() {
        out.push(addition(actions.to_vec(), extra_resources));
    }
    out
}

/// Ranks fixes by what they add (a risky fix last), and drops a risky fix when another works:
/// its reason goes to `not_offered`.
pub(crate) fn rank(fixes: &mut Vec<Fix>, not_offered: &mut Vec<String>) {
    fixes.sort_by_key(|f| (f.risk.is_some(), f.adds_beyond_plan(), f.adds_size(), f.changes.len()));
    if fixes.iter().any(|f| f.risk.is_none()) {
        fixes.retain(|f| match &f.risk {
            Some(why) => {
                not_offered.push(format!("{}: {why}, and a narrower fix works", lowercase_first(&f.summary)));
                false
            }
            None => true,
        });
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fix::FixKind;

    fn fix(summary: &str, actions: &[&str]) -> Fix {
        let mut f = Fix::new(FixKind::CorrectedPrincipal, summary.into(), "why".into(), Vec::new());
        if !actions.is_empty() {
            f.adds = vec![Addition {
                principal: "arn:aws:iam::1:role/R".into(),
                actions: actions.iter().map(|a| a.to_string()).collect(),
                resources: vec!["k".into()],
                when: None,
                needed_by_plan: Vec::new(),
            }];
        }
        f.risk = risk(&f.adds);
        f
    }

    #[test]
    fn key_administration_and_wildcards_are_risky_narrow_access_is_not() {
        assert!(fix("a", &["kms:Put*"]).risk.unwrap().contains("`kms:PutKeyPolicy` (through `kms:Put*`)"));
        assert!(fix("a", &["kms:ScheduleKeyDeletion"]).risk.unwrap().contains("key deletion"));
        assert!(fix("a", &["kms:*"]).risk.is_some());
        assert!(fix("a", &["iam:PutRolePolicy"]).risk.unwrap().contains("policy changes"));
        assert!(fix("a", &["ec2:DeleteSnapshot"]).risk.unwrap().contains("deletion"));
        assert!(fix("a", &["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]).risk.is_none());
        assert!(fix("a", &[]).risk.is_none());
    }

    #[test]
    fn a_risky_fix_is_dropped_beside_a_narrow_one_and_kept_last_when_alone() {
        let mut not_offered = Vec::new();
        let mut fixes = vec![fix("Make it admin", &["kms:Put*"]), fix("Widen", &["kms:Encrypt"]), fix("Add", &[])];
        rank(&mut fixes, &mut not_offered);
        let order: Vec<&str> = fixes.iter().map(|f| f.summary.as_str()).collect();
        assert_eq!(order, ["Add", "Widen"], "ranked by what they add, the risky one dropped");
        assert_eq!(not_offered.len(), 1);
        assert!(not_offered[0].starts_with("make it admin: it gives"), "{not_offered:?}");
        let mut alone = vec![fix("Make it admin", &["kms:Put*"])];
        rank(&mut alone, &mut not_offered);
        assert_eq!(alone.len(), 1, "nothing narrower works: shown, as a warning");
        assert!(alone[0].risk.is_some());
    }
}
