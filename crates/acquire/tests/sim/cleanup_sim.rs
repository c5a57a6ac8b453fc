//! `custody cleanup` on the simulated cloud: after a run killed at any journal write (and not
//! resumed), `cleanup_case` removes every temporary resource, found in the journal and in AWS, and
//! leaves the evidence; what it cannot remove it says; `cleanup_orphans` leaves cases marked running.

use crate::support::*;
use custody_acquire::cleanup::cleanup_orphans;
use custody_journal::Status;
use custody_plan::plan::{session_name, TAG_VOLUME};

/// The snapshots cleanup must keep: the evidence recorded, and the source snapshots the journal keeps
/// as evidence in place (path 1 in the instance's account, a run killed before it recorded them as
/// the volume's evidence). Per-volume copies not recorded as evidence are not kept.
fn kept(h: &Harness) -> Vec<String> {
    let snapshots = h.world.snapshots();
    let in_place = h.journal.resources(CASE).unwrap().into_iter().filter(|r| {
        !r.temporary
            && r.removed_at.is_none()
            && snapshots.iter().any(|s| s.id == r.id && !s.tags.contains_key(TAG_VOLUME))
    });
    let mut out = h.evidence_ids();
    out.extend(in_place.map(|r| r.id));
    out
}

/// `e`'s acquisition killed after `n` journal writes, or `None` when it died before opening the case.
async fn killed(e: Example, n: u64) -> Option<Harness> {
    let h = Harness::new(e);
    let planned = plan_and_check(&h.inv, e.instance, e.mode);
    h.journal.crash_after_writes(n);
    let _ = h.acquire_planned(&planned).await;
    h.journal.clear_fault();
    h.journal.case(CASE).unwrap().map(|_| h)
}

async fn writes(e: Example) -> u64 {
    let h = Harness::new(e);
    h.acquire(e.instance, e.mode).await.unwrap();
    h.journal.writes()
}

#[tokio::test]
async fn cleanup_after_a_kill_removes_every_temporary_and_keeps_the_evidence() {
    for e in [PATH_2, PATH_4] {
        for n in 0..=writes(e).await {
            let Some(h) = killed(e, n).await else { continue };
            let evidence = h.shape();
            let cleaned = h.cleanup().await;
            assert!(cleaned.clean(), "{} n={n}: {cleaned:#?}", e.file);
            let leftovers = h.world.leftovers(CASE, &kept(&h), &h.inv.config.alias_prefix);
            assert!(leftovers.is_empty(), "{} n={n}: {leftovers:#?}", e.file);
            assert!(h.open_temporaries().is_empty(), "{} n={n}", e.file);
            assert_eq!(h.shape(), evidence, "{} n={n}: the evidence recorded is untouched", e.file);
        }
    }
}

/// Cross-account: the copies a killed run made in the forensic account and did not record as
/// evidence can be deleted only by the forensic role, whose generated policy grants no
/// `ec2:DeleteSnapshot` there; cleanup removes everything else and names each of those.
#[tokio::test]
async fn cleanup_after_a_kill_across_accounts_removes_the_rest_and_names_what_it_may_not_delete() {
    for e in [PATH_5, PATH_8] {
        for n in 0..=writes(e).await {
            let Some(h) = killed(e, n).await else { continue };
            let cleaned = h.cleanup().await;
            assert!(h.open_temporaries().is_empty(), "{} n={n}: {:#?}", e.file, h.open_temporaries());
            for l in h.world.leftovers(CASE, &kept(&h), &h.inv.config.alias_prefix) {
                let id = l.split_whitespace().nth(1).unwrap();
                assert!(l.starts_with("snapshot ") && l.contains("account 999999999999"), "{} n={n}: {l}", e.file);
                let named = cleaned.failed.iter().any(|f| f.contains(id) && f.contains("ec2:DeleteSnapshot"));
                assert!(named, "{} n={n}: {l} is not in {:#?}", e.file, cleaned.failed);
            }
        }
    }
}

/// A kill between CreateKey and its journaled answer: the key exists, has no alias yet, and the
/// journal does not know its id; cleanup looks for it by its description with the plan's lookup
/// (kms:ListKeys, granted by the generated policy) and schedules its deletion.
#[tokio::test]
async fn cleanup_after_a_kill_during_create_key_leaves_no_temporary_key() {
    for n in 0..=writes(PATH_8).await {
        let Some(h) = killed(PATH_8, n).await else { continue };
        h.cleanup().await;
        let keys: Vec<String> = h.leftovers().into_iter().filter(|l| l.starts_with("key ")).collect();
        assert!(keys.is_empty(), "n={n}: {keys:#?}");
    }
}

#[tokio::test]
async fn cleanup_of_a_case_that_succeeded_removes_nothing() {
    for e in PASSING {
        let h = Harness::new(e);
        h.acquire(e.instance, e.mode).await.unwrap();
        let (evidence, snapshots) = (h.shape(), h.world.snapshots().len());
        let cleaned = h.cleanup().await;
        assert!(cleaned.clean() && cleaned.removed.is_empty(), "{}: {cleaned:#?}", e.file);
        assert_eq!((h.shape(), h.world.snapshots().len()), (evidence, snapshots), "{}", e.file);
        assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::Succeeded, "{}", e.file);
    }
}

#[tokio::test]
async fn cleanup_of_orphans_skips_a_case_marked_running() {
    let h = killed(PATH_5, 30).await.unwrap();
    assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::Running);
    let (leftovers, calls) = (h.leftovers(), h.world.calls().len());
    assert!(!leftovers.is_empty());
    let base = h.world.cloud_as(&h.forensic_role(), &session_name(CASE));
    let cleaned = cleanup_orphans(&h.journal, base, &h.forensic_role(), &h.progress()).await.unwrap();
    assert!(cleaned.removed.is_empty() && cleaned.failed.is_empty(), "{cleaned:#?}");
    assert_eq!(cleaned.skipped.len(), 1);
    let skipped = &cleaned.skipped[0];
    assert!(skipped.contains("IR-7 is marked running") && skipped.contains("--resume IR-7"), "{skipped}");
    assert_eq!((h.leftovers(), h.world.calls().len()), (leftovers, calls), "nothing was touched");
}

#[tokio::test]
async fn cleanup_of_orphans_cleans_a_case_that_ended() {
    let h = Harness::new(PATH_4_REFUSED);
    let report = h.acquire(PATH_4_REFUSED.instance, PATH_4_REFUSED.mode).await.unwrap();
    assert!(!report.succeeded && !h.open_temporaries().is_empty());
    let base = h.world.cloud_as(&h.forensic_role(), &session_name(CASE));
    let cleaned = cleanup_orphans(&h.journal, base, &h.forensic_role(), &h.progress()).await.unwrap();
    assert!(cleaned.clean() && cleaned.skipped.is_empty() && cleaned.removed.len() == 2, "{cleaned:#?}");
    assert!(h.leftovers().is_empty() && h.open_temporaries().is_empty());
    assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::CleanedUp);
}
