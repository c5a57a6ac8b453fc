//! JSON → [`Policy`], with a JSON path on every error.

use super::{Effect, Policy, PolicyKind, PrincipalSpec, ServiceMask, Spec, Statement, Version};
use crate::condition::{Condition, Operator, ParsedValue};
use crate::error::{JsonPath, ParseError};
use crate::pattern::{Pattern, Syntax};
use crate::principal::{is_service_principal, PrincipalPattern};
use serde_json::{Map, Value};

const STATEMENT_KEYS: &str =
    "Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource or Condition";

/// Parses a policy document (an object, or a string holding one) of the given kind.
pub fn parse_policy(value: &Value, kind: PolicyKind, path: &JsonPath) -> Result<Policy, ParseError> {
    let holder;
    let value = match value {
        Value::String(text) => {
            holder = serde_json::from_str::<Value>(text).map_err(|e| ParseError {
                path: path.to_string(),
                expected: "a policy document (this string does not hold valid JSON)".into(),
                found: Some(e.to_string()),
            })?;
            &holder
        }
        v => v,
    };
    let obj = value.as_object().ok_or_else(|| {
        ParseError::new(path, "a policy document (a JSON object, or a string holding one)", Some(value))
    })?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(ParseError::new(
                &path.key(key),
                "no such element: a policy has Version, Id and Statement",
                None,
            ));
        }
    }
    let version = match obj.get("Version") {
        None => Version::V2008,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008,
        Some(v) => return Err(ParseError::new(&path.key("Version"), "`2012-10-17` or `2008-10-17`", Some(v))),
    };
    let id = match obj.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str().into()),
        Some(v) => return Err(ParseError::new(&path.key("Id"), "a string", Some(v))),
    };
    let spath = path.key("Statement");
    let statements = match obj.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s, i, kind, version, &spath.index(i)))
            .collect::<Result<Vec<_>, _>>()?,
        Some(v @ Value::Object(_)) => vec![parse_statement(v, 0, kind, version, &spath)?],
        Some(v) => return Err(ParseError::new(&spath, "a statement object or an array of statements", Some(v))),
        None => return Err(ParseError::missing(&spath, "a statement object or an array of statements")),
    };
    Ok(Policy { version, id, statements, kind })
}

fn parse_statement(
    value: &Value,
    index: usize,
    kind: PolicyKind,
    version: Version,
    path: &JsonPath,
) -> Result<Statement, ParseError> {
    let obj = value.as_object().ok_or_else(|| ParseError::new(path, "a statement (a JSON object)", Some(value)))?;
    for key in obj.keys() {
        let known = matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        );
        if !known {
            return Err(ParseError::new(
                &path.key(key),
                format!("no such element: a statement has {STATEMENT_KEYS}"),
                None,
            ));
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str().into()),
        Some(v) => return Err(ParseError::new(&path.key("Sid"), "a string", Some(v))),
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(v) => return Err(ParseError::new(&path.key("Effect"), "`Allow` or `Deny`", Some(v))),
        None => return Err(ParseError::missing(&path.key("Effect"), "`Allow` or `Deny`")),
    };
    let action_syntax = Syntax { wildcards: true, variables: false, case_insensitive: true };
    let action = pair(obj, path, "Action", "NotAction", action_syntax)?;
    let action = match action {
        Spec::Any => return Err(ParseError::missing(&path.key("Action"), "`Action` or `NotAction`")),
        a => a,
    };
    let resource_syntax = Syntax { wildcards: true, variables: version == Version::V2012, case_insensitive: false };
    let resource = pair(obj, path, "Resource", "NotResource", resource_syntax)?;
    let identity_like = matches!(kind, PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session);
    if identity_like && resource == Spec::Any {
        return Err(ParseError::missing(&path.key("Resource"), "`Resource` or `NotResource`"));
    }
    let principal = parse_principal_spec(obj, path, kind)?;
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(v) => parse_conditions(v, version, &path.key("Condition"))?,
    };
    let services = ServiceMask::of_action(&action);
    Ok(Statement { sid, index, effect, principal, action, resource, conditions, services })
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: at most one of the pair.
fn pair(obj: &Map<String, Value>, path: &JsonPath, yes: &str, not: &str, syntax: Syntax) -> Result<Spec, ParseError> {
    match (obj.get(yes), obj.get(not)) {
        (Some(_), Some(_)) => {
            Err(ParseError::new(&path.key(not), format!("either `{yes}` or `{not}` in a statement, not both"), None))
        }
        (Some(v), None) => Ok(Spec::Only(patterns(v, &path.key(yes), syntax)?)),
        (None, Some(v)) => Ok(Spec::Not(patterns(v, &path.key(not), syntax)?)),
        (None, None) => Ok(Spec::Any),
    }
}

fn patterns(value: &Value, path: &JsonPath, syntax: Syntax) -> Result<Vec<Pattern>, ParseError> {
    strings(value, path)?.into_iter().map(|(s, _)| Ok(Pattern::new(s, syntax))).collect()
}

/// A string or a non-empty array of strings, each with its path.
fn strings<'a>(value: &'a Value, path: &JsonPath) -> Result<Vec<(&'a str, JsonPath)>, ParseError> {
    const EXPECTED: &str = "a string or an array of strings";
    match value {
        Value::String(s) => Ok(vec![(s.as_str(), path.clone())]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok((s.as_str(), path.index(i))),
                other => Err(ParseError::new(&path.index(i), "a string", Some(other))),
            })
            .collect(),
        other => Err(ParseError::new(path, EXPECTED, Some(other))),
    }
}

fn parse_principal_spec(
    obj: &Map<String, Value>,
    path: &JsonPath,
    kind: PolicyKind,
) -> Result<PrincipalSpec, ParseError> {
    let given = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(ParseError::new(
                &path.key("NotPrincipal"),
                "either `Principal` or `NotPrincipal`, not both",
                None,
            ))
        }
        (Some(v), None) => Some(("Principal", v)),
        (None, Some(v)) => Some(("NotPrincipal", v)),
        (None, None) => None,
    };
    let principal_forbidden =
        matches!(kind, PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session | PolicyKind::Scp);
    match given {
        Some((name, _)) if principal_forbidden => Err(ParseError::new(
            &path.key(name),
            "no `Principal` in an identity-based policy, permissions boundary, session policy or SCP (the principal is whoever the policy is attached to)",
            None,
        )),
        None if kind == PolicyKind::Resource => Err(ParseError::missing(
            &path.key("Principal"),
            "`Principal` or `NotPrincipal` in a resource-based policy",
        )),
        None => Ok(PrincipalSpec::Absent),
        Some((name, v)) => {
            let list = parse_principals(v, &path.key(name))?;
            Ok(if name == "Principal" { PrincipalSpec::Principal(list) } else { PrincipalSpec::NotPrincipal(list) })
        }
    }
}

fn parse_principals(value: &Value, path: &JsonPath) -> Result<Vec<PrincipalPattern>, ParseError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![PrincipalPattern::Everyone]),
        Value::Object(map) if !map.is_empty() => {
            let mut out = Vec::new();
            for (kind, entries) in map {
                let kpath = path.key(kind);
                for (text, epath) in strings(entries, &kpath)? {
                    out.push(match kind.as_str() {
                        "AWS" => PrincipalPattern::parse_aws(text)
                            .map_err(|e| ParseError::new(&epath, e, Some(&Value::String(text.into()))))?,
                        "Service" if text == "*" => PrincipalPattern::Everyone,
                        "Service" if is_service_principal(text) => PrincipalPattern::Service(text.into()),
                        "Service" => {
                            return Err(ParseError::new(
                                &epath,
                                "a service principal such as `ec2.amazonaws.com`",
                                Some(&Value::String(text.into())),
                            ))
                        }
                        "Federated" | "CanonicalUser" => PrincipalPattern::Other(text.into()),
                        _ => {
                            return Err(ParseError::new(
                                &kpath,
                                "a principal type: `AWS`, `Service`, `Federated` or `CanonicalUser`",
                                None,
                            ))
                        }
                    });
                }
            }
            Ok(out)
        }
        other => Err(ParseError::new(
            path,
            "`\"*\"` or an object such as `{\"AWS\": \"arn:aws:iam::111122223333:root\"}`",
            Some(other),
        )),
    }
}

fn parse_conditions(value: &Value, version: Version, path: &JsonPath) -> Result<Vec<Condition>, ParseError> {
    let ops = value.as_object().ok_or_else(|| {
        ParseError::new(path, "an object of condition operators, such as `{\"StringEquals\": {…}}`", Some(value))
    })?;
    let mut out = Vec::new();
    for (op_name, block) in ops {
        let opath = path.key(op_name);
        let operator = Operator::parse(op_name).ok_or_else(|| {
            ParseError::new(&opath, "a condition operator (StringEquals, StringLike, ArnLike, Bool, NumericLessThan, IpAddress, Null, …, optionally with `ForAnyValue:`/`ForAllValues:` or `IfExists`)", None)
        })?;
        let keys = block
            .as_object()
            .ok_or_else(|| ParseError::new(&opath, "an object of condition keys and values", Some(block)))?;
        if keys.is_empty() {
            return Err(ParseError::new(&opath, "at least one condition key", Some(block)));
        }
        for (key, raw) in keys {
            let kpath = opath.key(key);
            let values = condition_values(raw, &kpath)?;
            let condition = Condition::new(op_name, operator, key, &values, version == Version::V2012).map_err(
                |(i, expected)| {
                    let vpath = if raw.is_array() { kpath.index(i) } else { kpath.clone() };
                    ParseError::new(&vpath, expected, Some(&Value::String(values[i].0.clone())))
                },
            )?;
            out.push(condition);
        }
    }
    Ok(out)
}

/// Condition values: a string, number or boolean, or a non-empty array of them.
fn condition_values(raw: &Value, path: &JsonPath) -> Result<Vec<ParsedValue>, ParseError> {
    let scalar = |v: &Value, p: &JsonPath| match v {
        Value::String(s) => Ok(ParsedValue(s.clone())),
        Value::Bool(b) => Ok(ParsedValue(b.to_string())),
        Value::Number(n) => Ok(ParsedValue(n.to_string())),
        other => Err(ParseError::new(p, "a string, number or boolean", Some(other))),
    };
    match raw {
        Value::Array(items) if !items.is_empty() => {
            items.iter().enumerate().map(|(i, v)| scalar(v, &path.index(i))).collect()
        }
        Value::Array(_) => Err(ParseError::new(path, "at least one value", Some(raw))),
        v => Ok(vec![scalar(v, path)?]),
    }
}
