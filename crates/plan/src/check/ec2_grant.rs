//! The grant EC2 creates for itself while it copies a snapshot or creates a volume. AWS documents
//! that EC2 calls CreateGrant as the caller (`kms:GrantIsForAWSResource` true), not what that grant
//! holds: its grantee, its retiring principal and its operations. So:
//! - a policy statement that conditions on `kms:GranteePrincipal`, `kms:GrantOperations` or
//!   `kms:RetiringPrincipal` and could change the decision makes the request unknown, not allowed or
//!   refused on a guess;
//! - when the caller's CreateGrant permission comes from a grant, KMS lets EC2 create only a grant
//!   with a subset of that grant's operations and constraints at least as strict (KMS Developer
//!   Guide, "Granting CreateGrant permission"). The engine has checked the constraint (the request
//!   says EC2's grant is constrained to `aws:ebs:id`); for the operations, a parent that lists every
//!   operation AWS documents for EBS encryption covers whatever EC2 asks for among them, and the
//!   request stays allowed, marked inferred; a parent that lists fewer leaves it unknown.

use super::{Deciding, Outcome, RequestCheck};
use crate::plan::{ebs_key_operations, AuthzRequest};
use serde_json::Value;

/// The condition keys that describe the grant a CreateGrant request creates (KMS condition keys,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html>).
const GRANT_KEYS: [&str; 3] = ["kms:granteeprincipal", "kms:grantoperations", "kms:retiringprincipal"];

const CREATE_GRANT_FROM_GRANT: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant";

/// A CreateGrant EC2 sends as the caller.
pub(crate) fn is_ec2_create_grant(req: &AuthzRequest) -> bool {
    let is = |k: &str, v: &str| matches!(req.context.get(k), Some(crate::plan::ContextEntry::Single(s)) if s == v);
    req.action.eq_ignore_ascii_case("kms:CreateGrant")
        && is("kms:GrantIsForAWSResource", "true")
        && is("aws:ViaAWSService", "true")
}

/// Reviews `out`, the decision on `req` (an EC2 CreateGrant), against `case`, the case it was
/// decided on.
pub(crate) fn review(req: &AuthzRequest, out: &mut RequestCheck, case: &Value) {
    if let Some(why) = grant_keys_decide(out, case) {
        out.outcome = Outcome::Unknown;
        out.unknown.push(why);
        return;
    }
    if out.outcome != Outcome::Allowed {
        return;
    }
    let Some(parent) = out.deciding.iter().find_map(|d| grant_of(d, case)) else { return };
    let (key_account, caller_account) = (arn_account(&req.resource), arn_account(&req.principal));
    let listed: Vec<&str> = parent
        .get("operations")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |ops| ops.iter().filter_map(Value::as_str).collect());
    let missing: Vec<&str> =
        ebs_key_operations(key_account, caller_account).iter().copied().filter(|op| !listed.contains(op)).collect();
    let id = parent.get("grant_id").and_then(Value::as_str).unwrap_or("the grant");
    if missing.is_empty() {
        let note = format!(
            "the caller may create grants only through grant {id}, and KMS then lets EC2 create a grant with only \
             a subset of its operations ({CREATE_GRANT_FROM_GRANT}): AWS does not document EC2's grant, and custody \
             assumes it lists only operations EBS encryption requires, all of which {id} lists"
        );
        out.inferred = Some(match out.inferred.take() {
            Some(before) => format!("{before}; {note}"),
            None => note,
        });
    } else {
        out.outcome = Outcome::Unknown;
        out.unknown.push(format!(
            "the caller may create grants only through grant {id}, and KMS then lets EC2 create a grant with only a \
             subset of its operations ({CREATE_GRANT_FROM_GRANT}); {id} does not list {}, which EBS encryption \
             requires, and AWS does not document which operations EC2's grant asks for: list them in the grant",
            missing.join(", ")
        ));
    }
}

/// Why the request is unknown when a statement that conditions on the new grant's grantee,
/// operations or retiring principal could change its decision: an Allow that allows it or could, or
/// a Deny that could deny it.
fn grant_keys_decide(out: &RequestCheck, case: &Value) -> Option<String> {
    let deciding: Vec<&Value> = out.deciding.iter().filter_map(|d| statement_of(d, case)).collect();
    let relevant: Vec<&Value> = match out.outcome {
        Outcome::Allowed => {
            let mut v: Vec<&Value> = deciding.clone();
            v.extend(statements(case).into_iter().filter(|s| is_effect(s, "Deny")));
            v
        }
        Outcome::Denied if !deciding.is_empty() && deciding.iter().all(|s| is_effect(s, "Deny")) => deciding,
        Outcome::Denied => statements(case).into_iter().filter(|s| is_effect(s, "Allow")).collect(),
        Outcome::Unknown => statements(case),
    };
    let hit = relevant.into_iter().filter(|s| applies_to_create_grant(s)).find_map(|s| {
        let key = conditioned_grant_key(s)?;
        Some((key, s.get("Sid").and_then(Value::as_str).map(str::to_string)))
    })?;
    let (key, sid) = hit;
    let named = sid.map(|s| format!(" (Sid `{s}`)")).unwrap_or_default();
    Some(format!(
        "a statement{named} conditions on {key} for kms:CreateGrant, and AWS does not document the grantee, operations \
         or retiring principal of the grant EC2 creates while it copies or creates a volume: the decision is \
         unknown; condition EC2's grants on kms:GrantIsForAWSResource and kms:ViaService instead (KMS condition \
         keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html)"
    ))
}

/// The account field of an ARN.
fn arn_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

fn is_effect(s: &Value, effect: &str) -> bool {
    s.get("Effect").and_then(Value::as_str) == Some(effect)
}

/// The value at a case field named as the engine names it: `identity_policies[0]`,
/// `resource_policy`, `scps[0][1]`, `grants[2]`.
fn field<'a>(case: &'a Value, name: &str) -> Option<&'a Value> {
    let (head, rest) = name.split_once('[').map_or((name, ""), |(h, r)| (h, r));
    let mut v = case.get(head)?;
    for index in rest.split('[').filter(|s| !s.is_empty()) {
        v = v.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
    }
    Some(v)
}

/// The statement a deciding reference names.
fn statement_of<'a>(d: &Deciding, case: &'a Value) -> Option<&'a Value> {
    let policy = field(case, &d.policy)?;
    match (policy.get("Statement")?, d.statement) {
        (Value::Array(list), Some(i)) => list.get(i),
        (one @ Value::Object(_), Some(0) | None) => Some(one),
        _ => None,
    }
}

/// The grant a deciding reference names.
fn grant_of<'a>(d: &Deciding, case: &'a Value) -> Option<&'a Value> {
    d.policy.starts_with("grants[").then(|| field(case, &d.policy)).flatten()
}

/// Every statement of every policy in the case.
fn statements(case: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    collect(case, &mut out);
    out
}

fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => match m.get("Statement") {
            Some(Value::Array(list)) => out.extend(list.iter()),
            Some(one @ Value::Object(_)) => out.push(one),
            _ => m.iter().filter(|(k, _)| *k != "request" && *k != "grants").for_each(|(_, v)| collect(v, out)),
        },
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// Whether the statement's actions can cover kms:CreateGrant (a `NotAction` statement is taken to).
fn applies_to_create_grant(s: &Value) -> bool {
    if s.get("NotAction").is_some() {
        return true;
    }
    let actions: Vec<&str> = match s.get("Action") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    actions.iter().any(|a| glob(&a.to_ascii_lowercase(), "kms:creategrant"))
}

/// `*` and `?` wildcards, as IAM matches actions.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The first grant-describing condition key the statement tests.
fn conditioned_grant_key(s: &Value) -> Option<String> {
    let conditions = s.get("Condition")?.as_object()?;
    conditions.values().filter_map(Value::as_object).flat_map(|m| m.keys()).find_map(|k| {
        let lower = k.to_ascii_lowercase();
        GRANT_KEYS.contains(&lower.as_str()).then(|| k.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn actions_match_as_iam_matches_them() {
        for (p, yes) in [("kms:creategrant", true), ("kms:*", true), ("*", true), ("kms:create*", true)] {
            assert_eq!(glob(p, "kms:creategrant"), yes, "{p}");
        }
        for p in ["kms:createkey", "kms:c?eate", "ec2:*", "kms:*grants"] {
            assert!(!glob(p, "kms:creategrant"), "{p}");
        }
        assert!(glob("kms:cr?ategr*t", "kms:creategrant"));
    }
}
