//! Every example inventory's acquisition path, run by the executor on the simulated cloud: the
//! evidence of each volume ends where `examples/inventories/README.md` ("Volumes and paths") says,
//! under the right key, tagged with the case; nothing else is left; the simulator refuses nothing the
//! preflight passed; and the changing calls the simulator saw are exactly the plan's.

use crate::support::*;
use custody_acquire::{AcquireReport, Event};
use custody_journal::Status;
use custody_plan::plan::{Action, Api, Plan, TAG_CASE, TAG_INSTANCE};

/// Which key an evidence snapshot must be encrypted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Not encrypted (path 1).
    None,
    /// The forensic key of the destination Region (`config.forensic_key_arns`): every copy of an
    /// encrypted volume.
    Forensic,
    /// The volume's own key: path 9 reads the source snapshot in place.
    Volume,
}

/// Whether the evidence is the crash-consistent source snapshot itself (path 1 in the instance's own
/// account and Region, path 9) or a copy in the forensic account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Source,
    Copy,
}

/// One volume (by the end of its id): its path number, where its evidence is held, under which key.
type Volume = (&'static str, u8, Held, Key);

/// Each example's volumes, from the README's "Volumes and paths" table (auto mode; `--mode
/// direct-read` for 9).
const EXPECTED: [(Example, &[Volume]); 10] = [
    (PATH_1, &[("a10", 1, Held::Source, Key::None), ("a11", 1, Held::Source, Key::None)]),
    (
        PATH_2,
        &[
            ("b20", 2, Held::Copy, Key::Forensic),
            ("b21", 2, Held::Copy, Key::Forensic),
            ("b22", 1, Held::Source, Key::None),
        ],
    ),
    (
        PATH_3,
        &[
            ("c30", 2, Held::Copy, Key::Forensic),
            ("c31", 3, Held::Copy, Key::Forensic),
            ("c32", 3, Held::Copy, Key::Forensic),
        ],
    ),
    (
        PATH_4,
        &[
            ("d40", 4, Held::Copy, Key::Forensic),
            ("d41", 4, Held::Copy, Key::Forensic),
            ("d42", 1, Held::Copy, Key::None),
        ],
    ),
    (
        PATH_5,
        &[
            ("e50", 5, Held::Copy, Key::Forensic),
            ("e51", 5, Held::Copy, Key::Forensic),
            ("e52", 1, Held::Copy, Key::None),
        ],
    ),
    (PATH_6, &[("f60", 6, Held::Copy, Key::Forensic), ("f61", 6, Held::Copy, Key::Forensic)]),
    (PATH_7, &[("a70", 7, Held::Copy, Key::Forensic), ("a71", 7, Held::Copy, Key::Forensic)]),
    (
        PATH_8,
        &[
            ("b80", 8, Held::Copy, Key::Forensic),
            ("b81", 8, Held::Copy, Key::Forensic),
            ("b82", 1, Held::Copy, Key::None),
        ],
    ),
    (PATH_9, &[("c90", 9, Held::Source, Key::Volume), ("c91", 9, Held::Source, Key::None)]),
    (SERVICE_LINKED, &[("d50", 5, Held::Copy, Key::Forensic), ("d51", 5, Held::Copy, Key::Forensic)]),
];

/// Acquires `e`'s instance on a fresh world: the harness, the plan and the report.
async fn acquired(e: Example) -> (Harness, Plan, AcquireReport) {
    let h = Harness::new(e);
    let planned = plan_and_check(&h.inv, e.instance, e.mode);
    assert!(planned.1.all_pass(), "{}: the preflight should pass", e.file);
    let report = h.acquire_planned(&planned).await.unwrap_or_else(|err| panic!("{}: {err}", e.file));
    (h, planned.0, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_secures_each_volume_where_and_how_the_readme_says() {
    for (e, volumes) in EXPECTED {
        let (h, plan, report) = acquired(e).await;
        assert!(report.succeeded, "{}: {}", e.file, failures(&report));
        let instance = h.inv.instance(e.instance).unwrap();
        let forensic_key = h.inv.config.forensic_key_arns.get(&plan.dest_region).cloned();
        let snapshots = h.world.snapshots();
        let shape = h.shape();
        assert_eq!(shape.len(), volumes.len(), "{}: one evidence snapshot per volume", e.file);
        for (suffix, path, held, key) in volumes {
            let volume = instance.volumes.iter().find(|v| v.id.ends_with(suffix)).unwrap();
            let got = shape.iter().find(|s| s.volume == volume.id).unwrap();
            let item = report.evidence().into_iter().find(|i| i.volume_id == volume.id).unwrap().clone();
            let snapshot = snapshots.iter().find(|s| s.id == item.snapshot_id).unwrap();
            assert!(got.path.starts_with(&format!("{path} (")), "{}: {}: path {}", e.file, volume.id, got.path);
            let (account, region) = match held {
                Held::Source => (&instance.account, &instance.region),
                Held::Copy => (&plan.dest_account, &plan.dest_region),
            };
            assert_eq!((&got.account, &got.region), (account, region), "{}: {}", e.file, volume.id);
            // EC2 reports a copy's volume as `vol-ffffffff` (EC2 API Reference, "Snapshot").
            let from_volume = snapshot.volume_id.as_deref() == Some(volume.id.as_str());
            assert_eq!(from_volume, *held == Held::Source, "{}: {}: {snapshot:?}", e.file, volume.id);
            let want = match key {
                Key::None => None,
                Key::Forensic => forensic_key.clone(),
                Key::Volume => volume.kms_key_arn.clone(),
            };
            assert_eq!(got.key, want, "{}: {}", e.file, volume.id);
            assert_eq!(
                (item.account, item.region, item.key_arn),
                (got.account.clone(), got.region.clone(), got.key.clone())
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_tagged_with_the_case_and_the_instance() {
    for e in PASSING {
        let (h, _, report) = acquired(e).await;
        let snapshots = h.world.snapshots();
        for item in report.evidence() {
            let snapshot = snapshots.iter().find(|s| s.id == item.snapshot_id).unwrap();
            assert_eq!(snapshot.tags.get(TAG_CASE).map(String::as_str), Some(CASE), "{}: {snapshot:?}", e.file);
            assert_eq!(snapshot.tags.get(TAG_INSTANCE).map(String::as_str), Some(e.instance), "{}", e.file);
            for (k, v) in &item.tags {
                assert_eq!(snapshot.tags.get(k), Some(v), "{}: the report's tag {k} is on {}", e.file, snapshot.id);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_leaves_nothing_but_the_evidence() {
    for e in PASSING {
        let (h, _, report) = acquired(e).await;
        assert!(left(&report).is_empty(), "{}: {:?}", e.file, left(&report));
        assert!(h.leftovers().is_empty(), "{}: {:#?}", e.file, h.leftovers());
        assert!(h.open_temporaries().is_empty(), "{}: {:#?}", e.file, h.open_temporaries());
        assert_eq!(h.journal.case(CASE).unwrap().unwrap().status, Status::Succeeded, "{}", e.file);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_nothing_the_preflight_passed() {
    for e in PASSING {
        let (h, _, _) = acquired(e).await;
        assert!(h.refusals().is_empty(), "{}: {:#?}", e.file, h.refusals());
        let failed: Vec<_> = h.world.calls().into_iter().filter(|c| c.result.is_err()).collect();
        assert!(failed.is_empty(), "{}: {failed:#?}", e.file);
    }
}

/// A differential check of the executor against the plan it runs: every changing call the simulator
/// saw is a call of the plan (same API, account, Region and signing role), and every changing call of
/// the plan was made, except those of actions `acquire` does not run (triage, reading blocks) and
/// those made only in some circumstance (`Call::when`: a failed copy, a lost CreateKey answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_changing_calls_made_are_exactly_the_plans() {
    for e in PASSING {
        let (h, plan, _) = acquired(e).await;
        let calls = h.world.calls();
        assert!(unplanned_calls(&plan, &calls).is_empty(), "{}: {:#?}", e.file, unplanned_calls(&plan, &calls));
        let run = plan.steps.iter().filter(|s| !matches!(s.action, Action::Triage | Action::ReadBlocks { .. }));
        for call in run.flat_map(|s| &s.calls).filter(|c| !reads(&c.api) && c.when.is_none()) {
            let made = calls.iter().any(|c| {
                c.api == call.api
                    && c.account == call.account
                    && c.region == call.region
                    && role_of(&c.principal) == role_of(&call.signer)
            });
            assert!(
                made,
                "{}: the plan's {} in {} {} was not made: {call:#?}",
                e.file, call.api, call.account, call.region
            );
        }
    }
}

/// The executor finds a step's calls by their [`Api`]: every call the planner makes, on every path,
/// is one, so no step's call is one the executor could not name.
#[test]
fn every_planned_call_is_an_api_the_executor_names() {
    for e in PASSING {
        let (planned, _) = plan_and_check(&inventory(e.file), e.instance, e.mode);
        for step in &planned.steps {
            for call in &step.calls {
                let api: Api = call.api.parse().unwrap_or_else(|err| panic!("{}: step {}: {err}", e.file, step.id));
                assert_eq!(api.as_str(), call.api);
            }
        }
    }
}

/// What a view of the run needs from its events: the volumes and steps first, each step's volume, each
/// poll's volume and progress, each placeholder's real id, and step titles that never name a
/// placeholder (an id the examiner could not look up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_tell_each_step_and_poll_its_volume_and_never_name_a_placeholder() {
    for e in PASSING {
        let (h, plan, _) = acquired(e).await;
        let events = h.events();
        let volumes: Vec<String> = plan.volumes.iter().map(|v| v.volume_id.clone()).collect();
        assert!(
            matches!(events.first(), Some(Event::Started { volumes: v, steps, .. }) if v == &volumes && steps.len() == plan.steps.len()),
            "{}: {:?}",
            e.file,
            events.first()
        );
        let placeholders: Vec<&str> =
            plan.volumes.iter().flat_map(|v| v.snapshots.iter().map(|s| s.id.as_str())).collect();
        for event in &events {
            match event {
                Event::Step { step, title, volume, .. } => {
                    let planned = plan.steps.iter().find(|s| &s.id == step).unwrap();
                    assert_eq!(volume, &planned.volume_id, "{}: {step}", e.file);
                    for p in &placeholders {
                        assert!(!title.contains(p), "{}: {step}: {title}", e.file);
                    }
                    assert!(!title.contains("custody-temp-"), "{}: {step}: {title}", e.file);
                }
                Event::Waiting { volume, snapshot, progress, .. } => {
                    assert!(volume.as_ref().is_some_and(|v| volumes.contains(v)), "{}: {event:?}", e.file);
                    assert!(snapshot.starts_with("snap-") && !placeholders.contains(&snapshot.as_str()));
                    assert!(progress.as_deref().is_some_and(|p| p.ends_with('%')), "{}: {event:?}", e.file);
                }
                _ => {}
            }
        }
        for s in plan.volumes.iter().flat_map(|v| &v.snapshots).filter(|s| s.id.starts_with("snap-source-")) {
            let told = events.iter().any(|ev| matches!(ev, Event::Resolved { placeholder, id, .. } if placeholder == &s.id && id.starts_with("snap-")));
            assert!(told, "{}: the real id of {} is told", e.file, s.id);
        }
    }
}
