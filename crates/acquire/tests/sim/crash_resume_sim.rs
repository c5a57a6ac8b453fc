//! A kill at every journal write, then a resume: the process is "killed" by making every journal
//! write after the first `n` fail (`Journal::crash_after_writes`), which stops the executor at once
//! with no further AWS call, as a killed process would; then a new executor on the same journal and
//! the same cloud resumes the case. Whatever `n`, the resume must end exactly where a run that was
//! never killed ends: the same evidence (account, Region, key, path, one snapshot per volume),
//! nothing left in the cloud or open in the journal, and no creating call repeated with effect (the
//! snapshots, keys, aliases and grants that ever existed are as many as in the run never killed).

use crate::support::*;
use custody_acquire::{AcquireError, Event};
use custody_journal::Status;
use custody_plan::check::CheckReport;
use custody_plan::inventory::Inventory;
use custody_plan::plan::Plan;

/// How a run that was never killed ends.
struct Baseline {
    shape: Vec<Shape>,
    created: Created,
    /// The journal writes it makes.
    writes: u64,
}

async fn baseline(inv: &Inventory, planned: &(Plan, CheckReport)) -> Baseline {
    let h = Harness::with_inventory(inv.clone());
    let report = h.acquire_planned(planned).await.unwrap();
    assert!(report.succeeded, "{:?}", volume_errors(&report));
    assert_eq!(h.shape().len(), planned.0.volumes.len());
    Baseline { shape: h.shape(), created: h.created(), writes: h.journal.writes() }
}

/// Resumes the case as the examiner would: `custody acquire --resume`, or, when the run was killed
/// before it journaled its plan (nothing was done in AWS then), the same acquisition again.
async fn resumed(h: &Harness, planned: &(Plan, CheckReport), label: &str) {
    let report = h.resume_or_acquire(planned).await.unwrap_or_else(|e| panic!("{label}: {e:?}"));
    assert!(report.succeeded, "{label}: {:?} left {:?}", volume_errors(&report), left(&report));
}

/// The resumed case ended like the baseline.
fn like_baseline(h: &Harness, base: &Baseline, plan: &Plan, label: &str) {
    assert_eq!(h.shape(), base.shape, "{label}: the evidence differs");
    assert!(h.leftovers().is_empty(), "{label}: {:#?}", h.leftovers());
    assert!(h.open_temporaries().is_empty(), "{label}: {:#?}", h.open_temporaries());
    let created = h.created();
    assert_eq!(created.snapshots.len(), base.created.snapshots.len(), "{label}: snapshots {created:?}");
    assert_eq!(created.keys.len(), base.created.keys.len(), "{label}: keys {created:?}");
    assert_eq!(created.aliases.len(), base.created.aliases.len(), "{label}: aliases {created:?}");
    assert_eq!(created.grants.len(), base.created.grants.len(), "{label}: grants {created:?}");
    assert!(
        unplanned_calls(plan, &h.world.calls()).is_empty(),
        "{label}: {:#?}",
        unplanned_calls(plan, &h.world.calls())
    );
    // Looking for what a killed run created may be refused on what is not custody's (DescribeKey on
    // the AWS managed key, say): only reads.
    let refused: Vec<_> =
        h.world.calls().into_iter().filter(|c| !c.refusals().is_empty() && !reads(&c.api)).map(|c| c.api).collect();
    assert!(refused.is_empty(), "{label}: {refused:?} {:#?}", h.refusals());
    assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::Succeeded, "{label}");
}

/// Kills `e`'s acquisition after every number of journal writes a whole run makes, and resumes.
async fn resumes_after_a_kill_at_every_write(inv: Inventory, e: Example) {
    let planned = plan_and_check(&inv, e.instance, e.mode);
    let base = baseline(&inv, &planned).await;
    assert!(base.writes > 10, "{}: {} writes", e.file, base.writes);
    let mut looked_up = 0;
    for n in 0..=base.writes {
        let h = Harness::with_inventory(inv.clone());
        h.killed_after(&planned, n).await;
        let label = format!("{} killed after {n} of {} writes", e.file, base.writes);
        resumed(&h, &planned, &label).await;
        like_baseline(&h, &base, &planned.0, &label);
        looked_up +=
            h.events().iter().filter(|e| matches!(e, Event::Reused { how, .. } if how.starts_with("found "))).count();
    }
    // Some kills fell between a creating call and its journaled answer: the resume found what the
    // call had created instead of creating it again.
    assert!(looked_up > 0, "{}: no kill left a creating call unanswered", e.file);
}

#[tokio::test]
async fn path_2_resumes_after_a_kill_at_every_journal_write() {
    resumes_after_a_kill_at_every_write(inventory(PATH_2.file), PATH_2).await;
}

#[tokio::test]
async fn path_4_resumes_after_a_kill_at_every_journal_write() {
    resumes_after_a_kill_at_every_write(inventory(PATH_4.file), PATH_4).await;
}

#[tokio::test]
async fn path_5_resumes_after_a_kill_at_every_journal_write() {
    resumes_after_a_kill_at_every_write(inventory(PATH_5.file), PATH_5).await;
}

#[tokio::test]
async fn path_6_resumes_after_a_kill_at_every_journal_write() {
    resumes_after_a_kill_at_every_write(inventory(PATH_6.file), PATH_6).await;
}

#[tokio::test]
/// Including the kills where CreateKey was asked and its answer never journaled: the key exists, with
/// no alias, and the resume finds it by its description with the plan's lookup (kms:ListKeys, which
/// the generated policy grants: KMS CreateKey takes no idempotency token, KMS API Reference,
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html>) instead of leaving it.
async fn path_8_resumes_after_a_kill_at_every_journal_write() {
    resumes_after_a_kill_at_every_write(inventory(PATH_8.file), PATH_8).await;
}

#[tokio::test]
async fn a_run_killed_before_its_plan_is_journaled_changed_nothing_and_is_acquired_again() {
    let planned = plan_and_check(&inventory(PATH_2.file), PATH_2.instance, PATH_2.mode);
    for n in [0, 1] {
        let h = Harness::new(PATH_2);
        h.killed_after(&planned, n).await;
        assert!(h.world.calls().is_empty(), "n={n}: {:#?}", h.world.calls());
        match h.resume().await.unwrap_err() {
            AcquireError::Journal(e) => {
                assert_eq!(n, 0);
                assert!(matches!(*e, custody_journal::JournalError::UnknownCase(ref c) if c == CASE), "{e}");
            }
            AcquireError::Refused { step, why } => {
                assert_eq!((n, step.as_str()), (1, "resume"));
                assert!(why.contains("no acquisition in the journal") && why.contains("acquire the instances again"));
            }
            other => panic!("n={n}: {other}"),
        }
        let report = h.acquire_planned(&planned).await.unwrap();
        assert!(report.succeeded && h.leftovers().is_empty(), "n={n}");
    }
}

/// A resume killed in turn, then resumed again: for a sample of (first kill, second kill).
#[tokio::test]
async fn a_resume_killed_in_turn_resumes_again() {
    for (inv, e) in [(inventory(PATH_5.file), PATH_5), (inventory(PATH_8.file), PATH_8)] {
        let planned = plan_and_check(&inv, e.instance, e.mode);
        let base = baseline(&inv, &planned).await;
        for n in (2..base.writes).step_by(5) {
            for m in [0, 1, 3, 8, 20] {
                let h = Harness::with_inventory(inv.clone());
                h.killed_after(&planned, n).await;
                h.journal.crash_after_writes(m);
                match h.resume().await {
                    Ok(_) => {}
                    Err(err) => assert!(err.is_journal(), "{}: n={n} m={m}: {err}", e.file),
                }
                h.journal.clear_fault();
                let label = format!("{} killed after {n} writes, its resume after {m} more", e.file);
                resumed(&h, &planned, &label).await;
                like_baseline(&h, &base, &planned.0, &label);
            }
        }
    }
}

/// The same with the journal in a file, opened again after the kill as a new process would: the
/// resume knows only what reached the disk.
#[tokio::test]
async fn a_killed_run_resumes_from_the_journal_file_alone() {
    let inv = inventory(PATH_5.file);
    let planned = plan_and_check(&inv, PATH_5.instance, PATH_5.mode);
    let base = baseline(&inv, &planned).await;
    for n in (2..base.writes).step_by(7) {
        let mut h = Harness::with_file_journal(inv.clone());
        h.killed_after(&planned, n).await;
        h.reopen();
        let label = format!("{} killed after {n} writes, journal reopened", PATH_5.file);
        resumed(&h, &planned, &label).await;
        like_baseline(&h, &base, &planned.0, &label);
    }
}
