//! How the fuzz targets (`tests/fuzz_*.rs`) run: proptest strategies, arbitrary bytes and
//! structured-but-hostile values, as many cases as `CUSTODY_FUZZ_CASES` says (256 by default, so that
//! the normal test run stays quick), or for `CUSTODY_FUZZ_SECONDS` of wall time per test when that is
//! set (a long run, cases without end until then). A panic, an overflow included, is a failure that
//! proptest shrinks to a small input.
#![allow(dead_code, unused_imports, reason = "test support: each test crate uses a part of it")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

pub use proptest::prelude::*;
pub use proptest::sample::select;
pub use proptest::test_runner::TestCaseError;
use proptest::test_runner::{Config, TestRunner};
pub use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `test` on values of `strategy`; fails the test with the (shrunk) input on the first
/// failure or panic.
pub fn fuzz<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let deadline = env_number("CUSTODY_FUZZ_SECONDS").map(|s| Instant::now() + Duration::from_secs(s));
    let cases = match deadline {
        Some(_) => 10_000,
        None => env_number("CUSTODY_FUZZ_CASES").unwrap_or(256).try_into().unwrap_or(u32::MAX),
    };
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config.clone());
    let mut batches = 0u64;
    loop {
        if let Err(failure) = runner.run(&strategy, &test) {
            panic!("{failure}");
        }
        batches += 1;
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
        // A runner counts its successes for good: run again, it would run no case at all. A new one
        // per batch, its random source forked from the last one's, so that no batch repeats another.
        runner = TestRunner::new_with_rng(config.clone(), runner.new_rng());
    }
    if deadline.is_some() {
        eprintln!("{} cases, no failure", batches * u64::from(cases));
    }
}

/// Strings no honest answer holds: empty, huge digits, control characters, paths, wrong case.
pub const HOSTILE_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "+1",
    "01",
    "1e3",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "2147483648",
    "524288",
    "65536",
    "65537",
    "SHA256",
    "sha256",
    "SHA-256",
    "snap-0123abcd",
    "snap-0123456789abcdef0",
    "../../x",
    "snap-../../x",
    "/etc/passwd",
    "a/b",
    "..",
    "\u{0}",
    "\u{1b}[31m",
    "\u{202e}",
    "\n",
    "é",
    "AAAA",
    "A===",
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "ThrottlingException",
    "com.amazonaws.ebs#ValidationException",
    "AccessDeniedException:http://internal.amazon.com/",
    "#",
    ":",
];

/// A JSON leaf: numbers at every boundary, hostile strings, anything.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => select(&[0i64, 1, -1, 524_288, 65_536, 65_537, 2048, i64::MAX, i64::MIN, i32::MAX as i64][..])
            .prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        4 => select(HOSTILE_STRINGS).prop_map(Value::from),
        2 => "\\PC{0,12}".prop_map(Value::from),
    ]
}

/// Any JSON value, keys drawn mostly from `keys`.
pub fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![6 => select(keys).prop_map(str::to_string), 1 => "\\PC{0,8}"];
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every node of `v`, in preorder, as JSON pointers.
pub fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
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

/// `base` with one to three nodes replaced by hostile values, removed, or given a new member.
pub fn mutated(base: Value, keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    let edit = (select(all), 0u8..4, select(keys), json_value(keys));
    prop::collection::vec(edit, 1..4).prop_map(move |edits| {
        let mut value = base.clone();
        for (pointer, how, key, new) in edits {
            let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", ""));
            match how {
                0 => {
                    if let Some(Value::Object(m)) = value.pointer_mut(parent) {
                        m.remove(last);
                    }
                }
                1 => {
                    if let Some(Value::Object(m)) = value.pointer_mut(&pointer) {
                        m.insert(key.to_string(), new);
                    }
                }
                _ => {
                    if let Some(slot) = value.pointer_mut(&pointer) {
                        *slot = new;
                    }
                }
            }
        }
        value
    })
}

/// `text` with a few bytes spliced in at some place, some cut.
pub fn spliced(text: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    (any::<prop::sample::Index>(), 0usize..8, prop::collection::vec(any::<u8>(), 0..12)).prop_map(
        move |(at, cut, bytes)| {
            let i = at.index(text.len() + 1);
            let mut out = text[..i].to_vec();
            out.extend_from_slice(&bytes);
            out.extend_from_slice(&text[(i + cut).min(text.len())..]);
            out
        },
    )
}
