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
    assert!(report.succeeded, "{}", failures(&report));
    assert_eq!(h.shape().len(), planned.0.volumes.len());
    Baseline { shape: h.shape(), created: h.created(), writes: h.journal.writes() }
}

/// Resumes the case as the examiner would: `custody acquire --resume`, or, when the run was killed
/// before it journaled its plan (nothing was done in AWS then), the same acquisition again.
async fn resumed(h: &Harness, planned: &(Plan, CheckReport), label: &str) {
    let report = h.resume_or_acquire(planned).await.unwrap_or_else(|e| panic!("{label}: {e:?}"));
    assert!(report.succeeded, "{label}: {} left {:?}", failures(&report), left(&report));
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

/// KMS CreateKey takes no idempotency token (KMS API Reference, CreateKey,
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html>): a key whose answer was
/// lost is found only by listing keys. A resume adopts a key only when it carries the run's tags, and
/// looks past keys that merely look alike (same description: another run, another tool), one whose
/// tags the role may not read included, instead of giving up and creating the key a second time; the
/// look-alikes are never touched.
#[tokio::test]
async fn a_resume_adopts_its_own_lost_key_past_look_alike_keys() {
    use custody_plan::plan::Action;
    use custody_plan::plan::TAG_RUN;
    let probe = Harness::new(PATH_8);
    let planned = plan_and_check(&probe.inv, PATH_8.instance, PATH_8.mode);
    let source_role = "arn:aws:iam::111122223333:role/CustodySource";
    let describe_only = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": source_role}, "Action": "kms:DescribeKey", "Resource": "*"}]});
    let keys_planned = planned.0.steps.iter().filter(|s| matches!(s.action, Action::CreateKey { .. })).count();
    let mut lost_answers = 0;
    for n in 0..baseline(&probe.inv, &planned).await.writes {
        let h = Harness::new(PATH_8);
        // Before the run: for every key the plan makes, two keys with its description, tagged for
        // another run; the role may read the tags of the first, not of the second.
        let mut look_alikes = Vec::new();
        for step in &planned.0.steps {
            let Action::CreateKey { description, tags, .. } = &step.action else { continue };
            let policy = step.creates_keys[0].policy.clone();
            let mut other_run = tags.clone();
            other_run.insert(TAG_RUN.to_string(), "r-1-00000000000000ff".to_string());
            for policy in [policy, describe_only.clone()] {
                look_alikes.push(h.world.create_key_outside(
                    "111122223333",
                    "eu-west-1",
                    description,
                    other_run.clone(),
                    policy,
                ));
            }
        }
        h.killed_after(&planned, n).await;
        let lost = h.journal.unfinished(CASE).ok().into_iter().flatten().any(|e| e.intent.api == "kms:CreateKey");
        if !lost || !h.world.calls().iter().any(|c| c.api == "kms:CreateKey" && c.result.is_ok()) {
            continue;
        }
        lost_answers += 1;
        resumed(&h, &planned, &format!("n={n}")).await;
        let made = h.world.calls().iter().filter(|c| c.api == "kms:CreateKey" && c.result.is_ok()).count();
        assert_eq!(made, keys_planned, "n={n}: a key was created twice");
        for arn in &look_alikes {
            let key = h.world.keys().into_iter().find(|k| &k.arn == arn).unwrap();
            assert_eq!(key.state, "Enabled", "n={n}: the look-alike {arn} was touched");
        }
    }
    assert!(lost_answers > 0, "no kill point lost a CreateKey answer");
}
