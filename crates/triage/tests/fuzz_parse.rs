//! Robustness of the triage output parsers: what a compromised instance prints (it knows the nonce,
//! which is in the command it runs) never panics [`parse_collection_from`] or [`parse_memory_from`],
//! and what they keep stays within their limits, whatever the bytes. Arbitrary bytes, markers of
//! this run mixed with hostile values, and a valid collection with bytes spliced in.
//!
//! The case count comes from `CUSTODY_FUZZ_CASES` (default 256). A long run:
//!
//! ```console
//! $ CUSTODY_FUZZ_CASES=2000000 cargo test --release --workspace --test triage -- fuzz_parse::
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_triage::parse::{
    parse_collection_from, parse_memory_from, MAX_BODY_BYTES, MAX_LINE_BYTES, MAX_NOTES, MAX_PROCESSES, MAX_REGIONS,
    MAX_SECTIONS,
};
use proptest::prelude::*;

const N: &str = "0123abcd";

fn cases() -> u32 {
    std::env::var("CUSTODY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// A value a hostile line may carry: empty, long, control characters, bidi overrides, invalid
/// UTF-8 shown as text, numbers at and past their limits, other nonces.
fn hostile_word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9]{1,12}",
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}]{1,8}",
        Just("ffffffffffffffffffff".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("=".repeat(5)),
        Just("QUJD".to_string()),
        Just("QQ==".to_string()),
        Just("@@CUSTODY".to_string()),
        Just("ffff".to_string()),
        Just(N.to_string()),
        Just("\r".to_string()),
        (1usize..3).prop_map(|n| "x".repeat(n * 1000)),
    ]
}

const KEYWORDS: &[&str] = &[
    "TRIAGE",
    "SECTION",
    "BEGIN",
    "END",
    "ok",
    "partial",
    "unavailable",
    "NOTE",
    "MEMORY",
    "REGION",
    "SHA256",
    "LIMIT",
    "SKIP",
];

/// One line: a marker of this run (or another), keywords and hostile values, or base64-ish data.
fn hostile_line() -> impl Strategy<Value = String> {
    let word = prop_oneof![prop::sample::select(KEYWORDS).prop_map(str::to_string), hostile_word()];
    prop_oneof![
        4 => prop::collection::vec(word, 0..6).prop_map(|w| format!("@@CUSTODY {N} {}", w.join(" "))),
        1 => prop::collection::vec(hostile_word(), 0..4).prop_map(|w| format!("@@CUSTODY ffff {}", w.join(" "))),
        2 => "[A-Za-z0-9+/=]{0,80}",
        1 => hostile_word(),
    ]
}

fn hostile_text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(hostile_line(), 0..60).prop_map(|lines| lines.join("\n").into_bytes())
}

/// A valid collection, as the fake instance prints it.
fn valid() -> Vec<u8> {
    let mut out = format!("@@CUSTODY {N} TRIAGE linux 2 BEGIN\n");
    for s in custody_triage::script::SECTIONS {
        out.push_str(&format!("@@CUSTODY {N} SECTION {s} BEGIN\n{s} data\n@@CUSTODY {N} SECTION {s} END ok\n"));
    }
    out.push_str(&format!("@@CUSTODY {N} MEMORY 1 BEGIN x\n@@CUSTODY {N} REGION 1000 r-- x\nQUJD\n"));
    out.push_str(&format!("@@CUSTODY {N} SHA256 {} 3\n@@CUSTODY {N} MEMORY 1 END\n", "0".repeat(64)));
    (out + &format!("@@CUSTODY {N} TRIAGE END\n")).into_bytes()
}

/// Both parsers, on `bytes`, with their limits checked.
fn check(bytes: &[u8]) {
    // A small read buffer: lines cross buffer boundaries everywhere.
    let c = parse_collection_from(std::io::BufReader::with_capacity(7, bytes), N).unwrap();
    assert!(c.sections.len() <= MAX_SECTIONS);
    assert!(c.sections.iter().map(|s| s.body.len()).sum::<usize>() <= MAX_BODY_BYTES);
    assert!(c.sections.iter().all(|s| s.notes.len() <= MAX_NOTES && s.notes.iter().all(|n| n.len() <= MAX_LINE_BYTES)));
    assert!(c.sections.iter().all(|s| s.name.len() <= MAX_LINE_BYTES));
    let m = parse_memory_from(std::io::BufReader::with_capacity(5, bytes), N).unwrap();
    assert!(m.processes.len() <= MAX_PROCESSES);
    assert!(m.processes.iter().map(|p| p.regions.len()).sum::<usize>() <= MAX_REGIONS);
    assert!(m.notes.len() <= MAX_NOTES + 4);
    assert!(m.processes.iter().all(|p| p.skipped.len() <= MAX_NOTES));
    // What they return serializes (the journal records it).
    serde_json::to_string(&c).unwrap();
    serde_json::to_string(&m).unwrap();
}

proptest! {
    // No regressions file: a failure is printed, shrunk, for the note or the issue; none is written beside the sources.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        check(&bytes);
    }

    #[test]
    fn hostile_markers_never_panic_and_stay_bounded(bytes in hostile_text()) {
        check(&bytes);
    }

    #[test]
    fn bytes_spliced_into_a_valid_output_never_panic(
        at in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        insert in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = valid();
        let at = at.index(bytes.len());
        bytes.splice(at..at, insert);
        let cut = cut.index(bytes.len() + 1);
        check(&bytes[..cut]);
    }
}

/// A line far past the limit, and a section and a region that never end, in one stream: bounded.
#[test]
fn an_endless_line_and_endless_region_stay_bounded() {
    let mut bytes = format!("@@CUSTODY {N} SECTION processes BEGIN\n").into_bytes();
    bytes.extend(std::iter::repeat_n(b'z', MAX_LINE_BYTES * 4));
    bytes.extend_from_slice(format!("\n@@CUSTODY {N} MEMORY 1 BEGIN\n@@CUSTODY {N} REGION 0 r\n").as_bytes());
    for _ in 0..20_000 {
        bytes.extend_from_slice(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n");
    }
    check(&bytes);
}
