//! Robustness: the parser and the evaluator never panic or hang whatever the input, the wildcard
//! matcher agrees with a regex oracle, ArnLike matches component by component, hostile inputs are
//! refused with an error naming the right JSON path, and the evaluator agrees with a tiny independent
//! model on identity-policy-only cases.
//!
//! ```console
//! $ cargo test -p custody-policy --test robustness
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use custody_policy::error::JsonPath;
use custody_policy::pattern::{MatchResult, Pattern, Syntax};
use custody_policy::variables::NoVars;
use custody_policy::{evaluate, explain, parse_case, parse_policy, Explanation, PolicyKind};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ALL_KINDS: [PolicyKind; 7] = [
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
fn run(text: &str) -> Result<Explanation, String> {
    let case = parse_case(text).map_err(|e| e.to_string())?;
    let decision = evaluate(&case);
    let explanation = explain(&case, &decision);
    serde_json::to_string(&explanation).expect("an explanation always serializes");
    Ok(explanation)
}

fn run_value(case: &Value) -> Result<Explanation, String> {
    run(&case.to_string())
}

fn expect_err(case: &str, path: &str) -> String {
    match run(case) {
        Ok(e) => panic!("expected an error at `{path}`, got the decision {} ({})", e.decision, e.summary),
        Err(msg) => {
            assert!(msg.contains(path), "the error should name `{path}`: {msg}");
            msg
        }
    }
}

fn expect_err_value(case: &Value, path: &str) -> String {
    expect_err(&case.to_string(), path)
}

fn decision(case: &Value) -> Explanation {
    run_value(case).unwrap_or_else(|e| panic!("the case should parse: {e}"))
}

fn refs(list: &[custody_policy::StatementRef]) -> BTreeSet<String> {
    list.iter().map(|r| format!("{}#{}", r.policy, r.statement.map_or("-".into(), |s| s.to_string()))).collect()
}

const ALICE: &str = "arn:aws:iam::111111111111:user/alice";

/// A request by alice with `policy` as her only identity policy.
fn identity_case(action: &str, resource: &str, context: Value, policy: Value) -> Value {
    json!({
        "request": {"principal": ALICE, "action": action, "resource": resource, "context": context},
        "identity_policies": [policy],
    })
}

/// One identity policy with one Allow statement on everything, under `condition`.
fn allow_all_if(condition: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    ]})
}

/// A valid case touching every part of the format: the base for mutations and wrong-type tests.
fn template() -> Value {
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
fn set(doc: &mut Value, pointer: &str, v: Value) {
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

// ---------------------------------------------------------------------------------------------
// 2. Wildcard matching against a regex oracle
// ---------------------------------------------------------------------------------------------

const PATTERN_CHARS: &[char] = &['a', 'b', 'A', 'B', ':', '/', 'é', 'É', '*', '?', '.'];
const TEXT_CHARS: &[char] = &['a', 'b', 'A', 'B', ':', '/', 'é', 'É', '*', '?', '.', '\n'];

/// `*` → `.*`, `?` → `.`, everything else literal; anchored; `(?s)` so wildcards cross newlines.
/// Case-insensitivity is handled by the caller (ASCII only, as the engine).
fn oracle(pattern: &str) -> regex::Regex {
    let mut re = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("the oracle regex compiles")
}

fn oracle_matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        oracle(&pattern.to_ascii_lowercase()).is_match(&text.to_ascii_lowercase())
    } else {
        oracle(pattern).is_match(text)
    }
}

fn engine_matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p = Pattern::new(pattern, Syntax { wildcards: true, variables: false, case_insensitive });
    match p.matches(text, &NoVars) {
        MatchResult::Match => true,
        MatchResult::NoMatch => false,
        MatchResult::Unresolved => panic!("no variables, nothing unresolved"),
    }
}

fn chars_string(chars: &'static [char], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(chars), 0..max).prop_map(|v| v.into_iter().collect())
}

/// A text the pattern matches: each `*` replaced by 0–3 characters, each `?` by one, ASCII letters
/// flipped in case when `flip` says so (only used case-insensitively).
fn derived_text() -> impl Strategy<Value = (String, String, bool)> {
    (chars_string(PATTERN_CHARS, 10), any::<bool>()).prop_flat_map(|(pattern, ci)| {
        let n = pattern.chars().count();
        let fills = prop::collection::vec(chars_string(TEXT_CHARS, 4), n);
        let flips = prop::collection::vec(any::<bool>(), n);
        (Just(pattern), Just(ci), fills, flips).prop_map(|(pattern, ci, fills, flips)| {
            let mut text = String::new();
            for ((c, fill), flip) in pattern.chars().zip(fills).zip(flips) {
                match c {
                    '*' => text.push_str(&fill),
                    '?' => text.push(fill.chars().next().unwrap_or('x')),
                    c if ci && flip && c.is_ascii_lowercase() => text.push(c.to_ascii_uppercase()),
                    c if ci && flip && c.is_ascii_uppercase() => text.push(c.to_ascii_lowercase()),
                    c => text.push(c),
                }
            }
            (pattern, text, ci)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn wildcards_agree_with_the_regex_oracle(
        pattern in chars_string(PATTERN_CHARS, 10),
        text in chars_string(TEXT_CHARS, 12),
        ci in any::<bool>(),
    ) {
        prop_assert_eq!(engine_matches(&pattern, &text, ci), oracle_matches(&pattern, &text, ci),
            "pattern {:?} text {:?} case-insensitive {}", pattern, text, ci);
    }

    #[test]
    fn texts_derived_from_the_pattern_match((pattern, text, ci) in derived_text()) {
        prop_assert!(oracle_matches(&pattern, &text, ci), "oracle: pattern {:?} text {:?}", pattern, text);
        prop_assert!(engine_matches(&pattern, &text, ci), "engine: pattern {:?} text {:?} ci {}", pattern, text, ci);
    }

    #[test]
    fn without_wildcards_a_pattern_is_the_exact_text(
        pattern in chars_string(PATTERN_CHARS, 6),
        text in chars_string(TEXT_CHARS, 6),
        ci in any::<bool>(),
    ) {
        let p = Pattern::new(&pattern, Syntax { wildcards: false, variables: false, case_insensitive: ci });
        let want = if ci { pattern.eq_ignore_ascii_case(&text) } else { pattern == text };
        prop_assert_eq!(p.matches(&text, &NoVars) == MatchResult::Match, want);
        prop_assert_eq!(p.matches(&pattern, &NoVars), MatchResult::Match);
    }
}

#[test]
fn case_insensitivity_is_ascii_only() {
    assert!(engine_matches("É*", "éa", false) == oracle_matches("É*", "éa", false));
    assert!(!engine_matches("É", "é", true), "non-ASCII letters keep their case");
    assert!(engine_matches("AB?", "abé", true));
}

// ---------------------------------------------------------------------------------------------
// 3. ArnLike matches component by component
// ---------------------------------------------------------------------------------------------

/// Whether alice's request is allowed by `ArnLike: {aws:SourceArn: policy_arn}` with `source_arn`.
fn arn_like_allows(policy_arn: &str, source_arn: &str) -> bool {
    let case = identity_case(
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        json!({"aws:SourceArn": source_arn}),
        allow_all_if(json!({"ArnLike": {"aws:SourceArn": policy_arn}})),
    );
    match decision(&case).decision {
        "allowed" => true,
        "implicitDeny" => false,
        other => panic!("unexpected decision {other}"),
    }
}

/// The six components of an ARN (the last keeps its colons), or `None` with fewer than six.
fn components(arn: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6).then_some(parts)
}

const ARN_PATTERN_CHARS: &[char] = &['a', 'b', '*', '?'];
const ARN_TEXT_CHARS: &[char] = &['a', 'b', ':'];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arn_like_never_lets_a_star_cross_a_colon(
        policy in prop::collection::vec(chars_string(ARN_PATTERN_CHARS, 4), 6),
        source in prop::collection::vec(chars_string(ARN_TEXT_CHARS, 4), 6),
    ) {
        let policy_arn = policy.join(":");
        let source_arn = source.join(":");
        let want = components(&source_arn).is_some_and(|parts| {
            parts.iter().zip(&policy).all(|(text, pattern)| oracle_matches(pattern, text, false))
        });
        let got = arn_like_allows(&policy_arn, &source_arn);
        prop_assert_eq!(got, want, "ArnLike {:?} vs {:?}", policy_arn, source_arn);
        // A plain glob over the whole ARN would let `*` cross colons; whenever the component-wise
        // answer is no, the engine must say no even if that glob says yes.
        if !want {
            prop_assert!(!got);
        }
    }
}

#[test]
fn arn_like_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("arn:aws:s3:::b*", "arn:aws:s3:::bucket", true),
        // The resource (sixth) component holds colons of its own.
        ("arn:aws:sns:*:111111111111:topic*", "arn:aws:sns:eu-west-3:111111111111:topic:sub", true),
        // A `*` matches within its component only: a whole-string glob would say yes to these.
        ("arn:*:s3:::b", "arn:aws:x:s3:::b", false),
        ("arn:aws:iam::*:role/x", "arn:aws:iam::111111111111:222222222222:role/x", false),
        ("arn:aws:iam::*:role/x", "arn:aws:iam::111111111111:role/x", true),
        ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:eu-west-3:111111111111:instance/i-1", true),
        ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:eu-west-3:111111111111:volume/instance/v", false),
        ("arn:aws:ec2:?:*:*", "arn:aws:ec2:eu:1:x", false),
        ("arn:aws:ec2:??:*:*", "arn:aws:ec2:eu:1:x", true),
        // Too few components in the request's ARN.
        ("arn:aws:s3:*:*:*", "arn:aws:s3", false),
        ("*:*:*:*:*:*", "a:b:c:d:e", false),
        ("*:*:*:*:*:*", "a:b:c:d:e:f:g", true),
    ];
    for (policy, source, want) in cases {
        assert_eq!(arn_like_allows(policy, source), *want, "ArnLike {policy:?} vs {source:?}");
    }
}

/// A variable whose key holds a colon (`${aws:PrincipalAccount}`) is one value inside one component.
/// (Bug fixed in `condition/values.rs`: the ARN used to be split inside the variable.)
#[test]
fn arn_like_resolves_variables_with_colons() {
    let allows = |policy_arn: &str, source_arn: &str| {
        let case = identity_case(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            json!({"aws:SourceArn": source_arn, "aws:PrincipalTag/team": "blue"}),
            allow_all_if(json!({"ArnLike": {"aws:SourceArn": policy_arn}})),
        );
        decision(&case).decision == "allowed"
    };
    assert!(allows("arn:aws:iam::${aws:PrincipalAccount}:role/x", "arn:aws:iam::111111111111:role/x"));
    assert!(!allows("arn:aws:iam::${aws:PrincipalAccount}:role/x", "arn:aws:iam::222222222222:role/x"));
    assert!(allows(
        "arn:aws:sqs:*:${aws:PrincipalAccount}:${aws:PrincipalTag/team}-*",
        "arn:aws:sqs:eu:111111111111:blue-q"
    ));
    assert!(!allows(
        "arn:aws:sqs:*:${aws:PrincipalAccount}:${aws:PrincipalTag/team}-*",
        "arn:aws:sqs:eu:111111111111:red-q"
    ));
    // A default value may hold a colon too.
    assert!(allows("arn:aws:iam::111111111111:role/${aws:missing, 'a:b'}", "arn:aws:iam::111111111111:role/a:b"));
    // Under Version 2008-10-17 `${…}` is literal text, and its colon separates components as usual.
    let v2008 = |source_arn: &str| {
        let case = identity_case(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            json!({"aws:SourceArn": source_arn}),
            json!({"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                   "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/x"}}}}),
        );
        decision(&case).decision
    };
    assert_eq!(v2008("arn:aws:iam::111111111111:role/x"), "implicitDeny");
    assert_eq!(v2008("arn:aws:iam::${aws:PrincipalAccount}:role/x"), "allowed");
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_an_error() {
    for text in [
        "",
        " ",
        "{",
        "}",
        "[",
        "{\"request\":",
        "{\"request\": {}",
        "nul",
        "tru",
        "{\"a\" 1}",
        "{'a': 1}",
        "{\"a\": 1,}",
        "[1,]",
        "\"\\x\"",
        "{\"request\": {\"principal\": \"a\"}}}",
        "\u{feff}{}",
        "\0",
    ] {
        let err = run(text).expect_err(text);
        assert!(!err.is_empty());
    }
    expect_err("{\"request\": ", "line 1 column");
}

/// Each entry: a JSON pointer into the template, a value of the wrong type (or shape) for it, and
/// the JSON path the error must name.
#[test]
fn wrong_types_at_every_level_name_the_path() {
    let cases: &[(&str, Value, &str)] = &[
        ("/request", json!("x"), "request"),
        ("/request/principal", json!(1), "request.principal"),
        ("/request/principal", json!("arn:aws:iam::1:user/a"), "request.principal"),
        ("/request/action", json!(["kms:Decrypt"]), "request.action"),
        ("/request/action", json!("Decrypt"), "request.action"),
        ("/request/resource", json!({}), "request.resource"),
        ("/request/resource", json!(""), "request.resource"),
        ("/request/resource_account", json!(222222222222u64), "request.resource_account"),
        ("/request/resource_account", json!("2222"), "request.resource_account"),
        ("/request/context", json!([]), "request.context"),
        ("/request/context/n", json!({"x": 1}), "request.context.n"),
        ("/request/context/tags", json!(["a", null]), "request.context.tags[1]"),
        ("/request/grant_id", json!(7), "request.grant_id"),
        ("/identity_policies", json!({}), "identity_policies"),
        ("/identity_policies/0", json!(true), "identity_policies[0]"),
        ("/identity_policies/0/Version", json!("2012-10-18"), "identity_policies[0].Version"),
        ("/identity_policies/0/Id", json!(1), "identity_policies[0].Id"),
        ("/identity_policies/0/Bogus", json!(1), "identity_policies[0].Bogus"),
        ("/identity_policies/0/Statement", json!("s"), "identity_policies[0].Statement"),
        ("/identity_policies/0/Statement/1", json!([]), "identity_policies[0].Statement[1]"),
        ("/identity_policies/0/Statement/1/Effect", json!(1), "identity_policies[0].Statement[1].Effect"),
        ("/identity_policies/0/Statement/1/Effect", json!("allow"), "identity_policies[0].Statement[1].Effect"),
        ("/identity_policies/0/Statement/0/Sid", json!(null), "identity_policies[0].Statement[0].Sid"),
        ("/identity_policies/0/Statement/0/Action", json!([]), "identity_policies[0].Statement[0].Action"),
        ("/identity_policies/0/Statement/0/Action/1", json!(3), "identity_policies[0].Statement[0].Action[1]"),
        ("/identity_policies/0/Statement/0/Resource", json!(null), "identity_policies[0].Statement[0].Resource"),
        ("/identity_policies/0/Statement/0/NotAction", json!("x:y"), "identity_policies[0].Statement[0].NotAction"),
        ("/identity_policies/0/Statement/0/Principal", json!("*"), "identity_policies[0].Statement[0].Principal"),
        ("/identity_policies/0/Statement/0/Extra", json!(1), "identity_policies[0].Statement[0].Extra"),
        ("/identity_policies/0/Statement/0/Condition", json!([]), "identity_policies[0].Statement[0].Condition"),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals",
            json!("x"),
            "identity_policies[0].Statement[0].Condition.StringEquals",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals",
            json!({}),
            "identity_policies[0].Statement[0].Condition.StringEquals",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!({"a": 1}),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!(["a", []]),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username[1]",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!([]),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/IpAddress/aws:SourceIp",
            json!(["10.0.0.0/8", "10.0.0.0/33"]),
            "identity_policies[0].Statement[0].Condition.IpAddress.aws:SourceIp[1]",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/NumericLessThan/n",
            json!("three"),
            "identity_policies[0].Statement[1].Condition.NumericLessThan.n",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/Bool/flag",
            json!("yes"),
            "identity_policies[0].Statement[1].Condition.Bool.flag",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/BinaryEquals/bin",
            json!("not base64!"),
            "identity_policies[0].Statement[1].Condition.BinaryEquals.bin",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/Null/missing",
            json!("maybe"),
            "identity_policies[0].Statement[1].Condition.Null.missing",
        ),
        ("/permissions_boundary", json!([]), "permissions_boundary"),
        ("/permissions_boundary/Statement/Effect", json!(["Allow"]), "permissions_boundary.Statement.Effect"),
        ("/session_policy/Statement/0/NotAction", json!(1), "session_policy.Statement[0].NotAction"),
        ("/scps", json!({}), "scps"),
        ("/scps/1", json!({}), "scps[1]"),
        ("/scps/1/0/Statement/0/Effect", json!(1), "scps[1][0].Statement[0].Effect"),
        ("/scps/1/0/Statement/0/Principal", json!("*"), "scps[1][0].Statement[0].Principal"),
        ("/rcps/0/0/Statement/0/Principal", json!(42), "rcps[0][0].Statement[0].Principal"),
        ("/resource_policy/Statement/0/Principal", json!({}), "resource_policy.Statement[0].Principal"),
        ("/resource_policy/Statement/0/Principal/AWS", json!(42), "resource_policy.Statement[0].Principal.AWS"),
        (
            "/resource_policy/Statement/0/Principal/AWS/1",
            json!("alice"),
            "resource_policy.Statement[0].Principal.AWS[1]",
        ),
        (
            "/resource_policy/Statement/0/Principal/AWS/0",
            json!("arn:aws:iam::111111111111:role/*"),
            "resource_policy.Statement[0].Principal.AWS[0]",
        ),
        (
            "/resource_policy/Statement/1/Principal/Service",
            json!("not a service"),
            "resource_policy.Statement[1].Principal.Service",
        ),
        ("/resource_policy/Statement/1/Principal/Nobody", json!("x"), "resource_policy.Statement[1].Principal.Nobody"),
        ("/vpc_endpoint_policy/Statement/0/Resource", json!(false), "vpc_endpoint_policy.Statement[0].Resource"),
        ("/grants", json!({}), "grants"),
        ("/grants/0", json!("g"), "grants[0]"),
        ("/grants/0/grant_id", json!(1), "grants[0].grant_id"),
        ("/grants/0/grantee_principal", json!(1), "grants[0].grantee_principal"),
        ("/grants/0/grantee_principal", json!("nobody"), "grants[0].grantee_principal"),
        ("/grants/0/operations", json!([]), "grants[0].operations"),
        ("/grants/0/operations/1", json!("kms:Decrypt"), "grants[0].operations[1]"),
        ("/grants/0/constraints", json!([]), "grants[0].constraints"),
        (
            "/grants/0/constraints/encryption_context_subset",
            json!("x"),
            "grants[0].constraints.encryption_context_subset",
        ),
        (
            "/grants/0/constraints/encryption_context_subset/aws:ebs:id",
            json!(1),
            "grants[0].constraints.encryption_context_subset.aws:ebs:id",
        ),
        (
            "/grants/0/constraints/encryption_context_equals",
            json!({}),
            "grants[0].constraints.encryption_context_equals",
        ),
        ("/grants/0/retiring_principal", json!([]), "grants[0].retiring_principal"),
        ("/grants/0/issuing_account", json!("22"), "grants[0].issuing_account"),
    ];
    for (pointer, wrong, path) in cases {
        let mut case = template();
        set(&mut case, pointer, wrong.clone());
        expect_err_value(&case, path);
    }
    // The top level.
    for wrong in [json!(1), json!([]), json!(null), json!("x"), json!({})] {
        expect_err_value(&wrong, if wrong.is_object() { "request" } else { "(top level)" });
    }
    // A policy given as a string: errors inside it still name the path from the top of the case.
    let mut case = template();
    let mut policy = case["identity_policies"][0].clone();
    policy["Statement"][1]["Effect"] = json!("Maybe");
    case["identity_policies"][0] = Value::String(policy.to_string());
    expect_err_value(&case, "identity_policies[0].Statement[1].Effect");
}

#[test]
fn unknown_condition_operators_are_errors() {
    for op in [
        "StringEqualz",
        "stringequals",
        "ForSomeValues:StringEquals",
        "ForAnyValue:Null",
        "NullIfExists",
        "IfExists",
        "",
    ] {
        let case = identity_case("s3:GetObject", "*", json!({}), allow_all_if(json!({op: {"k": "v"}})));
        let path = if op.is_empty() { "Condition[\"\"]".to_string() } else { format!("Condition.{op}") };
        expect_err_value(&case, &format!("identity_policies[0].Statement[0].{path}"));
    }
}

#[test]
fn a_10_mb_policy_parses_and_evaluates() {
    // 100,000 statements (built as text: building a `Value` that size is slow in debug), the last
    // one the only one that matches.
    let big_case = |last: &str| {
        let mut text = format!(
            "{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"arn:aws:s3:::bucket-with-a-long-name/k\"}}, \"identity_policies\": [{{\"Version\": \"2012-10-17\", \"Statement\": ["
        );
        for i in 0..100_000 {
            text.push_str(&format!(
                "{{\"Sid\": \"S{i}\", \"Effect\": \"Allow\", \"Action\": \"s3:GetObjectVersion{i:06}\", \"Resource\": \"arn:aws:s3:::bucket-with-a-long-name/*\"}},"
            ));
        }
        text.push_str(last);
        text.push_str("]}]}");
        text
    };
    let text = big_case(
        r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-with-a-long-name/*"}"#,
    );
    assert!(text.len() >= 10_000_000, "{} bytes", text.len());
    let e = run(&text).expect("a big policy is still a policy");
    assert_eq!(e.decision, "allowed");
    assert_eq!(refs(&e.allowed_by), BTreeSet::from(["identity_policies[0]#100000".to_string()]));

    // A Deny at the end wins.
    let text = big_case(r#"{"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"}"#);
    let e = run(&text).expect("a big policy is still a policy");
    assert_eq!(e.decision, "explicitDeny");
    assert_eq!(refs(&e.denied_by), BTreeSet::from(["identity_policies[0]#100000".to_string()]));

    // One huge Action array (5 MB), without and then with the action at its end.
    let mut actions = vec!["s3:PutObjectVersion"; 250_000];
    let policy = |actions: &[&str]| json!({"Statement": {"Effect": "Allow", "Action": actions, "Resource": "*"}});
    let e = decision(&identity_case("s3:GetObject", "*", json!({}), policy(&actions)));
    assert_eq!(e.decision, "implicitDeny");
    assert_eq!(e.gate.map(|g| g.kind), Some("identity_policy"));
    actions.push("S3:GETOBJECT");
    let e = decision(&identity_case("s3:GetObject", "*", json!({}), policy(&actions)));
    assert_eq!(e.decision, "allowed");
}

#[test]
fn deep_nesting_is_refused() {
    const DEPTH: usize = 10_000;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH));
    let request =
        format!("\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\"}}");
    for deep in [&arrays, &objects] {
        // As the case.
        expect_err(deep, "recursion limit");
        // As a policy.
        expect_err(&format!("{{{request}, \"identity_policies\": [{deep}]}}"), "recursion limit");
        // Inside a condition value.
        let policy = format!(
            "{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {{\"StringEquals\": {{\"k\": {deep}}}}}}}}}"
        );
        expect_err(&format!("{{{request}, \"identity_policies\": [{policy}]}}"), "recursion limit");
        // In the context.
        expect_err(&format!("{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\", \"context\": {{\"k\": {deep}}}}}}}"), "recursion limit");
        // As a policy held in a string: the string parses, the JSON inside it does not.
        let as_string = Value::String(deep.clone());
        let case = format!("{{{request}, \"identity_policies\": [{as_string}]}}");
        let err = expect_err(&case, "identity_policies[0]");
        assert!(err.contains("recursion limit"), "{err}");
        for kind in ALL_KINDS {
            let err = parse_policy(&as_string, kind, &JsonPath::root("p")).expect_err("too deep");
            assert!(err.to_string().contains("recursion limit"), "{err}");
        }
    }
    // Just under serde_json's limit, the nesting is a type error, not a crash.
    let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
    expect_err(&format!("{{{request}, \"identity_policies\": [{shallow}]}}"), "identity_policies[0]");
}

#[test]
fn only_one_level_of_string_is_accepted_for_a_policy() {
    let policy = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    let once = Value::String(policy.to_string());
    let twice = Value::String(once.to_string());
    assert_eq!(decision(&identity_case("s3:GetObject", "*", json!({}), once)).decision, "allowed");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), twice.clone()), "identity_policies[0]");
    let thrice = Value::String(twice.to_string());
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), thrice), "identity_policies[0]");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), json!("not json")), "identity_policies[0]");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), json!("")), "identity_policies[0]");
}

#[test]
fn nul_bytes_and_invalid_surrogates() {
    let req = |principal: &str, action: &str| {
        format!("{{\"request\": {{\"principal\": \"{principal}\", \"action\": \"{action}\", \"resource\": \"*\"}}}}")
    };
    // A raw NUL (a control character) inside a JSON string is invalid JSON.
    expect_err(&req(ALICE, "s3:Get\0Object"), "line 1 column");
    // Escaped NULs are valid JSON: where the text is checked it is refused ...
    expect_err(
        &req("arn:aws:iam::111111111111:user/\\u0000", "s3:GetObject").replace("user/\\u0000", "\\u0000"),
        "request.principal",
    );
    expect_err(&req("ec2.amazonaws\\u0000.com", "s3:GetObject"), "request.principal");
    expect_err(&req("arn:aws:iam::1111111111\\u000011:user/a", "s3:GetObject"), "request.principal");
    // ... elsewhere it is just a character, compared like any other.
    let case = identity_case(
        "s3:Get\u{0}Object",
        "arn:aws:s3:::b/\u{0}",
        json!({"k\u{0}": "v\u{0}"}),
        allow_all_if(json!({"StringLike": {"k\u{0}": "v?"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
    let mut case = template();
    case["identity_policies"][0]["Statement"][0]["Sid"] = json!("\u{0}");
    decision(&case);
    // Lone or reversed surrogates are invalid JSON escapes.
    for bad in ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\udc00\\ud800", "\\ud800\\ud800", "\\uZZZZ", "\\u12"] {
        expect_err(&req(&format!("arn:aws:iam::111111111111:user/{bad}"), "s3:GetObject"), "line 1 column");
        let policy =
            format!("{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"s3:{bad}\", \"Resource\": \"*\"}}}}");
        let text = req(ALICE, "s3:GetObject").replacen('}', &format!("}}, \"identity_policies\": [{policy}]"), 1);
        expect_err(&text, "line 1 column");
    }
    // A valid pair is one character.
    let case = req("arn:aws:iam::111111111111:user/\\ud83d\\ude00", "s3:GetObject");
    run(&case).expect("a surrogate pair is fine");
}

#[test]
fn huge_numbers() {
    let req = |context: &str, policy: &str| {
        format!(
            "{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\", \"context\": {context}}}, \"identity_policies\": [{policy}]}}"
        )
    };
    let policy = |op: &str, v: &str| {
        format!("{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {{\"{op}\": {{\"n\": {v}}}}}}}}}")
    };
    // As JSON numbers, serde_json refuses them.
    expect_err(&req("{}", &policy("NumericEquals", "1e400")), "line 1 column");
    expect_err(&req("{}", &policy("NumericEquals", "-1e400")), "line 1 column");
    expect_err(&req("{\"n\": 1e400}", &policy("NumericEquals", "1")), "line 1 column");
    // As text in a policy: not a (finite) number.
    for v in ["\"1e400\"", "\"-1e400\"", "\"NaN\"", "\"inf\"", "\"infinity\"", "\"0x10\"", "\"\"", "\"1e\"", "\"--1\""]
    {
        let err = expect_err(
            &req("{}", &policy("NumericEquals", v)),
            "identity_policies[0].Statement.Condition.NumericEquals.n",
        );
        assert!(err.contains("number"), "{err}");
    }
    // As text in the context: a value that is not a number matches no policy value (no error).
    for v in ["\"1e400\"", "\"-1e400\"", "\"NaN\"", "[\"1e400\", \"nan\"]"] {
        let e = run(&req(&format!("{{\"n\": {v}}}"), &policy("NumericLessThan", "5"))).expect("parses");
        assert_eq!(e.decision, "implicitDeny", "context n = {v}");
        let e = run(&req(&format!("{{\"n\": {v}}}"), &policy("NumericNotEquals", "5"))).expect("parses");
        assert!(matches!(e.decision, "allowed" | "implicitDeny"), "context n = {v}");
    }
    // Big but finite numbers are numbers.
    let e = run(&req("{\"n\": 1e308}", &policy("NumericLessThan", "1.7e308"))).expect("parses");
    assert_eq!(e.decision, "allowed");
    let e =
        run(&req("{\"n\": 18446744073709551616}", &policy("NumericEquals", "18446744073709551616"))).expect("parses");
    assert_eq!(e.decision, "allowed");
    let e = run(&req("{\"n\": -9223372036854775808}", &policy("NumericLessThan", "0"))).expect("parses");
    assert_eq!(e.decision, "allowed");
}

#[test]
fn dates_out_of_range() {
    let case = |context_time: Value, op: &str, v: &str| {
        identity_case("s3:GetObject", "*", json!({"t": context_time}), allow_all_if(json!({op: {"t": v}})))
    };
    for v in [
        "99999-01-01T00:00:00Z",
        "+262144-01-01T00:00:00Z",
        "-262144-01-01",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "99999999999999999999",
        "9223372036854775807",
        "9223372036854776",
        "-1",
        "",
        "yesterday",
    ] {
        expect_err_value(
            &case(json!("2026-01-01"), "DateLessThan", v),
            "identity_policies[0].Statement[0].Condition.DateLessThan.t",
        );
    }
    // Extreme but representable: parses, evaluates, explains.
    for v in ["9223372036854775", "0", "1970-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"] {
        for op in ["DateLessThan", "DateEquals", "DateGreaterThanEquals"] {
            decision(&case(json!("2026-01-01"), op, v));
        }
    }
    // An unreadable date in the context matches nothing.
    for t in [json!("99999-01-01T00:00:00Z"), json!("9223372036854775807"), json!("never"), json!(1e300)] {
        let e = decision(&case(t.clone(), "DateLessThan", "2030-01-01"));
        assert_eq!(e.decision, "implicitDeny", "context t = {t}");
    }
    assert_eq!(decision(&case(json!("2026-01-01"), "DateLessThan", "2030-01-01")).decision, "allowed");
}

#[test]
fn cidr_prefixes_out_of_range() {
    let case = |ip: &str, cidr: &str| {
        identity_case(
            "s3:GetObject",
            "*",
            json!({"aws:SourceIp": ip}),
            allow_all_if(json!({"IpAddress": {"aws:SourceIp": cidr}})),
        )
    };
    for cidr in [
        "10.0.0.0/33",
        "10.0.0.0/255",
        "10.0.0.0/256",
        "10.0.0.0/99999999999999999999",
        "10.0.0.0/-1",
        "10.0.0.0/",
        "::/129",
        "::/255",
        "2001:db8::/200",
        "10.0.0.0/8/8",
        "10.0.0.256/8",
        "/8",
        "10.0.0.0/ 8",
    ] {
        expect_err_value(&case("10.1.2.3", cidr), "identity_policies[0].Statement[0].Condition.IpAddress.aws:SourceIp");
    }
    // The extremes that are valid.
    assert_eq!(decision(&case("10.1.2.3", "0.0.0.0/0")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.3", "10.1.2.3/32")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.4", "10.1.2.3/32")).decision, "implicitDeny");
    assert_eq!(decision(&case("2001:db8::1", "::/0")).decision, "allowed");
    assert_eq!(decision(&case("2001:db8::1", "2001:db8::1/128")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.3", "::/0")).decision, "implicitDeny");
    assert_eq!(decision(&case("not an ip", "0.0.0.0/0")).decision, "implicitDeny");
}

#[test]
fn unterminated_variables_are_literal_text() {
    let allows = |resource_pattern: &str, resource: &str| {
        let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": resource_pattern}});
        decision(&identity_case("s3:GetObject", resource, json!({}), policy)).decision == "allowed"
    };
    assert!(allows("arn:aws:s3:::b/${aws:username", "arn:aws:s3:::b/${aws:username"));
    assert!(!allows("arn:aws:s3:::b/${aws:username", "arn:aws:s3:::b/alice"));
    assert!(allows("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/alice"));
    assert!(allows("arn:aws:s3:::b/${", "arn:aws:s3:::b/${"));
    assert!(allows("arn:aws:s3:::b/${}", "arn:aws:s3:::b/${}"));
    assert!(allows("arn:aws:s3:::b/${k, 'unterminated}", "arn:aws:s3:::b/${k, 'unterminated}"));
    assert!(allows("arn:aws:s3:::b/${k, 'd'}", "arn:aws:s3:::b/d"));
    assert!(allows("arn:aws:s3:::b/${k, 'a}b'}", "arn:aws:s3:::b/a}b"));
    assert!(allows("arn:aws:s3:::b/${ aws:username }/${*}", "arn:aws:s3:::b/alice/*"));
    assert!(!allows("arn:aws:s3:::b/${ aws:username }/${*}", "arn:aws:s3:::b/alice/x"));
    assert!(allows("${${aws:username}", "${alice"));
    assert!(allows("$${aws:username}}", "$alice}"));
    assert!(allows("x/${aws:username}${", "x/alice${"));
    // In a condition too.
    let case = identity_case(
        "s3:GetObject",
        "*",
        json!({"k": "${aws:username"}),
        allow_all_if(json!({"StringEquals": {"k": "${aws:username"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
}

/// 100 KB strings full of `${` that never form a token: compiling them used to take quadratic time
/// (seconds at 32 KB; a 10 MB policy would hang). The test only checks that they finish.
#[test]
fn many_unterminated_variables_compile_quickly() {
    for unit in ["${", "${a,", "${a,'", "${'", "${a ", "${a,'x'", "${ ", "${a$", "${a}}", "${$}${"] {
        let s = unit.repeat(100_000 / unit.len());
        let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": s,
                             "Condition": {"StringLike": {"k": s}, "ArnLike": {"aws:SourceArn": s}}}});
        let e = decision(&identity_case("s3:GetObject", "*", json!({"k": s, "aws:SourceArn": s}), policy));
        assert_eq!(e.decision, "implicitDeny", "unit {unit:?}");
    }
    // A long token that closes at the very end still is one token.
    let s = format!("${{k, '{}'}}", "${".repeat(50_000));
    let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": s}});
    let e = decision(&identity_case("s3:GetObject", &"${".repeat(50_000), json!({}), policy));
    assert_eq!(e.decision, "allowed");
}

#[test]
fn many_context_keys_parse_quickly() {
    // Context keys used to be looked up by a linear scan, so parsing n keys took O(n²) (8 s for
    // 40,000 keys in debug). 200,000 keys, two of them differing only in case.
    let mut context = serde_json::Map::new();
    for i in 0..200_000 {
        context.insert(format!("key{i}"), json!(i));
    }
    context.insert("Team".into(), json!("red"));
    context.insert("team".into(), json!("blue"));
    let case = identity_case(
        "s3:GetObject",
        "*",
        Value::Object(context),
        allow_all_if(json!({"StringEquals": {"KEY199999": "199999", "team": "blue"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
}

/// A grant constraint with 30,000 encryption-context pairs against a context of 30,000 keys: each pair
/// used to scan the whole context (O(n·m): 1.6 s for 8,000 of each in debug, over 20 s for 30,000).
#[test]
fn big_grant_constraints_evaluate_quickly() {
    let (mut context, mut pairs) = (serde_json::Map::new(), serde_json::Map::new());
    for i in 0..30_000 {
        context.insert(format!("kms:EncryptionContext:k{i}"), json!("v"));
        pairs.insert(format!("k{i}"), json!("v"));
    }
    let case = |context: &serde_json::Map<String, Value>, constraint: &str, pairs: &serde_json::Map<String, Value>| {
        json!({
            "request": {"principal": ALICE, "action": "kms:Decrypt", "resource": "arn:aws:kms:eu-west-3:222222222222:key/k",
                        "context": context},
            "resource_policy": {"Statement": {"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "kms:*", "Resource": "*"}},
            "grants": [{"grantee_principal": ALICE, "operations": ["Decrypt"], "constraints": {constraint: pairs}}]
        })
    };
    for constraint in ["encryption_context_subset", "encryption_context_equals"] {
        let e = decision(&case(&context, constraint, &pairs));
        assert_eq!(e.decision, "allowed", "{constraint}");
        assert_eq!(refs(&e.allowed_by), BTreeSet::from(["grants[0]#-".to_string()]));
    }
    // Encryption context keys stay case-sensitive (unlike context key names).
    let mut upper = pairs.clone();
    upper.insert("K29999".into(), json!("v"));
    upper.remove("k29999");
    assert_eq!(decision(&case(&context, "encryption_context_subset", &upper)).decision, "implicitDeny");
    // An empty pair key names no encryption context key.
    let mut ctx_empty = serde_json::Map::new();
    ctx_empty.insert("kms:EncryptionContext:".into(), json!("v"));
    let empty_pair: serde_json::Map<String, Value> = [(String::new(), json!("v"))].into_iter().collect();
    assert_eq!(decision(&case(&ctx_empty, "encryption_context_subset", &empty_pair)).decision, "implicitDeny");
    // Equals: one key more in the request is one too many.
    context.insert("kms:EncryptionContext:extra".into(), json!("v"));
    assert_eq!(decision(&case(&context, "encryption_context_equals", &pairs)).decision, "implicitDeny");
    assert_eq!(decision(&case(&context, "encryption_context_subset", &pairs)).decision, "allowed");
}

#[test]
fn star_heavy_patterns_against_long_texts_finish() {
    let text_a = "a".repeat(100_000);
    let text_ab = format!("{text_a}b");
    let star_a = "**********a";
    assert!(engine_matches(star_a, &text_a, false));
    assert!(!engine_matches(star_a, &text_ab, false));
    assert!(engine_matches("*a*a*a*a*a*a*a*a*a*a*b", &text_ab, false));
    assert!(!engine_matches("*a*a*a*a*a*a*a*a*a*a*c", &text_ab, false));
    assert!(!engine_matches("*b*a", &text_ab, false));
    assert!(engine_matches(&format!("*{}*", "a".repeat(1_000)), &text_ab, true));
    assert!(!engine_matches(&format!("*{}c*", "a".repeat(1_000)), &text_ab, true));
    assert!(engine_matches(&format!("{}*", "?".repeat(1_000)), &text_ab, false));
    assert!(!engine_matches(&format!("*{}?", "?".repeat(1_000)), "short", false));
    assert!(!engine_matches(&"*?".repeat(5_000), &"é".repeat(4_999), false));
    assert!(engine_matches(&"*?".repeat(5_000), &"é".repeat(5_000), false));
    // Through a whole case: as an action, a resource and a StringLike condition.
    let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": format!("s3:{star_a}"),
                         "Resource": star_a, "Condition": {"StringLike": {"k": star_a}}}});
    let action = format!("s3:{text_a}");
    assert_eq!(decision(&identity_case(&action, &text_a, json!({"k": text_a}), policy.clone())).decision, "allowed");
    assert_eq!(decision(&identity_case(&action, &text_a, json!({"k": text_ab}), policy)).decision, "implicitDeny");
}

// ---------------------------------------------------------------------------------------------
// 5. Differential: identity policies only, against a tiny model
// ---------------------------------------------------------------------------------------------

const ACTIONS: &[&str] = &["s3:Get", "s3:GetObject", "s3:Put", "kms:Get", "KMS:get"];
const ACTION_PATTERN_PIECES: &[&str] = &["s3", "kms", "KMS", ":", "Get", "get", "Put", "Object", "*", "?", "et"];
const RESOURCES: &[&str] = &["arn:aws:s3:::b/k", "arn:aws:s3:::c/k"];
const RESOURCE_PATTERNS: &[&str] =
    &["*", "arn:aws:s3:::b/*", "arn:aws:s3:::?/k", "arn:aws:s3:::c/*", "arn:aws:s3:::b/k"];

#[derive(Debug, Clone)]
struct ModelStatement {
    allow: bool,
    not_action: bool,
    actions: Vec<String>,
    not_resource: bool,
    resources: Vec<String>,
}

/// An independent glob: `*` any run, `?` one character, ASCII case-insensitive when asked.
fn model_glob(p: &[char], t: &[char], ci: bool) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| model_glob(rest, &t[i..], ci)),
        Some(('?', rest)) => !t.is_empty() && model_glob(rest, &t[1..], ci),
        Some((c, rest)) => {
            t.first().is_some_and(|x| if ci { x.eq_ignore_ascii_case(c) } else { x == c })
                && model_glob(rest, &t[1..], ci)
        }
    }
}

fn model_match(patterns: &[String], text: &str, ci: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    patterns.iter().any(|p| model_glob(&p.chars().collect::<Vec<_>>(), &t, ci))
}

/// Explicit deny wins; else any allow; else implicitDeny at the identity_policy gate.
fn model(
    policies: &[Vec<ModelStatement>],
    action: &str,
    resource: &str,
) -> (&'static str, BTreeSet<String>, BTreeSet<String>) {
    let (mut allows, mut denies) = (BTreeSet::new(), BTreeSet::new());
    for (p, statements) in policies.iter().enumerate() {
        for (s, st) in statements.iter().enumerate() {
            let action_ok = model_match(&st.actions, action, true) != st.not_action;
            let resource_ok = model_match(&st.resources, resource, false) != st.not_resource;
            if action_ok && resource_ok {
                let r = format!("identity_policies[{p}]#{s}");
                if st.allow {
                    allows.insert(r);
                } else {
                    denies.insert(r);
                }
            }
        }
    }
    if !denies.is_empty() {
        ("explicitDeny", BTreeSet::new(), denies)
    } else if !allows.is_empty() {
        ("allowed", allows, BTreeSet::new())
    } else {
        ("implicitDeny", BTreeSet::new(), BTreeSet::new())
    }
}

fn model_statement() -> impl Strategy<Value = ModelStatement> {
    let action_pattern = prop::collection::vec(select(ACTION_PATTERN_PIECES), 1..5).prop_map(|v| v.concat());
    (
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(action_pattern, 1..3),
        prop::bool::weighted(0.2),
        prop::collection::vec(select(RESOURCE_PATTERNS).prop_map(str::to_string), 1..3),
    )
        .prop_map(|(allow, not_action, actions, not_resource, resources)| ModelStatement {
            allow,
            not_action,
            actions,
            not_resource,
            resources,
        })
}

fn to_json(statements: &[ModelStatement]) -> Value {
    let list: Vec<Value> = statements
        .iter()
        .map(|st| {
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), json!(if st.allow { "Allow" } else { "Deny" }));
            s.insert(if st.not_action { "NotAction" } else { "Action" }.into(), json!(st.actions));
            s.insert(if st.not_resource { "NotResource" } else { "Resource" }.into(), json!(st.resources));
            Value::Object(s)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": list})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn identity_only_decisions_match_the_model(
        policies in prop::collection::vec(prop::collection::vec(model_statement(), 1..3), 1..3),
        action in select(ACTIONS),
        resource in select(RESOURCES),
    ) {
        let case = json!({
            "request": {"principal": ALICE, "action": action, "resource": resource},
            "identity_policies": policies.iter().map(|p| to_json(p)).collect::<Vec<_>>(),
        });
        let e = decision(&case);
        let (want, allowed_by, denied_by) = model(&policies, action, resource);
        prop_assert_eq!(e.decision, want, "{}", e.summary);
        prop_assert_eq!(refs(&e.allowed_by), allowed_by);
        prop_assert_eq!(refs(&e.denied_by), denied_by);
        let gate = e.gate.as_ref().map(|g| g.kind);
        prop_assert_eq!(gate, (want == "implicitDeny").then_some("identity_policy"));
    }
}
