//! What the executor does when AWS (the simulator) refuses, or fails: the refusals the preflight
//! predicts (`4-cross-region.json`, `5-cross-account-no-key-access.json` with `--mode direct`), an
//! instance that is gone or terminated, a disabled key, throttling, and a deletion that fails.

use crate::support::*;
use custody_acquire::{AcquireReport, Event};
use custody_journal::{ResourceKind, Status};
use custody_plan::check::Outcome;
use custody_plan::plan::{plan, Mode, PlanRequest};
use custody_sim::Faults;

/// The volume ids of `e`'s instance ending with `suffixes`.
fn volumes(h: &Harness, e: Example, suffixes: &[&str]) -> Vec<String> {
    let instance = h.inv.instance(e.instance).unwrap();
    suffixes.iter().map(|s| instance.volumes.iter().find(|v| v.id.ends_with(s)).unwrap().id.clone()).collect()
}

/// The source snapshot the run took of `volume` (CreateSnapshots products carry their volume's id).
fn source_snapshot(h: &Harness, volume: &str) -> String {
    h.world.snapshots().into_iter().find(|s| s.volume_id.as_deref() == Some(volume)).unwrap().id
}

/// A copy refused by a key policy the preflight reported: the volumes named fail with an error that
/// names the refused KMS request and carries the preflight's verdict; their source snapshots are kept
/// (reported, open in the journal); the other volumes are secured.
async fn refused_copy(e: Example, failing: &[&str], secured: usize) -> (Harness, AcquireReport, Vec<String>) {
    let h = Harness::new(e);
    let planned = plan_and_check(&h.inv, e.instance, e.mode);
    let denied: Vec<_> =
        planned.1.steps.iter().filter(|s| s.requests.iter().any(|r| r.outcome == Outcome::Denied)).collect();
    let failing = volumes(&h, e, failing);
    assert!(!denied.is_empty() && denied.iter().all(|s| s.id.starts_with("copy-to-forensic:")), "{}", e.file);
    assert!(denied.iter().all(|s| failing.contains(s.volume_id.as_ref().unwrap())), "{}", e.file);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(!report.succeeded && !report.interrupted);
    let errors = volume_errors(&report);
    assert_eq!(errors.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>(), failing, "{}", e.file);
    for (volume, error) in &errors {
        // The copy ends in `error` (EBS User Guide, "Copy an Amazon EBS snapshot": a copy without
        // access to the key "fails silently"), with the refused request in the simulator's message.
        assert!(error.contains("Given key ID is not accessible") && error.contains("kms:"), "{volume}: {error}");
        assert!(error.contains("The preflight predicted this") && error.contains("DENIED"), "{volume}: {error}");
    }
    assert_eq!(report.evidence().len(), secured, "{}", e.file);
    let kept: Vec<String> = failing.iter().map(|v| source_snapshot(&h, v)).collect();
    for id in &kept {
        assert!(left(&report).iter().any(|l| l.contains(id) && l.contains("kept")), "{id}: {:?}", left(&report));
    }
    let open: Vec<String> = h.open_temporaries().into_iter().map(|r| r.id).collect();
    assert_eq!(open, kept, "{}: only the kept source snapshots stay open", e.file);
    assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::Failed);
    (h, report, kept)
}

/// After a refused copy, cleanup keeps each failing volume's source snapshot (its only copy) and the
/// failed copy (marked as evidence from its creation), saying why; only `--discard-evidence` naming
/// the volume removes them: the source snapshot by the role that made it, while the failed copy, marked
/// as evidence, is refused by the Deny in the forensic role's policy, and the report gives the command
/// for someone allowed to discard evidence.
async fn kept_until_discarded(e: Example, failing: &[&str]) {
    let (h, _, kept) = refused_copy(e, failing, 1).await;
    let leftovers = h.leftovers();
    let cleaned = h.cleanup().await;
    assert!(cleaned.clean() && cleaned.removed.is_empty(), "{}: {cleaned:#?}", e.file);
    assert_eq!(h.leftovers(), leftovers, "{}: cleanup keeps them", e.file);
    for id in &kept {
        let why = cleaned.skipped.iter().find(|s| s.contains(id)).unwrap_or_else(|| panic!("{id}: {cleaned:#?}"));
        assert!(why.contains("no completed copy"), "{why}");
    }
    let failed_copies: Vec<String> =
        h.world.snapshots().into_iter().filter(|s| s.state == "error").map(|s| s.id).collect();
    assert_eq!(failed_copies.len(), failing.len(), "{}: the failed copies are kept", e.file);
    let discard = custody_acquire::cleanup::CleanupOptions {
        wait: custody_acquire::wait::WaitSettings::quick(),
        discard_evidence: volumes(&h, e, failing),
    };
    let discarded = h.cleanup_with(&discard).await;
    for id in &kept {
        assert!(discarded.removed.iter().any(|r| r.contains(id) && r.contains("discarded")), "{id}: {discarded:#?}");
        assert!(h.world.snapshots().iter().all(|s| &s.id != id), "{id} is still there");
    }
    for id in &failed_copies {
        let refused =
            discarded.failed.iter().find(|f| f.contains(id)).unwrap_or_else(|| panic!("{id}: {discarded:#?}"));
        assert!(refused.contains("aws ec2 delete-snapshot") && refused.contains("discard-evidence"), "{refused}");
        assert!(h.world.snapshots().iter().any(|s| &s.id == id), "{id}: the Deny protects it");
    }
    // Each discard is journaled, refused ones too.
    let discards =
        h.journal.entries(CASE).unwrap().into_iter().filter(|x| x.intent.step_id.starts_with("discard-evidence:"));
    assert_eq!(discards.count(), kept.len() + failed_copies.len(), "{}", e.file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_the_forensic_key_policy_refuses_keeps_the_source_and_the_failed_copy_until_discarded() {
    kept_until_discarded(PATH_4_REFUSED, &["d40", "d41"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_the_source_key_policy_refuses_keeps_the_source_and_the_failed_copy_until_discarded() {
    kept_until_discarded(PATH_5_REFUSED, &["e50", "e51"]).await;
}

/// A copy that ends in `error` is marked as evidence from its creation: the run does not try to delete
/// it (the policies deny deleting evidence) and says how to remove it. Regression: the run used to
/// delete failed evidence copies, which needed a delete permission on evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_evidence_copy_is_kept_and_reported_not_deleted() {
    let (h, report, _) = refused_copy(PATH_5_REFUSED, &["e50", "e51"], 1).await;
    let in_forensic = |c: &custody_sim::SimCall| c.api == "ec2:DeleteSnapshot" && c.account == "999999999999";
    assert!(h.world.calls().into_iter().all(|c| !in_forensic(&c)), "the run deleted in the forensic account");
    let failed: Vec<String> = h.world.snapshots().into_iter().filter(|s| s.state == "error").map(|s| s.id).collect();
    assert_eq!(failed.len(), 2);
    for id in &failed {
        let l = left(&report);
        assert!(
            l.iter().any(|l| l.contains(id) && l.contains("holds no data") && l.contains("--discard-evidence")),
            "{l:#?}"
        );
    }
}

#[test]
fn an_instance_the_inventory_does_not_list_is_refused_by_the_planner() {
    let inv = inventory(PATH_2.file);
    let e = plan(&inv, &PlanRequest::new("i-0123456789abcdef0")).unwrap_err().to_string();
    assert!(e.contains("`i-0123456789abcdef0` is not in the inventory") && e.contains(PATH_2.instance), "{e}");
}

/// Plans made from the example, run against a world where the instance has become `world`'s.
async fn against(world: impl FnOnce(&mut custody_plan::inventory::Inventory)) -> (Harness, AcquireReport) {
    let inv = inventory(PATH_2.file);
    let mut changed = inv.clone();
    world(&mut changed);
    let h = Harness::with_world(inv, &changed);
    let report = h.acquire(PATH_2.instance, PATH_2.mode).await.unwrap();
    (h, report)
}

/// Nothing was changed: no call but the role's reads, nothing left, the acquisition failed.
fn nothing_changed(h: &Harness, report: &AcquireReport) {
    assert!(!report.succeeded);
    let changes: Vec<_> = h.world.calls().into_iter().filter(|c| !reads(&c.api)).collect();
    assert!(changes.is_empty(), "{changes:#?}");
    assert!(h.leftovers().is_empty() && h.open_temporaries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_gone_since_the_inventory_is_refused_at_discovery() {
    let (h, report) = against(|inv| inv.instances.clear()).await;
    let error = report.instances[0].error.clone().unwrap();
    assert!(error.contains("step `discover`") && error.contains("does not exist in account 999999999999"), "{error}");
    nothing_changed(&h, &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_instance_is_refused_at_discovery() {
    let (h, report) = against(|inv| inv.instances[0].state = Some("terminated".to_string())).await;
    let error = report.instances[0].error.clone().unwrap();
    assert!(error.contains("is terminated") && error.contains("look for snapshots or detached volumes"), "{error}");
    nothing_changed(&h, &report);
}

/// A disabled key (the volume's, or the forensic key) makes EBS fail the copy; the error names the
/// key and how to enable it again (KMS Developer Guide, "Enabling and disabling keys",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html>).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_fails_the_copy_with_an_error_naming_the_key_and_the_fix() {
    let inv = inventory(PATH_6.file);
    let source_key = inv.instances[0].volumes[0].kms_key_arn.clone().unwrap();
    let forensic_key = inv.config.forensic_key_arns["eu-west-1"].clone();
    for key in [source_key, forensic_key] {
        let h = Harness::with_inventory(inv.clone());
        h.world.disable_key(&key).unwrap();
        let report = h.acquire(PATH_6.instance, PATH_6.mode).await.unwrap();
        let errors = volume_errors(&report);
        assert_eq!(errors.len(), 2, "{key}: {errors:#?}");
        for (volume, error) in errors {
            assert!(error.contains(&format!("{key} is disabled")), "{volume}: {error}");
            assert!(error.contains(&format!("aws kms enable-key --key-id {key}`")), "{volume}: {error}");
            assert!(!error.contains("The preflight predicted this"), "the preflight passed: {error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_retried_until_they_pass() {
    let h = Harness::new(PATH_5);
    let throttle = [("ec2:CopySnapshot".to_string(), 3), ("kms:CreateGrant".to_string(), 3)];
    h.world.set_faults(Faults { throttle: throttle.into(), ..Faults::default() });
    let report = h.acquire(PATH_5.instance, PATH_5.mode).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    for api in ["ec2:CopySnapshot", "kms:CreateGrant"] {
        let retries = h.events().iter().filter(|e| matches!(e, Event::Retrying { api: a, .. } if a == api)).count();
        assert_eq!(retries, 3, "{api}");
        let throttled = h.world.calls().iter().filter(|c| c.api == api && c.result.is_err()).count();
        assert_eq!(throttled, 3, "{api}");
    }
    assert!(h.leftovers().is_empty() && h.open_temporaries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_that_fails_leaves_the_snapshot_open_for_cleanup() {
    let h = Harness::new(PATH_5);
    let fail = [(
        "ec2:DeleteSnapshot".to_string(),
        ("InternalError".to_string(), "We encountered an internal error.".to_string()),
    )];
    h.world.set_faults(Faults { fail: fail.into(), ..Faults::default() });
    let report = h.acquire(PATH_5.instance, PATH_5.mode).await.unwrap();
    assert!(report.succeeded, "the evidence is secured: {}", failures(&report));
    assert_eq!(report.evidence().len(), 3);
    let left = left(&report);
    assert_eq!(left.len(), 3, "{left:#?}");
    assert!(left.iter().all(|l| l.contains("InternalError")), "{left:#?}");
    let open = h.open_temporaries();
    assert_eq!(open.len(), 3);
    assert!(open.iter().all(|r| r.kind == ResourceKind::Snapshot));
    assert_eq!(h.leftovers().len(), 3);
    h.world.set_faults(Faults::default());
    let cleaned = h.cleanup().await;
    assert!(cleaned.clean() && cleaned.removed.len() == 3, "{cleaned:#?}");
    assert!(h.leftovers().is_empty() && h.open_temporaries().is_empty());
    assert_eq!(h.shape().len(), 3, "the evidence is untouched");
}

#[test]
fn direct_mode_is_what_makes_the_no_key_access_example_refuse() {
    // The README: auto mode picks path 5 (grant only), which the check refuses on the source role's
    // CreateGrant instead; `--mode direct` (path 6) is the copy refused by the key policy.
    let inv = inventory(PATH_5_REFUSED.file);
    let direct = plan_and_check(&inv, PATH_5_REFUSED.instance, Mode::Direct);
    assert!(direct.0.volumes.iter().filter(|v| v.key_arn.is_some()).all(|v| v.path.number() == 6));
    assert!(!direct.1.all_pass());
}
