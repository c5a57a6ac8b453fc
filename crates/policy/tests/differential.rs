//! Robustness, part 4: on identity-policy-only cases the evaluator agrees with a tiny independent model.
//!
//! ```console
//! $ cargo test -p custody-policy --test differential
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod robustness_support;

use robustness_support::*;

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
