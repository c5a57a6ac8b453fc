//! The stop flag (Ctrl-C): set while a copy is under way, no new step starts, the copy's wait ends,
//! and cleanup runs; the report says interrupted and the journal marks the case so.

use crate::support::*;
use custody_acquire::{AcquireReport, Event, Progress};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Acquires `e` with a progress callback that sets the executor's stop flag as soon as a step whose
/// id starts with `at` waits for its snapshot (the copy is under way: a copy that rests on a new grant
/// first probes for it, and a stop then would start no copy at all).
async fn stopped_at(e: Example, at: &'static str) -> (Harness, AcquireReport) {
    let h = Harness::new(e);
    let flag: Arc<OnceLock<Arc<AtomicBool>>> = Arc::new(OnceLock::new());
    let events = h.events.clone();
    let progress = {
        let flag = flag.clone();
        Progress::new(move |event| {
            if let (Event::Waiting { step, .. }, Some(stop)) = (event, flag.get()) {
                if step.starts_with(at) {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            events.lock().unwrap().push(event.clone());
        })
    };
    let executor = h.executor_with(progress);
    flag.set(executor.stop_flag()).unwrap();
    let planned = plan_and_check(&h.inv, e.instance, e.mode);
    let case = h.new_case(&planned.0);
    let report = executor.acquire(&case, vec![(planned.0, Some(planned.1))]).await.unwrap();
    (h, report)
}

/// The changing calls made after the first CopySnapshot.
fn changes_after_the_first_copy(h: &Harness) -> Vec<String> {
    let calls = h.world.calls();
    let first = calls.iter().position(|c| c.api == "ec2:CopySnapshot").unwrap();
    calls[first + 1..].iter().filter(|c| !reads(&c.api)).map(|c| format!("{} {}", c.api, c.params)).collect()
}

#[tokio::test]
async fn a_stop_during_the_first_copy_starts_no_step_but_cleanup() {
    let (h, report) = stopped_at(PATH_5, "copy-").await;
    assert!(report.interrupted && !report.succeeded);
    let errors = volume_errors(&report);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors.iter().all(|(_, e)| e.contains("interrupted")), "{errors:#?}");
    assert_eq!(h.world.calls().iter().filter(|c| c.api == "ec2:CopySnapshot").count(), 1);
    // After the stop: only what cleanup does (retire the grant, stop sharing), nothing that creates.
    for change in changes_after_the_first_copy(&h) {
        let cleanup = ["kms:RetireGrant", "ec2:ModifySnapshotAttribute", "ec2:DeleteSnapshot"];
        assert!(cleanup.iter().any(|api| change.starts_with(api)), "{change}");
        assert!(!change.contains(" add "), "{change}");
    }
    assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, custody_journal::Status::Interrupted);
}

#[tokio::test]
async fn a_stop_keeps_only_the_source_snapshots_and_reports_the_copy_under_way() {
    let (h, report) = stopped_at(PATH_5, "copy-").await;
    let left = left(&report);
    let open: Vec<String> = h.open_temporaries().into_iter().map(|r| r.id).collect();
    let sources: Vec<String> = h
        .world
        .snapshots()
        .into_iter()
        .filter(|s| s.volume_id.as_deref() != Some("vol-ffffffff"))
        .map(|s| s.id)
        .collect();
    assert_eq!(open, sources, "only the kept source snapshots stay open");
    for id in &sources {
        assert!(left.iter().any(|l| l.contains(id) && l.contains("kept")), "{id}: {left:#?}");
    }
    let copy = h.world.snapshots().into_iter().find(|s| s.volume_id.as_deref() == Some("vol-ffffffff")).unwrap();
    assert!(left.iter().any(|l| l.contains(&copy.id) && l.contains("not waited for")), "{left:#?}");
    // No grant, share, key or alias left: the leftovers are those snapshots.
    let leftovers = h.leftovers();
    assert_eq!(leftovers.len(), sources.len() + 1, "{leftovers:#?}");
    assert!(leftovers.iter().all(|l| l.starts_with("snapshot ") && l.contains("is not evidence")), "{leftovers:#?}");
}

/// After a stop during the first copy, cleanup waits for the copy under way, records it as evidence
/// (it was found complete), then deletes that volume's source snapshot; the volumes whose copy never
/// started keep their source snapshots. Regression: cleanup used to delete both the copy under way and
/// the kept sources, leaving volumes with no copy at all.
#[tokio::test]
async fn cleanup_after_a_stop_records_the_copy_under_way_and_keeps_the_other_sources() {
    let (h, report) = stopped_at(PATH_2, "copy-").await;
    assert!(report.interrupted);
    let copy = h.world.snapshots().into_iter().find(|s| s.volume_id.as_deref() == Some("vol-ffffffff")).unwrap();
    let cleaned = h.cleanup().await;
    assert!(cleaned.clean(), "{cleaned:#?}");
    assert!(h.evidence_ids().contains(&copy.id), "{cleaned:#?}");
    assert!(cleaned.recorded.iter().any(|r| r.contains(&copy.id)), "{cleaned:#?}");
    let kept = copies_kept(&h, PATH_2.instance).unwrap();
    assert!(kept.contains(&copy.id));
    assert!(h.world.leftovers(CASE, &kept, &h.inv.config.alias_prefix).is_empty(), "{:#?}", h.leftovers());
    assert_eq!(kept.len(), h.inv.instance(PATH_2.instance).unwrap().volumes.len());
}
