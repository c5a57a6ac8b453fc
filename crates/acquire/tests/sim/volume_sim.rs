//! `custody acquire --volume-az`: a volume from each evidence snapshot, in the forensic account and
//! the zone asked for, created by the forensic role under the policy `custody policy role --features
//! acquire,cleanup,volume` generates (EBS User Guide, "Create an Amazon EBS volume from a snapshot",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-creating-volume.html>; authorization map §7).

use crate::support::*;
use custody_journal::ResourceKind;
use custody_plan::check::{check, Outcome};
use custody_plan::generate::{role_policies, Feature, KmsMode, RoleOptions};
use custody_plan::inventory::Inventory;
use custody_plan::plan::{plan, session_name, PlanRequest};

const ZONE: &str = "eu-west-1b";

/// `e`'s inventory with the forensic role's policy as generated with the `volume` feature too.
fn with_volume_feature(e: Example, source_account: &str) -> Inventory {
    let mut inv = inventory(e.file);
    let options = RoleOptions {
        features: [Feature::Acquire, Feature::Cleanup, Feature::Volume].into_iter().collect(),
        kms: KmsMode::GrantOnly,
        regions: vec!["eu-west-1".into()],
        forensic_region: Some("eu-west-1".into()),
        forensic_account: Some("999999999999".into()),
        source_accounts: vec![source_account.into()],
        ..RoleOptions::default()
    };
    let generated = role_policies(&options);
    let forensic = inv.config.forensic_role_arn.clone();
    let role = inv.principals.iter_mut().find(|p| p.arn == forensic).unwrap();
    role.identity_policies = generated.forensic_role.policy.into_iter().collect();
    inv
}

fn planned(inv: &Inventory, e: Example) -> (custody_plan::plan::Plan, custody_plan::check::CheckReport) {
    let request = PlanRequest {
        mode: e.mode,
        case_id: CASE.into(),
        volume_az: Some(ZONE.into()),
        ..PlanRequest::new(e.instance)
    };
    let p = plan(inv, &request).unwrap();
    let report = check(inv, &p);
    (p, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_is_created_from_each_evidence_snapshot_in_the_zone_asked_for() {
    for (e, source) in [(PATH_2, "999999999999"), (PATH_8, "111122223333")] {
        let inv = with_volume_feature(e, source);
        let planned = planned(&inv, e);
        assert!(planned.1.all_pass(), "{}: the preflight should pass", e.file);
        let h = Harness::with_inventory(inv);
        let report = h.acquire_planned(&planned).await.unwrap();
        assert!(report.succeeded, "{}: {}", e.file, failures(&report));
        let evidence: Vec<String> = report.evidence().iter().map(|i| i.snapshot_id.clone()).collect();
        let volumes: Vec<_> =
            h.journal.resources(CASE).unwrap().into_iter().filter(|r| r.kind == ResourceKind::Volume).collect();
        assert_eq!(volumes.len(), evidence.len(), "{}: one volume per evidence snapshot", e.file);
        let ec2 = h.world.cloud_as(&h.forensic_role(), &session_name(CASE)).ec2("eu-west-1");
        let ids: Vec<String> = volumes.iter().map(|v| v.id.clone()).collect();
        for v in ec2.describe_volumes(&ids).await.unwrap() {
            assert_eq!(v.state.as_deref(), Some("available"), "{}: {v:?}", e.file);
            assert_eq!(v.availability_zone.as_deref(), Some(ZONE), "{}: {v:?}", e.file);
            assert!(evidence.contains(v.snapshot_id.as_ref().unwrap()), "{}: {v:?} not from the evidence", e.file);
        }
        assert!(volumes.iter().all(|v| !v.temporary && v.account == "999999999999"), "{}: {volumes:#?}", e.file);
        // Volumes are evidence: cleanup leaves them, and nothing temporary is left.
        let cleaned = h.cleanup().await;
        assert!(cleaned.clean() && h.leftovers().is_empty(), "{}: {cleaned:#?}", e.file);
        assert_eq!(ec2.describe_volumes(&ids).await.unwrap().len(), ids.len(), "{}", e.file);
    }
}

/// Without the `volume` feature's statements, the preflight refuses the CreateVolume step before
/// anything is touched, and names the request.
#[test]
fn without_the_volume_feature_the_preflight_refuses_create_volume() {
    let inv = inventory(PATH_8.file);
    let (_, report) = planned(&inv, PATH_8);
    assert!(!report.all_pass());
    let failing: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.requests.iter().any(|r| r.outcome == Outcome::Denied))
        .map(|s| s.id.as_str())
        .collect();
    assert!(!failing.is_empty() && failing.iter().all(|s| s.starts_with("create-volume:")), "{failing:?}");
}

#[test]
fn a_zone_outside_the_destination_region_and_a_direct_read_are_refused_by_the_planner() {
    let inv = inventory(PATH_8.file);
    let request = PlanRequest { volume_az: Some("eu-west-3a".into()), ..PlanRequest::new(PATH_8.instance) };
    let e = plan(&inv, &request).unwrap_err().to_string();
    assert!(e.contains("--volume-az `eu-west-3a`") && e.contains("eu-west-1a"), "{e}");
    let inv = inventory(PATH_9.file);
    let request = PlanRequest { mode: PATH_9.mode, volume_az: Some(ZONE.into()), ..PlanRequest::new(PATH_9.instance) };
    let e = plan(&inv, &request).unwrap_err().to_string();
    assert!(e.contains("path 9") && e.contains("forensic account"), "{e}");
}

/// A run killed at any journal write, then resumed, ends with one volume per evidence snapshot: the
/// resumed CreateVolume carries the first one's client token, so EC2 answers the volume that request
/// made instead of making another ("Ensuring idempotency in Amazon EC2 API requests",
/// <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_around_create_volume_and_resumed_makes_one_volume_per_snapshot() {
    let e = PATH_2;
    let inv = with_volume_feature(e, "999999999999");
    let planned = planned(&inv, e);
    let baseline = Harness::with_inventory(inv.clone());
    assert!(baseline.acquire_planned(&planned).await.unwrap().succeeded);
    let writes = baseline.journal.writes();
    let mut asked_again = 0;
    for n in 0..=writes {
        let h = Harness::with_inventory(inv.clone());
        h.killed_after(&planned, n).await;
        let report = h.resume_or_acquire(&planned).await;
        let report = report.unwrap();
        assert!(report.succeeded, "n={n}: {}", failures(&report));
        let made: Vec<String> =
            h.world.calls().into_iter().filter(|c| c.api == "ec2:CreateVolume").filter_map(|c| c.result.ok()).collect();
        asked_again += made.iter().filter(|r| r.contains("again, client token")).count();
        let distinct: std::collections::BTreeSet<&str> =
            made.iter().filter_map(|r| r.split_whitespace().next()).collect();
        assert_eq!(distinct.len(), planned.0.volumes.len(), "n={n}: volumes made {made:?}");
    }
    assert!(asked_again > 0, "no kill fell between a CreateVolume and its journaled answer");
}
