//! The executor never runs `custody audit`'s CloudTrail look-ups: a plan made with `--audit`
//! (`PlanRequest::audit`, for `custody check` and `custody plan`) is refused as a whole, before
//! anything is journaled or done in AWS; acquire's own plans never have them.

use crate::support::*;
use custody_acquire::AcquireError;
use custody_plan::check::check;
use custody_plan::plan::{plan, Action, PlanRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_audit_steps_is_refused_before_anything_is_done() {
    let h = Harness::new(PATH_5);
    let request =
        PlanRequest { mode: PATH_5.mode, case_id: CASE.into(), audit: true, ..PlanRequest::new(PATH_5.instance) };
    let planned = plan(&h.inv, &request).unwrap();
    let first = planned.steps.iter().find(|s| matches!(s.action, Action::LookupEvents)).unwrap().id.clone();
    let report = check(&h.inv, &planned);
    assert!(report.all_pass(), "the example's roles may read CloudTrail: {:#?}", report.summary);
    let e = h.acquire_planned(&(planned, report)).await.unwrap_err();
    match &e {
        AcquireError::Plan { step, why } => {
            assert_eq!(step, &first);
            assert!(why.contains("custody audit") && why.contains("without --audit"), "{why}");
        }
        other => panic!("expected a refused plan, got {other}"),
    }
    assert!(h.world.calls().is_empty(), "nothing was called in AWS: {:#?}", h.world.calls());
    assert!(h.world.snapshots().is_empty());
    assert!(h.journal.case(CASE).unwrap().is_none(), "nothing was journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_plans_without_audit_steps() {
    let h = Harness::new(PATH_5);
    let report = h.acquire(PATH_5.instance, PATH_5.mode).await.unwrap();
    assert!(report.succeeded, "{report:#?}");
    assert!(h.world.calls().iter().all(|c| !c.api.starts_with("cloudtrail:")));
}
