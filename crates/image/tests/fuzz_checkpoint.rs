//! Fuzzing the checkpoint reader: a checkpoint is read back on resume from a directory others may
//! write to, after a run that may have been killed mid-line. Arbitrary bytes, and a header followed by
//! hostile lines: never a panic, and an accepted checkpoint keeps only whole lines.
//!
//! ```console
//! $ cargo test --workspace --test image -- fuzz_checkpoint::                               # 256 cases each
//! $ CUSTODY_FUZZ_SECONDS=900 target/debug/deps/image-<hash> fuzz_checkpoint:: --test-threads 1  # 2 tests, 30 min
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::fuzz_support;

use custody_image::checkpoint::{header, parse};
use fuzz_support::*;

fn expected_header() -> String {
    header("snap-0123456789abcdef0", 1)
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let header = expected_header();
    match parse(bytes, &header) {
        Ok(loaded) => {
            let len = usize::try_from(loaded.valid_len).unwrap();
            // Whole lines only: the part kept ends a line, after the header.
            prop_assert!(len <= bytes.len(), "{} > {}", len, bytes.len());
            prop_assert!(bytes[..len].starts_with(header.as_bytes()));
            prop_assert_eq!(bytes[len - 1], b'\n');
        }
        Err(message) => prop_assert!(!message.is_empty()),
    }
    Ok(())
}

#[test]
fn checkpoints_of_arbitrary_bytes_never_panic() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|tail| {
            let mut bytes = format!("{}\n", expected_header()).into_bytes();
            bytes.extend(tail);
            bytes
        }),
    ];
    fuzz(bytes, |bytes| check(&bytes));
}

#[test]
fn a_header_and_hostile_lines_never_panic_and_keep_whole_lines() {
    let index = prop_oneof![
        3 => (0u64..3000).prop_map(|i| i.to_string()),
        1 => select(HOSTILE_STRINGS).prop_map(str::to_string),
        1 => any::<u64>().prop_map(|i| i.to_string()),
    ];
    let sum = prop_oneof![
        3 => Just("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_string()),
        1 => select(HOSTILE_STRINGS).prop_map(str::to_string),
        1 => "[A-Za-z0-9+/=]{0,50}",
    ];
    let line = (index, prop_oneof![Just(" "), Just(""), Just("\t")], sum).prop_map(|(i, s, c)| format!("{i}{s}{c}"));
    let header = prop_oneof![6 => Just(expected_header()), 1 => select(HOSTILE_STRINGS).prop_map(str::to_string)];
    let newline = prop_oneof![Just("\n"), Just("\r\n")];
    let text = (header, prop::collection::vec(line, 0..10), newline, any::<bool>()).prop_map(|(h, lines, nl, torn)| {
        let mut text = format!("{h}\n");
        for line in lines {
            text.push_str(&line);
            text.push_str(nl);
        }
        if torn {
            text.push_str("12 47DEQpj8"); // a killed run's last, torn line
        }
        text
    });
    fuzz(text, |text| check(text.as_bytes()));
}
