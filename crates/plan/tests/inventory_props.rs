//! Property: loading never panics, whatever the input: arbitrary text, arbitrary JSON, and the bundled
//! examples with any one element replaced by arbitrary JSON, removed, or re-typed. And a mutation
//! that is refused is refused with a path that exists in the document (or a line and column).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::parse_inventory;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::OnceLock;

/// The bundled examples, read once.
fn examples() -> &'static [Value] {
    static EXAMPLES: OnceLock<Vec<Value>> = OnceLock::new();
    EXAMPLES.get_or_init(read_examples)
}

fn read_examples() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

/// Every JSON pointer in `v`, the root included.
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            m.iter().for_each(|(k, x)| pointers(x, format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| pointers(x, format!("{here}/{i}"), out)),
        _ => {}
    }
    out.push(here);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".*".prop_map(Value::String),
        // Strings that look like the identifiers the format uses, so the deeper checks are reached.
        prop_oneof![
            Just("custody-inventory/1"),
            Just("111122223333"),
            Just("eu-west-1"),
            Just("AWS"),
            Just("CUSTOMER"),
            Just("policy"),
            Just("arn:aws:iam::111122223333:role/CustodySource"),
            Just("arn:aws:sts::111122223333:assumed-role/CustodySource/s"),
            Just("arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005"),
            Just("alias/aws/ebs"),
            Just("vol-05e5e5e5e5e5e5e50"),
            Just("i-05e5e5e5e5e5e5e5e"),
            Just("scps:111122223333"),
            Just("2012-10-17"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z_:/]{0,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What to do at the chosen element.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    /// Wrap the element in an array (a common type slip).
    Wrap,
    /// Serialize the element into a string (what IAM does to policies).
    Stringify,
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => arb_json().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        1 => Just(Mutation::Wrap),
        1 => Just(Mutation::Stringify),
    ]
}

fn mutate(doc: &mut Value, pointer: &str, m: &Mutation) {
    if let Mutation::Remove = m {
        if let Some((parent, last)) = pointer.rsplit_once('/') {
            match doc.pointer_mut(parent) {
                Some(Value::Object(o)) => drop(o.remove(&last.replace("~1", "/").replace("~0", "~"))),
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        return;
    }
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = match m {
            Mutation::Replace(v) => v.clone(),
            Mutation::Wrap => Value::Array(vec![slot.take()]),
            Mutation::Stringify => Value::String(slot.to_string()),
            Mutation::Remove => Value::Null,
        };
    }
}

/// Whether an error path (`keys[1].policy.Statement[0]`) plausibly names a place in the document:
/// its first segment is a top-level field of the input or of the format (a required field may be
/// missing), or it is a line and column, or the top.
fn plausible(path: &str, doc: &Value) -> bool {
    const TOP: &[&str] =
        &["version", "description", "config", "principals", "keys", "instances", "scps", "rcps", "unknown"];
    if path.starts_with("line ") || path == "(top level)" {
        return true;
    }
    let first = path.split(['.', '[']).next().unwrap_or_default();
    TOP.contains(&first) || doc.as_object().is_some_and(|o| o.contains_key(first))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = parse_inventory(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let _ = parse_inventory(&v.to_string());
    }

    #[test]
    fn mutated_examples_never_panic_and_errors_point_into_the_document(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        m in arb_mutation(),
    ) {
        let all = examples();
        let mut doc = which.get(all).clone();
        let mut ptrs = Vec::new();
        pointers(&doc, String::new(), &mut ptrs);
        let pointer = at.get(&ptrs).clone();
        mutate(&mut doc, &pointer, &m);
        if let Err(e) = parse_inventory(&doc.to_string()) {
            prop_assert!(plausible(&e.path, &doc), "path `{}` for a mutation at `{}`: {}", e.path, pointer, e);
            prop_assert!(!e.expected.is_empty());
        }
    }

    #[test]
    fn truncated_examples_never_panic(which in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let all = examples();
        let text = serde_json::to_string_pretty(which.get(all)).unwrap_or_default();
        let mut end = cut.index(text.len().max(1));
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        prop_assert!(parse_inventory(&text[..end]).is_err() || end == text.len());
    }
}
