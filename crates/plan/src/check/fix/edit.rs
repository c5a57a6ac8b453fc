//! Editing a working case: the policy JSON a fix changes, re-parsed into the case so that the fix can
//! be re-evaluated. Only the policy that changes is parsed again.

use crate::check::build::Working;
use custody_policy::condition::Family;
use custody_policy::error::JsonPath;
use custody_policy::{parse_policy, Case, PolicyKind, PolicyRef};
use serde_json::{json, Map, Value};

/// A policy field of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `identity_policies[i]`; `i == len` adds a policy.
    Identity(usize),
    Boundary,
    /// `scps[level][i]`; `i == len` adds a policy at that level.
    Scp(usize, usize),
    Resource,
    /// `grants[i]`; `i == len` adds a grant.
    Grant(usize),
}

impl Slot {
    /// The slot a statement reference points into (RCPs, session and endpoint policies are not edited).
    pub fn of(at: PolicyRef) -> Option<Slot> {
        match at {
            PolicyRef::Identity(i) => Some(Slot::Identity(i)),
            PolicyRef::Boundary => Some(Slot::Boundary),
            PolicyRef::Scp(l, i) => Some(Slot::Scp(l, i)),
            PolicyRef::Resource => Some(Slot::Resource),
            PolicyRef::Grant(i) => Some(Slot::Grant(i)),
            PolicyRef::Rcp(..) | PolicyRef::Session | PolicyRef::VpcEndpoint => None,
        }
    }

    /// The slot a case field's name ([`Slot::label`]) names.
    pub fn from_label(label: &str) -> Option<Slot> {
        let index = |s: &str| s.strip_suffix(']')?.parse::<usize>().ok();
        match label {
            "permissions_boundary" => Some(Slot::Boundary),
            "resource_policy" => Some(Slot::Resource),
            _ => {
                if let Some(rest) = label.strip_prefix("identity_policies[") {
                    index(rest).map(Slot::Identity)
                } else if let Some(rest) = label.strip_prefix("grants[") {
                    index(rest).map(Slot::Grant)
                } else {
                    let (level, i) = label.strip_prefix("scps[")?.split_once("][")?;
                    Some(Slot::Scp(level.parse().ok()?, index(i)?))
                }
            }
        }
    }

    /// The case field's name.
    pub fn label(self) -> String {
        match self {
            Slot::Identity(i) => format!("identity_policies[{i}]"),
            Slot::Boundary => "permissions_boundary".into(),
            Slot::Scp(l, i) => format!("scps[{l}][{i}]"),
            Slot::Resource => "resource_policy".into(),
            Slot::Grant(i) => format!("grants[{i}]"),
        }
    }
}

/// The JSON in a slot, when there is one.
pub(crate) fn slot_value(w: &Working, slot: Slot) -> Option<&Value> {
    match slot {
        Slot::Identity(i) => w.slots.identity.get(i),
        Slot::Boundary => w.slots.boundary.as_ref(),
        Slot::Scp(l, i) => w.slots.scps.as_ref()?.get(l)?.get(i),
        Slot::Resource => w.slots.resource.as_ref(),
        Slot::Grant(i) => w.slots.grants.get(i),
    }
}

/// Puts `value` into `slot` (replacing, or adding at the end) and re-parses it into the case.
pub(crate) fn set_slot(w: &mut Working, slot: Slot, value: Value) -> Result<(), String> {
    let path = JsonPath::root(&slot.label());
    let parse = |kind: PolicyKind| parse_policy(&value, kind, &path).map_err(|e| e.to_string());
    fn put<T>(list: &mut Vec<T>, i: usize, item: T) {
        match list.get_mut(i) {
            Some(slot) => *slot = item,
            None => list.push(item),
        }
    }
    match slot {
        Slot::Identity(i) => {
            let p = parse(PolicyKind::Identity)?;
            put(&mut w.case.identity_policies, i, p);
            put(&mut w.slots.identity, i, value);
        }
        Slot::Boundary => {
            w.case.permissions_boundary = Some(parse(PolicyKind::Boundary)?);
            w.slots.boundary = Some(value);
        }
        Slot::Scp(l, i) => {
            let p = parse(PolicyKind::Scp)?;
            let levels = w.case.scps.as_mut().ok_or("no SCPs")?;
            put(levels.get_mut(l).ok_or("no such SCP level")?, i, p);
            let json_levels = w.slots.scps.as_mut().ok_or("no SCPs")?;
            put(json_levels.get_mut(l).ok_or("no such SCP level")?, i, value);
        }
        Slot::Resource => {
            w.case.resource_policy = Some(parse(PolicyKind::Resource)?);
            w.slots.resource = Some(value);
        }
        Slot::Grant(i) => {
            let g = parse_grant(&w.case, &value)?;
            put(&mut w.case.grants, i, g);
            put(&mut w.slots.grants, i, value);
        }
    }
    Ok(())
}

/// Parses a grant the way the case format does (its issuing account defaults to the key's).
fn parse_grant(case: &Case, grant: &Value) -> Result<custody_policy::kms::Grant, String> {
    let req = &case.request;
    let mini = json!({
        "request": {"principal": &*req.principal, "action": &*req.action, "resource": &*req.resource,
                    "resource_account": req.resource_account.as_deref()},
        "grants": [grant],
    });
    let mut parsed = Case::from_json(&mini).map_err(|e| e.to_string())?;
    parsed.grants.pop().ok_or_else(|| "no grant".to_string())
}

/// A policy document as an object (IAM returns some as strings holding JSON).
pub(crate) fn document(value: &Value) -> Option<Map<String, Value>> {
    match value {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?.as_object().cloned(),
        Value::Object(m) => Some(m.clone()),
        _ => None,
    }
}

/// A document's statements as a list (`Statement` may be one object).
pub(crate) fn statements(doc: &Map<String, Value>) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// The JSON of statement `index` of the policy in `slot`.
pub(crate) fn statement_json(w: &Working, slot: Slot, index: usize) -> Option<Value> {
    statements(&document(slot_value(w, slot)?)?).get(index).cloned()
}

/// The document in `slot` with statement `index` replaced (`Some`) or removed (`None`).
pub(crate) fn with_statement(w: &Working, slot: Slot, index: usize, stmt: Option<Value>) -> Option<Value> {
    let mut doc = document(slot_value(w, slot)?)?;
    let mut list = statements(&doc);
    match stmt {
        Some(s) => *list.get_mut(index)? = s,
        None if index < list.len() => {
            list.remove(index);
        }
        None => return None,
    }
    doc.insert("Statement".into(), Value::Array(list));
    Some(Value::Object(doc))
}

/// The document in `slot` with `stmts` appended (a new document when the slot is empty).
pub(crate) fn with_added(w: &Working, slot: Slot, stmts: &[Value]) -> Value {
    let mut doc = slot_value(w, slot)
        .and_then(document)
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}).as_object().cloned().unwrap_or_default());
    let mut list = statements(&doc);
    list.extend(stmts.iter().cloned());
    doc.insert("Statement".into(), Value::Array(list));
    Value::Object(doc)
}

/// A new one-statement identity policy document.
pub(crate) fn new_document(stmts: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": stmts})
}

/// Whether a condition can be corrected by adding the request's values to it: positive string and
/// ARN comparisons. Booleans, numbers, dates, IP ranges and negated operators express a deliberate
/// restriction (`kms:GrantIsForAWSResource` in seed option 2) that a fix should not loosen.
pub(crate) fn extendable(family: Family, negated: bool) -> bool {
    !negated && matches!(family, Family::String | Family::StringIgnoreCase | Family::StringLike | Family::Arn)
}

/// The statement with `values` added to `Condition[operator][key]`; returns the new statement and the
/// values before and after.
pub(crate) fn extend_condition(
    stmt: &Value,
    operator: &str,
    key: &str,
    values: &[String],
) -> Option<(Value, Vec<String>, Vec<String>)> {
    let mut stmt = stmt.clone();
    let slot = stmt.get_mut("Condition")?.get_mut(operator)?.get_mut(key)?;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut now: Vec<Value> = match &*slot {
        Value::Array(a) => a.clone(),
        v => vec![v.clone()],
    };
    let was: Vec<String> = now.iter().map(text).collect();
    for v in values {
        if !was.contains(v) && !now.iter().any(|x| text(x) == *v) {
            now.push(Value::String(v.clone()));
        }
    }
    if now.len() == was.len() {
        return None;
    }
    let now_text = now.iter().map(text).collect();
    *slot = Value::Array(now);
    Some((stmt, was, now_text))
}

/// An action pattern of the statement that names a whole service or everything (`*`, `kms:*`), or
/// `NotAction`: adding a principal to such a statement gives it far more than one request needs.
pub(crate) fn wildcard_action(stmt: &Value) -> Option<String> {
    if stmt.get("NotAction").is_some() {
        return Some("everything but its NotAction".into());
    }
    let actions = match stmt.get("Action")? {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
        Value::String(a) => vec![a.as_str()],
        _ => Vec::new(),
    };
    actions.into_iter().find(|a| *a == "*" || a.ends_with(":*")).map(str::to_string)
}

/// The statement with `arn` added to its `Principal.AWS` (not for `NotPrincipal` or `"*"`).
pub(crate) fn add_principal(stmt: &Value, arn: &str) -> Option<Value> {
    let mut stmt = stmt.clone();
    let principal = stmt.get_mut("Principal")?.as_object_mut()?;
    match principal.get_mut("AWS") {
        Some(Value::Array(list)) => list.push(Value::String(arn.into())),
        Some(v @ Value::String(_)) => {
            let old = v.clone();
            *v = json!([old, arn]);
        }
        Some(_) => return None,
        None => {
            principal.insert("AWS".into(), Value::String(arn.into()));
        }
    }
    Some(stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_extended_with_the_missing_value_only() {
        let stmt = json!({"Effect": "Allow", "Condition": {"StringEquals": {"kms:ViaService": "ec2.eu-west-3.amazonaws.com"}}});
        let (new, was, now) =
            extend_condition(&stmt, "StringEquals", "kms:ViaService", &["ec2.eu-west-1.amazonaws.com".into()])
                .expect("extended");
        assert_eq!(was, ["ec2.eu-west-3.amazonaws.com"]);
        assert_eq!(now, ["ec2.eu-west-3.amazonaws.com", "ec2.eu-west-1.amazonaws.com"]);
        assert_eq!(
            new["Condition"]["StringEquals"]["kms:ViaService"],
            json!(["ec2.eu-west-3.amazonaws.com", "ec2.eu-west-1.amazonaws.com"])
        );
        assert!(extend_condition(&stmt, "StringEquals", "kms:ViaService", &["ec2.eu-west-3.amazonaws.com".into()])
            .is_none());
    }

    #[test]
    fn service_wide_actions_are_recognised() {
        assert_eq!(wildcard_action(&json!({"Action": "kms:*"})).as_deref(), Some("kms:*"));
        assert_eq!(wildcard_action(&json!({"Action": ["kms:Decrypt", "*"]})).as_deref(), Some("*"));
        assert!(wildcard_action(&json!({"Action": ["kms:Decrypt", "kms:ReEncrypt*"]})).is_none());
    }

    #[test]
    fn a_principal_is_added_beside_the_named_ones() {
        let r = "arn:aws:iam::1:role/R";
        let one = json!({"Principal": {"AWS": "arn:aws:iam::1:role/Other"}});
        assert_eq!(add_principal(&one, r).expect("added")["Principal"]["AWS"], json!(["arn:aws:iam::1:role/Other", r]));
        assert!(add_principal(&json!({"Principal": "*"}), r).is_none());
    }
}
