//! Whatever the executor hands the journal comes back unchanged.

use custody_journal::{Intent, Journal, Outcome};
use proptest::prelude::*;
use serde_json::Value;

use crate::support::case;

/// Arbitrary JSON: nulls, booleans, integers of both signs, floats, any strings, nested arrays and objects.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn intents_and_outcomes_round_trip(
        params in json(),
        result in json(),
        step_id in any::<String>(),
        api in any::<String>(),
        signer in any::<String>(),
        request_id in proptest::option::of(any::<String>()),
    ) {
        let journal = Journal::open_in_memory().unwrap();
        journal.create_case(&case("IR-1")).unwrap();
        let sent = Intent {
            case_id: "IR-1".to_string(),
            instance_id: "i-1".to_string(),
            step_id: step_id.clone(),
            api: api.clone(),
            account: "444455556666".to_string(),
            region: "us-east-1".to_string(),
            signer,
            params,
        };
        let id = journal.intend(&sent).unwrap();
        let outcome = Outcome::Ok { result, request_id };
        journal.record_outcome(id, &outcome).unwrap();
        let entry = journal.last_entry("IR-1", "i-1", &step_id, &api).unwrap().unwrap();
        prop_assert_eq!(entry.intent, sent);
        prop_assert_eq!(entry.outcome, Some(outcome));
    }
}
