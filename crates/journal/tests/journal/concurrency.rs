//! One journal shared by threads: every write lands, ids are unique.

use std::collections::BTreeSet;
use std::sync::Arc;

use custody_journal::Outcome;
use serde_json::json;

use crate::support::{intent, journal_with_case};

#[test]
fn eight_threads_writing_intents_and_outcomes_all_land() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 20;
    let (_dir, journal) = journal_with_case();
    let journal = Arc::new(journal);
    let before = journal.writes();

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let journal = Arc::clone(&journal);
            std::thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|n| {
                        let step = format!("t{t}-s{n}");
                        let id = journal.intend(&intent("IR-1", &step, "ec2:CopySnapshot")).unwrap();
                        let result = json!({"thread": t, "n": n});
                        journal.record_outcome(id, &Outcome::Ok { result, request_id: None }).unwrap();
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();

    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), THREADS * PER_THREAD);
    let entries = journal.entries("IR-1").unwrap();
    assert_eq!(entries.len(), THREADS * PER_THREAD);
    for entry in &entries {
        let (t, n) = entry.intent.step_id.trim_start_matches('t').split_once("-s").unwrap();
        let want = Outcome::Ok {
            result: json!({"thread": t.parse::<usize>().unwrap(), "n": n.parse::<usize>().unwrap()}),
            request_id: None,
        };
        assert_eq!(entry.outcome.as_ref(), Some(&want), "{}", entry.intent.step_id);
    }
    assert_eq!(journal.writes() - before, (2 * THREADS * PER_THREAD) as u64);
}
