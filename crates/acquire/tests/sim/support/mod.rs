//! Shared by the executor's tests on the simulated cloud: the example inventories, a harness that
//! plans, preflights and runs an acquisition on a `SimWorld` with a journal, and the questions the
//! tests ask of the result (the evidence's shape, what is left, what the simulator saw).

use custody_acquire::cleanup::{cleanup_case, CleanupReport};
use custody_acquire::wait::WaitSettings;
use custody_acquire::{AcquireError, AcquireReport, Event, Executor, Progress, Settings};
use custody_journal::{Journal, NewCase, ResourceRecord};
use custody_plan::check::{check, CheckReport};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, session_name, Mode, Plan, PlanRequest};
use custody_sim::{SimCall, SimWorld};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The case every test acquires under.
pub const CASE: &str = "IR-7";

/// One example inventory and the instance it is about (`examples/inventories/README.md`).
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub file: &'static str,
    pub instance: &'static str,
    pub mode: Mode,
}

pub const fn example(file: &'static str, instance: &'static str, mode: Mode) -> Example {
    Example { file, instance, mode }
}

pub const PATH_1: Example = example("1-unencrypted.json", "i-01a1a1a1a1a1a1a1a", Mode::Auto);
pub const PATH_2: Example = example("2-aws-managed-same-account.json", "i-02b2b2b2b2b2b2b2b", Mode::Auto);
pub const PATH_3: Example = example("3-customer-key-same-account.json", "i-03c3c3c3c3c3c3c3c", Mode::Auto);
pub const PATH_4: Example = example("4-cross-region-fixed.json", "i-04d4d4d4d4d4d4d4d", Mode::Auto);
pub const PATH_4_REFUSED: Example = example("4-cross-region.json", "i-04d4d4d4d4d4d4d4d", Mode::Auto);
pub const PATH_5: Example = example("5-cross-account-grant-only.json", "i-05e5e5e5e5e5e5e5e", Mode::Auto);
pub const PATH_5_REFUSED: Example = example("5-cross-account-no-key-access.json", "i-05e5e5e5e5e5e5e5e", Mode::Direct);
pub const PATH_6: Example = example("6-cross-account-direct.json", "i-06f6f6f6f6f6f6f6f", Mode::Auto);
pub const PATH_7: Example = example("7-cross-account-owner-grants.json", "i-07a7a7a7a7a7a7a7a", Mode::Auto);
pub const PATH_8: Example = example("8-cross-account-aws-managed.json", "i-08b8b8b8b8b8b8b8b", Mode::Auto);
pub const PATH_9: Example = example("9-direct-read.json", "i-09c9c9c9c9c9c9c9c", Mode::DirectRead);
pub const SERVICE_LINKED: Example = example("service-linked-role.json", "i-05d5d5d5d5d5d5d5d", Mode::Auto);

/// Every example whose preflight passes.
pub const PASSING: [Example; 10] =
    [PATH_1, PATH_2, PATH_3, PATH_4, PATH_5, PATH_6, PATH_7, PATH_8, PATH_9, SERVICE_LINKED];

pub fn inventory(file: &str) -> Inventory {
    let path = format!("{}/../../examples/inventories/{file}", env!("CARGO_MANIFEST_DIR"));
    parse_inventory(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The plan `custody plan` makes for `instance`, and its preflight.
pub fn plan_and_check(inv: &Inventory, instance: &str, mode: Mode) -> (Plan, CheckReport) {
    let request = PlanRequest { mode, case_id: CASE.to_string(), ..PlanRequest::new(instance) };
    let planned = plan(inv, &request).unwrap_or_else(|e| panic!("plan {instance}: {e}"));
    let report = check(inv, &planned);
    (planned, report)
}

/// A world, a journal and the events of the runs on them.
pub struct Harness {
    pub inv: Inventory,
    pub world: SimWorld,
    pub journal: Arc<Journal>,
    pub events: Arc<Mutex<Vec<Event>>>,
    /// The directory of a journal kept in a file (`None`: in memory).
    pub dir: Option<tempfile::TempDir>,
}

impl Harness {
    /// A fresh world for `inv` and an in-memory journal.
    pub fn with_inventory(inv: Inventory) -> Harness {
        let journal = Arc::new(Journal::open_in_memory().unwrap());
        Harness::with_journal(inv, journal)
    }

    pub fn with_journal(inv: Inventory, journal: Arc<Journal>) -> Harness {
        let world = SimWorld::new(&inv).unwrap();
        Harness { inv, world, journal, events: Arc::new(Mutex::new(Vec::new())), dir: None }
    }

    /// A fresh world for `inv` and a journal in a file of a new temporary directory.
    pub fn with_file_journal(inv: Inventory) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        Harness { dir: Some(dir), ..Harness::with_journal(inv, journal) }
    }

    /// Opens the journal file again, as a new process would after the old one was killed.
    pub fn reopen(&mut self) {
        let dir = self.dir.as_ref().expect("a journal in a file").path().to_path_buf();
        self.journal = Arc::new(Journal::open(&dir).unwrap());
    }

    /// Plans made from `inv` against a world that has become `world` since (an instance gone or
    /// terminated after the inventory was collected).
    pub fn with_world(inv: Inventory, world: &Inventory) -> Harness {
        let journal = Arc::new(Journal::open_in_memory().unwrap());
        let world = SimWorld::new(world).unwrap();
        Harness { inv, world, journal, events: Arc::new(Mutex::new(Vec::new())), dir: None }
    }

    pub fn new(e: Example) -> Harness {
        Harness::with_inventory(inventory(e.file))
    }

    pub fn progress(&self) -> Progress {
        let events = self.events.clone();
        Progress::new(move |e| events.lock().unwrap().push(e.clone()))
    }

    pub fn forensic_role(&self) -> String {
        self.inv.config.forensic_role_arn.clone()
    }

    /// A new executor (as a new process would make) on this world and journal.
    pub fn executor(&self) -> Executor {
        self.executor_with(self.progress())
    }

    pub fn executor_with(&self, progress: Progress) -> Executor {
        self.executor_waiting(progress, WaitSettings::quick())
    }

    /// A new executor that waits for AWS as `wait` says.
    pub fn executor_waiting(&self, progress: Progress, wait: WaitSettings) -> Executor {
        let base = self.world.cloud_as(&self.forensic_role(), &session_name(CASE));
        let settings = Settings { parallelism: 4, wait };
        Executor::new(self.journal.clone(), base, &self.forensic_role(), settings, progress)
    }

    pub fn new_case(&self, plan: &Plan) -> NewCase {
        NewCase {
            case_id: CASE.to_string(),
            examiner: Some("tests".to_string()),
            destination_account: plan.dest_account.clone(),
            destination_region: plan.dest_region.clone(),
            note: None,
            simulated: false,
        }
    }

    /// Plans, preflights and acquires `instance` with a new executor.
    pub async fn acquire(&self, instance: &str, mode: Mode) -> Result<AcquireReport, AcquireError> {
        let (planned, report) = plan_and_check(&self.inv, instance, mode);
        self.executor().acquire(&self.new_case(&planned), vec![(planned, Some(report))]).await
    }

    /// Acquires an instance planned and preflighted before, with a new executor.
    pub async fn acquire_planned(&self, planned: &(Plan, CheckReport)) -> Result<AcquireReport, AcquireError> {
        let (p, report) = planned.clone();
        self.executor().acquire(&self.new_case(&p), vec![(p, Some(report))]).await
    }

    /// Resumes the case with a new executor (the preflights made again from the inventory).
    pub async fn resume(&self) -> Result<AcquireReport, AcquireError> {
        self.executor().resume(CASE, self.preflights()).await
    }

    /// Runs `planned` until the journal fails after `n` writes: killed (`Err(Journal)`), or done
    /// before that.
    pub async fn killed_after(&self, planned: &(Plan, CheckReport), n: u64) {
        self.journal.crash_after_writes(n);
        match self.acquire_planned(planned).await {
            Ok(_) => {}
            Err(e) => assert!(e.is_journal(), "n={n}: the run stopped for another reason: {e}"),
        }
        self.journal.clear_fault();
    }

    /// Goes on as the examiner would after a kill: `custody acquire --resume`, or, when the run was
    /// killed before it journaled its plan (nothing was done in AWS then), the same acquisition again.
    pub async fn resume_or_acquire(&self, planned: &(Plan, CheckReport)) -> Result<AcquireReport, AcquireError> {
        match self.resume().await {
            Err(AcquireError::Refused { step, .. }) if step == "resume" => self.acquire_planned(planned).await,
            Err(AcquireError::Journal(e)) if matches!(*e, custody_journal::JournalError::UnknownCase(_)) => {
                self.acquire_planned(planned).await
            }
            other => other,
        }
    }

    /// The preflight of each journaled plan, as `custody acquire --resume` makes them.
    pub fn preflights(&self) -> BTreeMap<String, CheckReport> {
        let mut out = BTreeMap::new();
        for a in self.journal.acquisitions(CASE).unwrap() {
            let p: Plan = serde_json::from_value(a.plan).unwrap();
            out.insert(a.instance_id, check(&self.inv, &p));
        }
        out
    }

    pub async fn cleanup(&self) -> CleanupReport {
        self.try_cleanup().await.unwrap()
    }

    /// Cleanup with a new executor's cloud, its error returned (a journal fault, say).
    pub async fn try_cleanup(&self) -> Result<CleanupReport, AcquireError> {
        let base = self.world.cloud_as(&self.forensic_role(), &session_name(CASE));
        cleanup_case(&self.journal, base, &self.forensic_role(), CASE, &self.progress()).await
    }

    /// The evidence snapshot ids the journal holds.
    pub fn evidence_ids(&self) -> Vec<String> {
        self.journal.evidence(CASE).unwrap().into_iter().map(|e| e.snapshot_id).collect()
    }

    /// What the world says custody left behind for the case, evidence apart.
    pub fn leftovers(&self) -> Vec<String> {
        self.world.leftovers(CASE, &self.evidence_ids(), &self.inv.config.alias_prefix)
    }

    pub fn open_temporaries(&self) -> Vec<ResourceRecord> {
        self.journal.open_temporaries(Some(CASE)).unwrap()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The evidence, per volume, as the journal records it and the world holds it (checked to agree).
    pub fn shape(&self) -> Vec<Shape> {
        let snapshots = self.world.snapshots();
        let mut out: Vec<Shape> = self
            .journal
            .evidence(CASE)
            .unwrap()
            .into_iter()
            .map(|e| {
                let s = snapshots
                    .iter()
                    .find(|s| s.id == e.snapshot_id)
                    .unwrap_or_else(|| panic!("evidence {} of {} is not in the world", e.snapshot_id, e.volume_id));
                assert_eq!((&s.account, &s.region), (&e.account, &e.region), "evidence {} is elsewhere", s.id);
                assert_eq!(s.kms_key_id, e.key_arn, "evidence {} is under another key", s.id);
                assert_eq!(s.state, "completed", "evidence {} is not complete", s.id);
                Shape { volume: e.volume_id, account: e.account, region: e.region, key: e.key_arn, path: e.path }
            })
            .collect();
        out.sort();
        out
    }

    /// What the simulator refused, in words.
    pub fn refusals(&self) -> Vec<String> {
        self.world.calls().iter().flat_map(|c| c.refusals().into_iter().map(move |d| refusal(c, d))).collect()
    }

    /// What the run created in the world, counted from the calls that succeeded.
    pub fn created(&self) -> Created {
        created(&self.world.calls())
    }
}

fn refusal(c: &SimCall, d: &custody_sim::SimDecision) -> String {
    format!("{} by {}: {} on {}: {}", c.api, c.principal, d.action, d.resource, d.why)
}

/// One volume's evidence: where it is, under which key, by which path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shape {
    pub volume: String,
    pub account: String,
    pub region: String,
    pub key: Option<String>,
    pub path: String,
}

/// What creating calls brought into being, by the ids they returned (a grant KMS returned again for
/// a repeated request with the same name counts once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub snapshots: Vec<String>,
    pub keys: Vec<String>,
    pub aliases: Vec<String>,
    pub grants: Vec<String>,
}

pub fn created(calls: &[SimCall]) -> Created {
    let mut out = Created::default();
    for c in calls {
        let Ok(result) = &c.result else { continue };
        let first = |r: &str| r.split_whitespace().next().unwrap_or_default().to_string();
        match c.api.as_str() {
            "ec2:CreateSnapshots" => out.snapshots.extend(result.split(", ").map(str::to_string)),
            "ec2:CopySnapshot" => out.snapshots.push(result.clone()),
            "kms:CreateKey" => out.keys.push(result.clone()),
            "kms:CreateAlias" => out.aliases.push(first(result)),
            "kms:CreateGrant" => {
                let id = first(result);
                if !out.grants.contains(&id) {
                    out.grants.push(id);
                }
            }
            _ => {}
        }
    }
    out
}

/// True for an API that only reads.
pub fn reads(api: &str) -> bool {
    let op = api.split(':').nth(1).unwrap_or_default();
    ["Describe", "List", "Get"].iter().any(|p| op.starts_with(p))
}

/// `arn:aws:sts::<acct>:assumed-role/<name>/<session>` → `(acct, name)`; a role ARN likewise.
pub fn role_of(arn: &str) -> (String, String) {
    let account = arn.split(':').nth(4).unwrap_or_default().to_string();
    let resource = arn.split(':').nth(5).unwrap_or_default();
    let name = match resource.strip_prefix("assumed-role/") {
        Some(rest) => rest.split('/').next().unwrap_or_default(),
        None => resource.rsplit('/').next().unwrap_or_default(),
    };
    (account, name.to_string())
}

/// The simulator's mutating calls that the plan has no call for (same API, account, Region and
/// signing role), in words.
pub fn unplanned_calls(plan: &Plan, calls: &[SimCall]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| !reads(&c.api))
        .filter(|c| {
            !plan.steps.iter().flat_map(|s| &s.calls).any(|p| {
                p.api == c.api
                    && p.account == c.account
                    && p.region == c.region
                    && role_of(&p.signer) == role_of(&c.principal)
            })
        })
        .map(|c| format!("{} in {} {} by {}: {}", c.api, c.account, c.region, c.principal, c.params))
        .collect()
}

/// The error of every volume that failed, with its id.
pub fn volume_errors(report: &AcquireReport) -> Vec<(String, String)> {
    report
        .instances
        .iter()
        .flat_map(|i| &i.volumes)
        .filter_map(|v| v.error.clone().map(|e| (v.volume_id.clone(), e)))
        .collect()
}

/// Why a run did not succeed, for an assertion's message: each instance's own error (a step of
/// the instance, such as its snapshots or a volume made from them) and each volume's, and whether
/// the run was interrupted.
pub fn failures(report: &AcquireReport) -> String {
    let mut out: Vec<String> = Vec::new();
    if report.interrupted {
        out.push("interrupted".into());
    }
    for i in &report.instances {
        if let Some(e) = &i.error {
            out.push(format!("{}: {e}", i.instance_id));
        }
        if !i.not_run.is_empty() {
            out.push(format!("{}: not run {:?}", i.instance_id, i.not_run));
        }
    }
    out.extend(volume_errors(report).into_iter().map(|(v, e)| format!("{v}: {e}")));
    out.join("; ")
}

/// Everything the report says was left.
pub fn left(report: &AcquireReport) -> Vec<String> {
    report.instances.iter().flat_map(|i| &i.volumes).flat_map(|v| v.left.clone()).collect()
}

/// The rule of evidence, checked in the world: every volume of `instance` still has a copy of its
/// evidence — a completed snapshot marked as evidence, or (when it has none) its crash-consistent
/// source snapshot. Answers what holds it, per volume: the snapshots custody must keep.
pub fn copies_kept(h: &Harness, instance: &str) -> Result<Vec<String>, String> {
    use custody_plan::plan::{TAG_CASE, TAG_EVIDENCE, TAG_VOLUME};
    let snapshots = h.world.snapshots();
    let of_case = |s: &&custody_sim::SimSnapshot| s.tags.get(TAG_CASE).is_some_and(|c| c == CASE);
    let mut kept = Vec::new();
    // A volume custody never snapshotted has no copy to keep (the volume itself is untouched).
    if !h.world.calls().iter().any(|c| c.api == "ec2:CreateSnapshots" && c.result.is_ok()) {
        return Ok(kept);
    }
    let volumes = &h.inv.instance(instance).ok_or("no such instance")?.volumes;
    for v in volumes {
        let of_volume = |s: &&custody_sim::SimSnapshot| {
            s.tags.get(TAG_VOLUME) == Some(&v.id)
                || (!s.tags.contains_key(TAG_VOLUME) && s.volume_id.as_ref() == Some(&v.id))
        };
        let evidence: Vec<String> = snapshots
            .iter()
            .filter(of_case)
            .filter(of_volume)
            .filter(|s| s.tags.contains_key(TAG_EVIDENCE) && s.state == "completed")
            .map(|s| s.id.clone())
            .collect();
        if !evidence.is_empty() {
            kept.extend(evidence);
            continue;
        }
        let source = snapshots
            .iter()
            .filter(of_case)
            .find(|s| !s.tags.contains_key(TAG_VOLUME) && s.volume_id.as_ref() == Some(&v.id));
        match source {
            Some(s) => kept.push(s.id.clone()),
            None => return Err(format!("{} has no copy left: no evidence and no source snapshot", v.id)),
        }
    }
    // Evidence-marked copies that failed hold no data, but custody's policies protect them all the same.
    kept.extend(
        snapshots
            .iter()
            .filter(of_case)
            .filter(|s| s.tags.contains_key(TAG_EVIDENCE) && s.state == "error")
            .map(|s| s.id.clone()),
    );
    Ok(kept)
}

impl Harness {
    /// Cleanup with options (e.g. evidence to discard).
    pub async fn cleanup_with(&self, options: &custody_acquire::cleanup::CleanupOptions) -> CleanupReport {
        let base = self.world.cloud_as(&self.forensic_role(), &session_name(CASE));
        custody_acquire::cleanup::cleanup_case_with(
            &self.journal,
            base,
            &self.forensic_role(),
            CASE,
            options,
            &self.progress(),
        )
        .await
        .unwrap()
    }
}
