//! The conformance corpus: every case in `tests/corpus/*.json`, written from the AWS documentation
//! (each entry cites the page and rule it checks), evaluated by the library.

mod corpus_support;

use corpus_support::{check_entry, load_corpus};

#[test]
fn corpus_matches_the_aws_documentation() {
    let entries = load_corpus();
    assert!(entries.len() >= 250, "the corpus should hold at least 250 cases, found {}", entries.len());
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let outcome = custody_policy::parse_case(&e.case.to_string())
                .map(|case| custody_policy::explain(&case, &custody_policy::evaluate(&case)));
            check_entry(e, outcome.as_ref().map_err(|err| err.to_string())).err()
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} corpus cases failed:\n{}", failures.len(), entries.len(), failures.join("\n"));
}
