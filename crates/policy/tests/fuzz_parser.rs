//! Robustness, part 1: the case and policy parsers never panic or hang on arbitrary and mutated JSON.
//!
//! ```console
//! $ cargo test -p custody-policy --test fuzz_parser
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod robustness_support;

use robustness_support::*;

// ---------------------------------------------------------------------------------------------
// 1. The parser never panics
// ---------------------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "Version",
    "Id",
    "Sid",
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "CanonicalUser",
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "StringNotLikeIfExists",
    "ForAllValues:StringLikeIfExists",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringNotEquals",
    "NumericLessThan",
    "NumericEquals",
    "NumericGreaterThanEqualsIfExists",
    "DateGreaterThan",
    "DateLessThanEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnLike",
    "ArnNotEquals",
    "Null",
    "Bool",
    "BinaryEquals",
    "ForAnyValue:Null",
    "StringEqualz",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:username",
    "kms:ViaService",
    "kms:EncryptionContext:k",
    "request",
    "principal",
    "action",
    "resource",
    "resource_account",
    "context",
    "grant_id",
    "grants",
    "grantee_principal",
    "operations",
    "constraints",
    "encryption_context_subset",
    "encryption_context_equals",
    "retiring_principal",
    "issuing_account",
    "identity_policies",
    "permissions_boundary",
    "session_policy",
    "scps",
    "rcps",
    "resource_policy",
    "vpc_endpoint_policy",
];

const STRINGS: &[&str] = &[
    "2012-10-17",
    "2008-10-17",
    "Allow",
    "Deny",
    "*",
    "?",
    "kms:Decrypt",
    "kms:*",
    "s3:Get*",
    "RetireGrant",
    "kms:RetireGrant",
    "Decrypt",
    "CreateGrant",
    "arn:aws:iam::111111111111:root",
    "arn:aws:iam::111111111111:user/alice",
    "arn:aws:iam::111111111111:role/R",
    "arn:aws:iam::111111111111:role/aws-service-role/x.amazonaws.com/R",
    "arn:aws:sts::111111111111:assumed-role/R/s",
    "arn:aws:sts::111111111111:federated-user/f",
    "ec2.amazonaws.com",
    "anonymous",
    "111111111111",
    "222222222222",
    "arn:aws:kms:eu-west-3:222222222222:key/k",
    "arn:aws:s3:::b/*",
    "arn:aws:*:*:*:*",
    "${aws:username}",
    "${aws:PrincipalTag/x, 'd'}",
    "${",
    "${*}",
    "${k, '}",
    "10.0.0.0/8",
    "::/0",
    "10.0.0.0/33",
    "2026-01-31T12:00:00Z",
    "99999-01-01",
    "1e400",
    "-0",
    "1.5",
    "true",
    "false",
    "AAEC",
    "A===",
    "",
    "é",
    "\u{0}",
    "\u{fffd}",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        4 => select(STRINGS).prop_map(Value::from),
        2 => "\\PC{0,12}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![6 => select(KEYS).prop_map(str::to_string), 1 => "\\PC{0,8}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every node of `v`, in preorder, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

/// The template with a few nodes replaced by arbitrary values: reaches deep into the parser and,
/// since most mutations leave the case valid, into the evaluator.
fn mutated_case() -> impl Strategy<Value = Value> {
    let base = template();
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    prop::collection::vec((select(all), json_value()), 1..4).prop_map(move |edits| {
        let mut case = base.clone();
        for (pointer, v) in edits {
            if case.pointer(&pointer).is_some() {
                set(&mut case, &pointer, v);
            }
        }
        case
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_case_never_panics_on_arbitrary_json(v in json_value()) {
        let _ = run_value(&v);
        // The same value in the places a case holds policies.
        let _ = run_value(&identity_case("kms:Decrypt", "*", json!({}), v.clone()));
        let _ = run_value(&json!({"request": {"principal": ALICE, "action": "s3:GetObject", "resource": "*"}, "request2": v}));
    }

    #[test]
    fn parse_policy_never_panics_for_any_kind(v in json_value()) {
        let as_string = Value::String(v.to_string());
        for kind in ALL_KINDS {
            let _ = parse_policy(&v, kind, &JsonPath::root("p"));
            let _ = parse_policy(&as_string, kind, &JsonPath::root("p"));
        }
    }

    #[test]
    fn mutated_cases_never_panic(case in mutated_case()) {
        let _ = run_value(&case);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = run(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn bytes_spliced_into_a_valid_case_never_panic(
        at in any::<prop::sample::Index>(),
        cut in 0usize..8,
        bytes in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        let text = template().to_string().into_bytes();
        let i = at.index(text.len());
        let mut spliced = text[..i].to_vec();
        spliced.extend_from_slice(&bytes);
        spliced.extend_from_slice(&text[(i + cut).min(text.len())..]);
        let _ = run(&String::from_utf8_lossy(&spliced));
    }
}

#[test]
fn the_template_is_valid() {
    let e = decision(&template());
    assert_eq!(e.decision, "allowed", "{}", e.summary);
}
