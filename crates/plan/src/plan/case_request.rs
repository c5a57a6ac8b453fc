//! The `request` object of an authorization case (docs/authz-case-format.md): what the engine is
//! asked, in the one form every case custody writes uses (`custody plan --json`, the preflight's
//! cases, the report's reproductions).

use super::ContextEntry;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An authorization request as the case format writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRequest {
    pub principal: String,
    pub action: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// `None` leaves the key out; `Some` of an empty map writes `"context": {}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

impl CaseRequest {
    /// As a JSON value (a request is strings, lists and maps keyed by strings: it always converts).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A context value as the case format writes it: a string, or a list of strings.
pub(crate) fn context_value(entry: &ContextEntry) -> Value {
    match entry {
        ContextEntry::Single(s) => Value::String(s.clone()),
        ContextEntry::Multi(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
    }
}

/// The context entries of a planned request, as the case format writes them.
pub(crate) fn context_map(context: &BTreeMap<String, ContextEntry>) -> Map<String, Value> {
    context.iter().map(|(k, v)| (k.clone(), context_value(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_fields_are_left_out_and_an_empty_context_is_kept_when_asked() {
        let mut r = CaseRequest {
            principal: "arn:aws:iam::111111111111:role/r".into(),
            action: "kms:Decrypt".into(),
            resource: "*".into(),
            resource_account: None,
            context: None,
            grant_id: None,
        };
        assert_eq!(
            r.to_json(),
            json!({"principal": "arn:aws:iam::111111111111:role/r", "action": "kms:Decrypt", "resource": "*"})
        );
        r.context = Some(Map::new());
        r.grant_id = Some("g-1".into());
        assert_eq!(r.to_json()["context"], json!({}));
        assert_eq!(r.to_json()["grant_id"], "g-1");
    }
}
