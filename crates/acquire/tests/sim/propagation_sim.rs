//! KMS's eventual consistency on the simulated cloud ([`custody_sim::SimWorld::set_authz_lag`]):
//! a new grant or alias authorizes nothing for a while. KMS documents "a brief delay, usually less
//! than five minutes, until the grant is available throughout AWS KMS" (KMS API Reference,
//! CreateGrant, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>) and "up to
//! five minutes for alias changes to affect KMS key authorization" (KMS Developer Guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>); EC2 takes no
//! grant token for a copy, so a copy made too early ends in `error`, "Given key ID is not accessible"
//! (EBS User Guide, <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>).
//! Path 5 copies right after its CreateGrant, path 8 through the temporary key's alias right after
//! CreateAlias: the executor must wait and retry, within a bounded window.

use crate::support::*;
use custody_acquire::wait::WaitSettings;
use custody_acquire::Event;
use std::time::Duration;

/// Calls (ticks of the world's clock) before a new grant or alias authorizes: more than a copy and
/// its polls take, so a copy made at once fails, and less than the few attempts the executor makes.
const LAG: u64 = 20;

fn retries(h: &Harness, api: &str) -> Vec<String> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Retrying { api: a, why, .. } if a == api => Some(why),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_5_waits_for_its_new_grant_before_it_copies() {
    let h = Harness::new(PATH_5);
    h.world.set_authz_lag(LAG);
    let planned = plan_and_check(&h.inv, PATH_5.instance, PATH_5.mode);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    let probes = retries(&h, "kms:DescribeKey");
    assert!(!probes.is_empty(), "the grant was probed for before the copy");
    assert!(probes.iter().all(|w| w.contains("to take effect in KMS")), "{probes:?}");
    // The probe proves a grant of the forensic role in effect (DescribeKey is not constrained to a
    // volume), not this volume's: a copy that still failed was made again, never given up.
    let copies = retries(&h, "ec2:CopySnapshot");
    assert!(copies.iter().all(|w| w.contains("Given key ID is not accessible")), "{copies:?}");
    assert!(copies_kept(&h, PATH_5.instance).is_ok());
}

/// Path 8's forensic role reaches the temporary key only by its new alias: before the copy, it asks
/// DescribeKey until the alias authorizes, so no copy is made (and fails) too early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_8_waits_for_its_new_alias_before_it_copies() {
    let h = Harness::new(PATH_8);
    h.world.set_authz_lag(LAG);
    let planned = plan_and_check(&h.inv, PATH_8.instance, PATH_8.mode);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    let probes = retries(&h, "kms:DescribeKey");
    assert!(!probes.is_empty(), "the alias was probed for before the copy");
    assert!(
        probes.iter().all(|w| w.contains("and its alias alias/custody-") && w.contains("to take effect")),
        "{probes:?}"
    );
    // The probe is the forensic role's own DescribeKey, made directly.
    let described: Vec<_> = h
        .world
        .calls()
        .into_iter()
        .filter(|c| c.api == "kms:DescribeKey" && c.principal.contains("assumed-role/CustodyForensic/"))
        .collect();
    assert!(described.iter().any(|c| c.result.is_err()) && described.iter().any(|c| c.result.is_ok()));
    // Once allowed, each copy was made once: nothing failed, nothing is left.
    assert!(retries(&h, "ec2:CopySnapshot").is_empty(), "{:?}", retries(&h, "ec2:CopySnapshot"));
    assert!(left(&report).is_empty(), "{:?}", left(&report));
    assert!(copies_kept(&h, PATH_8.instance).is_ok());
}

/// KMS is eventually consistent host by host: the probe's DescribeKey may be allowed while the host
/// EC2 reaches during the copy does not know the alias yet. A copy that fails for it is made again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_8_makes_a_copy_that_failed_for_its_new_alias_again() {
    let h = Harness::new(PATH_8);
    h.world.set_authz_lag(LAG);
    h.world.set_service_authz_lag(LAG);
    let planned = plan_and_check(&h.inv, PATH_8.instance, PATH_8.mode);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    let copies = retries(&h, "ec2:CopySnapshot");
    assert!(!copies.is_empty(), "a copy failed while the alias propagated, and was made again");
    assert!(copies.iter().all(|w| w.contains("Given key ID is not accessible") && w.contains("holds no data")));
    assert!(copies.len() < 3 * 4, "at most four copies again per volume: {copies:?}");
    // The report says what each failed copy is, and how to remove it.
    let left = left(&report);
    assert_eq!(left.len(), copies.len(), "{left:#?}");
    assert!(left.iter().all(|l| l.contains("holds no data") && l.contains("--discard-evidence snap-")), "{left:#?}");
    // Every volume has its evidence, completed, in the forensic account.
    assert_eq!(h.shape().len(), 3);
    assert!(copies_kept(&h, PATH_8.instance).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_window_a_copy_made_before_the_grant_works_fails() {
    // What AWS does, and what the executor did before it waited: the copy ends in error.
    for e in [PATH_5, PATH_8] {
        let h = Harness::new(e);
        h.world.set_authz_lag(LAG);
        let planned = plan_and_check(&h.inv, e.instance, e.mode);
        let wait = WaitSettings { propagation: Duration::ZERO, min_looks: 1, ..WaitSettings::quick() };
        let (p, check) = planned.clone();
        let report = h.executor_waiting(h.progress(), wait).acquire(&h.new_case(&p), vec![(p, Some(check))]).await;
        let report = report.unwrap();
        assert!(!report.succeeded, "{}", e.file);
        let errors = volume_errors(&report);
        assert!(errors.iter().any(|(_, why)| why.contains("Given key ID is not accessible")), "{}: {errors:?}", e.file);
        // The evidence of every volume survives: the source snapshot of a volume whose copy failed is kept.
        assert!(copies_kept(&h, e.instance).is_ok(), "{}", e.file);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_that_never_takes_effect_fails_the_copy_once_the_window_has_passed() {
    let h = Harness::new(PATH_5);
    h.world.set_authz_lag(u64::MAX / 2);
    let planned = plan_and_check(&h.inv, PATH_5.instance, PATH_5.mode);
    let wait = WaitSettings { propagation: Duration::from_millis(300), ..WaitSettings::quick() };
    let (p, check) = planned.clone();
    let report = h.executor_waiting(h.progress(), wait).acquire(&h.new_case(&p), vec![(p, Some(check))]).await;
    let report = report.unwrap();
    assert!(!report.succeeded);
    let warnings: Vec<String> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Warning { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(warnings.iter().any(|w| w.contains("is still not usable after")), "{warnings:?}");
    let errors = volume_errors(&report);
    assert!(errors.iter().all(|(_, why)| why.contains("Given key ID is not accessible")), "{errors:?}");
    assert!(copies_kept(&h, PATH_5.instance).is_ok());
}

/// A kill at every third journal write of a run whose copies fail while the alias propagates, then a
/// resume: every copy made again is journaled like the first, so whatever the kill, the resume ends
/// with each volume's evidence completed in the forensic account and nothing temporary left. (Every
/// third: each copy made again writes its intent, outcome and record, so a third lands on each kind
/// in turn, and the whole suite stays within CI's time; every write passed when run once.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_while_it_makes_failed_copies_again_resumes_to_the_same_evidence() {
    let inv = inventory(PATH_8.file);
    let planned = plan_and_check(&inv, PATH_8.instance, PATH_8.mode);
    let writes = {
        let h = Harness::with_inventory(inv.clone());
        h.world.set_authz_lag(LAG);
        h.world.set_service_authz_lag(LAG);
        let report = h.acquire_planned(&planned).await.unwrap();
        assert!(report.succeeded && !retries(&h, "ec2:CopySnapshot").is_empty());
        h.journal.writes()
    };
    for n in (1..writes).step_by(3) {
        let mut h = Harness::with_file_journal(inv.clone());
        h.world.set_authz_lag(LAG);
        h.world.set_service_authz_lag(LAG);
        h.killed_after(&planned, n).await;
        h.reopen();
        let report = h.resume_or_acquire(&planned).await.unwrap_or_else(|e| panic!("n={n}: {e:?}"));
        assert!(report.succeeded, "n={n}: {}", failures(&report));
        let shape = h.shape();
        assert_eq!(shape.len(), 3, "n={n}: {shape:?}");
        assert!(shape.iter().all(|s| s.account == "999999999999"), "n={n}: {shape:?}");
        assert!(h.leftovers().is_empty(), "n={n}: {:#?}", h.leftovers());
        assert!(h.open_temporaries().is_empty(), "n={n}: {:#?}", h.open_temporaries());
        assert!(copies_kept(&h, PATH_8.instance).is_ok(), "n={n}");
    }
}
