//! Property: reading never panics, whatever the input: arbitrary bytes (plain and gzipped), arbitrary
//! JSON as a file or as a record, and the fixtures with one element replaced by arbitrary JSON or
//! removed. A refusal names the file it was given and a path from `$`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_audit::formats::{read_events_file, records_from_lookup};
use custody_audit::{parse_record, read_events, EventsError};
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

/// The fixtures that read, parsed once.
fn fixtures() -> &'static [Value] {
    static FIXTURES: OnceLock<Vec<Value>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        ["kms-log-file.json", "ec2-kms-log-file.json", "lookup-events.json", "lookup-events-kms.json"]
            .iter()
            .map(|n| serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap())
            .collect()
    })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        // Values the format gives meaning to.
        prop::sample::select(vec!["1.08", "2.0", "2014-11-04T00:53:12Z", "AWS Internal", "ec2.amazonaws.com"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            prop::sample::select(vec![
                "Records",
                "Events",
                "EventId",
                "CloudTrailEvent",
                "NextToken",
                "eventVersion",
                "eventID",
                "eventTime",
                "eventSource",
                "eventName",
                "awsRegion",
                "userIdentity",
                "resources",
                "requestParameters",
                "sessionContext",
            ])
            .prop_map(String::from),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
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

/// `doc` with the element at `pointer` replaced by `with`, or removed when `with` is `None`.
fn mutate(doc: &mut Value, pointer: &str, with: Option<Value>) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        *doc = with.unwrap_or(Value::Null);
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match (doc.pointer_mut(parent), with) {
        (Some(Value::Object(m)), Some(w)) => {
            m.insert(key, w);
        }
        (Some(Value::Object(m)), None) => {
            m.remove(&key);
        }
        (Some(Value::Array(a)), w) => {
            if let Ok(i) = key.parse::<usize>() {
                match w {
                    Some(w) if i < a.len() => a[i] = w,
                    None if i < a.len() => {
                        a.remove(i);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn check(e: &EventsError, file: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&e.file, file);
    prop_assert!(e.path.starts_with('$'), "path `{}`", e.path);
    prop_assert!(!e.expected.is_empty() && !e.found.is_empty(), "{}", e);
    prop_assert!(!e.to_string().chars().any(char::is_control), "control characters in `{}`", e);
    Ok(())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = read_events("f.json", &bytes) {
            check(&e, "f.json")?;
        }
        // With gzip's magic bytes in front: a damaged stream.
        let magic = [[0x1f, 0x8b].as_slice(), &bytes].concat();
        if let Err(e) = read_events("f.json.gz", &magic) {
            check(&e, "f.json.gz")?;
        }
        if let Err(e) = read_events_file("g.json.gz", &gzip(&bytes), 256) {
            check(&e, "g.json.gz")?;
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Err(e) = read_events("f.json", text.as_bytes()) {
            check(&e, "f.json")?;
        }
        let events = [("id".to_string(), text)];
        if let Err(e) = records_from_lookup(&events, "LookupEvents") {
            check(&e, "LookupEvents")?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        if let Err(e) = read_events("f.json", v.to_string().as_bytes()) {
            check(&e, "f.json")?;
        }
        if let Err(e) = parse_record(&v, "$.Records[0]") {
            prop_assert!(e.path.starts_with("$.Records[0]"), "path `{}`", e.path);
        }
        let wrapped = Value::Object(Map::from_iter([("Records".to_string(), Value::Array(vec![v.clone()]))]));
        if let Err(e) = read_events("w.json", wrapped.to_string().as_bytes()) {
            check(&e, "w.json")?;
        }
    }

    #[test]
    fn mutated_fixtures_never_panic_and_errors_name_the_file(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        with in prop::option::of(arb_json()),
    ) {
        let mut doc = which.get(fixtures()).clone();
        let mut ptrs = Vec::new();
        pointers(&doc, String::new(), &mut ptrs);
        let pointer = at.get(&ptrs).clone();
        mutate(&mut doc, &pointer, with);
        if let Err(e) = read_events("m.json", doc.to_string().as_bytes()) {
            check(&e, "m.json")?;
        }
    }
}
