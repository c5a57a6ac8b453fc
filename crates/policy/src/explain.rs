//! Words for a [`Decision`]: the `custody authz` JSON result and the sentences a person acts on.

use crate::case::Case;
use crate::decision::{Decision, DecisionKind, GateKind, Hit, MissReason, NearMiss, Note, PolicyRef};
use serde::Serialize;

/// A statement reference in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    pub policy: String,
    pub statement: Option<usize>,
    pub sid: Option<String>,
}

/// A failed gate in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateReport {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    pub message: String,
}

/// A condition that did not hold, with what the policy wants and what the request has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionReport {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
    /// The request's values for the key; `null` when the request does not have the key.
    pub request_values: Option<Vec<String>>,
}

/// An Allow statement that nearly applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMissReport {
    pub policy: String,
    pub statement: usize,
    pub sid: Option<String>,
    /// `principal` or `condition`.
    pub reason: &'static str,
    /// For `condition`: the first condition that does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionReport>,
    /// One sentence.
    pub message: String,
}

/// The `--json` result of `custody authz` (docs/authz-case-format.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub decision: &'static str,
    pub summary: String,
    pub allowed_by: Vec<StatementRef>,
    pub denied_by: Vec<StatementRef>,
    pub gate: Option<GateReport>,
    pub notes: Vec<String>,
    /// For an implicit deny: the failed gate's Allow statements that cover the action and resource
    /// but not this caller or context, each with the first thing that stopped it.
    pub near_misses: Vec<NearMissReport>,
}

/// Explains `decision`, which [`crate::evaluate`] made for `case`.
pub fn explain(case: &Case, decision: &Decision) -> Explanation {
    let refs = |hits: &[Hit]| hits.iter().map(|h| statement_ref(case, h)).collect::<Vec<_>>();
    let allowed_by = refs(&decision.allowed_by);
    let denied_by = refs(&decision.denied_by);
    let gate = decision.gate.map(|g| GateReport {
        kind: g.kind.as_str(),
        level: g.level,
        message: gate_message(case, g.kind, g.level),
    });
    let req = &case.request;
    let what = format!("{} on {}", req.action, req.resource);
    let summary = match decision.kind {
        DecisionKind::Allowed => format!("allowed: {} may call {what} ({})", req.principal, list(&allowed_by)),
        DecisionKind::ExplicitDeny => format!("explicitly denied: {} ({})", what, list(&denied_by)),
        DecisionKind::ImplicitDeny => format!(
            "implicitly denied: {}",
            gate.as_ref().map(|g| g.message.clone()).unwrap_or_else(|| "no statement allows it".into())
        ),
    };
    Explanation {
        decision: decision.kind.as_str(),
        summary,
        allowed_by,
        denied_by,
        gate,
        notes: decision.notes.iter().map(|n| note_message(case, *n)).collect(),
        near_misses: crate::nearmiss::near_misses(case, decision)
            .iter()
            .filter_map(|m| near_miss_report(case, m))
            .collect(),
    }
}

fn near_miss_report(case: &Case, m: &NearMiss) -> Option<NearMissReport> {
    let stmt = case.policy(m.policy)?.statements.iter().find(|s| s.index == m.statement)?;
    let at = StatementRef {
        policy: m.policy.to_string(),
        statement: Some(m.statement),
        sid: stmt.sid.as_deref().map(str::to_string),
    };
    let (reason, condition, why) = match m.reason {
        MissReason::Principal => {
            ("principal", None, format!("its Principal does not name {} or its account", case.request.principal))
        }
        MissReason::Condition(i) => {
            let c = stmt.conditions.get(i)?;
            let request_values =
                case.request.context.get(c.key_lower()).map(|v| v.values().map(str::to_string).collect::<Vec<_>>());
            let values = c.values_text();
            let has = match &request_values {
                None => "the request has no such key".to_string(),
                Some(v) => format!("the request has {}", quoted(v)),
            };
            let why =
                format!("its condition `{}` on `{}` wants {}, but {has}", c.operator_name, c.key, quoted(&values));
            let report = ConditionReport {
                operator: c.operator_name.to_string(),
                key: c.key.to_string(),
                values,
                request_values,
            };
            ("condition", Some(report), why)
        }
    };
    Some(NearMissReport {
        message: format!("{} would allow {}: {why}", describe_ref(&at), case.request.action),
        policy: at.policy,
        statement: m.statement,
        sid: at.sid,
        reason,
        condition,
    })
}

fn quoted(values: &[String]) -> String {
    let v: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match v.len() {
        0 => "an empty set".into(),
        1 => v[0].clone(),
        _ => format!("one of {}", v.join(", ")),
    }
}

fn list(refs: &[StatementRef]) -> String {
    refs.iter().map(describe_ref).collect::<Vec<_>>().join(", ")
}

/// `identity_policies[0] statement 1 (Sid "AllowDecrypt")`.
pub fn describe_ref(r: &StatementRef) -> String {
    match (&r.statement, &r.sid) {
        (Some(i), Some(sid)) => format!("{} statement {i} (Sid `{sid}`)", r.policy),
        (Some(i), None) => format!("{} statement {i}", r.policy),
        (None, _) => r.policy.clone(),
    }
}

fn statement_ref(case: &Case, hit: &Hit) -> StatementRef {
    let sid = hit.statement.and_then(|s| {
        case.policy(hit.policy)?.statements.iter().find(|st| st.index == s)?.sid.as_deref().map(str::to_string)
    });
    let sid = match hit.policy {
        PolicyRef::Grant(i) => case.grants.get(i).and_then(|g| g.grant_id.as_deref().map(str::to_string)),
        _ => sid,
    };
    StatementRef { policy: hit.policy.to_string(), statement: hit.statement, sid }
}

fn gate_message(case: &Case, kind: GateKind, level: Option<usize>) -> String {
    let req = &case.request;
    let caller_account = req.caller.account().unwrap_or("(no account)");
    let resource_account = req.resource_account.as_deref().unwrap_or("(unknown)");
    let action = &req.action;
    match kind {
        GateKind::Scp => format!(
            "no service control policy at level {} of account {caller_account}'s organization path (0 = root) allows {action}",
            level.unwrap_or(0)
        ),
        GateKind::Rcp => format!(
            "no resource control policy at level {} of account {resource_account}'s organization path (0 = root) allows {action}",
            level.unwrap_or(0)
        ),
        GateKind::VpcEndpointPolicy => format!("the VPC endpoint policy does not allow {action}"),
        GateKind::KeyPolicy => {
            if case.resource_policy.is_none() {
                format!("the case gives no key policy for {}: without a key policy statement nobody can use a KMS key, so IAM policies are never consulted", req.resource)
            } else if req.resource_account.as_deref() != req.caller.account() {
                format!(
                    "the key policy of account {resource_account} allows neither {} nor account {caller_account} to call {action}, and no grant applies",
                    req.principal
                )
            } else {
                format!(
                    "the key policy does not allow {} or account {caller_account} to call {action}, so its IAM policies are never consulted, and no grant applies",
                    req.principal
                )
            }
        }
        GateKind::ResourcePolicy => {
            if req.is_role_trust() {
                format!(
                    "the trust policy of {} allows neither {} nor account {caller_account} to call {action}: a role's trust policy must allow the caller even in the same account",
                    req.resource, req.principal
                )
            } else if req.caller.account().is_none() {
                format!("no resource-based policy allows {} to call {action}", req.principal)
            } else if case.resource_policy.is_none() {
                format!("{action} crosses from account {caller_account} into account {resource_account}, which needs a resource-based policy there, and the case has none")
            } else {
                format!("the resource-based policy of account {resource_account} allows neither {} nor account {caller_account} to call {action}", req.principal)
            }
        }
        GateKind::IdentityPolicy => format!("no identity-based policy of {} allows {action} on {}", req.principal, req.resource),
        GateKind::PermissionsBoundary => format!("no statement of the permissions boundary allows {action} on {}", req.resource),
        GateKind::SessionPolicy => format!("no statement of the session policy allows {action} on {}", req.resource),
        GateKind::RetireGrant => {
            if case.grants.is_empty() {
                "the case lists no grant to retire".to_string()
            } else if case.grants.len() > 1 && req.grant_id.is_none() {
                "the case lists several grants: say which is retired with `request.grant_id`".to_string()
            } else {
                format!(
                    "{} is not the grant's retiring principal, not a grantee whose grant lists RetireGrant, and not in the account that created the grant",
                    req.principal
                )
            }
        }
    }
}

fn note_message(case: &Case, note: Note) -> String {
    let req = &case.request;
    match note {
        Note::IdentityAllowIgnoredByKeyPolicy => "an identity-based policy allows this, but it does not count: the key policy has no statement for the caller's account".into(),
        Note::ResourceAllowsAccountOnly => format!("the resource policy allows account {} as a whole, so that account's identity-based policies must allow too", req.caller.account().unwrap_or("")),
        Note::GrantConstraintUnmet(i) => format!("grants[{i}] names the caller and {} but its encryption-context constraint is not met by the request", req.action_name()),
        Note::GrantOperationMissing(i) => format!("grants[{i}] names the caller but not the operation {}", req.action_name()),
        Note::ScpsNotApplicable => "SCPs were not applied: they do not restrict service-linked roles or service principals".into(),
        Note::RcpsNotApplicable => format!("RCPs were not applied: they do not restrict {} here (unsupported service, service-linked role or service principal)", req.action),
        Note::IdentityAllowNeedsTrust => format!("an identity-based policy allows this, but it is not enough: the trust policy of {} must allow the caller (or its account) even in the same account", req.resource),
        Note::NeedsNoPermission => format!("{} needs no permission, and no policy can deny it", req.action),
        Note::CrossAccount => format!(
            "cross-account request: account {} calls into account {}",
            req.caller.account().unwrap_or(""),
            req.resource_account.as_deref().unwrap_or("")
        ),
    }
}
