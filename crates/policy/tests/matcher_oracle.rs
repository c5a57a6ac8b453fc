//! Robustness, part 2: the wildcard matcher agrees with a regex oracle, and ArnLike matches component
//! by component.
//!
//! ```console
//! $ cargo test -p custody-policy --test matcher_oracle
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod robustness_support;

use robustness_support::*;

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
