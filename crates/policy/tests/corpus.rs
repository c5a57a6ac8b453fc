//! The conformance corpus: every case in `tests/corpus/*.json`, written from the AWS documentation
//! (each entry cites the page and rule it checks), evaluated by the library.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod corpus_support;

use corpus_support::{check_entry, corpus_dir, load_corpus};

#[test]
fn corpus_matches_the_aws_documentation() {
    let entries = load_corpus(&corpus_dir(env!("CARGO_MANIFEST_DIR")));
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let outcome = custody_policy::parse_case(&e.case.to_string()).map(|case| {
                let explanation = custody_policy::explain(&case, &custody_policy::evaluate(&case));
                serde_json::to_value(explanation).unwrap_or_default()
            });
            check_entry(e, outcome.as_ref().map_err(|err| err.to_string())).err()
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
