//! The order keys are written in: the order AWS documentation writes policies in (`Version`,
//! `Statement`; `Sid`, `Effect`, `Principal`, `Action`, `Resource`, `Condition`), CloudFormation
//! templates in, and the case format's grant fields, then alphabetical. `serde_json::Value` keeps
//! objects sorted alphabetically, which would put `Sid` last; the generator's JSON and YAML and the
//! preflight's reports go through [`entries`] instead.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

const RANK: [&str; 30] = [
    "AWSTemplateFormatVersion",
    "Description",
    "KeyPolicy",
    "Resources",
    "Type",
    "Properties",
    "RoleName",
    "PolicyName",
    "Roles",
    "AssumeRolePolicyDocument",
    "Policies",
    "PolicyDocument",
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "grant_id",
    "grantee_principal",
    "operations",
    "constraints",
    "retiring_principal",
    "issuing_account",
];

/// The entries of `map` in writing order.
pub fn entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = map.iter().collect();
    v.sort_by_key(|(k, _)| (RANK.iter().position(|r| r == k).unwrap_or(RANK.len()), k.as_str()));
    v
}

/// A value that serializes its objects in writing order.
pub struct Ordered<'a>(pub &'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in entries(map) {
                    m.serialize_entry(k, &Ordered(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Ordered(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Pretty JSON (two-space indentation) in writing order.
pub fn pretty(v: &Value) -> String {
    // Serializing a `Value` cannot fail.
    serde_json::to_string_pretty(&Ordered(v)).unwrap_or_default()
}

/// `serialize_with` for an `Option<Value>` field.
pub fn option<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().map(Ordered).serialize(s)
}

/// `serialize_with` for a `Vec<Value>` field.
pub fn list<S: Serializer>(v: &[Value], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for item in v {
        seq.serialize_element(&Ordered(item))?;
    }
    seq.end()
}
