//! The planner against the simulator: for every bundled example inventory, the plan `custody plan`
//! makes is run step by step on the simulated cloud (a small interpreter of the plan's actions, not the
//! executor), and what the simulator decides — from the real ids, keys and encryption contexts, with
//! its own requests — is compared with what the preflight predicted from placeholders.
//!
//! Where the preflight passes, the simulator must refuse nothing and leave nothing behind but the
//! evidence; where it refuses (`4-cross-region.json`, `5-cross-account-no-key-access.json` with
//! `--mode direct`), the simulator must refuse the same action on the same key, and the copy must
//! end in `error` as AWS documents ("Given key ID is not accessible", EBS User Guide,
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-copy-snapshot.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::types::{CopySnapshotRequest, EventLookup, NewGrant, NewKey, NewVolume, SnapshotQuery};
use custody_cloud::{Cloud, SessionName};
use custody_plan::check::{check, Outcome};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, session_name, Action, Mode, Plan, PlanRequest, EVIDENCE_TAG_VALUE, TAG_EVIDENCE};
use custody_sim::SimWorld;
use std::collections::HashMap;
use std::sync::Arc;

const CASE: &str = "C1";

fn inventory(name: &str) -> Inventory {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What running a plan on the simulator did.
struct Run {
    world: SimWorld,
    plan: Plan,
    /// Placeholder → real id (snapshots, keys, grants).
    real: HashMap<String, String>,
    /// The first step that failed, and how.
    failed: Option<String>,
    /// Snapshots that ended in `error`, with their state message.
    errors: Vec<String>,
}

impl Run {
    fn evidence(&self) -> Vec<String> {
        let planned = self.plan.volumes.iter().flat_map(|v| &v.snapshots).filter(|s| s.evidence);
        planned.filter_map(|s| self.real.get(&s.id).cloned()).collect()
    }
}

/// A SessionName `custody-<case>`, the planner's session name (`SessionName::new` prefixes `custody-`).
fn planned_session(case: &str) -> SessionName {
    let name = SessionName::new(case, None);
    assert_eq!(name.as_str(), session_name(case));
    name
}

async fn wait(cloud: &Arc<dyn Cloud>, region: &str, ids: &[String]) -> Result<Vec<String>, String> {
    let query = SnapshotQuery { ids: ids.to_vec(), ..Default::default() };
    for _ in 0..10 {
        let snaps = cloud.ec2(region).describe_snapshots(&query).await.map_err(|e| e.to_string())?;
        if snaps.iter().all(|s| s.state != "pending") {
            return Ok(snaps
                .iter()
                .filter(|s| s.state == "error")
                .map(|s| format!("{}: {}", s.id, s.state_message.clone().unwrap_or_default()))
                .collect());
        }
    }
    Err(format!("{ids:?} still pending"))
}

/// Runs `plan` on a world made from `inv`, as custody would: the forensic role first, the roles the
/// plan assumes next, each step's calls signed by the step's signer.
async fn run(inv: &Inventory, plan: Plan) -> Run {
    let world = SimWorld::new(inv).unwrap();
    let forensic_role = inv.config.forensic_role_arn.clone();
    let mut clouds: HashMap<String, Arc<dyn Cloud>> = HashMap::new();
    clouds.insert(forensic_role.clone(), world.cloud_as(&forensic_role, &session_name(CASE)));
    let mut r = Run { world, plan: plan.clone(), real: HashMap::new(), failed: None, errors: Vec::new() };
    let planned: HashMap<String, _> = plan
        .volumes
        .iter()
        .flat_map(|v| v.snapshots.iter().map(move |s| (s.id.clone(), (v.volume_id.clone(), s))))
        .collect();
    for step in &plan.steps {
        let Some(call) = step.calls.first() else { continue };
        let cloud = clouds.get(&call.signer).cloned().unwrap_or_else(|| panic!("no session for {}", call.signer));
        let region = call.region.clone();
        let real = |r: &Run, id: &str| r.real.get(id).cloned().unwrap_or_else(|| id.to_string());
        let outcome: Result<(), String> = async {
            let e = |e: custody_cloud::CloudError| e.to_string();
            match &step.action {
                Action::AssumeRole { role_arn, .. } => {
                    let c = cloud.assume_role(role_arn, &planned_session(CASE)).await.map_err(e)?;
                    clouds.insert(role_arn.clone(), c);
                }
                Action::Discover => {
                    cloud.ec2(&region).describe_instances(std::slice::from_ref(&plan.instance_id)).await.map_err(e)?;
                    let vols: Vec<String> = plan.volumes.iter().map(|v| v.volume_id.clone()).collect();
                    cloud.ec2(&region).describe_volumes(&vols).await.map_err(e)?;
                }
                Action::CreateSnapshots { tags, description } => {
                    let ec2 = cloud.ec2(&region);
                    let made = ec2.create_snapshots(&plan.instance_id, description, tags).await.map_err(e)?.value;
                    for s in &made {
                        let vp = plan.volumes.iter().find(|v| Some(&v.volume_id) == s.volume_id.as_ref()).unwrap();
                        let placeholder = vp.snapshots.iter().find(|p| p.id.starts_with("snap-source-")).unwrap();
                        r.real.insert(placeholder.id.clone(), s.id.clone());
                    }
                    let ids: Vec<String> = made.iter().map(|s| s.id.clone()).collect();
                    r.errors.extend(wait(&cloud, &region, &ids).await?);
                }
                Action::CreateKey { key, alias, description, tags } => {
                    let policy = step.creates_keys[0].policy.clone();
                    let new = NewKey { policy, description: description.clone(), tags: tags.clone() };
                    let kms = cloud.kms(&region);
                    let made = kms.create_key(&new).await.map_err(e)?.value;
                    r.real.insert(key.clone(), made.arn.clone());
                    kms.create_alias(alias, &made.arn).await.map_err(e)?;
                }
                Action::CreateGrant {
                    key_arn,
                    grant,
                    name,
                    grantee,
                    retiring_principal,
                    operations,
                    encryption_context_subset,
                } => {
                    let new = NewGrant {
                        key_id: real(&r, key_arn),
                        grantee_principal: grantee.clone(),
                        retiring_principal: Some(retiring_principal.clone()),
                        operations: operations.clone(),
                        encryption_context_subset: Some(encryption_context_subset.clone()),
                        name: Some(name.clone()),
                    };
                    let id = cloud.kms(&region).create_grant(&new).await.map_err(e)?.value;
                    r.real.insert(grant.clone(), id);
                }
                Action::CreateVolume { snapshot, volume, availability_zone, tags } => {
                    let made = cloud
                        .ec2(&region)
                        .create_volume(&NewVolume {
                            snapshot_id: real(&r, snapshot),
                            availability_zone: availability_zone.clone(),
                            tags: tags.clone(),
                            client_token: format!("custody-{volume}"),
                        })
                        .await
                        .map_err(e)?
                        .value;
                    r.real.insert(volume.clone(), made);
                }
                Action::Share { snapshot, account, add } => {
                    cloud.ec2(&region).modify_snapshot_share(&real(&r, snapshot), account, *add).await.map_err(e)?;
                }
                Action::CopySnapshot { from, to, tags, description } => {
                    let (_, src) = planned[from];
                    let (_, dst) = planned[to];
                    let request = CopySnapshotRequest {
                        source_snapshot_id: real(&r, from),
                        source_region: src.region.clone(),
                        encrypted: dst.key_arn.is_some(),
                        kms_key_id: dst.key_arn.as_ref().map(|k| real(&r, k)),
                        description: description.clone(),
                        tags: tags.clone(),
                    };
                    let id = cloud.ec2(&dst.region).copy_snapshot(&request).await.map_err(e)?.value;
                    r.real.insert(to.clone(), id.clone());
                    r.errors.extend(wait(&cloud, &dst.region, &[id]).await?);
                }
                Action::DeleteSnapshot { snapshot } => {
                    cloud.ec2(&region).delete_snapshot(&real(&r, snapshot)).await.map_err(e)?;
                }
                Action::TagEvidence { snapshot } => {
                    let tags = [(TAG_EVIDENCE.to_string(), EVIDENCE_TAG_VALUE.to_string())].into();
                    cloud.ec2(&region).tag_snapshot(&real(&r, snapshot), &tags).await.map_err(e)?;
                }
                Action::RetireGrant { key_arn, grant } => {
                    cloud.kms(&region).retire_grant(&real(&r, key_arn), &real(&r, grant)).await.map_err(e)?;
                }
                Action::DeleteKey { key, alias, pending_window_days } => {
                    let kms = cloud.kms(&region);
                    kms.delete_alias(alias).await.map_err(e)?;
                    kms.schedule_key_deletion(&real(&r, key), *pending_window_days).await.map_err(e)?;
                }
                Action::LookupEvents => {
                    let end = chrono::Utc::now();
                    let query = EventLookup { start: end - chrono::Duration::hours(1), end, attribute: None };
                    cloud.cloudtrail(&region).lookup_events(&query).await.map_err(e)?;
                }
                Action::Triage | Action::ReadBlocks { .. } => {}
            }
            Ok(())
        }
        .await;
        if let Err(why) = outcome {
            r.failed = Some(format!("step `{}`: {why}", step.id));
            break;
        }
    }
    r
}

fn plan_for(inv: &Inventory, mode: Mode) -> Plan {
    let instance = inv.instances[0].id.clone();
    let mut request = PlanRequest::new(instance);
    request.case_id = CASE.to_string();
    request.mode = mode;
    plan(inv, &request).unwrap()
}

/// Every refused decision the simulator logged, as `action on resource: why`.
fn refusals(w: &SimWorld) -> Vec<String> {
    w.calls()
        .iter()
        .flat_map(|c| {
            c.decisions
                .iter()
                .filter(|d| !d.allowed)
                .map(move |d| format!("{} ({}): {} on {}: {}", c.api, c.principal, d.action, d.resource, d.why))
        })
        .collect()
}

async fn passes_on_the_simulator(name: &str) {
    let inv = inventory(name);
    let plan = plan_for(&inv, Mode::Auto);
    let report = check(&inv, &plan);
    assert!(report.all_pass(), "{name}: the preflight should pass");
    let r = run(&inv, plan).await;
    assert_eq!(r.failed, None, "{name}: {:#?}", refusals(&r.world));
    assert!(r.errors.is_empty(), "{name}: snapshots in error: {:?}", r.errors);
    assert!(refusals(&r.world).is_empty(), "{name}: {:#?}", refusals(&r.world));
    let left = r.world.leftovers(CASE, &r.evidence(), &format!("{}-{CASE}", inv.config.alias_prefix));
    assert!(left.is_empty(), "{name}: left behind: {left:#?}");
    let evidence = r.evidence();
    assert_eq!(evidence.len(), r.plan.volumes.len(), "{name}: one evidence snapshot per volume");
    for id in &evidence {
        let snap = r.world.snapshots().into_iter().find(|s| &s.id == id).unwrap();
        assert_eq!(snap.state, "completed", "{name}: {id}");
        assert_eq!(snap.account, r.plan.dest_account, "{name}: {id} is in the forensic account");
    }
}

#[tokio::test]
async fn path_1_unencrypted_runs_clean() {
    passes_on_the_simulator("1-unencrypted.json").await;
}

#[tokio::test]
async fn path_2_aws_managed_same_account_runs_clean() {
    passes_on_the_simulator("2-aws-managed-same-account.json").await;
}

#[tokio::test]
async fn path_3_customer_key_same_account_runs_clean() {
    passes_on_the_simulator("3-customer-key-same-account.json").await;
}

#[tokio::test]
async fn path_4_cross_region_with_the_fixed_key_policy_runs_clean() {
    passes_on_the_simulator("4-cross-region-fixed.json").await;
}

#[tokio::test]
async fn path_5_grant_only_runs_clean() {
    passes_on_the_simulator("5-cross-account-grant-only.json").await;
}

#[tokio::test]
async fn path_6_cross_account_direct_runs_clean() {
    passes_on_the_simulator("6-cross-account-direct.json").await;
}

#[tokio::test]
async fn path_7_owner_grants_runs_clean() {
    passes_on_the_simulator("7-cross-account-owner-grants.json").await;
}

#[tokio::test]
async fn path_8_aws_managed_cross_account_runs_clean() {
    passes_on_the_simulator("8-cross-account-aws-managed.json").await;
}

#[tokio::test]
async fn service_linked_role_example_runs_clean() {
    passes_on_the_simulator("service-linked-role.json").await;
}

#[tokio::test]
async fn triage_example_without_triage_runs_clean() {
    passes_on_the_simulator("triage.json").await;
}

/// The preflight's denied requests as `(action, resource)`.
fn preflight_denials(inv: &Inventory, plan: &Plan) -> Vec<(String, String)> {
    let report = check(inv, plan);
    let steps = report.steps.iter().flat_map(|s| &s.requests);
    steps.filter(|r| r.outcome == Outcome::Denied).map(|r| (r.action.clone(), r.resource.clone())).collect()
}

async fn refused_like_the_preflight(name: &str, mode: Mode, key: &str) {
    let inv = inventory(name);
    let plan = plan_for(&inv, mode);
    let denied = preflight_denials(&inv, &plan);
    assert!(!denied.is_empty(), "{name}: the preflight should refuse");
    let r = run(&inv, plan).await;
    // The copy is accepted by EC2 and ends in error: the run itself does not fail.
    assert_eq!(r.failed, None);
    assert!(!r.errors.is_empty(), "{name}: a copy should end in error");
    assert!(
        r.errors.iter().all(|e| e.contains("Given key ID is not accessible") && e.contains(key)),
        "{:#?}",
        r.errors
    );
    let refused: Vec<(String, String)> = r
        .world
        .calls()
        .iter()
        .flat_map(|c| c.decisions.iter().filter(|d| !d.allowed).map(|d| (d.action.clone(), d.resource.clone())))
        .collect();
    assert!(!refused.is_empty());
    for (action, resource) in &refused {
        assert_eq!(resource, key, "{name}: only requests on {key} are refused");
        assert!(
            denied.iter().any(|(a, res)| a == action && res == resource),
            "{name}: the simulator refused {action} on {resource}, the preflight did not: {denied:#?}"
        );
    }
}

#[tokio::test]
async fn path_4_refused_by_the_forensic_key_via_service_like_the_preflight() {
    refused_like_the_preflight(
        "4-cross-region.json",
        Mode::Auto,
        "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff",
    )
    .await;
}

#[tokio::test]
async fn path_6_without_key_access_refused_like_the_preflight() {
    refused_like_the_preflight(
        "5-cross-account-no-key-access.json",
        Mode::Direct,
        "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005",
    )
    .await;
}
