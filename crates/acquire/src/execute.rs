//! The executor: a case's instances in parallel, each through its plan's discover and snapshot steps,
//! then its volumes in parallel (bounded), each volume through its transfer and cleanup steps.

mod instance;
mod volume;

use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::{AcquireReport, Event, InstanceReport, Progress, VolumeReport};
use crate::resolve::Resolved;
use crate::wait::WaitSettings;
use custody_cloud::sessions::Sessions;
use custody_cloud::Cloud;
use custody_journal::Journal;
use custody_journal::{JournalError, NewCase, Status};
use custody_plan::check::CheckReport;
use custody_plan::plan::{Action, Plan};
use custody_policy::case::parse_grant_value;
use custody_policy::error::JsonPath;
use instance::run_instance;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How the executor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many volumes are transferred at once (over all instances).
    pub parallelism: usize,
    pub wait: WaitSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { parallelism: 4, wait: WaitSettings::default() }
    }
}

/// Runs acquisitions against one cloud, recording them in one journal.
pub struct Executor {
    journal: Arc<Journal>,
    base: Arc<dyn Cloud>,
    base_role: String,
    settings: Settings,
    progress: Progress,
    stop: Arc<AtomicBool>,
    /// The inventory the plans were made from, journaled with each new acquisition (what `custody
    /// audit` holds AWS's record against).
    inventory: Option<serde_json::Value>,
}

impl Executor {
    /// `base`: the identity custody runs as, a session of `base_role` (the forensic role; the plans'
    /// `config.forensic_role_arn`).
    pub fn new(
        journal: Arc<Journal>,
        base: Arc<dyn Cloud>,
        base_role: &str,
        settings: Settings,
        progress: Progress,
    ) -> Self {
        Executor {
            journal,
            base,
            base_role: base_role.to_string(),
            settings,
            progress,
            stop: Arc::new(AtomicBool::new(false)),
            inventory: None,
        }
    }

    /// Journals `inventory` (as JSON) with every acquisition this executor starts: the model its plans
    /// came from, which `custody audit` later holds CloudTrail's record against.
    pub fn with_inventory(mut self, inventory: serde_json::Value) -> Self {
        self.inventory = Some(inventory);
        self
    }

    /// Snapshots tagged with `case_id` in the places `plans` touch whose run this journal does not know,
    /// and the places that could not be looked at ([`crate::cleanup::foreign_case_resources`]).
    pub async fn foreign_case_resources(
        &self,
        journal: &Journal,
        case_id: &str,
        plans: &[Plan],
    ) -> Result<(Vec<String>, Vec<String>), AcquireError> {
        crate::cleanup::foreign_case_resources(journal, self.base.clone(), &self.base_role, case_id, plans).await
    }

    /// Set it to stop: no new step starts, cleanup runs (Ctrl-C).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Acquires the instances of `plans` (each with its preflight, if one was made) under a case: a
    /// new case, or one that exists and has none of these instances yet.
    pub async fn acquire(
        &self,
        case: &NewCase,
        plans: Vec<(Plan, Option<CheckReport>)>,
    ) -> Result<AcquireReport, AcquireError> {
        for (plan, _) in &plans {
            refuse_audit_steps(plan)?;
        }
        match self.journal.create_case(case) {
            Ok(()) | Err(JournalError::CaseExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        for (plan, _) in &plans {
            let json = serde_json::to_value(plan)
                .map_err(|e| AcquireError::Plan { step: "journal the plan".to_string(), why: e.to_string() })?;
            self.journal.add_acquisition_planned_from(
                &case.case_id,
                &plan.instance_id,
                &json,
                self.inventory.as_ref(),
            )?;
        }
        self.run(&case.case_id, plans).await
    }

    /// Continues the case's acquisitions that did not finish, from their journaled plans.
    /// `preflights`: a preflight per instance, when one was made again.
    pub async fn resume(
        &self,
        case_id: &str,
        mut preflights: BTreeMap<String, CheckReport>,
    ) -> Result<AcquireReport, AcquireError> {
        if self.journal.case(case_id)?.is_none() {
            return Err(JournalError::UnknownCase(case_id.to_string()).into());
        }
        let acquisitions = self.journal.acquisitions(case_id)?;
        if acquisitions.is_empty() {
            // The run stopped before it journaled its plans: nothing was done in AWS.
            return Err(AcquireError::Refused {
                step: "resume".to_string(),
                why: format!(
                    "case {case_id} has no acquisition in the journal (the run stopped before its plans were \
                     recorded, so nothing was done in AWS): acquire the instances again under case {case_id}"
                ),
            });
        }
        let mut plans = Vec::new();
        let mut finished = Vec::new();
        for a in acquisitions {
            if a.status == Status::Succeeded {
                finished.push(a.instance_id);
                continue;
            }
            let plan: Plan = serde_json::from_value(a.plan).map_err(|e| AcquireError::Plan {
                step: "read the journaled plan".to_string(),
                why: format!("the plan of {} in the journal does not read back: {e}", a.instance_id),
            })?;
            refuse_audit_steps(&plan)?;
            let preflight = preflights.remove(&a.instance_id);
            plans.push((plan, preflight));
        }
        let mut report = self.run(case_id, plans).await?;
        for instance in finished {
            report.instances.push(self.finished(case_id, &instance)?);
        }
        report.succeeded = report.instances.iter().all(|i| i.succeeded);
        if report.succeeded {
            self.journal.set_case_status(case_id, Status::Succeeded)?;
        }
        Ok(report)
    }

    /// The report of an acquisition an earlier run finished, from the journal (nothing is run).
    fn finished(&self, case_id: &str, instance: &str) -> Result<InstanceReport, AcquireError> {
        let volumes = self
            .journal
            .evidence(case_id)?
            .into_iter()
            .filter(|e| e.instance_id == instance)
            .map(|e| VolumeReport {
                volume_id: e.volume_id.clone(),
                path: e.path.clone(),
                evidence: Some(volume::evidence_item(e, None)),
                error: None,
                removed: Vec::new(),
                left: Vec::new(),
            })
            .collect();
        self.progress.emit(Event::Reused {
            instance: instance.to_string(),
            step: "all".to_string(),
            how: "acquired by an earlier run of the case".to_string(),
        });
        Ok(InstanceReport {
            instance_id: instance.to_string(),
            succeeded: true,
            error: None,
            volumes,
            reused_steps: vec!["all".to_string()],
            not_run: Vec::new(),
        })
    }

    async fn run(&self, case_id: &str, plans: Vec<(Plan, Option<CheckReport>)>) -> Result<AcquireReport, AcquireError> {
        self.journal.set_case_status(case_id, Status::Running)?;
        let pool = Arc::new(Semaphore::new(self.settings.parallelism.max(1)));
        let mut tasks = JoinSet::new();
        for (i, (plan, preflight)) in plans.into_iter().enumerate() {
            let placeholders = placeholders(&plan)?;
            let resolved = Resolved::telling(self.progress.clone(), &plan.instance_id);
            let run = Arc::new(Run {
                journal: self.journal.clone(),
                plan,
                preflight,
                sessions: Sessions::new(&self.base_role, self.base.clone()),
                resolved,
                placeholders,
                wait: self.settings.wait,
                progress: self.progress.clone(),
                stop: self.stop.clone(),
                left: Default::default(),
                keys_seen: Default::default(),
            });
            let pool = pool.clone();
            tasks.spawn(async move { (i, run_instance(run, pool).await) });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(r) => results.push(r),
                Err(e) => {
                    tasks.shutdown().await;
                    return Err(AcquireError::bug(&self.journal, case_id, "run an instance", &e));
                }
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let mut instances = Vec::new();
        for (_, r) in results {
            instances.push(r?);
        }
        let interrupted = self.stop.load(Ordering::SeqCst);
        let succeeded = instances.iter().all(|i| i.succeeded);
        let status = match (succeeded, interrupted) {
            (true, _) => Status::Succeeded,
            (false, true) => Status::Interrupted,
            (false, false) => Status::Failed,
        };
        self.journal.set_case_status(case_id, status)?;
        Ok(AcquireReport { case_id: case_id.to_string(), succeeded, interrupted, instances })
    }
}

/// Refuses a plan made with `custody check --audit` or `custody plan --audit`, before anything is
/// journaled or done in AWS: its CloudTrail look-ups ([`Action::LookupEvents`]) are `custody audit`'s
/// to make, after an acquisition, and the plans acquire makes never have them.
fn refuse_audit_steps(plan: &Plan) -> Result<(), AcquireError> {
    match plan.steps.iter().find(|s| matches!(s.action, Action::LookupEvents)) {
        Some(step) => Err(AcquireError::Plan { step: step.id.clone(), why: crate::actions::AUDIT_STEP.to_string() }),
        None => Ok(()),
    }
}

/// Every placeholder the plan names: its snapshots, the keys and grants it creates, the volumes of
/// `--volume-az`. The grants are read as the policy engine reads them (the case format's grant form,
/// as the preflight evaluated them); one that does not read is an inconsistent plan.
fn placeholders(plan: &Plan) -> Result<Vec<String>, AcquireError> {
    let mut out: Vec<String> = plan.volumes.iter().flat_map(|v| v.snapshots.iter().map(|s| s.id.clone())).collect();
    for step in &plan.steps {
        if let Action::CreateVolume { volume, .. } = &step.action {
            out.push(volume.clone());
        }
        out.extend(step.creates_keys.iter().map(|k| k.arn.clone()));
        for (i, g) in step.creates_grants.iter().enumerate() {
            let path = JsonPath::root("creates_grants").index(i).key("grant");
            let grant = parse_grant_value(&g.grant, &path, None)
                .map_err(|e| AcquireError::Plan { step: step.id.clone(), why: format!("a planned grant: {e}") })?;
            out.extend(grant.grant_id.map(String::from));
        }
    }
    Ok(out)
}
