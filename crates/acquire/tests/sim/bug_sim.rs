//! A bug in custody (a task of the run that panicked) is reported as a bug in custody, saying what
//! to send, and not as an inconsistent plan.

use crate::support::*;
use custody_acquire::{AcquireError, Event, Progress};

/// A progress callback that panics when a step whose id contains `at` starts: a stand-in for a bug in
/// the task running that step.
fn panicking_at(h: &Harness, at: &'static str) -> Progress {
    let events = h.events.clone();
    Progress::new(move |event| {
        if let Event::Step { step, .. } = event {
            if step.contains(at) {
                panic!("a bug, for the test, at step {step}");
            }
        }
        events.lock().unwrap().push(event.clone());
    })
}

/// Acquires `e` on `h` with the task of the step whose id contains `at` panicking.
async fn acquired_with_a_panic(h: &Harness, e: Example, at: &'static str) -> AcquireError {
    let (planned, preflight) = plan_and_check(&h.inv, e.instance, e.mode);
    let case = h.new_case(&planned);
    match h.executor_with(panicking_at(h, at)).acquire(&case, vec![(planned, Some(preflight))]).await {
        Ok(report) => panic!("the run went on past a panic: {report:?}"),
        Err(e) => e,
    }
}

fn assert_reported_as_a_bug(e: &AcquireError, journal: &str) {
    assert!(matches!(e, AcquireError::Bug { .. }), "not reported as a bug: {e:?}");
    let text = e.to_string();
    assert!(!text.contains("the plan is inconsistent"), "{text}");
    assert!(text.contains("a bug in custody"), "{text}");
    assert!(text.contains(&format!("the case id ({CASE})")), "{text}");
    assert!(text.contains("`custody --version`"), "{text}");
    assert!(text.contains(&format!("the journal file ({journal})")), "{text}");
}

#[tokio::test]
async fn a_panic_in_an_instance_task_is_a_bug_in_custody() {
    let h = Harness::new(PATH_1);
    let e = acquired_with_a_panic(&h, PATH_1, "discover").await;
    assert_reported_as_a_bug(&e, "an in-memory journal");
    assert!(e.to_string().starts_with("run an instance: a task panicked"), "{e}");
}

#[tokio::test]
async fn a_panic_in_a_volume_task_is_a_bug_in_custody_and_names_the_journal_file() {
    let h = Harness::with_file_journal(inventory(PATH_3.file));
    let e = acquired_with_a_panic(&h, PATH_3, ":vol-").await;
    let file = h.journal.path().unwrap().display().to_string();
    assert_reported_as_a_bug(&e, &file);
    assert!(e.to_string().starts_with("run a volume: a task panicked"), "{e}");
}
