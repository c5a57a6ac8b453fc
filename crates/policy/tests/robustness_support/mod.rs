//! Shared helpers of the robustness tests (fuzz_parser, matcher_oracle, hostile_inputs, differential).
#![allow(dead_code, unused_imports, reason = "test support: each test crate uses a part of it")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

pub use custody_policy::error::JsonPath;
pub use custody_policy::pattern::{MatchResult, Pattern, Syntax};
pub use custody_policy::variables::NoVars;
pub use custody_policy::{evaluate, explain, parse_case, parse_policy, Explanation, PolicyKind};
pub use proptest::prelude::*;
pub use proptest::sample::select;
pub use serde_json::{json, Value};
pub use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

pub const ALL_KINDS: [PolicyKind; 7] = [
    PolicyKind::Identity,
    PolicyKind::Boundary,
    PolicyKind::Session,
    PolicyKind::Scp,
    PolicyKind::Rcp,
    PolicyKind::Resource,
    PolicyKind::VpcEndpoint,
];

/// Parses, and when that succeeds evaluates and explains (and serializes the explanation, as the CLI
/// does). Returns the explanation or the error message.
pub fn run(text: &str) -> Result<Explanation, String> {
    let case = parse_case(text).map_err(|e| e.to_string())?;
    let decision = evaluate(&case);
    let explanation = explain(&case, &decision);
    serde_json::to_string(&explanation).expect("an explanation always serializes");
    Ok(explanation)
}

pub fn run_value(case: &Value) -> Result<Explanation, String> {
    run(&case.to_string())
}

pub fn expect_err(case: &str, path: &str) -> String {
    match run(case) {
        Ok(e) => panic!("expected an error at `{path}`, got the decision {} ({})", e.decision, e.summary),
        Err(msg) => {
            assert!(msg.contains(path), "the error should name `{path}`: {msg}");
            msg
        }
    }
}

pub fn expect_err_value(case: &Value, path: &str) -> String {
    expect_err(&case.to_string(), path)
}

pub fn decision(case: &Value) -> Explanation {
    run_value(case).unwrap_or_else(|e| panic!("the case should parse: {e}"))
}

pub fn refs(list: &[custody_policy::StatementRef]) -> BTreeSet<String> {
    list.iter().map(|r| format!("{}#{}", r.policy, r.statement.map_or("-".into(), |s| s.to_string()))).collect()
}

pub const ALICE: &str = "arn:aws:iam::111111111111:user/alice";

/// A request by alice with `policy` as her only identity policy.
pub fn identity_case(action: &str, resource: &str, context: Value, policy: Value) -> Value {
    json!({
        "request": {"principal": ALICE, "action": action, "resource": resource, "context": context},
        "identity_policies": [policy],
    })
}

/// One identity policy with one Allow statement on everything, under `condition`.
pub fn allow_all_if(condition: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    ]})
}

/// A valid case touching every part of the format: the base for mutations and wrong-type tests.
pub fn template() -> Value {
    json!({
        "request": {
            "principal": "arn:aws:sts::111111111111:assumed-role/CustodyResponse/incident-42",
            "action": "kms:Decrypt",
            "resource": "arn:aws:kms:eu-west-3:222222222222:key/1111aaaa-2222-3333-4444-555566667777",
            "resource_account": "222222222222",
            "context": {"kms:ViaService": "ec2.eu-west-3.amazonaws.com", "aws:SourceIp": "203.0.113.7",
                        "kms:EncryptionContext:aws:ebs:id": "snap-0abc", "tags": ["a", "b"],
                        "aws:CurrentTime": "2026-01-31T12:00:00Z", "n": 5, "flag": true},
            "grant_id": "g-1"
        },
        "identity_policies": [
            {"Version": "2012-10-17", "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Re*"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:username": ["alice", "bob"]},
                               "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
                {"Effect": "Deny", "NotAction": "kms:*", "NotResource": "arn:aws:kms:*:*:key/*",
                 "Condition": {"ForAnyValue:StringLike": {"tags": "z*"}, "NumericLessThan": {"n": 3},
                               "DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                               "Bool": {"flag": "false"}, "Null": {"missing": "true"},
                               "ArnLike": {"aws:SourceArn": "arn:aws:s3:::b*"},
                               "BinaryEquals": {"bin": "AAEC"}}}
            ]}
        ],
        "permissions_boundary": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
        "session_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]},
        "scps": [[{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
                 [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]],
        "rcps": [[{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}]],
        "resource_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "222222222222"]},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}
        ]},
        "vpc_endpoint_policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]},
        "grants": [{"grant_id": "g-1",
                    "grantee_principal": "arn:aws:iam::111111111111:role/CustodyResponse",
                    "operations": ["Decrypt", "CreateGrant"],
                    "constraints": {"encryption_context_subset": {"aws:ebs:id": "snap-0abc"}},
                    "retiring_principal": "arn:aws:iam::111111111111:role/CustodyResponse",
                    "issuing_account": "222222222222"}]
    })
}

/// Sets the value at a JSON pointer (`/identity_policies/0/Statement/1/Effect`), creating the last key.
pub fn set(doc: &mut Value, pointer: &str, v: Value) {
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
    let target = doc.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent} in the template"));
    match target {
        Value::Object(map) => {
            map.insert(last.replace("~1", "/").replace("~0", "~"), v);
        }
        Value::Array(items) => items[last.parse::<usize>().expect("an index")] = v,
        other => panic!("{parent} is {other}"),
    }
}

/// The engine's verdict on a wildcard pattern without variables.
pub fn engine_matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p = Pattern::new(pattern, Syntax { wildcards: true, variables: false, case_insensitive });
    match p.matches(text, &NoVars) {
        MatchResult::Match => true,
        MatchResult::NoMatch => false,
        MatchResult::Unresolved => panic!("no variables, nothing unresolved"),
    }
}
